package routing

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testRoute = "openai/gpt-4o"

// do sends one request on id and ends it with o; it fails the test if the
// route refuses.
func do(t *testing.T, h *Health, id string, o Outcome) {
	t.Helper()
	release, ok := h.Acquire(id)
	if !ok {
		t.Fatalf("Acquire(%q) refused, want ok", id)
	}
	release(o, 0, 0)
}

func state(t *testing.T, h *Health, id string) State {
	t.Helper()
	s, ok := h.Status(id)
	if !ok {
		t.Fatalf("Status(%q): unknown route", id)
	}
	return s.State
}

func TestHealthConfigDefaults(t *testing.T) {
	got := HealthConfig{}.withDefaults()
	want := HealthConfig{FailureThreshold: 5, ErrorRate: 0.5, Window: 20, MinSamples: 10, Cooldown: 30 * time.Second,
		MaxRoutes: 10000, AuthFailures: 3, AuthCooldown: 5 * time.Minute}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	if got := (HealthConfig{Window: 4, MinSamples: 10}).withDefaults().MinSamples; got != 4 {
		t.Errorf("MinSamples above Window = %d, want clamped to 4", got)
	}
}

func TestBreakerOpens(t *testing.T) {
	tests := []struct {
		name     string
		cfg      HealthConfig
		outcomes []Outcome
		want     State
	}{
		{
			name:     "consecutive failures reach the threshold",
			cfg:      HealthConfig{FailureThreshold: 3},
			outcomes: []Outcome{Success, Failure, Failure, Failure},
			want:     StateOpen,
		},
		{
			name:     "a success resets the consecutive count",
			cfg:      HealthConfig{FailureThreshold: 3},
			outcomes: []Outcome{Failure, Failure, Success, Failure, Failure},
			want:     StateClosed,
		},
		{
			name: "error rate over the window with enough samples",
			cfg:  HealthConfig{FailureThreshold: 100, ErrorRate: 0.5, Window: 10, MinSamples: 6},
			// Alternating: never two failures in a row; the 6th outcome
			// brings the window to 3 of 6 failed.
			outcomes: []Outcome{Failure, Success, Failure, Success, Failure, Success},
			want:     StateOpen,
		},
		{
			name:     "error rate below MinSamples does not open",
			cfg:      HealthConfig{FailureThreshold: 100, ErrorRate: 0.5, Window: 10, MinSamples: 6},
			outcomes: []Outcome{Failure, Success, Failure, Success, Failure},
			want:     StateClosed,
		},
		{
			name: "old failures slide out of the window",
			cfg:  HealthConfig{FailureThreshold: 100, ErrorRate: 0.5, Window: 4, MinSamples: 4},
			// The last 4 hold at most 1 failure until the final pair makes it
			// 2 of 4; counted since the start it would be 4 of 10 and stay shut.
			outcomes: []Outcome{Failure, Success, Success, Success, Failure, Success, Success, Success, Failure, Failure},
			want:     StateOpen,
		},
		{
			name:     "neutral outcomes count for nothing",
			cfg:      HealthConfig{FailureThreshold: 2, ErrorRate: 0.6, Window: 4, MinSamples: 2},
			outcomes: []Outcome{Failure, Neutral, Neutral, Neutral, Success, Neutral, Success, Success, Neutral},
			want:     StateClosed,
		},
		{
			name:     "neutral does not break a failure run",
			cfg:      HealthConfig{FailureThreshold: 2, ErrorRate: 2},
			outcomes: []Outcome{Failure, Neutral, Failure},
			want:     StateOpen,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			h := NewHealth(tt.cfg, clk.Now)
			for _, o := range tt.outcomes {
				do(t, h, testRoute, o)
			}
			if got := state(t, h, testRoute); got != tt.want {
				t.Errorf("state = %s, want %s", got, tt.want)
			}
			if got, want := h.Available(testRoute), tt.want == StateClosed; got != want {
				t.Errorf("Available = %v, want %v", got, want)
			}
		})
	}
}

func TestNeutralCountsNothing(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{}, clk.Now)
	for range 50 {
		do(t, h, testRoute, Neutral)
	}
	s, _ := h.Status(testRoute)
	if s.State != StateClosed || s.ErrorRate != 0 || s.Failures != 0 || s.InFlight != 0 {
		t.Errorf("after 50 neutral outcomes: %+v, want closed with no failures and nothing in flight", s)
	}
	if s.Requests != 50 {
		t.Errorf("Requests = %d, want 50 (neutral requests are still requests)", s.Requests)
	}
}

