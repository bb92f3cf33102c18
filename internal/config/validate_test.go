package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// base is a valid config the validation cases below break one piece of.
const base = `
providers:
  - {name: openai, type: openai, api_key: k}
  - {name: mock, type: mock}
models:
  - {id: gpt-4o, routes: [{provider: openai}]}
`

func TestEachProblemHasPathAndFix(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		path string
		// want are substrings of the message: what is wrong and the fix.
		want []string
	}{
		{name: "provider name required", src: "providers: [{type: mock}]", path: "providers[0].name", want: []string{"needs a name", "add e.g. name: mock"}},
		{name: "provider name unique", src: "providers: [{name: a, type: mock}, {name: a, type: mock}]", path: "providers[1].name", want: []string{`duplicate provider name "a" (also providers[0].name)`, "give each provider its own name"}},
		{name: "provider name with slash", src: "providers: [{name: my/oai, type: mock}]", path: "providers[0].name", want: []string{`"my/oai" may hold only`, `rename it, e.g. "my-oai"`}},
		{name: "provider name with colon", src: "providers: [{name: \"a:b\", type: mock}]", path: "providers[0].name", want: []string{"'/' and ':' separate provider from model"}},
		{name: "provider type typo", src: "providers: [{name: x, type: opnai, api_key: k}]", path: "providers[0].type", want: []string{`unknown provider type "opnai"; use one of openai, anthropic, gemini, azure, vertex, bedrock, mock`, `did you mean "openai"?`}},
		{name: "bedrock without region", src: "providers: [{name: x, type: bedrock}]", path: "providers[0].region", want: []string{"type bedrock needs region", "region: us-east-1"}},
		{name: "bedrock bad region", src: "providers: [{name: x, type: bedrock, region: \"us-east-1.evil.com/\"}]", path: "providers[0].region", want: []string{"is not an AWS region name"}},
		{name: "bedrock half credentials", src: "providers: [{name: x, type: bedrock, region: us-east-1, access_key_id: AKIA}]", path: "providers[0].secret_access_key", want: []string{"go together"}},
		{name: "bedrock session token alone", src: "providers: [{name: x, type: bedrock, region: us-east-1, session_token: t}]", path: "providers[0].session_token", want: []string{"needs access_key_id"}},
		{name: "bedrock key and access keys", src: "providers: [{name: x, type: bedrock, region: us-east-1, api_key: k, access_key_id: A, secret_access_key: s}]", path: "providers[0].api_key", want: []string{"not both"}},
		{name: "region on another type", src: "providers: [{name: x, type: openai, api_key: k, region: us-east-1}]", path: "providers[0].region", want: []string{"settings of type bedrock"}},
		{name: "provider type far off", src: "providers: [{name: x, type: cohere}]", path: "providers[0].type", want: []string{`unknown provider type "cohere"; use one of openai, anthropic, gemini, azure, vertex, bedrock, mock`}},
		{name: "provider type missing", src: "providers: [{name: x}]", path: "providers[0].type", want: []string{"needs a type; use one of openai"}},
		{name: "base url not absolute", src: "providers: [{name: x, type: openai, api_key: k, base_url: api.openai.com/v1}]", path: "providers[0].base_url", want: []string{"has no scheme", `like "https://api.example.com/v1"`}},
		{name: "base url wrong scheme", src: "providers: [{name: x, type: openai, api_key: k, base_url: \"ftp://h/v1\"}]", path: "providers[0].base_url", want: []string{`scheme "ftp" is not http or https`}},
		{name: "base url no host", src: "providers: [{name: x, type: anthropic, api_key: k, base_url: \"https:///v1\"}]", path: "providers[0].base_url", want: []string{"has no host"}},
		{name: "base url malformed", src: "providers: [{name: x, type: gemini, api_key: k, base_url: \"http://[::1\"}]", path: "providers[0].base_url", want: []string{"not a valid URL"}},
		{name: "openai needs key", src: "providers: [{name: oai, type: openai}]", path: "providers[0].api_key", want: []string{"needs api_key unless base_url is a local server", `api_key: "${OAI_API_KEY}"`}},
		{name: "anthropic needs key", src: "providers: [{name: claude, type: anthropic}]", path: "providers[0].api_key", want: []string{"type anthropic needs api_key", "${CLAUDE_API_KEY}"}},
		{name: "gemini needs key", src: "providers: [{name: g, type: gemini}]", path: "providers[0].api_key", want: []string{"type gemini needs api_key"}},
		{name: "azure needs key", src: "providers: [{name: az, type: azure, base_url: \"https://r.openai.azure.com\", api_version: v}]", path: "providers[0].api_key", want: []string{"type azure needs api_key"}},
		{name: "azure needs base url", src: "providers: [{name: az, type: azure, api_key: k, api_version: v}]", path: "providers[0].base_url", want: []string{"type azure needs base_url", "https://my-resource.openai.azure.com"}},
		{name: "made-up sk-sy-v1- admin key", src: "server: {admin_key: \"sk-sy-v1-my-own-admin-secret-0001\"}", path: "server.admin_key", want: []string{"not a valid key of that format", "wrong length"}},
		{name: "bad access_log", src: "server: {access_log: maybe}", path: "server.access_log", want: []string{"must be on or off"}},
		{name: "negative timeout", src: "providers: [{name: m, type: mock, timeout: -1s}]", path: "providers[0].timeout", want: []string{"cannot be negative", "default 10m0s"}},
		{name: "timeout without unit", src: "providers: [{name: m, type: mock, timeout: 600}]", path: "providers[0].timeout", want: []string{`duration "600" has no unit; write e.g. "600s"`}},
		{name: "bad header name", src: "providers: [{name: m, type: mock, headers: {\"Bad Header\": v}}]", path: `providers[0].headers["Bad Header"]`, want: []string{"not a valid HTTP header name"}},
		{name: "header value with newline", src: "providers: [{name: m, type: mock, headers: {X-A: \"${H}\"}}]", env: map[string]string{"H": "a\r\nX-Evil: 1"}, path: "providers[0].headers.X-A", want: []string{"line break"}},
		{name: "responses on anthropic", src: "providers: [{name: c, type: anthropic, api_key: k, responses: true}]", path: "providers[0].responses", want: []string{"type anthropic does not speak the OpenAI Responses API", "only type openai can"}},
		{name: "responses on gemini", src: "providers: [{name: g, type: gemini, api_key: k, responses: true}]", path: "providers[0].responses", want: []string{"type gemini does not speak"}},
		{name: "responses-only models without responses", src: "providers: [{name: v, type: openai, base_url: \"http://localhost:8000/v1\", responses_only_models: [\"o3-pro*\"]}]", path: "providers[0].responses_only_models", want: []string{"add responses: true or remove responses_only_models"}},
		{name: "responses-only models turned off on openai", src: "providers: [{name: o, type: openai, api_key: k, responses: false, responses_only_models: [\"x*\"]}]", path: "providers[0].responses_only_models", want: []string{"speaks the Responses API"}},
		{name: "empty responses-only pattern", src: "providers: [{name: o, type: openai, api_key: k, responses_only_models: [\" \"]}]", path: "providers[0].responses_only_models[0]", want: []string{"empty pattern"}},
		{name: "vertex needs project", src: "providers: [{name: v, type: vertex, location: us-central1}]", path: "providers[0].project", want: []string{"type vertex needs project", "project: \"my-project\""}},
		{name: "vertex project not an id", src: "providers: [{name: v, type: vertex, project: \"My Project\", location: us-central1}]", path: "providers[0].project", want: []string{"is not a Google Cloud project id"}},
		{name: "vertex needs location", src: "providers: [{name: v, type: vertex, project: p1}]", path: "providers[0].location", want: []string{"type vertex needs location", "us-central1 (or global)"}},
		{name: "vertex location not a region", src: "providers: [{name: v, type: vertex, project: p1, location: \"us central/1\"}]", path: "providers[0].location", want: []string{"is not a Google Cloud location"}},
		{name: "vertex with an api key", src: "providers: [{name: v, type: vertex, project: p1, location: global, api_key: k}]", path: "providers[0].api_key", want: []string{"not an API key", "credentials_file"}},
		{name: "vertex empty anthropic pattern", src: "providers: [{name: v, type: vertex, project: p1, location: global, anthropic_models: [\"\"]}]", path: "providers[0].anthropic_models[0]", want: []string{"empty pattern"}},
		{name: "project on gemini", src: "providers: [{name: g, type: gemini, api_key: k, project: p1}]", path: "providers[0].project", want: []string{"only applies to type vertex"}},
		{name: "credentials_file on anthropic", src: "providers: [{name: c, type: anthropic, api_key: k, credentials_file: /k.json}]", path: "providers[0].credentials_file", want: []string{"only applies to type vertex"}},
		{name: "mock options on non-mock", src: "providers: [{name: o, type: openai, api_key: k, mock: {words: 3}}]", path: "providers[0].mock", want: []string{"only apply to type mock; remove them"}},
		{name: "model id required", src: base + "  - {routes: [{provider: openai}]}\n", path: "models[1].id", want: []string{"needs an id", "add e.g. id: gpt-4o"}},
		{name: "duplicate model id", src: base + "  - {id: gpt-4o, routes: [{provider: openai}]}\n", path: "models[1].id", want: []string{`duplicate model id "gpt-4o" (already used by models[0].id)`, "remove one or rename it"}},
		{name: "alias clashes with id", src: base + "  - {id: four, aliases: [gpt-4o], routes: [{provider: openai}]}\n", path: "models[1].aliases[0]", want: []string{`duplicate alias "gpt-4o" (already used by models[0].id)`}},
		{name: "id clashes with alias", src: base + "  - {id: a, aliases: [b], routes: [{provider: openai}]}\n  - {id: b, routes: [{provider: openai}]}\n", path: "models[2].id", want: []string{`duplicate model id "b" (already used by models[1].aliases[0])`}},
		{name: "pattern alias", src: base + "  - {id: a, aliases: [\"a-*\"], routes: [{provider: openai}]}\n", path: "models[1].aliases[0]", want: []string{"is a pattern", `id: "a-*"`}},
		{name: "route to undefined provider", src: base + "  - {id: m, routes: [{provider: opneai}]}\n", path: "models[1].routes[0].provider", want: []string{`unknown provider "opneai"`, "define it under providers", "defined providers: mock, openai", `did you mean "openai"?`}},
		{name: "route provider missing", src: base + "  - {id: m, routes: [{model: x}]}\n", path: "models[1].routes[0].provider", want: []string{"a route needs a provider; defined providers: mock, openai"}},
		{name: "model without routes", src: base + "  - {id: m}\n", path: "models[1].routes", want: []string{`model "m" has no routes`, "add at least one"}},
		{name: "negative weight", src: base + "  - {id: m, routes: [{provider: mock, weight: -1}]}\n", path: "models[1].routes[0].weight", want: []string{"cannot be negative (-1)"}},
		{name: "negative priority", src: base + "  - {id: m, routes: [{provider: mock, priority: -2}]}\n", path: "models[1].routes[0].priority", want: []string{"cannot be negative (-2)", "0 is tried first"}},
		{name: "weight not a number", src: base + "  - {id: m, routes: [{provider: mock, weight: heavy}]}\n", path: "models[1].routes[0].weight", want: []string{`expected a whole number, got "heavy"`}},
		{name: "unknown fallback", src: base + "  - {id: m, routes: [{provider: mock}], fallbacks: [gpt-5-nope]}\n", path: "models[1].fallbacks[0]", want: []string{`fallback "gpt-5-nope" is not a model in the catalogue`, "use a model id or alias"}},
		{name: "fallback to itself", src: base + "  - {id: m, aliases: [em], routes: [{provider: mock}], fallbacks: [em]}\n", path: "models[1].fallbacks[0]", want: []string{"falls back to itself"}},
		{name: "negative price", src: base + "  - {id: m, routes: [{provider: mock}], pricing: {completion: -1}}\n", path: "models[1].pricing.completion", want: []string{"cannot be negative", "e.g. 2.50"}},
		{name: "negative per-request price", src: base + "  - {id: m, routes: [{provider: mock}], pricing: {per_request: -0.01}}\n", path: "models[1].pricing.per_request", want: []string{"cannot be negative", "per request"}},
		{name: "negative search unit price", src: base + "  - {id: m, routes: [{provider: mock}], pricing: {search_unit: -1}}\n", path: "models[1].pricing.search_unit", want: []string{"cannot be negative", "per search unit"}},
		{name: "negative image price", src: base + "  - {id: m, routes: [{provider: mock}], pricing: {images: {\"1024x1024\": -0.04}}}\n", path: "models[1].pricing.images.1024x1024", want: []string{"cannot be negative", "per image"}},
		{name: "image price key", src: base + "  - {id: m, routes: [{provider: mock}], pricing: {images: {big: 0.04}}}\n", path: "models[1].pricing.images.big", want: []string{`"SIZE/QUALITY"`, "1024x1024/hd"}},
		{name: "price not decimal", src: base + "  - {id: m, routes: [{provider: mock}], pricing: {prompt: 2..5}}\n", path: "models[1].pricing.prompt", want: []string{`price "2..5" is`, "plain decimal, e.g. 2.50"}},
		{name: "price too precise", src: base + "  - {id: m, routes: [{provider: mock}], pricing: {prompt: 0.0000000001}}\n", path: "models[1].pricing.prompt", want: []string{"at most 9 decimal places"}},
		{name: "unpriced policy", src: "billing: {unpriced: charge}", path: "billing.unpriced", want: []string{`must be "free"`, `or "reject"`, `got "charge"`}},
		{name: "database scheme", src: "storage: {database: \"mysql://u:pw@h/db\"}", path: "storage.database", want: []string{`unsupported database scheme "mysql"`, "sqlite://PATH or postgres://"}},
		{name: "postgres bad url", src: "storage: {database: \"postgres://u:p%zz@h/db\"}", path: "storage.database", want: []string{"not a valid postgres:// URL", "percent-encoded"}},
		{name: "postgres no database", src: "storage: {database: \"postgresql://u:pw@h:5432\"}", path: "storage.database", want: []string{"postgresql:// URL names no database", "postgres://USER:PASSWORD@HOST:5432/DB"}},
		{name: "postgres no host", src: "storage: {database: \"postgres://u:pw@/db\"}", path: "storage.database", want: []string{"postgres:// URL has no host"}},
		{name: "database not a url", src: "storage: {database: ./switchyard.db}", path: "storage.database", want: []string{"not a database URL", "sqlite://./switchyard.db"}},
		{name: "redis scheme", src: "storage: {redis: \"http://h:6379\"}", path: "storage.redis", want: []string{`unsupported scheme "http"`, "redis://"}},
		{name: "listen not host port", src: "server: {listen: \"8080\"}", path: "server.listen", want: []string{`"8080" is not host:port`, `":8080"`}},
		{name: "listen bad port", src: "server: {listen: \"localhost:http-alt\"}", path: "server.listen", want: []string{`port "http-alt" is not a number`}},
		{name: "max body negative", src: "server: {max_body_bytes: -1}", path: "server.max_body_bytes", want: []string{"must be a positive number of bytes", "32 MiB"}},
		{name: "negative drain", src: "server: {drain_timeout: -5s}", path: "server.drain_timeout", want: []string{"cannot be negative"}},
		{name: "negative route cap", src: "routing: {max_tracked_routes: -1}", path: "routing.max_tracked_routes", want: []string{"must be a positive number", "10000"}},
		{name: "negative auth failures", src: "routing: {auth_failures: -3}", path: "routing.auth_failures", want: []string{"must be a positive count"}},
		{name: "negative auth cooldown", src: "routing: {auth_cooldown: -1m}", path: "routing.auth_cooldown", want: []string{"cannot be negative", "5m0s"}},
		{name: "unknown top-level key", src: "sever: {listen: \":1\"}", path: "sever", want: []string{`unknown key "sever"; did you mean "server"?`, "valid keys at the top level: server, storage, billing, providers, models"}},
		{name: "unknown nested key", src: "providers:\n  - name: x\n    type: openai\n    api_key: k\n    base_ur: \"http://h\"\n", path: "providers[0].base_ur", want: []string{`unknown key "base_ur"; did you mean "base_url"?`, "valid keys under providers[0]: name, type, base_url"}},
		{name: "unknown deep key", src: base + "  - {id: m, routes: [{provider: mock, wieght: 2}]}\n", path: "models[1].routes[0].wieght", want: []string{`did you mean "weight"?`}},
		{name: "list where mapping expected", src: "server: [a]", path: "server", want: []string{"expected a mapping of keys to values, got a list"}},
		{name: "scalar where list expected", src: "models: gpt-4o", path: "models", want: []string{"expected a list, got a single value"}},
		{name: "missing variable", src: "providers: [{name: openai, type: openai, api_key: \"${OPENAI_API_KEY}\"}]", path: "providers[0].api_key", want: []string{"environment variable OPENAI_API_KEY is not set; export it or remove the provider"}},
		{name: "missing variable outside providers", src: "server: {listen: \"${ADDR}\"}", path: "server.listen", want: []string{"environment variable ADDR is not set", "${ADDR:-value}"}},
		{name: "empty api key variable", src: "providers: [{name: openai, type: openai, api_key: \"${OPENAI_API_KEY}\"}]", env: map[string]string{"OPENAI_API_KEY": ""}, path: "providers[0].api_key", want: []string{"environment variable OPENAI_API_KEY is set but empty", "export the key or remove the provider"}},
		{name: "unterminated reference", src: "server: {listen: \"${ADDR\"}", path: "server.listen", want: []string{`"${ADDR" is not a valid variable reference`, "$${ for a literal ${"}},
		{name: "bad variable name", src: "server: {listen: \"${1X}\"}", path: "server.listen", want: []string{`"${1X}" is not a valid variable reference`}},
		{name: "bad env base url", src: "providers: [{name: m, type: mock}]", env: map[string]string{"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "localhost:8000"}, path: "providers[1].base_url", want: []string{"(the value comes from $OPENAI_BASE_URL)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problems(t, tt.src, tt.env)
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(ps), ps)
			}
			p := ps[0]
			if strings.HasPrefix(tt.name, "bad env") && p.Line != 0 {
				t.Errorf("line = %d, want 0 for a value from the environment", p.Line)
			}
			if p.Path != tt.path {
				t.Errorf("path = %q, want %q (%s)", p.Path, tt.path, p.Message)
			}
			for _, w := range tt.want {
				if !strings.Contains(p.Message, w) {
					t.Errorf("message %q lacks %q", p.Message, w)
				}
			}
		})
	}
}

