package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

func init() {
	// hist_add(a, b) is the histogram a + b (store.Histogram's binary
	// encoding; NULL or empty is the empty histogram): how the ledger
	// writer merges a batch's latencies into a usage rollup.
	sqlite.MustRegisterDeterministicScalarFunction("hist_add", 2, histAdd)
}

func histAdd(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	var sum store.Histogram
	for _, a := range args {
		var h store.Histogram
		switch v := a.(type) {
		case nil:
		case []byte:
			if err := h.UnmarshalBinary(v); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("hist_add: a histogram is a blob")
		}
		sum.Merge(h)
	}
	b, err := sum.MarshalBinary()
	if b == nil || err != nil {
		return nil, err
	}
	return b, nil
}

// Usage sums the usage rollups of q, one row per group (and split value
// when q has a split), ordered by Group then Split. It reads usage_rollups
// only, never generations, so that it stays fast however many generations
// are stored, and still counts pruned ones.
//
// GroupBy "" means "day". From and To are truncated to their UTC day: the
// days from From's through the one before To's are included. The model of a
// row is the model as requested.
func (db *DB) Usage(ctx context.Context, q store.UsageQuery) ([]store.UsageRow, error) {
	col, err := q.GroupColumn()
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	split, err := q.SplitColumn()
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	if split == "" {
		split = "''"
	}
	from, to, err := q.Days()
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	var (
		where []string
		args  []any
	)
	if from != nil {
		where, args = append(where, "day >= ?"), append(args, *from)
	}
	if to != nil {
		where, args = append(where, "day < ?"), append(args, *to)
	}
	if q.AccountID != "" {
		where, args = append(where, "account_id = ?"), append(args, q.AccountID)
	}
	// The rollup rows are summed here rather than by GROUP BY: SQLite has
	// no aggregate that adds histograms.
	query := `SELECT ` + col + `, ` + split + `, requests, tokens_prompt, tokens_completion, cost_nanos,
		errors, latency_hist, ttft_hist FROM usage_rollups`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	defer rows.Close()
	var (
		sum           store.UsageSummer
		latency, ttft []byte
		r             store.RollupRow
		day, cost     int64
	)
	for rows.Next() {
		group := any(&r.Group)
		if col == "day" {
			group = &day
		}
		if err := rows.Scan(group, &r.Split, &r.Requests, &r.TokensPrompt, &r.TokensCompletion, &cost,
			&r.Errs, &latency, &ttft); err != nil {
			return nil, fmt.Errorf("usage: %w", err)
		}
		if col == "day" {
			r.Group = store.DayString(day)
		}
		r.Cost = money.Nanos(cost)
		if err := r.Latency.UnmarshalBinary(latency); err != nil {
			return nil, fmt.Errorf("usage: latency: %w", err)
		}
		if err := r.TTFT.UnmarshalBinary(ttft); err != nil {
			return nil, fmt.Errorf("usage: time to first token: %w", err)
		}
		sum.Add(&r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	return sum.Rows(), nil
}
