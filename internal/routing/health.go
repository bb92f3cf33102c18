package routing

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// RouteID names a route for health: provider + "/" + resolved upstream
// model. Each has its own breaker, so models matched by one pattern route
// ("oa-*") fail and recover apart: five failures of oa-1 leave oa-2
// served. Clients can invent model names under a pattern; Health bounds how
// many it tracks (HealthConfig.MaxRoutes), and metrics are labelled by the
// configured route (Target.ID), which the config bounds.
func RouteID(t Target) string {
	if t.Key != "" {
		return t.Key
	}
	return t.Provider + "/" + t.Model
}

// configured is the configured route t belongs to (Target.ID), the label
// metrics group breakers by.
func configured(t Target) string {
	if t.ID != "" {
		return t.ID
	}
	return RouteID(t)
}

// HealthConfig tunes the per-route circuit breaker. Zero (or negative)
// fields take their defaults.
type HealthConfig struct {
	// FailureThreshold is the number of consecutive failures that opens the
	// breaker; default 5.
	FailureThreshold int
	// ErrorRate opens the breaker when the failure share of the last Window
	// outcomes is at least this, once at least MinSamples outcomes are in
	// the window; default 0.5. A value above 1 turns the rule off.
	ErrorRate float64
	// Window is how many recent outcomes the error rate is taken over;
	// default 20.
	Window int
	// MinSamples is the fewest outcomes the error rate is judged on;
	// default 10, and never more than Window.
	MinSamples int
	// Cooldown is how long an open breaker waits before it lets one probe
	// through (half-open); default 30s.
	Cooldown time.Duration
	// MaxRoutes caps how many routes (provider/model) are tracked; past it
	// the least recently used healthy ones are forgotten first. Default
	// 10000.
	MaxRoutes int
	// AuthFailures is how many consecutive AuthFailure outcomes disable the
	// route; fewer count as ordinary failures. Default 3.
	AuthFailures int
	// AuthCooldown is how long a disabled route waits before it lets one
	// probe through (half-open), as an open breaker does after Cooldown:
	// a fixed credential brings the route back without an operator.
	// Default 5m.
	AuthCooldown time.Duration
}

// Defaults of HealthConfig.
const (
	DefaultFailureThreshold = 5
	DefaultErrorRate        = 0.5
	DefaultWindow           = 20
	DefaultMinSamples       = 10
	DefaultCooldown         = 30 * time.Second
	DefaultMaxRoutes        = 10000
	DefaultAuthFailures     = 3
	DefaultAuthCooldown     = 5 * time.Minute
)

func (c HealthConfig) withDefaults() HealthConfig {
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = DefaultFailureThreshold
	}
	if c.ErrorRate <= 0 {
		c.ErrorRate = DefaultErrorRate
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.MinSamples <= 0 {
		c.MinSamples = DefaultMinSamples
	}
	if c.MinSamples > c.Window {
		// Otherwise the error-rate rule could never fire.
		c.MinSamples = c.Window
	}
	if c.Cooldown <= 0 {
		c.Cooldown = DefaultCooldown
	}
	if c.MaxRoutes <= 0 {
		c.MaxRoutes = DefaultMaxRoutes
	}
	if c.AuthFailures <= 0 {
		c.AuthFailures = DefaultAuthFailures
	}
	if c.AuthCooldown <= 0 {
		c.AuthCooldown = DefaultAuthCooldown
	}
	return c
}

// Outcome is how one request on a route ended, as far as the route's health
// is concerned.
type Outcome uint8

const (
	Success     Outcome = iota + 1
	Failure             // connect error, timeout, 429, 5xx: counts against the route
	AuthFailure         // the upstream refused the gateway's credential: a failure; AuthFailures in a row disable the route
	Neutral             // the client's own fault (4xx from upstream for a bad parameter), a client cancel: counts for nothing
)

// State is a route's breaker state.
type State string

const (
	StateClosed   State = "closed"    // taking traffic
	StateOpen     State = "open"      // cooling down after failures
	StateHalfOpen State = "half_open" // cooldown over; one probe may go
	StateDisabled State = "disabled"  // the upstream refused our credentials; a probe after AuthCooldown, or Enable, leaves it
)

// latencySamples is how many successful requests' durations the p50/p95 in
// RouteStatus are taken over.
const latencySamples = 100

// ttfbAlpha is the weight of the newest sample in the time-to-first-byte EWMA.
const ttfbAlpha = 0.3

