package provider

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// TestRegistryAndConfigNameTheSameTypes: the config validates provider
// types against config.ProviderTypes (it cannot import this package), and
// Build looks them up in Registry. The two lists must not drift: a type the
// config accepts and no builder serves would fail only at start.
func TestRegistryAndConfigNameTheSameTypes(t *testing.T) {
	var reg []string
	for k := range Registry() {
		reg = append(reg, k)
	}
	slices.Sort(reg)
	cfg := slices.Clone(config.ProviderTypes)
	slices.Sort(cfg)
	if !slices.Equal(reg, cfg) {
		t.Fatalf("provider.Registry has %v, config.ProviderTypes %v", reg, cfg)
	}
}

// TestEveryTypeSignsItsRequests: each builder picks a Signer, and the
// request it builds carries the credential where that upstream looks for
// it (and nothing when there is no key). A type registered without a
// signer fails here, not at its first request.
func TestEveryTypeSignsItsRequests(t *testing.T) {
	want := map[string][2]string{ // type → header, value
		"openai":    {"Authorization", "Bearer sk-test-key"},
		"anthropic": {"X-Api-Key", "sk-test-key"},
		"gemini":    {"X-Goog-Api-Key", "sk-test-key"},
		"azure":     {"Api-Key", "sk-test-key"},
		"bedrock":   {"Authorization", "Bearer sk-test-key"}, // a Bedrock API key; SigV4: bedrock_test.go
		"mock":      {},
	}
	for typ, b := range Registry() {
		if typ == "vertex" {
			// No API key: a Google OAuth token from its credentials.
			t.Run(typ, func(t *testing.T) {
				_, cfg := vertexFixture(t, time.Hour, nil)
				p, err := b(cfg, http.DefaultTransport)
				if err != nil {
					t.Fatal(err)
				}
				req, err := p.NewRequest(context.Background(), "/v1beta/models/g:generateContent", []byte(`{}`), false, "")
				if err != nil {
					t.Fatal(err)
				}
				if got := req.Header.Get("Authorization"); !strings.HasPrefix(got, "Bearer ya29.fake-") {
					t.Errorf("Authorization %q, want a token from the token endpoint", got)
				}
			})
			continue
		}
		w, ok := want[typ]
		if !ok {
			t.Errorf("type %s: add the header it signs with to this test", typ)
			continue
		}
		for _, key := range []config.Secret{"sk-test-key", ""} {
			if typ == "bedrock" && key == "" {
				continue // without a key it signs with AWS credentials (bedrock_test.go)
			}
			t.Run(typ+"/key="+string(key), func(t *testing.T) {
				cfg := &config.Provider{Name: "p", Type: typ, BaseURL: "http://127.0.0.1:1/v1", APIKey: key, APIVersion: "2024-10-21"}
				p, err := b(cfg, http.DefaultTransport)
				if err != nil {
					t.Fatal(err)
				}
				if p.Signer == nil {
					t.Fatalf("type %s builds a provider without a Signer", typ)
				}
				req, err := p.NewRequest(context.Background(), "/chat/completions", []byte(`{}`), false, "")
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range []string{"Authorization", "X-Api-Key", "X-Goog-Api-Key", "Api-Key"} {
					got := req.Header.Get(h)
					switch {
					case key != "" && h == w[0] && got != w[1]:
						t.Errorf("%s: %q, want %q", h, got, w[1])
					case (key == "" || h != w[0]) && got != "":
						t.Errorf("%s: %q, want none", h, got)
					}
				}
			})
		}
	}
}

// TestAProviderWithoutASignerFailsItsRequests: a Provider made without a
// builder (a bug) cannot send unsigned requests or panic.
func TestAProviderWithoutASignerFailsItsRequests(t *testing.T) {
	p := &Provider{Name: "p", BaseURL: "http://127.0.0.1:1"}
	_, err := p.NewRequest(context.Background(), "/x", nil, false, "")
	var se *SignError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *SignError", err)
	}
}
