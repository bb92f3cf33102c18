package store

import (
	"context"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// AuthCode is an OAuth PKCE authorization code (docs/oauth.md): a
// one-time permission, granted by an account, for an app to exchange the
// code and its PKCE verifier for a new API key. Only the code's SHA-256 is
// stored; the code itself goes to the app once, in the redirect.
type AuthCode struct {
	Hash      string // lowercase hex SHA-256 of the code; the row's id
	AccountID string // the account the new key is made in
	// Challenge and Method bind the code to the app's PKCE verifier
	// (RFC 7636): Method is "S256" or "plain".
	Challenge string
	Method    string
	// CallbackURL is where the code was sent; AppID names the app (the
	// callback's host), and is the new key's name.
	CallbackURL string
	AppID       string
	// Limit is the credit limit the new key gets; nil for none.
	Limit *money.Nanos
	// GrantedBy is the hash of the key (admin or management) that
	// approved the code.
	GrantedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AuthCodes keeps authorization codes in the database, so that every
// gateway instance can exchange a code any of them issued.
type AuthCodes interface {
	// PutAuthCode inserts c (ErrConflict if its hash exists), and deletes
	// codes expired at c.CreatedAt, so unused codes do not pile up.
	PutAuthCode(ctx context.Context, c *AuthCode) error
	// TakeAuthCode deletes the code with hash and returns it, if it has not
	// expired at now; else ErrNotFound. It is atomic: of concurrent calls
	// for one code, exactly one gets it.
	TakeAuthCode(ctx context.Context, hash string, now time.Time) (*AuthCode, error)
}
