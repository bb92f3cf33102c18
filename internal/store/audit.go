package store

import (
	"context"
	"strings"
	"time"
)

// AuditEntry is one management action: who did what to which object, when,
// from where, and the object before and after (JSON with secrets redacted;
// nil when there is none, as before a create or after a delete).
type AuditEntry struct {
	ID        string // time-ordered ("aud-…"); the listing's cursor
	At        time.Time
	ActorKind string // admin | management | user | system | github
	ActorID   string // the key's hash, the user's id, or "" (system)
	Actor     string // the key's label, the user's email, "SIGHUP", …
	AccountID string // the account the action concerns; "" for gateway-wide actions
	Action    string // "POST /api/v1/keys", "console sign-in", "config reload"
	Target    string // the object's id (a key hash, an account id, …); "" when none
	Status    int    // the HTTP status answered (0 outside HTTP)
	RequestID string
	Source    string // the client's address
	Before    []byte
	After     []byte
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	AccountID string    // "" = every account
	ActorID   string    // "" = every actor
	Action    string    // a prefix of the action ("POST /api/v1/keys"); "" = all
	Target    string    // "" = every object
	From, To  time.Time // To exclusive; zero = unbounded
	Before    string    // cursor: entries with an id below this one
	Limit     int       // at most this many (the caller bounds it)
}

// Audit keeps the audit log. Entries are only appended.
type Audit interface {
	// AppendAudit stores e; a zero At means now.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns the entries q selects, newest first.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// AuditColumns are audit_log's columns in the order AuditEntry's Scan
// arguments and Insert values follow.
const AuditColumns = "id, at, actor_kind, actor_id, actor, account_id, action, target, status, request_id, source, before_json, after_json"

// Where is q's WHERE clause (with "WHERE", or "") and its arguments, with
// the i-th placeholder (1-based) written by ph: "?" for SQLite, "$i" for
// PostgreSQL.
func (q AuditQuery) Where(ph func(i int) string) (string, []any, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, cond+" "+ph(len(args)))
	}
	if q.AccountID != "" {
		add("account_id =", q.AccountID)
	}
	if q.ActorID != "" {
		add("actor_id =", q.ActorID)
	}
	if q.Target != "" {
		add("target =", q.Target)
	}
	if q.Action != "" {
		// A prefix: LIKE with its wildcards escaped.
		r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
		args = append(args, r.Replace(q.Action)+"%")
		conds = append(conds, "action LIKE "+ph(len(args))+` ESCAPE '\'`)
	}
	if !q.From.IsZero() {
		n, err := UnixNanos(q.From)
		if err != nil {
			return "", nil, err
		}
		add("at >=", n)
	}
	if !q.To.IsZero() {
		n, err := UnixNanos(q.To)
		if err != nil {
			return "", nil, err
		}
		add("at <", n)
	}
	if q.Before != "" {
		add("id <", q.Before)
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return "WHERE " + strings.Join(conds, " AND "), args, nil
}

// AuditValues are e's column values in AuditColumns' order; e.At must be
// set.
func AuditValues(e *AuditEntry) ([]any, error) {
	at, err := UnixNanos(e.At)
	if err != nil {
		return nil, err
	}
	return []any{e.ID, at, e.ActorKind, e.ActorID, e.Actor, e.AccountID, e.Action, e.Target, e.Status, e.RequestID, e.Source,
		nullJSON(e.Before), nullJSON(e.After)}, nil
}

func nullJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// ScanAudit reads one audit_log row (AuditColumns) with scan.
func ScanAudit(scan func(dest ...any) error) (AuditEntry, error) {
	var (
		e             AuditEntry
		at            int64
		before, after *string
	)
	if err := scan(&e.ID, &at, &e.ActorKind, &e.ActorID, &e.Actor, &e.AccountID, &e.Action, &e.Target, &e.Status,
		&e.RequestID, &e.Source, &before, &after); err != nil {
		return e, err
	}
	e.At = FromUnixNanos(at)
	if before != nil {
		e.Before = []byte(*before)
	}
	if after != nil {
		e.After = []byte(*after)
	}
	return e, nil
}
