package secretscan

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func sign(t *testing.T, k *ecdsa.PrivateKey, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestVerify(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	v := NewVerifier(map[string]*ecdsa.PublicKey{"one": &k1.PublicKey, "two": &k2.PublicKey})
	body := []byte(`[{"token":"sk-sy-v1-x","type":"switchyard_api_key","url":"https://github.com/o/r","source":"content"}]`)
	good := sign(t, k1, body)
	tests := []struct {
		name       string
		body       []byte
		keyID, sig string
		want       error
	}{
		{name: "good", body: body, keyID: "one", sig: good, want: nil},
		{name: "other key's id", body: body, keyID: "two", sig: good, want: ErrBadSignature},
		{name: "unknown id", body: body, keyID: "three", sig: good, want: ErrUnknownKey},
		{name: "body changed", body: append([]byte(" "), body...), keyID: "one", sig: good, want: ErrBadSignature},
		{name: "not base64", body: body, keyID: "one", sig: "%%%", want: ErrBadSignature},
		{name: "empty signature", body: body, keyID: "one", sig: "", want: ErrBadSignature},
		{name: "garbage signature", body: body, keyID: "one", sig: base64.StdEncoding.EncodeToString([]byte("not asn1")), want: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := v.Verify(tt.body, tt.keyID, tt.sig); !errors.Is(got, tt.want) {
				t.Fatalf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
	if err := NewVerifier(nil).Verify(body, "one", good); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("no keys configured: %v", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, body, want string // want: "" accepted, else a word of the error
		n                int
	}{
		{name: "one", body: `[{"token":"a","type":"t","url":"u","source":"content"}]`, n: 1},
		{name: "empty array", body: `[]`, n: 0},
		{name: "no source (older payloads)", body: `[{"token":"a","type":"t","url":"u"}]`, n: 1},
		{name: "object, not array", body: `{"token":"a"}`, want: "JSON array"},
		{name: "truncated", body: `[{"token":"a"`, want: "JSON array"},
		{name: "trailing data", body: `[] []`, want: "follows"},
		{name: "no token", body: `[{"type":"t"}]`, want: "no token"},
		{name: "too many", body: "[" + strings.Repeat(`{"token":"a"},`, MaxTokens) + `{"token":"a"}]`, want: "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := Parse([]byte(tt.body))
			switch {
			case tt.want == "" && (err != nil || len(ts) != tt.n):
				t.Fatalf("Parse = %d tokens, %v; want %d", len(ts), err, tt.n)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Parse error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
