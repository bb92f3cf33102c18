package billing

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time       { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) set(t time.Time)      { c.t.Store(t.UnixNano()) }
func newClock(t time.Time) *clock     { c := &clock{}; c.set(t); return c }
func nanos(usd string) money.Nanos    { n, _ := money.ParseUSD(usd); return n }
func ptr(n money.Nanos) *money.Nanos  { return &n }
func est(amount money.Nanos) Estimate { return Estimate{Amount: amount} }
func isQuota(err error) bool          { e, ok := err.(*llm.Error); return ok && e.Status == 402 }

func TestKeyLimitHoldsUnderConcurrency(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	a := NewAccountant(clk.now, []store.AccountBalance{{ID: "acct"}}, nil)
	limit := nanos("1")
	k := &store.Key{Hash: "k", Label: "sk-sy-ab…cd", AccountID: "acct", Limit: &limit}
	// 100 concurrent requests, each reserving $0.05 and costing $0.04: at
	// most 20 reservations fit, and the spend can never pass the limit.
	var wg sync.WaitGroup
	var ok, refused atomic.Int64
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := a.Reserve(k, est(nanos("0.05")))
			if err != nil {
				if !isQuota(err) {
					t.Errorf("err = %v", err)
				}
				refused.Add(1)
				return
			}
			ok.Add(1)
			time.Sleep(time.Millisecond)
			r.Settle(nanos("0.04"), "g")
		}()
	}
	wg.Wait()
	st := a.Key(k)
	if st.TotalUsage > limit || st.Reserved != 0 {
		t.Fatalf("spent %s of a %s limit, %s still reserved", st.TotalUsage, limit, st.Reserved)
	}
	if ok.Load() < 20 || ok.Load()+refused.Load() != 100 {
		t.Fatalf("ok %d refused %d", ok.Load(), refused.Load())
	}
}

func TestAccountCreditsHoldUnderConcurrencyAcrossKeys(t *testing.T) {
	clk := newClock(time.Now())
	a := NewAccountant(clk.now, []store.AccountBalance{{ID: "acct", Credits: ptr(nanos("0.5"))}}, nil)
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		k := &store.Key{Hash: string(rune('a' + i%26)), AccountID: "acct"}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := a.Reserve(k, est(nanos("0.01"))); err == nil {
				r.Settle(nanos("0.012"), "g") // each overruns its reservation a little
			}
		}()
	}
	wg.Wait()
	st := a.Account("acct")
	// Never below zero by more than one request's settled overrun.
	if bal := *st.Credits - st.Spent; bal < -nanos("0.012") || st.Reserved != 0 {
		t.Fatalf("balance %s, reserved %s", bal, st.Reserved)
	}
}

func TestQuotaMessageSaysWhichLimitAndAffordableTokens(t *testing.T) {
	a := NewAccountant(time.Now, []store.AccountBalance{{ID: "acct", Credits: ptr(nanos("0.001"))}, {ID: "other"}}, nil)
	k := &store.Key{Hash: "k", Label: "sk-sy-ab…cd", AccountID: "acct"}
	e := Estimate{Amount: nanos("0.05"), PromptCost: nanos("0.0001"), PerMOutput: nanos("10"), PromptTokens: 40, MaxTokens: 4096}
	_, err := a.Reserve(k, e)
	if !isQuota(err) {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	// $0.0009 left after the prompt at $10/M output = 90 tokens.
	for _, want := range []string{"account acct", "$0.001 of credits left", "90 output tokens", "max_tokens"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	limit := nanos("0")
	k2 := &store.Key{Hash: "k2", Label: "sk-sy-xy…zz", AccountID: "other", Limit: &limit, LimitReset: "daily"}
	if _, err := a.Reserve(k2, est(1)); !isQuota(err) || !strings.Contains(err.Error(), "key sk-sy-xy…zz") || !strings.Contains(err.Error(), "resets daily") {
		t.Fatalf("key limit message: %v", err)
	}
}

func TestLimitResets(t *testing.T) {
	tests := []struct {
		reset string
		next  time.Time // first instant of the next period
	}{
		{"daily", time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)},
		{"weekly", time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}, // 2026-11-22 is a Sunday; Monday starts the week
		{"monthly", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.reset, func(t *testing.T) {
			clk := newClock(time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC))
			a := NewAccountant(clk.now, []store.AccountBalance{{ID: "a"}}, nil)
			limit := nanos("1")
			k := &store.Key{Hash: "k", AccountID: "a", Limit: &limit, LimitReset: tt.reset}
			r, err := a.Reserve(k, est(nanos("1")))
			if err != nil {
				t.Fatal(err)
			}
			c := r.Settle(nanos("1"), "g1")
			if c == nil || c.KeyPeriodStart == nil {
				t.Fatalf("charge = %+v", c)
			}
			clk.set(tt.next.Add(-time.Nanosecond))
			if _, err := a.Reserve(k, est(1)); !isQuota(err) {
				t.Fatalf("limit spent, but reserve before the reset gave %v", err)
			}
			clk.set(tt.next)
			if _, err := a.Reserve(k, est(nanos("1"))); err != nil {
				t.Fatalf("after the reset: %v", err)
			}
			if got := a.Key(k); got.TotalUsage != nanos("1") || got.PeriodUsage != 0 {
				t.Fatalf("after reset: %+v", got)
			}
		})
	}
}

