package admin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// AuditObject is an audit entry as GET /api/v1/audit shows it.
type AuditObject struct {
	ID        string          `json:"id"`
	At        time.Time       `json:"at"`
	Actor     AuditActor      `json:"actor"`
	AccountID string          `json:"account_id,omitempty"`
	Action    string          `json:"action"`
	Target    string          `json:"target,omitempty"`
	Status    int             `json:"status,omitempty"`
	RequestID string          `json:"request_id,omitempty"`
	Source    string          `json:"source,omitempty"`
	Before    json.RawMessage `json:"before"`
	After     json.RawMessage `json:"after"`
}

// AuditActor is who made an audited action.
type AuditActor struct {
	Kind  string `json:"kind"`
	ID    string `json:"id,omitempty"`
	Label string `json:"label"`
}

// Audit listing bounds.
const (
	defaultAuditLimit = 50
	maxAuditLimit     = 500
)

// Audit serves GET /api/v1/audit: the audit log, newest first. The admin
// key sees every entry (account_id filters); a management key sees its
// own account's. Filters: actor (a key hash or user id), action (a
// prefix, "PATCH /api/v1/keys"), target, from and to (dates or RFC 3339
// times, to exclusive); pages of limit entries (default 50, at most 500)
// follow next_cursor through ?cursor=.
func (a *API) Audit(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	q := store.AuditQuery{AccountID: v.Get("account_id"), ActorID: v.Get("actor"), Action: v.Get("action"),
		Target: v.Get("target"), Before: v.Get("cursor"), Limit: defaultAuditLimit}
	if caller.Kind == store.KindManagement {
		q.AccountID = caller.AccountID
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxAuditLimit {
			return llm.BadRequest("limit", "'limit' must be a whole number from 1 to %d", maxAuditLimit)
		}
		q.Limit = n
	}
	if q.Before != "" && (!strings.HasPrefix(q.Before, "aud-") || len(q.Before) > 64) {
		return llm.BadRequest("cursor", "'cursor' must be the next_cursor of an earlier page")
	}
	if err := parseRange(v, &q.From, &q.To); err != nil {
		return err
	}
	// One more than asked says whether there is a next page.
	q.Limit++
	entries, err := a.st.ListAudit(r.Context(), q)
	if err != nil {
		return err
	}
	var next *string
	if len(entries) == q.Limit {
		entries = entries[:q.Limit-1]
		id := entries[len(entries)-1].ID
		next = &id
	}
	out := make([]AuditObject, 0, len(entries))
	for _, e := range entries {
		out = append(out, AuditObject{ID: e.ID, At: e.At, Actor: AuditActor{Kind: e.ActorKind, ID: e.ActorID, Label: e.Actor},
			AccountID: e.AccountID, Action: e.Action, Target: e.Target, Status: e.Status, RequestID: e.RequestID,
			Source: e.Source, Before: rawOrNull(e.Before), After: rawOrNull(e.After)})
	}
	return writeJSON(w, http.StatusOK, struct {
		Data       []AuditObject `json:"data"`
		NextCursor *string       `json:"next_cursor"`
	}{out, next})
}

func rawOrNull(b []byte) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return b
}

// Actor fills e's actor from who made r: the console session's user or
// key (the principal in r's context), else the key r carries. It reports
// false when r has no valid credential. A management key's or user's
// account is the entry's account unless the handler named one.
func (a *API) Actor(r *http.Request, e *store.AuditEntry) bool {
	var k *store.Key
	if p, ok := auth.PrincipalOf(r.Context()); ok {
		if p.UserID != "" {
			u, err := a.st.GetUser(r.Context(), p.UserID)
			if err != nil {
				return false
			}
			e.ActorKind, e.ActorID, e.Actor = "user", u.ID, u.Email
			if e.AccountID == "" {
				e.AccountID = u.AccountID
			}
			return true
		}
		if k, ok = a.keys.ByHash(p.KeyHash); !ok {
			return false
		}
	} else {
		var lerr error
		if k, lerr = a.keys.Identify(auth.Credential(r)); lerr != nil {
			return false
		}
	}
	e.ActorKind, e.ActorID, e.Actor = string(k.Kind), k.Hash, k.Label
	if e.AccountID == "" && k.Kind != store.KindAdmin {
		e.AccountID = k.AccountID
	}
	return true
}
