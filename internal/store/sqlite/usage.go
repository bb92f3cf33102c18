package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Usage sums the usage rollups of q, one row per group, ordered by Group.
// It reads usage_rollups only, never generations, so that it stays fast
// however many generations are stored, and still counts pruned ones.
//
// GroupBy "" means "day". From and To are truncated to their UTC day: the
// days from From's through the one before To's are included. The model of a
// row is the model as requested.
func (db *DB) Usage(ctx context.Context, q store.UsageQuery) ([]store.UsageRow, error) {
	col, err := q.GroupColumn()
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
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
	query := `SELECT ` + col + `, sum(requests), sum(tokens_prompt), sum(tokens_completion), sum(cost_nanos)
		FROM usage_rollups`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	// Days are ordered as integers, which is their order as YYYY-MM-DD too.
	query += ` GROUP BY ` + col + ` ORDER BY ` + col

	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	defer rows.Close()
	var out []store.UsageRow
	for rows.Next() {
		var (
			r    store.UsageRow
			day  int64
			cost int64
		)
		group := any(&r.Group)
		if col == "day" {
			group = &day
		}
		if err := rows.Scan(group, &r.Requests, &r.TokensPrompt, &r.TokensCompletion, &cost); err != nil {
			return nil, fmt.Errorf("usage: %w", err)
		}
		if col == "day" {
			r.Group = store.DayString(day)
		}
		r.Cost = money.Nanos(cost)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	return out, nil
}
