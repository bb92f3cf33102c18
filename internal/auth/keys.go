// Package auth turns a presented credential into a known key, from memory.
//
// Keys are stored only as SHA-256 hashes. The Cache holds every live key in
// memory so that authenticating a request never waits on the database; it is
// written through by this process and polls the store for changes made by
// other instances.
package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/apikey"
)

// Prefix starts every key the gateway generates: new keys have the
// checksummed format of package apikey (sk-sy-v1-…); keys made before it
// are "sk-sy-" + 40 base62 characters and keep working.
const Prefix = "sk-sy-"

// NewKey returns a fresh random key in the current format (apikey.New).
func NewKey() string { return apikey.New() }

// Hash is the stored form of a key: lowercase hex SHA-256.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Mask shows enough of a key to recognise it and not enough to use it:
// "sk-sy-ab…f3". Short strings are masked entirely.
func Mask(key string) string {
	if len(key) < 12 {
		return strings.Repeat("*", len(key))
	}
	head := 8
	if strings.HasPrefix(key, apikey.Prefix) {
		head = len(apikey.Prefix) + 2
	} else if strings.HasPrefix(key, Prefix) {
		head = len(Prefix) + 2
	} else if i := strings.LastIndexByte(key[:min(len(key)/2, 12)], '-'); i > 0 {
		head = i + 3
	}
	head = min(head, len(key)/2)
	return key[:head] + "…" + key[len(key)-2:]
}

// Imported keys are checked for length and for variety. The gateway's own
// keys carry 256 random bits; an adopted key comes from elsewhere and may be
// as weak as "password", which anyone can guess against a public gateway.
const (
	MinImportedLen  = 16
	MaxImportedLen  = 256
	MinImportedBits = 56
)

// CheckImported says why s may not be adopted as an imported key, or returns
// nil. A key must be MinImportedLen to MaxImportedLen printable ASCII
// characters without spaces, and its estimated strength (its length times
// the Shannon entropy of its own character frequencies) must reach
// MinImportedBits. That estimate refuses short and repetitive keys
// ("passwordpassword": 44 bits, "1234567812345678": 48) and passes random
// keys of 20 or more letters and digits, or 24 or more hex digits (a
// 32-digit hex key: about 115 bits); a random key of 16 letters and digits
// is refused about one time in twenty. It cannot tell a random string from
// a long memorable phrase, so generated keys remain the better choice.
func CheckImported(s string) error {
	if strings.HasPrefix(s, apikey.Prefix) {
		// It would be refused at every request (the checksum is checked
		// before the lookup); a real one passes.
		if err := apikey.Check(s); err != nil {
			return fmt.Errorf("an imported 'key' that starts with %s must be a valid key of that format: %v", apikey.Prefix, err)
		}
	}
	if len(s) < MinImportedLen || len(s) > MaxImportedLen {
		return fmt.Errorf("an imported 'key' must be %d to %d characters; this one has %d", MinImportedLen, MaxImportedLen, len(s))
	}
	var counts [128]int
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return errors.New("an imported 'key' must be printable ASCII characters without spaces")
		}
		counts[s[i]]++
	}
	if bits := strengthBits(counts[:], len(s)); bits < MinImportedBits {
		return fmt.Errorf("an imported 'key' is too easy to guess (about %d bits by the variety of its characters; at least %d needed): "+
			"import a longer random key, or let the gateway generate one", int(bits), MinImportedBits)
	}
	return nil
}

// strengthBits is n times the Shannon entropy, in bits, of the character
// frequencies counts of an n-character string.
func strengthBits(counts []int, n int) float64 {
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(n)
			h -= p * math.Log2(p)
		}
	}
	return h * float64(n)
}