func TestValidThingsAreAccepted(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
	}{
		{name: "openai on localhost needs no key", src: "providers: [{name: ollama, type: openai, base_url: \"http://localhost:11434/v1\"}]"},
		{name: "openai on 127.0.0.1 needs no key", src: "providers: [{name: vllm, type: openai, base_url: \"http://127.0.0.1:8000/v1\"}]"},
		{name: "openai on ::1 needs no key", src: "providers: [{name: vllm, type: openai, base_url: \"http://[::1]:8000/v1\"}]"},
		{name: "mock needs no key or url", src: "providers: [{name: m, type: mock}]"},
		{name: "pattern without routes", src: base + "  - {id: \"claude-*\", pricing: {prompt: 3}}\n"},
		{name: "fallback to alias", src: base + "  - {id: m, aliases: [em], routes: [{provider: mock}]}\n  - {id: n, routes: [{provider: mock}], fallbacks: [em, gpt-4o]}\n"},
		{name: "fallback to provider-qualified name", src: base + "  - {id: n, routes: [{provider: mock}], fallbacks: [\"openai/gpt-4o-mini\", \"openai:o3\"]}\n"},
		{name: "fallback matched by pattern", src: base + "  - {id: \"llama-*\", routes: [{provider: mock}]}\n  - {id: n, routes: [{provider: mock}], fallbacks: [llama-3-8b, \"gpt-4o:floor\"]}\n"},
		{name: "postgres", src: "storage: {database: \"postgresql://u:p@h:5432/db\", redis: \"rediss://h:6380/0\"}"},
		{name: "weight and priority zero", src: base + "  - {id: m, routes: [{provider: mock, weight: 0, priority: 0}]}\n"},
		{name: "provider names", src: "providers: [{name: a.b_c-1, type: mock}, {name: 9x, type: mock}]"},
		{name: "listen any interface", src: "server: {listen: \":0\"}"},
		{name: "empty admin key default", src: "server: {admin_key: \"${SWITCHYARD_ADMIN_KEY:-}\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse(t, tt.src, tt.env)
		})
	}
}

