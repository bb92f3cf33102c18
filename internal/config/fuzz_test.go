package config

import (
	"errors"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		specExample,
		specExampleFixed,
		base,
		"providers: [{name: a, type: mock}, {name: a, type: opnai}]",
		"x: &a [*a]\nmodels: *a",
		"providers:\n  - &p {name: a, type: mock}\n  - <<: [*p, *p]\n    name: b\n",
		"server: {listen: \"${A:-x}$${B}${\"}",
		"models: [{id: m, pricing: {prompt: 1e400}, routes: [{weight: 99999999999999999999}]}]",
		"server:\n  listen: [a\n",
		"- a\n- b\n",
		"---\n---\n",
		"? [a]\n: b\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	env := MapEnv(map[string]string{"A": "1", "OPENAI_API_KEY": "sk-secret-123"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml", env)
		if err != nil {
			var verr *ValidationError
			if !errors.As(err, &verr) || len(verr.Problems) == 0 {
				t.Fatalf("error is not a *ValidationError with problems: %v", err)
			}
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			if strings.Contains(err.Error(), "sk-secret-123") && !strings.Contains(string(data), "sk-secret-123") {
				t.Fatalf("error leaks the secret: %v", err)
			}
			return
		}
		if len(cfg.Providers) == 0 {
			t.Fatal("valid config with no providers")
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a config Validate rejects: %v", err)
		}
	})
}
