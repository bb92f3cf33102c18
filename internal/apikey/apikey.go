// Package apikey is the format of the keys the gateway issues:
//
//	sk-sy-v1- + 43 base62 random characters + 6 base62 checksum characters
//
// The checksum is CRC-32 (IEEE) of everything before it, written in base62
// (0-9A-Za-z) and left-padded with '0'. It lets the gateway refuse a
// mistyped or truncated key without looking it up, and lets a secret
// scanner tell a real key from a string that merely looks like one
// (docs/security.md gives the regular expression). The package is pure:
// stdlib only, no clock, no I/O except crypto/rand in New.
package apikey

import (
	"crypto/rand"
	"errors"
	"hash/crc32"
	"strings"
)

// Prefix starts every key of this format. Older keys start with "sk-sy-"
// and a base62 character, never "v1-" ('-' is not base62), so the two
// formats cannot be confused.
const Prefix = "sk-sy-v1-"

const (
	// RandomLen base62 characters carry 43·log2(62) ≈ 256 bits.
	RandomLen = 43
	// ChecksumLen base62 characters hold any uint32 (62^6 > 2^32).
	ChecksumLen = 6
	// Len is the length of a whole key.
	Len = len(Prefix) + RandomLen + ChecksumLen
)

// Pattern is a regular expression (RE2 and PCRE) matching a key of this
// format in text, for secret scanners. \b holds because '-' is not a word
// character and the key ends in base62.
const Pattern = `\bsk-sy-v1-[0-9A-Za-z]{49}\b`

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// The reasons Check gives. They are fixed values so that checking a key
// allocates nothing.
var (
	ErrFormat   = errors.New("not a sk-sy-v1- key")
	ErrLength   = errors.New("wrong length: a sk-sy-v1- key has exactly 49 characters after its prefix (43 random, 6 of checksum); this one is cut off or has extra characters")
	ErrCharset  = errors.New("a sk-sy-v1- key has only letters and digits after its prefix; this one has another character")
	ErrChecksum = errors.New("checksum mismatch: its last 6 characters are not the checksum of the rest, so a character is mistyped or changed")
)

// New returns a fresh random key. Randomness comes from crypto/rand and is
// mapped to base62 by rejection sampling, so every character is uniform.
func New() string {
	var b [Len]byte
	n := copy(b[:], Prefix)
	var buf [64]byte
	for n < len(Prefix)+RandomLen {
		_, _ = rand.Read(buf[:]) // never fails on supported platforms
		for _, c := range buf {
			// 248 = 4·62: bytes from 248 up would favour the first 8 characters.
			if c < 248 && n < len(Prefix)+RandomLen {
				b[n] = alphabet[c%62]
				n++
			}
		}
	}
	putChecksum(b[n:], checksum(string(b[:n])))
	return string(b[:])
}

// Sum returns the 6-character checksum of body (the prefix and the random
// part of a key).
func Sum(body string) string {
	var b [ChecksumLen]byte
	putChecksum(b[:], checksum(body))
	return string(b[:])
}

// Check reports why key is not a well-formed key of this format (ErrFormat,
// ErrLength, ErrCharset, ErrChecksum), or nil. It allocates nothing.
func Check(key string) error {
	if !strings.HasPrefix(key, Prefix) {
		return ErrFormat
	}
	if len(key) != Len {
		return ErrLength
	}
	for i := len(Prefix); i < Len; i++ {
		if digit(key[i]) < 0 {
			return ErrCharset
		}
	}
	var want [ChecksumLen]byte
	putChecksum(want[:], checksum(key[:Len-ChecksumLen]))
	if string(want[:]) != key[Len-ChecksumLen:] {
		return ErrChecksum
	}
	return nil
}

// checksum is crc32.ChecksumIEEE over a string, without the []byte
// conversion that would allocate on every request.
func checksum(s string) uint32 {
	tab := crc32.IEEETable
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = tab[byte(crc)^s[i]] ^ (crc >> 8)
	}
	return ^crc
}

// putChecksum writes v in base62, most significant digit first, padded
// with '0' to fill dst.
func putChecksum(dst []byte, v uint32) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = alphabet[v%62]
		v /= 62
	}
}

func digit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'Z':
		return int(c-'A') + 10
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}
