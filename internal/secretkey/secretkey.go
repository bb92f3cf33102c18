// Package secretkey seals provider credentials stored in the database with
// AES-256-GCM under the operator's secret key (SWITCHYARD_SECRET_KEY or
// security.secret_key_file), and opens them again.
//
// A sealed value is base64(nonce || ciphertext+tag) with a random 12-byte
// nonce per value; it is stored next to the id of the key that sealed it,
// so a rotation knows which values are still under the old key. The
// caller's associated data (the row the value belongs to) is authenticated
// too: a value copied to another row does not open.
package secretkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Size is the length of a secret key in bytes (AES-256).
const Size = 32

// HowToSet says how an operator gives the gateway a secret key; messages
// that refuse to store a credential without one end with it.
const HowToSet = "set SWITCHYARD_SECRET_KEY to 32 random bytes in base64 " +
	"(generate one with: openssl rand -base64 32), or point security.secret_key_file " +
	"at a file holding it, and restart"

// ErrOpen is a sealed value that does not open under the key: the wrong
// key, or a value that was altered.
var ErrOpen = errors.New("the sealed value does not open under this key (a different key sealed it, or it was altered)")

// Key is one secret key. Its zero value is not usable; use Parse.
type Key struct {
	id   string
	aead cipher.AEAD
	rand io.Reader
}

// Parse reads a key written as base64 (standard or URL alphabet, padded or
// not) of exactly Size bytes. Surrounding white space (a key file's final
// newline) is ignored. The error never quotes the value.
func Parse(encoded string) (*Key, error) {
	s := strings.TrimSpace(encoded)
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("the secret key is not base64; " + HowToSet)
	}
	if len(raw) != Size {
		return nil, fmt.Errorf("the secret key is %d bytes once decoded; it must be %d (openssl rand -base64 32 makes one)", len(raw), Size)
	}
	return New(raw, rand.Reader)
}

// New makes a key from Size raw bytes; nonces are read from random.
func New(raw []byte, random io.Reader) (*Key, error) {
	if len(raw) != Size {
		return nil, fmt.Errorf("a secret key is %d bytes, not %d", Size, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// The id names the key without revealing it: a hash of the key under
	// a fixed label, cut to 8 bytes.
	sum := sha256.Sum256(append([]byte("switchyard secret key id\x00"), raw...))
	return &Key{id: hex.EncodeToString(sum[:8]), aead: aead, rand: random}, nil
}

// ID names the key; it is stored with every value the key seals.
func (k *Key) ID() string { return k.id }

// Seal encrypts plaintext bound to aad (what the value belongs to).
func (k *Key) Seal(plaintext, aad string) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := io.ReadFull(k.rand, nonce); err != nil {
		return "", fmt.Errorf("secret key: reading a nonce: %w", err)
	}
	out := k.aead.Seal(nonce, nonce, []byte(plaintext), []byte(aad))
	return base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal made with the same aad; ErrOpen if the key is
// not the one that sealed it or the value was changed.
func (k *Key) Open(sealed, aad string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < k.aead.NonceSize()+k.aead.Overhead() {
		return "", ErrOpen
	}
	n := k.aead.NonceSize()
	out, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(aad))
	if err != nil {
		return "", ErrOpen
	}
	return string(out), nil
}

// Ring is the keys a gateway holds: the current one, which seals, and
// optionally the previous one, which still opens values a rotation has not
// yet re-sealed. A nil *Ring holds no key.
type Ring struct {
	Current *Key
	Old     *Key
}

// Open opens a value sealed by the key with id keyID.
func (r *Ring) Open(keyID, sealed, aad string) (string, error) {
	if r != nil {
		for _, k := range []*Key{r.Current, r.Old} {
			if k != nil && k.id == keyID {
				return k.Open(sealed, aad)
			}
		}
	}
	return "", fmt.Errorf("the value was sealed by secret key %s, which this gateway does not hold; %s", keyID, HowToSet)
}
