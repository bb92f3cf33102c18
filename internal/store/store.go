// Package store defines the persistent state of the gateway and the interface
// every backend (store/sqlite, store/postgres) implements; package
// storetest is the suite of tests both pass.
//
// Nothing on the request path calls a Store, except for stored Responses API
// answers (Responses): keys are served from an in-memory cache (package auth)
// and writes that the request path causes are batched.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// ErrNotFound is returned when a row does not exist (or was deleted).
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique value (a key hash) already exists.
var ErrConflict = errors.New("already exists")

// ErrSchema wraps a write the database refused because its schema is not
// the one this release knows (a column, table or function missing: a newer
// release migrated it during a rolling upgrade) or this role may not use
// it. The records are not at fault: the ledger keeps them (spooled) instead
// of dropping them as dead letters.
var ErrSchema = errors.New("the database schema does not match this release")

// ErrCreditsOverflow is returned by TopUp and Redeem when the account's
// credits would pass the largest amount the store holds
// ($9223372036.854775807): the caller's request, not the store, is at fault.
var ErrCreditsOverflow = errors.New("the account's credits would exceed $9223372036.854775807")

// DefaultAccountID is the unmetered account that holds keys created without one.
const DefaultAccountID = "acct-default"

// KeyKind says what a key may do.
type KeyKind string

const (
	// KindAPI keys call models.
	KindAPI KeyKind = "api"
	// KindManagement keys manage one account's keys and read its usage; they cannot call models.
	KindManagement KeyKind = "management"
	// KindAdmin keys can do everything on the management API.
	KindAdmin KeyKind = "admin"
)

// Key is an API key as stored: never the plaintext, only its SHA-256.
type Key struct {
	Hash      string  // lowercase hex SHA-256 of the full key; the key's id in URLs
	Label     string  // masked form for display, e.g. "sk-sy-ab…f3"
	Name      string  // operator-given name
	Kind      KeyKind // api | management | admin
	AccountID string
	// Limit is the key's spending limit in nano-USD; nil means none.
	Limit *money.Nanos
	// LimitReset is "", "daily", "weekly" or "monthly".
	LimitReset    string
	ExpiresAt     *time.Time
	Disabled      bool
	AllowedModels []string
	// RateLimits are the key's own request, token and concurrency limits;
	// nil means none (the account's still apply).
	RateLimits *RateLimits
	// Leak is set once the key was reported found in public (and so
	// disabled); it stays after the key is re-enabled, as history.
	Leak      *LeakReport
	CreatedAt time.Time
	UpdatedAt time.Time
	// DeletedAt is set on deleted keys (they are kept so that ledger rows stay
	// attributable, and so that caches of other instances learn of the delete).
	DeletedAt *time.Time
}

// Account holds credits; Credits nil means unmetered (usage recorded, no balance enforced).
type Account struct {
	ID      string
	Name    string
	Credits *money.Nanos
	// RateLimits apply to all the account's keys together; nil means none.
	RateLimits *RateLimits
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// RateLimits are per-minute request and token limits and a cap on requests
// in flight, of a key or an account. A zero field is no limit on that
// dimension; stored and shown as nil when every field is zero (Normalize).
type RateLimits struct {
	RPM         int64 // requests per minute
	TPM         int64 // tokens per minute (prompt + completion)
	Concurrency int64 // requests in flight
}

// Normalize returns r, or nil when it limits nothing.
func (r *RateLimits) Normalize() *RateLimits {
	if r == nil || (r.RPM == 0 && r.TPM == 0 && r.Concurrency == 0) {
		return nil
	}
	return r
}

// Store is the persistent state. Implementations are safe for concurrent use.
type Store interface {
	// CreateKey inserts k; ErrConflict if the hash exists (even deleted).
	CreateKey(ctx context.Context, k *Key) error
	// ListKeys returns every key not deleted, oldest first.
	ListKeys(ctx context.Context) ([]Key, error)
	// KeysChangedSince returns every key (deleted ones included) whose
	// UpdatedAt is after t; it is how a key cache stays coherent with writes
	// made by other gateway instances.
	KeysChangedSince(ctx context.Context, t time.Time) ([]Key, error)
	// DeleteKey marks a key deleted; ErrNotFound if absent or already deleted.
	DeleteKey(ctx context.Context, hash string, at time.Time) error
	// GetKey returns the live key with this hash; ErrNotFound if absent or
	// deleted. Writes authorise against it, not a cache that may lag.
	GetKey(ctx context.Context, hash string) (*Key, error)

	// Meta reads a small named value ("" and no error if unset).
	Meta(ctx context.Context, name string) (string, error)
	// SetMeta writes a small named value.
	SetMeta(ctx context.Context, name, value string) error

	Responses
	Audit

	Close() error
}

// StoredResponse is a Responses API answer kept for GET /responses/{id}
// and for a later request's previous_response_id (store: true). The store
// keeps its JSON columns as given; the relay defines what they hold.
type StoredResponse struct {
	ID        string // the generation id, which is the response id
	AccountID string // the only account that can read or delete it
	KeyHash   string // the key that made it
	Model     string // as requested
	// Conversation is the request's side as the relay's canonical JSON:
	// the input messages (earlier turns included), system prompt, tools.
	Conversation []byte
	// Output is the answer as canonical JSON, replayed into a later
	// request that continues from this one.
	Output []byte
	// Response is the encoded Response object, as GET returns it.
	Response  []byte
	CreatedAt time.Time
	// ExpiresAt is when it stops being readable and is pruned; nil: never.
	ExpiresAt *time.Time
}

// Responses keeps stored responses. Reads and deletes are scoped to an
// account: another account's id, like an expired one, is ErrNotFound.
type Responses interface {
	// PutResponse inserts r; ErrConflict if the id exists.
	PutResponse(ctx context.Context, r *StoredResponse) error
	// GetResponse returns the response id of accountID, or ErrNotFound.
	GetResponse(ctx context.Context, accountID, id string) (*StoredResponse, error)
	// DeleteResponse deletes the response id of accountID, or returns
	// ErrNotFound.
	DeleteResponse(ctx context.Context, accountID, id string) error
	// PruneResponses deletes the responses expired at now; returns how many.
	PruneResponses(ctx context.Context, now time.Time) (int64, error)
}