// openRoute drives a fresh route into the open state at the clock's time.
func openRoute(t *testing.T, h *Health, id string, threshold int) {
	t.Helper()
	for range threshold {
		do(t, h, id, Failure)
	}
	if got := state(t, h, id); got != StateOpen {
		t.Fatalf("state = %s after %d failures, want open", got, threshold)
	}
}

func TestCooldownLetsExactlyOneProbe(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{FailureThreshold: 2, Cooldown: 10 * time.Second}, clk.Now)
	openRoute(t, h, testRoute, 2)
	openedAt := clk.Now()

	clk.Advance(10*time.Second - time.Nanosecond)
	if _, ok := h.Acquire(testRoute); ok {
		t.Fatal("Acquire during cooldown succeeded, want refused")
	}
	clk.Advance(time.Nanosecond)
	if !h.Available(testRoute) {
		t.Fatal("Available after cooldown = false, want true")
	}
	s, _ := h.Status(testRoute)
	if s.State != StateHalfOpen || !s.Since.Equal(openedAt.Add(10*time.Second)) {
		t.Fatalf("after cooldown: state %s since %v, want half_open since %v", s.State, s.Since, openedAt.Add(10*time.Second))
	}

	probe, ok := h.Acquire(testRoute)
	if !ok {
		t.Fatal("first Acquire after cooldown refused, want the probe")
	}
	if _, ok := h.Acquire(testRoute); ok {
		t.Error("second Acquire while the probe is out succeeded, want refused")
	}
	if h.Available(testRoute) {
		t.Error("Available while the probe is out = true, want false")
	}
	if got := h.InFlight(testRoute); got != 1 {
		t.Errorf("InFlight = %d, want 1", got)
	}
	probe(Neutral, 0, 0)
	if got := state(t, h, testRoute); got != StateHalfOpen {
		t.Errorf("state after a neutral probe = %s, want still half_open", got)
	}
	if _, ok := h.Acquire(testRoute); !ok {
		t.Error("Acquire after a neutral probe refused, want a new probe")
	}
}

func TestProbeOutcome(t *testing.T) {
	tests := []struct {
		name      string
		outcome   Outcome
		wantState State
	}{
		{name: "success closes", outcome: Success, wantState: StateClosed},
		{name: "failure re-opens", outcome: Failure, wantState: StateOpen},
		{name: "auth failure disables", outcome: AuthFailure, wantState: StateDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			h := NewHealth(HealthConfig{FailureThreshold: 3, Cooldown: time.Minute, AuthFailures: 1}, clk.Now)
			openRoute(t, h, testRoute, 3)
			clk.Advance(time.Minute)
			probe, ok := h.Acquire(testRoute)
			if !ok {
				t.Fatal("probe refused")
			}
			clk.Advance(2 * time.Second)
			probe(tt.outcome, 0, 0)
			s, _ := h.Status(testRoute)
			if s.State != tt.wantState || !s.Since.Equal(clk.Now()) {
				t.Fatalf("state %s since %v, want %s since %v", s.State, s.Since, tt.wantState, clk.Now())
			}
			switch tt.wantState {
			case StateClosed:
				// Counters were reset: it takes the full threshold again.
				do(t, h, testRoute, Failure)
				do(t, h, testRoute, Failure)
				if got := state(t, h, testRoute); got != StateClosed {
					t.Errorf("2 failures after closing: state %s, want closed (counters reset)", got)
				}
				if s, _ := h.Status(testRoute); s.ErrorRate != 1 {
					t.Errorf("ErrorRate = %v, want 1 (window reset, then 2 of 2 failed)", s.ErrorRate)
				}
			case StateOpen:
				// A fresh cooldown from the probe's failure, not the first opening.
				clk.Advance(time.Minute - time.Nanosecond)
				if h.Available(testRoute) {
					t.Error("Available before the fresh cooldown ends = true, want false")
				}
				clk.Advance(time.Nanosecond)
				if !h.Available(testRoute) {
					t.Error("Available after the fresh cooldown = false, want true")
				}
			}
		})
	}
}

