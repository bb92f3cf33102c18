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

func TestImportedKeysMustBeLongAndVaried(t *testing.T) {
	for _, c := range []struct {
		key  string
		want string // "" accepted, else a word of the refusal
	}{
		{key: "sk-legacy-customer-0001", want: ""},
		{key: "sk-legacy-12345678", want: ""},
		{key: "3f9c2a7be1d04c5f8a6e9b2d7c1f0e4a", want: ""}, // 32 hex digits
		{key: "550e8400-e29b-41d4-a716-446655440000", want: ""},
		{key: "password", want: "16 to 256"},
		{key: "sk-old-1234", want: "16 to 256"},
		{key: "passwordpassword", want: "too easy to guess"},
		{key: "1234567812345678", want: "too easy to guess"},
		{key: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", want: "too easy to guess"},
		{key: "abcabcabcabcabcabcabcabcabc", want: "too easy to guess"},
		{key: "has space in this long key", want: "printable ASCII"},
		{key: "tab\tinside-a-long-enough-key", want: "printable ASCII"},
		{key: "ünïcode-key-that-is-long-enough", want: "printable ASCII"},
		{key: strings.Repeat("x1", 129), want: "16 to 256"},
	} {
		t.Run(c.key, func(t *testing.T) {
			err := CheckImported(c.key)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("CheckImported = %v, want a refusal mentioning %q", err, c.want)
			}
		})
	}
}

func TestGeneratedKeysPassTheImportCheck(t *testing.T) {
	// A key made by this gateway must be importable into another.
	for range 100 {
		if k := NewKey(); CheckImported(k) != nil {
			t.Fatalf("generated key %s refused: %v", Mask(k), CheckImported(k))
		}
	}
}
