package e2e

// OpenAI-compatible presets (issue 17, item 3): one config line per
// service, its quirks handled from config.Presets, driven by the official
// OpenAI SDK against the fake upstream behaving as each service does.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// presetConfig is a gateway with one provider configured by one line:
// the preset, with base_url pointing at the fake instead of the service.
func presetConfig(preset string) string {
	return `
providers:
  - { name: ` + preset + `, preset: ` + preset + `, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}" }
`
}

func startPreset(t *testing.T, preset string, b fakeupstream.Behavior) *gateway {
	t.Helper()
	return start(t, opts{yaml: presetConfig(preset), up: fakeupstream.Options{Default: b}})
}

// streamText reads a stream through the SDK, checking the loop every
// client writes (choices[0]) never finds empty choices, and returns the
// answer text, the thinking text and the last chunk.
func streamText(t *testing.T, s interface {
	Next() bool
	Current() openai.ChatCompletionChunk
	Err() error
}) (text, reasoning string, last openai.ChatCompletionChunk) {
	t.Helper()
	var tb, rb strings.Builder
	for s.Next() {
		ch := s.Current()
		if len(ch.Choices) == 0 {
			t.Fatalf("chunk with empty choices: %s", ch.RawJSON())
		}
		tb.WriteString(ch.Choices[0].Delta.Content)
		if r, ok := ch.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; ok {
			var v string
			if err := json.Unmarshal([]byte(r.Raw()), &v); err == nil {
				rb.WriteString(v)
			}
		}
		last = ch
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return tb.String(), rb.String(), last
}

func TestPresetGroqDropsRefusedFieldsAndLiftsStreamUsage(t *testing.T) {
	g := startPreset(t, "groq", fakeupstream.Behavior{Reply: "fast answer here",
		RejectFields: []string{"logprobs", "top_logprobs", "logit_bias"}, UsageInFinishChunk: true, UsageAt: "x_groq.usage"})
	s := g.client(option.WithJSONSet("logprobs", true), option.WithJSONSet("top_logprobs", 2)).Chat.Completions.NewStreaming(
		context.Background(), openai.ChatCompletionNewParams{Model: "groq/llama-3.3-70b-versatile", Messages: userMsg("hi")})
	text, _, last := streamText(t, s)
	if text != "fast answer here" {
		t.Fatalf("text = %q", text)
	}
	// The usage Groq puts in x_groq.usage reached the gateway: it rides on
	// the last chunk for a client that did not ask for usage, exact.
	if last.Usage.CompletionTokens != 3 || last.Usage.PromptTokens == 0 || !strings.Contains(last.RawJSON(), `"cost":`) {
		t.Fatalf("last chunk lacks the upstream's usage: %s", last.RawJSON())
	}
	if strings.Count(last.RawJSON(), `"usage"`) != 1 {
		t.Fatalf("x_groq.usage left in the chunk: %s", last.RawJSON())
	}
	body := string(g.Up.Last().Body)
	if strings.Contains(body, "logprobs") || !strings.Contains(body, `"model":"llama-3.3-70b-versatile"`) {
		t.Fatalf("upstream body = %s", body)
	}
	if got := g.Up.Last().Header.Get("Authorization"); got != "Bearer "+upstreamKey {
		t.Fatalf("Authorization = %q", got)
	}
}

// Groq refuses a message's name with a 400
// (https://console.groq.com/docs/openai): removed from every message.
func TestPresetGroqDropsMessageNames(t *testing.T) {
	g := startPreset(t, "groq", fakeupstream.Behavior{Reply: "hello ann"})
	named := openai.ChatCompletionMessageParamUnion{OfUser: &openai.ChatCompletionUserMessageParam{
		Name: openai.String("ann"), Content: openai.ChatCompletionUserMessageParamContentUnion{OfString: openai.String("hi")}}}
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "groq/llama-3.3-70b-versatile", Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), named}})
	if err != nil || resp.Choices[0].Message.Content != "hello ann" {
		t.Fatalf("%v %+v", err, resp)
	}
	var sent struct {
		Messages []map[string]json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(g.Up.Last().Body, &sent); err != nil || len(sent.Messages) != 2 {
		t.Fatalf("upstream body %s", g.Up.Last().Body)
	}
	for _, m := range sent.Messages {
		if _, ok := m["name"]; ok {
			t.Fatalf("a message's name reached Groq: %s", g.Up.Last().Body)
		}
	}
	if string(sent.Messages[1]["content"]) != `"hi"` {
		t.Fatalf("upstream body %s", g.Up.Last().Body)
	}
}