func TestAuthFailuresInARowDisableUntilEnable(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{Cooldown: time.Second, AuthCooldown: time.Hour}, clk.Now)
	if h.Enable(testRoute) {
		t.Error("Enable of an unknown route = true, want false")
	}
	// Two refusals, a success, two more: never three in a row.
	for _, o := range []Outcome{AuthFailure, AuthFailure, Success, AuthFailure, AuthFailure} {
		do(t, h, testRoute, o)
	}
	if got := state(t, h, testRoute); got != StateClosed {
		t.Fatalf("state = %s after refusals broken by a success, want closed", got)
	}
	do(t, h, testRoute, AuthFailure)
	if got := state(t, h, testRoute); got != StateDisabled {
		t.Fatalf("state = %s after 3 refusals in a row, want disabled", got)
	}
	clk.Advance(time.Hour - time.Nanosecond)
	if h.Available(testRoute) {
		t.Error("disabled route Available before AuthCooldown, want false")
	}
	if _, ok := h.Acquire(testRoute); ok {
		t.Error("Acquire on a disabled route succeeded")
	}
	if !h.Enable(testRoute) {
		t.Fatal("Enable = false, want true")
	}
	s, _ := h.Status(testRoute)
	if s.State != StateClosed || !s.Since.Equal(clk.Now()) {
		t.Errorf("after Enable: state %s since %v, want closed since %v", s.State, s.Since, clk.Now())
	}
	do(t, h, testRoute, Success)
}

func TestEnableClosesAnOpenRoute(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{FailureThreshold: 1, Cooldown: time.Hour}, clk.Now)
	openRoute(t, h, testRoute, 1)
	if !h.Enable(testRoute) || !h.Available(testRoute) {
		t.Error("Enable on an open route did not make it available")
	}
}

func TestDisabledRouteIsProbedAfterAuthCooldown(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{AuthFailures: 2, AuthCooldown: time.Minute}, clk.Now)
	do(t, h, testRoute, AuthFailure)
	do(t, h, testRoute, AuthFailure)
	if got := state(t, h, testRoute); got != StateDisabled {
		t.Fatalf("state = %s, want disabled", got)
	}
	// The probe is refused again: disabled for a fresh cooldown at once,
	// without needing the threshold again.
	clk.Advance(time.Minute)
	if got := state(t, h, testRoute); got != StateHalfOpen {
		t.Fatalf("state after AuthCooldown = %s, want half_open", got)
	}
	do(t, h, testRoute, AuthFailure)
	if got := state(t, h, testRoute); got != StateDisabled {
		t.Fatalf("state after a refused probe = %s, want disabled", got)
	}
	clk.Advance(time.Minute - time.Nanosecond)
	if h.Available(testRoute) {
		t.Fatal("Available before the fresh AuthCooldown ends")
	}
	// The credential was fixed: one probe, and the route is back.
	clk.Advance(time.Nanosecond)
	probe, ok := h.Acquire(testRoute)
	if !ok {
		t.Fatal("probe refused after AuthCooldown")
	}
	if _, ok := h.Acquire(testRoute); ok {
		t.Fatal("a second request went through while the probe was in flight")
	}
	probe(Success, 0, 0)
	if got := state(t, h, testRoute); got != StateClosed {
		t.Fatalf("state after a good probe = %s, want closed", got)
	}
	// Counters were reset: it takes the full streak again.
	do(t, h, testRoute, AuthFailure)
	if got := state(t, h, testRoute); got != StateClosed {
		t.Fatalf("state = %s after one refusal on a recovered route, want closed", got)
	}
}

func TestAuthFailureFromAStragglerStillDisables(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{FailureThreshold: 1, AuthFailures: 1}, clk.Now)
	slow, _ := h.Acquire(testRoute)
	do(t, h, testRoute, Failure) // opens
	slow(AuthFailure, 0, 0)
	if got := state(t, h, testRoute); got != StateDisabled {
		t.Errorf("state = %s, want disabled", got)
	}
}

func TestStragglerFromBeforeOpeningDoesNotMoveBreaker(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{FailureThreshold: 2, Cooldown: time.Second}, clk.Now)
	slow, _ := h.Acquire(testRoute)
	openRoute(t, h, testRoute, 2)
	clk.Advance(time.Second)
	do(t, h, testRoute, Success) // the probe closes the route
	slow(Failure, 0, 0)
	do(t, h, testRoute, Failure)
	if got := state(t, h, testRoute); got != StateClosed {
		t.Errorf("state = %s, want closed: the straggler's failure predates the recovery", got)
	}
	if s, _ := h.Status(testRoute); s.Failures != 4 || s.InFlight != 0 {
		t.Errorf("Failures = %d, InFlight = %d; want 4 (stragglers still count in totals) and 0", s.Failures, s.InFlight)
	}
}

