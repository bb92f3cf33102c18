package e2e

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// manualClock is the gateway's clock in tests that cross a cooldown; it
// starts at the real time and moves only when told.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func startPairAt(t *testing.T, now func() time.Time) *pair {
	t.Helper()
	a := fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	b := fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	g := startWith(t, opts{yaml: pairConfig, env: map[string]string{"FAKE_B_URL": b.URL}, now: now}, a.URL)
	return &pair{gateway: g, A: a, B: b}
}

func chatM(p *pair) (*openai.ChatCompletion, error) {
	return p.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "m", Messages: userMsg("hi")})
}

func TestForbiddenAboutTheRequestGoesToTheClientAndKeepsTheRoute(t *testing.T) {
	p := startPair(t)
	// OpenRouter's answer to moderation-flagged input: a 403 that is about
	// the request, not the gateway's key.
	flagged := fakeBehavior{Status: 403, Message: "Your chosen model requires moderation and your input was flagged"}
	for i := 0; i < 4; i++ {
		p.A.Enqueue(flagged)
		_, err := chatM(p)
		var e *openai.Error
		if !errors.As(err, &e) || e.StatusCode != 403 || !strings.Contains(e.Message, "flagged") {
			t.Fatalf("request %d: err = %v, want the provider's 403", i, err)
		}
	}
	if a, b := len(p.A.Requests()), len(p.B.Requests()); a != 4 || b != 0 {
		t.Fatalf("a got %d, b got %d; want 4 and 0: a request's own 403 is not retried elsewhere", a, b)
	}
	if st := p.providersByID(t)["a/up-a"]["state"]; st != "closed" {
		t.Fatalf("route a/up-a is %v after 403s about the input, want closed", st)
	}
	if _, err := chatM(p); err != nil || len(p.A.Requests()) != 5 {
		t.Fatalf("the next request was not served by a: %v", err)
	}
}

func TestCredentialRefusalsInARowDisableARouteUntilAProbeAfterTheCooldown(t *testing.T) {
	tests := []struct {
		name    string
		refusal fakeBehavior
	}{
		{name: "401", refusal: fakeBehavior{Status: 401}},
		{name: "403 invalid_api_key", refusal: fakeBehavior{Status: 403, ErrorCode: "invalid_api_key", Message: "key revoked"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &manualClock{t: time.Now()}
			p := startPairAt(t, clk.Now)
			p.A.Enqueue(tt.refusal, tt.refusal, tt.refusal)
			for i := 0; i < 3; i++ {
				resp, err := chatM(p)
				if err != nil {
					t.Fatalf("request %d: %v (b should answer)", i, err)
				}
				attempts, _ := p.generation(t, resp.ID)
				if len(attempts) != 2 || attempts[0].Provider != "a" || attempts[0].Outcome != "error" {
					t.Fatalf("request %d: attempts %+v, want a refused then b", i, attempts)
				}
			}
			if st := p.providersByID(t)["a/up-a"]["state"]; st != "disabled" {
				t.Fatalf("after 3 refusals a/up-a is %v, want disabled", st)
			}
			if _, err := chatM(p); err != nil || len(p.A.Requests()) != 3 {
				t.Fatalf("a disabled route was tried (a got %d): %v", len(p.A.Requests()), err)
			}
			// routing.auth_cooldown (default 5m) later one probe goes to a;
			// the credential works again, and the route is back.
			clk.Advance(5 * time.Minute)
			resp, err := chatM(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, rec := p.generation(t, resp.ID); rec["provider"] != "a" {
				t.Fatalf("after the cooldown the probe went to %v, want a", rec["provider"])
			}
			if st := p.providersByID(t)["a/up-a"]["state"]; st != "closed" {
				t.Fatalf("after a good probe a/up-a is %v, want closed", st)
			}
		})
	}
}
