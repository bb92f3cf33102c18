package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// envelope is SPEC §3's error body.
type envelope struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

func decodeEnvelope(t *testing.T, resp *http.Response) envelope {
	t.Helper()
	var e envelope
	body := readAll(t, resp.Body)
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an error envelope (%v): %s", err, body)
	}
	if e.RequestID == "" || e.RequestID != resp.Header.Get("X-Request-Id") {
		t.Fatalf("request_id %q does not match X-Request-Id %q", e.RequestID, resp.Header.Get("X-Request-Id"))
	}
	return e
}

func code(e envelope) string {
	if e.Error.Code == nil {
		return ""
	}
	return *e.Error.Code
}

func TestClientErrors(t *testing.T) {
	g := start(t, opts{})
	chat := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name, path, key, body string
		status                int
		code                  string
		mention               string
	}{
		{name: "malformed JSON", path: "/v1/chat/completions", key: g.Key, body: `{"model": "gpt-4o", "messages": [`, status: 400, code: "invalid_request_error", mention: "not valid JSON"},
		{name: "missing messages", path: "/v1/chat/completions", key: g.Key, body: `{"model":"gpt-4o"}`, status: 400, code: "invalid_request_error", mention: "messages"},
		{name: "wrong type", path: "/v1/chat/completions", key: g.Key, body: `{"model":["gpt-4o"],"messages":[]}`, status: 400, code: "invalid_request_error", mention: "'model' must be a string"},
		{name: "no key", path: "/v1/chat/completions", key: "", body: chat, status: 401, code: "invalid_api_key", mention: "Missing API key"},
		{name: "unknown key is masked", path: "/v1/chat/completions", key: "sk-sy-UNKNOWNabcdefghijklmnopqrstuvwxyz12", body: chat, status: 401, code: "invalid_api_key", mention: "sk-sy-UN…12"},
		{name: "another provider's key", path: "/v1/chat/completions", key: "sk-proj-abcdefghijklmnopqrstuvwxyz", body: chat, status: 401, code: "invalid_api_key", mention: "OpenAI project key"},
		{name: "unknown model", path: "/v1/chat/completions", key: g.Key, body: `{"model":"fake-","messages":[{"role":"user","content":"hi"}]}`, status: 200},
		{name: "unknown route names base URL forms", path: "/v1/chat", key: g.Key, body: chat, status: 404, code: "not_found", mention: "/v1"},
		{name: "wrong method", path: "/v1/models", key: g.Key, body: chat, status: 405, code: "method_not_allowed", mention: "GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := g.post(t, tt.path, tt.key, tt.body)
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, readAll(t, resp.Body))
			}
			if tt.status == 200 {
				return
			}
			e := decodeEnvelope(t, resp)
			if code(e) != tt.code || !strings.Contains(e.Error.Message, tt.mention) {
				t.Fatalf("code %q message %q; want code %q mentioning %q", code(e), e.Error.Message, tt.code, tt.mention)
			}
			if tt.key != "" && len(tt.key) > 12 && strings.Contains(e.Error.Message, tt.key) {
				t.Fatal("the error echoes the whole key")
			}
		})
	}
}

func TestUnknownModelIs404(t *testing.T) {
	g := start(t, opts{yaml: `
providers: [{name: fake, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}"}]
models: [{id: gpt-4o, routes: [{provider: fake}]}]
`})
	_, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "no-such-model", Messages: userMsg("hi")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Fatalf("err = %v", err)
	}
	if len(g.Up.Requests()) != 0 {
		t.Fatal("an unknown model reached the upstream")
	}
}

func TestBadKeyThroughSDK(t *testing.T) {
	g := start(t, opts{})
	c := g.client(option.WithAPIKey(" " + g.Key + " "))
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	// Go's HTTP stack trims the header value, so a key with outer spaces still
	// works; a key that is wrong fails with 401 and the SDK's typed error.
	if err != nil {
		t.Fatalf("outer whitespace should be tolerated by the transport: %v", err)
	}
	_, err = g.client(option.WithAPIKey("sk-ant-api03-xyzxyzxyzxyzxyzxyz")).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" || !strings.Contains(apiErr.Message, "Anthropic") {
		t.Fatalf("err = %v", err)
	}
}

func TestOversizedBodyIs413(t *testing.T) {
	g := start(t, opts{}) // max_body_bytes: 1 MiB
	big := `{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("x", 2<<20) + `"}]}`
	resp := g.post(t, "/v1/chat/completions", g.Key, big)
	defer resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if e := decodeEnvelope(t, resp); code(e) != "request_too_large" {
		t.Fatalf("code %q", code(e))
	}
	if len(g.Up.Requests()) != 0 {
		t.Fatal("an oversized body reached the upstream")
	}
}

func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		name       string
		behavior   fakeBehavior
		status     int
		code       string
		mention    string
		retryAfter string
	}{
		{name: "upstream 400 passes through", behavior: fakeBehavior{Status: 400, Message: "This model's maximum context length is 128000 tokens", ErrorCode: "context_length_exceeded"},
			status: 400, code: "context_length_exceeded", mention: "maximum context length"},
		{name: "upstream 404 passes through", behavior: fakeBehavior{Status: 404, Message: "The model `x` does not exist", ErrorCode: "model_not_found"},
			status: 404, code: "model_not_found", mention: "does not exist"},
		{name: "upstream 500 is 502", behavior: fakeBehavior{Status: 500, Message: "internal upstream failure"}, status: 502, code: "upstream_error", mention: "internal upstream failure"},
		{name: "upstream 429 keeps Retry-After", behavior: fakeBehavior{Status: 429, Message: "slow down", RetryAfter: "7"}, status: 429, code: "rate_limit_exceeded", mention: "slow down", retryAfter: "7"},
		{name: "upstream 401 is the operator's problem", behavior: fakeBehavior{Status: 401, Message: "Incorrect API key provided: " + upstreamKey}, status: 502, code: "upstream_error", mention: "credentials"},
		{name: "malformed upstream JSON is 502", behavior: fakeBehavior{MalformedJSON: true}, status: 502, code: "upstream_error", mention: "malformed"},
		{name: "connection dropped is 502", behavior: fakeBehavior{DropBeforeHeaders: true}, status: 502, code: "upstream_error", mention: "could not reach"},
		{name: "slow upstream is 504", behavior: fakeBehavior{FirstByteDelay: 2 * time.Second}, status: 504, code: "upstream_timeout", mention: "did not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh gateway each: a 429 cools its route and a 401 disables it.
			g := start(t, opts{env: map[string]string{"FAKE_TIMEOUT": "300ms"}})
			g.Up.Enqueue(tt.behavior)
			resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, readAll(t, resp.Body))
			}
			if tt.retryAfter != "" && resp.Header.Get("Retry-After") != tt.retryAfter {
				t.Fatalf("Retry-After = %q", resp.Header.Get("Retry-After"))
			}
			e := decodeEnvelope(t, resp)
			if code(e) != tt.code || !strings.Contains(e.Error.Message, tt.mention) {
				t.Fatalf("code %q message %q; want %q mentioning %q", code(e), e.Error.Message, tt.code, tt.mention)
			}
			if strings.Contains(e.Error.Message, upstreamKey) {
				t.Fatal("the provider key leaked into a client error")
			}
			if strings.Contains(g.Logs.String(), upstreamKey) || strings.Contains(g.Logs.String(), g.Key) {
				t.Fatal("a key appears in the logs")
			}
		})
	}
}
