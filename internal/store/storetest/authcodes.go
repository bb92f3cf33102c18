package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

func authCode(code string, created time.Time) *store.AuthCode {
	limit := money.Nanos(2_500_000_000)
	return &store.AuthCode{Hash: hashOf(code), AccountID: store.DefaultAccountID, Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		Method: "S256", CallbackURL: "https://app.example.com/cb?x=1", AppID: "app.example.com", Limit: &limit,
		GrantedBy: hashOf("sk-sy-granter"), CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute)}
}

func testAuthCodeIsTakenOnceUntilItExpires(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	want := authCode("code-1", at(0))
	if err := db.PutAuthCode(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := db.PutAuthCode(ctx, authCode("code-1", at(0))); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second Put of a hash = %v, want ErrConflict", err)
	}
	got, err := db.TakeAuthCode(ctx, want.Hash, at(int64(time.Minute)))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Take = %+v, %v; want %+v", got, err, want)
	}
	if _, err := db.TakeAuthCode(ctx, want.Hash, at(int64(time.Minute))); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second Take = %v, want ErrNotFound", err)
	}

	// No limit round-trips as nil; a code at its expiry instant is gone.
	open := authCode("code-2", at(0))
	open.Limit = nil
	if err := db.PutAuthCode(ctx, open); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TakeAuthCode(ctx, open.Hash, open.ExpiresAt); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Take at expiry = %v, want ErrNotFound", err)
	}
	if got, err := db.TakeAuthCode(ctx, open.Hash, open.ExpiresAt.Add(-1)); err != nil || got.Limit != nil {
		t.Fatalf("Take just before expiry = %+v, %v; want the code, no limit", got, err)
	}

	// Storing a code deletes the ones expired by then.
	old := authCode("code-3", at(0))
	if err := db.PutAuthCode(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := db.PutAuthCode(ctx, authCode("code-4", old.ExpiresAt)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.queryRow(`SELECT COUNT(*) FROM auth_codes WHERE hash = ?`, old.Hash).Scan(&n); err != nil || n != 0 {
		t.Fatalf("expired code rows after a new Put: %d, %v; want 0", n, err)
	}
	if err := db.queryRow(`SELECT COUNT(*) FROM auth_codes`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("code rows: %d, %v; want 1 (the new one)", n, err)
	}
}

func testConcurrentTakesOfAnAuthCodeHaveOneWinner(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	c := authCode("contested", at(0))
	if err := db.PutAuthCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	const takers = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
		errs []error
	)
	start := make(chan struct{})
	for range takers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := db.TakeAuthCode(ctx, c.Hash, at(1))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrNotFound):
				errs = append(errs, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins != 1 || len(errs) != 0 {
		t.Fatalf("%d of %d concurrent takes won (errors %v); want exactly 1", wins, takers, errs)
	}
}
