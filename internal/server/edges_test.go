package server_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/server"
)

// sendTo makes one request to g with the given headers and returns the
// answer and its body.
func sendTo(t *testing.T, g *testGateway, method, path, key string, headers map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const chatBody = `{"model":"chat-a","messages":[{"role":"user","content":"Hi"}]}`

func preflight(origin string) map[string]string {
	return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type, x-stainless-os"}
}

func TestCORSIsOffUnlessOriginsAreListed(t *testing.T) {
	g := startServer(t, parse(t, simConfig("1", "2", "0s")), server.Options{})
	resp, _ := sendTo(t, g, http.MethodOptions, "/v1/chat/completions", "", preflight("https://app.example"), "")
	if resp.StatusCode == http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight with CORS off: status %d, allow-origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp, body := sendTo(t, g, http.MethodPost, "/v1/chat/completions", g.key, map[string]string{"Origin": "https://app.example"}, chatBody)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("request with CORS off: status %d, allow-origin %q: %s", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), body)
	}
}

func TestCORSAnswersPreflightsOfAllowedOriginsOnly(t *testing.T) {
	cfg := simConfig("1", "2", "0s") + `
server:
  cors:
    allowed_origins: ["https://app.example", "http://localhost:3000"]
    max_age: 5m
`
	g := startServer(t, parse(t, cfg), server.Options{})

	resp, body := sendTo(t, g, http.MethodOptions, "/v1/chat/completions", "", preflight("https://app.example"), "")
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		h.Get("Access-Control-Allow-Headers") != "authorization, content-type, x-stainless-os" ||
		h.Get("Access-Control-Max-Age") != "300" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("allowed preflight: status %d, headers %v: %s", resp.StatusCode, h, body)
	}
	if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Errorf("preflight answer without Vary: Origin: %v", h.Values("Vary"))
	}

	// Another origin's preflight is refused, in the OpenAI envelope.
	resp, body = sendTo(t, g, http.MethodOptions, "/v1/chat/completions", "", preflight("https://evil.example"), "")
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" ||
		gjson.Get(body, "error.code").String() != "cors_origin_not_allowed" {
		t.Fatalf("other origin's preflight: status %d, allow-origin %q: %s", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), body)
	}

	// A header list that is not a list of names is not echoed.
	bad := preflight("https://app.example")
	bad["Access-Control-Request-Headers"] = "authorization, x-bad(name), <script>"
	if resp, _ = sendTo(t, g, http.MethodOptions, "/v1/chat/completions", "", bad, ""); resp.Header.Get("Access-Control-Allow-Headers") != "" {
		t.Errorf("a malformed header list was echoed: %q", resp.Header.Get("Access-Control-Allow-Headers"))
	}

	// The request itself: the origin may read the answer and its headers.
	resp, body = sendTo(t, g, http.MethodPost, "/v1/chat/completions", g.key, map[string]string{"Origin": "http://localhost:3000"}, chatBody)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Fatalf("allowed request: status %d, headers %v: %s", resp.StatusCode, resp.Header, body)
	}
	// Another origin's request is served, without the grant: the browser
	// keeps the answer from its page.
	resp, _ = sendTo(t, g, http.MethodPost, "/v1/chat/completions", g.key, map[string]string{"Origin": "https://evil.example"}, chatBody)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin granted: %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
	// The console is never opened to other origins.
	resp, _ = sendTo(t, g, http.MethodGet, "/console/signin", "", map[string]string{"Origin": "https://app.example"}, "")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("console page granted to another origin: %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestCORSWildcardAndReload(t *testing.T) {
	g := startServer(t, parse(t, simConfig("1", "2", "0s")), server.Options{})
	cfg := parse(t, simConfig("1", "2", "0s")+`
server:
  cors: { allowed_origins: ["*"] }
`)
	if err := g.srv.Reload(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	resp, _ := sendTo(t, g, http.MethodOptions, "/api/v1/key", "", preflight("https://anything.example"), "")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("after the reload: status %d, headers %v", resp.StatusCode, resp.Header)
	}
}

// clock is a settable time for the failure windows.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestFailedAuthenticationsBlockTheAddressForTheRestOfTheMinute(t *testing.T) {
	clk := &clock{t: time.Now()}
	cfg := simConfig("1", "2", "0s") + `
server:
  auth_failures_per_minute: 3
  trusted_proxies: ["127.0.0.1", "::1"]
`
	g := startServer(t, parse(t, cfg), server.Options{Now: clk.now})
	from := func(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }
	bad := "sk-sy-not-a-key-" + strings.Repeat("x", 30)

	for i := range 4 {
		if resp, body := sendTo(t, g, http.MethodPost, "/v1/chat/completions", bad, from("203.0.113.7"), chatBody); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d: %s", i+1, resp.StatusCode, body)
		}
	}
	// Past the limit: refused before any key is looked at, the valid one too.
	resp, body := sendTo(t, g, http.MethodPost, "/v1/chat/completions", g.key, from("203.0.113.7"), chatBody)
	if resp.StatusCode != http.StatusTooManyRequests || gjson.Get(body, "error.code").String() != "too_many_auth_failures" ||
		resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("blocked address: status %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// The management API too.
	if resp, _ = sendTo(t, g, http.MethodGet, "/api/v1/key", g.key, from("203.0.113.7"), ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("blocked address on /api/v1/key: status %d", resp.StatusCode)
	}
	// Another client behind the same proxy is served.
	if resp, body = sendTo(t, g, http.MethodPost, "/v1/chat/completions", g.key, from("198.51.100.2"), chatBody); resp.StatusCode != http.StatusOK {
		t.Fatalf("another address: status %d: %s", resp.StatusCode, body)
	}
	// A made-up address left of the real one does not escape the block.
	if resp, _ = sendTo(t, g, http.MethodPost, "/v1/chat/completions", g.key, from("10.9.9.9, 203.0.113.7"), chatBody); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("spoofed X-Forwarded-For escaped the block: status %d", resp.StatusCode)
	}
	clk.advance(30 * time.Second)
	if resp, _ = sendTo(t, g, http.MethodPost, "/v1/chat/completions", g.key, from("203.0.113.7"), chatBody); resp.Header.Get("Retry-After") != "30" {
		t.Fatalf("half way: status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	clk.advance(30 * time.Second)
	if resp, body = sendTo(t, g, http.MethodPost, "/v1/chat/completions", g.key, from("203.0.113.7"), chatBody); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the minute: status %d: %s", resp.StatusCode, body)
	}
}

func TestAuthFailureLimitCanBeTurnedOff(t *testing.T) {
	g := startServer(t, parse(t, simConfig("1", "2", "0s")+"\nserver: { auth_failures_per_minute: -1 }\n"), server.Options{})
	for i := range 70 {
		if resp, _ := sendTo(t, g, http.MethodGet, "/api/v1/key", "sk-wrong-"+strings.Repeat("y", 30), nil, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, resp.StatusCode)
		}
	}
	if resp, _ := sendTo(t, g, http.MethodGet, "/api/v1/key", g.key, nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("valid key after 70 failures with the limit off: status %d", resp.StatusCode)
	}
}
