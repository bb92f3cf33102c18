package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// billingFixture is a database with two accounts and three keys.
type billingFixture struct {
	db *testDB
	// keyA and keyDaily belong to acctPrepaid, keyB to acctUnmetered.
	keyA, keyDaily, keyB string
}

const (
	acctPrepaid   = "acct-prepaid"
	acctUnmetered = "acct-unmetered"
)

func newBillingFixture(t testing.TB, db *testDB) *billingFixture {
	t.Helper()
	ctx := context.Background()
	for _, a := range []*store.Account{
		{ID: acctPrepaid, Name: "prepaid", Credits: nanos(100 * money.PerDollar)},
		{ID: acctUnmetered, Name: "unmetered"},
	} {
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	f := &billingFixture{db: db}
	for _, k := range []struct {
		hash    *string
		plain   string
		account string
		reset   string
	}{
		{&f.keyA, "sk-sy-a", acctPrepaid, ""},
		{&f.keyDaily, "sk-sy-daily", acctPrepaid, "daily"},
		{&f.keyB, "sk-sy-b", acctUnmetered, ""},
	} {
		key := newKey(k.plain)
		key.AccountID, key.LimitReset = k.account, k.reset
		if err := db.CreateKey(ctx, key); err != nil {
			t.Fatal(err)
		}
		*k.hash = key.Hash
	}
	return f
}

// gen returns a generation of key in account at created with the given
// model, provider, tokens and cost.
func gen(id, key, account, model, provider string, created time.Time, prompt, completion int64, cost money.Nanos) store.Generation {
	return store.Generation{
		ID: id, KeyHash: key, AccountID: account, Model: model, Provider: provider,
		TokensPrompt: prompt, TokensCompletion: completion, Cost: cost,
		Status: 200, Attempts: "[]", CreatedAt: created,
	}
}

func charge(g store.Generation, period *time.Time) store.Charge {
	return store.Charge{GenerationID: g.ID, AccountID: g.AccountID, KeyHash: g.KeyHash, Amount: g.Cost, KeyPeriodStart: period, At: g.CreatedAt}
}

func testWriteBatchRoundTripsEveryGenerationField(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	ctx := context.Background()
	full := store.Generation{
		ID:               "gen-full",
		RequestID:        "req-123",
		KeyHash:          f.keyA,
		AccountID:        acctPrepaid,
		Model:            "openai/gpt-4o",
		Provider:         "openai",
		UpstreamModel:    "gpt-4o-2024-08-06",
		TokensPrompt:     1200,
		TokensCompletion: 340,
		TokensCached:     1000,
		TokensReasoning:  120,
		Cost:             4_567_891,
		UsageEstimated:   true,
		Status:           499,
		ErrorCode:        "client_closed",
		FinishReason:     "length",
		Streamed:         true,
		Cancelled:        true,
		Latency:          1234 * time.Millisecond,
		TimeToFirst:      321 * time.Millisecond,
		GenerationTime:   913 * time.Millisecond,
		Origin:           "https://app.example",
		AppTitle:         "Example App",
		Attempts:         `[{"provider":"openai","status":200}]`,
		CreatedAt:        at(int64(3 * time.Hour)).Add(7), // nanoseconds survive
	}
	minimal := store.Generation{
		ID: "gen-minimal", KeyHash: f.keyB, AccountID: acctUnmetered, Model: "m", Status: 401,
		Attempts: "[]", CreatedAt: at(5),
	}
	if err := db.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{full, minimal}}); err != nil {
		t.Fatalf("WriteBatch: %v", err)
	}
	for _, want := range []store.Generation{full, minimal} {
		got, err := db.GetGeneration(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetGeneration(%s): %v", want.ID, err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("GetGeneration(%s) =\n%+v\nwant\n%+v", want.ID, *got, want)
		}
	}
	if _, err := db.GetGeneration(ctx, "gen-absent"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetGeneration(absent) = %v, want ErrNotFound", err)
	}
}

