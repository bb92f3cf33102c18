package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
)

// wantAnthropicError wants err to be the SDK's *anthropic.Error with this
// status and Anthropic error type.
func wantAnthropicError(t *testing.T, err error, status int, typ string) *anthropic.Error {
	t.Helper()
	var e *anthropic.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *anthropic.Error %d %s", err, err, status, typ)
	}
	if e.StatusCode != status || string(e.Type()) != typ {
		t.Fatalf("status %d type %q, want %d %s: %v", e.StatusCode, e.Type(), status, typ, err)
	}
	checkAnthropicEnvelope(t, []byte(e.RawJSON()), typ)
	return e
}

// checkAnthropicEnvelope wants {"type":"error","error":{"type":typ,"message":"…"}}
// and no OpenAI-style fields.
func checkAnthropicEnvelope(t *testing.T, body []byte, typ string) string {
	t.Helper()
	var env struct {
		Type  string `json:"type"`
		Error struct {
			Type    string  `json:"type"`
			Message string  `json:"message"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if env.Type != "error" || env.Error.Type != typ || env.Error.Message == "" || env.Error.Code != nil {
		t.Fatalf("error envelope %s, want Anthropic's with type %s", body, typ)
	}
	return env.Error.Message
}

func TestMessagesClientErrors(t *testing.T) {
	g := startMessages(t, fakeOpts{})
	params := anthropic.MessageNewParams{Model: "gpt-4o", MaxTokens: 10, Messages: userText("hi")}
	ctx := context.Background()

	t.Run("bad key", func(t *testing.T) {
		_, err := g.anthropicClient(aoption.WithAPIKey("sk-sy-0000000000000000000000000000")).Messages.New(ctx, params)
		e := wantAnthropicError(t, err, 401, "authentication_error")
		if strings.Contains(e.RawJSON(), "sk-sy-0000000000000000000000000000") {
			t.Fatalf("the key is echoed: %s", e.RawJSON())
		}
	})
	t.Run("missing key", func(t *testing.T) {
		c := anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(g.URL), aoption.WithMaxRetries(0))
		_, err := c.Messages.New(ctx, params)
		e := wantAnthropicError(t, err, 401, "authentication_error")
		if !strings.Contains(e.RawJSON(), "x-api-key") {
			t.Fatalf("the message should say how to send the key: %s", e.RawJSON())
		}
		resp := g.postMessages(t, "/v1/messages", "", `{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)
		defer resp.Body.Close()
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("raw: status %d", resp.StatusCode)
		}
		checkAnthropicEnvelope(t, []byte(readAll(t, resp.Body)), "authentication_error")
	})
	t.Run("unknown model", func(t *testing.T) {
		p := params
		p.Model = "no-such-model"
		_, err := g.anthropicClient().Messages.New(ctx, p)
		e := wantAnthropicError(t, err, 404, "not_found_error")
		if !strings.Contains(e.RawJSON(), "no-such-model") {
			t.Fatalf("the message should name the model: %s", e.RawJSON())
		}
	})
	t.Run("malformed JSON", func(t *testing.T) {
		for _, body := range []string{`{"model":"gpt-4o","max_tokens":5,"messages":[`, `[1,2]`, `{"max_tokens":5,"messages":[]}`, `{"model":"gpt-4o","max_tokens":"five","messages":[]}`} {
			resp := g.postMessages(t, "/v1/messages", g.Key, body)
			b := readAll(t, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Fatalf("%s: status %d %s", body, resp.StatusCode, b)
			}
			checkAnthropicEnvelope(t, []byte(b), "invalid_request_error")
		}
	})
	t.Run("invalid message role through the SDK", func(t *testing.T) {
		p := params
		p.Messages = []anthropic.MessageParam{{Role: "system", Content: []anthropic.ContentBlockParamUnion{anthropic.NewTextBlock("x")}}}
		_, err := g.anthropicClient().Messages.New(ctx, p)
		wantAnthropicError(t, err, 400, "invalid_request_error")
	})
	if n := len(g.Up.Requests()); n != 0 {
		t.Fatalf("refused requests reached the upstream: %d", n)
	}
}

