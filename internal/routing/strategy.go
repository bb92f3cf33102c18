package routing

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// Prefs are the request's routing preferences (OpenRouter's provider object).
type Prefs struct {
	Order          []string // provider names to try first, in this order
	Only           []string // if set, only these providers
	Ignore         []string // never these providers
	AllowFallbacks *bool    // false: only the first eligible route (and no model fallbacks); nil = true
	Sort           string   // "", "price", "latency", "throughput"
}

// Values of Prefs.Sort.
const (
	SortPrice      = "price"
	SortLatency    = "latency"
	SortThroughput = "throughput"
)

// ValidSort reports whether s is a value Prefs.Sort understands ("" too).
func ValidSort(s string) bool {
	switch s {
	case "", SortPrice, SortLatency, SortThroughput:
		return true
	}
	return false
}

// Fallbacks reports whether the request allows more than one route.
func (p Prefs) Fallbacks() bool { return p.AllowFallbacks == nil || *p.AllowFallbacks }

// Strategy is how a model's routes share traffic when the request expresses
// no preference.
type Strategy string

const (
	StrategyWeighted     Strategy = "weighted"      // weighted random; the default
	StrategyLeastLatency Strategy = "least-latency" // lowest time-to-first-byte EWMA
	StrategyLeastBusy    Strategy = "least-busy"    // fewest requests in flight
)

// Valid reports whether s names a strategy ("" is the default, weighted).
func (s Strategy) Valid() bool {
	switch s {
	case "", StrategyWeighted, StrategyLeastLatency, StrategyLeastBusy:
		return true
	}
	return false
}

// PriceFunc tells the strategy a route's price for sort=price: prompt plus
// completion per 1M tokens, in nano-USD. A negative price means unknown and
// sorts after every known price. A nil PriceFunc leaves the order unchanged.
type PriceFunc func(t Target) int64

// Plan orders targets for one request. It returns a new slice and leaves
// targets alone.
//
//  1. Routes whose provider is not in Only (when set) or is in Ignore are
//     dropped. Provider names compare case-insensitively.
//  2. Routes that h reports unavailable go last, in priority order: they are
//     still listed so that a caller that finds every route unavailable can
//     answer 503 no_available_provider. The caller checks Available again
//     (through Acquire) before sending.
//  3. Available routes are grouped by priority, lower first. Within a level
//     they are ordered by the strategy (weighted: a weighted random shuffle;
//     least-latency: EWMA ascending, routes with no samples first so they
//     get measured; least-busy: in-flight ascending), then, if a sort is in
//     effect, by the sort (price ascending; latency EWMA ascending, routes
//     without samples last; throughput the same as latency until throughput
//     is measured), then by Prefs.Order (listed providers first, in the
//     listed order). Each later key overrides the earlier ones, which break
//     its ties, so unlisted providers after Order still follow the sort and
//     equal prices still share traffic by weight.
//  4. The variant sets the sort when Prefs.Sort is empty: nitro sorts by
//     throughput, floor by price.
//  5. Sticky routing: when sessionKey is set, the route that rendezvous
//     hashing over RouteID picks for the key among the available routes of
//     the first priority level goes first, so a conversation stays on the
//     route that holds its prompt cache while that route is available; when
//     it is not, the session moves and the other sessions stay where they
//     were. The hash is weighted, so sessions spread by weight. An explicit
//     Prefs.Order or sort (variant included) overrides stickiness: the
//     client asked for it.
//  6. AllowFallbacks=false keeps only the first route.
//
// rng drives the weighted choices; callers pass a per-request or locked
// source so that Plan itself holds no state. A nil rng uses the
// math/rand/v2 global source. A nil h treats every route as available and
// unmeasured.
func Plan(targets []Target, strategy Strategy, p Prefs, v Variant, sessionKey string, h *Health, price PriceFunc, rng *rand.Rand) []Target {
	sortBy := p.Sort
	if sortBy == "" {
		switch v {
		case VariantNitro:
			sortBy = SortThroughput
		case VariantFloor:
			sortBy = SortPrice
		}
	}

	var avail, unavail []Target
	for _, t := range targets {
		if (len(p.Only) > 0 && !listed(p.Only, t.Provider)) || listed(p.Ignore, t.Provider) {
			continue
		}
		if h.Available(RouteID(t)) {
			avail = append(avail, t)
		} else {
			unavail = append(unavail, t)
		}
	}
	byPriority := func(ts []Target) {
		sort.SliceStable(ts, func(i, j int) bool { return ts[i].Priority < ts[j].Priority })
	}
	byPriority(avail)
	byPriority(unavail)

	out := make([]Target, 0, len(avail)+len(unavail))
	firstLevel := 0
	for i := 0; i < len(avail); {
		j := i + 1
		for j < len(avail) && avail[j].Priority == avail[i].Priority {
			j++
		}
		if i == 0 {
			firstLevel = j
		}
		out = append(out, orderLevel(avail[i:j], strategy, sortBy, p.Order, h, price, rng)...)
		i = j
	}
	if sessionKey != "" && len(p.Order) == 0 && sortBy == "" && firstLevel > 1 {
		k := rendezvous(sessionKey, out[:firstLevel])
		// Move the sticky route to the front, keeping the rest in order.
		t := out[k]
		copy(out[1:k+1], out[:k])
		out[0] = t
	}
	out = append(out, unavail...)

	if !p.Fallbacks() && len(out) > 1 {
		out = out[:1]
	}
	return out
}