// Health tracks a circuit breaker and latency statistics per route. It is
// safe for concurrent use. Each route has its own mutex, held only for a few
// field updates; the map of routes has a read-mostly lock taken only to find
// a route. No lock is held across I/O: the caller does its I/O between
// Acquire and release.
type Health struct {
	cfg HealthConfig
	now func() time.Time

	mu      sync.RWMutex
	routes  map[string]*route
	evicted atomic.Uint64
}

// route is one route's breaker and statistics; every field is guarded by mu.
type route struct {
	mu sync.Mutex

	group    string    // the configured route (Target.ID); fixed at creation
	lastUsed time.Time // of the latest Acquire, for eviction

	state State
	since time.Time // when state began
	// gen counts state changes. An outcome moves the breaker only if its
	// request began in the current generation: a slow request sent before
	// the breaker opened must not re-open a route that has since recovered,
	// nor count against a fresh window.
	gen         uint64
	probe       bool // half-open: the single probe is in flight
	consecutive int  // consecutive failures while closed
	authStreak  int  // consecutive AuthFailure outcomes, whatever the state
	window      outcomes

	inFlight  int
	ewma      time.Duration // of time to first byte; 0 = no samples yet
	latency   []time.Duration
	latPos    int
	requests  int64
	failures  int64
	lastError string
}

// outcomes is a ring of the last len(fail) success/failure outcomes.
type outcomes struct {
	fail  []bool
	pos   int
	n     int
	fails int
}

func (w *outcomes) add(failed bool) {
	if w.n == len(w.fail) {
		if w.fail[w.pos] {
			w.fails--
		}
	} else {
		w.n++
	}
	w.fail[w.pos] = failed
	if failed {
		w.fails++
	}
	w.pos = (w.pos + 1) % len(w.fail)
}

func (w *outcomes) reset() {
	clear(w.fail)
	w.pos, w.n, w.fails = 0, 0, 0
}

func (w *outcomes) rate() float64 {
	if w.n == 0 {
		return 0
	}
	return float64(w.fails) / float64(w.n)
}

// NewHealth returns a tracker with no routes; routes appear on first use (or
// through Register). now is the clock; tests pass a fake one.
func NewHealth(c HealthConfig, now func() time.Time) *Health {
	if now == nil {
		now = time.Now
	}
	return &Health{cfg: c.withDefaults(), now: now, routes: map[string]*route{}}
}

// Register makes routes known before any traffic, so that Snapshot lists
// every configured route from the start. Registering a known route does
// nothing.
func (h *Health) Register(ids ...string) {
	for _, id := range ids {
		h.route(id, id)
	}
}

func (h *Health) lookup(id string) *route {
	h.mu.RLock()
	r := h.routes[id]
	h.mu.RUnlock()
	return r
}

// route returns the route named id, creating it closed (in the configured
// route group) if it is new.
func (h *Health) route(id, group string) *route {
	if r := h.lookup(id); r != nil {
		return r
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.routes[id]
	if r == nil {
		if len(h.routes) >= h.cfg.MaxRoutes {
			h.evictLocked()
		}
		now := h.now()
		r = &route{group: group, state: StateClosed, since: now, lastUsed: now, window: outcomes{fail: make([]bool, h.cfg.Window)}}
		h.routes[id] = r
	}
	return r
}

// evictLocked makes room in a full table: it forgets a sixteenth of it
// (at least one route) at once, so that a stream of invented model names
// pays for one scan per many inserts. Healthy routes (closed, idle) go
// first, least recently used first; only when there are not enough of them
// are open, half-open or disabled ones forgotten, again oldest first, so a
// flood of new names cannot wash out a breaker that is keeping traffic off
// a failing route. A request in flight on a forgotten route releases into
// the detached entry, harmlessly. Callers hold h.mu for writing.
func (h *Health) evictLocked() {
	type entry struct {
		id      string
		healthy bool
		used    time.Time
	}
	all := make([]entry, 0, len(h.routes))
	for id, r := range h.routes {
		r.mu.Lock()
		all = append(all, entry{id, r.state == StateClosed && r.inFlight == 0, r.lastUsed})
		r.mu.Unlock()
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].healthy != all[j].healthy {
			return all[i].healthy
		}
		return all[i].used.Before(all[j].used)
	})
	n := len(h.routes) - h.cfg.MaxRoutes + max(1, h.cfg.MaxRoutes/16)
	for _, e := range all[:min(n, len(all))] {
		delete(h.routes, e.id)
	}
	h.evicted.Add(uint64(min(n, len(all))))
}

// Evictions counts routes forgotten to keep the table within MaxRoutes.
func (h *Health) Evictions() uint64 { return h.evicted.Load() }

