package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

func nanos(n money.Nanos) *money.Nanos { return &n }

func testAccountCreateGetListUpdate(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	db.setClock(func() time.Time { return at(100) })
	prepaid := &store.Account{ID: "acct-prepaid", Name: "Prepaid team", Credits: nanos(5 * money.PerDollar), CreatedAt: at(10)}
	unmetered := &store.Account{ID: "acct-unmetered", Name: "Internal"}
	for _, a := range []*store.Account{prepaid, unmetered} {
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatalf("CreateAccount(%s): %v", a.ID, err)
		}
	}
	if !prepaid.CreatedAt.Equal(at(10)) || !prepaid.UpdatedAt.Equal(at(10)) {
		t.Errorf("prepaid times = %v, %v; want both %v", prepaid.CreatedAt, prepaid.UpdatedAt, at(10))
	}
	if !unmetered.CreatedAt.Equal(at(100)) || !unmetered.UpdatedAt.Equal(at(100)) {
		t.Errorf("unmetered times = %v, %v; want both now, %v", unmetered.CreatedAt, unmetered.UpdatedAt, at(100))
	}

	got, err := db.GetAccount(ctx, prepaid.ID)
	if err != nil {
		t.Fatalf("GetAccount: %v", err)
	}
	if !reflect.DeepEqual(got, prepaid) {
		t.Errorf("GetAccount = %+v, want %+v", got, prepaid)
	}
	got, err = db.GetAccount(ctx, unmetered.ID)
	if err != nil || got.Credits != nil {
		t.Errorf("GetAccount(unmetered) = %+v, %v; want nil credits", got, err)
	}

	list, err := db.ListAccounts(ctx)
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	var ids []string
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	// The default account is created by the migration, at the real time.
	if want := []string{"acct-prepaid", "acct-unmetered", store.DefaultAccountID}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ListAccounts ids = %v, want %v (oldest first)", ids, want)
	}

	db.setClock(func() time.Time { return at(200) })
	update := &store.Account{ID: prepaid.ID, Name: "Renamed", Credits: nil}
	if err := db.UpdateAccount(ctx, update); err != nil {
		t.Fatalf("UpdateAccount: %v", err)
	}
	if !update.CreatedAt.Equal(at(10)) || !update.UpdatedAt.Equal(at(200)) {
		t.Errorf("UpdateAccount times = %v, %v; want %v, %v", update.CreatedAt, update.UpdatedAt, at(10), at(200))
	}
	got, err = db.GetAccount(ctx, prepaid.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Renamed" || got.Credits != nil {
		t.Errorf("after update to unmetered = %+v", got)
	}
	update.Credits = nanos(3)
	if err := db.UpdateAccount(ctx, update); err != nil {
		t.Fatalf("UpdateAccount: %v", err)
	}
	if got, _ = db.GetAccount(ctx, prepaid.ID); got.Credits == nil || *got.Credits != 3 {
		t.Errorf("credits after update = %v, want 3", got.Credits)
	}
	checkLedgerSumsToBalances(t, db)
}

func testAccountErrors(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	if err := db.CreateAccount(ctx, &store.Account{ID: "acct-a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want error // nil: any error
	}{
		{name: "duplicate id", err: db.CreateAccount(ctx, &store.Account{ID: "acct-a", Name: "again"}), want: store.ErrConflict},
		{name: "duplicate of the default account", err: db.CreateAccount(ctx, &store.Account{ID: store.DefaultAccountID}), want: store.ErrConflict},
		{name: "empty id", err: db.CreateAccount(ctx, &store.Account{Name: "no id"})},
		{name: "negative credits", err: db.CreateAccount(ctx, &store.Account{ID: "acct-neg", Credits: nanos(-1)})},
		{name: "get unknown", err: func() error { _, err := db.GetAccount(ctx, "acct-none"); return err }(), want: store.ErrNotFound},
		{name: "update unknown", err: db.UpdateAccount(ctx, &store.Account{ID: "acct-none"}), want: store.ErrNotFound},
		{name: "top up unknown", err: func() error {
			_, err := db.TopUp(ctx, "acct-none", 1, "", time.Time{})
			return err
		}(), want: store.ErrNotFound},
		{name: "top up zero", err: func() error { _, err := db.TopUp(ctx, "acct-a", 0, "", time.Time{}); return err }()},
		{name: "top up negative", err: func() error { _, err := db.TopUp(ctx, "acct-a", -5, "", time.Time{}); return err }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(tt.err, tt.want) {
				t.Errorf("error %v, want %v", tt.err, tt.want)
			}
		})
	}
	if _, err := db.GetAccount(ctx, "acct-neg"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an account with negative credits was stored: %v", err)
	}
}

