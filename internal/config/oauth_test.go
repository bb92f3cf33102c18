package config

import (
	"strings"
	"testing"
	"time"
)

func TestOAuthDefaultsAndBounds(t *testing.T) {
	cfg := parse(t, "", nil)
	if cfg.Security.OAuth.CodeTTL != 10*time.Minute || cfg.Security.OAuth.AllowPlain {
		t.Fatalf("defaults = %+v; want code_ttl 10m, allow_plain false", cfg.Security.OAuth)
	}
	cfg = parse(t, "security: {oauth: {code_ttl: 2m, allow_plain: true}}", nil)
	if cfg.Security.OAuth.CodeTTL != 2*time.Minute || !cfg.Security.OAuth.AllowPlain {
		t.Fatalf("set = %+v", cfg.Security.OAuth)
	}
	for _, src := range []string{"security: {oauth: {code_ttl: -1s}}", "security: {oauth: {code_ttl: 2h}}"} {
		ps := problems(t, src, nil)
		if len(ps) != 1 || ps[0].Path != "security.oauth.code_ttl" || !strings.Contains(ps[0].Message, "between 1s and 1h0m0s") {
			t.Fatalf("%s: problems %+v", src, ps)
		}
	}
}
