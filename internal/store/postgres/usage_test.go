package postgres

import (
	"bytes"
	"context"
	"fmt"
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
	rerunMigration0016(t, db)
	g := store.Generation{ID: "gen-new", KeyHash: hash, AccountID: "acct-old", Model: "gpt", Provider: "openai",
		Status: 502, Attempts: "[]", CreatedAt: created, Latency: 100 * time.Millisecond}
	if err := db.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{g}}); err != nil {
		t.Fatal(err)
	}
	// All accounts (usage_rollups_all, filled by 0016) and one account
	// (usage_rollups).
	for _, q := range []store.UsageQuery{{GroupBy: "model"}, {GroupBy: "model", AccountID: "acct-old"}} {
		rows, err := db.Usage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Requests != 6 || rows[0].Errors != 1 || rows[0].Latency.Count() != 1 || rows[0].TTFT.Count() != 0 {
			t.Fatalf("%+v: usage after the increment: %+v", q, rows)
		}
		if p50, _ := rows[0].Latency.Quantile(0.5); p50 != 99 {
			t.Errorf("%+v: p50 %d ms, want 99", q, p50)
		}
	}
}

// rerunMigration0016 fills usage_rollups_all and usage_rollups_8d again
// from usage_rollups with usage_rollups_refill, as migration 0016 does on
// upgrade: for tests that write usage_rollups rows as an older release did.
func rerunMigration0016(t *testing.T, db *DB) {
	t.Helper()
	if _, err := db.pool.Exec(context.Background(), `SELECT usage_rollups_refill()`); err != nil {
		t.Fatal(err)
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
	rerunMigration0016(t, db)
	// The next increment of model a: one more request of 100 ms.
	g := store.Generation{ID: "gen-new", KeyHash: hash, AccountID: "acct-old", Model: "a", Provider: "openai",
		Status: 200, Attempts: "[]", CreatedAt: created, Latency: 100 * time.Millisecond}
	if err := db.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{g}}); err != nil {
		t.Fatal(err)
	}
	a := want["a"]
	a[0].Add(100)
	want["a"] = a
	trim := func(h store.Histogram) store.Histogram {
		for len(h) > 0 && h[len(h)-1] == 0 {
			h = h[:len(h)-1]
		}
		return h
	}
	// All accounts (usage_rollups_all, filled by 0016 from 0015's
	// conversion) and one account (usage_rollups).
	for _, q := range []store.UsageQuery{{GroupBy: "model"}, {GroupBy: "model", AccountID: "acct-old"}} {
		rows, err := db.Usage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(want) {
			t.Fatalf("%+v: %d rows, want %d: %+v", q, len(rows), len(want), rows)
		}
		for _, r := range rows {
			w := want[r.Group]
			if !slices.Equal(trim(r.Latency), trim(w[0])) || !slices.Equal(trim(r.TTFT), trim(w[1])) {
				t.Errorf("%+v: model %s: latency %v, ttft %v; want %v, %v", q, r.Group, r.Latency, r.TTFT, w[0], w[1])
			}
		}
		if rows[0].Requests != 2 {
			t.Errorf("%+v: model a: %d requests, want 2", q, rows[0].Requests)
		}
	}
}

