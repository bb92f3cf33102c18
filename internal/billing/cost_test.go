package billing

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestCost(t *testing.T) {
	p := &config.Pricing{Prompt: 2_500_000_000, Completion: 10_000_000_000, CachedPrompt: 1_250_000_000}
	tests := []struct {
		name string
		u    llm.Usage
		want int64
	}{
		{"plain", llm.Usage{PromptTokens: 1000, CompletionTokens: 100}, 2_500_000 + 1_000_000},
		{"cached at cached price", llm.Usage{PromptTokens: 1000, CachedTokens: 400, CompletionTokens: 0}, 600*2500 + 400*1250},
		{"reasoning is inside completion", llm.Usage{PromptTokens: 0, CompletionTokens: 50, ReasoningTokens: 40}, 50 * 10_000},
		{"zero", llm.Usage{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := int64(Cost(tt.u, p)); got != tt.want {
				t.Fatalf("Cost = %d, want %d", got, tt.want)
			}
		})
	}
	if Cost(llm.Usage{PromptTokens: 10}, nil) != 0 {
		t.Fatal("unpriced must be free")
	}
	// 5 tokens at $0.15/M = 750 nano-dollars, not zero.
	if got := Cost(llm.Usage{PromptTokens: 5}, &config.Pricing{Prompt: 150_000_000}); got != 750 {
		t.Fatalf("small cost = %d", got)
	}
}
