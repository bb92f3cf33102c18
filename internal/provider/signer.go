package provider

import (
	"net/http"
)

// Signer puts a provider's credential on an upstream request. The relay
// signs each attempt's request once, after it is built (NewRequest) and
// before it is sent; nothing else touches the credential.
//
// Sign may set any headers (and only headers: the body is already final).
// It sees the exact body bytes so that a signature over the payload fits:
// AWS SigV4 hashes the body (x-amz-content-sha256) and signs the method,
// path, query and chosen headers with a key derived for the day and region.
// A signer that needs the network or a clock (an OAuth token source,
// SigV4's date) takes the request's context from req.Context(); it must
// not keep req or body after it returns.
//
// An error means the request cannot be sent: the relay treats it like a
// failure to reach the upstream. Its message must not carry the secret.
type Signer interface {
	Sign(req *http.Request, body []byte) error
}

// StaticHeader is the signer of a provider whose credential is one header
// that never changes: name: prefix+secret ("Authorization: Bearer sk-…",
// "x-api-key: …"). The header is built once; signing copies one map entry
// whose value slice is shared, never mutated. An empty secret (a local
// server without a key) signs nothing.
func StaticHeader(name, prefix, secret string) Signer {
	if secret == "" {
		return Unsigned{}
	}
	return &headerSigner{h: http.Header{http.CanonicalHeaderKey(name): {prefix + secret}}}
}

type headerSigner struct{ h http.Header }

func (s *headerSigner) Sign(req *http.Request, _ []byte) error {
	for k, v := range s.h {
		req.Header[k] = v
	}
	return nil
}

// Unsigned is the signer of a provider without a credential (the mock, a
// local server without a key): it adds nothing.
type Unsigned struct{}

func (Unsigned) Sign(*http.Request, []byte) error { return nil }

// SignError is a failure to sign a request: the credential could not be
// had (a token endpoint down or refusing the client). Its message names
// what failed, never the secret.
type SignError struct{ Err error }

func (e *SignError) Error() string { return "signing the request: " + e.Err.Error() }
func (e *SignError) Unwrap() error { return e.Err }