// listed reports whether provider is in names, ignoring case.
func listed(names []string, provider string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, provider) })
}

// candidate is a target with the keys it is ordered by, read from Health
// once rather than on every comparison.
type candidate struct {
	t    Target
	key  int64
	rank int
}

// orderLevel orders the routes of one priority level, all available.
func orderLevel(level []Target, strategy Strategy, sortBy string, order []string, h *Health, price PriceFunc, rng *rand.Rand) []Target {
	cs := make([]candidate, len(level))
	for i, t := range level {
		cs[i].t = t
	}
	weightedShuffle(cs, rng)

	stable := func(key func(t Target) int64) {
		for i := range cs {
			cs[i].key = key(cs[i].t)
		}
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].key < cs[j].key })
	}
	switch strategy {
	case StrategyLeastLatency:
		// A route with no samples yet goes first so that it gets measured;
		// otherwise an unmeasured route would never be tried.
		stable(func(t Target) int64 {
			if e := h.EWMA(RouteID(t)); e > 0 {
				return int64(e)
			}
			return -1
		})
	case StrategyLeastBusy:
		stable(func(t Target) int64 { return int64(h.InFlight(RouteID(t))) })
	}

	switch sortBy {
	case SortPrice:
		if price != nil {
			stable(func(t Target) int64 {
				if pr := price(t); pr >= 0 {
					return pr
				}
				return math.MaxInt64
			})
		}
	case SortLatency, SortThroughput:
		// Throughput (tokens per second) is not measured yet; time to first
		// byte is the nearest thing we have, so it stands in for now.
		// Unmeasured routes go last: the client asked for the fastest known.
		stable(func(t Target) int64 {
			if e := h.EWMA(RouteID(t)); e > 0 {
				return int64(e)
			}
			return math.MaxInt64
		})
	}

	if len(order) > 0 {
		for i := range cs {
			cs[i].rank = len(order)
			for r, name := range order {
				if strings.EqualFold(name, cs[i].t.Provider) {
					cs[i].rank = r
					break
				}
			}
		}
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].rank < cs[j].rank })
	}

	out := make([]Target, len(cs))
	for i := range cs {
		out[i] = cs[i].t
	}
	return out
}

// weight is t's share of traffic; a weight below 1 counts as 1, as in
// Resolve.
func weight(t Target) int {
	return max(t.Weight, 1)
}

// weightedShuffle orders cs so that each position is drawn from the rest
// with probability proportional to weight: the first pick is route i with
// probability w_i/Σw. Levels hold a handful of routes, so the quadratic
// draw is cheaper than anything cleverer.
func weightedShuffle(cs []candidate, rng *rand.Rand) {
	total := 0
	for i := range cs {
		total += weight(cs[i].t)
	}
	for i := 0; i < len(cs)-1; i++ {
		x := intN(rng, total)
		j := i
		for ; j < len(cs)-1; j++ {
			x -= weight(cs[j].t)
			if x < 0 {
				break
			}
		}
		cs[i], cs[j] = cs[j], cs[i]
		total -= weight(cs[i].t)
	}
}

func intN(rng *rand.Rand, n int) int {
	if rng == nil {
		return rand.IntN(n)
	}
	return rng.IntN(n)
}

// rendezvous returns the index of the target that weighted rendezvous
// (highest random weight) hashing picks for key: each route scores
// -w/ln(u), u a uniform hash of key and RouteID in (0,1), and the highest
// score wins. A route's share of keys is proportional to its weight, and
// adding or removing a route moves only the keys that it wins or held.
func rendezvous(key string, ts []Target) int {
	best, bestScore := 0, math.Inf(-1)
	for i, t := range ts {
		u := (float64(hash64(key, RouteID(t))>>11) + 0.5) / (1 << 53)
		score := -float64(weight(t)) / math.Log(u)
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// hash64 is FNV-1a over a, a zero byte and b, finished with the splitmix64
// mixer because FNV alone leaves similar inputs with similar high bits.
func hash64(a, b string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	x := uint64(offset)
	for i := 0; i < len(a); i++ {
		x = (x ^ uint64(a[i])) * prime
	}
	x *= prime // the zero separator: x ^ 0 == x
	for i := 0; i < len(b); i++ {
		x = (x ^ uint64(b[i])) * prime
	}
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