func TestProblemsAreReportedTogether(t *testing.T) {
	src := `server:
  listen: nope
providers:
  - name: openai
    type: opnai
    api_key: ${OPENAI_API_KEY}
  - name: openai
    type: anthropic
    base_url: "ftp://x"
models:
  - id: gpt-4o
    routes: [{provider: azure}]
  - id: gpt-4o
    routes: [{provider: openai}]
    colour: blue
`
	_, err := Parse([]byte(src), "switchyard.yaml", MapEnv(nil))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v", err)
	}
	want := []struct {
		path string
		line int
	}{
		{"server.listen", 2},
		{"providers[0].type", 5},
		{"providers[0].api_key", 6}, // the variable is not set; no "required" on top
		{"providers[1].name", 7},    // duplicate
		{"providers[1].api_key", 7}, // anthropic needs a key: not in the file, so the provider's line
		{"providers[1].base_url", 9},
		{"models[0].routes[0].provider", 12},
		{"models[1].id", 13},
		{"models[1].colour", 15}, // unknown key
	}
	if len(verr.Problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(verr.Problems), len(want), err)
	}
	for i, w := range want {
		if p := verr.Problems[i]; p.Path != w.path || p.Line != w.line {
			t.Errorf("problem %d = %s (line %d), want %s (line %d)", i, p.Path, p.Line, w.path, w.line)
		}
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "switchyard.yaml: 9 problems:\n  server.listen: \"nope\" is not host:port; write e.g. \"127.0.0.1:8080\", \":8080\" or \"[::1]:8080\" (line 2)\n  providers[0].type: unknown provider type \"opnai\"; use one of openai, anthropic, gemini, azure, vertex, bedrock, mock (did you mean \"openai\"?) (line 5)\n  providers[0].api_key: environment variable OPENAI_API_KEY is not set; export it or remove the provider (line 6)\n") {
		t.Errorf("Error() =\n%s", msg)
	}
	if strings.Count(msg, "\n  ") != 9 {
		t.Errorf("Error() has %d problem lines, want 9:\n%s", strings.Count(msg, "\n  "), msg)
	}
}

