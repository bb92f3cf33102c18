package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// pairConfig: model "m" routes to provider a first (priority 0), then b;
// model "solo" only to a, falling back to model "m-b" (only b).
const pairConfig = `
server: { sse_keepalive: 15s }
providers:
  - { name: a, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}", timeout: 5s, first_byte_timeout: 300ms }
  - { name: b, type: openai, base_url: "${FAKE_B_URL}/v1", api_key: "${FAKE_KEY}", timeout: 5s }
models:
  - id: m
    pricing: { prompt: 1, completion: 2 }
    routes:
      - { provider: a, model: up-a, priority: 0 }
      - { provider: b, model: up-b, priority: 1 }
  - id: solo
    pricing: { prompt: 1, completion: 2 }
    routes: [{ provider: a, model: up-a }]
    fallbacks: [m-b]
  - id: m-b
    pricing: { prompt: 1, completion: 2 }
    routes: [{ provider: b, model: up-b }]
`

type pair struct {
	*gateway
	A, B *fakeupstream.Server
}

func startPair(t *testing.T) *pair {
	t.Helper()
	a := fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	b := fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	g := startWith(t, opts{yaml: pairConfig, env: map[string]string{"FAKE_B_URL": b.URL}}, a.URL)
	return &pair{gateway: g, A: a, B: b}
}

type attempt struct {
	Provider, Model, Outcome, Error string
	Status                          int
}

// generation fetches the ledger record of a response id.
func (p *pair) generation(t *testing.T, id string) (attempts []attempt, rec map[string]any) {
	t.Helper()
	// The client has its answer before the handler's deferred finish has
	// queued the record: wait until the gateway knows the generation, then
	// flush the ledger and read the store.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st, _ := p.admin(t, "GET", "/api/v1/generation?id="+id, p.AdminKey, ""); st == 200 || time.Now().After(deadline) {
			break
		}
	}
	p.flush(t)
	g, err := p.Store.GetGeneration(context.Background(), id)
	if err != nil {
		t.Fatalf("generation %s: %v", id, err)
	}
	if err := json.Unmarshal([]byte(g.Attempts), &attempts); err != nil {
		t.Fatalf("attempts %q: %v", g.Attempts, err)
	}
	rec = map[string]any{"cost": int64(g.Cost), "provider": g.Provider, "status": g.Status, "completion": g.TokensCompletion}
	return attempts, rec
}

func chatBody(model string, stream bool) string {
	s := ""
	if stream {
		s = `"stream":true,`
	}
	return `{"model":"` + model + `",` + s + `"messages":[{"role":"user","content":"hi"}]}`
}

