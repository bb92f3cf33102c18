package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Generations lists recorded generations (GET /api/v1/generations, the
// console's Generations page). Only the management API calls it.
type Generations interface {
	// ListGenerations returns the generations q selects, newest first
	// (created_at, then id, descending), at most q.Limit of them.
	ListGenerations(ctx context.Context, q GenerationQuery) ([]Generation, error)
}

// Outcomes a GenerationQuery can select on.
const (
	OutcomeOK    = "ok"    // the client got a 1xx–3xx status
	OutcomeError = "error" // the client got a 4xx or 5xx status
)

// GenerationQuery selects generations. A zero field selects everything on
// its dimension.
type GenerationQuery struct {
	AccountID string
	KeyHash   string
	Model     string // as requested
	Provider  string
	// ExcludeKeys are keys whose generations are left out (a management
	// key does not see what the admin keys of its account did).
	ExcludeKeys []string
	// App matches the app's title (X-Title) or its referer (HTTP-Referer).
	App string
	// Outcome is "", OutcomeOK or OutcomeError.
	Outcome string
	// Status is one HTTP status; ErrorCode one error code ("rate_limited").
	Status    int
	ErrorCode string
	// From is inclusive, To exclusive.
	From, To time.Time
	// After, when set, is the last generation of the previous page: the
	// page goes on from the generations older than it.
	After *GenerationCursor
	Limit int // > 0
}

// GenerationCursor is a position in the newest-first order.
type GenerationCursor struct {
	CreatedAt time.Time
	ID        string
}

// Where renders q as a SQL condition over the generations table (never
// empty: "TRUE" selects all) and its arguments, naming the n-th argument
// (from 1) with placeholder(n). Both backends run it; their indexes
// (key_hash, created_at), (account_id, created_at), (model_requested,
// created_at) and (created_at) serve the time range and the order, the
// rest filters the rows they yield.
func (q *GenerationQuery) Where(placeholder func(n int) string) (string, []any, error) {
	var (
		conds []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return placeholder(len(args))
	}
	for _, f := range []struct{ col, v string }{
		{"key_hash", q.KeyHash}, {"account_id", q.AccountID}, {"model_requested", q.Model},
		{"provider", q.Provider}, {"error_code", q.ErrorCode},
	} {
		if f.v != "" {
			conds = append(conds, f.col+" = "+arg(f.v))
		}
	}
	if len(q.ExcludeKeys) > 0 {
		ps := make([]string, len(q.ExcludeKeys))
		for i, k := range q.ExcludeKeys {
			ps[i] = arg(k)
		}
		conds = append(conds, "key_hash NOT IN ("+strings.Join(ps, ", ")+")")
	}
	if q.App != "" {
		p := arg(q.App)
		conds = append(conds, "(app_title = "+p+" OR origin = "+p+")")
	}
	switch q.Outcome {
	case "":
	case OutcomeOK:
		conds = append(conds, "status < 400")
	case OutcomeError:
		conds = append(conds, "status >= 400")
	default:
		return "", nil, fmt.Errorf("unknown outcome %q", q.Outcome)
	}
	if q.Status != 0 {
		conds = append(conds, "status = "+arg(q.Status))
	}
	if !q.From.IsZero() {
		n, err := UnixNanos(q.From)
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, "created_at >= "+arg(n))
	}
	if !q.To.IsZero() {
		n, err := UnixNanos(q.To)
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, "created_at < "+arg(n))
	}
	if q.After != nil {
		n, err := UnixNanos(q.After.CreatedAt)
		if err != nil {
			return "", nil, err
		}
		// The first condition is the one an index on created_at can range
		// over; the second breaks ties of the same nanosecond by id.
		c := arg(n)
		conds = append(conds, "created_at <= "+c, "(created_at < "+c+" OR id < "+arg(q.After.ID)+")")
	}
	if len(conds) == 0 {
		return "TRUE", nil, nil
	}
	return strings.Join(conds, " AND "), args, nil
}
