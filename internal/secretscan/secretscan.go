// Package secretscan reads leak reports from GitHub secret scanning's
// partner program: it checks a report's signature and decodes its tokens,
// and encodes the answer GitHub takes as feedback. What to do with a
// reported key is the caller's business (package admin disables it).
//
// GitHub POSTs a JSON array of {token, type, url, source}, signed with
// ECDSA P-256 over SHA-256 of the raw body; the ASN.1 signature comes
// base64-encoded in Github-Public-Key-Signature, and the key that made it
// is named by Github-Public-Key-Identifier, one of the keys GitHub
// publishes at https://api.github.com/meta/public_keys/secret_scanning.
package secretscan

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// The headers a report carries.
const (
	HeaderKeyID     = "Github-Public-Key-Identifier"
	HeaderSignature = "Github-Public-Key-Signature"
)

// MaxTokens bounds how many tokens one report may carry.
const MaxTokens = 1000

// Verifier checks signatures against a fixed set of public keys.
type Verifier struct {
	keys map[string]*ecdsa.PublicKey
}

// NewVerifier returns a Verifier trusting keys, by identifier.
func NewVerifier(keys map[string]*ecdsa.PublicKey) *Verifier {
	return &Verifier{keys: keys}
}

// Errors of Verify. ErrUnknownKey and ErrNoKeys are the reporter's
// configuration (or an impostor); ErrBadSignature a forged or altered body.
var (
	ErrNoKeys       = errors.New("secret-scanning reports are not accepted: security.secret_scanning.public_keys is empty")
	ErrUnknownKey   = errors.New("unknown " + HeaderKeyID + "; add GitHub's current key to security.secret_scanning.public_keys")
	ErrBadSignature = errors.New("the " + HeaderSignature + " does not verify against the body")
)

// Verify checks that sig (base64 of an ASN.1 ECDSA signature) is the key
// keyID's signature of body's SHA-256.
func (v *Verifier) Verify(body []byte, keyID, sig string) error {
	if len(v.keys) == 0 {
		return ErrNoKeys
	}
	pub, ok := v.keys[keyID]
	if !ok {
		return ErrUnknownKey
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(raw) == 0 {
		return ErrBadSignature
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, sum[:], raw) {
		return ErrBadSignature
	}
	return nil
}

// Token is one match GitHub found.
type Token struct {
	Token string `json:"token"`
	// Type is the secret type the partner registered with GitHub.
	Type string `json:"type"`
	// URL is where the match was found (a commit blob, an issue, a gist).
	URL string `json:"url"`
	// Source is the kind of place ("content", "commit", "issue_comment", …).
	Source string `json:"source"`
}

// Parse decodes a report body: a JSON array of tokens, at most MaxTokens,
// each with a token.
func Parse(body []byte) ([]Token, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var ts []Token
	if err := dec.Decode(&ts); err != nil {
		return nil, fmt.Errorf("a report is a JSON array of {token, type, url, source}: %v", err)
	}
	if dec.More() {
		return nil, errors.New("a report is one JSON array; something follows it")
	}
	if len(ts) > MaxTokens {
		return nil, fmt.Errorf("a report may carry at most %d tokens; this one has %d", MaxTokens, len(ts))
	}
	for i, t := range ts {
		if t.Token == "" {
			return nil, fmt.Errorf("report entry %d has no token", i)
		}
	}
	return ts, nil
}

// Label is GitHub's feedback on a token.
type Label string

const (
	TruePositive  Label = "true_positive"  // a key of this gateway
	FalsePositive Label = "false_positive" // not one
)

// Feedback is one entry of the answer.
type Feedback struct {
	TokenRaw  string `json:"token_raw"`
	TokenType string `json:"token_type"`
	Label     Label  `json:"label"`
}