func testTopUp(t *testing.T, h *Harness) {
	tests := []struct {
		name        string
		credits     *money.Nanos
		amount      money.Nanos
		wantCredits money.Nanos
	}{
		{name: "prepaid account adds", credits: nanos(2 * money.PerDollar), amount: 500_000_000, wantCredits: 2_500_000_000},
		{name: "unmetered account becomes prepaid", credits: nil, amount: 750, wantCredits: 750},
		{name: "prepaid account at zero", credits: nanos(0), amount: 1, wantCredits: 1},
	}
	db := h.open(t)
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db.setClock(func() time.Time { return at(0) })
			a := &store.Account{ID: "acct-" + string(rune('a'+i)), Name: tt.name, Credits: tt.credits}
			if err := db.CreateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			got, err := db.TopUp(ctx, a.ID, tt.amount, "invoice 42", at(int64(time.Hour)))
			if err != nil {
				t.Fatalf("TopUp: %v", err)
			}
			if got.Credits == nil || *got.Credits != tt.wantCredits {
				t.Errorf("TopUp returned credits %v, want %s", got.Credits, tt.wantCredits)
			}
			if !got.UpdatedAt.Equal(at(int64(time.Hour))) || !got.CreatedAt.Equal(at(0)) || got.Name != tt.name {
				t.Errorf("TopUp returned %+v", got)
			}
			stored, err := db.GetAccount(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stored, got) {
				t.Errorf("stored %+v, TopUp returned %+v", stored, got)
			}
			var kind, memo string
			var amount, created int64
			err = db.queryRow(`SELECT kind, amount_nanos, memo, created_at FROM ledger_entries
				WHERE account_id = ? ORDER BY id DESC LIMIT 1`, a.ID).Scan(&kind, &amount, &memo, &created)
			if err != nil {
				t.Fatal(err)
			}
			if kind != "topup" || amount != int64(tt.amount) || memo != "invoice 42" || created != at(int64(time.Hour)).UnixNano() {
				t.Errorf("ledger entry = %s %d %q %d", kind, amount, memo, created)
			}
		})
	}
	checkLedgerSumsToBalances(t, db)
}

func testTopUpRefusesToOverflowCredits(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	if err := db.CreateAccount(ctx, &store.Account{ID: "acct-rich", Credits: nanos(1 << 62)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TopUp(ctx, "acct-rich", 1<<62, "", time.Time{}); !errors.Is(err, store.ErrCreditsOverflow) {
		t.Fatalf("TopUp past the largest amount = %v, want ErrCreditsOverflow", err)
	}
	if a, _ := db.GetAccount(ctx, "acct-rich"); *a.Credits != 1<<62 {
		t.Errorf("credits = %d after a refused top-up", *a.Credits)
	}
}

// checkLedgerSumsToBalances checks that each account's ledger entries sum to
// its credits (0 when unmetered) minus its spent credits.
func checkLedgerSumsToBalances(t *testing.T, db *testDB) {
	t.Helper()
	accounts, err := db.ListAccounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		var balance, ledger int64
		err := db.queryRow(`SELECT coalesce(a.credits_nanos, 0) - a.spent_nanos,
			coalesce((SELECT sum(amount_nanos) FROM ledger_entries e WHERE e.account_id = a.id), 0)
			FROM accounts a WHERE a.id = ?`, a.ID).Scan(&balance, &ledger)
		if err != nil {
			t.Fatal(err)
		}
		if balance != ledger {
			t.Errorf("account %s: credits - spent = %d, ledger sums to %d", a.ID, balance, ledger)
		}
	}
}
