package e2e

// The Anthropic Messages ingress (POST /v1/messages) driven by the official
// Anthropic Go SDK: to an OpenAI-format upstream (translated through the
// canonical format) in this file; to an Anthropic-format upstream
// (passthrough), errors and count_tokens in the files beside it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// messagesConfig serves the same fake in both dialects: gpt-4o (and any
// "fake-*") on the OpenAI-format provider "fake", claude-* on the
// Anthropic-format provider "claude". There is no "*" route, so other
// names are unknown models.
const messagesConfig = `
server:
  sse_keepalive: 15s
providers:
  - name: fake
    type: openai
    base_url: ${FAKE_URL}/v1
    api_key: ${FAKE_KEY}
    timeout: ${FAKE_TIMEOUT:-10s}
  - { name: claude, type: anthropic, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}", timeout: "${FAKE_TIMEOUT:-10s}" }
models:
  - id: gpt-4o
    pricing: { prompt: 2.50, completion: 10.00 }
    routes: [{ provider: fake, model: gpt-4o-2024-08-06 }]
  - id: "fake-*"
    pricing: { prompt: 1.00, completion: 2.00 }
    routes: [{ provider: fake }]
  - id: claude-sonnet
    pricing: { prompt: 3.00, completion: 15.00 }
    routes: [{ provider: claude, model: claude-sonnet-4-5-20250929 }]
  - id: "claude-*"
    pricing: { prompt: 3.00, completion: 15.00 }
    routes: [{ provider: claude }]
`

func startMessages(t *testing.T, up fakeOpts) *gateway {
	t.Helper()
	return start(t, opts{yaml: messagesConfig, up: up})
}

// anthropicClient is the official Anthropic Go SDK pointed at the gateway
// with the gateway key as x-api-key, no retries, and nothing taken from the
// environment (ANTHROPIC_API_KEY, profiles).
func (g *gateway) anthropicClient(extra ...aoption.RequestOption) *anthropic.Client {
	o := append([]aoption.RequestOption{
		aoption.WithoutEnvironmentDefaults(),
		aoption.WithBaseURL(g.URL),
		aoption.WithAPIKey(g.Key),
		aoption.WithMaxRetries(0),
	}, extra...)
	c := anthropic.NewClient(o...)
	return &c
}

func userText(s string) []anthropic.MessageParam {
	return []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(s))}
}

// weatherToolParam is get_weather with two required properties; the OpenAI
// mock calls it with {"city":"mock","unit":"c"} (the enum's first value), the Anthropic fake with
// "fake" for both.
func weatherToolParam() anthropic.ToolUnionParam {
	t := anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
		Properties: map[string]any{
			"city": map[string]any{"type": "string"},
			"unit": map[string]any{"type": "string", "enum": []string{"c", "f"}},
		},
		Required: []string{"city", "unit"},
	}, "get_weather")
	t.OfTool.Description = anthropic.String("Current weather in a city")
	return t
}

// accumulate drains an SDK stream into a Message, returning the event
// types seen in order and the stream's error.
func accumulate(t *testing.T, s interface {
	Next() bool
	Current() anthropic.MessageStreamEventUnion
	Err() error
}) (anthropic.Message, []string, error) {
	t.Helper()
	var msg anthropic.Message
	var types []string
	for s.Next() {
		ev := s.Current()
		types = append(types, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatalf("accumulate %s: %v", ev.Type, err)
		}
	}
	return msg, types, s.Err()
}

// openAIBody is the part of an OpenAI chat request these tests read.
type openAIBody struct {
	Model               string `json:"model"`
	MaxTokens           int64  `json:"max_tokens"`
	MaxCompletionTokens int64  `json:"max_completion_tokens"`
	Stream              bool   `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []wireToolCall  `json:"tool_calls"`
	} `json:"messages"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
}

