package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func testRateLimitsOfKeysAndAccountsAreStoredUpdatedAndCleared(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	ac := &store.Account{ID: "acct-rl", Name: "limited", RateLimits: &store.RateLimits{RPM: 60, TPM: 100000, Concurrency: 4}}
	if err := db.CreateAccount(ctx, ac); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetAccount(ctx, ac.ID)
	if err != nil || !reflect.DeepEqual(got.RateLimits, ac.RateLimits) {
		t.Fatalf("GetAccount rate limits = %+v, %v; want %+v", got.RateLimits, err, ac.RateLimits)
	}
	ac.RateLimits = &store.RateLimits{TPM: 5}
	if err := db.UpdateAccount(ctx, ac); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.ID == ac.ID && !reflect.DeepEqual(a.RateLimits, &store.RateLimits{TPM: 5}) {
			t.Errorf("after update: %+v", a.RateLimits)
		}
		if a.ID == store.DefaultAccountID && a.RateLimits != nil {
			t.Errorf("default account has rate limits %+v, want none", a.RateLimits)
		}
	}

	k := newKey("sk-sy-ratelimited")
	k.AccountID = ac.ID
	k.RateLimits = &store.RateLimits{RPM: 1, Concurrency: 2}
	if err := db.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	gk, err := db.GetKey(ctx, k.Hash)
	if err != nil || !reflect.DeepEqual(gk.RateLimits, &store.RateLimits{RPM: 1, Concurrency: 2}) {
		t.Fatalf("GetKey rate limits = %+v, %v", gk.RateLimits, err)
	}
	k.RateLimits = nil
	if err := db.UpdateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	keys, err := db.KeysChangedSince(ctx, at(0))
	if err != nil || len(keys) != 1 || keys[0].RateLimits != nil {
		t.Fatalf("after clearing: %+v, %v", keys, err)
	}
	k.RateLimits = &store.RateLimits{RPM: -1}
	if err := db.UpdateKey(ctx, k); err == nil {
		t.Error("a negative rpm was stored")
	}
	if err := db.CreateAccount(ctx, &store.Account{ID: "acct-neg", RateLimits: &store.RateLimits{TPM: -5}}); err == nil {
		t.Error("an account with a negative tpm was stored")
	}
}