// set moves r to state s, begun at at. Callers hold r.mu.
func (r *route) set(s State, at time.Time) {
	r.state, r.since = s, at
	r.gen++
	r.probe = false
	if s == StateClosed {
		r.consecutive = 0
		r.authStreak = 0
		r.window.reset()
	}
}

// advance applies the lazy open → half_open and disabled → half_open
// transitions. Callers hold r.mu.
func (r *route) advance(now time.Time, c *HealthConfig) {
	var cooldown time.Duration
	switch r.state {
	case StateOpen:
		cooldown = c.Cooldown
	case StateDisabled:
		cooldown = c.AuthCooldown
	default:
		return
	}
	if end := r.since.Add(cooldown); !now.Before(end) {
		// The half-open state began when the cooldown ended, not when
		// someone happened to look.
		r.set(StateHalfOpen, end)
	}
}

// available reports whether an Acquire would succeed. Callers hold r.mu and
// have called advance.
func (r *route) available() bool {
	switch r.state {
	case StateClosed:
		return true
	case StateHalfOpen:
		return !r.probe
	}
	return false
}

// Acquire asks to send a request on route id. It returns false when the
// route is disabled, or open and still cooling down, or half-open with its
// single probe already in flight. Acquire on a half-open route claims the
// probe.
//
// When it returns true the caller must call release exactly once, with the
// outcome, the time to first byte (0 if none) and the total duration. A
// second call of the same release does nothing, so a deferred safety-net
// release after an explicit one is harmless.
func (h *Health) Acquire(id string) (release func(o Outcome, ttfb, total time.Duration), ok bool) {
	return h.acquire(id, id)
}

// AcquireTarget is Acquire on t's route (RouteID), remembering the
// configured route it belongs to for Snapshot's Route.
func (h *Health) AcquireTarget(t Target) (release func(o Outcome, ttfb, total time.Duration), ok bool) {
	return h.acquire(RouteID(t), configured(t))
}

func (h *Health) acquire(id, group string) (release func(o Outcome, ttfb, total time.Duration), ok bool) {
	r := h.route(id, group)
	r.mu.Lock()
	now := h.now()
	r.lastUsed = now
	r.advance(now, &h.cfg)
	if !r.available() {
		r.mu.Unlock()
		return nil, false
	}
	probe := r.state == StateHalfOpen
	if probe {
		r.probe = true
	}
	r.inFlight++
	gen := r.gen
	r.mu.Unlock()

	var done atomic.Bool
	return func(o Outcome, ttfb, total time.Duration) {
		if done.Swap(true) {
			return
		}
		h.finish(r, gen, probe, o, ttfb, total)
	}, true
}

func (h *Health) finish(r *route, gen uint64, probe bool, o Outcome, ttfb, total time.Duration) {
	now := h.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight--
	current := r.gen == gen
	if probe && current {
		// Free the probe slot; the switch below decides what happens next.
		// (A state change since Acquire has already freed it.)
		r.probe = false
	}

	switch o {
	case Success:
		r.requests++
		r.authStreak = 0
		r.observe(ttfb, total)
	case Failure, AuthFailure:
		r.requests++
		r.failures++
	default: // Neutral, or an invalid outcome: counts for nothing.
		r.requests++
		return
	}

	if o == AuthFailure {
		// One refusal may be a provider's hiccup or something a client's
		// request provoked; AuthFailures in a row, however old the requests
		// that found out, mean the credential is bad. A disabled route's
		// probe that is refused again keeps the streak, so it goes straight
		// back to disabled for a fresh AuthCooldown.
		r.authStreak++
		if r.authStreak >= h.cfg.AuthFailures {
			if r.state != StateDisabled {
				r.set(StateDisabled, now)
			}
			return
		}
	}
	if !current {
		return
	}
	switch r.state {
	case StateClosed:
		if o == Success {
			r.consecutive = 0
		} else {
			r.consecutive++
		}
		r.window.add(o != Success)
		// Judged after successes too: the success that brings the window
		// to MinSamples can still leave it at or above ErrorRate.
		if r.consecutive >= h.cfg.FailureThreshold ||
			(r.window.n >= h.cfg.MinSamples && r.window.rate() >= h.cfg.ErrorRate) {
			r.set(StateOpen, now)
		}
	case StateHalfOpen:
		// Only the probe is acquired in the half-open generation.
		if o == Success {
			r.set(StateClosed, now)
		} else {
			r.set(StateOpen, now) // a fresh cooldown
		}
	}
}