func TestAvailableNeverClaims(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{FailureThreshold: 1, Cooldown: time.Second}, clk.Now)
	if !h.Available("never/seen") {
		t.Error("Available of an unknown route = false, want true")
	}
	if len(h.Snapshot()) != 0 {
		t.Error("Available created a route; it must not")
	}
	openRoute(t, h, testRoute, 1)
	clk.Advance(time.Second)
	for range 10 {
		if !h.Available(testRoute) {
			t.Fatal("Available on a half-open route with no probe = false, want true")
		}
	}
	if got := h.InFlight(testRoute); got != 0 {
		t.Errorf("InFlight after Available calls = %d, want 0", got)
	}
	if _, ok := h.Acquire(testRoute); !ok {
		t.Error("Acquire after Available refused: Available claimed the probe")
	}
}

func TestSecondReleaseIsANoOp(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{FailureThreshold: 2}, clk.Now)
	other, _ := h.Acquire(testRoute)
	release, _ := h.Acquire(testRoute)
	release(Failure, 0, 0)
	release(Failure, 0, 0) // would open the breaker if it counted
	release(Success, time.Second, time.Second)
	s, _ := h.Status(testRoute)
	if s.State != StateClosed || s.Failures != 1 || s.Requests != 1 || s.InFlight != 1 || s.TTFBEWMAMs != 0 {
		t.Errorf("after a double release: %+v, want closed, 1 failure, 1 request, 1 in flight, no EWMA", s)
	}
	other(Neutral, 0, 0)
	if got := h.InFlight(testRoute); got != 0 {
		t.Errorf("InFlight = %d, want 0", got)
	}
}

