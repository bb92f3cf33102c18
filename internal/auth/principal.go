package auth

import (
	"context"
	"crypto/subtle"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// Principal is who an in-process call (the web console's) acts as, named
// without a secret: a key by its hash, or a console user by id. It travels
// in the request's context, which only code in this process can set; no
// header of an HTTP request can, so a browser cannot claim one.
type Principal struct {
	KeyHash string
	UserID  string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalOf returns the principal ctx carries, if any.
func PrincipalOf(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok && (p.KeyHash != "" || p.UserID != "")
}

// ByHash returns the live key with this hash, the admin key of the config
// file included: what a console session signed in with a key resolves to on
// each request, so that disabling or deleting the key ends the session.
func (c *Cache) ByHash(hash string) (*store.Key, bool) {
	if k, ok := c.Lookup(hash); ok {
		return k, true
	}
	if c.adminHash != "" && subtle.ConstantTimeCompare([]byte(hash), []byte(c.adminHash)) == 1 {
		return &store.Key{Hash: hash, Label: "admin key (config)", Name: "admin (config)", Kind: store.KindAdmin, AccountID: store.DefaultAccountID}, true
	}
	return nil, false
}
