package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// specExample is the config of SPEC §1, verbatim.
const specExample = `
server:
  listen: "127.0.0.1:8080"
  admin_key: "${SWITCHYARD_ADMIN_KEY}"     # optional; generated on first start if absent
storage:
  database: "sqlite://./switchyard.db"     # or postgres://user:pass@host:5432/db
  redis: ""                                # optional, redis://127.0.0.1:6379/0
providers:
  - name: openai                           # the name used in "openai/gpt-4o" and "openai:gpt-4o"
    type: openai                           # openai | anthropic | gemini | azure | mock
    base_url: "https://api.openai.com/v1"
    api_key: "${OPENAI_API_KEY}"
    timeout: 600s
  - name: claude
    type: anthropic
    base_url: "https://api.anthropic.com"
    api_key: "${ANTHROPIC_API_KEY}"
  - name: azure-east
    type: azure
    base_url: "https://my-resource.openai.azure.com"
    api_key: "${AZURE_OPENAI_KEY}"
models:                                    # the public catalogue, optional
  - id: gpt-4o
    aliases: ["openai/gpt-4o"]
    context_length: 128000
    pricing: { prompt: 2.50, completion: 10.00, cached_prompt: 1.25 }   # USD per 1M tokens
    routes:
      - { provider: openai, model: gpt-4o, weight: 3 }
      - { provider: azure-east, model: gpt-4o-prod, weight: 1 }
    fallbacks: [gpt-4o-mini]
`

// specEnv is the environment the example expects.
var specEnv = map[string]string{
	"SWITCHYARD_ADMIN_KEY": "sy-admin-1",
	"OPENAI_API_KEY":       "sk-openai-1",
	"ANTHROPIC_API_KEY":    "sk-ant-1",
	"AZURE_OPENAI_KEY":     "az-1",
}

// specExampleFixed is the example with what validation additionally asks of
// it: azure's api_version, and a gpt-4o-mini entry for the fallback to name.
var specExampleFixed = strings.Replace(specExample, `    api_key: "${AZURE_OPENAI_KEY}"
`, `    api_key: "${AZURE_OPENAI_KEY}"
    api_version: "2024-10-21"
`, 1) + `  - id: gpt-4o-mini
    routes: [{ provider: openai }]
`

func parse(t *testing.T, src string, env map[string]string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(src), "switchyard.yaml", MapEnv(env))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func problems(t *testing.T, src string, env map[string]string) []Problem {
	t.Helper()
	cfg, err := Parse([]byte(src), "switchyard.yaml", MapEnv(env))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Parse: got config %+v, err %v; want a *ValidationError", cfg, err)
	}
	if cfg != nil {
		t.Errorf("Parse returned a config along with an error")
	}
	return verr.Problems
}

