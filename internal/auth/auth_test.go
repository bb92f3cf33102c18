package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/apikey"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/store"
)

func TestNewKeysAreChecksummed(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		k := NewKey()
		if !strings.HasPrefix(k, "sk-sy-v1-") || len(k) != 58 || apikey.Check(k) != nil || seen[k] {
			t.Fatalf("bad or repeated key %q", k)
		}
		seen[k] = true
	}
}

// flipLast changes a key's last character to another base62 one.
func flipLast(k string) string {
	if k[len(k)-1] == 'a' {
		return k[:len(k)-1] + "b"
	}
	return k[:len(k)-1] + "a"
}

func TestIdentifyRefusesABadChecksumBeforeTheLookup(t *testing.T) {
	good := NewKey()
	bad := flipLast(good)
	c := &Cache{}
	// Both hashes are in the cache: a 401 for bad proves the lookup was
	// never made.
	for _, k := range []string{good, bad, bad[:40]} {
		c.Put(&store.Key{Hash: Hash(k), Label: Mask(k), Kind: store.KindAPI, AccountID: store.DefaultAccountID})
	}
	if _, err := c.Identify(good); err != nil {
		t.Fatalf("good key refused: %v", err)
	}
	for _, k := range []string{bad, bad[:40]} {
		_, ierr := c.Identify(k)
		err := llm.AsError(ierr)
		if ierr == nil || err.Status != 401 || err.Code != "invalid_api_key" || !strings.Contains(err.Message, "checksum") {
			t.Fatalf("Identify(%q) = %+v, want 401 invalid_api_key naming the checksum", k, err)
		}
		if strings.Contains(err.Message, strings.TrimSpace(k)) {
			t.Fatalf("message echoes the key: %s", err.Message)
		}
	}
	// Whitespace is forgiven only for keys that are right once trimmed.
	if _, err := c.Identify(" " + bad + "\n"); err == nil || llm.AsError(err).Status != 401 {
		t.Fatalf("padded bad key: %+v, want 401", err)
	}
}

func TestLegacyAndImportedKeysStillAuthenticate(t *testing.T) {
	c := &Cache{}
	for _, k := range []string{
		"sk-sy-" + "0123456789abcdefghijABCDEFGHIJ0123456789", // the format before sk-sy-v1-
		"sk-legacy-customer-0001",                             // imported
	} {
		c.Put(&store.Key{Hash: Hash(k), Label: Mask(k), Kind: store.KindAPI, AccountID: store.DefaultAccountID})
		if _, err := c.Caller(k, time.Now()); err != nil {
			t.Fatalf("Caller(%s) = %v", Mask(k), err)
		}
	}
}

func TestMaskShowsThePrefixAndFourCharacters(t *testing.T) {
	k := "sk-sy-v1-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ2bOE4m"
	if got := Mask(k); got != "sk-sy-v1-ab…4m" {
		t.Fatalf("Mask = %q", got)
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
		{"unknown checksummed key", "sk-sy-v1-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ2bOE4m", "No such key"},
		{"checksum mismatch", "sk-sy-v1-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ2bOE4n", "checksum mismatch"},
		{"cut off", "sk-sy-v1-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ2bOE4", "wrong length"},
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
		{key: "sk-sy-v1-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ2bOE4m", want: ""},
		{key: "sk-sy-v1-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ2bOE4n", want: "checksum"},
		{key: "sk-sy-v1-my-own-long-secret-0001", want: "sk-sy-v1-"},
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
