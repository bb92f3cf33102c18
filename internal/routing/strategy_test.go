package routing

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func tgt(provider string, weight, priority int) Target {
	return Target{Provider: provider, Model: "m", Weight: weight, Priority: priority}
}

func providers(ts []Target) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Provider
	}
	return strings.Join(names, ",")
}

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

// measure gives route id one successful request with the given TTFB.
func measure(t *testing.T, h *Health, id string, ttfb time.Duration) {
	t.Helper()
	release, ok := h.Acquire(id)
	if !ok {
		t.Fatalf("Acquire(%q) refused", id)
	}
	release(Success, ttfb, ttfb)
}

// disable makes route id unavailable.
func disable(t *testing.T, h *Health, id string) {
	t.Helper()
	for range h.cfg.AuthFailures {
		release, ok := h.Acquire(id)
		if !ok {
			t.Fatalf("Acquire(%q) refused", id)
		}
		release(AuthFailure, 0, 0)
	}
}

func boolPtr(b bool) *bool { return &b }

func TestPlanFiltersAndOrder(t *testing.T) {
	targets := []Target{tgt("a", 1, 0), tgt("b", 1, 0), tgt("c", 1, 0), tgt("d", 1, 1)}
	tests := []struct {
		name  string
		prefs Prefs
		// The plan must start with prefix and end with suffix; routes in
		// between are in random (weighted) order, so only their set is
		// checked, through the total.
		prefix, suffix string
		total          int
	}{
		{name: "only, case-insensitive", prefs: Prefs{Only: []string{"b", "D"}}, prefix: "b,d", total: 2},
		{name: "ignore", prefs: Prefs{Ignore: []string{"a", "c"}}, prefix: "b,d", total: 2},
		{name: "only and ignore", prefs: Prefs{Only: []string{"a", "b"}, Ignore: []string{"b"}}, prefix: "a", total: 1},
		{name: "only nothing that exists", prefs: Prefs{Only: []string{"zzz"}}, total: 0},
		{name: "order puts listed providers first in their order", prefs: Prefs{Order: []string{"c", "A"}}, prefix: "c,a,b,d", total: 4},
		{name: "order stays within its priority level", prefs: Prefs{Order: []string{"d", "b"}}, prefix: "b,", suffix: ",d", total: 4},
		{name: "order naming an ignored provider", prefs: Prefs{Order: []string{"c", "b", "a"}, Ignore: []string{"b"}}, prefix: "c,a,d", total: 3},
		{name: "no preferences keeps every route", suffix: ",d", total: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(20) {
				got := Plan(targets, "", tt.prefs, VariantNone, "", nil, nil, seeded(seed))
				p := providers(got)
				if len(got) != tt.total || !strings.HasPrefix(p, tt.prefix) || !strings.HasSuffix(p, tt.suffix) {
					t.Fatalf("seed %d: plan %q, want %d routes starting %q and ending %q", seed, p, tt.total, tt.prefix, tt.suffix)
				}
				names := strings.Split(p, ",")
				if slices.Sort(names); len(slices.Compact(names)) != len(got) && len(got) > 0 {
					t.Fatalf("seed %d: plan %q repeats a route", seed, p)
				}
			}
		})
	}
}

func TestPlanRespectsPriorities(t *testing.T) {
	targets := []Target{tgt("low1", 1, 2), tgt("high1", 1, 0), tgt("mid", 100, 1), tgt("high2", 5, 0), tgt("low2", 1, 2)}
	for _, strategy := range []Strategy{StrategyWeighted, StrategyLeastLatency, StrategyLeastBusy} {
		t.Run(string(strategy), func(t *testing.T) {
			for seed := range uint64(200) {
				got := Plan(targets, strategy, Prefs{}, VariantNone, fmt.Sprint("session", seed), nil, nil, seeded(seed))
				prio := make([]int, len(got))
				for i, tg := range got {
					prio[i] = tg.Priority
				}
				if !slices.IsSorted(prio) || len(got) != len(targets) {
					t.Fatalf("seed %d: %s has priorities %v, want all of them ascending", seed, providers(got), prio)
				}
			}
		})
	}
}

