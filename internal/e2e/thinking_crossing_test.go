package e2e

// Thinking that crosses vendors (issue 12, defect 9): a thinking signature
// is only valid for the vendor that issued it, so it is never sent to
// another; and a reasoning effort reaches a current Claude model as
// adaptive thinking. Driven by the official SDKs against the fake upstream.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
	"google.golang.org/genai"
)

// crossingConfig sends gemini-* to a Gemini-format and claude-* to an
// Anthropic-format upstream (both the fake).
const crossingConfig = `
providers:
  - { name: gemini, type: gemini, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}" }
  - { name: claude, type: anthropic, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}" }
models:
  - id: "gemini-*"
    pricing: { prompt: 1.25, completion: 10.00 }
    routes: [{ provider: gemini }]
  - id: "claude-*"
    pricing: { prompt: 3.00, completion: 15.00 }
    routes: [{ provider: claude }]
`

func TestAnthropicThinkingSignatureIsNotSentToGemini(t *testing.T) {
	g := start(t, opts{yaml: crossingConfig, up: fakeOpts{Default: fakeBehavior{Reply: "ok"}}})
	const sig = "EqQBCgIYAhIManthropic-signature"
	_, err := g.anthropicClient().Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     "gemini-2.5-pro",
		MaxTokens: 100,
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewTextBlock("Is 7 prime?")),
			anthropic.NewAssistantMessage(
				anthropic.NewThinkingBlock(sig, "Seven has no divisors but 1 and 7."),
				anthropic.NewRedactedThinkingBlock("ENCRYPTED-REASONING"),
				anthropic.NewTextBlock("Yes."),
			),
			anthropic.NewUserMessage(anthropic.NewTextBlock("And 9?")),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := string(g.Up.Last().Body)
	if strings.Contains(body, sig) || strings.Contains(body, "thoughtSignature") || strings.Contains(body, "ENCRYPTED-REASONING") {
		t.Fatalf("an Anthropic signature or redacted thinking reached Gemini: %s", body)
	}
	// Gemini takes unsigned thought text: the reasoning itself is kept.
	var sent geminiThoughts
	if err := json.Unmarshal(g.Up.Last().Body, &sent); err != nil {
		t.Fatal(err)
	}
	if !sent.hasThought("Seven has no divisors but 1 and 7.") {
		t.Fatalf("the thinking text was not sent as a thought part: %s", body)
	}
}

type geminiThoughts struct {
	Contents []struct {
		Parts []struct {
			Text    string `json:"text"`
			Thought bool   `json:"thought"`
		} `json:"parts"`
	} `json:"contents"`
}

func (s geminiThoughts) hasThought(text string) bool {
	for _, c := range s.Contents {
		for _, p := range c.Parts {
			if p.Thought && p.Text == text {
				return true
			}
		}
	}
	return false
}

func TestGeminiThoughtSignatureIsNotSentToAnthropic(t *testing.T) {
	g := start(t, opts{yaml: crossingConfig, up: fakeOpts{Default: fakeBehavior{Reply: "ok"}}})
	thought := &genai.Part{Text: "Nine is three squared.", Thought: true, ThoughtSignature: []byte("gemini-signature")}
	_, err := g.gemini(t).Models.GenerateContent(context.Background(), "claude-sonnet-4-5", []*genai.Content{
		genai.NewContentFromText("Is 9 prime?", genai.RoleUser),
		genai.NewContentFromParts([]*genai.Part{thought, genai.NewPartFromText("No.")}, genai.RoleModel),
		genai.NewContentFromText("And 11?", genai.RoleUser),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Messages []struct {
			Role    string            `json:"role"`
			Content []json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	body := g.Up.Last().Body
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	// Anthropic refuses a thinking block without a signature of its own,
	// so Gemini's thought is left out; the answer text stays.
	if strings.Contains(string(body), `"thinking"`) || strings.Contains(string(body), "Z2VtaW5pLXNpZ25hdHVyZQ") {
		t.Fatalf("a Gemini thought or its signature reached Anthropic: %s", body)
	}
	if len(sent.Messages) != 3 || sent.Messages[1].Role != "assistant" || !strings.Contains(string(body), `"No."`) {
		t.Fatalf("history was not kept: %s", body)
	}
}

func TestOpenAIReasoningEffortReachesCurrentClaudeAsAdaptiveThinking(t *testing.T) {
	g := start(t, opts{yaml: crossingConfig, up: fakeOpts{Default: fakeBehavior{Reply: "ok"}}})
	tests := []struct {
		name, model string
		effort      shared.ReasoningEffort
		want        string // the thinking and output_config the upstream is sent
	}{
		{name: "Opus 4.7 takes only adaptive thinking", model: "claude-opus-4-7", effort: shared.ReasoningEffortHigh,
			want: `{"thinking":{"type":"adaptive"},"output_config":{"effort":"high"}}`},
		{name: "minimal is Anthropic's low", model: "claude-sonnet-4-6", effort: shared.ReasoningEffortMinimal,
			want: `{"thinking":{"type":"adaptive"},"output_config":{"effort":"low"}}`},
		{name: "an older model keeps a thinking budget", model: "claude-sonnet-4-5", effort: shared.ReasoningEffortMedium,
			want: `{"thinking":{"type":"enabled","budget_tokens":4096}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model:           tt.model,
				Messages:        []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Plan it.")},
				ReasoningEffort: tt.effort,
			})
			if err != nil {
				t.Fatal(err)
			}
			var sent struct {
				Thinking     json.RawMessage `json:"thinking"`
				OutputConfig json.RawMessage `json:"output_config,omitempty"`
			}
			if err := json.Unmarshal(g.Up.Last().Body, &sent); err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(sent)
			if string(got) != tt.want {
				t.Fatalf("upstream got %s, want %s", got, tt.want)
			}
		})
	}
}