// upstreamOpenAI decodes the last request the fake received, which must be
// an OpenAI chat completion with the provider's key and not the client's.
func upstreamOpenAI(t *testing.T, g *gateway) openAIBody {
	t.Helper()
	up := g.Up.Last()
	if up.Path != "/v1/chat/completions" {
		t.Fatalf("upstream path %q, want /v1/chat/completions", up.Path)
	}
	if up.Header.Get("Authorization") != "Bearer "+upstreamKey || up.Header.Get("X-Api-Key") != "" {
		t.Fatalf("upstream auth headers: Authorization %q x-api-key %q", up.Header.Get("Authorization"), up.Header.Get("X-Api-Key"))
	}
	for name, v := range up.Header {
		if strings.Contains(strings.Join(v, ","), g.Key) {
			t.Fatalf("the client's key reached the upstream in %s", name)
		}
	}
	var b openAIBody
	if err := json.Unmarshal(up.Body, &b); err != nil {
		t.Fatalf("upstream body %s: %v", up.Body, err)
	}
	return b
}

// contentText reads an OpenAI message content: a string or text parts.
func contentText(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct{ Type, Text string }
	if err := json.Unmarshal(raw, &parts); err != nil {
		t.Fatalf("content %s: %v", raw, err)
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			t.Fatalf("content part %q in %s", p.Type, raw)
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

func TestMessagesToOpenAIUpstream(t *testing.T) {
	g := startMessages(t, fakeOpts{Default: fakeBehavior{Reply: "Hello from the OpenAI side"}})
	msg, err := g.anthropicClient().Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     "gpt-4o",
		MaxTokens: 64,
		System:    []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages:  userText("Hello there"),
		// Sampling and metadata have OpenAI equivalents.
		Temperature:   anthropic.Float(0.5),
		StopSequences: []string{"END"},
		Metadata:      anthropic.MetadataParam{UserID: anthropic.String("user-7")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].AsText().Text != "Hello from the OpenAI side" {
		t.Fatalf("content = %s", msg.RawJSON())
	}
	if msg.StopReason != anthropic.StopReasonEndTurn || msg.Role != "assistant" || msg.Type != "message" {
		t.Fatalf("stop_reason %q role %q type %q", msg.StopReason, msg.Role, msg.Type)
	}
	if msg.Usage.InputTokens <= 0 || msg.Usage.OutputTokens <= 0 {
		t.Fatalf("usage = %s", msg.Usage.RawJSON())
	}
	if !strings.HasPrefix(msg.ID, "gen-") || string(msg.Model) != "gpt-4o" {
		t.Fatalf("id %q model %q: want the gateway's gen- id and the requested model", msg.ID, msg.Model)
	}

	up := upstreamOpenAI(t, g)
	if up.Model != "gpt-4o-2024-08-06" || up.Stream || up.StreamOptions != nil {
		t.Fatalf("upstream model %q stream %v stream_options %v", up.Model, up.Stream, up.StreamOptions)
	}
	if up.MaxCompletionTokens != 64 && up.MaxTokens != 64 {
		t.Fatalf("max tokens not carried: max_tokens %d max_completion_tokens %d", up.MaxTokens, up.MaxCompletionTokens)
	}
	raw := jsonMap(t, g.Up.Last().Body)
	if raw["temperature"] != 0.5 || !reflect.DeepEqual(raw["stop"], []any{"END"}) || raw["user"] != "user-7" {
		t.Fatalf("sampling parameters upstream: %s", g.Up.Last().Body)
	}
	for _, k := range []string{"system", "metadata", "stop_sequences", "max_tokens", "top_k"} {
		if _, ok := raw[k]; ok {
			t.Fatalf("Anthropic field %q sent to an OpenAI upstream: %s", k, g.Up.Last().Body)
		}
	}
	if len(up.Messages) != 2 || up.Messages[0].Role != "system" || contentText(t, up.Messages[0].Content) != "Be brief." ||
		up.Messages[1].Role != "user" || contentText(t, up.Messages[1].Content) != "Hello there" {
		t.Fatalf("upstream messages = %s", g.Up.Last().Body)
	}

	// The ledger has the answer under the id the client saw, priced at
	// gpt-4o's catalogue price for the tokens the client was told.
	gen := g.waitGeneration(t, msg.ID)
	want := msg.Usage.InputTokens*2500 + msg.Usage.OutputTokens*10000
	if gen.Provider != "fake" || gen.Model != "gpt-4o" || gen.TokensPrompt != msg.Usage.InputTokens || gen.TokensCompletion != msg.Usage.OutputTokens ||
		int64(gen.Cost) != want || gen.Status != 200 || gen.UsageEstimated {
		t.Fatalf("generation = %+v, want cost %d", gen, want)
	}
}

func TestMessagesStreamFromOpenAIUpstream(t *testing.T) {
	g := startMessages(t, fakeOpts{Default: fakeBehavior{Reply: "one two three four five"}})
	stream := g.anthropicClient().Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model: "gpt-4o", MaxTokens: 100,
		System:   []anthropic.TextBlockParam{{Text: "Count."}},
		Messages: userText("count to five"),
	})
	msg, types, err := accumulate(t, stream)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "one two three four five" {
		t.Fatalf("accumulated %s", msg.RawJSON())
	}
	if msg.StopReason != anthropic.StopReasonEndTurn || msg.Usage.InputTokens <= 0 || msg.Usage.OutputTokens <= 0 {
		t.Fatalf("stop_reason %q usage %+v", msg.StopReason, msg.Usage)
	}
	if !strings.HasPrefix(msg.ID, "gen-") || msg.Model != "gpt-4o" {
		t.Fatalf("id %q model %q", msg.ID, msg.Model)
	}
	checkEventOrder(t, types)

	up := upstreamOpenAI(t, g)
	if !up.Stream || up.StreamOptions == nil || !up.StreamOptions.IncludeUsage {
		t.Fatalf("upstream stream %v stream_options %+v: the gateway must ask for usage", up.Stream, up.StreamOptions)
	}
	if up.MaxCompletionTokens != 100 && up.MaxTokens != 100 {
		t.Fatalf("max tokens not carried: %s", g.Up.Last().Body)
	}
	if up.Messages[0].Role != "system" || contentText(t, up.Messages[0].Content) != "Count." {
		t.Fatalf("system prompt not a system message: %s", g.Up.Last().Body)
	}
}