func TestPlanWeightedMatchesWeights(t *testing.T) {
	const plans = 10000
	tests := []struct {
		name    string
		targets []Target
		want    map[string]float64 // share of first picks
	}{
		{
			name:    "3 to 1",
			targets: []Target{tgt("a", 3, 0), tgt("b", 1, 0)},
			want:    map[string]float64{"a": 0.75, "b": 0.25},
		},
		{
			name:    "1 to 2 to 1, zero weight counts as 1",
			targets: []Target{tgt("a", 1, 0), tgt("b", 2, 0), tgt("c", 0, 0)},
			want:    map[string]float64{"a": 0.25, "b": 0.5, "c": 0.25},
		},
		{
			name:    "a lower priority level takes nothing",
			targets: []Target{tgt("a", 1, 0), tgt("b", 1, 0), tgt("backup", 1000, 1)},
			want:    map[string]float64{"a": 0.5, "b": 0.5, "backup": 0},
		},
	}
	// The binomial standard deviation at p=0.75 over 10,000 draws is about
	// 0.0043, so ±0.02 is over four of them: with a fixed seed the test is
	// deterministic anyway, and the margin says the sampler is right rather
	// than lucky.
	const tolerance = 0.02
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := seeded(42)
			first := map[string]int{}
			for range plans {
				first[Plan(tt.targets, StrategyWeighted, Prefs{}, VariantNone, "", nil, nil, rng)[0].Provider]++
			}
			for p, want := range tt.want {
				if got := float64(first[p]) / plans; math.Abs(got-want) > tolerance {
					t.Errorf("%s first in %.4f of plans, want %.2f ± %.2f", p, got, want, tolerance)
				}
			}
		})
	}
}

func TestPlanWeightedSecondPlace(t *testing.T) {
	// A full weighted shuffle, not just a weighted first pick: with weights
	// 6:3:1, c comes second when a is first (share 0.6 * 1/4) or b is first
	// (0.3 * 1/7), about 0.193.
	targets := []Target{tgt("a", 6, 0), tgt("b", 3, 0), tgt("c", 1, 0)}
	rng := seeded(7)
	second := 0
	const plans = 10000
	for range plans {
		if Plan(targets, "", Prefs{}, VariantNone, "", nil, nil, rng)[1].Provider == "c" {
			second++
		}
	}
	want := 0.6/4 + 0.3/7
	if got := float64(second) / plans; math.Abs(got-want) > 0.02 {
		t.Errorf("c second in %.4f of plans, want %.3f ± 0.02", got, want)
	}
}

func TestPlanLeastLatency(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{}, clk.Now)
	targets := []Target{tgt("slow", 1, 0), tgt("fast", 1, 0), tgt("new", 1, 0)}
	measure(t, h, "slow/m", 400*time.Millisecond)
	measure(t, h, "fast/m", 100*time.Millisecond)

	plan := func() string {
		return providers(Plan(targets, StrategyLeastLatency, Prefs{}, VariantNone, "", h, nil, seeded(1)))
	}
	if got := plan(); got != "new,fast,slow" {
		t.Errorf("plan = %s, want new,fast,slow: the unmeasured route first so it gets measured", got)
	}
	measure(t, h, "new/m", 250*time.Millisecond)
	if got := plan(); got != "fast,new,slow" {
		t.Errorf("plan = %s, want fast,new,slow", got)
	}
	// fast slows down: 100 → 0.3*1000+0.7*100 = 370 → 0.3*1000+0.7*370 = 559ms.
	measure(t, h, "fast/m", time.Second)
	measure(t, h, "fast/m", time.Second)
	if got := plan(); got != "new,slow,fast" {
		t.Errorf("plan after fast's EWMA rose to %v = %s, want new,slow,fast", h.EWMA("fast/m"), got)
	}
}

