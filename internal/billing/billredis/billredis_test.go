package billredis_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-gw/switchyard/internal/billing"
	"github.com/switchyard-gw/switchyard/internal/billing/billredis"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/testenv"
)

func usd(s string) money.Nanos { n, _ := money.ParseUSD(s); return n }

// instances are n accountants (gateway instances) that loaded the same
// balances, sharing one Redis under one prefix when shared is true.
func instances(t *testing.T, n int, shared bool, accounts []store.AccountBalance) []*billing.Accountant {
	var st *billredis.Store
	if shared {
		st = billredis.New(testenv.Redis(t), testenv.Prefix(), nil)
	}
	out := make([]*billing.Accountant, n)
	for i := range out {
		out[i] = billing.NewAccountant(time.Now, accounts, nil)
		if shared {
			out[i].ShareWith(st, nil)
		}
	}
	return out
}

// spendConcurrently makes 100 requests spread over the instances, each
// reserving $0.05 and costing $0.04, and returns the total charged.
func spendConcurrently(t *testing.T, as []*billing.Accountant, k *store.Key) money.Nanos {
	var wg sync.WaitGroup
	var total atomic.Int64
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := as[i%len(as)].Reserve(k, billing.Estimate{Amount: usd("0.05")})
			if err != nil {
				if e, ok := err.(*llm.Error); !ok || e.Status != 402 {
					t.Errorf("reserve: %v", err)
				}
				return
			}
			if c := r.Settle(usd("0.04"), "gen"); c != nil {
				total.Add(int64(c.Amount))
			}
		}()
	}
	wg.Wait()
	return money.Nanos(total.Load())
}

// An account's credits hold across instances: three instances sharing
// Redis spend at most the $1 it has; without the shared store each
// instance would let it spend $1.
func TestAccountCreditsHoldAcrossInstances(t *testing.T) {
	credits := usd("1")
	accounts := []store.AccountBalance{{ID: "acct", Credits: &credits}}
	k := &store.Key{Hash: "k1", Label: "sk-sy-ab…cd", AccountID: "acct"}
	if got := spendConcurrently(t, instances(t, 3, true, accounts), k); got > credits {
		t.Fatalf("shared: spent $%s of $1 credits across instances", got)
	}
	// The control: the same traffic on unshared instances overspends,
	// which is what the shared store prevents.
	if got := spendConcurrently(t, instances(t, 3, false, accounts), k); got <= credits {
		t.Fatalf("unshared instances spent only $%s; the test no longer shows the problem", got)
	}
}

// A key's limit holds across instances, and what one instance spent is
// what the next hold on another instance sees.
func TestKeyLimitHoldsAcrossInstances(t *testing.T) {
	limit := usd("0.5")
	k := &store.Key{Hash: "k2", Label: "sk-sy-ef…gh", AccountID: store.DefaultAccountID, Limit: &limit, LimitReset: "daily"}
	as := instances(t, 2, true, []store.AccountBalance{{ID: store.DefaultAccountID}})
	got := spendConcurrently(t, as, k)
	// Then one instance alone, until it is refused: the total across
	// both never passes the limit.
	for i := 0; ; i++ {
		r, err := as[1].Reserve(k, billing.Estimate{Amount: usd("0.05")})
		if err != nil {
			if e, ok := err.(*llm.Error); !ok || e.Status != 402 {
				t.Fatalf("reserve: %v", err)
			}
			break
		}
		if i > 20 {
			t.Fatal("never refused")
		}
		got += r.Settle(usd("0.04"), "gen").Amount
	}
	if got > limit {
		t.Fatalf("spent $%s against a $0.5 limit across two instances", got)
	}
}

