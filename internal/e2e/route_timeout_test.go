package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// timeoutPairConfig: model "m" tries provider a (route timeout 300ms, no
// first_byte_timeout) before b; "m-a" is a alone by route timeout, and
// "slow-a" is a alone with only the provider's own 300ms timeout.
const timeoutPairConfig = `
providers:
  - { name: a, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}", timeout: "${A_TIMEOUT:-5s}" }
  - { name: b, type: openai, base_url: "${FAKE_B_URL}/v1", api_key: "${FAKE_KEY}", timeout: 5s }
models:
  - id: m
    routes:
      - { provider: a, model: up-a, priority: 0, timeout: 300ms }
      - { provider: b, model: up-b, priority: 1 }
  - id: m-a
    routes: [{ provider: a, model: up-a, timeout: 300ms }]
  - id: slow-a
    routes: [{ provider: a, model: up-a }]
`

func startTimeoutPair(t *testing.T, env map[string]string) *pair {
	t.Helper()
	a := fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	b := fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	e := map[string]string{"FAKE_B_URL": b.URL}
	for k, v := range env {
		e[k] = v
	}
	g := startWith(t, opts{yaml: timeoutPairConfig, env: e}, a.URL)
	return &pair{gateway: g, A: a, B: b}
}

func TestRouteTimeoutFailsOverToTheNextRoute(t *testing.T) {
	p := startTimeoutPair(t, nil)
	p.A.SetDefault(fakeBehavior{FirstByteDelay: 5 * time.Second}) // hangs past the route's 300ms
	for _, stream := range []bool{false, true} {
		var id string
		if stream {
			s := p.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "m", Messages: userMsg("hi")})
			for s.Next() {
				id = s.Current().ID
			}
			if err := s.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
		} else {
			resp, err := p.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "m", Messages: userMsg("hi")})
			if err != nil {
				t.Fatalf("a route timeout should fail over to b: %v", err)
			}
			id = resp.ID
		}
		attempts, rec := p.generation(t, id)
		if len(attempts) != 2 || attempts[0].Provider != "a" || attempts[0].Outcome != "error" || attempts[0].Error != "upstream_timeout" ||
			attempts[1].Provider != "b" || attempts[1].Outcome != "ok" || rec["provider"] != "b" {
			t.Fatalf("stream=%v: attempts %+v, served by %v; want a timed out, then b ok", stream, attempts, rec["provider"])
		}
	}
	if !p.A.WaitCanceled(0, 2*time.Second) {
		t.Fatal("the hung upstream request was not cancelled")
	}
}

func TestTimeoutMessageNamesTheClockThatFired(t *testing.T) {
	tests := []struct {
		name  string
		model string
		env   map[string]string
		want  string
	}{
		{name: "route timeout", model: "m-a", want: "did not answer within 300ms (the route's timeout)"},
		{name: "provider timeout", model: "slow-a", env: map[string]string{"A_TIMEOUT": "300ms"}, want: "did not answer within 300ms (provider 'a' timeout)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startTimeoutPair(t, tt.env)
			p.A.SetDefault(fakeBehavior{FirstByteDelay: 5 * time.Second})
			_, err := p.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: tt.model, Messages: userMsg("hi")})
			var e *openai.Error
			if !errors.As(err, &e) || e.StatusCode != 504 || e.Code != "upstream_timeout" {
				t.Fatalf("err = %v, want 504 upstream_timeout", err)
			}
			if !strings.Contains(e.Message, tt.want) {
				t.Fatalf("message %q does not name the clock that fired (%q)", e.Message, tt.want)
			}
		})
	}
}
