package store

import (
	"context"
	"time"
)

// Catalog entry kinds.
const (
	EntryProvider = "provider"
	EntryModel    = "model"
)

// CatalogEntry is a provider or a model added through the management API
// (the config file holds the others). Spec is its settings as JSON, in the
// config file's vocabulary, without any credential; a provider's API key
// is kept apart, sealed (package secretkey), never in clear.
type CatalogEntry struct {
	Kind string // EntryProvider or EntryModel
	ID   string // the provider's name or the model's id
	Spec []byte
	// Key is the provider's sealed API key; the zero value: none.
	Key       SealedKey
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SealedKey is a credential encrypted under the secret key named KeyID.
type SealedKey struct {
	KeyID  string
	Sealed string // base64 of nonce and ciphertext
}

// KeyAAD is the associated data a provider key is sealed with: it binds
// the sealed value to its entry, so a value copied to another row does
// not open.
func KeyAAD(kind, id string) string { return kind + "\x00" + id }

// IsZero reports whether there is no key.
func (k SealedKey) IsZero() bool { return k.Sealed == "" }

// Catalog keeps the API-managed providers and models. Five methods: the
// four writes and reads of one small table, plus the one transaction a
// secret key rotation needs.
type Catalog interface {
	// CatalogEntries returns every entry, providers first, each kind in
	// the order it was created.
	CatalogEntries(ctx context.Context) ([]CatalogEntry, error)
	// CreateCatalogEntry inserts e; ErrConflict if its kind and id exist.
	CreateCatalogEntry(ctx context.Context, e *CatalogEntry) error
	// UpdateCatalogEntry replaces the spec and key of the entry of e's
	// kind and id; ErrNotFound if there is none.
	UpdateCatalogEntry(ctx context.Context, e *CatalogEntry) error
	// DeleteCatalogEntry removes an entry; ErrNotFound if there is none.
	DeleteCatalogEntry(ctx context.Context, kind, id string) error
	// ResealKeys passes every stored key to reseal, with its entry's kind
	// and id, and stores what it returns, all in one transaction: if
	// reseal fails for any key, nothing is changed. It returns how many
	// keys changed (reseal returning its input unchanged is no change).
	ResealKeys(ctx context.Context, reseal func(kind, id string, k SealedKey) (SealedKey, error)) (int, error)
}