// A hold released with a smaller cost gives the rest back to every
// instance; an abandoned hold (its instance died) expires.
func TestHoldsReleaseAndExpire(t *testing.T) {
	rdb := testenv.Redis(t)
	now := time.Now()
	clock := func() time.Time { return now }
	st := billredis.New(rdb, testenv.Prefix(), func() time.Time { return clock() })
	credits := usd("1")
	h := &billing.Hold{ID: "h1", KeyHash: "k", AccountID: "a", Amount: usd("0.8"), Credits: &credits}
	ctx := context.Background()
	if ok, _, _, err := st.Hold(ctx, h); !ok || err != nil {
		t.Fatalf("first hold: %v %v", ok, err)
	}
	h2 := &billing.Hold{ID: "h2", KeyHash: "k", AccountID: "a", Amount: usd("0.5"), Credits: &credits}
	if ok, which, left, err := st.Hold(ctx, h2); ok || err != nil || which != "account" || left != usd("0.2") {
		t.Fatalf("second hold: ok %v which %q left %s err %v; want refused with $0.2 left", ok, which, left, err)
	}
	if err := st.Release(ctx, h, usd("0.1")); err != nil {
		t.Fatal(err)
	}
	if ok, _, _, err := st.Hold(ctx, h2); !ok || err != nil {
		t.Fatalf("after release: %v %v", ok, err)
	}
	// h2 is never released: past HoldTTL it is given back.
	h3 := &billing.Hold{ID: "h3", KeyHash: "k", AccountID: "a", Amount: usd("0.9"), Credits: &credits}
	if ok, _, _, _ := st.Hold(ctx, h3); ok {
		t.Fatal("$0.9 fit beside a live $0.5 hold and $0.1 spent")
	}
	now = now.Add(billredis.HoldTTL + time.Second)
	if ok, _, _, err := st.Hold(ctx, h3); !ok || err != nil {
		t.Fatalf("after the abandoned hold expired: %v %v", ok, err)
	}
}

// Redis unreachable: requests go on under local limits, and a down store
// costs one timeout a second, not one per request.
func TestUnreachableRedisDegradesToLocalLimits(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	credits := usd("1")
	a := billing.NewAccountant(time.Now, []store.AccountBalance{{ID: "acct", Credits: &credits}}, nil)
	a.ShareWith(billredis.New(rdb, testenv.Prefix(), nil), nil)
	k := &store.Key{Hash: "k3", Label: "sk-sy-ij…kl", AccountID: "acct"}
	start := time.Now()
	var spent money.Nanos
	for range 40 {
		r, err := a.Reserve(k, billing.Estimate{Amount: usd("0.05")})
		if err != nil {
			continue
		}
		if c := r.Settle(usd("0.04"), "gen"); c != nil {
			spent += c.Amount
		}
	}
	if !a.Degraded() {
		t.Fatal("not reported degraded")
	}
	if spent > credits || spent < usd("0.9") {
		t.Fatalf("spent $%s: local limits must still allow up to and no more than $1", spent)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("40 requests took %v with Redis down: the failing store is asked on every request", d)
	}
}

// BenchmarkReserveSettle is one metered request's credit path: local and
// shared (two scripts on Redis) against local only.
func BenchmarkReserveSettle(b *testing.B) {
	for _, shared := range []bool{false, true} {
		b.Run(map[bool]string{false: "local", true: "redis"}[shared], func(b *testing.B) {
			credits := usd("1000000")
			a := billing.NewAccountant(time.Now, []store.AccountBalance{{ID: "acct", Credits: &credits}}, nil)
			if shared {
				url := os.Getenv("SWITCHYARD_TEST_REDIS")
				if url == "" {
					b.Skip("SWITCHYARD_TEST_REDIS unset")
				}
				opt, _ := redis.ParseURL(url)
				rdb := redis.NewClient(opt)
				defer rdb.Close()
				a.ShareWith(billredis.New(rdb, testenv.Prefix(), nil), nil)
			}
			k := &store.Key{Hash: "kb", Label: "sk-sy-be…nc", AccountID: "acct"}
			b.ReportAllocs()
			for b.Loop() {
				r, err := a.Reserve(k, billing.Estimate{Amount: 1000})
				if err != nil {
					b.Fatal(err)
				}
				r.Settle(900, "gen")
			}
		})
	}
}