func testWriteBatchStoresDefaults(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	db.setClock(func() time.Time { return at(42) })
	g := store.Generation{ID: "gen-defaults", KeyHash: f.keyA, AccountID: acctPrepaid, Model: "m", Status: 200,
		Latency: 1500 * time.Microsecond}
	if err := db.WriteBatch(context.Background(), &store.Batch{Generations: []store.Generation{g}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetGeneration(context.Background(), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Attempts != "[]" || !got.CreatedAt.Equal(at(42)) || got.Latency != time.Millisecond {
		t.Errorf("attempts %q, created %v, latency %v; want \"[]\", now (%v), whole milliseconds (1ms)",
			got.Attempts, got.CreatedAt, got.Latency, at(42))
	}
}

// balances returns LoadBalances as maps.
func balances(t *testing.T, db *testDB) (map[string]store.AccountBalance, map[string]store.KeyUsage) {
	t.Helper()
	accounts, keys, err := db.LoadBalances(context.Background())
	if err != nil {
		t.Fatalf("LoadBalances: %v", err)
	}
	am := map[string]store.AccountBalance{}
	for _, a := range accounts {
		am[a.ID] = a
	}
	km := map[string]store.KeyUsage{}
	for _, k := range keys {
		km[k.Hash] = k
	}
	return am, km
}

func testWriteBatchChargesBalances(t *testing.T, h *Harness) {
	day1 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	type step struct {
		key    string // "a", "daily" or "b"
		amount money.Nanos
		period *time.Time
	}
	tests := []struct {
		name string
		// batches are written in order, each one WriteBatch.
		batches          [][]step
		wantPeriod       map[string]money.Nanos
		wantPeriodStart  map[string]*time.Time
		wantTotal        map[string]money.Nanos
		wantSpentPrepaid money.Nanos
	}{
		{
			name:             "no period adds to period and total usage",
			batches:          [][]step{{{"a", 10, nil}, {"a", 5, nil}}, {{"a", 1, nil}}},
			wantPeriod:       map[string]money.Nanos{"a": 16},
			wantPeriodStart:  map[string]*time.Time{"a": nil},
			wantTotal:        map[string]money.Nanos{"a": 16},
			wantSpentPrepaid: 16,
		},
		{
			name:             "first period starts from the charge",
			batches:          [][]step{{{"daily", 7, &day1}}},
			wantPeriod:       map[string]money.Nanos{"daily": 7},
			wantPeriodStart:  map[string]*time.Time{"daily": &day1},
			wantTotal:        map[string]money.Nanos{"daily": 7},
			wantSpentPrepaid: 7,
		},
		{
			name:             "same period adds",
			batches:          [][]step{{{"daily", 7, &day1}}, {{"daily", 3, &day1}, {"daily", 2, &day1}}},
			wantPeriod:       map[string]money.Nanos{"daily": 12},
			wantPeriodStart:  map[string]*time.Time{"daily": &day1},
			wantTotal:        map[string]money.Nanos{"daily": 12},
			wantSpentPrepaid: 12,
		},
		{
			name:             "new period in a later batch restarts period usage",
			batches:          [][]step{{{"daily", 7, &day1}}, {{"daily", 4, &day2}}},
			wantPeriod:       map[string]money.Nanos{"daily": 4},
			wantPeriodStart:  map[string]*time.Time{"daily": &day2},
			wantTotal:        map[string]money.Nanos{"daily": 11},
			wantSpentPrepaid: 11,
		},
		{
			name:             "new period within a batch restarts period usage",
			batches:          [][]step{{{"daily", 7, &day1}, {"daily", 4, &day2}, {"daily", 1, &day2}}},
			wantPeriod:       map[string]money.Nanos{"daily": 5},
			wantPeriodStart:  map[string]*time.Time{"daily": &day2},
			wantTotal:        map[string]money.Nanos{"daily": 12},
			wantSpentPrepaid: 12,
		},
		{
			name:             "late charge of the previous period counts in the total only",
			batches:          [][]step{{{"daily", 4, &day2}, {"daily", 7, &day1}, {"daily", 1, &day2}}},
			wantPeriod:       map[string]money.Nanos{"daily": 5},
			wantPeriodStart:  map[string]*time.Time{"daily": &day2},
			wantTotal:        map[string]money.Nanos{"daily": 12},
			wantSpentPrepaid: 12,
		},
		{
			name:             "keys and accounts are charged separately",
			batches:          [][]step{{{"a", 1, nil}, {"b", 20, nil}, {"daily", 300, &day1}, {"b", 4000, nil}}},
			wantPeriod:       map[string]money.Nanos{"a": 1, "b": 4020, "daily": 300},
			wantPeriodStart:  map[string]*time.Time{"a": nil, "b": nil, "daily": &day1},
			wantTotal:        map[string]money.Nanos{"a": 1, "b": 4020, "daily": 300},
			wantSpentPrepaid: 301,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := h.open(t)
			f := newBillingFixture(t, db)
			hashes := map[string]string{"a": f.keyA, "daily": f.keyDaily, "b": f.keyB}
			accountOf := map[string]string{"a": acctPrepaid, "daily": acctPrepaid, "b": acctUnmetered}
			n := 0
			var spentUnmetered money.Nanos
			for _, steps := range tt.batches {
				var b store.Batch
				for _, s := range steps {
					n++
					g := gen(fmt.Sprintf("gen-%d", n), hashes[s.key], accountOf[s.key], "m", "p", at(int64(n)), 1, 1, s.amount)
					b.Generations = append(b.Generations, g)
					b.Charges = append(b.Charges, charge(g, s.period))
					if accountOf[s.key] == acctUnmetered {
						spentUnmetered += s.amount
					}
				}
				if err := db.WriteBatch(context.Background(), &b); err != nil {
					t.Fatalf("WriteBatch: %v", err)
				}
			}
			accounts, keys := balances(t, db)
			if got := accounts[acctPrepaid]; got.Spent != tt.wantSpentPrepaid || got.Credits == nil || *got.Credits != 100*money.PerDollar {
				t.Errorf("prepaid account = %+v, want spent %d of unchanged credits", got, tt.wantSpentPrepaid)
			}
			if got := accounts[acctUnmetered]; got.Spent != spentUnmetered || got.Credits != nil {
				t.Errorf("unmetered account = %+v, want spent %d and nil credits", got, spentUnmetered)
			}
			for name, hash := range hashes {
				got := keys[hash]
				if got.PeriodUsage != tt.wantPeriod[name] || got.TotalUsage != tt.wantTotal[name] {
					t.Errorf("key %s usage: period %d total %d; want %d, %d",
						name, got.PeriodUsage, got.TotalUsage, tt.wantPeriod[name], tt.wantTotal[name])
				}
				if want := tt.wantPeriodStart[name]; !reflect.DeepEqual(got.PeriodStart, want) {
					t.Errorf("key %s period start %v, want %v", name, got.PeriodStart, want)
				}
			}
			checkLedgerSumsToBalances(t, db)
		})
	}
}

func testLoadBalancesSkipsDeletedKeys(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	ctx := context.Background()
	if err := db.DeleteKey(ctx, f.keyB, time.Time{}); err != nil {
		t.Fatal(err)
	}
	accounts, keys := balances(t, db)
	if _, ok := keys[f.keyB]; ok || len(keys) != 2 {
		t.Errorf("LoadBalances keys = %v, want the two undeleted keys", keys)
	}
	if len(accounts) != 3 {
		t.Errorf("LoadBalances accounts = %v, want the default account and the fixture's two", accounts)
	}
}

// snapshot is everything WriteBatch may change.
type snapshot struct {
	accounts    map[string]store.AccountBalance
	keys        map[string]store.KeyUsage
	generations int
	ledger      int
	rollups     []store.UsageRow
}

func takeSnapshot(t *testing.T, db *testDB) snapshot {
	t.Helper()
	var s snapshot
	s.accounts, s.keys = balances(t, db)
	if err := db.queryRow(`SELECT count(*) FROM generations`).Scan(&s.generations); err != nil {
		t.Fatal(err)
	}
	if err := db.queryRow(`SELECT count(*) FROM ledger_entries`).Scan(&s.ledger); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.rollups, err = db.Usage(context.Background(), store.UsageQuery{GroupBy: "key"}); err != nil {
		t.Fatal(err)
	}
	return s
}

func testWriteBatchTwiceChangesNothing(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	ctx := context.Background()
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var b store.Batch
	// 70: two whole INSERT groups (genGroup) and a remainder.
	for i := range 70 {
		g := gen(fmt.Sprintf("gen-%d", i), f.keyDaily, acctPrepaid, "m", "p", at(int64(i)), 10, 20, money.Nanos(100+i))
		b.Generations = append(b.Generations, g)
		b.Charges = append(b.Charges, charge(g, &day))
	}
	if err := db.WriteBatch(ctx, &b); err != nil {
		t.Fatal(err)
	}
	first := takeSnapshot(t, db)
	if first.generations != 70 || first.rollups[0].Requests != 70 {
		t.Fatalf("after the first write: %+v", first)
	}
	if err := db.WriteBatch(ctx, &b); err != nil {
		t.Fatalf("second WriteBatch: %v", err)
	}
	if second := takeSnapshot(t, db); !reflect.DeepEqual(second, first) {
		t.Errorf("the second write changed\n%+v\ninto\n%+v", first, second)
	}

	// A retried batch that also holds new records applies only those.
	extra := gen("gen-new", f.keyDaily, acctPrepaid, "m", "p", at(99), 1, 2, 1000)
	b.Generations = append(b.Generations, extra)
	b.Charges = append(b.Charges, charge(extra, &day))
	if err := db.WriteBatch(ctx, &b); err != nil {
		t.Fatal(err)
	}
	third := takeSnapshot(t, db)
	if third.generations != 71 || third.ledger != first.ledger+1 || third.rollups[0].Requests != 71 ||
		third.accounts[acctPrepaid].Spent != first.accounts[acctPrepaid].Spent+1000 ||
		third.keys[f.keyDaily].PeriodUsage != first.keys[f.keyDaily].PeriodUsage+1000 ||
		third.keys[f.keyDaily].TotalUsage != first.keys[f.keyDaily].TotalUsage+1000 {
		t.Errorf("after a retry with one new record:\n%+v\nwas\n%+v", third, first)
	}
	// A charge whose generation is stored already is applied once too.
	if err := db.WriteBatch(ctx, &store.Batch{Charges: b.Charges}); err != nil {
		t.Fatal(err)
	}
	if fourth := takeSnapshot(t, db); !reflect.DeepEqual(fourth, third) {
		t.Errorf("charges alone, again, changed\n%+v\ninto\n%+v", third, fourth)
	}
	checkLedgerSumsToBalances(t, db)
}

func testWriteBatchIsAllOrNothing(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	ctx := context.Background()
	ok := gen("gen-ok", f.keyA, acctPrepaid, "m", "p", at(1), 1, 1, 10)
	tests := []struct {
		name  string
		batch store.Batch
	}{
		{name: "generation of an unknown key", batch: store.Batch{
			Generations: []store.Generation{ok, gen("gen-bad", hashOf("sk-sy-unknown"), acctPrepaid, "m", "p", at(2), 1, 1, 10)},
			Charges:     []store.Charge{charge(ok, nil)},
		}},
		{name: "generation of an unknown account", batch: store.Batch{
			Generations: []store.Generation{ok, gen("gen-bad", f.keyA, "acct-none", "m", "p", at(2), 1, 1, 10)},
			Charges:     []store.Charge{charge(ok, nil)},
		}},
		{name: "charge of an unknown key", batch: store.Batch{
			Generations: []store.Generation{ok},
			Charges:     []store.Charge{charge(ok, nil), {GenerationID: "gen-x", AccountID: acctPrepaid, KeyHash: hashOf("sk-sy-unknown"), Amount: 1}},
		}},
		{name: "charge of an unknown account", batch: store.Batch{
			Generations: []store.Generation{ok},
			Charges:     []store.Charge{charge(ok, nil), {GenerationID: "gen-x", AccountID: "acct-none", KeyHash: f.keyA, Amount: 1}},
		}},
		{name: "generation without id", batch: store.Batch{
			Generations: []store.Generation{ok, {KeyHash: f.keyA, AccountID: acctPrepaid, Model: "m"}},
		}},
		{name: "charge without generation id", batch: store.Batch{
			Generations: []store.Generation{ok},
			Charges:     []store.Charge{{AccountID: acctPrepaid, KeyHash: f.keyA, Amount: 1}},
		}},
		{name: "charge of nothing", batch: store.Batch{
			Generations: []store.Generation{ok},
			Charges:     []store.Charge{{GenerationID: ok.ID, AccountID: acctPrepaid, KeyHash: f.keyA, Amount: 0}},
		}},
	}
	before := takeSnapshot(t, db)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.WriteBatch(ctx, &tt.batch); err == nil {
				t.Fatal("WriteBatch succeeded")
			}
			if after := takeSnapshot(t, db); !reflect.DeepEqual(after, before) {
				t.Errorf("a failed batch changed\n%+v\ninto\n%+v", before, after)
			}
		})
	}
}

