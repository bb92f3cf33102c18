package e2e

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// allowConfig: "big-1" is served by a and falls back to "other" (b);
// "big-2" is served by b.
const allowConfig = `
providers:
  - { name: a, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}" }
  - { name: b, type: openai, base_url: "${FAKE_B_URL}/v1", api_key: "${FAKE_KEY}" }
models:
  - id: big-1
    routes: [{ provider: a, model: up-big }]
    fallbacks: [other]
  - id: big-2
    routes: [{ provider: b, model: up-big-2 }]
  - id: other
    routes: [{ provider: b, model: up-other }]
`

func TestAllowedModelsHoldForEveryFallback(t *testing.T) {
	a := fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	b := fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	g := startWith(t, opts{yaml: allowConfig, env: map[string]string{"FAKE_B_URL": b.URL}}, a.URL)
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"allowed_models":["big-*"]}`)
	if st != 201 {
		t.Fatalf("create key: %d %v", st, out)
	}
	limited := out["key"].(string)
	chat := func(key string, extra ...option.RequestOption) (*openai.ChatCompletion, error) {
		return g.client(append([]option.RequestOption{option.WithAPIKey(key)}, extra...)...).Chat.Completions.New(context.Background(),
			openai.ChatCompletionNewParams{Model: "big-1", Messages: userMsg("hi")})
	}
	ignoreA := option.WithJSONSet("provider", map[string]any{"ignore": []string{"a"}})

	t.Run("request models naming a disallowed model is refused", func(t *testing.T) {
		_, err := chat(limited, option.WithJSONSet("models", []string{"other"}), ignoreA)
		wantAPIError(t, err, 403, "model_not_allowed")
		if n := len(b.Requests()); n != 0 {
			t.Fatalf("b served %d requests for a model the key may not use", n)
		}
	})
	t.Run("request models naming an allowed model is served", func(t *testing.T) {
		b.Reset()
		if _, err := chat(limited, option.WithJSONSet("models", []string{"big-2"}), ignoreA); err != nil {
			t.Fatal(err)
		}
		if last := b.Last(); len(b.Requests()) != 1 || !containsModel(last.Body, "up-big-2") {
			t.Fatalf("big-2 not served by b: %s", last.Body)
		}
	})
	t.Run("a catalogue fallback the key may not use is skipped", func(t *testing.T) {
		b.Reset()
		a.Enqueue(fakeBehavior{Status: 500})
		_, err := chat(limited)
		wantAPIError(t, err, 502, "upstream_error")
		if n := len(b.Requests()); n != 0 {
			t.Fatalf("b served the fallback 'other' to a key limited to big-*: %d requests", n)
		}
	})
	t.Run("the same fallback serves a key without a limit", func(t *testing.T) {
		b.Reset()
		a.Enqueue(fakeBehavior{Status: 500})
		if _, err := chat(g.Key); err != nil {
			t.Fatal(err)
		}
		if len(b.Requests()) != 1 {
			t.Fatal("the fallback did not serve an unrestricted key")
		}
	})
}

func containsModel(body []byte, model string) bool {
	var v struct{ Model string }
	return json.Unmarshal(body, &v) == nil && v.Model == model
}
