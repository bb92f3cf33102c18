package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestWriteBatchCopiesNewRowsAndInsertsRetries: a batch of new records
// goes in by COPY; the same batch again, or one with an id twice, meets a
// stored row, is written again by the INSERTs that skip stored rows, and
// counts exactly once either way.
func TestWriteBatchCopiesNewRowsAndInsertsRetries(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	h1 := strings.Repeat("a1", 32)
	accountWithKey(t, db, money.Nanos(1e12), h1)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	batch := func(ids ...string) *store.Batch {
		b := &store.Batch{}
		for _, id := range ids {
			g := store.Generation{ID: id, KeyHash: h1, AccountID: "acct", Model: "m", Provider: "p", UpstreamModel: "m",
				TokensPrompt: 1, TokensCompletion: 2, Cost: 1000, Status: 200, Latency: time.Millisecond, CreatedAt: now}
			b.Generations = append(b.Generations, g)
			b.Charges = append(b.Charges, store.Charge{GenerationID: id, AccountID: "acct", KeyHash: h1, Amount: 1000, At: now})
		}
		return b
	}
	spent := func() (gens int, spent int64) {
		t.Helper()
		if err := db.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM generations), (SELECT spent_nanos FROM accounts WHERE id = 'acct')`).Scan(&gens, &spent); err != nil {
			t.Fatal(err)
		}
		return gens, spent
	}
	var ids []string
	for i := range 300 {
		ids = append(ids, fmt.Sprintf("gen-%04d", i))
	}
	if err := db.WriteBatch(ctx, batch(ids...)); err != nil {
		t.Fatal(err)
	}
	if n := db.rewrites.Load(); n != 0 {
		t.Fatalf("a batch of new records was written again %d times: COPY failed", n)
	}
	if g, s := spent(); g != 300 || s != 300*1000 {
		t.Fatalf("after the first batch: %d generations, %d spent; want 300, 300000", g, s)
	}
	// The same batch again plus one new record: rewritten, only the new
	// one counts.
	if err := db.WriteBatch(ctx, batch(append(ids, "gen-new")...)); err != nil {
		t.Fatal(err)
	}
	if n := db.rewrites.Load(); n != 1 {
		t.Fatalf("a retried batch was rewritten %d times, want 1", n)
	}
	if g, s := spent(); g != 301 || s != 301*1000 {
		t.Fatalf("after the retry: %d generations, %d spent; want 301, 301000", g, s)
	}
	// One id twice in a batch is stored and charged once.
	if err := db.WriteBatch(ctx, batch("gen-dup", "gen-dup")); err != nil {
		t.Fatal(err)
	}
	if g, s := spent(); g != 302 || s != 302*1000 {
		t.Fatalf("after a batch with an id twice: %d generations, %d spent; want 302, 302000", g, s)
	}
	var requests int64
	if err := db.pool.QueryRow(ctx, `SELECT sum(requests) FROM usage_rollups`).Scan(&requests); err != nil {
		t.Fatal(err)
	}
	if requests != 302 {
		t.Fatalf("usage rollups count %d requests, want 302", requests)
	}
}

// TestCopiedRowsAreTheInsertedRows: the binary COPY stores every column of
// a generation and of its charge as the INSERTs store it: texts (with
// non-ASCII and quotes), large and negative numbers, both booleans, NULL
// and measured durations.
func TestCopiedRowsAreTheInsertedRows(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	h := strings.Repeat("c3", 32)
	accountWithKey(t, db, money.Nanos(1e15), h)
	now := time.Date(2026, 12, 7, 4, 5, 6, 789, time.UTC)
	period := now.Add(-time.Hour)
	batch := func(prefix string) *store.Batch {
		full := store.Generation{ID: prefix + "full", RequestID: "req-é", KeyHash: h, AccountID: "acct", Model: `gpt-4o "quoted" 三`,
			Provider: "openai", UpstreamModel: "gpt-4o-2024-08-06", TokensPrompt: 1 << 40, TokensCompletion: 123456789, TokensCached: 7,
			TokensReasoning: 9, Cost: 9_876_543_210, UsageEstimated: true, Status: 200, ErrorCode: "", FinishReason: "tool_calls",
			Streamed: true, Cancelled: true, Latency: 1234 * time.Millisecond, TimeToFirst: 56 * time.Millisecond,
			GenerationTime: 1178 * time.Millisecond, Origin: "https://app.example", AppTitle: "My App", Attempts: `[{"provider":"a","status":429}]`,
			CreatedAt: now}
		bare := store.Generation{ID: prefix + "bare", KeyHash: h, AccountID: "acct", Model: "m", Status: 502, ErrorCode: "upstream_error", CreatedAt: now}
		return &store.Batch{Generations: []store.Generation{full, bare},
			Charges: []store.Charge{{GenerationID: prefix + "full", AccountID: "acct", KeyHash: h, Amount: 9_876_543_210, KeyPeriodStart: &period, At: now}}}
	}
	write := func(b *store.Batch, copy bool) {
		t.Helper()
		gens, err := newGenerationColumns(b.Generations, now)
		if err != nil {
			t.Fatal(err)
		}
		charges, err := newChargeColumns(b.Charges, now)
		if err != nil {
			t.Fatal(err)
		}
		keys, accounts := references(b)
		w := &batchWrite{b: b, gens: gens, charges: charges, keys: keys, accounts: accounts, copy: copy}
		if err := db.inTx(ctx, func(tx pgx.Tx) error { return w.run(ctx, tx) }); err != nil {
			t.Fatalf("copy %v: %v", copy, err)
		}
	}
	write(batch("c-"), true)
	write(batch("i-"), false)
	rows := func(query, prefix string) []string {
		t.Helper()
		r, err := db.pool.Query(ctx, query, prefix+"%")
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(r, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for i := range out {
			out[i] = strings.ReplaceAll(out[i], `"`+prefix, `"`) // the ids differ only by the prefix
		}
		return out
	}
	for _, q := range []string{
		`SELECT (to_jsonb(g))::text FROM generations g WHERE id LIKE $1 ORDER BY id`,
		`SELECT (to_jsonb(e) - 'id')::text FROM ledger_entries e WHERE generation_id LIKE $1 ORDER BY generation_id`,
	} {
		copied, inserted := rows(q, "c-"), rows(q, "i-")
		if len(copied) == 0 || strings.Join(copied, "\n") != strings.Join(inserted, "\n") {
			t.Fatalf("%s\ncopied:\n%s\ninserted:\n%s", q, strings.Join(copied, "\n"), strings.Join(inserted, "\n"))
		}
	}
}

// accountWithKey creates the account "acct" with credits and an API key
// of it whose hash is hash.
func accountWithKey(t *testing.T, db *DB, credits money.Nanos, hash string) {
	t.Helper()
	ctx := context.Background()
	if err := db.CreateAccount(ctx, &store.Account{ID: "acct", Name: "acct", Credits: ptr(credits)}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKey(ctx, &store.Key{Hash: hash, Label: "sk-sy-…", Kind: store.KindAPI, AccountID: "acct"}); err != nil {
		t.Fatal(err)
	}
}
