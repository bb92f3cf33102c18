package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// TestMalformedRequestIs400EvenWhileTheRouteIsOpen: the body used to be
// decoded only when an attempt started, so while a route's breaker was open
// a malformed Anthropic or Gemini request got 503 no_available_provider
// (which SDKs retry) instead of 400.
func TestMalformedRequestIs400EvenWhileTheRouteIsOpen(t *testing.T) {
	g := start(t, opts{up: fakeupstream.Options{Default: fakeupstream.Behavior{Status: 500}}})
	good := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	for range 8 { // past the breaker's failure threshold (5)
		resp := g.post(t, "/v1/chat/completions", g.Key, good)
		resp.Body.Close()
	}
	if st, body := postKey(t, g, "/v1/chat/completions", good); st != http.StatusServiceUnavailable {
		t.Fatalf("the breaker should be open now: %d %.200s", st, body)
	}
	for _, tc := range []struct{ path, body string }{
		{"/v1/messages", `{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"robot","content":"hi"}]}`},
		{"/v1/messages", `{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":42}]}`},
		{"/v1beta/models/gpt-4o:generateContent", `{"contents":[{"role":"user","parts":[{"text":7}]}]}`},
	} {
		st, body := postKey(t, g, tc.path, tc.body)
		if st != http.StatusBadRequest {
			t.Errorf("%s %s: %d %.300s", tc.path, tc.body, st, body)
		}
		if strings.Contains(body, "no_available_provider") {
			t.Errorf("routing state leaked into a validation answer: %s", body)
		}
	}
}

// TestAffordableRequestIsAdmittedAfterCounting: the reservation priced the
// prompt at body bytes / 2 tokens, several times the real count, so a key
// with a $0.00005 limit could not make a $0.000011 request. When the cheap
// bound does not fit, the prompt is counted with the tokenizer first.
func TestAffordableRequestIsAdmittedAfterCounting(t *testing.T) {
	g := start(t, opts{})
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"tiny","limit":"0.00005"}`)
	if st != 201 {
		t.Fatalf("%d %v", st, out)
	}
	key := out["key"].(string)
	// fake-small: the provider's default price, $1 / $2 per 1M tokens.
	_, err := g.client(option.WithAPIKey(key)).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "fake-small", MaxTokens: openai.Int(10), Messages: userMsg("Say hello to the nice people"),
	})
	if err != nil {
		t.Fatalf("an affordable request was refused: %v", err)
	}
	// One that cannot fit even counted is still a 402 that says so.
	big := `{"model":"fake-small","max_tokens":10,"messages":[{"role":"user","content":"` + strings.Repeat("word ", 200) + `"}]}`
	if st, resp := postWith(t, g, key, "/v1/chat/completions", big); st != 402 || !strings.Contains(resp, "insufficient_quota") {
		t.Fatalf("an unaffordable request: %d %s", st, resp)
	}
}

// TestCountTokensHonoursTheKeysAllowList: count_tokens repeated the
// pipeline's front by hand and skipped the allow-list.
func TestCountTokensHonoursTheKeysAllowList(t *testing.T) {
	g := start(t, opts{})
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"small","allowed_models":["fake-small"]}`)
	if st != 201 {
		t.Fatalf("%d %v", st, out)
	}
	key := out["key"].(string)
	body := `{"model":"%s","messages":[{"role":"user","content":"hi"}]}`
	if st, resp := postWith(t, g, key, "/v1/messages/count_tokens", fmt.Sprintf(body, "fake-small")); st != 200 {
		t.Fatalf("allowed model: %d %s", st, resp)
	}
	if st, resp := postWith(t, g, key, "/v1/messages/count_tokens", fmt.Sprintf(body, "gpt-4o")); st != 403 || !strings.Contains(resp, "may not use model") {
		t.Fatalf("a model the key may not use: %d %s", st, resp)
	}
}