// checkEventOrder wants the Messages stream grammar with one content block:
// message_start, content_block_start, content_block_delta (one or more),
// content_block_stop, message_delta, message_stop; pings anywhere.
func checkEventOrder(t *testing.T, types []string) {
	t.Helper()
	types = slices.DeleteFunc(slices.Clone(types), func(s string) bool { return s == "ping" })
	want := []string{"message_start", "content_block_start", "content_block_delta"}
	n := len(types)
	if n < 6 || !slices.Equal(types[:3], want) || !slices.Equal(types[n-3:], []string{"content_block_stop", "message_delta", "message_stop"}) {
		t.Fatalf("event order %q", types)
	}
	for _, ty := range types[3 : n-3] {
		if ty != "content_block_delta" {
			t.Fatalf("event order %q", types)
		}
	}
}

func TestMessagesToolUseFromOpenAIUpstream(t *testing.T) {
	g := startMessages(t, fakeOpts{})
	params := anthropic.MessageNewParams{
		Model: "gpt-4o", MaxTokens: 200,
		Messages: userText("What is the weather in Shanghai?"),
		Tools:    []anthropic.ToolUnionParam{weatherToolParam()},
	}
	wantInput := map[string]any{"city": "mock", "unit": "c"}

	msg, err := g.anthropicClient().Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	checkToolUse(t, *msg, "get_weather", wantInput)

	up := upstreamOpenAI(t, g)
	if len(up.Tools) != 1 || up.Tools[0].Type != "function" || up.Tools[0].Function.Name != "get_weather" ||
		up.Tools[0].Function.Description != "Current weather in a city" {
		t.Fatalf("upstream tools = %s", g.Up.Last().Body)
	}
	var schema struct {
		Type     string         `json:"type"`
		Required []string       `json:"required"`
		Props    map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(up.Tools[0].Function.Parameters, &schema); err != nil || schema.Type != "object" ||
		!slices.Equal(schema.Required, []string{"city", "unit"}) || len(schema.Props) != 2 {
		t.Fatalf("upstream tool parameters %s", up.Tools[0].Function.Parameters)
	}

	// Streamed: the mock sends the arguments in 4-byte pieces, each one an
	// input_json_delta the SDK concatenates.
	var httpResp *http.Response
	stream := g.anthropicClient(aoption.WithResponseInto(&httpResp)).Messages.NewStreaming(context.Background(), params)
	smsg, types, err := accumulate(t, stream)
	if err != nil {
		t.Fatal(err)
	}
	checkToolUse(t, smsg, "get_weather", wantInput)
	if deltas := countType(types, "content_block_delta"); deltas < 5 {
		t.Fatalf("want the arguments across many deltas, got %d: %q", deltas, types)
	}
	checkEventOrder(t, types)
	if smsg.Usage.OutputTokens <= 0 || smsg.Usage.InputTokens <= 0 {
		t.Fatalf("usage %s", smsg.Usage.RawJSON())
	}
	if gen := g.waitGeneration(t, httpResp.Header.Get("X-Generation-Id")); gen.FinishReason != "tool_calls" || gen.TokensCompletion != smsg.Usage.OutputTokens {
		t.Fatalf("generation %+v", gen)
	}
}

func TestMessagesMaxTokensStopReasonFromOpenAIUpstream(t *testing.T) {
	g := startMessages(t, fakeOpts{Default: fakeBehavior{Words: 40}})
	params := anthropic.MessageNewParams{Model: "gpt-4o", MaxTokens: 5, Messages: userText("talk a lot")}
	msg, err := g.anthropicClient().Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != anthropic.StopReasonMaxTokens || msg.Usage.OutputTokens != 5 {
		t.Fatalf("non-stream: %s", msg.RawJSON())
	}
	var httpResp *http.Response
	smsg, _, err := accumulate(t, g.anthropicClient(aoption.WithResponseInto(&httpResp)).Messages.NewStreaming(context.Background(), params))
	if err != nil {
		t.Fatal(err)
	}
	if smsg.StopReason != anthropic.StopReasonMaxTokens || smsg.Usage.OutputTokens != 5 || smsg.Content[0].Text != msg.Content[0].Text {
		t.Fatalf("stream: %s, want %s", smsg.RawJSON(), msg.RawJSON())
	}
	if gen := g.waitGeneration(t, httpResp.Header.Get("X-Generation-Id")); gen.FinishReason != "length" {
		t.Fatalf("generation finish %q", gen.FinishReason)
	}
}

func countType(types []string, ty string) int {
	n := 0
	for _, s := range types {
		if s == ty {
			n++
		}
	}
	return n
}

// checkToolUse wants msg to end in one tool_use block calling name with input.
func checkToolUse(t *testing.T, msg anthropic.Message, name string, input map[string]any) anthropic.ToolUseBlock {
	t.Helper()
	if msg.StopReason != anthropic.StopReasonToolUse {
		t.Fatalf("stop_reason %q, want tool_use: %s", msg.StopReason, msg.RawJSON())
	}
	var uses []anthropic.ToolUseBlock
	for _, b := range msg.Content {
		if v, ok := b.AsAny().(anthropic.ToolUseBlock); ok {
			uses = append(uses, v)
		}
	}
	if len(uses) != 1 {
		t.Fatalf("want one tool_use block: %s", msg.RawJSON())
	}
	u := uses[0]
	var got map[string]any
	if err := json.Unmarshal(u.Input, &got); err != nil {
		t.Fatalf("tool input %s: %v", u.Input, err)
	}
	if u.Name != name || u.ID == "" || !reflect.DeepEqual(got, input) {
		t.Fatalf("tool_use %s, want %s with %v", u.RawJSON(), name, input)
	}
	return u
}

func TestMessagesToolResultRoundTripsAsOpenAIToolMessage(t *testing.T) {
	g := startMessages(t, fakeOpts{Default: fakeBehavior{Reply: "It is sunny in Shanghai."}})
	c := g.anthropicClient()
	params := anthropic.MessageNewParams{
		Model: "gpt-4o", MaxTokens: 200,
		Messages: userText("What is the weather in Shanghai?"),
		Tools:    []anthropic.ToolUnionParam{weatherToolParam()},
	}
	first, err := c.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	use := checkToolUse(t, *first, "get_weather", map[string]any{"city": "mock", "unit": "c"})

	params.Messages = append(params.Messages,
		first.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "sunny, 24C", false)),
	)
	second, err := c.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if second.StopReason != anthropic.StopReasonEndTurn || len(second.Content) != 1 || second.Content[0].Text != "It is sunny in Shanghai." {
		t.Fatalf("answer after the tool result: %s", second.RawJSON())
	}

	up := upstreamOpenAI(t, g)
	if len(up.Messages) != 3 {
		t.Fatalf("upstream messages: %s", g.Up.Last().Body)
	}
	asst, tool := up.Messages[1], up.Messages[2]
	if asst.Role != "assistant" || len(asst.ToolCalls) != 1 || asst.ToolCalls[0].ID != use.ID || asst.ToolCalls[0].Type != "function" ||
		asst.ToolCalls[0].Function.Name != "get_weather" {
		t.Fatalf("assistant turn upstream: %s", g.Up.Last().Body)
	}
	var args map[string]any
	if err := json.Unmarshal([]byte(asst.ToolCalls[0].Function.Arguments), &args); err != nil || args["city"] != "mock" || args["unit"] != "c" {
		t.Fatalf("tool call arguments %q", asst.ToolCalls[0].Function.Arguments)
	}
	if tool.Role != "tool" || tool.ToolCallID != use.ID || contentText(t, tool.Content) != "sunny, 24C" {
		t.Fatalf("tool result upstream: %s", g.Up.Last().Body)
	}
}

