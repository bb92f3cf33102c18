// Package metrics is the gateway's Prometheus instrumentation.
//
// Label values are bounded by the configuration, never by what clients send:
// the model label is the catalogue entry that served the request (a pattern
// such as "gpt-*" stays the pattern) or "PROVIDER:*" for PROVIDER/MODEL
// names; there are no per-key labels.
package metrics

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Metrics holds the gateway's series. A nil *Metrics records nothing.
type Metrics struct {
	Registry *prometheus.Registry

	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	ttft      *prometheus.HistogramVec
	tokens    *prometheus.CounterVec
	cost      *prometheus.CounterVec
	upstream  *prometheus.CounterVec
	streaming prometheus.Gauge
	limited   *prometheus.CounterVec
	redisErrs prometheus.Counter

	// series caches ObserveRequest's children by model, provider and
	// status class (a seriesKey): WithLabelValues hashes, validates and
	// looks up its labels on every call, six times a request.
	series sync.Map
}

type seriesKey struct{ model, provider, class string }

// requestSeries are the children one seriesKey's requests update; those
// not every request touches are made on first use, as WithLabelValues
// would, so that no series appears before it has a value.
type requestSeries struct {
	requests                 prometheus.Counter
	latency                  prometheus.Observer
	ttft                     func() prometheus.Observer
	prompt, completion, cost func() prometheus.Counter
}

func (m *Metrics) seriesOf(model, provider, class string) *requestSeries {
	k := seriesKey{model, provider, class}
	if s, ok := m.series.Load(k); ok {
		return s.(*requestSeries)
	}
	s := &requestSeries{
		requests: m.requests.WithLabelValues(model, provider, class),
		latency:  m.latency.WithLabelValues(model, provider, class),
		ttft:     sync.OnceValue(func() prometheus.Observer { return m.ttft.WithLabelValues(model, provider) }),
		prompt:   sync.OnceValue(func() prometheus.Counter { return m.tokens.WithLabelValues(model, provider, "prompt") }),
		completion: sync.OnceValue(func() prometheus.Counter {
			return m.tokens.WithLabelValues(model, provider, "completion")
		}),
		cost: sync.OnceValue(func() prometheus.Counter { return m.cost.WithLabelValues(model, provider) }),
	}
	got, _ := m.series.LoadOrStore(k, s)
	return got.(*requestSeries)
}

// New registers the gateway's series (and the Go runtime and process ones).
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_requests_total",
			Help: "Model requests that passed authentication, by model, provider and status class."}, []string{"model", "provider", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchyard_request_duration_seconds",
			Help: "Whole request latency, by model, provider and status class.", Buckets: buckets}, []string{"model", "provider", "status"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchyard_time_to_first_token_seconds",
			Help: "Time until the first streamed event reached the client.", Buckets: buckets}, []string{"model", "provider"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_tokens_total",
			Help: "Tokens metered, by model, provider and kind (prompt, completion)."}, []string{"model", "provider", "kind"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_cost_usd_total",
			Help: "USD charged, by model and provider."}, []string{"model", "provider"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_upstream_errors_total",
			Help: "Failed upstream attempts, by provider and kind (" + strings.Join(UpstreamErrorKinds, ", ") + ")."}, []string{"provider", "kind"}),
		streaming: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchyard_streams_in_flight",
			Help: "Streams currently being relayed."}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchyard_rate_limited_total",
			Help: "Requests refused with 429 by a key's or an account's rate limit, by scope (key, account) and limit (requests, tokens, concurrency)."}, []string{"scope", "limit"}),
		redisErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchyard_ratelimit_redis_errors_total",
			Help: "Rate limit checks and settles that Redis failed; the instance enforces limits locally meanwhile."}),
	}
	reg.MustRegister(m.requests, m.latency, m.ttft, m.tokens, m.cost, m.upstream, m.streaming, m.limited, m.redisErrs)
	return m
}

// Request is what one finished request reports.
type Request struct {
	Model, Provider  string
	Status           int
	Latency, TTFT    time.Duration
	Prompt, Complete int64
	CostUSD          float64
}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// StatusClass maps a status to its class label ("2xx", "4xx", "499", "5xx").
func StatusClass(status int) string {
	switch {
	case status == 499:
		return "499"
	case status >= 100 && status < 600:
		return statusClasses[status/100-1]
	}
	return "other"
}