func TestValidateOnBuiltConfig(t *testing.T) {
	cfg := &Config{Source: "built"}
	err := cfg.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) || verr.Source != "built" {
		t.Fatalf("err = %v", err)
	}
	cfg = parse(t, base, nil)
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate on a parsed config = %v", err)
	}
}

// TestResponsesDefaults: OpenAI's own API speaks Responses (with its
// Responses-only models) unless told otherwise; any other base URL must
// say so, and its Responses-only models are only those it names.
func TestResponsesDefaults(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		env      map[string]string
		speaks   bool
		patterns []string
	}{
		{name: "openai at its default base url", src: "providers: [{name: o, type: openai, api_key: k}]", speaks: true, patterns: DefaultResponsesOnlyModels},
		{name: "openai written out", src: "providers: [{name: o, type: openai, api_key: k, base_url: \"https://API.openai.com/v1/\"}]", speaks: true, patterns: DefaultResponsesOnlyModels},
		{name: "openai from the environment", src: "providers: []", env: map[string]string{"OPENAI_API_KEY": "k"}, speaks: true, patterns: DefaultResponsesOnlyModels},
		{name: "openai turned off", src: "providers: [{name: o, type: openai, api_key: k, responses: false}]"},
		{name: "openai with its own list", src: "providers: [{name: o, type: openai, api_key: k, responses_only_models: [\"my-*\"]}]", speaks: true, patterns: []string{"my-*"}},
		{name: "openai with no responses-only models", src: "providers: [{name: o, type: openai, api_key: k, responses_only_models: []}]", speaks: true, patterns: []string{}},
		{name: "compatible server", src: "providers: [{name: v, type: openai, base_url: \"http://localhost:8000/v1\"}]"},
		{name: "compatible server that says so", src: "providers: [{name: v, type: openai, base_url: \"http://localhost:8000/v1\", responses: true}]", speaks: true},
		{name: "deepseek from the environment", src: "providers: []", env: map[string]string{"DEEPSEEK_API_KEY": "k"}},
		{name: "anthropic", src: "providers: [{name: c, type: anthropic, api_key: k}]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, tt.src, tt.env)
			p := cfg.Providers[0]
			if got := p.Responses != nil && *p.Responses; got != tt.speaks {
				t.Errorf("responses = %v, want %v", got, tt.speaks)
			}
			if !slices.Equal(p.ResponsesOnlyModels, tt.patterns) {
				t.Errorf("responses_only_models = %q, want %q", p.ResponsesOnlyModels, tt.patterns)
			}
		})
	}
}