func TestFaultInjection(t *testing.T) {
	tests := []struct {
		name       string
		model      string
		stream     bool
		a, b       []fakeBehavior // queued on each fake
		wantStatus int
		wantA      int // requests provider a received
		wantB      int
		wantFinal  string // provider in the ledger
		wantTrail  []string
		check      func(t *testing.T, p *pair, body string)
	}{
		{name: "primary 500, next route answers", model: "m", a: []fakeBehavior{{Status: 500}},
			wantStatus: 200, wantA: 1, wantB: 1, wantFinal: "b", wantTrail: []string{"a:error", "b:ok"}},
		{name: "429 with Retry-After moves on and skips the route after", model: "m", a: []fakeBehavior{{Status: 429, RetryAfter: "30"}},
			wantStatus: 200, wantA: 1, wantB: 1, wantFinal: "b", wantTrail: []string{"a:error", "b:ok"},
			check: func(t *testing.T, p *pair, _ string) {
				resp := p.post(t, "/v1/chat/completions", p.Key, chatBody("m", false))
				resp.Body.Close()
				if resp.StatusCode != 200 || len(p.A.Requests()) != 1 || len(p.B.Requests()) != 2 {
					t.Fatalf("during Retry-After: status %d, a got %d, b got %d", resp.StatusCode, len(p.A.Requests()), len(p.B.Requests()))
				}
			}},
		{name: "hang before first byte times out and fails over", model: "m", a: []fakeBehavior{{FirstByteDelay: 3 * time.Second}},
			wantStatus: 200, wantA: 1, wantB: 1, wantFinal: "b", wantTrail: []string{"a:error", "b:ok"},
			check: func(t *testing.T, p *pair, _ string) {
				if !p.A.WaitCanceled(0, time.Second) {
					t.Fatal("the hung upstream request was not cancelled")
				}
			}},
		{name: "stream hang before first event fails over", model: "m", stream: true, a: []fakeBehavior{{FirstByteDelay: 3 * time.Second}},
			wantStatus: 200, wantA: 1, wantB: 1, wantFinal: "b", wantTrail: []string{"a:error", "b:ok"}},
		{name: "stream dropped after first byte ends with an error chunk and a partial charge", model: "m", stream: true,
			a: []fakeBehavior{{DropAfterChunks: 4, Words: 30}}, wantStatus: 200, wantA: 1, wantB: 0, wantFinal: "a", wantTrail: []string{"a:ok"},
			check: func(t *testing.T, p *pair, body string) {
				if !strings.Contains(body, `"finish_reason":"error"`) || !strings.HasSuffix(strings.TrimSpace(body), "data: [DONE]") {
					t.Fatalf("no error chunk: %s", body)
				}
			}},
		{name: "upstream 400 returns at once", model: "m", a: []fakeBehavior{{Status: 400, Message: "bad temperature"}},
			wantStatus: 400, wantA: 1, wantB: 0, wantFinal: "a", wantTrail: []string{"a:error"}},
		{name: "model fallback after its only route fails", model: "solo", a: []fakeBehavior{{Status: 503}},
			wantStatus: 200, wantA: 1, wantB: 1, wantFinal: "b", wantTrail: []string{"a:error", "b:ok"}},
		{name: "every route fails: the last error", model: "m", a: []fakeBehavior{{Status: 500}}, b: []fakeBehavior{{Status: 502}},
			wantStatus: 502, wantA: 1, wantB: 1, wantFinal: "b", wantTrail: []string{"a:error", "b:error"}},
		{name: "three upstream 401s in a row disable the route until re-enabled", model: "m", a: []fakeBehavior{{Status: 401}, {Status: 401}, {Status: 401}},
			wantStatus: 200, wantA: 1, wantB: 1, wantFinal: "b", wantTrail: []string{"a:error", "b:ok"},
			check: func(t *testing.T, p *pair, _ string) {
				for i := 0; i < 5; i++ {
					resp := p.post(t, "/v1/chat/completions", p.Key, chatBody("m", false))
					resp.Body.Close()
				}
				if n := len(p.A.Requests()); n != 3 {
					t.Fatalf("a got %d requests, want 3: the third 401 disables it", n)
				}
				st, out := p.admin(t, "GET", "/api/v1/providers", p.AdminKey, "")
				if st != 200 || !strings.Contains(toJSON(out), `"state":"disabled"`) {
					t.Fatalf("providers: %d %s", st, toJSON(out))
				}
				if st, _ := p.admin(t, "POST", "/api/v1/providers/a/up-a/enable", p.AdminKey, ""); st != 200 {
					t.Fatalf("enable: %d", st)
				}
				resp := p.post(t, "/v1/chat/completions", p.Key, chatBody("m", false))
				resp.Body.Close()
				if len(p.A.Requests()) != 4 {
					t.Fatal("a re-enabled route got no traffic")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPair(t)
			p.A.Enqueue(tt.a...)
			p.B.Enqueue(tt.b...)
			resp := p.post(t, "/v1/chat/completions", p.Key, chatBody(tt.model, tt.stream))
			body := readAll(t, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if a, b := len(p.A.Requests()), len(p.B.Requests()); a != tt.wantA || b != tt.wantB {
				t.Fatalf("upstream calls a=%d b=%d, want a=%d b=%d", a, b, tt.wantA, tt.wantB)
			}
			id := genID(t, body, resp.Header)
			attempts, rec := p.generation(t, id)
			var trail []string
			for _, a := range attempts {
				trail = append(trail, a.Provider+":"+a.Outcome)
			}
			if strings.Join(trail, ",") != strings.Join(tt.wantTrail, ",") || rec["provider"] != tt.wantFinal {
				t.Fatalf("ledger attempts %v provider %v, want %v via %s", trail, rec["provider"], tt.wantTrail, tt.wantFinal)
			}
			// Only the attempt that produced the answer is charged.
			if cost := rec["cost"].(int64); (tt.wantStatus == 200) != (cost > 0) {
				t.Fatalf("cost %d for status %d", cost, tt.wantStatus)
			}
			if tt.check != nil {
				tt.check(t, p, body)
			}
		})
	}
}

// genID finds the generation id: the response id, or for an error the
// most recent generation.
func genID(t *testing.T, body string, h http.Header) string {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimPrefix(line, "data: ")
		var v struct{ ID string }
		if json.Unmarshal([]byte(line), &v) == nil && strings.HasPrefix(v.ID, "gen-") {
			return v.ID
		}
	}
	return h.Get("X-Generation-Id")
}

func TestCircuitOpensAndProbes(t *testing.T) {
	p := startPair(t)
	p.A.SetDefault(fakeBehavior{Status: 500})
	for i := 0; i < 5; i++ { // HealthConfig default: 5 consecutive failures open the breaker
		resp := p.post(t, "/v1/chat/completions", p.Key, chatBody("m", false))
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d (b should answer)", i, resp.StatusCode)
		}
	}
	before := len(p.A.Requests())
	for i := 0; i < 10; i++ {
		resp := p.post(t, "/v1/chat/completions", p.Key, chatBody("m", false))
		resp.Body.Close()
	}
	if got := len(p.A.Requests()); got != before {
		t.Fatalf("an open circuit still sent %d requests to the failing route", got-before)
	}
	// Every route open: 503 no_available_provider.
	p.B.SetDefault(fakeBehavior{Status: 500})
	for i := 0; i < 6; i++ {
		resp := p.post(t, "/v1/chat/completions", p.Key, chatBody("m", false))
		resp.Body.Close()
	}
	resp := p.post(t, "/v1/chat/completions", p.Key, chatBody("m", false))
	defer resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("all routes open: status %d, want 503", resp.StatusCode)
	}
	if e := decodeEnvelope(t, resp); code(e) != "no_available_provider" {
		t.Fatalf("code %q", code(e))
	}
}

func TestIdleTimeoutEndsASilentStream(t *testing.T) {
	g := start(t, opts{yaml: `
providers:
  - { name: fake, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}", idle_timeout: 100ms }
models: [{ id: "*", routes: [{ provider: fake }] }]
`, up: fakeOpts{Default: fakeBehavior{ChunkDelay: 400 * time.Millisecond, Words: 5}}})
	began := time.Now()
	resp := g.post(t, "/v1/chat/completions", g.Key, chatBody("m", true))
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if !strings.Contains(body, `"finish_reason":"error"`) || !strings.Contains(body, "idle_timeout") {
		t.Fatalf("a stream silent for longer than idle_timeout should end with an error chunk naming it: %s", body)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("took %v: the idle timeout did not cut the stream", d)
	}
	if !g.Up.WaitCanceled(0, time.Second) {
		t.Fatal("the silent upstream request was not cancelled")
	}
}