func TestPresetMoonshotUsageInsideTheChoice(t *testing.T) {
	g := startPreset(t, "moonshot", fakeupstream.Behavior{Reply: "kimi says hi", UsageInFinishChunk: true, UsageAt: "choices.0.usage"})
	// kimi-* is a default pattern of the preset: no catalogue entry needed.
	s := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "kimi-k2-0905-preview", Messages: userMsg("hi")})
	text, _, last := streamText(t, s)
	if text != "kimi says hi" || last.Usage.CompletionTokens != 3 {
		t.Fatalf("text %q, last chunk %s", text, last.RawJSON())
	}
	if strings.Contains(last.RawJSON(), `"choices":[{"usage"`) || strings.Count(last.RawJSON(), `"usage"`) != 1 {
		t.Fatalf("usage not moved to the top level: %s", last.RawJSON())
	}
}

func TestPresetDeepSeekReasoningContent(t *testing.T) {
	b := fakeupstream.Behavior{Reply: "the answer is 7", Reasoning: "seven is prime ", UsageInFinishChunk: true}
	g := startPreset(t, "deepseek", b)
	s := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "deepseek-reasoner", Messages: userMsg("which prime?")})
	text, reasoning, last := streamText(t, s)
	if text != "the answer is 7" || reasoning != "seven is prime " || last.Usage.CompletionTokens != 4 {
		t.Fatalf("text %q reasoning %q last %s", text, reasoning, last.RawJSON())
	}
	// The same upstream reached by an Anthropic client: the reasoning is a
	// thinking block.
	msg, err := g.anthropicClient().Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "deepseek-reasoner", MaxTokens: 100, Messages: userText("which prime?")})
	if err != nil {
		t.Fatal(err)
	}
	var thinking, answer string
	for _, blk := range msg.Content {
		switch blk.Type {
		case "thinking":
			thinking += blk.Thinking
		case "text":
			answer += blk.Text
		}
	}
	if thinking != "seven is prime " || answer != "the answer is 7" {
		t.Fatalf("thinking %q answer %q: %s", thinking, answer, msg.RawJSON())
	}
}

func TestPresetMistralRenamesSeed(t *testing.T) {
	g := startPreset(t, "mistral", fakeupstream.Behavior{Reply: "bonjour", RejectFields: []string{"seed"}})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "mistral-small-latest", Messages: userMsg("salut"), Seed: openai.Int(42)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "bonjour" {
		t.Fatalf("response %s", resp.RawJSON())
	}
	if body := string(g.Up.Last().Body); !strings.Contains(body, `"random_seed":42`) || strings.Contains(body, `"seed"`) {
		t.Fatalf("upstream body = %s", body)
	}
}