func TestSpecExampleParsesWithEveryField(t *testing.T) {
	cfg := parse(t, specExampleFixed, specEnv)

	if got, want := cfg.Source, "switchyard.yaml"; got != want {
		t.Errorf("Source = %q, want %q", got, want)
	}
	wantServer := Server{
		Listen:       "127.0.0.1:8080",
		AdminKey:     "sy-admin-1",
		MaxBodyBytes: 32 << 20,
		DrainTimeout: 30 * time.Second,
		SSEKeepAlive: 15 * time.Second,
		AccessLog:    "on",
	}
	if wantServer = withTransportDefaults(wantServer); !reflect.DeepEqual(cfg.Server, wantServer) {
		t.Errorf("Server = %#v, want %#v", cfg.Server, wantServer)
	}
	if got := cfg.Server.AdminKey.Reveal(); got != "sy-admin-1" {
		t.Errorf("AdminKey = %q", got)
	}
	if want := (Storage{Database: "sqlite://./switchyard.db", ResponsesRetentionDays: DefaultResponsesRetentionDays, LedgerSpool: "./switchyard.ledger-spool", LedgerSpoolMaxBytes: DefaultLedgerSpoolMaxBytes}); cfg.Storage != want {
		t.Errorf("Storage = %+v, want %+v", cfg.Storage, want)
	}
	if cfg.Billing.Unpriced != "free" {
		t.Errorf("Billing.Unpriced = %q, want free", cfg.Billing.Unpriced)
	}

	wantProviders := []Provider{
		{Name: "openai", Type: "openai", BaseURL: "https://api.openai.com/v1", APIKey: "sk-openai-1", Responses: &speaksResponses, ResponsesOnlyModels: DefaultResponsesOnlyModels, Timeout: 600 * time.Second},
		{Name: "claude", Type: "anthropic", BaseURL: "https://api.anthropic.com", APIKey: "sk-ant-1", Timeout: 600 * time.Second},
		{Name: "azure-east", Type: "azure", BaseURL: "https://my-resource.openai.azure.com", APIKey: "az-1", APIVersion: "2024-10-21", Timeout: 600 * time.Second},
		// ANTHROPIC_API_KEY is set and no provider in the file is called
		// "anthropic" (it is "claude"), so the variable adds one.
		{Name: "anthropic", Type: "anthropic", BaseURL: "https://api.anthropic.com", APIKey: "sk-ant-1", Timeout: 600 * time.Second, FromEnv: true},
	}
	if !reflect.DeepEqual(cfg.Providers, wantProviders) {
		t.Errorf("Providers =\n%+v\nwant\n%+v", cfg.Providers, wantProviders)
	}

	// OPENAI_API_KEY adds nothing: the file has a provider called openai.
	// The env-derived anthropic provider gets its pattern after the file's models.
	wantModels := []Model{
		{
			ID:            "gpt-4o",
			Aliases:       []string{"openai/gpt-4o"},
			ContextLength: 128000,
			Pricing:       &Pricing{Prompt: 2_500_000_000, Completion: 10_000_000_000, CachedPrompt: 1_250_000_000},
			Routes: []Route{
				{Provider: "openai", Model: "gpt-4o", Weight: 3},
				{Provider: "azure-east", Model: "gpt-4o-prod", Weight: 1},
			},
			Fallbacks: []string{"gpt-4o-mini"},
		},
		{ID: "gpt-4o-mini", Routes: []Route{{Provider: "openai", Weight: 1}}},
		{ID: "claude-*", Routes: []Route{{Provider: "anthropic", Weight: 1}}},
	}
	if !reflect.DeepEqual(cfg.Models, wantModels) {
		t.Errorf("Models =\n%+v\nwant\n%+v", cfg.Models, wantModels)
	}
	if p := cfg.Models[0].Pricing; p.Prompt != 2_500_000_000 || p.CachedPrompt != 1_250_000_000 {
		t.Errorf("pricing prompt = %d, cached_prompt = %d nanos; want exactly 2500000000 and 1250000000", p.Prompt, p.CachedPrompt)
	}
}

// The example as printed in SPEC §1 omits azure's api_version and the model
// its fallback names; validation points at exactly those two lines.
// SPEC §1's example parses as printed except for its fallback to a model it
// never defines: an undefined fallback is a typo the operator must hear of.
func TestSpecExampleVerbatimNeedsFallbackTarget(t *testing.T) {
	got := problems(t, specExample, specEnv)
	want := []Problem{
		{Path: "models[0].fallbacks[0]", Line: 30},
	}
	if len(got) != len(want) {
		t.Fatalf("problems = %v, want paths %v", got, want)
	}
	for i := range want {
		if got[i].Path != want[i].Path || got[i].Line != want[i].Line {
			t.Errorf("problem %d = %v, want path %s line %d", i, got[i], want[i].Path, want[i].Line)
		}
	}
}

func TestPricesParseExactly(t *testing.T) {
	tests := []struct {
		name  string
		price string
		want  money.Nanos
	}{
		{name: "two decimals", price: "2.50", want: 2_500_000_000},
		{name: "quoted", price: `"1.25"`, want: 1_250_000_000},
		{name: "integer", price: "10", want: 10_000_000_000},
		{name: "sub-cent", price: "0.075", want: 75_000_000},
		{name: "nine decimals", price: "0.000000001", want: 1},
		{name: "leading dot", price: ".5", want: 500_000_000},
		{name: "from env", price: `"${PRICE}"`, want: 3_000_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "models:\n  - id: m\n    pricing: {prompt: " + tt.price + "}\n    routes: [{provider: mock}]\nproviders: [{name: mock, type: mock}]\n"
			cfg := parse(t, src, map[string]string{"PRICE": "3.00"})
			if got := cfg.Models[0].Pricing.Prompt; got != tt.want {
				t.Errorf("prompt = %d nanos, want %d", got, tt.want)
			}
		})
	}
}

