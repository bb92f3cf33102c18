package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// claudeConfig sends claude-* to an Anthropic-format upstream (the fake).
const claudeConfig = `
providers:
  - { name: claude, type: anthropic, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}" }
models:
  - id: "claude-*"
    pricing: { prompt: 3.00, completion: 15.00 }
    routes: [{ provider: claude }]
`

func TestOpenAIClientToAnthropicUpstream(t *testing.T) {
	g := start(t, opts{yaml: claudeConfig, up: fakeOpts{Default: fakeBehavior{Reply: "Hello from Claude"}}})
	c := g.client()
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "Hello from Claude" || resp.Choices[0].FinishReason != "stop" {
		t.Fatalf("content %q finish %q", got, resp.Choices[0].FinishReason)
	}
	if !strings.HasPrefix(resp.ID, "gen-") || resp.Model != "claude-sonnet-4-5" || resp.Usage.PromptTokens == 0 {
		t.Fatalf("response = %s", resp.RawJSON())
	}
	want := money.Nanos(resp.Usage.PromptTokens*3000 + resp.Usage.CompletionTokens*15000)
	if got := sdkCost(t, resp.RawJSON()); got != want {
		t.Fatalf("usage.cost %s, want %s", got, want)
	}
	up := g.Up.Last()
	if up.Path != "/v1/messages" || up.Header.Get("X-Api-Key") != upstreamKey || up.Header.Get("Anthropic-Version") == "" || up.Header.Get("Authorization") != "" {
		t.Fatalf("upstream request %s headers %v", up.Path, up.Header)
	}
	var sent struct {
		Model     string `json:"model"`
		System    any    `json:"system"`
		MaxTokens int    `json:"max_tokens"`
		Messages  []struct {
			Role string `json:"role"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(up.Body, &sent); err != nil || sent.Model != "claude-sonnet-4-5" || sent.MaxTokens == 0 || sent.System == nil || len(sent.Messages) != 1 {
		t.Fatalf("upstream body %s", up.Body)
	}
}

func TestOpenAIStreamFromAnthropicUpstream(t *testing.T) {
	g := start(t, opts{yaml: claudeConfig, up: fakeOpts{Default: fakeBehavior{Reply: "one two three"}}})
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "claude-haiku-4-5", Messages: userMsg("count"),
	})
	var text strings.Builder
	var last openai.ChatCompletionChunk
	for stream.Next() {
		ch := stream.Current()
		if len(ch.Choices) == 0 {
			t.Fatalf("empty choices for a client that did not ask for usage: %s", ch.RawJSON())
		}
		text.WriteString(ch.Choices[0].Delta.Content)
		last = ch
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(text.String()) != "one two three" || last.Choices[0].FinishReason != "stop" || last.Usage.CompletionTokens == 0 {
		t.Fatalf("text %q last %s", text.String(), last.RawJSON())
	}
	if !strings.Contains(last.RawJSON(), `"cost":`) {
		t.Fatalf("no cost on the final usage: %s", last.RawJSON())
	}
}

func TestOpenAIToolCallsFromAnthropicUpstream(t *testing.T) {
	g := start(t, opts{yaml: claudeConfig})
	checkToolCallsWholeAndStreamed(t, g, "claude-sonnet-4-5")
}

func TestAnthropicUpstreamErrorsMapToOpenAIEnvelope(t *testing.T) {
	g := start(t, opts{yaml: claudeConfig})
	g.Up.Enqueue(fakeBehavior{Status: 400, Message: "max_tokens: too large"})
	_, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "claude-sonnet-4-5", Messages: userMsg("hi")})
	var e *openai.Error
	if !errors.As(err, &e) || e.StatusCode != 400 || !strings.Contains(e.Message, "max_tokens: too large") {
		t.Fatalf("err = %v", err)
	}
}
