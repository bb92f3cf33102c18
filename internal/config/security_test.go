package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

func pemOf(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// yamlKeys writes public_keys entries with their PEMs as literal blocks.
func yamlKeys(keys ...[2]string) string {
	var b strings.Builder
	b.WriteString("security:\n  secret_scanning:\n    public_keys:\n")
	for _, k := range keys {
		b.WriteString("      - id: \"" + k[0] + "\"\n        pem: |\n")
		for _, line := range strings.Split(strings.TrimSpace(k[1]), "\n") {
			b.WriteString("          " + line + "\n")
		}
	}
	return b.String()
}

func TestSecretScanningPublicKeys(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	good := pemOf(t, &p256.PublicKey)

	cfg := parse(t, yamlKeys([2]string{"k1", good}, [2]string{"k2", pemOf(t, &p256.PublicKey)}), nil)
	if got := cfg.Security.SecretScanning.PublicKeys; len(got) != 2 || got[0].ID != "k1" {
		t.Fatalf("public keys = %+v", got)
	}
	if pub, err := cfg.Security.SecretScanning.PublicKeys[0].ECDSA(); err != nil || !pub.Equal(&p256.PublicKey) {
		t.Fatalf("ECDSA() = %v, %v", pub, err)
	}

	tests := []struct {
		name string
		src  string
		path string
		want string
	}{
		{name: "missing id", src: yamlKeys([2]string{"", good}), path: "security.secret_scanning.public_keys[0].id", want: "needs an id"},
		{name: "duplicate id", src: yamlKeys([2]string{"a", good}, [2]string{"a", good}), path: "security.secret_scanning.public_keys[1].id", want: `duplicate id "a" (also public_keys[0])`},
		{name: "not PEM", src: yamlKeys([2]string{"a", "hello"}), path: "security.secret_scanning.public_keys[0].pem", want: "no PEM block"},
		{name: "P-384", src: yamlKeys([2]string{"a", pemOf(t, &p384.PublicKey)}), path: "security.secret_scanning.public_keys[0].pem", want: "not an ECDSA P-256 public key"},
		{name: "RSA", src: yamlKeys([2]string{"a", pemOf(t, &rsaKey.PublicKey)}), path: "security.secret_scanning.public_keys[0].pem", want: "not an ECDSA P-256 public key"},
		{name: "two blocks", src: yamlKeys([2]string{"a", good + good}), path: "security.secret_scanning.public_keys[0].pem", want: "more than one PEM block"},
		{name: "garbled body", src: yamlKeys([2]string{"a", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}), path: "security.secret_scanning.public_keys[0].pem", want: "not a public key"},
		{name: "unknown field", src: "security: {secret_scanning: {public_keys: [{id: a, key: b}]}}", path: "security.secret_scanning.public_keys[0].key", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problems(t, tt.src, nil)
			for _, p := range ps {
				if p.Path == tt.path && strings.Contains(p.Message, tt.want) {
					return
				}
			}
			t.Fatalf("problems %+v; want one at %s mentioning %q", ps, tt.path, tt.want)
		})
	}
}
