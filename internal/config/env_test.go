package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestInterpolation(t *testing.T) {
	env := map[string]string{"HOST": "db.internal", "EMPTY": "", "KEY": "sk-1"}
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "postgres://u@${HOST}:5432/sy", want: "postgres://u@db.internal:5432/sy"},
		{name: "default unused", in: "postgres://u@${HOST:-localhost}/sy", want: "postgres://u@db.internal/sy"},
		{name: "default for unset", in: "postgres://u@${NOPE:-localhost}/sy", want: "postgres://u@localhost/sy"},
		{name: "default for empty", in: "postgres://u@${EMPTY:-localhost}/sy", want: "postgres://u@localhost/sy"},
		{name: "empty default", in: "sqlite://x${NOPE:-}.db", want: "sqlite://x.db"},
		{name: "escape", in: "sqlite://$${HOST}.db", want: "sqlite://${HOST}.db"},
		{name: "escape then variable", in: "sqlite://$${HOST}${HOST}.db", want: "sqlite://${HOST}db.internal.db"},
		{name: "lone dollar kept", in: "sqlite://a$b$.db", want: "sqlite://a$b$.db"},
		{name: "two variables", in: "postgres://${HOST}:${PORT:-5432}/sy", want: "postgres://db.internal:5432/sy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, "storage: {database: \""+tt.in+"\"}", env)
			if cfg.Storage.Database != tt.want {
				t.Errorf("database = %q, want %q", cfg.Storage.Database, tt.want)
			}
		})
	}

	t.Run("in numbers and durations", func(t *testing.T) {
		src := base + "  - {id: m, routes: [{provider: mock, weight: \"${W}\", timeout: \"${T}\"}]}\n"
		cfg := parse(t, src, map[string]string{"W": "4", "T": "90s"})
		if r := cfg.Models[1].Routes[0]; r.Weight != 4 || r.Timeout.String() != "1m30s" {
			t.Errorf("route = %+v", r)
		}
	})
	t.Run("every missing variable is named", func(t *testing.T) {
		ps := problems(t, "storage: {database: \"postgres://${DB_USER}:${DB_PASS}@h/db\"}", nil)
		if len(ps) != 2 || !strings.Contains(ps[0].Message, "DB_USER") || !strings.Contains(ps[1].Message, "DB_PASS") {
			t.Errorf("problems = %v", ps)
		}
	})
	t.Run("keys are not expanded", func(t *testing.T) {
		ps := problems(t, "providers: [{name: m, type: mock, headers: {\"${X}\": v}}]", map[string]string{"X": "X-A"})
		if len(ps) != 1 || ps[0].Path != `providers[0].headers["${X}"]` {
			t.Errorf("problems = %v", ps)
		}
	})
	t.Run("an anchored value is expanded once per use", func(t *testing.T) {
		src := "providers:\n  - {name: a, type: mock, headers: {X-A: &v \"$${KEEP}\"}}\n  - {name: b, type: mock, headers: {X-A: *v}}\n"
		cfg := parse(t, src, nil)
		for _, p := range cfg.Providers {
			if p.Headers["X-A"] != "${KEEP}" {
				t.Errorf("%s header = %q, want ${KEEP}", p.Name, p.Headers["X-A"])
			}
		}
	})
}

