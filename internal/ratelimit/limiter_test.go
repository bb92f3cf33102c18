package ratelimit_test

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/ratelimit/ratelimittest"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// backends runs f against a memory limiter and a Redis one (each on its
// own clock), checking afterwards that the Redis one never fell back to
// memory: a Redis test that passed on the fallback would prove nothing.
func backends(t *testing.T, f func(t *testing.T, l *ratelimit.Limiter, clk *clock)) {
	t.Run("memory", func(t *testing.T) {
		clk := newClock()
		f(t, ratelimit.New(ratelimit.Options{Now: clk.Now}), clk)
	})
	t.Run("redis", func(t *testing.T) {
		url, prefix := ratelimittest.Redis(t)
		r, err := ratelimit.NewRedis(url, prefix)
		if err != nil {
			t.Fatal(err)
		}
		clk := newClock()
		l := ratelimit.New(ratelimit.Options{Now: clk.Now, Redis: r})
		t.Cleanup(func() { _ = l.Close() })
		f(t, l, clk)
		if !l.Healthy() {
			t.Fatal("the limiter fell back from Redis to memory during the test")
		}
	})
}

func subjects(subs ...ratelimit.Subject) ratelimit.Subjects {
	var s ratelimit.Subjects
	for _, sub := range subs {
		s.Add(sub)
	}
	return s
}

func key(id string, l ratelimit.Limits) ratelimit.Subject {
	return ratelimit.Subject{ID: "k:" + id, Scope: ratelimit.ScopeKey, Limits: l}
}

func account(id string, l ratelimit.Limits) ratelimit.Subject {
	return ratelimit.Subject{ID: "a:" + id, Scope: ratelimit.ScopeAccount, Limits: l}
}

// near reports whether d is within 1ms of want (Redis computes in
// microsecond floats).
func near(d, want time.Duration) bool { return d > want-time.Millisecond && d < want+time.Millisecond }

var ctx = context.Background()

func TestRequestsPerMinuteAdmitsTheLimitThenRefusesUntilOneIntervalPasses(t *testing.T) {
	backends(t, func(t *testing.T, l *ratelimit.Limiter, clk *clock) {
		s := subjects(key("rpm", ratelimit.Limits{RPM: 3}))
		for i := range 3 {
			d, p := l.Take(ctx, s, 0)
			if !d.Allowed || p == nil {
				t.Fatalf("request %d refused: %+v", i+1, d)
			}
			if d.Requests.Limit != 3 || d.Requests.Remaining != int64(2-i) {
				t.Errorf("request %d: requests status %+v, want limit 3 remaining %d", i+1, d.Requests, 2-i)
			}
			p.Settle(0)
		}
		d, p := l.Take(ctx, s, 0)
		if d.Allowed || p != nil {
			t.Fatalf("fourth request admitted: %+v", d)
		}
		if d.Limit != ratelimit.LimitRequests || d.Scope != ratelimit.ScopeKey || d.LimitValue != 3 {
			t.Errorf("refused by %s/%s/%d, want requests/key/3", d.Limit, d.Scope, d.LimitValue)
		}
		if !near(d.RetryAfter, 20*time.Second) {
			t.Errorf("RetryAfter = %v, want 20s (one request every 20s)", d.RetryAfter)
		}
		if d.Requests.Remaining != 0 || !near(d.Requests.Reset, time.Minute) {
			t.Errorf("requests status %+v, want 0 remaining, reset in 1m", d.Requests)
		}
		clk.Advance(20 * time.Second)
		if d, _ := l.Take(ctx, s, 0); !d.Allowed {
			t.Fatalf("refused after the interval: %+v", d)
		}
		if d, _ := l.Take(ctx, s, 0); d.Allowed {
			t.Fatal("a second request passed after only one interval")
		}
	})
}

func TestTokensAreReservedThenCorrectedAtSettle(t *testing.T) {
	backends(t, func(t *testing.T, l *ratelimit.Limiter, clk *clock) {
		s := subjects(key("tpm", ratelimit.Limits{TPM: 1000}))
		d, p := l.Take(ctx, s, 600)
		if !d.Allowed || d.Tokens.Limit != 1000 || d.Tokens.Remaining != 400 {
			t.Fatalf("first: %+v, want allowed with 400 tokens left", d)
		}
		if d.Requests.Limit != 0 {
			t.Errorf("requests status %+v for a key without rpm", d.Requests)
		}
		d2, _ := l.Take(ctx, s, 600)
		if d2.Allowed || d2.Limit != ratelimit.LimitTokens || !near(d2.RetryAfter, 12*time.Second) {
			t.Fatalf("second: %+v, want refused on tokens, retry after 12s (200 tokens at 60ms each)", d2)
		}
		p.Settle(100) // used 100 of the 600 reserved: 500 come back
		p.Settle(900) // a second settle is ignored
		d3, p3 := l.Take(ctx, s, 600)
		if !d3.Allowed || d3.Tokens.Remaining != 300 {
			t.Fatalf("after the refund: %+v, want allowed with 300 left", d3)
		}
		p3.Settle(800) // 200 more than reserved: charged
		if d, _ := l.Take(ctx, s, 200); d.Allowed {
			t.Fatalf("extra charge not applied: %+v", d)
		} else if d.Tokens.Remaining != 100 {
			t.Errorf("remaining %d, want 100", d.Tokens.Remaining)
		}
		clk.Advance(time.Minute)
		if d, _ := l.Take(ctx, s, 1000); !d.Allowed {
			t.Fatalf("a minute later the whole allowance is back, got %+v", d)
		}
	})
}