// observe records a successful request's timings. Callers hold r.mu.
// Only successes feed the statistics: a route that fails fast must not look
// fast to least-latency.
func (r *route) observe(ttfb, total time.Duration) {
	if ttfb > 0 {
		if r.ewma == 0 {
			r.ewma = ttfb
		} else {
			r.ewma = time.Duration(math.Round(ttfbAlpha*float64(ttfb) + (1-ttfbAlpha)*float64(r.ewma)))
		}
	}
	if len(r.latency) < latencySamples {
		r.latency = append(r.latency, total)
		return
	}
	r.latency[r.latPos] = total
	r.latPos = (r.latPos + 1) % latencySamples
}

// Available reports, without claiming anything, whether Acquire would
// currently succeed. A route never seen is available.
func (h *Health) Available(id string) bool {
	if h == nil {
		return true
	}
	r := h.lookup(id)
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advance(h.now(), &h.cfg)
	return r.available()
}

// Enable is the operator's switch: it closes a disabled, open or half-open
// route with fresh counters. It reports false if the route is unknown. A
// closed route is left as it is.
func (h *Health) Enable(id string) bool {
	r := h.lookup(id)
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != StateClosed {
		r.set(StateClosed, h.now())
	}
	return true
}

// EWMA returns the exponentially weighted moving average (alpha 0.3) of the
// route's time to first byte over successful requests; 0 if no samples.
func (h *Health) EWMA(id string) time.Duration {
	if h == nil {
		return 0
	}
	r := h.lookup(id)
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ewma
}

// InFlight returns how many requests acquired on the route are not yet
// released.
func (h *Health) InFlight(id string) int {
	if h == nil {
		return 0
	}
	r := h.lookup(id)
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inFlight
}

// SetLastError records a client-safe description of the route's latest
// failure, shown by Snapshot.
func (h *Health) SetLastError(id, msg string) {
	r := h.route(id, id)
	r.mu.Lock()
	r.lastError = msg
	r.mu.Unlock()
}

// RouteStatus is one route's health as the admin API shows it.
type RouteStatus struct {
	// ID is provider/model, the breaker's key (and the path of the enable
	// endpoint); Route is the configured route it belongs to: the same
	// for an exact route, "provider/pattern" for a pattern route's model.
	ID    string    `json:"id"`
	Route string    `json:"route"`
	State State     `json:"state"`
	Since time.Time `json:"since"`
	// ErrorRate is the failure share of the breaker's current window
	// (reset when the breaker closes).
	ErrorRate float64 `json:"error_rate"`
	// LatencyP50Ms and LatencyP95Ms are nearest-rank percentiles of the
	// total duration of the last 100 successful requests.
	LatencyP50Ms float64 `json:"latency_p50_ms"`
	LatencyP95Ms float64 `json:"latency_p95_ms"`
	TTFBEWMAMs   float64 `json:"ttfb_ewma_ms"`
	InFlight     int     `json:"in_flight"`
	// Requests counts released requests of every outcome; Failures those
	// that ended in Failure or AuthFailure. Both are lifetime totals.
	Requests  int64  `json:"requests"`
	Failures  int64  `json:"failures"`
	LastError string `json:"last_error,omitempty"`
}

// Status returns one route's status, or false if the route is unknown.
func (h *Health) Status(id string) (RouteStatus, bool) {
	r := h.lookup(id)
	if r == nil {
		return RouteStatus{}, false
	}
	return h.status(id, r), true
}

// Snapshot returns the status of every route seen, sorted by ID.
func (h *Health) Snapshot() []RouteStatus {
	h.mu.RLock()
	ids := make([]string, 0, len(h.routes))
	rs := make(map[string]*route, len(h.routes))
	for id, r := range h.routes {
		ids = append(ids, id)
		rs[id] = r
	}
	h.mu.RUnlock()
	sort.Strings(ids)
	out := make([]RouteStatus, 0, len(ids))
	for _, id := range ids {
		out = append(out, h.status(id, rs[id]))
	}
	return out
}

func (h *Health) status(id string, r *route) RouteStatus {
	r.mu.Lock()
	r.advance(h.now(), &h.cfg)
	s := RouteStatus{
		ID:         id,
		Route:      r.group,
		State:      r.state,
		Since:      r.since,
		ErrorRate:  r.window.rate(),
		TTFBEWMAMs: ms(r.ewma),
		InFlight:   r.inFlight,
		Requests:   r.requests,
		Failures:   r.failures,
		LastError:  r.lastError,
	}
	lat := append([]time.Duration(nil), r.latency...)
	r.mu.Unlock()

	// Sort outside the lock: the hot path should not wait on the admin page.
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		s.LatencyP50Ms = ms(percentile(lat, 0.50))
		s.LatencyP95Ms = ms(percentile(lat, 0.95))
	}
	return s
}

// percentile is the nearest-rank percentile of sorted, non-empty d.
func percentile(d []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
