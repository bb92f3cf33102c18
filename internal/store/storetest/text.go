package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// dirty holds what PostgreSQL's text refuses: a NUL byte, a lone 0xff, a
// truncated two-byte sequence.
var dirty = []string{"a\x00b", "stop\xff", "https://app.example/\xc3"}

// A generation whose text a hostile client or upstream chose (a model
// written "gpt\u0000x", a raw 0xff in a finish_reason) is written with its
// batch and its charge on every backend, in the cleaned form: a refused
// batch would lose the other records with it, and the charge with it.
func testWriteBatchCleansTextTheDatabaseCannotHold(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	ctx := context.Background()
	bad := gen("gen-dirty", f.keyA, acctPrepaid, "gpt-4o\x00x", "openai", at(int64(time.Hour)), 10, 20, 3_000)
	bad.FinishReason, bad.Origin, bad.AppTitle, bad.RequestID = dirty[1], dirty[2], dirty[0], "req-\x00"
	good := gen("gen-clean", f.keyA, acctPrepaid, "gpt-4o", "openai", at(int64(time.Hour)+1), 1, 2, 5_000)
	b := &store.Batch{Generations: []store.Generation{bad, good}, Charges: []store.Charge{charge(bad, nil), charge(good, nil)}}
	if err := db.WriteBatch(ctx, b); err != nil {
		t.Fatalf("WriteBatch with NUL and invalid UTF-8 in a generation: %v", err)
	}
	got, err := db.GetGeneration(ctx, bad.ID)
	if err != nil {
		t.Fatalf("GetGeneration(%s): %v", bad.ID, err)
	}
	want := bad
	want.Model, want.FinishReason, want.Origin, want.AppTitle, want.RequestID = "gpt-4o\uFFFDx", "stop\uFFFD", "https://app.example/\uFFFD", "a\uFFFDb", "req-\uFFFD"
	if got.Model != want.Model || got.FinishReason != want.FinishReason || got.Origin != want.Origin ||
		got.AppTitle != want.AppTitle || got.RequestID != want.RequestID {
		t.Errorf("stored text = %q %q %q %q %q, want %q %q %q %q %q",
			got.Model, got.FinishReason, got.Origin, got.AppTitle, got.RequestID,
			want.Model, want.FinishReason, want.Origin, want.AppTitle, want.RequestID)
	}
	if _, err := db.GetGeneration(ctx, good.ID); err != nil {
		t.Errorf("the clean generation of the same batch: %v", err)
	}
	accounts, _ := balances(t, db)
	if s := accounts[acctPrepaid].Spent; s != 8_000 {
		t.Errorf("spent %d nanos, want 8000: both charges applied", s)
	}
}

// A lookup or a filter by text PostgreSQL refuses finds nothing, as on
// SQLite, instead of failing; a name holding it is stored (read back as
// given or with U+FFFD in place of each bad part: the backends differ
// there, and neither refuses it).
func testTextTheDatabaseCannotHoldFindsNothing(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	for _, s := range dirty {
		if _, err := db.GetGeneration(ctx, "gen-"+s); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetGeneration(%q) = %v, want ErrNotFound", "gen-"+s, err)
		}
		if _, err := db.GetAccount(ctx, s); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetAccount(%q) = %v, want ErrNotFound", s, err)
		}
		if _, err := db.GetResponse(ctx, store.DefaultAccountID, "resp_"+s); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetResponse(%q) = %v, want ErrNotFound", "resp_"+s, err)
		}
		if _, err := db.GetUser(ctx, s); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetUser(%q) = %v, want ErrNotFound", s, err)
		}
		gens, err := db.ListGenerations(ctx, store.GenerationQuery{Model: s, App: s, AccountID: s, Limit: 10})
		if err != nil || len(gens) != 0 {
			t.Errorf("ListGenerations(model %q) = %d, %v; want none, no error", s, len(gens), err)
		}
	}
	a := &store.Account{ID: "acct-named", Name: "name\x00with\xffbad bytes"}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatalf("CreateAccount(name %q): %v", a.Name, err)
	}
	got, err := db.GetAccount(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != a.Name && got.Name != store.CleanText(a.Name) {
		t.Errorf("name read back %q, want %q or %q", got.Name, a.Name, store.CleanText(a.Name))
	}
}
