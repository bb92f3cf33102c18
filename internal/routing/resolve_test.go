package routing

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

func testConfig() *config.Config {
	return &config.Config{
		Providers: []config.Provider{{Name: "openai"}, {Name: "deepseek"}, {Name: "azure-east"}, {Name: "openrouter"}, {Name: "ollama"}},
		Models: []config.Model{
			{ID: "gpt-4o", Aliases: []string{"openai/gpt-4o"}, Routes: []config.Route{
				{Provider: "azure-east", Model: "gpt-4o-prod", Priority: 1},
				{Provider: "openai", Model: "gpt-4o"},
			}},
			{ID: "llama-3-8b:free", Routes: []config.Route{{Provider: "openrouter", Model: "meta-llama/llama-3-8b-instruct:free"}}},
			{ID: "claude-*", Routes: []config.Route{{Provider: "openrouter"}}},
			{ID: "*", Routes: []config.Route{{Provider: "openrouter"}}},
			{ID: "gemini-*", Routes: []config.Route{{Provider: "openai"}}},
		},
	}
}

func TestResolve(t *testing.T) {
	r := New(testConfig())
	tests := []struct {
		name         string
		in           string
		wantProvider string
		wantModel    string
		wantVariant  Variant
	}{
		{name: "catalogue id, lowest priority first", in: "gpt-4o", wantProvider: "openai", wantModel: "gpt-4o"},
		{name: "alias beats provider/model", in: "openai/gpt-4o", wantProvider: "openai", wantModel: "gpt-4o"},
		{name: "provider colon model", in: "deepseek:deepseek-chat", wantProvider: "deepseek", wantModel: "deepseek-chat"},
		{name: "provider slash model", in: "deepseek/deepseek-reasoner", wantProvider: "deepseek", wantModel: "deepseek-reasoner"},
		{name: "upstream id with slash", in: "openrouter/meta-llama/llama-3-70b", wantProvider: "openrouter", wantModel: "meta-llama/llama-3-70b"},
		{name: "upstream id with colon", in: "ollama:qwen:7b", wantProvider: "ollama", wantModel: "qwen:7b"},
		{name: "slash before colon: not a colon split", in: "ollama/qwen:7b", wantProvider: "ollama", wantModel: "qwen:7b"},
		{name: "unknown prefix falls to patterns", in: "meta-llama/llama-3-70b", wantProvider: "openrouter", wantModel: "meta-llama/llama-3-70b"},
		{name: "pattern keeps requested name", in: "claude-sonnet-4-5", wantProvider: "openrouter", wantModel: "claude-sonnet-4-5"},
		{name: "catch-all tried after other patterns", in: "gemini-2.5-pro", wantProvider: "openai", wantModel: "gemini-2.5-pro"},
		{name: "catalogue id containing a suffix", in: "llama-3-8b:free", wantProvider: "openrouter", wantModel: "meta-llama/llama-3-8b-instruct:free"},
		{name: "nitro on catalogue id", in: "gpt-4o:nitro", wantProvider: "openai", wantModel: "gpt-4o", wantVariant: VariantNitro},
		{name: "floor on provider/model", in: "openai/gpt-4o-mini:floor", wantProvider: "openai", wantModel: "gpt-4o-mini", wantVariant: VariantFloor},
		{name: "colon model id with nitro", in: "ollama:qwen:7b:nitro", wantProvider: "ollama", wantModel: "qwen:7b", wantVariant: VariantNitro},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.Resolve(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := res.Targets[0]
			if got.Provider != tt.wantProvider || got.Model != tt.wantModel || res.Variant != tt.wantVariant {
				t.Fatalf("Resolve(%q) = %s/%s variant %d, want %s/%s variant %d", tt.in, got.Provider, got.Model, res.Variant, tt.wantProvider, tt.wantModel, tt.wantVariant)
			}
			if res.Requested != tt.in {
				t.Fatalf("Requested = %q", res.Requested)
			}
		})
	}
}

func TestResolveUnknownIs404(t *testing.T) {
	cfg := testConfig()
	cfg.Models = cfg.Models[:2] // no patterns
	_, err := New(cfg).Resolve("nope-1")
	e, ok := err.(*llm.Error)
	if !ok || e.Status != 404 || e.Code != "model_not_found" {
		t.Fatalf("err = %v", err)
	}
}

func TestRouteIDsArePerUpstreamModelAndGroupedByConfiguredRoute(t *testing.T) {
	r := New(testConfig())
	ids, groups := map[string]bool{}, map[string]bool{}
	for _, name := range []string{"made-up-1", "made-up-2", "claude-x", "claude-y", "deepseek:a", "deepseek:b"} {
		res, err := r.Resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		ids[RouteID(res.Targets[0])] = true
		groups[configured(res.Targets[0])] = true
	}
	// One breaker per provider/model, so models under one pattern fail apart.
	if len(ids) != 6 || !ids["openrouter/made-up-1"] || !ids["openrouter/claude-y"] || !ids["deepseek/b"] {
		t.Fatalf("route ids = %v", ids)
	}
	// The configured routes, which label metrics, stay bounded by the config:
	// "*" → openrouter/*, "claude-*" → openrouter/claude-*, provider form → deepseek/*.
	if len(groups) != 3 || !groups["openrouter/*"] || !groups["openrouter/claude-*"] || !groups["deepseek/*"] {
		t.Fatalf("configured routes = %v", groups)
	}
}
