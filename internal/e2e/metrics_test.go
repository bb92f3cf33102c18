package e2e

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// scrape reads /metrics with the admin key and returns the value of the
// first series whose line starts with prefix (0 if absent).
func (g *gateway) scrape(t *testing.T, prefix string) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", g.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+g.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := readAll(t, resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %d %s", resp.StatusCode, body)
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			return v
		}
	}
	return 0
}

func TestMetricsMoveAsRequestsFlow(t *testing.T) {
	g := start(t, opts{})
	ok := `switchyard_requests_total{model="gpt-4o",provider="fake",status="2xx"}`
	upErr := `switchyard_upstream_errors_total{kind="server_error",provider="fake"}`
	tokens := `switchyard_tokens_total{kind="completion",model="gpt-4o",provider="fake"}`
	before, errsBefore := g.scrape(t, ok), g.scrape(t, upErr)
	for i := 0; i < 3; i++ {
		resp := g.post(t, "/v1/chat/completions", g.Key, chatBody("gpt-4o", i == 0))
		readAll(t, resp.Body)
		resp.Body.Close()
	}
	g.Up.Enqueue(fakeBehavior{Status: 500})
	resp := g.post(t, "/v1/chat/completions", g.Key, chatBody("gpt-4o", false))
	resp.Body.Close()
	if got := g.scrape(t, ok); got != before+3 {
		t.Fatalf("requests_total moved %v, want 3", got-before)
	}
	if got := g.scrape(t, upErr); got != errsBefore+1 {
		t.Fatalf("upstream_errors_total moved %v, want 1", got-errsBefore)
	}
	if g.scrape(t, tokens) <= 0 || g.scrape(t, `switchyard_cost_usd_total{model="gpt-4o"`) <= 0 {
		t.Fatal("tokens or cost did not move")
	}
	if g.scrape(t, `switchyard_time_to_first_token_seconds_count{model="gpt-4o"`) != 1 {
		t.Fatal("one stream should have one time-to-first-token sample")
	}
	if g.scrape(t, `switchyard_route_state{route="fake/gpt-4o-2024-08-06",state="closed"}`) != 1 {
		t.Fatal("route state missing")
	}
	// Client-chosen names never become label values: a catch-all name is
	// counted under its pattern.
	resp = g.post(t, "/v1/chat/completions", g.Key, chatBody("any-name-a-client-makes-up", false))
	resp.Body.Close()
	req, _ := http.NewRequest("GET", g.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+g.AdminKey)
	r2, _ := http.DefaultClient.Do(req)
	body := readAll(t, r2.Body)
	r2.Body.Close()
	if strings.Contains(body, "any-name-a-client-makes-up") || !regexp.MustCompile(`model="\*"`).MatchString(body) {
		for _, l := range strings.Split(body, "\n") {
			if strings.Contains(l, "any-name") || strings.Contains(l, "requests_total") {
				t.Log(l)
			}
		}
		t.Fatal("a client-chosen model name became a label value")
	}
	// Metrics are for the admin key only.
	req, _ = http.NewRequest("GET", g.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+g.Key)
	r3, _ := http.DefaultClient.Do(req)
	r3.Body.Close()
	if r3.StatusCode != 403 {
		t.Fatalf("an API key read metrics: %d", r3.StatusCode)
	}
}
