package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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
	if err := db.CreateAccount(ctx, &store.Account{ID: "acct", Name: "acct", Credits: ptr(money.Nanos(1e12))}); err != nil {
		t.Fatal(err)
	}
	h1 := strings.Repeat("a1", 32)
	key := &store.Key{Hash: h1, Label: "sk-sy-…", Kind: store.KindAPI, AccountID: "acct"}
	if err := db.CreateKey(ctx, key); err != nil {
		t.Fatal(err)
	}
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