func testWriteBatchOfEmptyBatch(t *testing.T, h *Harness) {
	db := h.open(t)
	if err := db.WriteBatch(context.Background(), &store.Batch{}); err != nil {
		t.Fatal(err)
	}
}

func testUsageGroupsAndFilters(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	ctx := context.Background()
	d1 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	d3 := d1.AddDate(0, 0, 2)
	gens := []store.Generation{
		gen("g1", f.keyA, acctPrepaid, "gpt", "openai", d1.Add(time.Hour), 10, 1, 100),
		gen("g2", f.keyA, acctPrepaid, "gpt", "openai", d1.Add(23*time.Hour+59*time.Minute), 20, 2, 200),
		gen("g3", f.keyDaily, acctPrepaid, "claude", "anthropic", d2, 30, 3, 300),
		gen("g4", f.keyB, acctUnmetered, "gpt", "azure", d2.Add(time.Hour), 40, 4, 400),
		gen("g5", f.keyB, acctUnmetered, "claude", "anthropic", d3.Add(time.Minute), 50, 5, 500),
	}
	// Split over batches: rollups of one key accumulate across them.
	for _, part := range [][]store.Generation{gens[:2], gens[2:4], gens[4:]} {
		b := store.Batch{Generations: part}
		for _, g := range part {
			b.Charges = append(b.Charges, charge(g, nil))
		}
		if err := db.WriteBatch(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	row := func(group string, requests, prompt, completion int64, cost money.Nanos) store.UsageRow {
		return store.UsageRow{Group: group, Requests: requests, TokensPrompt: prompt, TokensCompletion: completion, Cost: cost}
	}
	byKey := []store.UsageRow{
		row(f.keyA, 2, 30, 3, 300), row(f.keyB, 2, 90, 9, 900), row(f.keyDaily, 1, 30, 3, 300),
	}
	// Ordered by key hash.
	if byKey[0].Group > byKey[1].Group {
		byKey[0], byKey[1] = byKey[1], byKey[0]
	}
	if byKey[1].Group > byKey[2].Group {
		byKey[1], byKey[2] = byKey[2], byKey[1]
	}
	if byKey[0].Group > byKey[1].Group {
		byKey[0], byKey[1] = byKey[1], byKey[0]
	}
	tests := []struct {
		name string
		q    store.UsageQuery
		want []store.UsageRow
	}{
		{name: "by day", q: store.UsageQuery{GroupBy: "day"}, want: []store.UsageRow{
			row("2025-03-01", 2, 30, 3, 300), row("2025-03-02", 2, 70, 7, 700), row("2025-03-03", 1, 50, 5, 500),
		}},
		{name: "empty group_by is by day", q: store.UsageQuery{}, want: []store.UsageRow{
			row("2025-03-01", 2, 30, 3, 300), row("2025-03-02", 2, 70, 7, 700), row("2025-03-03", 1, 50, 5, 500),
		}},
		{name: "by model", q: store.UsageQuery{GroupBy: "model"}, want: []store.UsageRow{
			row("claude", 2, 80, 8, 800), row("gpt", 3, 70, 7, 700),
		}},
		{name: "by provider", q: store.UsageQuery{GroupBy: "provider"}, want: []store.UsageRow{
			row("anthropic", 2, 80, 8, 800), row("azure", 1, 40, 4, 400), row("openai", 2, 30, 3, 300),
		}},
		{name: "by key", q: store.UsageQuery{GroupBy: "key"}, want: byKey},
		{name: "one account", q: store.UsageQuery{GroupBy: "model", AccountID: acctUnmetered}, want: []store.UsageRow{
			row("claude", 1, 50, 5, 500), row("gpt", 1, 40, 4, 400),
		}},
		{name: "from a day", q: store.UsageQuery{GroupBy: "day", From: d2}, want: []store.UsageRow{
			row("2025-03-02", 2, 70, 7, 700), row("2025-03-03", 1, 50, 5, 500),
		}},
		{name: "to a day, exclusive", q: store.UsageQuery{GroupBy: "day", To: d2}, want: []store.UsageRow{
			row("2025-03-01", 2, 30, 3, 300),
		}},
		{name: "from and to within a day truncate to it", q: store.UsageQuery{GroupBy: "provider", From: d2.Add(5 * time.Hour), To: d3.Add(time.Hour)}, want: []store.UsageRow{
			row("anthropic", 1, 30, 3, 300), row("azure", 1, 40, 4, 400),
		}},
		{name: "account and dates", q: store.UsageQuery{GroupBy: "key", AccountID: acctPrepaid, From: d2, To: d3}, want: []store.UsageRow{
			row(f.keyDaily, 1, 30, 3, 300),
		}},
		{name: "nothing matches", q: store.UsageQuery{GroupBy: "day", AccountID: "acct-none"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Usage(ctx, tt.q)
			if err != nil {
				t.Fatalf("Usage: %v", err)
			}
			for i := range got { // errors and latency: usage.go's test
				got[i].Errors, got[i].Latency, got[i].TTFT = 0, nil, nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Usage(%+v) =\n%+v\nwant\n%+v", tt.q, got, tt.want)
			}
		})
	}
	if _, err := db.Usage(ctx, store.UsageQuery{GroupBy: "hour"}); err == nil {
		t.Error("Usage with an unknown group_by succeeded")
	}
}

func testPruneGenerationsKeepsRollupsAndLedger(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	ctx := context.Background()
	db.setPruneChunk(4)
	var b store.Batch
	// Several chunks before the cutoff, the last one partial.
	const old, recent = 4*3 + 2, 3
	for i := range old + recent {
		created := at(int64(i) * int64(time.Second))
		g := gen(fmt.Sprintf("gen-%d", i), f.keyA, acctPrepaid, "m", "p", created, 1, 1, 10)
		b.Generations = append(b.Generations, g)
		b.Charges = append(b.Charges, charge(g, nil))
	}
	if err := db.WriteBatch(ctx, &b); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, db)
	n, err := db.PruneGenerations(ctx, at(int64(old)*int64(time.Second)))
	if err != nil {
		t.Fatalf("PruneGenerations: %v", err)
	}
	if n != old {
		t.Errorf("PruneGenerations = %d, want %d", n, old)
	}
	after := takeSnapshot(t, db)
	if after.generations != recent {
		t.Errorf("%d generations left, want %d", after.generations, recent)
	}
	after.generations = before.generations
	if !reflect.DeepEqual(after, before) {
		t.Errorf("pruning changed more than generations:\n%+v\ninto\n%+v", before, after)
	}
	if _, err := db.GetGeneration(ctx, "gen-0"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pruned generation: %v, want ErrNotFound", err)
	}
	if _, err := db.GetGeneration(ctx, fmt.Sprintf("gen-%d", old)); err != nil {
		t.Errorf("kept generation: %v", err)
	}
	// A pruned generation written again (a very late retry) is not
	// charged again.
	if err := db.WriteBatch(ctx, &store.Batch{Charges: b.Charges[:1]}); err != nil {
		t.Fatal(err)
	}
	if a, _ := balances(t, db); a[acctPrepaid].Spent != before.accounts[acctPrepaid].Spent {
		t.Errorf("spent %d after recharging a pruned generation, want %d", a[acctPrepaid].Spent, before.accounts[acctPrepaid].Spent)
	}
	if n, err := db.PruneGenerations(ctx, store.MaxTime.Add(time.Hour)); err != nil || n != recent {
		t.Errorf("PruneGenerations(after every time) = %d, %v; want %d", n, err, recent)
	}
	if n, err := db.PruneGenerations(ctx, time.Time{}); err != nil || n != 0 {
		t.Errorf("PruneGenerations(zero time) = %d, %v; want 0", n, err)
	}
}

func testWriteBatchOf5000(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	ctx := context.Background()
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	keys := []string{f.keyA, f.keyDaily}
	var b store.Batch
	var sum money.Nanos
	for i := range 5000 {
		g := gen(fmt.Sprintf("gen-%05d", i), keys[i%2], acctPrepaid, fmt.Sprintf("model-%d", i%7), "p",
			at(int64(i)*int64(time.Second)), 500, 200, money.Nanos(1000+i))
		g.RequestID = fmt.Sprintf("req-%05d", i)
		g.Attempts = `[{"provider":"p","status":200}]`
		g.Latency, g.TimeToFirst, g.GenerationTime = time.Second, 200*time.Millisecond, 800*time.Millisecond
		b.Generations = append(b.Generations, g)
		var period *time.Time
		if g.KeyHash == f.keyDaily {
			period = &day
		}
		b.Charges = append(b.Charges, charge(g, period))
		sum += g.Cost
	}
	start := time.Now()
	if err := db.WriteBatch(ctx, &b); err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	start = time.Now()
	if err := db.WriteBatch(ctx, &b); err != nil {
		t.Fatal(err)
	}
	t.Logf("WriteBatch of 5000 generations and charges: %v; the same batch again (all skipped): %v", first, time.Since(start))
	if a, _ := balances(t, db); a[acctPrepaid].Spent != sum {
		t.Errorf("spent %d, want %d", a[acctPrepaid].Spent, sum)
	}
}

func testConcurrentWriteBatchAndTopUpStayConsistent(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	ctx := context.Background()
	const (
		writers, batches, perBatch = 4, 20, 25
		toppers, topUps            = 3, 20
		topUpAmount                = money.Nanos(1_000)
	)
	keys := []struct{ hash, account string }{{f.keyA, acctPrepaid}, {f.keyDaily, acctPrepaid}, {f.keyB, acctUnmetered}}
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		charged = map[string]money.Nanos{}
		errs    = make(chan error, writers*batches+toppers*topUps)
	)
	for w := range writers {
		wg.Go(func() {
			for i := range batches {
				var b store.Batch
				local := map[string]money.Nanos{}
				for j := range perBatch {
					k := keys[(w+i+j)%len(keys)]
					g := gen(fmt.Sprintf("gen-%d-%d-%d", w, i, j), k.hash, k.account, "m", "p", at(int64(i)), 1, 1, money.Nanos(1+w*1000+i*10+j))
					b.Generations = append(b.Generations, g)
					var period *time.Time
					if k.hash == f.keyDaily {
						period = &day
					}
					b.Charges = append(b.Charges, charge(g, period))
					local[k.account] += g.Cost
				}
				// Every other batch is written twice, as a retry would.
				for range 1 + i%2 {
					if err := db.WriteBatch(ctx, &b); err != nil {
						errs <- err
						return
					}
				}
				mu.Lock()
				for a, n := range local {
					charged[a] += n
				}
				mu.Unlock()
			}
		})
	}
	for range toppers {
		wg.Go(func() {
			for range topUps {
				if _, err := db.TopUp(ctx, acctPrepaid, topUpAmount, "concurrent", time.Time{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	accounts, keyUsage := balances(t, db)
	for _, id := range []string{acctPrepaid, acctUnmetered} {
		if accounts[id].Spent != charged[id] {
			t.Errorf("account %s spent %d, sum of its charges %d", id, accounts[id].Spent, charged[id])
		}
	}
	if want := 100*money.PerDollar + toppers*topUps*topUpAmount; *accounts[acctPrepaid].Credits != want {
		t.Errorf("credits %d, want %d", *accounts[acctPrepaid].Credits, want)
	}
	var keyTotal money.Nanos
	for _, k := range keyUsage {
		keyTotal += k.TotalUsage
	}
	if keyTotal != charged[acctPrepaid]+charged[acctUnmetered] {
		t.Errorf("keys' total usage %d, sum of charges %d", keyTotal, charged[acctPrepaid]+charged[acctUnmetered])
	}
	var gens, sumCost int64
	if err := db.queryRow(`SELECT count(*), sum(cost_nanos) FROM generations`).Scan(&gens, &sumCost); err != nil {
		t.Fatal(err)
	}
	if gens != writers*batches*perBatch || money.Nanos(sumCost) != keyTotal {
		t.Errorf("%d generations costing %d; want %d costing %d", gens, sumCost, writers*batches*perBatch, keyTotal)
	}
	checkLedgerSumsToBalances(t, db)
}
