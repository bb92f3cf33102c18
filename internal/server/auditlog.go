package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/audit"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/clientaddr"
	"github.com/switchyard-gw/switchyard/internal/console"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/relay"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// audited says whether the route's calls enter the audit log: every call
// that changes something on the management and operations API.
func (rt route) audited() bool {
	return rt.method != http.MethodGet && (rt.group == groupManagement || rt.group == groupOps)
}

// action is how the audit log names the route: its method and pattern
// under /api/v1 ("PATCH /api/v1/keys/{hash}").
func (rt route) action() string {
	if rt.mount == atRoot {
		return rt.method + " " + rt.path
	}
	return rt.method + " /api/v1" + strings.ReplaceAll(rt.path, "...}", "}")
}

// statusWriter keeps the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// audit wraps an audited route's handler: it answers (errors included),
// then appends one entry with the actor (the request's key, or who the
// handler names), the action, the object the handler described, the
// status, the request id and the client's address. Calls without a valid
// key and no actor named by the handler are not recorded (the failed
// authentication limit counts them).
func (s *Server) audit(rt route, h handlerFunc) handlerFunc {
	action := rt.action()
	// The object, when the handler names none: the path's first wildcard.
	var wildcard string
	if i := strings.IndexByte(rt.path, '{'); i >= 0 {
		wildcard = strings.TrimSuffix(strings.TrimSuffix(rt.path[i+1:], "}"), "...")
		wildcard, _, _ = strings.Cut(wildcard, "}")
		wildcard = strings.TrimSuffix(wildcard, "...")
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx, note := audit.With(r.Context())
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		if err := h(sw, r); err != nil {
			s.errs.write(sw, r, relay.IngressOpenAI, llm.AsError(err))
		}
		e := &store.AuditEntry{Action: action, Target: note.Target, AccountID: note.AccountID,
			Before: note.Before, After: note.After, Status: sw.status,
			RequestID: w.Header().Get("X-Request-Id"), Source: clientaddr.Of(r, s.current().proxies).String()}
		if note.ActorKind != "" {
			e.ActorKind, e.ActorID, e.Actor = note.ActorKind, note.ActorID, note.Actor
		} else if !s.admin.Actor(r, e) {
			return nil
		}
		if e.Target == "" && wildcard != "" {
			e.Target = r.PathValue(wildcard)
		}
		if e.Status == 0 {
			e.Status = http.StatusOK
		}
		s.record(context.WithoutCancel(r.Context()), e)
		return nil
	}
}

// record appends e to the audit log, giving it an id and a time. A store
// that fails is logged: the action itself has happened.
func (s *Server) record(ctx context.Context, e *store.AuditEntry) {
	e.At = s.now().UTC()
	e.ID = s.auditID(e.At)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.Error("audit log: entry not stored", slog.String("action", e.Action), slog.String("actor", e.Actor),
			slog.String("request_id", e.RequestID), slog.String("error", err.Error()))
	}
}

// Record appends an entry for an action made outside the HTTP API (a
// config reload on SIGHUP, a console sign-in).
func (s *Server) Record(ctx context.Context, e store.AuditEntry) { s.record(ctx, &e) }

// auditSignIn records a console sign-in attempt: the key's or user's
// identity on success; on failure the reason, with the email typed or the
// masked form of the key typed (never the key itself).
func (s *Server) auditSignIn(r *http.Request, who console.Identity, err error) {
	e := store.AuditEntry{Action: "console sign-in", Status: http.StatusOK, RequestID: r.Header.Get("X-Request-Id"),
		Source: clientaddr.Of(r, s.current().proxies).String()}
	if err != nil {
		e.ActorKind, e.Status = "unknown", http.StatusUnauthorized
		if email := store.NormalEmail(r.PostFormValue("email")); email != "" && strings.TrimSpace(r.PostFormValue("key")) == "" {
			e.Actor = email
		} else {
			e.Actor = auth.Mask(strings.TrimSpace(r.PostFormValue("key")))
		}
		e.After = audit.Redact(map[string]string{"refused": err.Error()})
	} else {
		e.ActorKind, e.Actor, e.AccountID = who.Kind, who.Label, who.AccountID
		e.ActorID = who.KeyHash
		if who.UserID != "" {
			e.ActorID = who.UserID
		}
		if who.Kind == string(store.KindAdmin) {
			e.AccountID = ""
		}
	}
	s.record(context.WithoutCancel(r.Context()), &e)
}

// auditSeq orders the audit entries one process makes within a
// millisecond.
var auditSeq atomic.Uint64

// auditID is an ordered id whose first 6 random characters are a
// sequence number instead: entries of one process list in the order they
// happened, even within one millisecond.
func (s *Server) auditID(now time.Time) string {
	b := []byte(newOrderedID("aud-", now))
	n := auditSeq.Add(1)
	const at = len("aud-") + 9
	for i := at + 5; i >= at; i-- {
		b[i] = idAlphabet[n%36]
		n /= 36
	}
	return string(b)
}
