package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
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
// With $SWITCHYARD_BENCH_DSN (a database of its own, e.g.
// postgres://postgres@127.0.0.1:5432/usage10m?sslmode=disable) it runs
// there instead of in a fresh schema, seeds only if that database holds no
// generations yet, and keeps it: later runs skip the minutes of seeding.
// Drop the database when done.
//
// The data: 200 keys in 20 accounts, each key calling 2 of 6 models, spread
// evenly over the 90 days before now, ids ordered by time as the gateway's
// are. The usage report reads rollups, never generations: usage_rollups
// (here 91 × 200 × 2 = 36,400 rows), or the coarser usage_rollups_all and
// usage_rollups_8d of migration 0016, which the seed fills as 0016 does on
// an upgrade; "/0015" names the same report read from usage_rollups alone,
// as before 0016. The listings time ListGenerations
// (GET /api/v1/generations): a key's 50 newest (generations_key_created),
// its next page, one model of its rows, an account's 50 newest
// (generations_account_created, 0009) and everyone's
// (generations_created); "generation by id" times GetGeneration.
func BenchmarkUsageAtScale(b *testing.B) {
	n, err := strconv.Atoi(os.Getenv("SWITCHYARD_BENCH_ROWS"))
	if err != nil || n <= 0 {
		b.Skip("set SWITCHYARD_BENCH_ROWS to the number of generations to seed, e.g. 10000000")
	}
	ctx := context.Background()
	var db *DB
	if dsn := os.Getenv("SWITCHYARD_BENCH_DSN"); dsn != "" {
		if db, err = Open(ctx, dsn); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
	} else {
		db = openTest(b)
	}
	const accounts, keys = 20, 200
	hashes := make([]string, keys)
	for k := range keys {
		sum := sha256.Sum256(fmt.Appendf(nil, "sk-sy-bench-%d", k))
		hashes[k] = hex.EncodeToString(sum[:])
	}
	end := time.Now().UnixNano()
	var seeded bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM generations)`).Scan(&seeded); err != nil {
		b.Fatal(err)
	}
	if seeded {
		// A kept database: the data's end is its newest generation.
		if err := db.pool.QueryRow(ctx, `SELECT max(created_at) FROM generations`).Scan(&end); err != nil {
			b.Fatal(err)
		}
		n64 := int64(n)
		if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM generations`).Scan(&n64); err != nil {
			b.Fatal(err)
		}
		n = int(n64)
	} else {
		seedUsageAtScale(b, db, n, hashes, end)
	}
	var rollups int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM usage_rollups`).Scan(&rollups); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d generations, %d usage rollups", n, rollups)
	timeUsageAtScale(b, db, n, hashes, end)
}

// seedUsageAtScale seeds BenchmarkUsageAtScale's data: n generations ending
// at end (unix nanoseconds) over the keys of hashes, and their rollups.
func seedUsageAtScale(b *testing.B, db *DB, n int, hashes []string, end int64) {
	ctx := context.Background()
	const accounts, keys = 20, 200
	for a := range accounts {
		if err := db.CreateAccount(ctx, &store.Account{ID: fmt.Sprintf("acct-%02d", a), Name: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	for k := range keys {
		key := &store.Key{Hash: hashes[k], Label: "sk-sy-…", Kind: store.KindAPI, AccountID: fmt.Sprintf("acct-%02d", k%accounts)}
		if err := db.CreateKey(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
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
	// The coarser rollups, from usage_rollups, as migration 0016 makes them.
	for _, q := range []string{`SELECT usage_rollups_refill()`, `VACUUM ANALYZE usage_rollups_all`, `VACUUM ANALYZE usage_rollups_8d`, `VACUUM ANALYZE usage_rollups_keys`} {
		if _, err := db.pool.Exec(ctx, q); err != nil {
			b.Fatalf("seeding: %v", err)
		}
	}
	b.Logf("seeded %d generations in %s", n, time.Since(began).Round(time.Second))
}

// timeUsageAtScale times BenchmarkUsageAtScale's reads.
func timeUsageAtScale(b *testing.B, db *DB, n int, hashes []string, end int64) {
	ctx := context.Background()
	const accounts, keys = 20, 200
	// The last 30 days (to unbounded), as the console's default range.
	from30 := time.Unix(0, end).UTC().Truncate(24*time.Hour).AddDate(0, 0, -29)
	usage := func(q store.UsageQuery) func(int) error {
		return func(int) error { _, err := db.Usage(ctx, q); return err }
	}
	// The same report read from usage_rollups, as before migration 0016.
	usage0015 := func(q store.UsageQuery) func(int) error {
		return func(int) error { _, err := db.usage(ctx, q, false); return err }
	}
	// The coarser rollups give the reports usage_rollups gives.
	for _, q := range []store.UsageQuery{{GroupBy: "day"}, {GroupBy: "model", Split: "app"}, {GroupBy: "key"},
		{GroupBy: "provider", From: from30}, {GroupBy: "key", Split: "model", From: from30.AddDate(0, 0, 3)},
		{GroupBy: "model", AccountID: "acct-03", From: from30.AddDate(0, 0, -1), To: from30.AddDate(0, 0, 20)},
		{GroupBy: "day", Split: "key", From: from30}} {
		got, err := db.Usage(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		want, err := db.usage(ctx, q, false)
		if err != nil {
			b.Fatal(err)
		}
		if !sameUsage(got, want) {
			b.Fatalf("%+v: the coarser rollups' report differs from usage_rollups'", q)
		}
	}
	queries := []struct {
		name string
		run  func(i int) error
	}{
		{"usage/by-day", usage(store.UsageQuery{GroupBy: "day"})},
		{"usage/by-day/0015", usage0015(store.UsageQuery{GroupBy: "day"})},
		{"usage/by-model", usage(store.UsageQuery{GroupBy: "model"})},
		{"usage/by-model/0015", usage0015(store.UsageQuery{GroupBy: "model"})},
		{"usage/by-key", usage(store.UsageQuery{GroupBy: "key"})},
		{"usage/by-key/0015", usage0015(store.UsageQuery{GroupBy: "key"})},
		{"usage/by-provider", usage(store.UsageQuery{GroupBy: "provider"})},
		{"usage/by-app", usage(store.UsageQuery{GroupBy: "app"})},
		{"usage/by-day-split-model", usage(store.UsageQuery{GroupBy: "day", Split: "model"})},
		{"usage/by-day-split-model/0015", usage0015(store.UsageQuery{GroupBy: "day", Split: "model"})},
		{"usage/by-key-split-model", usage(store.UsageQuery{GroupBy: "key", Split: "model"})},
		{"usage/30d-by-day", usage(store.UsageQuery{GroupBy: "day", From: from30})},
		{"usage/30d-by-day/0015", usage0015(store.UsageQuery{GroupBy: "day", From: from30})},
		{"usage/30d-by-model", usage(store.UsageQuery{GroupBy: "model", From: from30})},
		{"usage/30d-by-key", usage(store.UsageQuery{GroupBy: "key", From: from30})},
		{"usage/30d-by-day-split-key", usage(store.UsageQuery{GroupBy: "day", Split: "key", From: from30})},
		{"usage/30d-by-model-split-provider", usage(store.UsageQuery{GroupBy: "model", Split: "provider", From: from30})},
		{"usage/one-account-by-day", func(i int) error {
			_, err := db.Usage(ctx, store.UsageQuery{GroupBy: "day", AccountID: fmt.Sprintf("acct-%02d", i%accounts)})
			return err
		}},
		{"usage/one-account-by-day/0015", func(i int) error {
			_, err := db.usage(ctx, store.UsageQuery{GroupBy: "day", AccountID: fmt.Sprintf("acct-%02d", i%accounts)}, false)
			return err
		}},
		{"usage/one-account-by-model", func(i int) error {
			_, err := db.Usage(ctx, store.UsageQuery{GroupBy: "model", AccountID: fmt.Sprintf("acct-%02d", i%accounts)})
			return err
		}},
		{"usage/one-account-by-model/0015", func(i int) error {
			_, err := db.usage(ctx, store.UsageQuery{GroupBy: "model", AccountID: fmt.Sprintf("acct-%02d", i%accounts)}, false)
			return err
		}},
		{"usage/one-account-30d-by-key", func(i int) error {
			_, err := db.Usage(ctx, store.UsageQuery{GroupBy: "key", From: from30, AccountID: fmt.Sprintf("acct-%02d", i%accounts)})
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
		{"model-listing", func(i int) error {
			// A sixth of the rows each: any index yields a page quickly.
			return listed(db.ListGenerations(ctx, store.GenerationQuery{Model: fmt.Sprintf("model-%d", i%6), Limit: 50}))(min(50, n/6))
		}},
		{"model-listing/absent", func(int) error {
			// A model no row has: generations_created alone would read
			// every row (the worst case of a rare model).
			return listed(db.ListGenerations(ctx, store.GenerationQuery{Model: "model-none", Limit: 50}))(0)
		}},
		{"all-listing", func(int) error {
			return listed(db.ListGenerations(ctx, store.GenerationQuery{Limit: 50}))(min(50, n))
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
	// The model listings as they were before migration 0017 (on a kept
	// database the index is built again afterwards).
	if n > 1_000_000 {
		return
	}
	if _, err := db.pool.Exec(ctx, `DROP INDEX generations_model_created`); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if _, err := db.pool.Exec(ctx, `CREATE INDEX generations_model_created ON generations (model_requested, created_at)`); err != nil {
			b.Fatal(err)
		}
	}()
	for _, q := range queries {
		if strings.HasPrefix(q.name, "model-listing") {
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

// sameUsage says whether two reports are the same, histograms compared
// without their trailing empty buckets.
func sameUsage(a, b []store.UsageRow) bool {
	trim := func(h store.Histogram) store.Histogram {
		for len(h) > 0 && h[len(h)-1] == 0 {
			h = h[:len(h)-1]
		}
		return h
	}
	return slices.EqualFunc(a, b, func(x, y store.UsageRow) bool {
		if !slices.Equal(trim(x.Latency), trim(y.Latency)) || !slices.Equal(trim(x.TTFT), trim(y.TTFT)) {
			return false
		}
		x.Latency, x.TTFT, y.Latency, y.TTFT = nil, nil, nil, nil
		return reflect.DeepEqual(x, y)
	})
}
