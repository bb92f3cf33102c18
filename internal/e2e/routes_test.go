package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
)

// do sends method path with the gateway key and returns status, headers
// and body.
func (g *gateway) do(t *testing.T, method, path string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, g.URL+path, strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+g.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header, readAll(t, resp.Body)
}

const baseURLAdvice = "set the base URL to"

func TestUnknownEndpointUnderAServedPrefixSaysItIsNotSupportedNotToFixTheBaseURL(t *testing.T) {
	g := start(t, opts{})
	ctx := context.Background()

	// OpenAI SDK, base URL …/v1 (right): an endpoint the gateway lacks.
	_, err := g.client().FineTuning.Jobs.List(ctx, openai.FineTuningJobListParams{})
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 404 || !strings.Contains(oe.Message, "not an endpoint this gateway serves") ||
		!strings.Contains(oe.Message, "POST /v1/chat/completions") || strings.Contains(oe.Message, baseURLAdvice) {
		t.Fatalf("fine_tuning.jobs.list: %v; want 404 saying the endpoint is not served, listing /v1/chat/completions, no base-URL advice", err)
	}

	// Google Gen AI SDK, base URL right: a Gemini method the gateway lacks.
	// (Veo's :predictLongRunning; :embedContent is served.)
	_, err = g.gemini(t).Models.GenerateVideos(ctx, "gpt-4o", "a cat", nil, nil)
	ge := wantGenaiError(t, err, 404, "NOT_FOUND")
	if !strings.Contains(ge.Message, "not an endpoint this gateway serves") || !strings.Contains(ge.Message, ":generateContent") || strings.Contains(ge.Message, baseURLAdvice) {
		t.Fatalf("generateVideos: %q", ge.Message)
	}

	// Anthropic SDK, base URL right: message batches are not served.
	_, err = g.anthropicClient().Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{})
	ae := wantAnthropicError(t, err, 404, "not_found_error")
	if !strings.Contains(ae.Error(), "not an endpoint this gateway serves") || strings.Contains(ae.Error(), baseURLAdvice) {
		t.Fatalf("messages.batches: %v", ae)
	}

	for _, c := range []struct {
		name, method, path string
		mention            []string
		dialect            string // the envelope: openai, gemini or anthropic
	}{
		{name: "batches under /v1", method: "POST", path: "/v1/batches", mention: []string{"not an endpoint", "POST /v1/chat/completions", "POST /v1/responses", "GET /v1/models"}, dialect: "openai"},
		{name: "under /api/v1 the list uses /api/v1", method: "POST", path: "/api/v1/batches", mention: []string{"not an endpoint", "POST /api/v1/chat/completions"}, dialect: "openai"},
		{name: "gemini predict", method: "POST", path: "/v1beta/models/gpt-4o:predict", mention: []string{"not an endpoint", ":generateContent"}, dialect: "gemini"},
		{name: "gemini predict under /v1", method: "POST", path: "/v1/models/gpt-4o:predict", mention: []string{"not an endpoint", ":countTokens"}, dialect: "gemini"},
		{name: "gemini tuned models", method: "GET", path: "/v1beta/tunedModels", mention: []string{"not an endpoint"}, dialect: "gemini"},
		{name: "unknown account subresource", method: "GET", path: "/api/v1/accounts/acct-x/invoices", mention: []string{"not an endpoint", "/api/v1/accounts"}, dialect: "openai"},
		{name: "prefix twice", method: "POST", path: "/v1/v1/chat/completions", mention: []string{"prefix twice", "http://HOST:PORT (this client adds /v1 itself)"}, dialect: "openai"},
		{name: "outside every prefix: base URL advice", method: "POST", path: "/openai/deployments/x/chat/completions", mention: []string{baseURLAdvice, "/v1"}, dialect: "openai"},
		{name: "outside every prefix: /v2", method: "POST", path: "/v2/chat/completions", mention: []string{baseURLAdvice}, dialect: "openai"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, _, body := g.do(t, c.method, c.path)
			if st != 404 {
				t.Fatalf("status %d, want 404: %s", st, body)
			}
			msg := errorMessage(t, c.dialect, body)
			for _, m := range c.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q lacks %q", msg, m)
				}
			}
			if !strings.Contains(c.name, "base URL advice") && !strings.Contains(c.name, "/v2") && strings.Contains(msg, baseURLAdvice) {
				t.Errorf("message %q gives base-URL advice for a path under a served prefix", msg)
			}
		})
	}
}

