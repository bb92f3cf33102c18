package config

import (
	"strings"
	"testing"
)

// TestBedrockDefaultsAndSecrets: a bedrock provider's base_url follows
// from its region, its secret key is a Secret (redacted when printed), and
// the management API refuses AWS secret keys, which it could not store
// encrypted.
func TestBedrockDefaultsAndSecrets(t *testing.T) {
	cfg, err := Parse([]byte(`
providers:
  - { name: b, type: bedrock, region: eu-west-3, access_key_id: AKIDX, secret_access_key: "${S}", session_token: tok-123456789 }
  - { name: c, type: bedrock, region: us-east-1, base_url: "http://127.0.0.1:9/" }
`), "t.yaml", MapEnv(map[string]string{"S": "very-secret-key-123"}))
	if err != nil {
		t.Fatal(err)
	}
	b, c := cfg.Providers[0], cfg.Providers[1]
	if b.BaseURL != "https://bedrock-runtime.eu-west-3.amazonaws.com" || c.BaseURL != "http://127.0.0.1:9/" {
		t.Fatalf("base URLs %q %q", b.BaseURL, c.BaseURL)
	}
	if b.SecretAccessKey.Reveal() != "very-secret-key-123" || strings.Contains(b.SecretAccessKey.String(), "secret") || strings.Contains(b.SessionToken.String(), "tok-") {
		t.Fatalf("secret %q token %q", b.SecretAccessKey, b.SessionToken)
	}
	for _, spec := range []string{`{"type":"bedrock","region":"us-east-1","access_key_id":"A","secret_access_key":"s"}`, `{"type":"bedrock","region":"us-east-1","session_token":"t"}`} {
		if _, err := ParseProvider([]byte(spec)); err == nil || !strings.Contains(err.Error(), "cannot be stored through the API") {
			t.Errorf("%s: err = %v", spec, err)
		}
	}
	if p, err := ParseProvider([]byte(`{"type":"bedrock","region":"us-east-1","api_key":"bedrock-api-key"}`)); err != nil || p.Region != "us-east-1" {
		t.Fatalf("a Bedrock API key through the API: %v", err)
	}
}
