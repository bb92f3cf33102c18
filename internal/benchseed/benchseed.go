// Package benchseed fills a SQLite database with generations for the
// benchmarks that must stay fast however many are stored (the store's
// listings, the console's pages). Only tests import it.
package benchseed

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver the store uses

	"github.com/switchyard-gw/switchyard/internal/store"
)

// Key is an API key the seeded generations are spread over.
type Key struct{ Hash, AccountID string }

// Models is how many models the seeded generations call: model-0 to
// model-(Models-1). Each key calls two of them on alternate rounds.
const Models = 6

// SQLite inserts n generations into the SQLite database at path (already
// migrated, the keys already in it), spread evenly over the days before
// end, ids ordered by time as the gateway's are, with their usage
// rollups. The generations indexes are dropped and built again after the
// rows are in (one sort rather than n inserts each): the seeding is not
// what is measured.
func SQLite(ctx context.Context, path string, n int, keys []Key, days int, end time.Time) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	hashes := make([]string, len(keys))
	accounts := make([]string, len(keys))
	for i, k := range keys {
		hashes[i] = "'" + k.Hash + "'"
		accounts[i] = "'" + k.AccountID + "'"
	}
	stop := end.UnixNano()
	start := stop - (time.Duration(days) * 24 * time.Hour).Nanoseconds()
	step := (stop - start) / int64(n)
	k := len(keys)
	var indexes []string
	rows, err := db.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'generations' AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		indexes = append(indexes, s)
	}
	rows.Close()
	stmts := []string{}
	for _, ix := range indexes {
		name := strings.Fields(ix)[2]
		stmts = append(stmts, "DROP INDEX "+name)
	}
	stmts = append(stmts,
		`CREATE TEMP TABLE bench_keys (n INTEGER PRIMARY KEY, hash TEXT, account TEXT)`,
		`INSERT INTO bench_keys (n, hash, account) VALUES `+values(hashes, accounts),
		fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < %[1]d - 1)
		INSERT INTO generations (id, request_id, key_hash, account_id, model_requested, provider, upstream_model,
			tokens_prompt, tokens_completion, cost_nanos, status, finish_reason, streamed, latency_ms, ttft_ms, attempts, created_at)
		SELECT printf('gen-%%016x', i), 'req-' || i, k.hash, k.account,
			'model-' || ((i %% %[2]d + i / %[2]d %% 2) %% %[3]d), 'provider-' || ((i %% %[2]d + i / %[2]d %% 2) %% 3),
			'model-' || ((i %% %[2]d + i / %[2]d %% 2) %% %[3]d),
			20 + i %% 100, 100 + i %% 300, 1000 + i %% 5000, 200, 'stop', i %% 3 = 0, 300 + i %% 700, 100,
			'[{"provider":"openai","model":"gpt-4o","outcome":"ok","status":200,"duration_ms":1}]',
			%[4]d + i * %[5]d
		FROM s JOIN bench_keys k ON k.n = i %% %[2]d`, n, k, Models, start, step))
	stmts = append(stmts, indexes...)
	stmts = append(stmts,
		`INSERT INTO usage_rollups (day, account_id, key_hash, model, provider, app,
			requests, tokens_prompt, tokens_completion, cost_nanos)
		SELECT created_at / 86400000000000, account_id, key_hash, model_requested, provider, '',
			count(*), sum(tokens_prompt), sum(tokens_completion), sum(cost_nanos)
		FROM generations GROUP BY 1, 2, 3, 4, 5`,
		`DROP TABLE bench_keys`,
		`ANALYZE`)
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("seeding: %w\n%s", err, s)
		}
	}
	return nil
}

// values is the VALUES list of bench_keys.
func values(hashes, accounts []string) string {
	var b strings.Builder
	for i := range hashes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, %s, %s)", i, hashes[i], accounts[i])
	}
	return b.String()
}

// Time runs run b.N times (i from 0) as sub-benchmark name and reports the
// p50 and p95 of the calls in milliseconds.
func Time(b *testing.B, name string, run func(i int) error) {
	b.Run(name, func(b *testing.B) {
		times := make([]time.Duration, 0, b.N)
		for i := range b.N {
			t0 := time.Now()
			if err := run(i); err != nil {
				b.Fatal(err)
			}
			times = append(times, time.Since(t0))
		}
		slices.Sort(times)
		pct := func(p float64) float64 { return float64(times[int(p*float64(len(times)-1))].Microseconds()) / 1000 }
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.95), "p95-ms")
	})
}

// Creator makes accounts and keys (store.Store).
type Creator interface {
	CreateAccount(ctx context.Context, a *store.Account) error
	CreateKey(ctx context.Context, k *store.Key) error
}

// CreateKeys makes accounts acct-00… and keys API keys spread over them
// (key k in account k % accounts) and returns the keys.
func CreateKeys(ctx context.Context, st Creator, accounts, keys int) ([]Key, error) {
	for a := range accounts {
		if err := st.CreateAccount(ctx, &store.Account{ID: fmt.Sprintf("acct-%02d", a), Name: "bench"}); err != nil {
			return nil, err
		}
	}
	out := make([]Key, keys)
	for k := range out {
		sum := sha256.Sum256(fmt.Appendf(nil, "sk-sy-bench-%d", k))
		out[k] = Key{Hash: hex.EncodeToString(sum[:]), AccountID: fmt.Sprintf("acct-%02d", k%accounts)}
		if err := st.CreateKey(ctx, &store.Key{Hash: out[k].Hash, Label: "sk-sy-…", Kind: store.KindAPI, AccountID: out[k].AccountID}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Rows is $SWITCHYARD_BENCH_ROWS, the number of generations to seed; the
// benchmark is skipped without it.
func Rows(b *testing.B) int {
	n, err := strconv.Atoi(os.Getenv("SWITCHYARD_BENCH_ROWS"))
	if err != nil || n <= 0 {
		b.Skip("set SWITCHYARD_BENCH_ROWS to the number of generations to seed, e.g. 1000000")
	}
	return n
}
