package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/benchseed"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// BenchmarkUsageAtScale seeds $SWITCHYARD_BENCH_ROWS generations (with their
// usage rollups) into a fresh schema, then times the reads that must stay
// fast however many generations are stored, reporting p50 and p95 in ms:
//
//	SWITCHYARD_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	SWITCHYARD_BENCH_ROWS=10000000 \
//	  go test -run '^$' -bench UsageAtScale -benchtime 200x -timeout 30m ./internal/store/postgres/
//
// The data: 200 keys in 20 accounts, each key calling 2 of 6 models, spread
// evenly over the 90 days before now, ids ordered by time as the gateway's
// are. The usage report reads usage_rollups (here at most 90 × 200 × 2 =
// 36,000 rows), never generations. The listings time ListGenerations
// (GET /api/v1/generations): a key's 50 newest (generations_key_created),
// its next page, one model of its rows, an account's 50 newest
// (generations_account_created, 0009), one model's
// (generations_model_created, 0017; then again without it, up to 1,000,000
// rows) and everyone's (generations_created); "generation by id" times
// GetGeneration.
func BenchmarkUsageAtScale(b *testing.B) {
	n := benchseed.Rows(b)
	db := openTest(b)
	ctx := context.Background()
	const accounts, keys = 20, 200
	created, err := benchseed.CreateKeys(ctx, db, accounts, keys)
	if err != nil {
		b.Fatal(err)
	}
	hashes := make([]string, keys)
	for k, c := range created {
		hashes[k] = c.Hash
	}
	end := time.Now().UnixNano()
	start := end - (90 * 24 * time.Hour).Nanoseconds()
	step := (end - start) / int64(n)
	began := time.Now()
	// Indexes built once after the rows are in (a sort) rather than row by
	// row: the seeding is not what is measured.
	seed := []string{
		`ALTER TABLE generations DROP CONSTRAINT generations_pkey`,
		`DROP INDEX generations_created`,
		`DROP INDEX generations_key_created`,
		`DROP INDEX generations_account_created`,
		`DROP INDEX generations_model_created`,
		fmt.Sprintf(`INSERT INTO generations (id, request_id, key_hash, account_id, model_requested, provider, upstream_model,
			tokens_prompt, tokens_completion, cost_nanos, status, finish_reason, streamed, latency_ms, ttft_ms, attempts, created_at)
		SELECT 'gen-' || lpad(to_hex(i), 16, '0'), 'req-' || i,
			($1::text[])[i %% %[1]d + 1], 'acct-' || lpad((i %% %[1]d %% %[2]d)::text, 2, '0'),
			'model-' || ((i %% %[1]d + i / %[1]d %% 2) %% 6), 'provider-' || ((i %% %[1]d + i / %[1]d %% 2) %% 3), 'model-' || ((i %% %[1]d + i / %[1]d %% 2) %% 6),
			20 + i %% 100, 100 + i %% 300, 1000 + i %% 5000, 200, 'stop', i %% 3 = 0, 300 + i %% 700, 100,
			'[{"provider":"openai","model":"gpt-4o","outcome":"ok","status":200,"duration_ms":1}]',
			%[3]d + i * %[4]d
		FROM generate_series(0::bigint, %[5]d - 1) AS i`, keys, accounts, start, step, n),
		`ALTER TABLE generations ADD PRIMARY KEY (id)`,
		`CREATE INDEX generations_created ON generations (created_at)`,
		`CREATE INDEX generations_key_created ON generations (key_hash, created_at)`,
		`CREATE INDEX generations_account_created ON generations (account_id, created_at)`,
		`CREATE INDEX generations_model_created ON generations (model_requested, created_at)`,
		`INSERT INTO usage_rollups (day, account_id, key_hash, model, provider,
			requests, tokens_prompt, tokens_completion, tokens_cached, tokens_reasoning, cost_nanos)
		SELECT created_at / 86400000000000, account_id, key_hash, model_requested, provider,
			count(*), sum(tokens_prompt), sum(tokens_completion), 0, 0, sum(cost_nanos)
		FROM generations GROUP BY 1, 2, 3, 4, 5`,
		// Errors and histograms as the ledger writer keeps them (migrations
		// 0008 and 0015: store.Histogram.AppendCompact): the seeded
		// latencies, 300–999 ms, fill the 16 buckets of 256–1023 ms (48 zero
		// buckets before them); TTFT, 100 ms, one bucket after 44 zeros.
		// Each count is one uvarint byte while it is under 128 (up to ~14
		// million generations here).
		`UPDATE usage_rollups SET errors = requests / 50,
			latency_hist = decode('3010' || repeat(lpad(to_hex(least(requests / 16, 127)), 2, '0'), 16), 'hex'),
			ttft_hist = decode('2c01' || lpad(to_hex(least(requests / 3, 127)), 2, '0'), 'hex')`,
		`VACUUM ANALYZE generations`,
		`VACUUM ANALYZE usage_rollups`,
	}
	for _, q := range seed {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, hashes)
		}
		if _, err := db.pool.Exec(ctx, q, args...); err != nil {
			b.Fatalf("seeding: %v\n%s", err, q)
		}
	}
	var rollups int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM usage_rollups`).Scan(&rollups); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d generations (%d usage rollups) in %s", n, rollups, time.Since(began).Round(time.Second))

	queries := []struct {
		name string
		run  func(i int) error
	}{
		{"usage/by-day", func(int) error { _, err := db.Usage(ctx, store.UsageQuery{GroupBy: "day"}); return err }},
		{"usage/by-model", func(int) error { _, err := db.Usage(ctx, store.UsageQuery{GroupBy: "model"}); return err }},
		{"usage/by-key", func(int) error { _, err := db.Usage(ctx, store.UsageQuery{GroupBy: "key"}); return err }},
		{"usage/by-day-split-model", func(int) error {
			_, err := db.Usage(ctx, store.UsageQuery{GroupBy: "day", Split: "model"})
			return err
		}},
		{"usage/one-account-by-day", func(i int) error {
			_, err := db.Usage(ctx, store.UsageQuery{GroupBy: "day", AccountID: fmt.Sprintf("acct-%02d", i%accounts)})
			return err
		}},
		{"generation-by-id", func(i int) error {
			_, err := db.GetGeneration(ctx, fmt.Sprintf("gen-%016x", (i*7919)%n))
			return err
		}},
		{"key-listing", func(i int) error {
			return listed(db.ListGenerations(ctx, store.GenerationQuery{KeyHash: hashes[i%keys], Limit: 50}))(min(50, n/keys))
		}},
		{"key-listing/page-2", func(i int) error {
			// The cursor of a page one day ago: an index range that starts
			// inside the key's rows, not at their end.
			after := &store.GenerationCursor{CreatedAt: time.Unix(0, end-(24*time.Hour).Nanoseconds()), ID: "gen-~"}
			return listed(db.ListGenerations(ctx, store.GenerationQuery{KeyHash: hashes[i%keys], After: after, Limit: 50}))(min(50, n/keys))
		}},
		{"key-listing/one-model", func(i int) error {
			// Each key calls 2 models on alternate rounds: half its rows pass.
			k := i % keys
			return listed(db.ListGenerations(ctx, store.GenerationQuery{KeyHash: hashes[k], Model: fmt.Sprintf("model-%d", k%6), Limit: 50}))(min(50, n/keys/2))
		}},
		{"account-listing", func(i int) error {
			return listed(db.ListGenerations(ctx, store.GenerationQuery{AccountID: fmt.Sprintf("acct-%02d", i%accounts), Limit: 50}))(min(50, n/accounts))
		}},
		{"all-listing", func(int) error {
			return listed(db.ListGenerations(ctx, store.GenerationQuery{Limit: 50}))(min(50, n))
		}},
		{"model-listing", func(i int) error {
			// A sixth of the rows each: any index yields a page quickly.
			return listed(db.ListGenerations(ctx, store.GenerationQuery{Model: fmt.Sprintf("model-%d", i%6), Limit: 50}))(min(50, n/6))
		}},
		{"model-listing/absent", func(int) error {
			// A model no row has: generations_created alone would read
			// every row (the worst case of a rare model).
			return listed(db.ListGenerations(ctx, store.GenerationQuery{Model: "model-none", Limit: 50}))(0)
		}},
		{"all-listing/errors", func(int) error {
			// No row is an error: the worst case, a scan of every row.
			_, err := db.ListGenerations(ctx, store.GenerationQuery{Outcome: store.OutcomeError, Limit: 50})
			return err
		}},
	}
	for _, q := range queries {
		if q.name == "all-listing/errors" && n > 1_000_000 {
			continue // minutes per call: reported at small sizes only
		}
		benchseed.Time(b, q.name, q.run)
	}
	// The model listings as they were before migration 0017.
	if _, err := db.pool.Exec(ctx, `DROP INDEX generations_model_created`); err != nil {
		b.Fatal(err)
	}
	for _, q := range queries {
		if strings.HasPrefix(q.name, "model-listing") && n <= 1_000_000 {
			benchseed.Time(b, q.name+"/without-0017", q.run)
		}
	}
}

// listed checks a listing returned want generations.
func listed(gs []store.Generation, err error) func(want int) error {
	return func(want int) error {
		if err != nil {
			return err
		}
		if len(gs) != want {
			return fmt.Errorf("listed %d generations, want %d", len(gs), want)
		}
		return nil
	}
}
