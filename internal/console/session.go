package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Identity is who a session acts as: a key (admin or management) or a
// console user. Options.Verify, SignIn and Resolve say it.
type Identity struct {
	Kind      string // "admin", "management" or "user"
	AccountID string
	Label     string // the key's masked form, "sk-sy-…abcd", or the user's email
	// Role is a user's: "owner" or "member" (read-only).
	Role string
	// KeyHash or UserID names the principal the console's API calls act as.
	KeyHash string
	UserID  string
}

// Principal is what the console's API calls carry in their context.
func (i Identity) Principal() auth.Principal {
	return auth.Principal{KeyHash: i.KeyHash, UserID: i.UserID}
}

// ReadOnly reports whether the identity may only look (a member).
func (i Identity) ReadOnly() bool { return i.Kind == "user" && i.Role != "owner" }

// session is one signed-in browser. It names who signed in by a key's
// hash or a user's id, never the key: the browser holds only the session
// id, and a stored session only that id's SHA-256.
type session struct {
	id        string
	csrf      string
	principal auth.Principal
	// who is resolved afresh at every request (signedIn).
	who     Identity
	created time.Time
	seen    time.Time
}

// sessionTable keeps sessions: in the store (storedSessions: they survive
// restarts and are shared by instances) or in memory (sessions).
type sessionTable interface {
	create(ctx context.Context, p auth.Principal) (*session, error)
	// get returns the live session id names and marks it used; nil when
	// there is none or it expired.
	get(ctx context.Context, id string) *session
	revoke(ctx context.Context, id string)
}

// sessions is the bounded, expiring table of sessions in memory. A session
// ends at sign-out, after idle without a request, or ttl after sign-in,
// whichever comes first.
type sessions struct {
	mu   sync.Mutex
	m    map[string]*session
	max  int
	ttl  time.Duration
	idle time.Duration
	now  func() time.Time
}

func newSessions(max int, ttl, idle time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, max: max, ttl: ttl, idle: idle, now: now}
}

// token is 32 random bytes, URL-safe: a session id or a CSRF token.
func token() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for p. When the table is full the expired
// sessions go first, then the one least recently used.
func (s *sessions) create(_ context.Context, p auth.Principal) (*session, error) {
	now := s.now()
	ss := &session{id: token(), csrf: token(), principal: p, created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		s.pruneLocked(now)
	}
	if len(s.m) >= s.max {
		var oldest *session
		for _, x := range s.m {
			if oldest == nil || x.seen.Before(oldest.seen) {
				oldest = x
			}
		}
		delete(s.m, oldest.id)
	}
	s.m[ss.id] = ss
	return ss, nil
}

func (s *sessions) expired(x *session, now time.Time) bool {
	return now.Sub(x.created) >= s.ttl || now.Sub(x.seen) >= s.idle
}

func (s *sessions) pruneLocked(now time.Time) {
	for id, x := range s.m {
		if s.expired(x, now) {
			delete(s.m, id)
		}
	}
}

func (s *sessions) get(_ context.Context, id string) *session {
	if id == "" {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.m[id]
	if x == nil {
		return nil
	}
	if s.expired(x, now) {
		delete(s.m, id)
		return nil
	}
	x.seen = now
	cp := *x
	return &cp
}

func (s *sessions) revoke(_ context.Context, id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// storedSessions keeps sessions in the gateway's store, under the SHA-256
// of their id. The last-seen time is written at most once per touchEvery
// of a session's requests, so an idle session's end comes up to touchEvery
// early: it ends between idle−touchEvery and idle after its last request.
type storedSessions struct {
	st   store.Sessions
	max  int
	ttl  time.Duration
	idle time.Duration
	now  func() time.Time
	log  *slog.Logger
}

func (d *storedSessions) touchEvery() time.Duration { return min(d.idle/60, time.Minute) }

func idHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func (d *storedSessions) create(ctx context.Context, p auth.Principal) (*session, error) {
	now := d.now()
	s := &session{id: token(), csrf: token(), principal: p, created: now, seen: now}
	err := d.st.CreateSession(ctx, &store.Session{IDHash: idHash(s.id), UserID: p.UserID, KeyHash: p.KeyHash, CSRF: s.csrf,
		CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(d.ttl)})
	if err != nil {
		return nil, err
	}
	// Sign-ins are rare: each clears out the ended sessions, and the least
	// recently used beyond max.
	if _, err := d.st.PruneSessions(ctx, now, now.Add(-d.idle), d.max); err != nil {
		d.log.Warn("console sessions: prune", slog.String("error", err.Error()))
	}
	return s, nil
}

func (d *storedSessions) get(ctx context.Context, id string) *session {
	if id == "" || len(id) > 100 {
		return nil
	}
	h := idHash(id)
	x, err := d.st.GetSession(ctx, h)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			d.log.Warn("console sessions: read", slog.String("error", err.Error()))
		}
		return nil
	}
	now := d.now()
	if !now.Before(x.ExpiresAt) || now.Sub(x.SeenAt) >= d.idle {
		_ = d.st.DeleteSession(ctx, h)
		return nil
	}
	if now.Sub(x.SeenAt) >= d.touchEvery() {
		if err := d.st.TouchSession(ctx, h, now); err != nil {
			return nil // revoked meanwhile
		}
		x.SeenAt = now
	}
	return &session{id: id, csrf: x.CSRF, principal: auth.Principal{KeyHash: x.KeyHash, UserID: x.UserID}, created: x.CreatedAt, seen: x.SeenAt}
}

func (d *storedSessions) revoke(ctx context.Context, id string) {
	if err := d.st.DeleteSession(ctx, idHash(id)); err != nil {
		d.log.Warn("console sessions: revoke", slog.String("error", err.Error()))
	}
}