// TestMigration0016SumsRollupsOfAllAccounts: 0016 fills usage_rollups_all
// from the rollups stored before it, one row per day, model, provider and
// app, with the sums of the keys' rows and their histograms added up into
// one compact encoding each, byte for byte what the ledger writer would
// store (counts of several uvarint bytes, leading zero buckets, rows
// without histograms); and the ledger writer's next batch adds to them.
func TestMigration0016SumsRollupsOfAllAccounts(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	var hashes []string
	for i, a := range []string{"acct-1", "acct-2"} {
		if err := db.CreateAccount(ctx, &store.Account{ID: a, Name: a}); err != nil {
			t.Fatal(err)
		}
		for j := range 2 {
			hash := fmt.Sprintf("%063d%d", i, j)
			if err := db.CreateKey(ctx, &store.Key{Hash: hash, Label: "sk-sy-…", Kind: store.KindAPI, AccountID: a}); err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, hash)
		}
	}
	day := store.UnixDay(time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	type sums struct {
		requests, errors int64
		latency, ttft    store.Histogram
	}
	want := map[[2]string]*sums{}
	rows := []struct {
		key, model, app int
		latency, ttft   store.Histogram
	}{
		{0, 0, 0, store.Histogram{0, 0, 3, 0, 200}, store.Histogram{7}},
		{1, 0, 0, store.Histogram{0, 0, 0, 0, 300000, 0, 1}, nil},
		{2, 0, 0, nil, nil},
		{3, 0, 0, store.Histogram{5}, store.Histogram{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 129}},
		{0, 1, 0, store.Histogram{0, 1}, nil},
		{2, 1, 1, store.Histogram{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, nil},
		{3, 1, 1, store.Histogram{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 << 40}, nil},
	}
	models, apps := []string{"gpt", "claude"}, []string{"", "Chat App"}
	for i, r := range rows {
		account := "acct-1"
		if r.key >= 2 {
			account = "acct-2"
		}
		var lh, th []byte
		if r.latency != nil {
			lh = r.latency.AppendCompact(nil)
		}
		if r.ttft != nil {
			th = r.ttft.AppendCompact(nil)
		}
		if _, err := db.pool.Exec(ctx, `INSERT INTO usage_rollups (day, account_id, key_hash, model, provider, app, requests, errors, latency_hist, ttft_hist)
			VALUES ($1, $2, $3, $4, 'openai', $5, $6, $7, $8, $9)`, day, account, hashes[r.key], models[r.model], apps[r.app], 10+i, i, lh, th); err != nil {
			t.Fatal(err)
		}
		k := [2]string{models[r.model], apps[r.app]}
		if want[k] == nil {
			want[k] = &sums{}
		}
		want[k].requests += int64(10 + i)
		want[k].errors += int64(i)
		want[k].latency.Merge(r.latency)
		want[k].ttft.Merge(r.ttft)
	}
	rerunMigration0016(t, db)
	got, err := db.pool.Query(ctx, `SELECT model, app, requests, errors, latency_hist, ttft_hist FROM usage_rollups_all WHERE day = $1 AND provider = 'openai'`, day)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for got.Next() {
		var (
			model, app       string
			requests, errors int64
			lh, th           []byte
		)
		if err := got.Scan(&model, &app, &requests, &errors, &lh, &th); err != nil {
			t.Fatal(err)
		}
		w := want[[2]string{model, app}]
		if w == nil {
			t.Fatalf("unexpected row %s %q", model, app)
		}
		n++
		if requests != w.requests || errors != w.errors {
			t.Errorf("%s %q: %d requests, %d errors; want %d, %d", model, app, requests, errors, w.requests, w.errors)
		}
		if wl, wt := w.latency.AppendCompact(nil), w.ttft.AppendCompact(nil); !bytes.Equal(lh, wl) || !bytes.Equal(th, wt) {
			t.Errorf("%s %q: histograms %x, %x; want %x, %x", model, app, lh, th, wl, wt)
		}
	}
	if err := got.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("%d rows, want %d", n, len(want))
	}
	// The next batch adds to the filled rows.
	g := store.Generation{ID: "gen-new", KeyHash: hashes[1], AccountID: "acct-1", Model: "gpt", Provider: "openai",
		Status: 200, Attempts: "[]", CreatedAt: time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC), Latency: 4 * time.Millisecond}
	if err := db.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{g}}); err != nil {
		t.Fatal(err)
	}
	w := want[[2]string{"gpt", ""}]
	w.latency.Add(4)
	report, err := db.Usage(ctx, store.UsageQuery{GroupBy: "model", Split: "app"})
	if err != nil {
		t.Fatal(err)
	}
	// Rows by model, then app: claude "", claude Chat App, gpt "".
	if len(report) != 3 || report[2].Group != "gpt" || report[2].Requests != w.requests+1 || !slices.Equal(report[2].Latency, w.latency) {
		t.Fatalf("after a batch: %+v; want gpt with %d requests, latency %v", report, w.requests+1, w.latency)
	}
}

// TestRefillCountsWhatAnOlderReleaseWrote: in a rolling upgrade an
// instance of the release before 0016 adds its batches to usage_rollups
// only; the coarser tables miss them until usage_rollups_refill, after
// which every report agrees with usage_rollups again (and new batches
// still add to them).
func TestRefillCountsWhatAnOlderReleaseWrote(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	hash := "0000000000000000000000000000000000000000000000000000000000000003"
	if err := db.CreateKey(ctx, &store.Key{Hash: hash, Label: "sk-sy-…", Kind: store.KindAPI, AccountID: store.DefaultAccountID}); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	g := store.Generation{ID: "gen-1", KeyHash: hash, AccountID: store.DefaultAccountID, Model: "gpt", Provider: "openai",
		Status: 200, Attempts: "[]", CreatedAt: created, Latency: 10 * time.Millisecond}
	if err := db.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{g}}); err != nil {
		t.Fatal(err)
	}
	// The older release's increment: 4 more requests of 100 ms.
	var old store.Histogram
	old.Add(10)
	for range 4 {
		old.Add(100)
	}
	if _, err := db.pool.Exec(ctx, `UPDATE usage_rollups SET requests = requests + 4, latency_hist = $1`, old.AppendCompact(nil)); err != nil {
		t.Fatal(err)
	}
	requests := func(q store.UsageQuery) int64 {
		t.Helper()
		rows, err := db.Usage(ctx, q)
		if err != nil || len(rows) != 1 {
			t.Fatalf("%+v: %+v, %v", q, rows, err)
		}
		return rows[0].Requests
	}
	all, blocks := store.UsageQuery{GroupBy: "model"}, store.UsageQuery{GroupBy: "model", AccountID: store.DefaultAccountID}
	if got := requests(all); got != 1 {
		t.Fatalf("before the refill, all accounts: %d requests; the test expects the older release's 4 missing", got)
	}
	rerunMigration0016(t, db)
	g.ID, g.Latency = "gen-2", 100*time.Millisecond
	if err := db.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{g}}); err != nil {
		t.Fatal(err)
	}
	old.Add(100)
	for _, q := range []store.UsageQuery{all, blocks, {GroupBy: "day"}, {GroupBy: "day", AccountID: store.DefaultAccountID}, {GroupBy: "day", Split: "key"}} {
		rows, err := db.Usage(ctx, q)
		if err != nil || len(rows) != 1 {
			t.Fatalf("%+v: %+v, %v", q, rows, err)
		}
		if rows[0].Requests != 6 || !slices.Equal(rows[0].Latency, old) {
			t.Errorf("%+v: %d requests, latency %v; want 6, %v", q, rows[0].Requests, rows[0].Latency, old)
		}
	}
}
