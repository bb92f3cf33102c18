// Package audit carries what a management handler knows about its action
// (the object it changed, before and after, the account it belongs to) to
// the server, which records the entry once the handler has answered: the
// route table says which routes are audited, the handlers only describe.
package audit

import (
	"context"
	"encoding/json"
	"strings"
)

// Note is what a handler says about its action. Handlers fill it through
// Describe and As; a request without a Note (not audited) ignores them.
type Note struct {
	Target    string
	AccountID string
	// Before and After are the object's JSON with secrets redacted; nil
	// when there is none.
	Before, After []byte
	// ActorKind, ActorID and Actor replace the caller's key as the actor,
	// for actions no key makes (a signed leak report).
	ActorKind, ActorID, Actor string
}

type noteKey struct{}

// With returns ctx carrying a new Note, and the Note.
func With(ctx context.Context) (context.Context, *Note) {
	n := &Note{}
	return context.WithValue(ctx, noteKey{}, n), n
}

func from(ctx context.Context) *Note {
	n, _ := ctx.Value(noteKey{}).(*Note)
	return n
}

// Describe records the object an audited action concerns: its id, its
// account ("" for gateway-wide objects) and its state before and after
// (nil: none), redacted.
func Describe(ctx context.Context, target, accountID string, before, after any) {
	n := from(ctx)
	if n == nil {
		return
	}
	n.Target, n.AccountID = target, accountID
	n.Before, n.After = Redact(before), Redact(after)
}

// As names the actor of an action made without a key.
func As(ctx context.Context, kind, id, label string) {
	if n := from(ctx); n != nil {
		n.ActorKind, n.ActorID, n.Actor = kind, id, label
	}
}

// secretNames are JSON member names whose values never enter the log.
var secretNames = map[string]bool{
	"key": true, "api_key": true, "apikey": true, "password": true, "secret": true, "secret_key": true,
	"token": true, "token_raw": true, "access_token": true, "refresh_token": true, "code": true,
	"code_verifier": true, "authorization": true, "private_key": true,
}

// Redacted replaces a secret's value.
const Redacted = "[redacted]"

// Redact is v as JSON with the value of every member named like a secret
// (key, api_key, password, token, code, …, at any depth) replaced by
// "[redacted]"; nil for a nil v. Objects that cannot be encoded are
// recorded as null.
func Redact(v any) []byte {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return nil
	}
	var tree any
	if json.Unmarshal(b, &tree) != nil {
		return nil
	}
	if !scrub(tree) {
		return b
	}
	out, err := json.Marshal(tree)
	if err != nil {
		return nil
	}
	return out
}

// scrub redacts secrets in a decoded JSON tree; it reports whether it
// changed anything.
func scrub(v any) bool {
	changed := false
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if secretNames[strings.ToLower(k)] && x != nil {
				t[k] = Redacted
				changed = true
				continue
			}
			changed = scrub(x) || changed
		}
	case []any:
		for _, x := range t {
			changed = scrub(x) || changed
		}
	}
	return changed
}
