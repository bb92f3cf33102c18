package postgres

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestRollupWrittenBefore0008TakesNewIncrements: a rollup as migration
// 0008 leaves one written before it (no errors, NULL histograms) gets the
// ledger writer's next increment added: NULL histograms merged with new ones.
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

// TestMigration0015KeepsHistogramsWrittenBy0008: rollups whose histograms
// 0008 stored as bigint[] (leading and trailing zero buckets, counts of
// several uvarint bytes, none) read back the same after 0015's conversion,
// and take the ledger writer's next increment.
func TestMigration0015KeepsHistogramsWrittenBy0008(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.CreateAccount(ctx, &store.Account{ID: "acct-old", Name: "old"}); err != nil {
		t.Fatal(err)
	}
	hash := "0000000000000000000000000000000000000000000000000000000000000001"
	if err := db.CreateKey(ctx, &store.Key{Hash: hash, Label: "sk-sy-…", Kind: store.KindAPI, AccountID: "acct-old"}); err != nil {
		t.Fatal(err)
	}
	// The schema as 0008 left it, with rows it wrote.
	for _, q := range []string{
		`ALTER TABLE usage_rollups DROP COLUMN latency_hist, DROP COLUMN ttft_hist`,
		`ALTER TABLE usage_rollups ADD COLUMN latency_hist BIGINT[], ADD COLUMN ttft_hist BIGINT[]`,
		`CREATE FUNCTION hist_add(a BIGINT[], b BIGINT[]) RETURNS BIGINT[] LANGUAGE sql AS 'SELECT a'`,
	} {
		if _, err := db.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	created := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	day := store.UnixDay(created.UnixNano())
	old := []struct {
		model         string
		latency, ttft []int64
	}{
		{"a", []int64{0, 0, 3, 0, 200, 0, 0}, []int64{7}},
		{"b", []int64{0, 0, 0}, nil},
		{"c", nil, nil},
		{"d", []int64{1, 2, 300000}, []int64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
	}
	want := map[string][2]store.Histogram{}
	for _, o := range old {
		if _, err := db.pool.Exec(ctx, `INSERT INTO usage_rollups (day, account_id, key_hash, model, provider, requests, latency_hist, ttft_hist)
			VALUES ($1, 'acct-old', $2, $3, 'openai', 1, $4, $5)`, day, hash, o.model, o.latency, o.ttft); err != nil {
			t.Fatal(err)
		}
		want[o.model] = [2]store.Histogram{o.latency, o.ttft}
	}
	migration, err := migrationFiles.ReadFile("migrations/0015_compact_histograms.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, string(migration)); err != nil {
		t.Fatal(err)
	}
	// The next increment of model a: one more request of 100 ms.
	g := store.Generation{ID: "gen-new", KeyHash: hash, AccountID: "acct-old", Model: "a", Provider: "openai",
		Status: 200, Attempts: "[]", CreatedAt: created, Latency: 100 * time.Millisecond}
	if err := db.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{g}}); err != nil {
		t.Fatal(err)
	}
	a := want["a"]
	a[0].Add(100)
	want["a"] = a
	rows, err := db.Usage(ctx, store.UsageQuery{GroupBy: "model"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	trim := func(h store.Histogram) store.Histogram {
		for len(h) > 0 && h[len(h)-1] == 0 {
			h = h[:len(h)-1]
		}
		return h
	}
	for _, r := range rows {
		w := want[r.Group]
		if !slices.Equal(trim(r.Latency), trim(w[0])) || !slices.Equal(trim(r.TTFT), trim(w[1])) {
			t.Errorf("model %s: latency %v, ttft %v; want %v, %v", r.Group, r.Latency, r.TTFT, w[0], w[1])
		}
	}
	if rows[0].Requests != 2 {
		t.Errorf("model a: %d requests, want 2", rows[0].Requests)
	}
}