// waitGeneration returns the ledger record of id. The gateway records after
// the answer is out, and the ledger writes in batches, so it polls.
func (g *gateway) waitGeneration(t *testing.T, id string) *store.Generation {
	t.Helper()
	if id == "" {
		t.Fatal("no generation id")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		gen, err := g.Store.GetGeneration(context.Background(), id)
		if err == nil {
			return gen
		}
		if time.Now().After(deadline) {
			t.Fatalf("generation %s: %v", id, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sseEvent is one named server-sent event.
type sseEvent struct{ name, data string }

// readNamedEvents reads a whole SSE body into its events; comments are
// skipped and counted.
func readNamedEvents(t *testing.T, r io.Reader) (events []sseEvent, comments int) {
	t.Helper()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cur sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.name != "" || len(data) > 0 {
				cur.data = strings.Join(data, "\n")
				events = append(events, cur)
			}
			cur, data = sseEvent{}, nil
		case strings.HasPrefix(line, ":"):
			comments++
		case strings.HasPrefix(line, "event:"):
			cur.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return events, comments
}

// postMessages sends a raw Messages request with the key as x-api-key.
func (g *gateway) postMessages(t *testing.T, path, key, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestMessagesTranslatedStreamOnTheWire(t *testing.T) {
	g := startMessages(t, fakeOpts{Default: fakeBehavior{Reply: "alpha beta gamma"}})
	for _, path := range []string{"/v1/messages", "/api/v1/messages", "/messages"} {
		t.Run(path, func(t *testing.T) {
			resp := g.postMessages(t, path, g.Key, `{"model":"gpt-4o","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"say three words"}]}`)
			defer resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d content-type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), readAll(t, resp.Body))
			}
			genID := resp.Header.Get("X-Generation-Id")
			events, _ := readNamedEvents(t, resp.Body)
			var names []string
			var text strings.Builder
			for i, ev := range events {
				names = append(names, ev.name)
				var v struct {
					Type    string `json:"type"`
					Index   *int   `json:"index"`
					Message struct {
						ID, Model string
						Usage     struct {
							InputTokens int64 `json:"input_tokens"`
						}
					} `json:"message"`
					Delta struct {
						Type, Text string
						StopReason string `json:"stop_reason"`
					} `json:"delta"`
					Usage struct {
						InputTokens  int64 `json:"input_tokens"`
						OutputTokens int64 `json:"output_tokens"`
					} `json:"usage"`
				}
				if err := json.Unmarshal([]byte(ev.data), &v); err != nil {
					t.Fatalf("event %d %s: %v", i, ev.data, err)
				}
				// Each event's data names itself, as the SDKs dispatch on either.
				if v.Type != ev.name {
					t.Fatalf("event %q carries type %q", ev.name, v.Type)
				}
				switch ev.name {
				case "message_start":
					if v.Message.ID != genID || v.Message.Model != "gpt-4o" {
						t.Fatalf("message_start %s, want id %s", ev.data, genID)
					}
				case "content_block_start", "content_block_stop":
					if v.Index == nil || *v.Index != 0 {
						t.Fatalf("%s", ev.data)
					}
				case "content_block_delta":
					if v.Index == nil || *v.Index != 0 || v.Delta.Type != "text_delta" {
						t.Fatalf("%s", ev.data)
					}
					text.WriteString(v.Delta.Text)
				case "message_delta":
					if v.Delta.StopReason != "end_turn" || v.Usage.OutputTokens <= 0 || v.Usage.InputTokens <= 0 {
						t.Fatalf("message_delta %s: want end_turn and usage", ev.data)
					}
				}
			}
			checkEventOrder(t, names)
			if text.String() != "alpha beta gamma" {
				t.Fatalf("text %q", text.String())
			}
			// Nothing follows message_stop, and no OpenAI [DONE] leaks through.
			if bytes.Contains([]byte(events[len(events)-1].data), []byte("[DONE]")) {
				t.Fatalf("events %v", events)
			}
		})
	}
}

func TestMessagesKeyAsBearerOrXAPIKey(t *testing.T) {
	g := startMessages(t, fakeOpts{Default: fakeBehavior{Reply: "ok"}})
	params := anthropic.MessageNewParams{Model: "gpt-4o", MaxTokens: 10, Messages: userText("hi")}
	var sent http.Header
	capture := aoption.WithMiddleware(func(r *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
		sent = r.Header.Clone()
		return next(r)
	})

	// Authorization: Bearer, as Claude Code sends ANTHROPIC_AUTH_TOKEN.
	c := anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(g.URL), aoption.WithAuthToken(g.Key), aoption.WithMaxRetries(0), capture)
	msg, err := c.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Get("Authorization") != "Bearer "+g.Key || sent.Get("X-Api-Key") != "" || msg.Content[0].Text != "ok" {
		t.Fatalf("bearer: headers %v message %s", sent, msg.RawJSON())
	}

	// x-api-key, the SDKs' default.
	msg, err = g.anthropicClient(capture).Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Get("X-Api-Key") != g.Key || sent.Get("Authorization") != "" || msg.Content[0].Text != "ok" {
		t.Fatalf("x-api-key: headers %v message %s", sent, msg.RawJSON())
	}

	// A wrong token is refused either way.
	c = anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(g.URL), aoption.WithAuthToken("sk-sy-not-a-key"), aoption.WithMaxRetries(0))
	_, err = c.Messages.New(context.Background(), params)
	wantAnthropicError(t, err, 401, "authentication_error")
}
