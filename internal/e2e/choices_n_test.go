package e2e

// n > 1 through translation (issue 12, defect 9): the canonical answer holds
// one choice, so a request for several that must be translated is refused
// with a 400 naming n rather than answered with one.

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
)

func TestTranslatedRequestForSeveralChoicesIsRefusedNamingN(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		model string
	}{
		{name: "anthropic upstream", yaml: claudeConfig, model: "claude-sonnet-4-5"},
		{name: "gemini upstream", yaml: geminiUpConfig, model: "gemini-2.5-flash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := start(t, opts{yaml: tt.yaml})
			_, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model:    tt.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
				N:        openai.Int(2),
			})
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Param != "n" {
				t.Fatalf("err = %v, want a 400 naming n", err)
			}
			if n := len(g.Up.Requests()); n != 0 {
				t.Errorf("the upstream got %d requests", n)
			}
		})
	}
}

func TestSameDialectRequestForSeveralChoicesPassesThrough(t *testing.T) {
	g := start(t, opts{})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "fake-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
		N:        openai.Int(2),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) == 0 || jsonMap(t, g.Up.Last().Body)["n"] != 2.0 {
		t.Fatalf("upstream body %s", g.Up.Last().Body)
	}
}
