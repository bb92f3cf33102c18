package e2e

import (
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

func startStrategy(t *testing.T, strategy string, weightA, weightB int) *pair {
	t.Helper()
	a := fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	b := fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	y := fmt.Sprintf(`
providers:
  - { name: a, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}" }
  - { name: b, type: openai, base_url: "${FAKE_B_URL}/v1", api_key: "${FAKE_KEY}" }
models:
  - id: m
    strategy: %q
    routes:
      - { provider: a, model: up-a, weight: %d }
      - { provider: b, model: up-b, weight: %d }
`, strategy, weightA, weightB)
	g := startWith(t, opts{yaml: y, env: map[string]string{"FAKE_B_URL": b.URL}}, a.URL)
	return &pair{gateway: g, A: a, B: b}
}

func (p *pair) send(t *testing.T, n int, header ...string) {
	t.Helper()
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest("POST", p.URL+"/v1/chat/completions", strings.NewReader(chatBody("m", false)))
		req.Header.Set("Authorization", "Bearer "+p.Key)
		for j := 0; j+1 < len(header); j += 2 {
			req.Header.Set(header[j], header[j+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func TestWeightedChoiceFollowsWeights(t *testing.T) {
	p := startStrategy(t, "weighted", 3, 1)
	const n = 400
	p.send(t, n)
	share := float64(len(p.A.Requests())) / n
	// Binomial(400, 0.75) has a standard deviation of ~0.022; allow 3σ.
	if math.Abs(share-0.75) > 0.066 {
		t.Fatalf("route a got %.3f of traffic, want 0.75 ± 0.066", share)
	}
}

func TestLeastLatencyShiftsAwayFromASlowRoute(t *testing.T) {
	p := startStrategy(t, "least-latency", 1, 1)
	p.send(t, 10) // both routes get measured
	p.A.SetDefault(fakeBehavior{FirstByteDelay: 60 * time.Millisecond})
	p.send(t, 10) // a's latency average rises
	aBefore, bBefore := len(p.A.Requests()), len(p.B.Requests())
	p.send(t, 40)
	a, b := len(p.A.Requests())-aBefore, len(p.B.Requests())-bBefore
	if a > 4 || b < 36 {
		t.Fatalf("after a slowed down: a got %d, b got %d of 40", a, b)
	}
}

func TestStickySessionStaysOnItsRoute(t *testing.T) {
	p := startStrategy(t, "weighted", 1, 1)
	p.send(t, 20, "X-Session-Id", "conversation-42")
	a, b := len(p.A.Requests()), len(p.B.Requests())
	if a != 0 && b != 0 {
		t.Fatalf("one session spread over both routes: a=%d b=%d", a, b)
	}
}

func TestNoGoroutineLeaksAfterFaults(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("faults", func(t *testing.T) {
		p := startPair(t)
		p.A.Enqueue(fakeBehavior{FirstByteDelay: 3 * time.Second}, fakeBehavior{DropBeforeHeaders: true}, fakeBehavior{Status: 500})
		p.B.Enqueue(fakeBehavior{DropAfterChunks: 2, Words: 10})
		for i := 0; i < 4; i++ {
			resp := p.post(t, "/v1/chat/completions", p.Key, chatBody("m", i%2 == 0))
			readAll(t, resp.Body)
			resp.Body.Close()
		}
		http.DefaultClient.CloseIdleConnections()
	})
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