func TestPlanLeastBusy(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{}, clk.Now)
	targets := []Target{tgt("a", 1, 0), tgt("b", 1, 0), tgt("c", 1, 0)}
	var held []func(Outcome, time.Duration, time.Duration)
	hold := func(id string, n int) {
		for range n {
			r, _ := h.Acquire(id)
			held = append(held, r)
		}
	}
	hold("a/m", 3)
	hold("b/m", 1)
	if got := providers(Plan(targets, StrategyLeastBusy, Prefs{}, VariantNone, "", h, nil, seeded(1))); got != "c,b,a" {
		t.Errorf("plan = %s, want c,b,a", got)
	}
	for _, r := range held {
		r(Neutral, 0, 0)
	}

	// Ties (all idle) are broken by weight.
	targets = []Target{tgt("a", 3, 0), tgt("b", 1, 0)}
	rng := seeded(3)
	first := 0
	for range 10000 {
		if Plan(targets, StrategyLeastBusy, Prefs{}, VariantNone, "", h, nil, rng)[0].Provider == "a" {
			first++
		}
	}
	if share := float64(first) / 10000; math.Abs(share-0.75) > 0.02 {
		t.Errorf("idle tie: a first in %.4f of plans, want 0.75 ± 0.02", share)
	}
}

func TestPlanSticky(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{}, clk.Now)
	targets := []Target{tgt("a", 1, 0), tgt("b", 1, 0), tgt("c", 1, 0), tgt("backup", 1, 1)}

	first := func(session string, seed uint64) string {
		return Plan(targets, StrategyWeighted, Prefs{}, VariantNone, session, h, nil, seeded(seed))[0].Provider
	}
	// Same session, same first route, whatever the random source says.
	sticky := first("conversation-1", 0)
	for seed := range uint64(100) {
		if got := first("conversation-1", seed); got != sticky {
			t.Fatalf("seed %d: first route %s, want %s every time", seed, got, sticky)
		}
	}
	// Sessions spread over the routes of the first level.
	seen := map[string]bool{}
	for i := range 100 {
		seen[first(fmt.Sprint("s", i), 0)] = true
	}
	if len(seen) != 3 || seen["backup"] {
		t.Errorf("100 sessions landed on %v, want a, b and c", seen)
	}

	// The sticky route becomes unavailable: the session moves to another
	// first-level route, and stays there.
	disable(t, h, RouteID(Target{Provider: sticky, Model: "m"}))
	moved := first("conversation-1", 0)
	if moved == sticky || moved == "backup" {
		t.Fatalf("with %s unavailable the session went to %s, want another first-level route", sticky, moved)
	}
	for seed := range uint64(20) {
		if got := first("conversation-1", seed); got != moved {
			t.Fatalf("seed %d: first route %s, want %s", seed, got, moved)
		}
	}
	h.Enable(RouteID(Target{Provider: sticky, Model: "m"}))
	if got := first("conversation-1", 0); got != sticky {
		t.Errorf("after re-enabling %s the session is on %s, want back on %s", sticky, got, sticky)
	}
}

func TestPlanStickyMovesFewSessions(t *testing.T) {
	// Rendezvous hashing: removing a route moves only its own sessions, and
	// adding one takes sessions only onto itself.
	abc := []Target{tgt("a", 1, 0), tgt("b", 1, 0), tgt("c", 1, 0)}
	ab := abc[:2]
	moved := 0
	const sessions = 1000
	for i := range sessions {
		key := fmt.Sprint("user-", i)
		before := Plan(abc, "", Prefs{}, VariantNone, key, nil, nil, seeded(1))[0].Provider
		after := Plan(ab, "", Prefs{}, VariantNone, key, nil, nil, seeded(2))[0].Provider
		if before != "c" && before != after {
			t.Fatalf("%s moved from %s to %s when only c was removed", key, before, after)
		}
		if before == "c" {
			moved++
		}
	}
	if share := float64(moved) / sessions; math.Abs(share-1.0/3) > 0.05 {
		t.Errorf("c held %.3f of sessions, want about a third", share)
	}
}

