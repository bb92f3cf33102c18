package provider

import (
	"net/http"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// TestAttemptFormat: a provider that speaks the Responses API takes
// Responses requests for every model as they are, and its Responses-only
// models in no other format; a chat-only provider takes only chat.
func TestAttemptFormat(t *testing.T) {
	on := true
	openai, err := newOpenAI(&config.Provider{Name: "o", Type: "openai", BaseURL: "https://api.openai.com/v1", Responses: &on,
		ResponsesOnlyModels: []string{"o3-pro*", "*-codex*"}}, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	chat, err := newOpenAI(&config.Provider{Name: "v", Type: "openai", BaseURL: "http://localhost:1/v1"}, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	claude, err := newAnthropic(&config.Provider{Name: "c", Type: "anthropic", BaseURL: "https://api.anthropic.com", APIKey: "k"}, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		p          *Provider
		model      string
		formatFor  Format
		chat, resp bool // Speaks(FormatOpenAI), Speaks(FormatResponses)
	}{
		{name: "chat model on OpenAI", p: openai, model: "gpt-4.1", formatFor: FormatOpenAI, chat: true, resp: true},
		{name: "Responses-only model on OpenAI", p: openai, model: "o3-pro-2025-06-10", formatFor: FormatResponses, resp: true},
		{name: "pattern in the middle", p: openai, model: "gpt-5-codex", formatFor: FormatResponses, resp: true},
		{name: "compatible server", p: chat, model: "o3-pro", formatFor: FormatOpenAI, chat: true},
		{name: "anthropic", p: claude, model: "claude-sonnet-4-5", formatFor: FormatAnthropic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.FormatFor(tt.model); got != tt.formatFor {
				t.Errorf("FormatFor = %v, want %v", got, tt.formatFor)
			}
			if got := tt.p.Speaks(FormatOpenAI, tt.model); got != tt.chat {
				t.Errorf("Speaks(OpenAI) = %v, want %v", got, tt.chat)
			}
			if got := tt.p.Speaks(FormatResponses, tt.model); got != tt.resp {
				t.Errorf("Speaks(Responses) = %v, want %v", got, tt.resp)
			}
		})
	}
	if !claude.Speaks(FormatAnthropic, "claude-sonnet-4-5") || claude.Speaks(0, "x") {
		t.Error("anthropic should speak only its own format")
	}
}