func TestARequestLargerThanTheTokenLimitPassesOnlyWithAFullBucket(t *testing.T) {
	backends(t, func(t *testing.T, l *ratelimit.Limiter, clk *clock) {
		s := subjects(key("big", ratelimit.Limits{TPM: 1000}))
		d, p := l.Take(ctx, s, 5000)
		if !d.Allowed || d.Tokens.Remaining != 0 {
			t.Fatalf("oversized request on a full bucket: %+v, want allowed, nothing left", d)
		}
		p.Settle(5000) // the real use is charged, up to two minutes' worth more
		clk.Advance(time.Minute)
		if d, _ := l.Take(ctx, s, 1); d.Allowed {
			t.Fatalf("passed while the oversized request's debt is still due: %+v", d)
		}
		clk.Advance(2 * time.Minute)
		if d, _ := l.Take(ctx, s, 1); !d.Allowed {
			t.Fatalf("refused three minutes later: %+v", d)
		}
	})
}

func TestConcurrencyIsReleasedOnceBySettle(t *testing.T) {
	backends(t, func(t *testing.T, l *ratelimit.Limiter, clk *clock) {
		s := subjects(key("conc", ratelimit.Limits{Concurrency: 2}))
		_, p1 := l.Take(ctx, s, 10)
		_, p2 := l.Take(ctx, s, 10)
		if p1 == nil || p2 == nil {
			t.Fatal("two requests in flight refused under a limit of 2")
		}
		d, p3 := l.Take(ctx, s, 10)
		if d.Allowed || p3 != nil || d.Limit != ratelimit.LimitConcurrency || d.RetryAfter != time.Second {
			t.Fatalf("third in flight: %+v, want refused on concurrency with retry 1s", d)
		}
		p1.Settle(10)
		p1.Settle(10) // must not free a second slot
		if _, p := l.Take(ctx, s, 10); p == nil {
			t.Fatal("refused after a release")
		}
		if d, _ := l.Take(ctx, s, 10); d.Allowed {
			t.Fatal("a double settle freed two slots")
		}
		var nilPermit *ratelimit.Permit
		nilPermit.Settle(1) // no-op
	})
}

func TestARefusalByTheKeyConsumesNothingOfTheAccount(t *testing.T) {
	backends(t, func(t *testing.T, l *ratelimit.Limiter, clk *clock) {
		acct := account("team", ratelimit.Limits{RPM: 2, Concurrency: 2})
		a := subjects(key("a", ratelimit.Limits{RPM: 1}), acct)
		b := subjects(key("b", ratelimit.Limits{}), acct)
		if d, _ := l.Take(ctx, a, 0); !d.Allowed {
			t.Fatalf("first request of key a: %+v", d)
		}
		for range 3 {
			if d, _ := l.Take(ctx, a, 0); d.Allowed || d.Scope != ratelimit.ScopeKey {
				t.Fatalf("key a over its own limit: %+v, want refused by the key", d)
			}
		}
		d, p := l.Take(ctx, b, 0)
		if !d.Allowed {
			t.Fatalf("key b refused: the key's refusals consumed the account: %+v", d)
		}
		if d.Requests.Remaining != 0 || d.Requests.Limit != 2 {
			t.Errorf("key b sees %+v, want the account's 2/0", d.Requests)
		}
		if d, _ := l.Take(ctx, b, 0); d.Allowed || d.Scope != ratelimit.ScopeAccount {
			t.Fatalf("account over its limit: %+v, want refused by the account", d)
		}
		p.Settle(0)
	})
}