func TestEnvProviders(t *testing.T) {
	openaiPatterns := []string{"gpt-*", "chatgpt-*", "o1*", "o3*", "o4*", "text-embedding-*"}
	type entry struct {
		id, provider string
	}
	patternsFor := func(provider string, ids ...string) []entry {
		var es []entry
		for _, id := range ids {
			es = append(es, entry{id, provider})
		}
		return es
	}
	tests := []struct {
		name          string
		src           string
		env           map[string]string
		wantProviders []Provider
		wantModels    []entry
	}{
		{
			name: "openai key",
			env:  map[string]string{"OPENAI_API_KEY": "sk-o"},
			wantProviders: []Provider{
				{Name: "openai", Type: "openai", BaseURL: "https://api.openai.com/v1", APIKey: "sk-o", Responses: &speaksResponses, ResponsesOnlyModels: DefaultResponsesOnlyModels, FromEnv: true},
			},
			wantModels: patternsFor("openai", openaiPatterns...),
		},
		{
			name: "every key, base url overrides, openrouter last",
			env: map[string]string{
				"OPENROUTER_API_KEY": "sk-or", "DEEPSEEK_API_KEY": "sk-ds", "GEMINI_API_KEY": "g", "ANTHROPIC_API_KEY": "sk-a", "OPENAI_API_KEY": "sk-o",
				"OPENAI_BASE_URL": "http://localhost:8000/v1", "ANTHROPIC_BASE_URL": "https://proxy.example/anthropic",
				"GEMINI_BASE_URL": "", "DEEPSEEK_BASE_URL": "https://ds.example/v1", "OPENROUTER_BASE_URL": "https://or.example/api/v1",
			},
			wantProviders: []Provider{
				{Name: "openai", Type: "openai", BaseURL: "http://localhost:8000/v1", APIKey: "sk-o", FromEnv: true},
				{Name: "anthropic", Type: "anthropic", BaseURL: "https://proxy.example/anthropic", APIKey: "sk-a", FromEnv: true},
				{Name: "gemini", Type: "gemini", BaseURL: "https://generativelanguage.googleapis.com", APIKey: "g", FromEnv: true},
				{Name: "deepseek", Type: "openai", Preset: "deepseek", BaseURL: "https://ds.example/v1", APIKey: "sk-ds", FromEnv: true},
				{Name: "openrouter", Type: "openai", Preset: "openrouter", BaseURL: "https://or.example/api/v1", APIKey: "sk-or", FromEnv: true},
			},
			wantModels: append(append(append(append(
				patternsFor("openai", openaiPatterns...),
				entry{"claude-*", "anthropic"}),
				entry{"gemini-*", "gemini"}),
				entry{"deepseek-*", "deepseek"}),
				entry{"*", "openrouter"}),
		},
		{
			name: "default base urls",
			env:  map[string]string{"DEEPSEEK_API_KEY": "sk-ds", "OPENROUTER_API_KEY": "sk-or"},
			wantProviders: []Provider{
				{Name: "deepseek", Type: "openai", Preset: "deepseek", BaseURL: "https://api.deepseek.com/v1", APIKey: "sk-ds", FromEnv: true},
				{Name: "openrouter", Type: "openai", Preset: "openrouter", BaseURL: "https://openrouter.ai/api/v1", APIKey: "sk-or", FromEnv: true},
			},
			wantModels: []entry{{"deepseek-*", "deepseek"}, {"*", "openrouter"}},
		},
		{
			name: "empty key ignored",
			env:  map[string]string{"OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": "sk-a"},
			wantProviders: []Provider{
				{Name: "anthropic", Type: "anthropic", BaseURL: "https://api.anthropic.com", APIKey: "sk-a", FromEnv: true},
			},
			wantModels: []entry{{"claude-*", "anthropic"}},
		},
		{
			name: "file provider of the same name wins",
			src:  "providers: [{name: openai, type: openai, api_key: file-key}]",
			env:  map[string]string{"OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a"},
			wantProviders: []Provider{
				{Name: "openai", Type: "openai", BaseURL: "https://api.openai.com/v1", APIKey: "file-key", Responses: &speaksResponses, ResponsesOnlyModels: DefaultResponsesOnlyModels},
				{Name: "anthropic", Type: "anthropic", BaseURL: "https://api.anthropic.com", APIKey: "sk-a", FromEnv: true},
			},
			wantModels: []entry{{"claude-*", "anthropic"}},
		},
		{
			name: "catalogue routing to an env provider gets no patterns",
			src:  "models: [{id: sonnet, routes: [{provider: anthropic, model: claude-sonnet-4-5}]}]",
			env:  map[string]string{"ANTHROPIC_API_KEY": "sk-a", "GEMINI_API_KEY": "g"},
			wantProviders: []Provider{
				{Name: "anthropic", Type: "anthropic", BaseURL: "https://api.anthropic.com", APIKey: "sk-a", FromEnv: true},
				{Name: "gemini", Type: "gemini", BaseURL: "https://generativelanguage.googleapis.com", APIKey: "g", FromEnv: true},
			},
			wantModels: []entry{{"sonnet", "anthropic"}, {"gemini-*", "gemini"}},
		},
		{
			name: "patterns come after the file's models and skip ids it has",
			src:  "providers: [{name: m, type: mock}]\nmodels: [{id: \"gemini-*\", routes: [{provider: m}]}, {id: x, routes: [{provider: m}]}]",
			env:  map[string]string{"GEMINI_API_KEY": "g", "OPENROUTER_API_KEY": "sk-or"},
			wantProviders: []Provider{
				{Name: "m", Type: "mock", Mock: MockOptions{Words: 12}},
				{Name: "gemini", Type: "gemini", BaseURL: "https://generativelanguage.googleapis.com", APIKey: "g", FromEnv: true},
				{Name: "openrouter", Type: "openai", Preset: "openrouter", BaseURL: "https://openrouter.ai/api/v1", APIKey: "sk-or", FromEnv: true},
			},
			wantModels: []entry{{"gemini-*", "m"}, {"x", "m"}, {"*", "openrouter"}},
		},
		{
			name:          "zero-config mock",
			wantProviders: []Provider{{Name: "mock", Type: "mock", Mock: MockOptions{Words: 12}}},
			wantModels:    []entry{{"*", "mock"}},
		},
		{
			name:          "zero-config mock with a file that has no providers",
			src:           "server: {listen: \":9999\"}",
			wantProviders: []Provider{{Name: "mock", Type: "mock", Mock: MockOptions{Words: 12}}},
			wantModels:    []entry{{"*", "mock"}},
		},
		{
			name: "no mock when a provider exists",
			src:  "providers: [{name: local, type: openai, base_url: \"http://127.0.0.1:11434/v1\"}]",
			wantProviders: []Provider{
				{Name: "local", Type: "openai", BaseURL: "http://127.0.0.1:11434/v1"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, tt.src, tt.env)
			for i := range tt.wantProviders {
				tt.wantProviders[i].Timeout = DefaultTimeout
			}
			if !reflect.DeepEqual(cfg.Providers, tt.wantProviders) {
				t.Errorf("providers =\n%+v\nwant\n%+v", cfg.Providers, tt.wantProviders)
			}
			var got []entry
			for _, m := range cfg.Models {
				if len(m.Routes) != 1 {
					t.Fatalf("model %s has %d routes", m.ID, len(m.Routes))
				}
				got = append(got, entry{m.ID, m.Routes[0].Provider})
				if r := m.Routes[0]; m.IsPattern() && r.Model != "" {
					t.Errorf("pattern %s route model = %q, want empty (the requested name)", m.ID, r.Model)
				}
			}
			if !reflect.DeepEqual(got, tt.wantModels) {
				t.Errorf("models = %v, want %v", got, tt.wantModels)
			}
		})
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	const key = "sk-secret-123"
	env := map[string]string{"OPENAI_API_KEY": key, "ANTHROPIC_API_KEY": key, "ADMIN": key}

	t.Run("config", func(t *testing.T) {
		src := "server: {admin_key: \"${ADMIN}\"}\nproviders: [{name: o, type: openai, api_key: " + key + "}]\n"
		cfg := parse(t, src, env)
		if cfg.Providers[0].APIKey.Reveal() != key || cfg.Server.AdminKey.Reveal() != key {
			t.Fatal("secret not loaded")
		}
		js, _ := json.Marshal(cfg)
		ym, _ := yaml.Marshal(cfg)
		var logged strings.Builder
		slog.New(slog.NewTextHandler(&logged, nil)).Info("cfg", "cfg", cfg, "key", cfg.Providers[0].APIKey)
		outputs := map[string]string{
			"%v %+v %#v": fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg),
			"values":     fmt.Sprintf("%v %+v %#v", *cfg, *cfg, *cfg),
			"verbs":      fmt.Sprintf("%s %q %x %X %d %10s", cfg.Providers[0].APIKey, cfg.Providers[0].APIKey, cfg.Providers[0].APIKey, cfg.Providers[0].APIKey, cfg.Providers[0].APIKey, cfg.Providers[0].APIKey),
			"json":       string(js),
			"yaml":       string(ym),
			"slog":       logged.String(),
		}
		for name, out := range outputs {
			if strings.Contains(out, key) || strings.Contains(out, fmt.Sprintf("%x", key)) {
				t.Errorf("%s leaks the secret: %s", name, out)
			}
			if !strings.Contains(out, "[redacted]") {
				t.Errorf("%s does not show [redacted]: %s", name, out)
			}
		}
	})

	t.Run("validation errors", func(t *testing.T) {
		srcs := []string{
			// The key lands in fields that fail to parse or validate.
			"providers: [{name: o, type: opnai, api_key: \"${OPENAI_API_KEY}\", base_url: \"${OPENAI_API_KEY}\", timeout: \"${OPENAI_API_KEY}\"}]",
			"providers: [{name: o, type: anthropic, api_key: [\"${OPENAI_API_KEY}\"]}]\nmodels: [{id: m, routes: [{provider: o, weight: \"${OPENAI_API_KEY}\"}], pricing: {prompt: \"${OPENAI_API_KEY}\"}}]",
			"server: {listen: \"${OPENAI_API_KEY}\"}\nstorage: {database: \"${OPENAI_API_KEY}://x\", redis: \"${OPENAI_API_KEY}\"}",
			"providers: [{name: o, type: openai, api_key: k, headers: {X-Key: \"${OPENAI_API_KEY}\\n\"}}]",
			"storage: {database: \"postgres://u:" + key + "@h/db\", redis: \"http://u:" + key + "@h:6379\"}",
			"providers: [{name: o, type: openai, api_key: k, base_url: \"https://u:" + key + "@h/v1?x=1\"}]",
		}
		for i, src := range srcs {
			_, err := Parse([]byte(src), "switchyard.yaml", MapEnv(env))
			if err == nil {
				t.Errorf("config %d: no error", i)
				continue
			}
			if strings.Contains(err.Error(), "secret-123") {
				t.Errorf("config %d: error leaks the secret:\n%v", i, err)
			}
		}
	})
}
