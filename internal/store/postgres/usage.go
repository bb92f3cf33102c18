package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Usage sums the usage rollups of q, one row per group, ordered by Group,
// as store/sqlite's Usage does. It reads usage_rollups only (the primary
// key serves a range of days, usage_rollups_account_day one account's),
// never generations, so it stays fast however many generations are stored.
func (db *DB) Usage(ctx context.Context, q store.UsageQuery) ([]store.UsageRow, error) {
	col, err := q.GroupColumn()
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	split, err := q.SplitColumn()
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	splitExpr, groupBy := "''", col
	if split != "" {
		splitExpr, groupBy = split, col+", "+split
	}
	from, to, err := q.Days()
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	var (
		where []string
		args  []any
	)
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+" $"+strconv.Itoa(len(args)))
	}
	if from != nil {
		arg("day >=", *from)
	}
	if to != nil {
		arg("day <", *to)
	}
	if q.AccountID != "" {
		arg("account_id =", q.AccountID)
	}
	// sum() of bigint is numeric in PostgreSQL; the casts bring it back to
	// bigint (an overflow is an error, never a rounded float).
	// hist_sum (migration 0008) adds histograms bucket by bucket.
	query := `SELECT ` + col + `, ` + splitExpr + `, sum(requests)::bigint, sum(tokens_prompt)::bigint, sum(tokens_completion)::bigint,
		sum(cost_nanos)::bigint, sum(errors)::bigint, hist_sum(latency_hist), hist_sum(ttft_hist)
		FROM usage_rollups`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	// The rows are ordered bytewise (as on SQLite) by store.UsageSummer.
	query += ` GROUP BY ` + groupBy

	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	var sum store.UsageSummer
	_, err = collectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
		var (
			r    store.RollupRow
			day  int64
			cost int64
		)
		group := any(&r.Group)
		if col == "day" {
			group = &day
		}
		if err := row.Scan(group, &r.Split, &r.Requests, &r.TokensPrompt, &r.TokensCompletion, &cost,
			&r.Errs, (*[]int64)(&r.Latency), (*[]int64)(&r.TTFT)); err != nil {
			return struct{}{}, err
		}
		if col == "day" {
			r.Group = store.DayString(day)
		}
		r.Cost = money.Nanos(cost)
		sum.Add(&r)
		return struct{}{}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	return sum.Rows(), nil
}
