package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestRollupWrittenBefore0008TakesNewIncrements: a rollup as migration
// 0008 leaves one written before it (no errors, NULL histograms) gets the
// ledger writer's next increment added: hist_add of NULL and a histogram.
func TestRollupWrittenBefore0008TakesNewIncrements(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.CreateAccount(ctx, &store.Account{ID: "acct-old", Name: "old"}); err != nil {
		t.Fatal(err)
	}
	hash := "0000000000000000000000000000000000000000000000000000000000000001"
	if err := db.CreateKey(ctx, &store.Key{Hash: hash, Label: "sk-sy-…", Kind: store.KindAPI, AccountID: "acct-old"}); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	if _, err := db.pool.Exec(ctx, `INSERT INTO usage_rollups (day, account_id, key_hash, model, provider, requests)
		VALUES ($1, 'acct-old', $2, 'gpt', 'openai', 5)`, store.UnixDay(created.UnixNano()), hash); err != nil {
		t.Fatal(err)
	}
	g := store.Generation{ID: "gen-new", KeyHash: hash, AccountID: "acct-old", Model: "gpt", Provider: "openai",
		Status: 502, Attempts: "[]", CreatedAt: created, Latency: 100 * time.Millisecond}
	if err := db.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{g}}); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Usage(ctx, store.UsageQuery{GroupBy: "model"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Requests != 6 || rows[0].Errors != 1 || rows[0].Latency.Count() != 1 || rows[0].TTFT.Count() != 0 {
		t.Fatalf("usage after the increment: %+v", rows)
	}
	if p50, _ := rows[0].Latency.Quantile(0.5); p50 != 99 {
		t.Errorf("p50 %d ms, want 99", p50)
	}
}