func TestWrongMethodOnAKnownPathIs405WithAllow(t *testing.T) {
	g := start(t, opts{})
	for _, c := range []struct {
		method, path, allow, dialect string
	}{
		{method: "GET", path: "/v1/chat/completions", allow: "POST", dialect: "openai"},
		{method: "PUT", path: "/v1/embeddings", allow: "POST", dialect: "openai"},
		{method: "POST", path: "/v1/models", allow: "GET", dialect: "openai"},
		// POST is Gemini's (…/models/M:generateContent): a ServeMux wildcard is
		// a whole segment, so the mux serves POST on every …/models/ path.
		{method: "DELETE", path: "/v1/models/gpt-4o", allow: "GET, POST", dialect: "openai"},
		{method: "GET", path: "/v1/models/gpt-4o:generateContent", allow: "POST", dialect: "gemini"},
		{method: "HEAD", path: "/v1/chat/completions", allow: "POST", dialect: "openai"},
		{method: "OPTIONS", path: "/v1/models", allow: "GET", dialect: "openai"},
		{method: "POST", path: "/v1/models/", allow: "GET", dialect: "openai"},
		{method: "PATCH", path: "/v1//responses/gen-x/", allow: "DELETE, GET", dialect: "openai"},
		// GET, PATCH and DELETE are a provider's (…/providers/{name}), POST a
		// route's …/enable: a whole segment again.
		{method: "PUT", path: "/api/v1/providers/fake/gpt-4o", allow: "DELETE, GET, PATCH, POST", dialect: "openai"},
		{method: "PUT", path: "/api/v1/catalog/models/x/y", allow: "DELETE, GET, PATCH", dialect: "openai"},
		{method: "DELETE", path: "/api/v1/catalog/models", allow: "GET, POST", dialect: "openai"},
		{method: "DELETE", path: "/metrics", allow: "GET", dialect: "openai"},
		{method: "POST", path: "/debug/pprof/heap", allow: "GET", dialect: "openai"},
		{method: "DELETE", path: "/v1beta/models/gpt-4o", allow: "GET, POST", dialect: "gemini"},
		{method: "GET", path: "/v1beta/models/gpt-4o:generateContent", allow: "POST", dialect: "gemini"},
		{method: "POST", path: "/v1beta/models", allow: "GET", dialect: "gemini"},
		{method: "POST", path: "/api/v1/key", allow: "GET", dialect: "openai"},
		{method: "DELETE", path: "/api/v1/keys", allow: "GET, POST", dialect: "openai"},
		{method: "PUT", path: "/api/v1/keys/abc", allow: "DELETE, GET, PATCH", dialect: "openai"},
		{method: "DELETE", path: "/api/v1/accounts/acct-x", allow: "GET, PATCH", dialect: "openai"},
		{method: "GET", path: "/api/v1/accounts/acct-x/credits", allow: "POST", dialect: "openai"},
		{method: "GET", path: "/api/v1/admin/reload", allow: "POST", dialect: "openai"},
		{method: "PUT", path: "/api/v1/providers/fake/gpt-4o/enable", allow: "DELETE, GET, PATCH, POST", dialect: "openai"},
		{method: "POST", path: "/healthz", allow: "GET", dialect: "openai"},
		{method: "GET", path: "/v1/messages", allow: "POST", dialect: "anthropic"},
		{method: "GET", path: "/v1beta/models/gpt-4o:generateContent", allow: "POST", dialect: "gemini"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			st, h, body := g.do(t, c.method, c.path)
			if st != 405 || h.Get("Allow") != c.allow {
				t.Fatalf("status %d Allow %q, want 405 Allow %q: %s", st, h.Get("Allow"), c.allow, body)
			}
			if c.method == "HEAD" {
				return // no body
			}
			if msg := errorMessage(t, c.dialect, body); !strings.Contains(msg, c.method+" is not allowed") || !strings.Contains(msg, c.allow) {
				t.Fatalf("message %q", msg)
			}
			if c.dialect == "openai" && !strings.Contains(body, `"code":"method_not_allowed"`) {
				t.Fatalf("body %s lacks code method_not_allowed", body)
			}
		})
	}
}

// errorMessage reads the message of an error body in the dialect's
// envelope, failing if the body is not that envelope.
func errorMessage(t *testing.T, dialect, body string) string {
	t.Helper()
	var env struct {
		Type  string `json:"type"`
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Status  string `json:"status"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || env.Error.Message == "" {
		t.Fatalf("not an error envelope (%v): %s", err, body)
	}
	ok := true
	switch dialect {
	case "openai":
		ok = env.RequestID != "" && env.Error.Type == "invalid_request_error"
	case "anthropic":
		ok = env.Type == "error" && env.Error.Type != ""
	case "gemini":
		ok = env.Error.Status != ""
	}
	if !ok {
		t.Fatalf("body %s is not %s's error envelope", body, dialect)
	}
	return env.Error.Message
}