func TestMessagesUpstreamErrors(t *testing.T) {
	tests := []struct {
		name       string
		model      string // gpt-4o: OpenAI-format upstream; claude-*: Anthropic-format
		behavior   fakeBehavior
		status     int
		typ        string
		mention    string
		retryAfter string
	}{
		{name: "openai 429", model: "gpt-4o", behavior: fakeBehavior{Status: 429, Message: "slow down", RetryAfter: "7"}, status: 429, typ: "rate_limit_error", mention: "slow down", retryAfter: "7"},
		{name: "anthropic 429", model: "claude-sonnet", behavior: fakeBehavior{Status: 429, Message: "slow down", RetryAfter: "9"}, status: 429, typ: "rate_limit_error", mention: "slow down", retryAfter: "9"},
		{name: "openai 500", model: "gpt-4o", behavior: fakeBehavior{Status: 500, Message: "internal upstream failure"}, status: 502, typ: "api_error", mention: "internal upstream failure"},
		{name: "anthropic 500", model: "claude-sonnet", behavior: fakeBehavior{Status: 500, Message: "internal upstream failure"}, status: 502, typ: "api_error", mention: "internal upstream failure"},
		{name: "openai 400", model: "gpt-4o", behavior: fakeBehavior{Status: 400, Message: "context too long"}, status: 400, typ: "invalid_request_error", mention: "context too long"},
		{name: "anthropic 400", model: "claude-sonnet", behavior: fakeBehavior{Status: 400, Message: "max_tokens: too large"}, status: 400, typ: "invalid_request_error", mention: "max_tokens: too large"},
		{name: "openai 401 is the operator's", model: "gpt-4o", behavior: fakeBehavior{Status: 401, Message: "bad upstream key"}, status: 502, typ: "api_error", mention: "credentials"},
		{name: "anthropic dropped", model: "claude-sonnet", behavior: fakeBehavior{DropBeforeHeaders: true}, status: 502, typ: "api_error", mention: "claude"},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name
			if stream {
				name += " stream"
			}
			t.Run(name, func(t *testing.T) {
				// A fresh gateway each: a 429 cools the single route.
				g := startMessages(t, fakeOpts{})
				g.Up.Enqueue(tt.behavior)
				params := anthropic.MessageNewParams{Model: anthropic.Model(tt.model), MaxTokens: 20, Messages: userText("hi")}
				var err error
				if stream {
					s := g.anthropicClient().Messages.NewStreaming(context.Background(), params)
					for s.Next() {
						t.Fatalf("an event after an upstream error: %s", s.Current().RawJSON())
					}
					err = s.Err()
				} else {
					_, err = g.anthropicClient().Messages.New(context.Background(), params)
				}
				e := wantAnthropicError(t, err, tt.status, tt.typ)
				if !strings.Contains(e.RawJSON(), tt.mention) {
					t.Fatalf("message %s should mention %q", e.RawJSON(), tt.mention)
				}
				if tt.retryAfter != "" && e.Response.Header.Get("Retry-After") != tt.retryAfter {
					t.Fatalf("Retry-After %q, want %s", e.Response.Header.Get("Retry-After"), tt.retryAfter)
				}
				if strings.Contains(e.RawJSON(), upstreamKey) || strings.Contains(g.Logs.String(), upstreamKey) {
					t.Fatal("the provider key leaked")
				}
				if n := len(g.Up.Requests()); n != 1 {
					t.Fatalf("%d upstream requests, want 1 (one route, no retry)", n)
				}
				gen := g.waitGeneration(t, e.Response.Header.Get("X-Generation-Id"))
				// An upstream 400 without a code records its type.
				if gen.Status != tt.status || gen.ErrorCode == "" || gen.Cost != 0 || gen.Streamed != stream {
					t.Fatalf("generation %+v", gen)
				}
			})
		}
	}
}

func TestMessagesStreamDroppedMidway(t *testing.T) {
	for _, model := range []string{"gpt-4o", "claude-sonnet"} {
		t.Run(model, func(t *testing.T) {
			g := startMessages(t, fakeOpts{Default: fakeBehavior{DropAfterChunks: 4, Words: 30}})
			var httpResp *http.Response
			s := g.anthropicClient(aoption.WithResponseInto(&httpResp)).Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
				Model: anthropic.Model(model), MaxTokens: 100, Messages: userText("tell me a long story"),
			})
			msg, types, err := accumulate(t, s)
			// The SDK turns the gateway's error event into an error: the
			// cut is never a clean end.
			var e *anthropic.Error
			if !errors.As(err, &e) || string(e.Type()) != "api_error" || !strings.Contains(e.RawJSON(), "ended the stream") {
				t.Fatalf("stream error %v, events %q", err, types)
			}
			if len(types) < 2 || types[0] != "message_start" || msg.StopReason == anthropic.StopReasonEndTurn {
				t.Fatalf("events %q stop_reason %q", types, msg.StopReason)
			}
			for _, ty := range types {
				if ty == "message_stop" {
					t.Fatalf("message_stop after a broken stream: %q", types)
				}
			}

			gen := g.waitGeneration(t, httpResp.Header.Get("X-Generation-Id"))
			if !gen.Streamed || gen.ErrorCode != "upstream_error" || gen.Status != 200 {
				t.Fatalf("generation %+v: want the broken stream recorded", gen)
			}
		})
	}
}

func TestMessagesStreamDroppedOnTheWire(t *testing.T) {
	g := startMessages(t, fakeOpts{Default: fakeBehavior{DropAfterChunks: 3, Words: 30}})
	resp := g.postMessages(t, "/v1/messages", g.Key, `{"model":"gpt-4o","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	events, _ := readNamedEvents(t, resp.Body)
	last := events[len(events)-1]
	if events[0].name != "message_start" || last.name != "error" {
		t.Fatalf("events %v: want message_start first and error last", events)
	}
	checkAnthropicEnvelope(t, []byte(last.data), "api_error")
}