func TestSettleIsExactlyOnce(t *testing.T) {
	a := NewAccountant(time.Now, []store.AccountBalance{{ID: "acct", Credits: ptr(nanos("1"))}}, nil)
	k := &store.Key{Hash: "k", AccountID: "acct"}
	r, _ := a.Reserve(k, est(nanos("0.5")))
	if c := r.Settle(nanos("0.2"), "g"); c == nil || c.Amount != nanos("0.2") || c.KeyPeriodStart != nil {
		t.Fatalf("charge = %+v", c)
	}
	r.Release()
	if c := r.Settle(nanos("0.2"), "g"); c != nil {
		t.Fatal("second settle charged again")
	}
	st := a.Account("acct")
	if st.Spent != nanos("0.2") || st.Reserved != 0 {
		t.Fatalf("account = %+v", st)
	}
	var nilRes *Reservation
	if nilRes.Settle(5, "x") != nil {
		t.Fatal("nil reservation charged")
	}
}

func TestUnmeteredAccountNeverRefuses(t *testing.T) {
	a := NewAccountant(time.Now, []store.AccountBalance{{ID: store.DefaultAccountID}}, nil)
	k := &store.Key{Hash: "k", AccountID: store.DefaultAccountID}
	r, err := a.Reserve(k, est(nanos("1000")))
	if err != nil {
		t.Fatal(err)
	}
	r.Settle(nanos("3"), "g")
	if st := a.Account(store.DefaultAccountID); st.Spent != nanos("3") || st.Credits != nil {
		t.Fatalf("unmetered account = %+v", st)
	}
}

func TestUnseenAccountFailsClosedUntilSynced(t *testing.T) {
	a := NewAccountant(time.Now, nil, nil)
	k := &store.Key{Hash: "k", AccountID: "acct-new"}
	if _, err := a.Reserve(k, est(1)); !isQuota(err) {
		t.Fatalf("an account this process has not seen must not spend freely: %v", err)
	}
	a.SyncAccounts([]store.Account{{ID: "acct-new", Credits: ptr(nanos("1"))}})
	if _, err := a.Reserve(k, est(1)); err != nil {
		t.Fatalf("after sync: %v", err)
	}
	a.SyncAccounts([]store.Account{{ID: "acct-new"}}) // switched to unmetered
	if _, err := a.Reserve(k, est(nanos("5"))); err != nil {
		t.Fatalf("unmetered after sync: %v", err)
	}
}

// While the ledger cannot record charges, metered keys and accounts are
// refused with 503 ledger_unavailable; unmetered ones go on.
func TestFailClosedRefusesOnlyMeteredRequests(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	a := NewAccountant(clk.now, []store.AccountBalance{{ID: "paid", Credits: ptr(nanos("10"))}, {ID: "team"}}, nil)
	var blocked atomic.Bool
	a.FailClosed(blocked.Load)
	limit := nanos("5")
	paid := &store.Key{Hash: "a", AccountID: "paid"}
	limited := &store.Key{Hash: "b", AccountID: "team", Limit: &limit}
	free := &store.Key{Hash: "c", AccountID: "team"}
	for _, k := range []*store.Key{paid, limited, free} {
		r, err := a.Reserve(k, est(nanos("0.01")))
		if err != nil {
			t.Fatalf("%s before the outage: %v", k.Hash, err)
		}
		r.Release()
	}
	blocked.Store(true)
	for _, k := range []*store.Key{paid, limited} {
		_, err := a.Reserve(k, est(nanos("0.01")))
		e, ok := err.(*llm.Error)
		if !ok || e.Status != 503 || e.Code != "ledger_unavailable" || e.RetryAfter == "" {
			t.Fatalf("metered key %s while blocked: %v, want 503 ledger_unavailable with Retry-After", k.Hash, err)
		}
	}
	if r, err := a.Reserve(free, est(nanos("0.01"))); err != nil {
		t.Fatalf("unmetered key while blocked: %v", err)
	} else {
		r.Release()
	}
	blocked.Store(false)
	if _, err := a.Reserve(paid, est(nanos("0.01"))); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}