// DeepSeek's thinking mode refuses (400) a tool-call turn whose assistant
// message lacks the reasoning_content it produced: an Anthropic client's
// thinking block is that reasoning, and goes back as reasoning_content.
func TestPresetDeepSeekGetsTheThinkingOfAToolTurnBack(t *testing.T) {
	g := startPreset(t, "deepseek", fakeupstream.Behavior{Reply: "It is sunny."})
	const thought = "The user wants the weather: call the tool."
	_, err := g.anthropicClient().Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "deepseek-reasoner", MaxTokens: 200, Tools: []anthropic.ToolUnionParam{weatherToolParam()},
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?")),
			anthropic.NewAssistantMessage(
				anthropic.NewThinkingBlock("sig-from-elsewhere", thought),
				anthropic.NewToolUseBlock("toolu_1", map[string]any{"city": "Paris"}, "get_weather"),
			),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_1", "sunny, 24C", false)),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Messages []struct {
			Role             string            `json:"role"`
			ReasoningContent string            `json:"reasoning_content"`
			ToolCalls        []json.RawMessage `json:"tool_calls"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(g.Up.Last().Body, &sent); err != nil {
		t.Fatal(err)
	}
	for _, m := range sent.Messages {
		if m.Role == "assistant" && len(m.ToolCalls) == 1 && m.ReasoningContent == thought {
			return
		}
	}
	t.Fatalf("no assistant tool-call message with the reasoning_content: %s", g.Up.Last().Body)
}

// Mistral answers 422 for a field it does not define: the stream_options
// the gateway sets on every stream, max_completion_tokens (which the OpenAI
// SDK and the gateway's own translation send), user. Its streams carry
// usage on the last chunk unasked.
func TestPresetMistralStreamsWithoutFieldsItRefuses(t *testing.T) {
	refused := []string{"stream_options", "max_completion_tokens", "user", "seed"}
	g := startPreset(t, "mistral", fakeupstream.Behavior{Reply: "bonjour tout le monde", RejectFields: refused, UsageInFinishChunk: true})
	s := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "mistral-small-latest", Messages: userMsg("salut"), MaxCompletionTokens: openai.Int(50), User: openai.String("u-1"), Seed: openai.Int(3)})
	text, _, last := streamText(t, s)
	if text != "bonjour tout le monde" || last.Usage.CompletionTokens != 4 || last.Usage.PromptTokens == 0 {
		t.Fatalf("text %q, last chunk %s", text, last.RawJSON())
	}
	body := string(g.Up.Last().Body)
	for _, f := range refused {
		if strings.Contains(body, `"`+f+`":`) {
			t.Fatalf("%s reached Mistral: %s", f, body)
		}
	}
	if !strings.Contains(body, `"max_tokens":50`) || !strings.Contains(body, `"random_seed":3`) {
		t.Fatalf("upstream body = %s", body)
	}
	// An Anthropic client's request, translated (max_tokens becomes
	// max_completion_tokens on the way), reaches Mistral in its spelling.
	msg, err := g.anthropicClient().Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: "mistral-small-latest", MaxTokens: 64, Messages: userText("salut")})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Content[0].Text != "bonjour tout le monde" || !strings.Contains(string(g.Up.Last().Body), `"max_tokens":64`) {
		t.Fatalf("anthropic client: %s; upstream body %s", msg.RawJSON(), g.Up.Last().Body)
	}
}

func TestPresetWithoutAdjustmentSendsTheClientsBytes(t *testing.T) {
	// A field only Groq refuses goes through to a service that takes it.
	g := startPreset(t, "xai", fakeupstream.Behavior{Reply: "grok"})
	if _, err := g.client(option.WithJSONSet("logprobs", true)).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "grok-4", Messages: userMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	if body := string(g.Up.Last().Body); !strings.Contains(body, `"logprobs":true`) {
		t.Fatalf("upstream body = %s", body)
	}
}

func TestPresetThroughTheManagementAPI(t *testing.T) {
	g := start(t, opts{yaml: catalogConfig, env: map[string]string{"SWITCHYARD_SECRET_KEY": testSecretKey}})
	var seen bodies
	// Presets are config vocabulary, so the API takes them as the file does.
	seen.call(t, g, "POST", "/api/v1/providers", `{"name":"mi","preset":"mistral","base_url":"`+g.Up.URL+`/v1","api_key":"`+upstreamKey+`"}`, 201)
	bad := seen.call(t, g, "POST", "/api/v1/providers", `{"name":"x","preset":"mistrall","api_key":"k"}`, 400)
	if !strings.Contains(bad, `did you mean \"mistral\"`) {
		t.Errorf("unknown preset answer = %s", bad)
	}
	seen.call(t, g, "POST", "/api/v1/catalog/models", `{"id":"house-model","routes":[{"provider":"mi","model":"mistral-large-latest"}]}`, 201)
	if _, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "house-model", Messages: userMsg("hi"), Seed: openai.Int(5)}); err != nil {
		t.Fatal(err)
	}
	if body := string(g.Up.Last().Body); !strings.Contains(body, `"random_seed":5`) || !strings.Contains(body, `"mistral-large-latest"`) {
		t.Fatalf("upstream body = %s", body)
	}
}
