package e2e

import (
	"strings"
	"testing"
)

// providersByID reads GET /api/v1/providers as id → entry.
func (g *gateway) providersByID(t *testing.T) map[string]map[string]any {
	t.Helper()
	st, out := g.admin(t, "GET", "/api/v1/providers", g.AdminKey, "")
	if st != 200 {
		t.Fatalf("providers: %d %s", st, toJSON(out))
	}
	byID := map[string]map[string]any{}
	data, _ := out["data"].([]any)
	for _, d := range data {
		e, _ := d.(map[string]any)
		id, _ := e["id"].(string)
		byID[id] = e
	}
	return byID
}

func TestModelsUnderOnePatternHaveTheirOwnBreakers(t *testing.T) {
	g := start(t, opts{})    // baseConfig: "fake-*" routes to provider fake
	for i := 0; i < 5; i++ { // HealthConfig default: 5 consecutive failures open a breaker
		g.Up.Enqueue(fakeBehavior{Status: 500})
		resp := g.post(t, "/v1/chat/completions", g.Key, chatBody("fake-broken", false))
		resp.Body.Close()
		if resp.StatusCode != 502 {
			t.Fatalf("failure %d: status %d, want 502", i, resp.StatusCode)
		}
	}
	resp := g.post(t, "/v1/chat/completions", g.Key, chatBody("fake-broken", false))
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("fake-broken after 5 failures: status %d, want 503 (its breaker open)", resp.StatusCode)
	}
	resp = g.post(t, "/v1/chat/completions", g.Key, chatBody("fake-fine", false))
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("fake-fine, another model under the same pattern: status %d, want 200: %s", resp.StatusCode, body)
	}

	// The admin view: one entry per provider/model, naming its pattern route.
	byID := g.providersByID(t)
	broken, fine := byID["fake/fake-broken"], byID["fake/fake-fine"]
	if broken["state"] != "open" || fine["state"] != "closed" || broken["route"] != "fake/fake-*" || fine["route"] != "fake/fake-*" {
		t.Fatalf("providers: %s", toJSON(byID))
	}
	// Metrics stay labelled by the configured route: counts per state.
	if g.scrape(t, `switchyard_route_state{route="fake/fake-*",state="open"}`) != 1 ||
		g.scrape(t, `switchyard_route_state{route="fake/fake-*",state="closed"}`) != 1 {
		t.Fatal("switchyard_route_state does not count the pattern route's breakers by state")
	}
	// The operator can re-enable one model's route by its id.
	if st, out := g.admin(t, "POST", "/api/v1/providers/fake/fake-broken/enable", g.AdminKey, ""); st != 200 {
		t.Fatalf("enable: %d %s", st, toJSON(out))
	}
	resp = g.post(t, "/v1/chat/completions", g.Key, chatBody("fake-broken", false))
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("fake-broken after enable: %d", resp.StatusCode)
	}
}

func TestInventedModelNamesAreEvictedAtTheCap(t *testing.T) {
	g := start(t, opts{yaml: baseConfig + `
routing: { max_tracked_routes: 16 }
`})
	for i := 0; i < 40; i++ {
		resp := g.post(t, "/v1/chat/completions", g.Key, chatBody("fake-invented-"+strings.Repeat("x", i), false))
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	if n := len(g.providersByID(t)); n > 16 {
		t.Fatalf("%d routes tracked, want at most routing.max_tracked_routes (16)", n)
	}
	if g.scrape(t, "switchyard_route_health_evictions_total") < 24 {
		t.Fatal("switchyard_route_health_evictions_total did not count the forgotten routes")
	}
}