func TestPlanStickySpreadsByWeight(t *testing.T) {
	targets := []Target{tgt("a", 3, 0), tgt("b", 1, 0)}
	a := 0
	const sessions = 10000
	for i := range sessions {
		if Plan(targets, "", Prefs{}, VariantNone, fmt.Sprint("k", i), nil, nil, seeded(1))[0].Provider == "a" {
			a++
		}
	}
	if share := float64(a) / sessions; math.Abs(share-0.75) > 0.02 {
		t.Errorf("a holds %.4f of sessions, want 0.75 ± 0.02", share)
	}
}

func TestPlanExplicitPreferencesOverrideSticky(t *testing.T) {
	targets := []Target{tgt("a", 1, 0), tgt("b", 1, 0), tgt("c", 1, 0)}
	price := func(t Target) int64 { return map[string]int64{"a": 3, "b": 1, "c": 2}[t.Provider] }
	for i := range 50 {
		key := fmt.Sprint("s", i)
		if got := Plan(targets, "", Prefs{Order: []string{"c"}}, VariantNone, key, nil, price, seeded(1))[0].Provider; got != "c" {
			t.Fatalf("%s with order [c]: first %s, want c", key, got)
		}
		if got := Plan(targets, "", Prefs{}, VariantFloor, key, nil, price, seeded(1))[0].Provider; got != "b" {
			t.Fatalf("%s with :floor: first %s, want the cheapest, b", key, got)
		}
	}
}

func TestPlanSort(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{}, clk.Now)
	targets := []Target{tgt("pricey", 1, 0), tgt("unpriced", 1, 0), tgt("cheap", 1, 0), tgt("mid", 1, 0), tgt("fallback", 1, 1)}
	prices := map[string]int64{"pricey": 30_000_000_000, "cheap": 150_000_000, "mid": 2_500_000_000, "fallback": 1}
	price := func(t Target) int64 {
		if p, ok := prices[t.Provider]; ok {
			return p
		}
		return -1
	}
	measure(t, h, "pricey/m", 50*time.Millisecond)
	measure(t, h, "cheap/m", 900*time.Millisecond)
	measure(t, h, "mid/m", 300*time.Millisecond)
	measure(t, h, "fallback/m", time.Millisecond)

	tests := []struct {
		name    string
		prefs   Prefs
		variant Variant
		price   PriceFunc
		want    string
	}{
		{name: "price ascending, unknown price last, within priority", prefs: Prefs{Sort: SortPrice}, price: price, want: "cheap,mid,pricey,unpriced,fallback"},
		{name: "floor sorts by price", variant: VariantFloor, price: price, want: "cheap,mid,pricey,unpriced,fallback"},
		{name: "latency ascending, unmeasured last", prefs: Prefs{Sort: SortLatency}, want: "pricey,mid,cheap,unpriced,fallback"},
		{name: "throughput is latency for now", prefs: Prefs{Sort: SortThroughput}, want: "pricey,mid,cheap,unpriced,fallback"},
		{name: "nitro sorts by throughput", variant: VariantNitro, price: price, want: "pricey,mid,cheap,unpriced,fallback"},
		{name: "the request's sort beats the variant", prefs: Prefs{Sort: SortPrice}, variant: VariantNitro, price: price, want: "cheap,mid,pricey,unpriced,fallback"},
		{name: "order beats sort; the rest follow the sort", prefs: Prefs{Sort: SortPrice, Order: []string{"unpriced"}}, price: price, want: "unpriced,cheap,mid,pricey,fallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(20) {
				got := Plan(targets, StrategyWeighted, tt.prefs, tt.variant, "session", h, tt.price, seeded(seed))
				if providers(got) != tt.want {
					t.Fatalf("seed %d: %s, want %s", seed, providers(got), tt.want)
				}
			}
		})
	}

	t.Run("no price function leaves the strategy's order", func(t *testing.T) {
		for seed := range uint64(20) {
			got := Plan(targets, StrategyWeighted, Prefs{Sort: SortPrice}, VariantNone, "", h, nil, seeded(seed))
			want := Plan(targets, StrategyWeighted, Prefs{}, VariantNone, "", h, nil, seeded(seed))
			if providers(got) != providers(want) {
				t.Fatalf("seed %d: %s, want %s", seed, providers(got), providers(want))
			}
		}
	})
}