func TestKeyAndAccountLimitsComeFromTheKeyAndTheAccountTable(t *testing.T) {
	l := ratelimit.New(ratelimit.Options{})
	k := &store.Key{Hash: "h", AccountID: "acct-1", RateLimits: &store.RateLimits{RPM: 5}}
	if s := l.For(k); !s.Limited() {
		t.Fatal("a key with rpm is not limited")
	}
	if s := l.For(&store.Key{Hash: "x", AccountID: "acct-1"}); s.Limited() {
		t.Fatal("a key without limits in an account without limits is limited")
	}
	l.SyncAccounts([]store.Account{{ID: "acct-1", RateLimits: &store.RateLimits{TPM: 7}}})
	if got := l.Account("acct-1"); got == nil || got.TPM != 7 {
		t.Fatalf("account limits %+v", got)
	}
	if s := l.For(&store.Key{Hash: "x", AccountID: "acct-1"}); !s.Limited() {
		t.Fatal("a key of a limited account is not limited")
	}
	if s := l.For(&store.Key{Hash: "x", AccountID: "acct-1"}).RequestsOnly(); s.Limited() {
		t.Fatal("RequestsOnly kept an account that limits only tokens")
	}
	l.SetAccount("acct-1", &store.RateLimits{})
	if l.Account("acct-1") != nil {
		t.Fatal("zero limits were kept")
	}
}

// countingHandler counts log records by level.
type countingHandler struct {
	mu     sync.Mutex
	errors int
	infos  int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Level >= slog.LevelError {
		h.errors++
	} else {
		h.infos++
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func TestUnreachableRedisFallsBackToLocalLimitsAndLogsOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // a closed port: connections are refused
	r, err := ratelimit.NewRedis("redis://"+addr+"/0", "sytest:down:")
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	h := &countingHandler{}
	l := ratelimit.New(ratelimit.Options{Now: clk.Now, Redis: r, Log: slog.New(h)})
	defer l.Close()
	if !l.Healthy() {
		t.Fatal("unhealthy before any call")
	}
	s := subjects(key("down", ratelimit.Limits{RPM: 2, Concurrency: 1}))
	d, p := l.Take(ctx, s, 0)
	if !d.Allowed {
		t.Fatalf("first request: %+v", d)
	}
	if l.Healthy() {
		t.Fatal("still healthy after Redis failed")
	}
	if d, _ := l.Take(ctx, s, 0); d.Allowed || d.Limit != ratelimit.LimitConcurrency {
		t.Fatalf("local concurrency limit not enforced: %+v", d)
	}
	p.Settle(0)
	clk.Advance(2 * time.Second) // past the retry interval: Redis is tried (and fails) again
	if d, p := l.Take(ctx, s, 0); !d.Allowed {
		t.Fatalf("second request: %+v", d)
	} else {
		p.Settle(0)
	}
	if d, _ := l.Take(ctx, s, 0); d.Allowed || d.Limit != ratelimit.LimitRequests {
		t.Fatalf("local rpm not enforced: %+v", d)
	}
	if h.errors != 1 {
		t.Errorf("%d error logs, want one for the transition", h.errors)
	}
}

// TestFallbackCountsFromAfterTheFailedRedisCall: a request that falls back
// to local limits after a slow Redis failure is counted at the time it
// reaches them, not the time it started. Counted at its start, it would be
// refused behind requests that fell back sooner (TestMultiInstance saw a
// burst admit 9 of an rpm of 10 on an instance whose Redis had just died).
func TestFallbackCountsFromAfterTheFailedRedisCall(t *testing.T) {
	// A Redis that accepts connections and never answers: each call fails
	// at the client's timeout. got receives a signal when a call arrives.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 16)
	var conns sync.WaitGroup
	defer conns.Wait()
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					select {
					case got <- struct{}{}:
					default:
					}
				}
			})
		}
	}()
	r, err := ratelimit.NewRedis("redis://"+ln.Addr().String()+"/0", "sytest:slow:")
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	l := ratelimit.New(ratelimit.Options{Now: clk.Now, Redis: r})
	defer l.Close()
	s := subjects(key("slow", ratelimit.Limits{RPM: 1}))
	if d, _ := l.Take(ctx, s, 0); !d.Allowed { // the minute's one request, counted locally
		t.Fatalf("first request: %+v", d)
	}
	for len(got) > 0 {
		<-got
	}
	// 59s on, the next request starts (and tries Redis again); the minute
	// runs out while it waits for Redis.
	clk.Advance(59 * time.Second)
	done := make(chan ratelimit.Decision)
	go func() {
		d, p := l.Take(ctx, s, 0)
		p.Settle(0)
		done <- d
	}()
	select {
	case <-got:
	case d := <-done:
		t.Fatalf("the request did not try Redis: %+v", d)
	}
	clk.Advance(2 * time.Second)
	if d := <-done; !d.Allowed {
		t.Fatalf("a request that fell back 61s after the minute's first was refused: %+v", d)
	}
}