func TestSnapshot(t *testing.T) {
	clk := newFakeClock()
	start := clk.Now()
	h := NewHealth(HealthConfig{}, clk.Now)
	h.Register("b/model", "a/model")
	clk.Advance(time.Minute)

	// 120 successes with total durations 1ms..120ms: only the last 100
	// (21ms..120ms) count, so p50 is the 50th of them (70ms) and p95 the
	// 95th (115ms).
	for i := 1; i <= 120; i++ {
		release, _ := h.Acquire("a/model")
		release(Success, 0, time.Duration(i)*time.Millisecond)
	}
	// TTFB EWMA: 100ms, then 0.3*200 + 0.7*100 = 130ms; a zero TTFB is not
	// a sample, nor is a failure's.
	for _, ttfb := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 0} {
		release, _ := h.Acquire("b/model")
		release(Success, ttfb, time.Second)
	}
	release, _ := h.Acquire("b/model")
	release(Failure, time.Millisecond, time.Millisecond)
	held, _ := h.Acquire("b/model")
	defer held(Neutral, 0, 0)
	h.SetLastError("b/model", "upstream returned 503")

	got := h.Snapshot()
	want := []RouteStatus{
		{ID: "a/model", Route: "a/model", State: StateClosed, Since: start, LatencyP50Ms: 70, LatencyP95Ms: 115, Requests: 120},
		{ID: "b/model", Route: "b/model", State: StateClosed, Since: start, ErrorRate: 0.25, LatencyP50Ms: 1000, LatencyP95Ms: 1000,
			TTFBEWMAMs: 130, InFlight: 1, Requests: 4, Failures: 1, LastError: "upstream returned 503"},
	}
	if len(got) != len(want) {
		t.Fatalf("Snapshot has %d routes, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Since.Equal(want[i].Since) {
			t.Errorf("%s: Since = %v, want %v", want[i].ID, got[i].Since, want[i].Since)
		}
		got[i].Since = want[i].Since
		if got[i] != want[i] {
			t.Errorf("Snapshot[%d] =\n  %+v\nwant\n  %+v", i, got[i], want[i])
		}
	}
	if ewma := h.EWMA("b/model"); ewma != 130*time.Millisecond {
		t.Errorf("EWMA = %v, want 130ms", ewma)
	}

	// The admin API serves this as JSON; pin the field names.
	b, err := json.Marshal(got[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"id"`, `"state":"closed"`, `"since"`, `"error_rate"`, `"latency_p50_ms"`, `"latency_p95_ms"`,
		`"ttfb_ewma_ms"`, `"in_flight"`, `"requests"`, `"failures"`, `"last_error"`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("JSON %s lacks %s", b, field)
		}
	}
}

func TestSnapshotShowsOpenAndHalfOpen(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{FailureThreshold: 1, Cooldown: time.Second}, clk.Now)
	openRoute(t, h, testRoute, 1)
	if s := h.Snapshot()[0]; s.State != StateOpen || !s.Since.Equal(clk.Now()) {
		t.Errorf("state %s since %v, want open since %v", s.State, s.Since, clk.Now())
	}
	clk.Advance(5 * time.Second)
	if s := h.Snapshot()[0]; s.State != StateHalfOpen || !s.Since.Equal(clk.Now().Add(-4*time.Second)) {
		t.Errorf("state %s since %v, want half_open since the cooldown's end", s.State, s.Since)
	}
}

func TestHealthConcurrentUse(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{FailureThreshold: 3, Cooldown: time.Millisecond}, clk.Now)
	ids := []string{"a/m", "b/m", "c/m"}
	targets := []Target{{Provider: "a", Model: "m", Weight: 1}, {Provider: "b", Model: "m", Weight: 2}, {Provider: "c", Model: "m", Weight: 1}}
	const workers, rounds = 16, 500
	var mu sync.Mutex
	acquired := map[string]int64{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			n := map[string]int64{}
			for i := range rounds {
				id := ids[rng.IntN(len(ids))]
				switch i % 50 {
				case 0:
					clk.Advance(time.Millisecond)
				case 1:
					h.Snapshot()
				case 2:
					Plan(targets, StrategyLeastBusy, Prefs{}, VariantNone, fmt.Sprint(i), h, nil, rng)
				case 3:
					h.Enable(id)
				}
				release, ok := h.Acquire(id)
				if !ok {
					continue
				}
				n[id]++
				o := []Outcome{Success, Success, Failure, Neutral, AuthFailure}[rng.IntN(5)]
				release(o, time.Duration(rng.IntN(100))*time.Millisecond, time.Duration(rng.IntN(1000))*time.Millisecond)
				release(o, 0, 0) // a no-op, but racing it must be safe too
			}
			mu.Lock()
			for id, c := range n {
				acquired[id] += c
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, s := range h.Snapshot() {
		if s.InFlight != 0 {
			t.Errorf("%s: InFlight = %d after every release, want 0", s.ID, s.InFlight)
		}
		if s.Requests != acquired[s.ID] {
			t.Errorf("%s: Requests = %d, want %d (one per successful Acquire)", s.ID, s.Requests, acquired[s.ID])
		}
	}
}

func TestRouteID(t *testing.T) {
	if got := RouteID(Target{Provider: "openrouter", Model: "meta-llama/llama-3-8b:free"}); got != "openrouter/meta-llama/llama-3-8b:free" {
		t.Errorf("RouteID = %q", got)
	}
}

func TestFullTableForgetsLeastRecentlyUsedHealthyRoutesFirst(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{MaxRoutes: 4, FailureThreshold: 1, Cooldown: time.Hour}, clk.Now)
	do(t, h, "p/broken", Failure) // open: the oldest entry, but not healthy
	for _, id := range []string{"p/old", "p/mid", "p/new"} {
		clk.Advance(time.Second)
		do(t, h, id, Success)
	}
	clk.Advance(time.Second)
	do(t, h, "p/old", Success) // used again: now "p/mid" is the least recently used healthy route

	do(t, h, "p/invented-1", Success) // a fifth route: one must go
	if _, ok := h.Status("p/mid"); ok {
		t.Error("p/mid, the least recently used healthy route, was kept")
	}
	for _, id := range []string{"p/broken", "p/old", "p/new", "p/invented-1"} {
		if _, ok := h.Status(id); !ok {
			t.Errorf("%s was forgotten", id)
		}
	}
	if n := h.Evictions(); n != 1 {
		t.Errorf("Evictions = %d, want 1", n)
	}
	// A flood of invented names never washes out the open breaker.
	for i := range 50 {
		clk.Advance(time.Second)
		do(t, h, fmt.Sprint("p/flood-", i), Success)
	}
	if got := state(t, h, "p/broken"); got != StateOpen {
		t.Errorf("p/broken = %s after the flood, want still open", got)
	}
	if n := len(h.Snapshot()); n > 4 {
		t.Errorf("%d routes tracked, want at most 4", n)
	}
}
