package config

import (
	"os"
	"strings"
	"testing"
)

func TestPresetOneLine(t *testing.T) {
	cfg := parse(t, "providers:\n  - {name: kimi, preset: moonshot, api_key: sk-k}\n", nil)
	p, _ := cfg.Provider("kimi")
	if p.Type != "openai" || p.BaseURL != "https://api.moonshot.ai/v1" || p.Timeout != DefaultTimeout {
		t.Fatalf("provider = %+v", p)
	}
	var ids []string
	for _, m := range cfg.Models {
		if m.Routes[0].Provider == "kimi" {
			ids = append(ids, m.ID)
		}
	}
	if strings.Join(ids, ",") != "moonshot-*,kimi-*" {
		t.Fatalf("patterns routed to kimi = %v", ids)
	}
}

func TestPresetKeepsWhatTheFileSays(t *testing.T) {
	src := "providers:\n  - {name: z, preset: zhipu, base_url: \"https://api.z.ai/api/paas/v4\", api_key: k}\n" +
		"models:\n  - {id: glm-4.6, routes: [{provider: z}]}\n"
	cfg := parse(t, src, nil)
	p, _ := cfg.Provider("z")
	if p.BaseURL != "https://api.z.ai/api/paas/v4" {
		t.Fatalf("base_url = %q", p.BaseURL)
	}
	if len(cfg.Models) != 1 {
		t.Fatalf("the file routes to z, so no default pattern is added: %+v", cfg.Models)
	}
}

func TestPresetLocalNeedsNoKey(t *testing.T) {
	for _, name := range []string{"ollama", "vllm", "lmstudio"} {
		cfg := parse(t, "providers:\n  - {name: local, preset: "+name+"}\n", nil)
		if p, _ := cfg.Provider("local"); !strings.HasPrefix(p.BaseURL, "http://localhost:") {
			t.Fatalf("%s: base_url = %q", name, p.BaseURL)
		}
	}
	// A remote vLLM without a key is fine too: its key is optional.
	parse(t, "providers:\n  - {name: v, preset: vllm, base_url: \"https://gpu.example.com/v1\"}\n", nil)
	// A remote service still needs its key.
	ps := problems(t, "providers:\n  - {name: g, preset: groq}\n", nil)
	if len(ps) != 1 || ps[0].Path != "providers[0].api_key" {
		t.Fatalf("problems = %v", ps)
	}
}

func TestUnknownPresetNamesTheValidOnes(t *testing.T) {
	ps := problems(t, "providers:\n  - {name: d, preset: deepsek, api_key: k}\n", nil)
	if len(ps) != 1 || ps[0].Path != "providers[0].preset" {
		t.Fatalf("problems = %v", ps)
	}
	for _, want := range append(PresetNames(), `did you mean "deepseek"`) {
		if !strings.Contains(ps[0].Message, want) {
			t.Errorf("message %q lacks %q", ps[0].Message, want)
		}
	}
	ps = problems(t, "providers:\n  - {name: d, preset: deepseek, type: anthropic, api_key: k}\n", nil)
	if len(ps) != 1 || ps[0].Path != "providers[0].preset" || !strings.Contains(ps[0].Message, "type openai") {
		t.Fatalf("problems = %v", ps)
	}
}

func TestPresetEnvironmentProviders(t *testing.T) {
	env := map[string]string{"ZHIPUAI_API_KEY": "zk", "GROQ_API_KEY": "gk", "OPENROUTER_API_KEY": "ok", "ARK_BASE_URL": "https://ark.example.com/api/v3", "ARK_API_KEY": "ak"}
	cfg := parse(t, "", env)
	for name, base := range map[string]string{"zhipu": "https://open.bigmodel.cn/api/paas/v4", "groq": "https://api.groq.com/openai/v1", "ark": "https://ark.example.com/api/v3"} {
		p, ok := cfg.Provider(name)
		if !ok || p.Preset != name || p.Type != "openai" || p.BaseURL != base || !p.FromEnv {
			t.Fatalf("%s: %+v", name, p)
		}
	}
	// Every specific pattern before openrouter's catch-all.
	last := cfg.Models[len(cfg.Models)-1]
	if last.ID != "*" || last.Routes[0].Provider != "openrouter" {
		t.Fatalf("last entry = %+v", last)
	}
	if _, ok := cfg.Provider("mock"); ok {
		t.Fatal("mock added beside real providers")
	}
}

func TestPresetTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for i, p := range Presets {
		if seen[p.Name] || !providerName.MatchString(p.Name) {
			t.Errorf("preset %q: duplicate or invalid name", p.Name)
		}
		seen[p.Name] = true
		if _, msg := checkBaseURL(p.BaseURL); msg != "" {
			t.Errorf("preset %s: base URL: %s", p.Name, msg)
		}
		if p.Quirks == "" {
			t.Errorf("preset %s: quirks undocumented", p.Name)
		}
		for _, pat := range p.Patterns {
			if pat == "*" && i != len(Presets)-1 && p.Env != "" {
				// envProviders keeps table order: a catch-all must come last
				// among the presets with variables.
				for _, q := range Presets[i+1:] {
					if q.Env != "" {
						t.Errorf("preset %s has a catch-all but %s comes after it", p.Name, q.Name)
					}
				}
			}
		}
	}
}

// TestPresetDocsNameTheirSource: every preset has its row in
// docs/configuration.md#presets with its one line, its base URL and the
// page it was checked against, or says it was not verified.
func TestPresetDocsNameTheirSource(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok {
			if i := strings.Index(name, "` |"); i > 0 {
				rows[name[:i]] = line
			}
		}
	}
	for _, p := range Presets {
		row, ok := rows[p.Name]
		switch {
		case !ok:
			t.Errorf("preset %s has no row in docs/configuration.md", p.Name)
		case !strings.Contains(row, "preset: "+p.Name) || !strings.Contains(row, "`"+p.BaseURL+"`"):
			t.Errorf("preset %s: the row lacks its one line or its base URL %s", p.Name, p.BaseURL)
		case p.Source != "" && !strings.Contains(row, p.Source):
			t.Errorf("preset %s: the row does not name its source %s", p.Name, p.Source)
		case p.Source == "" && !strings.Contains(row, "not verified"):
			t.Errorf("preset %s has no source: its row must say it is not verified", p.Name)
		}
	}
}
