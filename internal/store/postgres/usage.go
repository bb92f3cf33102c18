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
// as store/sqlite's Usage does. It reads rollups only, never generations,
// so it stays fast however many generations are stored: usage_rollups_all
// (one row per day, model, provider and app; migration 0016) for a report
// of all accounts that neither groups nor splits by key; usage_rollups_keys
// (per day, account and key; 0018) for a report by day that needs neither
// model, provider nor app; usage_rollups_8d's blocks for the rest not by
// day; else usage_rollups (the primary key serves a range of days,
// usage_rollups_account_day one account's).
func (db *DB) Usage(ctx context.Context, q store.UsageQuery) ([]store.UsageRow, error) {
	return db.usage(ctx, q, true)
}

// usage is Usage; with all false it reads usage_rollups only, as before
// migration 0016 (for the benchmark's comparison).
func (db *DB) usage(ctx context.Context, q store.UsageQuery, all bool) ([]store.UsageRow, error) {
	col, err := q.GroupColumn()
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	split, err := q.SplitColumn()
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	splitExpr := "''"
	if split != "" {
		splitExpr = split
	}
	from, to, err := q.Days()
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	// The rows to sum: usage_rollups_all for all accounts without keys;
	// usage_rollups_keys by day without models, providers or apps; else
	// usage_rollups, whose whole blocks of usageBlockDays days in the
	// range usage_rollups_8d holds already summed (migration 0016) when
	// the report is not by day.
	type source struct {
		table    string
		from, to *int64
	}
	sources := []source{{"usage_rollups", from, to}}
	switch {
	case !all:
	case q.AccountID == "" && col != "key_hash" && split != "key_hash":
		sources[0].table = "usage_rollups_all"
	case col == "day" && (split == "" || split == "key_hash"):
		sources[0].table = "usage_rollups_keys"
	case col != "day":
		lo, hi := from, to
		if lo != nil {
			lo = ptr(blockOf(*lo + usageBlockDays - 1))
		}
		if hi != nil {
			hi = ptr(blockOf(*hi))
		}
		if lo == nil || hi == nil || *lo < *hi {
			sources = []source{{"usage_rollups_8d", lo, hi}}
			if from != nil && *from < *lo {
				sources = append(sources, source{"usage_rollups", from, lo})
			}
			if to != nil && *hi < *to {
				sources = append(sources, source{"usage_rollups", hi, to})
			}
		}
	}
	var (
		args    []any
		selects []string
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	for _, src := range sources {
		var where []string
		if src.from != nil {
			where = append(where, "day >= "+arg(*src.from))
		}
		if src.to != nil {
			where = append(where, "day < "+arg(*src.to))
		}
		if q.AccountID != "" {
			where = append(where, "account_id = "+arg(q.AccountID))
		}
		sel := `SELECT ` + col + ` AS g, ` + splitExpr + ` AS s, requests, tokens_prompt, tokens_completion, cost_nanos, errors,
			latency_hist, ttft_hist FROM ` + src.table
		if len(where) > 0 {
			sel += ` WHERE ` + strings.Join(where, " AND ")
		}
		selects = append(selects, sel)
	}
	// One grouped query: the sums, and each group's histograms as the
	// concatenation of its rows' compact encodings (migration 0015), which
	// Go decodes as their sum. Adding histograms in SQL costs ~50 µs a
	// row; reading them row by row, ~30 µs. Rollups from before 0008 have
	// none (NULL, skipped by string_agg). sum() of bigint is numeric in
	// PostgreSQL; the casts bring it back to bigint (an overflow is an
	// error, never a rounded float).
	//
	// A report by day split by key from usage_rollups_keys needs no
	// grouping: each row is one (day, key), a key being of one account,
	// so the rows are read as they are (the summer would add rows of one
	// group anyway). Grouping 6,000 such rows was most of the report's time.
	var sum store.UsageSummer
	query := `SELECT g, s, sum(requests)::bigint, sum(tokens_prompt)::bigint, sum(tokens_completion)::bigint,
		sum(cost_nanos)::bigint, sum(errors)::bigint, string_agg(latency_hist, ''::bytea), string_agg(ttft_hist, ''::bytea)
		FROM (` + strings.Join(selects, " UNION ALL ") + `) AS r GROUP BY g, s`
	if sources[0].table == "usage_rollups_keys" && split == "key_hash" {
		query = selects[0]
	}
	if err := db.usageRows(ctx, query, args, col == "day", &sum); err != nil {
		return nil, err
	}
	return sum.Rows(), nil
}

// usageRows adds the rows of query (group, split, the sums, then the two
// histograms' concatenated compact encodings) to sum.
func (db *DB) usageRows(ctx context.Context, query string, args []any, byDay bool, sum *store.UsageSummer) error {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	_, err = collectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
		var (
			r             store.RollupRow
			day           int64
			cost          int64
			latency, ttft []byte
		)
		group := any(&r.Group)
		if byDay {
			group = &day
		}
		if err := row.Scan(group, &r.Split, &r.Requests, &r.TokensPrompt, &r.TokensCompletion, &cost, &r.Errs, &latency, &ttft); err != nil {
			return struct{}{}, err
		}
		if byDay {
			r.Group = store.DayString(day)
		}
		r.Cost = money.Nanos(cost)
		if err := r.Latency.MergeCompact(latency); err != nil {
			return struct{}{}, err
		}
		if err := r.TTFT.MergeCompact(ttft); err != nil {
			return struct{}{}, err
		}
		sum.Add(&r)
		return struct{}{}, nil
	})
	if err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	return nil
}

// usageBlockDays is the length in days of a block of usage_rollups_8d.
const usageBlockDays = 8

// blockOf is the first day of the block of usage_rollups_8d that holds day.
func blockOf(day int64) int64 { return day &^ (usageBlockDays - 1) }

func ptr[T any](v T) *T { return &v }
