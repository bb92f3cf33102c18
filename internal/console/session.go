package console

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// Identity is who a key signs in as: what Options.Verify says of it.
type Identity struct {
	Kind      string // "admin" or "management"
	AccountID string
	Label     string // the key's masked form, "sk-sy-…abcd"
}

// session is one signed-in browser. The key lives here, in the gateway's
// memory, and nowhere else: the browser holds only the session id.
type session struct {
	id      string
	csrf    string
	key     string
	who     Identity
	created time.Time
	seen    time.Time
}

// sessions is the bounded, expiring table of sessions. A session ends at
// sign-out, after idle without a request, or ttl after sign-in, whichever
// comes first. Sessions are per process: a restart signs everyone out, and
// behind a load balancer a browser needs sticky routing (docs/console.md).
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

// create starts a session for key. When the table is full the expired
// sessions go first, then the one least recently used.
func (s *sessions) create(key string, who Identity) *session {
	now := s.now()
	ss := &session{id: token(), csrf: token(), key: key, who: who, created: now, seen: now}
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
	return ss
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

// get returns the live session id names, and marks it used; nil when there
// is none or it expired.
func (s *sessions) get(id string) *session {
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
	return x
}

// revoke ends a session.
func (s *sessions) revoke(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

func (s *sessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// failures counts failed sign-ins per client address in fixed windows:
// after max failures in a window, every sign-in from that address is
// refused until the window ends. The table is bounded: when full, ended
// windows are dropped, and if none has ended the new address is refused
// (an attacker spraying addresses locks out only new addresses, briefly).
type failures struct {
	mu     sync.Mutex
	m      map[string]*window
	max    int // failures per window
	window time.Duration
	cap    int // addresses tracked
	now    func() time.Time
}

type window struct {
	start time.Time
	n     int
}

func newFailures(max int, every time.Duration, capacity int, now func() time.Time) *failures {
	return &failures{m: map[string]*window{}, max: max, window: every, cap: capacity, now: now}
}

// blocked reports how long addr must wait before its next sign-in, or 0.
func (f *failures) blocked(addr string) time.Duration {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.m[addr]
	if w == nil {
		if len(f.m) >= f.cap {
			f.pruneLocked(now)
			if len(f.m) >= f.cap {
				return f.window
			}
		}
		return 0
	}
	end := w.start.Add(f.window)
	if !now.Before(end) {
		delete(f.m, addr)
		return 0
	}
	if w.n >= f.max {
		return end.Sub(now)
	}
	return 0
}

// fail counts a failed sign-in from addr.
func (f *failures) fail(addr string) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.m[addr]
	if w == nil || !now.Before(w.start.Add(f.window)) {
		if w == nil && len(f.m) >= f.cap {
			f.pruneLocked(now)
			if len(f.m) >= f.cap {
				return
			}
		}
		w = &window{start: now}
		f.m[addr] = w
	}
	w.n++
}

func (f *failures) pruneLocked(now time.Time) {
	for a, w := range f.m {
		if !now.Before(w.start.Add(f.window)) {
			delete(f.m, a)
		}
	}
}
