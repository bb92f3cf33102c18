package secretkey

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func newKey(t *testing.T, fill byte) *Key {
	t.Helper()
	k, err := Parse(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, Size)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpenRoundTripsWithAFreshNonceEachTime(t *testing.T) {
	k := newKey(t, 1)
	a, err := k.Seal("sk-upstream-1234", "provider\x00acme")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := k.Seal("sk-upstream-1234", "provider\x00acme")
	if a == b {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	if strings.Contains(a, "sk-upstream") {
		t.Error("the sealed value holds the plaintext")
	}
	raw, _ := base64.StdEncoding.DecodeString(a)
	if len(raw) != 12+len("sk-upstream-1234")+16 {
		t.Errorf("sealed %d bytes; want a 12-byte nonce, the ciphertext and a 16-byte tag", len(raw))
	}
	for _, s := range []string{a, b} {
		got, err := k.Open(s, "provider\x00acme")
		if err != nil || got != "sk-upstream-1234" {
			t.Errorf("Open = %q, %v", got, err)
		}
	}
}

func TestOpenRefusesTamperingAnotherRowAndAnotherKey(t *testing.T) {
	k := newKey(t, 1)
	sealed, _ := k.Seal("sk-upstream-1234", "provider\x00acme")
	raw, _ := base64.StdEncoding.DecodeString(sealed)
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x01
		if _, err := k.Open(base64.StdEncoding.EncodeToString(bad), "provider\x00acme"); !errors.Is(err, ErrOpen) {
			t.Fatalf("byte %d flipped: Open = %v; want ErrOpen", i, err)
		}
	}
	if _, err := k.Open(sealed, "provider\x00other"); !errors.Is(err, ErrOpen) {
		t.Errorf("another row's value opened: %v", err)
	}
	if _, err := newKey(t, 2).Open(sealed, "provider\x00acme"); !errors.Is(err, ErrOpen) {
		t.Errorf("another key opened it: %v", err)
	}
	for _, s := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := k.Open(s, "provider\x00acme"); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(%q) = %v; want ErrOpen", s, err)
		}
	}
}

func TestKeyIDsNameKeysWithoutRevealingThem(t *testing.T) {
	a, b := newKey(t, 1), newKey(t, 2)
	if a.ID() == b.ID() || a.ID() != newKey(t, 1).ID() {
		t.Errorf("ids %s, %s: want stable and distinct", a.ID(), b.ID())
	}
	if strings.Contains(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, Size)), a.ID()) {
		t.Error("the id holds the key")
	}
	r := &Ring{Current: b, Old: a}
	sealed, _ := a.Seal("v", "x")
	if got, err := r.Open(a.ID(), sealed, "x"); err != nil || got != "v" {
		t.Errorf("ring opens with the old key: %q, %v", got, err)
	}
	if _, err := (&Ring{Current: b}).Open(a.ID(), sealed, "x"); err == nil || !strings.Contains(err.Error(), "SWITCHYARD_SECRET_KEY") {
		t.Errorf("a ring without the key: %v; want how to set one", err)
	}
	var none *Ring
	if _, err := none.Open(a.ID(), sealed, "x"); err == nil {
		t.Error("a nil ring opened a value")
	}
}

func TestParseRefusesBadKeysWithoutQuotingThem(t *testing.T) {
	raw := make([]byte, Size)
	_, _ = rand.Read(raw)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		if _, err := Parse(enc.EncodeToString(raw) + "\n"); err != nil {
			t.Errorf("Parse(%v form) = %v", enc, err)
		}
	}
	short := base64.StdEncoding.EncodeToString(raw[:16])
	for _, s := range []string{"", "not base64 at all!!", short} {
		_, err := Parse(s)
		if err == nil {
			t.Errorf("Parse(%q) accepted", s)
			continue
		}
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("the error quotes the key: %v", err)
		}
	}
}
