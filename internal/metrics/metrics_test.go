package metrics

import (
	"strings"
	"testing"
	"time"
)

// TestObserveRequestSeries: requests count into their model, provider and
// status class, each kind of series only once it has a value.
func TestObserveRequestSeries(t *testing.T) {
	m := New()
	ok := Request{Model: "gpt-4o", Provider: "up", Status: 200, Latency: time.Second, TTFT: time.Millisecond, Prompt: 3, Complete: 5, CostUSD: 0.5}
	m.ObserveRequest(ok)
	m.ObserveRequest(ok)
	m.ObserveRequest(Request{Model: "gpt-4o", Provider: "up", Status: 502, Latency: time.Second})
	m.ObserveRequest(Request{Status: 499})

	got := series(t, m)
	want := map[string]float64{
		`switchyard_requests_total{model="gpt-4o",provider="up",status="2xx"}`:           2,
		`switchyard_requests_total{model="gpt-4o",provider="up",status="5xx"}`:           1,
		`switchyard_requests_total{model="none",provider="none",status="499"}`:           1,
		`switchyard_request_duration_seconds{model="gpt-4o",provider="up",status="2xx"}`: 2,
		`switchyard_request_duration_seconds{model="gpt-4o",provider="up",status="5xx"}`: 1,
		`switchyard_request_duration_seconds{model="none",provider="none",status="499"}`: 1,
		`switchyard_time_to_first_token_seconds{model="gpt-4o",provider="up"}`:           2,
		`switchyard_tokens_total{kind="prompt",model="gpt-4o",provider="up"}`:            6,
		`switchyard_tokens_total{kind="completion",model="gpt-4o",provider="up"}`:        10,
		`switchyard_cost_usd_total{model="gpt-4o",provider="up"}`:                        1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	// Nothing else: the 502 and the 499 had no tokens, cost or first token.
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %s = %v", k, got[k])
		}
	}
}

// series reads the request series from m's registry: counters' values and
// histograms' sample counts, by name{labels}.
func series(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "switchyard_") || name == "switchyard_streams_in_flight" || name == "switchyard_ratelimit_redis_errors_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			var labels []string
			for _, l := range mt.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			k := name + "{" + strings.Join(labels, ",") + "}"
			switch {
			case mt.GetCounter() != nil:
				out[k] = mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				out[k] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
