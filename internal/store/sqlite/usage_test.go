package sqlite

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestMigration0008KeepsOldRollupsAndMergesIntoThem: a rollup written
// before 0008 keeps its sums (app "", no errors, no histograms), and the
// ledger writer's next increment of it adds to them.
func TestMigration0008KeepsOldRollupsAndMergesIntoThem(t *testing.T) {
	ctx := context.Background()
	w, err := openPool(pragmaDSN(":memory:", true, false), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	clock := func() time.Time { return at(0) }
	before := fstest.MapFS{}
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() < "0008" {
			b, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
			if err != nil {
				t.Fatal(err)
			}
			before["migrations/"+e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	if err := migrate(ctx, w, before, clock); err != nil {
		t.Fatalf("migrate to 7: %v", err)
	}
	if _, err := w.Exec(`INSERT INTO usage_rollups (day, account_id, key_hash, model, provider, requests, tokens_prompt, cost_nanos)
		VALUES (20000, 'acct-default', 'h', 'gpt', 'openai', 5, 50, 500)`); err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, w, migrationFiles, clock); err != nil {
		t.Fatalf("migrate to latest: %v", err)
	}
	var (
		requests, errs int64
		app            string
		latency        []byte
	)
	row := func() {
		t.Helper()
		if err := w.QueryRow(`SELECT app, requests, errors, latency_hist FROM usage_rollups WHERE day = 20000`).Scan(&app, &requests, &errs, &latency); err != nil {
			t.Fatal(err)
		}
	}
	row()
	if app != "" || requests != 5 || errs != 0 || latency != nil {
		t.Fatalf("old rollup after 0008: app %q, %d requests, %d errors, latency %v", app, requests, errs, latency)
	}
	var h store.Histogram
	h.Add(100)
	enc, _ := h.MarshalBinary()
	if _, err := w.Exec(addRollupSQL, 20000, "acct-default", "h", "gpt", "openai", "", 1, 10, 1, 0, 0, 100, 1, enc, nil); err != nil {
		t.Fatal(err)
	}
	row()
	var got store.Histogram
	if err := got.UnmarshalBinary(latency); err != nil {
		t.Fatal(err)
	}
	if requests != 6 || errs != 1 || got.Count() != 1 {
		t.Errorf("after an increment: %d requests, %d errors, latency %v", requests, errs, got)
	}
	var index string
	if err := w.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'usage_rollups_account_day'`).Scan(&index); err != nil || !strings.Contains(index, "(account_id, day)") {
		t.Errorf("usage_rollups_account_day after the rebuild: %q, %v", index, err)
	}
}