func TestPlanAllowFallbacksFalse(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{}, clk.Now)
	targets := []Target{tgt("a", 1, 0), tgt("b", 1, 0), tgt("c", 1, 1)}
	no := boolPtr(false)

	got := Plan(targets, "", Prefs{AllowFallbacks: no, Order: []string{"b"}}, VariantNone, "", h, nil, seeded(1))
	if providers(got) != "b" {
		t.Errorf("plan = %s, want just b", providers(got))
	}
	if got := Plan(targets, "", Prefs{AllowFallbacks: boolPtr(true)}, VariantNone, "", h, nil, seeded(1)); len(got) != 3 {
		t.Errorf("allow_fallbacks=true: %d routes, want 3", len(got))
	}

	// Every route unavailable: the one route returned is unavailable, so
	// the caller answers 503.
	for _, tg := range targets {
		disable(t, h, RouteID(tg))
	}
	got = Plan(targets, "", Prefs{AllowFallbacks: no}, VariantNone, "", h, nil, seeded(1))
	if len(got) != 1 || h.Available(RouteID(got[0])) {
		t.Errorf("plan = %s, want one unavailable route", providers(got))
	}
}

func TestPlanUnavailableRoutesGoLast(t *testing.T) {
	clk := newFakeClock()
	h := NewHealth(HealthConfig{FailureThreshold: 1, Cooldown: time.Minute, AuthFailures: 1}, clk.Now)
	targets := []Target{tgt("a", 100, 0), tgt("b", 1, 0), tgt("c", 1, 1), tgt("d", 1, 2)}
	release, _ := h.Acquire("a/m")
	release(Failure, 0, 0) // a is open
	disable(t, h, "c/m")

	for seed := range uint64(20) {
		got := Plan(targets, "", Prefs{Order: []string{"a"}}, VariantNone, "s", h, nil, seeded(seed))
		if providers(got) != "b,d,a,c" {
			t.Fatalf("seed %d: %s, want b,d,a,c: available by priority, then unavailable by priority", seed, providers(got))
		}
	}

	disable(t, h, "b/m")
	disable(t, h, "d/m")
	got := Plan(targets, "", Prefs{}, VariantNone, "s", h, nil, seeded(1))
	if len(got) != len(targets) {
		t.Fatalf("all unavailable: %d routes listed, want all %d so the caller can tell", len(got), len(targets))
	}
	if slices.ContainsFunc(got, func(tg Target) bool { return h.Available(RouteID(tg)) }) {
		t.Error("a route reported available; want none")
	}

	// The cooldown ends: a comes back (half-open) at its priority.
	clk.Advance(time.Minute)
	if got := Plan(targets, "", Prefs{}, VariantNone, "", h, nil, seeded(1)); got[0].Provider != "a" {
		t.Errorf("after a's cooldown: %s, want a first", providers(got))
	}
}

func TestPlanDoesNotModifyTargets(t *testing.T) {
	targets := []Target{tgt("a", 1, 1), tgt("b", 5, 0), tgt("c", 1, 0)}
	orig := slices.Clone(targets)
	for seed := range uint64(10) {
		Plan(targets, StrategyLeastBusy, Prefs{Sort: SortLatency}, VariantNone, "k", nil, nil, seeded(seed))
		Plan(targets, "", Prefs{}, VariantNone, "k", nil, nil, seeded(seed))
	}
	if !slices.Equal(targets, orig) {
		t.Errorf("targets = %v, want unchanged %v", targets, orig)
	}
}

func TestStrategyAndSortValid(t *testing.T) {
	for _, s := range []Strategy{"", StrategyWeighted, StrategyLeastLatency, StrategyLeastBusy} {
		if !s.Valid() {
			t.Errorf("Strategy(%q).Valid() = false", s)
		}
	}
	if Strategy("round-robin").Valid() {
		t.Error(`Strategy("round-robin").Valid() = true`)
	}
	if !ValidSort("") || !ValidSort(SortThroughput) || ValidSort("cost") {
		t.Error("ValidSort misjudges")
	}
}
