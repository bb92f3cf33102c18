// Package auth turns a presented credential into a known key, from memory.
//
// Keys are stored only as SHA-256 hashes. The Cache holds every live key in
// memory so that authenticating a request never waits on the database; it is
// written through by this process and polls the store for changes made by
// other instances.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Prefix starts every key the gateway generates.
const Prefix = "sk-sy-"

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewKey returns a fresh random key: Prefix + 40 base62 characters (238 bits).
func NewKey() string {
	const n = 40
	b := make([]byte, 0, len(Prefix)+n)
	b = append(b, Prefix...)
	var buf [64]byte
	for len(b) < cap(b) {
		_, _ = rand.Read(buf[:]) // never fails on supported platforms
		for _, c := range buf {
			// Rejection sampling keeps the alphabet uniform: 248 = 4*62.
			if c < 248 && len(b) < cap(b) {
				b = append(b, alphabet[c%62])
			}
		}
	}
	return string(b)
}

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
	if strings.HasPrefix(key, Prefix) {
		head = len(Prefix) + 2
	} else if i := strings.LastIndexByte(key[:min(len(key)/2, 12)], '-'); i > 0 {
		head = i + 3
	}
	head = min(head, len(key)/2)
	return key[:head] + "…" + key[len(key)-2:]
}

// ValidImported reports whether s may be adopted as an imported key:
// printable ASCII without spaces, at least 8 characters.
func ValidImported(s string) bool {
	if len(s) < 8 || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
