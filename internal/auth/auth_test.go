package auth

import (
	"strings"
	"testing"
)

func TestNewKeyShape(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		k := NewKey()
		if !strings.HasPrefix(k, Prefix) || len(k) != len(Prefix)+40 || seen[k] {
			t.Fatalf("bad or repeated key %q", k)
		}
		seen[k] = true
	}
}

func TestMaskNeverShowsTheKey(t *testing.T) {
	k := "sk-sy-abcdefghijklmnopqrstuvwxyz0123456789ABCD"
	m := Mask(k)
	if m != "sk-sy-ab…CD" {
		t.Fatalf("Mask = %q", m)
	}
	if got := Mask("short"); strings.Contains(got, "short") {
		t.Fatalf("short key shown: %q", got)
	}
}

func TestExplain(t *testing.T) {
	tests := []struct{ name, raw, want string }{
		{"missing", "", "Missing API key"},
		{"openai project key", "sk-proj-abcdefghijklmnop1234", "OpenAI project key"},
		{"anthropic key", "sk-ant-api03-abcdefghijklmnop", "Anthropic key"},
		{"google key", "AIzaSyAbcdefghijklmnop", "Gemini"},
		{"trailing space", "sk-sy-abcdefghijklmnop ", "whitespace"},
		{"inner newline", "sk-sy-abcdefgh\nijklmnop", "whitespace"},
		{"quoted", `"sk-sy-abcdefghijklmnop"`, "quotes"},
		{"bearer twice", "Bearer sk-sy-abcdefghijklmnop", "'Bearer' twice"},
		{"unknown gateway key", "sk-sy-abcdefghijklmnopqrstuv", "No such key"},
		{"other key", "sk-1234567890abcdef1234567890abcdef", "start with sk-sy-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Explain(tt.raw)
			if !strings.Contains(got, tt.want) {
				t.Fatalf("Explain(%q) = %q, want it to mention %q", tt.raw, got, tt.want)
			}
			if k := strings.TrimSpace(tt.raw); len(k) > 12 && strings.Contains(got, k) {
				t.Fatalf("message echoes the whole key: %q", got)
			}
		})
	}
}

func TestValidImported(t *testing.T) {
	for s, want := range map[string]bool{"sk-old-1234": true, "short": false, "has space1": false, "tab\tinside": false, "ünïcode-key": false} {
		if ValidImported(s) != want {
			t.Errorf("ValidImported(%q) != %v", s, want)
		}
	}
}