// ObserveRequest records one finished request.
func (m *Metrics) ObserveRequest(r Request) {
	if m == nil {
		return
	}
	s := m.seriesOf(nonEmpty(r.Model), nonEmpty(r.Provider), StatusClass(r.Status))
	s.requests.Inc()
	s.latency.Observe(r.Latency.Seconds())
	if r.TTFT > 0 {
		s.ttft().Observe(r.TTFT.Seconds())
	}
	if r.Prompt > 0 {
		s.prompt().Add(float64(r.Prompt))
	}
	if r.Complete > 0 {
		s.completion().Add(float64(r.Complete))
	}
	if r.CostUSD > 0 {
		s.cost().Add(r.CostUSD)
	}
}

// The kinds of switchyard_upstream_errors_total are the gateway's one
// error classification's (llm.Classify, next to llm.Error): the relay
// labels each failed attempt with one of these, and the help text lists
// them from here, so the two cannot drift.
const (
	KindTimeout      = llm.FailTimeout      // a clock of the attempt fired
	KindConnect      = llm.FailConnect      // no answer at all
	KindRateLimited  = llm.FailRateLimited  // 429
	KindAuth         = llm.FailAuth         // the provider refused the gateway's credential
	KindServerError  = llm.FailServerError  // 5xx
	KindClientError  = llm.FailClientError  // another 4xx
	KindBadResponse  = llm.FailBadResponse  // a 2xx that could not be relayed
	KindStream       = llm.FailStream       // a stream that broke after its first event
	KindUsageOverrun = llm.FailUsageOverrun // more output than the request allowed
	KindOther        = llm.FailOther
)

// UpstreamErrorKinds lists every kind, for the help text and dashboards.
var UpstreamErrorKinds = []string{KindTimeout, KindConnect, KindRateLimited, KindAuth, KindServerError, KindClientError, KindBadResponse, KindStream, KindUsageOverrun, KindOther}

// UpstreamError counts one failed attempt.
func (m *Metrics) UpstreamError(provider, kind string) {
	if m == nil {
		return
	}
	m.upstream.WithLabelValues(nonEmpty(provider), kind).Inc()
}

// RateLimited counts a request refused by a rate limit.
func (m *Metrics) RateLimited(scope, limit string) {
	if m != nil {
		m.limited.WithLabelValues(scope, limit).Inc()
	}
}

// RateLimitRedisError counts a failed Redis call of the rate limiter.
func (m *Metrics) RateLimitRedisError() {
	if m != nil {
		m.redisErrs.Inc()
	}
}

// StreamStarted and StreamEnded track streams in flight.
func (m *Metrics) StreamStarted() {
	if m != nil {
		m.streaming.Inc()
	}
}

// StreamEnded is StreamStarted's pair.
func (m *Metrics) StreamEnded() {
	if m != nil {
		m.streaming.Dec()
	}
}

func nonEmpty(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Func registers a gauge read at scrape time (ledger queue depth, flush time).
func (m *Metrics) Func(name, help string, f func() float64) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// RouteStates exposes route health as switchyard_route_state{route,state}:
// how many of the configured route's breakers (one per upstream model) are
// in each state, read at scrape time.
func (m *Metrics) RouteStates(snapshot func() []RouteState) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(&routeCollector{snapshot: snapshot,
		desc: prometheus.NewDesc("switchyard_route_state", "Route health: how many of the route's breakers are in each state (closed, open, half_open, disabled).", []string{"route", "state"}, nil)})
}

// RouteState is one configured route's count of breakers in one state, for
// RouteStates.
type RouteState struct {
	Route, State string
	N            int
}

type routeCollector struct {
	snapshot func() []RouteState
	desc     *prometheus.Desc
}

func (c *routeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *routeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.snapshot() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(r.N), r.Route, r.State)
	}
}

// CounterFunc registers a counter read at scrape time, with fixed labels
// (connections refused by each limit).
func (m *Metrics) CounterFunc(name, help string, labels map[string]string, f func() float64) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f))
}
