package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// listIDs lists q's generations and returns their ids.
func listIDs(t *testing.T, db *testDB, q store.GenerationQuery) []string {
	t.Helper()
	gs, err := db.ListGenerations(context.Background(), q)
	if err != nil {
		t.Fatalf("ListGenerations(%+v): %v", q, err)
	}
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}

// testListGenerationsNewestFirstInPages: pages of 3 over 10 generations,
// some made in the same nanosecond, walk every one exactly once, newest
// first, ties broken by id descending.
func testListGenerationsNewestFirstInPages(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	var b store.Batch
	for i := range 10 {
		// Times 0,0,1,1,2,2,…: each pair shares a nanosecond.
		b.Generations = append(b.Generations, gen(fmt.Sprintf("gen-%02d", i), f.keyA, acctPrepaid, "m", "p", at(int64(i/2)), 1, 1, 0))
	}
	b.Generations[7].Attempts = `[{"provider":"a","outcome":"error","status":503},{"provider":"b","outcome":"ok","status":200}]`
	if err := db.WriteBatch(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	want := []string{"gen-09", "gen-08", "gen-07", "gen-06", "gen-05", "gen-04", "gen-03", "gen-02", "gen-01", "gen-00"}
	var got []string
	q := store.GenerationQuery{Limit: 3}
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatalf("more pages than generations: %v", got)
		}
		gs, err := db.ListGenerations(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) > 3 {
			t.Fatalf("page of %d, limit 3", len(gs))
		}
		for _, g := range gs {
			got = append(got, g.ID)
			if g.ID == "gen-07" && g.Attempts != b.Generations[7].Attempts {
				t.Errorf("attempts listed as %s", g.Attempts)
			}
			if !g.CreatedAt.Equal(at(int64(7/2))) && g.ID == "gen-07" {
				t.Errorf("gen-07 created at %v", g.CreatedAt)
			}
		}
		if len(gs) < 3 {
			break
		}
		last := gs[len(gs)-1]
		q.After = &store.GenerationCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged through %v, want %v", got, want)
	}
	if _, err := db.ListGenerations(context.Background(), store.GenerationQuery{}); err == nil {
		t.Error("a listing without a limit was not refused")
	}
}

// testListGenerationsFilters: each filter, and two together, select
// exactly the generations that match.
func testListGenerationsFilters(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	g := func(id, key, model, provider string, n int64, status int, code, title, origin string) store.Generation {
		x := gen(id, key, acctPrepaid, model, provider, at(n), 1, 1, 0)
		x.Status, x.ErrorCode, x.AppTitle, x.Origin = status, code, title, origin
		return x
	}
	b := store.Batch{Generations: []store.Generation{
		g("gen-1", f.keyA, "gpt-4o", "openai", 1, 200, "", "MyApp", "https://myapp.example"),
		g("gen-2", f.keyA, "claude", "anthropic", 2, 429, "rate_limited", "", ""),
		g("gen-3", f.keyDaily, "gpt-4o", "azure", 3, 502, "upstream_error", "Other", ""),
		g("gen-4", f.keyDaily, "gpt-4o", "openai", 4, 499, "cancelled", "", "https://myapp.example"),
		g("gen-5", f.keyA, "gpt-4o", "openai", 5, 200, "", "", ""),
	}}
	if err := db.WriteBatch(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		q    store.GenerationQuery
		want []string
	}{
		{name: "all", q: store.GenerationQuery{}, want: []string{"gen-5", "gen-4", "gen-3", "gen-2", "gen-1"}},
		{name: "key", q: store.GenerationQuery{KeyHash: f.keyDaily}, want: []string{"gen-4", "gen-3"}},
		{name: "model", q: store.GenerationQuery{Model: "claude"}, want: []string{"gen-2"}},
		{name: "provider", q: store.GenerationQuery{Provider: "openai"}, want: []string{"gen-5", "gen-4", "gen-1"}},
		{name: "ok", q: store.GenerationQuery{Outcome: store.OutcomeOK}, want: []string{"gen-5", "gen-1"}},
		{name: "error", q: store.GenerationQuery{Outcome: store.OutcomeError}, want: []string{"gen-4", "gen-3", "gen-2"}},
		{name: "status", q: store.GenerationQuery{Status: 429}, want: []string{"gen-2"}},
		{name: "error code", q: store.GenerationQuery{ErrorCode: "upstream_error"}, want: []string{"gen-3"}},
		{name: "app by title", q: store.GenerationQuery{App: "MyApp"}, want: []string{"gen-1"}},
		{name: "app by referer", q: store.GenerationQuery{App: "https://myapp.example"}, want: []string{"gen-4", "gen-1"}},
		{name: "from inclusive, to exclusive", q: store.GenerationQuery{From: at(2), To: at(4)}, want: []string{"gen-3", "gen-2"}},
		{name: "key and model", q: store.GenerationQuery{KeyHash: f.keyA, Model: "gpt-4o"}, want: []string{"gen-5", "gen-1"}},
		{name: "key and model after a cursor", q: store.GenerationQuery{KeyHash: f.keyA, Model: "gpt-4o", After: &store.GenerationCursor{CreatedAt: at(5), ID: "gen-5"}}, want: []string{"gen-1"}},
		{name: "nothing matches", q: store.GenerationQuery{Model: "gpt-4o", Provider: "anthropic"}, want: []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Limit = 50
			if got := listIDs(t, db, tt.q); !slices.Equal(got, tt.want) {
				t.Errorf("listed %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := db.ListGenerations(context.Background(), store.GenerationQuery{Outcome: "maybe", Limit: 1}); err == nil {
		t.Error("an unknown outcome was not refused")
	}
}

// testListGenerationsOfAnAccountOnly: an account's listing holds its
// generations and no other account's, whatever the other filters.
func testListGenerationsOfAnAccountOnly(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	b := store.Batch{Generations: []store.Generation{
		gen("gen-a1", f.keyA, acctPrepaid, "m", "p", at(1), 1, 1, 0),
		gen("gen-b1", f.keyB, acctUnmetered, "m", "p", at(2), 1, 1, 0),
		gen("gen-a2", f.keyDaily, acctPrepaid, "m", "p", at(3), 1, 1, 0),
		gen("gen-b2", f.keyB, acctUnmetered, "m", "p", at(4), 1, 1, 0),
	}}
	if err := db.WriteBatch(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if got := listIDs(t, db, store.GenerationQuery{AccountID: acctPrepaid, Limit: 10}); !slices.Equal(got, []string{"gen-a2", "gen-a1"}) {
		t.Errorf("account %s listed %v", acctPrepaid, got)
	}
	if got := listIDs(t, db, store.GenerationQuery{AccountID: acctUnmetered, Limit: 1}); !slices.Equal(got, []string{"gen-b2"}) {
		t.Errorf("account %s, limit 1, listed %v", acctUnmetered, got)
	}
	if got := listIDs(t, db, store.GenerationQuery{AccountID: acctPrepaid, ExcludeKeys: []string{f.keyDaily, f.keyB}, Limit: 10}); !slices.Equal(got, []string{"gen-a1"}) {
		t.Errorf("account %s without key daily listed %v", acctPrepaid, got)
	}
	// Another account's key under this account: nothing.
	if got := listIDs(t, db, store.GenerationQuery{AccountID: acctPrepaid, KeyHash: f.keyB, Limit: 10}); len(got) != 0 {
		t.Errorf("account %s with key B listed %v", acctPrepaid, got)
	}
}