// speaksResponses is what responses defaults to on OpenAI's own base URL.
var speaksResponses = true

// TestVertexDefaults: a vertex provider's base URL is its location's
// regional endpoint (the global one for global) unless given, and Claude
// models go to the anthropic publisher unless anthropic_models says which.
func TestVertexDefaults(t *testing.T) {
	tests := []struct {
		src, base string
		anthropic []string
	}{
		{"{name: v, type: vertex, project: p1, location: us-central1}", "https://us-central1-aiplatform.googleapis.com", []string{"claude-*"}},
		{"{name: v, type: vertex, project: p1, location: global}", "https://aiplatform.googleapis.com", []string{"claude-*"}},
		{"{name: v, type: vertex, project: p1, location: europe-west4, base_url: \"http://127.0.0.1:9\", anthropic_models: [\"my-claude*\"]}", "http://127.0.0.1:9", []string{"my-claude*"}},
	}
	for _, tt := range tests {
		cfg := parse(t, "providers: ["+tt.src+"]", nil)
		p := cfg.Providers[0]
		if p.BaseURL != tt.base || !slices.Equal(p.AnthropicModels, tt.anthropic) {
			t.Errorf("%s: base_url %q, anthropic_models %q; want %q, %q", tt.src, p.BaseURL, p.AnthropicModels, tt.base, tt.anthropic)
		}
	}
}
