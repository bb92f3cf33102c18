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
	cond := ""
	if len(where) > 0 {
		cond = ` WHERE ` + strings.Join(where, " AND ")
	}
	var sum store.UsageSummer
	// The sums, grouped here.
	query := `SELECT ` + col + `, ` + splitExpr + `, sum(requests)::bigint, sum(tokens_prompt)::bigint, sum(tokens_completion)::bigint,
		sum(cost_nanos)::bigint, sum(errors)::bigint FROM usage_rollups` + cond + ` GROUP BY ` + groupBy
	if err := db.usageRows(ctx, query, args, col == "day", &sum); err != nil {
		return nil, err
	}
	// The histograms, row by row, added up in Go straight from their
	// compact encoding (migration 0015): a few dozen bytes a rollup, no
	// allocation per row. Adding them in SQL costs ~50 µs a row. Rollups
	// from before 0008 have none.
	query = `SELECT ` + col + `, ` + splitExpr + `, latency_hist, ttft_hist FROM usage_rollups` + cond
	if cond == "" {
		query += ` WHERE latency_hist IS NOT NULL`
	} else {
		query += ` AND latency_hist IS NOT NULL`
	}
	if err := db.usageHistograms(ctx, query, args, col == "day", &sum); err != nil {
		return nil, err
	}
	return sum.Rows(), nil
}

// usageRows adds the rows of query (group, split, then the sums) to sum.
func (db *DB) usageRows(ctx context.Context, query string, args []any, byDay bool, sum *store.UsageSummer) error {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	_, err = collectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
		var (
			r    store.RollupRow
			day  int64
			cost int64
		)
		group := any(&r.Group)
		if byDay {
			group = &day
		}
		dst := []any{group, &r.Split, &r.Requests, &r.TokensPrompt, &r.TokensCompletion, &cost, &r.Errs}
		if err := row.Scan(dst...); err != nil {
			return struct{}{}, err
		}
		if byDay {
			r.Group = store.DayString(day)
		}
		r.Cost = money.Nanos(cost)
		sum.Add(&r)
		return struct{}{}, nil
	})
	if err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	return nil
}

// usageHistograms adds the histograms of the rows of query (group, split,
// then the two histograms) to sum.
func (db *DB) usageHistograms(ctx context.Context, query string, args []any, byDay bool, sum *store.UsageSummer) error {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	defer rows.Close()
	var (
		group, split string
		day          int64
	)
	dst := []any{&group, &split, nil, nil}
	if byDay {
		dst[0] = &day
	}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return fmt.Errorf("usage: %w", err)
		}
		if byDay {
			group = store.DayString(day)
		}
		raw := rows.RawValues()
		if err := sum.AddCompact(group, split, raw[2], raw[3]); err != nil {
			return fmt.Errorf("usage: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	return nil
}
