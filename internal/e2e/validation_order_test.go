package e2e

import (
	"net/http"
	"strings"
	"testing"

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