func TestEmptyInputIsAllDefaultsWithMock(t *testing.T) {
	tests := []struct {
		name string
		src  string
	}{
		{name: "empty file", src: ""},
		{name: "only comments", src: "# nothing here\n"},
		{name: "empty document", src: "---\n"},
		{name: "null sections", src: "server:\nstorage:\nproviders:\nmodels:\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, tt.src, nil)
			want := &Config{
				Source:    "switchyard.yaml",
				Server:    withTransportDefaults(Server{Listen: "127.0.0.1:8080", MaxBodyBytes: 32 << 20, DrainTimeout: 30 * time.Second, SSEKeepAlive: 15 * time.Second, AccessLog: "on"}),
				Storage:   Storage{Database: "sqlite://./switchyard.db", ResponsesRetentionDays: DefaultResponsesRetentionDays, LedgerSpool: "./switchyard.ledger-spool", LedgerSpoolMaxBytes: DefaultLedgerSpoolMaxBytes},
				Billing:   Billing{Unpriced: "free"},
				Providers: []Provider{{Name: "mock", Type: "mock", Timeout: 600 * time.Second, Mock: MockOptions{Words: 12}}},
				Models:    []Model{{ID: "*", Routes: []Route{{Provider: "mock", Weight: 1}}}},
				Routing:   Routing{MaxTrackedRoutes: 10000, AuthFailures: 3, AuthCooldown: 5 * time.Minute},
				Security:  Security{OAuth: OAuth{CodeTTL: DefaultOAuthCodeTTL}},
				Console:   Console{Rankings: RankingsMembers},
			}
			if !reflect.DeepEqual(cfg, want) {
				t.Errorf("config =\n%+v\nwant\n%+v", cfg, want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "switchyard.yaml")
	if err := os.WriteFile(path, []byte("providers: [{name: local, type: openai, base_url: \"http://localhost:11434/v1\"}]\nmodels: [{id: llama, routes: [{provider: local}]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("file", func(t *testing.T) {
		cfg, err := Load(path, MapEnv(nil))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Source != path || len(cfg.Providers) != 1 || cfg.Providers[0].Name != "local" {
			t.Errorf("config = %+v", cfg)
		}
	})
	t.Run("no path means defaults", func(t *testing.T) {
		cfg, err := Load("", nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Source != DefaultsSource || cfg.Providers[0].Type != "mock" {
			t.Errorf("config = %+v", cfg)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "nope.yaml"), nil)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("problems name the file", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(bad, []byte("providers: [{name: x, type: opnai}]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(bad, nil)
		if err == nil || !strings.HasPrefix(err.Error(), bad+": 1 problem:\n  providers[0].type: unknown provider type \"opnai\"") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestSwitchyardDataAndListen(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		env        map[string]string
		wantDB     string
		wantListen string
	}{
		{name: "defaults", wantDB: "sqlite://./switchyard.db", wantListen: "127.0.0.1:8080"},
		{name: "data dir", env: map[string]string{"SWITCHYARD_DATA": "/var/lib/switchyard"}, wantDB: "sqlite:///var/lib/switchyard/switchyard.db", wantListen: "127.0.0.1:8080"},
		{name: "data dir with slash", env: map[string]string{"SWITCHYARD_DATA": "data/"}, wantDB: "sqlite://data/switchyard.db", wantListen: "127.0.0.1:8080"},
		{name: "empty data dir ignored", env: map[string]string{"SWITCHYARD_DATA": ""}, wantDB: "sqlite://./switchyard.db", wantListen: "127.0.0.1:8080"},
		{name: "file database wins over data dir", src: "storage: {database: \"postgres://u:p@db:5432/sy\"}", env: map[string]string{"SWITCHYARD_DATA": "/data"}, wantDB: "postgres://u:p@db:5432/sy", wantListen: "127.0.0.1:8080"},
		{name: "listen env", env: map[string]string{"SWITCHYARD_LISTEN": ":9000"}, wantDB: "sqlite://./switchyard.db", wantListen: ":9000"},
		{name: "listen env beats file", src: "server: {listen: \"0.0.0.0:8081\"}", env: map[string]string{"SWITCHYARD_LISTEN": "127.0.0.1:9001"}, wantDB: "sqlite://./switchyard.db", wantListen: "127.0.0.1:9001"},
		{name: "file listen", src: "server: {listen: \"0.0.0.0:8081\"}", wantDB: "sqlite://./switchyard.db", wantListen: "0.0.0.0:8081"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, tt.src, tt.env)
			if cfg.Storage.Database != tt.wantDB {
				t.Errorf("database = %q, want %q", cfg.Storage.Database, tt.wantDB)
			}
			if cfg.Server.Listen != tt.wantListen {
				t.Errorf("listen = %q, want %q", cfg.Server.Listen, tt.wantListen)
			}
		})
	}

	t.Run("bad listen env is blamed on the variable", func(t *testing.T) {
		ps := problems(t, "server:\n  listen: \":1\"\n", map[string]string{"SWITCHYARD_LISTEN": "8080"})
		if len(ps) != 1 || ps[0].Path != "server.listen" || !strings.Contains(ps[0].Message, "$SWITCHYARD_LISTEN") || ps[0].Line != 0 {
			t.Errorf("problems = %v", ps)
		}
	})
}

func TestDefaultsFillOnlyWhatIsLeftOut(t *testing.T) {
	src := `
server: {max_body_bytes: 1024, drain_timeout: 5s, sse_keepalive: 1m}
billing: {unpriced: reject}
providers:
  - {name: fast, type: mock, timeout: 2s, mock: {latency: 10ms, chunk_delay: 1ms, words: 3}}
  - {name: slow, type: mock}
  - {name: gem, type: gemini, api_key: k}
  - {name: ant, type: anthropic, api_key: k}
  - {name: oai, type: openai, api_key: k}
models:
  - id: m
    routes: [{provider: fast, weight: 5, priority: 2, timeout: 1s}, {provider: slow}]
`
	cfg := parse(t, src, nil)
	if want := withTransportDefaults(Server{Listen: "127.0.0.1:8080", MaxBodyBytes: 1024, DrainTimeout: 5 * time.Second, SSEKeepAlive: time.Minute, AccessLog: "on"}); !reflect.DeepEqual(cfg.Server, want) {
		t.Errorf("Server = %+v, want %+v", cfg.Server, want)
	}
	if cfg.Billing.Unpriced != "reject" {
		t.Errorf("unpriced = %q", cfg.Billing.Unpriced)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "explicit timeout", got: cfg.Providers[0].Timeout, want: 2 * time.Second},
		{name: "explicit mock", got: cfg.Providers[0].Mock, want: MockOptions{Latency: 10 * time.Millisecond, ChunkDelay: time.Millisecond, Words: 3}},
		{name: "default timeout", got: cfg.Providers[1].Timeout, want: 600 * time.Second},
		{name: "default mock words", got: cfg.Providers[1].Mock, want: MockOptions{Words: 12}},
		{name: "mock has no base url", got: cfg.Providers[1].BaseURL, want: ""},
		{name: "gemini base url", got: cfg.Providers[2].BaseURL, want: "https://generativelanguage.googleapis.com"},
		{name: "anthropic base url", got: cfg.Providers[3].BaseURL, want: "https://api.anthropic.com"},
		{name: "openai base url", got: cfg.Providers[4].BaseURL, want: "https://api.openai.com/v1"},
		{name: "non-mock has no mock words", got: cfg.Providers[4].Mock, want: MockOptions{}},
		{name: "explicit route", got: cfg.Models[0].Routes[0], want: Route{Provider: "fast", Weight: 5, Priority: 2, Timeout: time.Second}},
		{name: "default weight", got: cfg.Models[0].Routes[1], want: Route{Provider: "slow", Weight: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %+v, want %+v", tt.got, tt.want)
			}
		})
	}
}

func TestYAMLFeatures(t *testing.T) {
	t.Run("anchors and merge keys", func(t *testing.T) {
		src := `
x-defaults: &defaults
providers:
  - &base {name: a, type: mock, timeout: 5s}
  - <<: *base
    name: b
models:
  - id: m
    routes: [{provider: a}, {provider: b}]
`
		// x-defaults is an unknown key: anchors need a home the schema knows.
		ps := problems(t, src, nil)
		if len(ps) != 1 || ps[0].Path != "x-defaults" {
			t.Fatalf("problems = %v", ps)
		}
		src = strings.Replace(src, "x-defaults: &defaults\n", "", 1)
		cfg := parse(t, src, nil)
		if got := cfg.Providers[1]; got.Name != "b" || got.Type != "mock" || got.Timeout != 5*time.Second {
			t.Errorf("merged provider = %+v", got)
		}
	})
	t.Run("duplicate key", func(t *testing.T) {
		ps := problems(t, "server:\n  listen: a:1\n  listen: b:2\n", nil)
		if len(ps) != 1 || ps[0].Path != "server.listen" || ps[0].Line != 3 || !strings.Contains(ps[0].Message, "appears twice (first on line 2)") {
			t.Errorf("problems = %v", ps)
		}
	})
	t.Run("alias cycle", func(t *testing.T) {
		ps := problems(t, "models: &a [*a]\n", nil)
		if len(ps) == 0 {
			t.Fatal("no problems")
		}
	})
	t.Run("alias bomb is bounded", func(t *testing.T) {
		// Go types stop nesting at models[].routes[], but aliases still
		// multiply: 400 models sharing 400 routes is 160,000 values.
		refs := func(name string, n int) string {
			return strings.TrimSuffix(strings.Repeat("*"+name+", ", n), ", ")
		}
		src := "providers: [&r {name: m, type: mock}]\n" +
			"x: &rs [" + refs("r", 400) + "]\n" +
			"models: [&m {id: a, routes: *rs}, " + refs("m", 399) + "]\n"
		// The bound is the problem it reports (no timed assertion: under
		// -race on a loaded machine the 100,000 values take seconds).
		ps := problems(t, src, nil)
		if len(ps) > maxProblems+2 {
			t.Errorf("%d problems, want at most %d", len(ps), maxProblems+2)
		}
		if last := ps[len(ps)-1]; !strings.Contains(last.Message, "expands to more than 100000 values") {
			t.Errorf("last problem = %v, want the limit named", last)
		}
	})
	t.Run("merge bomb is bounded", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("providers:\n  - &a0 {name: x, type: mock}\n")
		for i := 1; i < 12; i++ {
			fmt.Fprintf(&b, "  - &a%d {<<: [", i)
			for j := 0; j < 10; j++ {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "*a%d", i-1)
			}
			b.WriteString("]}\n")
		}
		ps := problems(t, b.String(), nil)
		if last := ps[len(ps)-1]; !strings.Contains(last.Message, "expands to more than 100000 values") {
			t.Errorf("problems = %v, want the limit named last", ps)
		}
	})
	t.Run("two documents", func(t *testing.T) {
		ps := problems(t, "server: {}\n---\nserver: {}\n", nil)
		if len(ps) != 1 || ps[0].Line != 2 || !strings.Contains(ps[0].Message, "second YAML document") {
			t.Errorf("problems = %v", ps)
		}
	})
	t.Run("syntax error names line", func(t *testing.T) {
		_, err := Parse([]byte("server:\n  listen: [a\n"), "cfg.yaml", nil)
		var verr *ValidationError
		if !errors.As(err, &verr) || len(verr.Problems) != 1 {
			t.Fatalf("err = %v", err)
		}
		if p := verr.Problems[0]; p.Line == 0 || !strings.HasPrefix(p.Message, "YAML syntax error:") || !strings.HasPrefix(err.Error(), "cfg.yaml: 1 problem:\n  YAML syntax error:") {
			t.Errorf("err = %v (line %d)", err, p.Line)
		}
	})
	t.Run("headers", func(t *testing.T) {
		src := `
providers:
  - name: openrouter
    type: openai
    base_url: https://openrouter.ai/api/v1
    api_key: ${OR_KEY}
    headers: {HTTP-Referer: "https://${SITE}", X-Title: Switchyard}
    models: [meta-llama/llama-3-70b, "qwen:7b"]
`
		cfg := parse(t, src, map[string]string{"OR_KEY": "k", "SITE": "example.com"})
		want := map[string]string{"HTTP-Referer": "https://example.com", "X-Title": "Switchyard"}
		if got := cfg.Providers[0].Headers; !reflect.DeepEqual(got, want) {
			t.Errorf("headers = %v, want %v", got, want)
		}
		if got := cfg.Providers[0].Models; !reflect.DeepEqual(got, []string{"meta-llama/llama-3-70b", "qwen:7b"}) {
			t.Errorf("models = %v", got)
		}
	})
}

func TestProviderLookup(t *testing.T) {
	cfg := parse(t, "providers: [{name: a, type: mock}, {name: b, type: mock}]", nil)
	p, ok := cfg.Provider("b")
	if !ok || p != &cfg.Providers[1] {
		t.Errorf("Provider(b) = %v, %v", p, ok)
	}
	if _, ok := cfg.Provider("c"); ok {
		t.Error("Provider(c) found")
	}
}

func TestAzureAPIVersionDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`providers: [{name: az, type: azure, api_key: k, base_url: "https://r.openai.azure.com"}]`), "t.yaml", MapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Providers[0].APIVersion != DefaultAzureAPIVersion {
		t.Fatalf("api_version = %q", cfg.Providers[0].APIVersion)
	}
}

func TestProviderDefaultPricing(t *testing.T) {
	cfg, err := Parse([]byte("providers: [{name: ds, type: openai, api_key: k, pricing: {prompt: 0.27, completion: 1.10}}]"), "t.yaml", MapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Providers[0].Pricing; p == nil || p.Prompt != 270_000_000 || p.Completion != 1_100_000_000 {
		t.Fatalf("pricing = %+v", p)
	}
	_, err = Parse([]byte("providers: [{name: ds, type: openai, api_key: k, pricing: {prompt: -1}}]"), "t.yaml", MapEnv(nil))
	if err == nil || !strings.Contains(err.Error(), "providers[0].pricing.prompt") {
		t.Fatalf("negative provider price: %v", err)
	}
}
