// Package oauth is the pure part of the OAuth PKCE flow by which an app
// gets an API key from a signed-in account (docs/oauth.md): checking a
// code challenge and its verifier (RFC 7636), checking a callback URL,
// and making and hashing authorization codes. No clock, no I/O except
// crypto/rand in NewCode.
package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// The code challenge methods of RFC 7636 section 4.2.
const (
	MethodS256  = "S256"
	MethodPlain = "plain"
)

// Bounds from RFC 7636 section 4.1: a verifier is 43 to 128 characters.
const (
	MinVerifierLen = 43
	MaxVerifierLen = 128
	// s256Len is the length of an S256 challenge: 32 bytes, base64url
	// without padding.
	s256Len = 43
	// MaxCallbackLen bounds a callback URL.
	MaxCallbackLen = 2048
)

// ErrMismatch is a verifier that does not match its challenge.
var ErrMismatch = errors.New("the code_verifier does not match the code_challenge this code was issued for")

// unreserved reports whether c may appear in a verifier or a plain
// challenge: ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 7636 section 4.1).
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// CheckVerifier reports why v is not a well-formed code verifier, or nil.
func CheckVerifier(v string) error {
	if len(v) < MinVerifierLen || len(v) > MaxVerifierLen {
		return fmt.Errorf("a code_verifier has %d to %d characters, this one %d", MinVerifierLen, MaxVerifierLen, len(v))
	}
	for i := 0; i < len(v); i++ {
		if !unreserved(v[i]) {
			return errors.New("a code_verifier has only the characters A-Z a-z 0-9 - . _ ~")
		}
	}
	return nil
}

// CheckChallenge reports why challenge is not well formed for method, or
// nil. It does not say whether method is allowed: see Allowed.
func CheckChallenge(method, challenge string) error {
	switch method {
	case MethodS256:
		if len(challenge) != s256Len {
			return fmt.Errorf("an S256 code_challenge is the base64url SHA-256 of the verifier, %d characters without padding; this one has %d", s256Len, len(challenge))
		}
		if _, err := base64.RawURLEncoding.DecodeString(challenge); err != nil {
			return errors.New("an S256 code_challenge is base64url (A-Z a-z 0-9 - _) without padding")
		}
		return nil
	case MethodPlain:
		if err := CheckVerifier(challenge); err != nil {
			return fmt.Errorf("a plain code_challenge is the verifier itself: %s", strings.TrimPrefix(err.Error(), "a code_verifier "))
		}
		return nil
	}
	return fmt.Errorf("unknown code_challenge_method %q; use S256", method)
}

// Allowed reports why method may not be used, or nil: S256 always may,
// plain only when allowPlain (config security.oauth.allow_plain).
func Allowed(method string, allowPlain bool) error {
	switch method {
	case MethodS256:
		return nil
	case MethodPlain:
		if allowPlain {
			return nil
		}
		return errors.New("code_challenge_method plain is not allowed on this gateway; use S256 (code_challenge = base64url(SHA-256(code_verifier)))")
	}
	return fmt.Errorf("unknown code_challenge_method %q; use S256", method)
}

// Challenge is the S256 challenge of verifier: base64url(SHA-256(verifier))
// without padding.
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Verify reports whether verifier answers challenge under method: nil, a
// malformed verifier's reason, or ErrMismatch. The comparison takes the
// same time wherever the strings differ.
func Verify(method, challenge, verifier string) error {
	if err := CheckVerifier(verifier); err != nil {
		return err
	}
	want := verifier
	switch method {
	case MethodS256:
		want = Challenge(verifier)
	case MethodPlain:
	default:
		return fmt.Errorf("unknown code_challenge_method %q", method)
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) != 1 {
		return ErrMismatch
	}
	return nil
}

// Callback parses a callback URL and reports why an app may not use it: it
// must be absolute https, or http on a loopback name (localhost,
// 127.0.0.1, [::1]) for apps on the user's machine; without user info (a
// "trusted.example@evil.example" URL misleads the consent page) or
// fragment (RFC 6749 section 3.1.2).
func Callback(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("callback_url is required: where the browser is sent back with ?code=")
	}
	if len(raw) > MaxCallbackLen {
		return nil, fmt.Errorf("callback_url may be at most %d characters", MaxCallbackLen)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("callback_url must be an absolute URL, such as https://app.example.com/callback")
	}
	if u.User != nil {
		return nil, errors.New("callback_url may not carry a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, errors.New("callback_url may not have a fragment (#…)")
	}
	for i := 0; i < len(u.Host); i++ {
		if c := u.Host[i]; !unreserved(c) && c != ':' && c != '[' && c != ']' {
			return nil, errors.New("callback_url's host has a character no host name has")
		}
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u, nil
	case "http":
		switch strings.ToLower(u.Hostname()) {
		case "localhost", "127.0.0.1", "::1":
			return u, nil
		}
		return nil, errors.New("callback_url must use https; plain http only on localhost, 127.0.0.1 or [::1]")
	}
	return nil, errors.New("callback_url must be an https URL (or http on localhost, 127.0.0.1 or [::1])")
}

// AppID names the app a callback URL belongs to: its host, with the port
// if it has one (two apps on one machine differ by port).
func AppID(u *url.URL) string { return strings.ToLower(u.Host) }

// WithParam returns u with name=value added to its query, keeping the
// parameters it has (and their order).
func WithParam(u *url.URL, name, value string) string {
	v := *u
	q := url.QueryEscape(name) + "=" + url.QueryEscape(value)
	if v.RawQuery == "" {
		v.RawQuery = q
	} else {
		v.RawQuery += "&" + q
	}
	return v.String()
}

// NewCode returns a fresh authorization code: 32 random bytes, base64url.
func NewCode() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashCode is a code's stored form: lowercase hex SHA-256.
func HashCode(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}
