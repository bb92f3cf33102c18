package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// credits is db's store.Credits.
func credits(t testing.TB, db *testDB) store.Credits {
	t.Helper()
	c, ok := db.DB.(store.Credits)
	if !ok {
		t.Fatalf("%T does not implement store.Credits", db.DB)
	}
	return c
}

func testLedgerListsNewestFirstByCursor(t *testing.T, h *Harness) {
	db := h.open(t)
	cr := credits(t, db)
	ctx := context.Background()
	for _, a := range []*store.Account{
		{ID: "acct-a", Name: "a", Credits: nanos(1), CreatedAt: at(0)},
		{ID: "acct-b", Name: "b", Credits: nanos(1), CreatedAt: at(0)},
	} {
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// Top-ups at 10, 20, 20, 20, 30 (three at one instant, as a batch's
	// charges often are), and one of account b in between.
	want := []string{"initial credits"}
	for i, ts := range []int64{10, 20, 20, 20, 30} {
		memo := fmt.Sprintf("top-up %d", i)
		if _, err := db.TopUp(ctx, "acct-a", money.Nanos(i+1), memo, at(ts)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TopUp(ctx, "acct-b", 7, "other account", at(ts)); err != nil {
			t.Fatal(err)
		}
		want = append(want, memo)
	}
	// Newest first: 4, then 3, 2, 1 (same instant, later id first), 0, initial.
	want = []string{want[5], want[4], want[3], want[2], want[1], want[0]}
	var (
		got    []string
		before *store.LedgerCursor
		pages  int
	)
	for {
		page, err := cr.ListLedger(ctx, "acct-a", before, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range page {
			if e.AccountID != "acct-a" {
				t.Fatalf("entry of another account: %+v", e)
			}
			got = append(got, e.Memo)
		}
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		before = &store.LedgerCursor{At: last.CreatedAt, ID: last.ID}
		if pages > 10 {
			t.Fatal("the cursor does not advance")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages of 2 listed %q, want %q", got, want)
	}
	first, err := cr.ListLedger(ctx, "acct-a", nil, 1)
	if err != nil || len(first) != 1 {
		t.Fatal(first, err)
	}
	e := first[0]
	if e.Kind != store.EntryTopUp || e.Amount != 5 || !e.CreatedAt.Equal(at(30)) || e.CreatedAt.Location() != time.UTC || e.KeyHash != "" || e.GenerationID != "" {
		t.Errorf("newest entry %+v", e)
	}
	if none, err := cr.ListLedger(ctx, "acct-none", nil, 10); err != nil || len(none) != 0 {
		t.Errorf("unknown account: %v %v", none, err)
	}
}

// redeemBatch is a batch of n codes "<id>-0", "<id>-1", … worth value.
func redeemBatch(id string, n int, value money.Nanos, expires *time.Time) (*store.RedeemBatch, []string) {
	b := &store.RedeemBatch{ID: id, Memo: "promo " + id, Value: value, ExpiresAt: expires}
	var codes []string
	for i := range n {
		code := fmt.Sprintf("%s-%d", id, i)
		codes = append(codes, code)
		b.Codes = append(b.Codes, store.RedeemCode{Hash: hashOf(code), Label: fmt.Sprintf("label-%d", i)})
	}
	return b, codes
}

func testRedeemBatchesAreListedAndVoided(t *testing.T, h *Harness) {
	db := h.open(t)
	cr := credits(t, db)
	ctx := context.Background()
	exp := at(1000)
	b1, _ := redeemBatch("rcb-1", 3, 2*money.PerDollar, &exp)
	b1.CreatedAt = at(1)
	b2, codes2 := redeemBatch("rcb-2", 2, 1, nil)
	b2.CreatedAt = at(2)
	for _, b := range []*store.RedeemBatch{b1, b2} {
		if err := cr.CreateRedeemBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	dup, _ := redeemBatch("rcb-3", 1, 1, nil)
	dup.Codes[0].Hash = hashOf(codes2[0])
	if err := cr.CreateRedeemBatch(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a code hash twice: %v, want ErrConflict", err)
	}
	if err := cr.CreateRedeemBatch(ctx, &store.RedeemBatch{ID: "rcb-4", Value: 0, Codes: dup.Codes}); err == nil {
		t.Error("a batch worth $0 was stored")
	}
	list, err := cr.ListRedeemBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "rcb-2" || list[1].ID != "rcb-1" {
		t.Fatalf("batches %+v, want rcb-2 then rcb-1 (the failed ones absent)", list)
	}
	got := list[1]
	if got.Memo != "promo rcb-1" || got.Value != 2*money.PerDollar || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) ||
		!got.CreatedAt.Equal(at(1)) || len(got.Codes) != 3 {
		t.Fatalf("batch as listed: %+v", got)
	}
	for _, c := range got.Codes {
		if c.BatchID != "rcb-1" || c.RedeemedAt != nil || c.VoidedAt != nil || c.RedeemedBy != "" || len(c.Hash) != 64 {
			t.Errorf("new code %+v", c)
		}
	}
	if list[0].ExpiresAt != nil {
		t.Errorf("a batch without expiry lists %v", list[0].ExpiresAt)
	}

	// Void one code, then its batch: the batch voids the two left.
	if n, err := cr.VoidRedeemCodes(ctx, got.Codes[0].Hash, at(5)); err != nil || n != 1 {
		t.Fatalf("void a code: %d %v", n, err)
	}
	if n, err := cr.VoidRedeemCodes(ctx, "rcb-1", at(6)); err != nil || n != 2 {
		t.Fatalf("void the batch: %d %v", n, err)
	}
	if n, err := cr.VoidRedeemCodes(ctx, "rcb-1", at(7)); err != nil || n != 0 {
		t.Fatalf("void the batch again: %d %v", n, err)
	}
	if _, err := cr.VoidRedeemCodes(ctx, "rcb-none", at(7)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("void an unknown batch: %v", err)
	}
	list, err = cr.ListRedeemBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list[1].Codes {
		want := at(6)
		if c.Hash == got.Codes[0].Hash {
			want = at(5)
		}
		if c.VoidedAt == nil || !c.VoidedAt.Equal(want) {
			t.Errorf("code %s voided at %v, want %v", c.Label, c.VoidedAt, want)
		}
	}
	for _, c := range list[0].Codes {
		if c.VoidedAt != nil {
			t.Errorf("a code of another batch was voided: %+v", c)
		}
	}
}

func testRedeemCreditsOnceUnderConcurrency(t *testing.T, h *Harness) {
	db := h.open(t)
	cr := credits(t, db)
	ctx := context.Background()
	const racers = 8
	for i := range racers {
		if err := db.CreateAccount(ctx, &store.Account{ID: fmt.Sprintf("acct-%d", i), Name: "racer", Credits: nanos(0)}); err != nil {
			t.Fatal(err)
		}
	}
	one, codes := redeemBatch("rcb-one", 1, 3*money.PerDollar, nil)
	many, manyCodes := redeemBatch("rcb-many", racers, money.PerDollar/4, nil)
	for _, b := range []*store.RedeemBatch{one, many} {
		if err := cr.CreateRedeemBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
	}

	// Eight accounts race for one code: one wins, the others are told it
	// is redeemed. Meanwhile eight other codes are redeemed into acct-0.
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		wins   []string
		others []error
	)
	start := make(chan struct{})
	for i := range racers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			acct := fmt.Sprintf("acct-%d", i)
			_, b, err := cr.Redeem(ctx, hashOf(codes[0]), acct, at(10))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				if b.ID != "rcb-one" || b.Value != 3*money.PerDollar || b.Memo != "promo rcb-one" {
					others = append(others, fmt.Errorf("batch %+v", b))
				}
				wins = append(wins, acct)
			case !errors.Is(err, store.ErrCodeRedeemed):
				others = append(others, err)
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			if _, _, err := cr.Redeem(ctx, hashOf(manyCodes[i]), "acct-0", at(10)); err != nil {
				mu.Lock()
				others = append(others, err)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(wins) != 1 || len(others) != 0 {
		t.Fatalf("%d racers redeemed one code (%v); unexpected errors %v", len(wins), wins, others)
	}
	winner := wins[0]
	for i := range racers {
		acct := fmt.Sprintf("acct-%d", i)
		a, err := db.GetAccount(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		var want money.Nanos
		if acct == winner {
			want += 3 * money.PerDollar
		}
		if acct == "acct-0" {
			want += racers * money.PerDollar / 4
		}
		if a.Credits == nil || *a.Credits != want {
			t.Errorf("%s has credits %v, want %s", acct, a.Credits, want)
		}
		entries, err := cr.ListLedger(ctx, acct, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		var sum money.Nanos
		for _, e := range entries {
			if e.Kind != store.EntryRedeem {
				t.Errorf("%s: entry %+v", acct, e)
			}
			sum += e.Amount
		}
		if sum != want {
			t.Errorf("%s: redeem entries sum to %s, want %s", acct, sum, want)
		}
	}
	list, err := cr.ListRedeemBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		for _, c := range b.Codes {
			if c.RedeemedAt == nil || !c.RedeemedAt.Equal(at(10)) || c.RedeemedBy == "" {
				t.Errorf("code %s of %s after the race: %+v", c.Label, b.ID, c)
			}
			if b.ID == "rcb-one" && c.RedeemedBy != winner {
				t.Errorf("the code records %s as redeemer, the winner was %s", c.RedeemedBy, winner)
			}
		}
	}
}

func testRedeemRefusesExpiredVoidedUnknownAndUnmetered(t *testing.T, h *Harness) {
	db := h.open(t)
	cr := credits(t, db)
	ctx := context.Background()
	for _, a := range []*store.Account{{ID: "acct-p", Name: "prepaid", Credits: nanos(0)}, {ID: "acct-u", Name: "unmetered"}} {
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	exp := at(100)
	b, codes := redeemBatch("rcb-x", 4, 5, &exp)
	if err := cr.CreateRedeemBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := cr.VoidRedeemCodes(ctx, hashOf(codes[1]), at(1)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, code, acct string
		when             int64
		want             error
	}{
		{"expired at its expiry", codes[0], "acct-p", 100, store.ErrCodeExpired},
		{"voided", codes[1], "acct-p", 2, store.ErrCodeVoided},
		{"unknown code", "sy-rc-guess", "acct-p", 2, store.ErrNotFound},
		{"unmetered account", codes[2], "acct-u", 2, store.ErrUnmetered},
		{"unknown account", codes[2], "acct-none", 2, store.ErrNotFound},
	} {
		if _, _, err := cr.Redeem(ctx, hashOf(c.code), c.acct, at(c.when)); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Refusals change nothing: codes[2] is still good, a moment before expiry.
	a, _, err := cr.Redeem(ctx, hashOf(codes[2]), "acct-p", at(99))
	if err != nil || a.Credits == nil || *a.Credits != 5 {
		t.Fatalf("redeem just before expiry: %+v %v", a, err)
	}
	if _, _, err := cr.Redeem(ctx, hashOf(codes[2]), "acct-p", at(99)); !errors.Is(err, store.ErrCodeRedeemed) {
		t.Errorf("redeemed twice: %v", err)
	}
	if u, err := db.GetAccount(ctx, "acct-u"); err != nil || u.Credits != nil {
		t.Errorf("the unmetered account after its refusal: %+v %v", u, err)
	}
	entries, err := cr.ListLedger(ctx, "acct-p", nil, 10)
	if err != nil || len(entries) != 1 || entries[0].Kind != store.EntryRedeem || entries[0].Memo != "promo rcb-x" || entries[0].Amount != 5 {
		t.Errorf("ledger of acct-p: %+v %v", entries, err)
	}
}
