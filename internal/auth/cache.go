package auth

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-gw/switchyard/internal/apikey"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Cache holds every live key by hash. Reads are lock-free (sync.Map is
// built for read-mostly maps) so requests of different keys never contend.
type Cache struct {
	st        store.Store
	keys      sync.Map // hash -> *store.Key (immutable once stored)
	adminHash string   // hash of server.admin_key from config, if any

	mu    sync.Mutex
	since time.Time // newest UpdatedAt seen
}

// NewCache loads every live key from st. adminKey (may be empty) is an extra
// admin credential from the config file.
func NewCache(ctx context.Context, st store.Store, adminKey string) (*Cache, error) {
	c := &Cache{st: st}
	if adminKey != "" {
		c.adminHash = Hash(adminKey)
	}
	keys, err := st.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		c.Put(&keys[i])
	}
	return c, nil
}

// Put records k (after the store accepted it); a deleted key is removed.
func (c *Cache) Put(k *store.Key) {
	c.mu.Lock()
	if k.UpdatedAt.After(c.since) {
		c.since = k.UpdatedAt
	}
	c.mu.Unlock()
	if k.DeletedAt != nil {
		c.keys.Delete(k.Hash)
		return
	}
	cp := *k
	c.keys.Store(k.Hash, &cp)
}

// ConfigAdmin returns the hash of the admin key set in the config
// (server.admin_key), which is in no store; ok is false when none is set.
func (c *Cache) ConfigAdmin() (hash string, ok bool) { return c.adminHash, c.adminHash != "" }

// Remove forgets a key (after the store deleted it).
func (c *Cache) Remove(hash string) { c.keys.Delete(hash) }

// Lookup returns the live key with this hash.
func (c *Cache) Lookup(hash string) (*store.Key, bool) {
	v, ok := c.keys.Load(hash)
	if !ok {
		return nil, false
	}
	return v.(*store.Key), true
}

// Refresh applies changes other instances wrote to the store.
func (c *Cache) Refresh(ctx context.Context) error {
	c.mu.Lock()
	since := c.since
	c.mu.Unlock()
	// Re-read a small window back: a writer may commit with an UpdatedAt
	// slightly older than one already seen.
	changed, err := c.st.KeysChangedSince(ctx, since.Add(-2*time.Second))
	if err != nil {
		return err
	}
	for i := range changed {
		c.Put(&changed[i])
	}
	return nil
}

// Identify finds the key for a presented credential (raw, as sent). It
// checks existence only; see Caller and Admin for what the key may do.
func (c *Cache) Identify(raw string) (*store.Key, error) {
	// Outer whitespace from a sloppy copy cannot turn a wrong key into a
	// right one, so it is forgiven; the 401 for a wrong key still names it.
	key := strings.TrimSpace(raw)
	if key == "" {
		return nil, llm.InvalidAPIKey(Explain(raw))
	}
	// A checksummed key that fails its checksum was mistyped or made up:
	// it is refused here, without hashing or a lookup (apikey.Check
	// allocates nothing), and the 401 says why.
	if strings.HasPrefix(key, apikey.Prefix) && apikey.Check(key) != nil {
		return nil, llm.InvalidAPIKey(Explain(raw))
	}
	h := Hash(key)
	if k, ok := c.Lookup(h); ok {
		return k, nil
	}
	if c.adminHash != "" && subtle.ConstantTimeCompare([]byte(h), []byte(c.adminHash)) == 1 {
		return &store.Key{Hash: h, Label: Mask(key), Name: "admin (config)", Kind: store.KindAdmin, AccountID: store.DefaultAccountID}, nil
	}
	return nil, llm.InvalidAPIKey(Explain(raw))
}

// Caller authorizes a credential to call models.
func (c *Cache) Caller(raw string, now time.Time) (*store.Key, error) {
	k, err := c.Identify(raw)
	if err != nil {
		return nil, err
	}
	if k.Kind == store.KindManagement {
		return nil, llm.Forbidden("forbidden", "key "+k.Label+" is a management key: it manages keys and reads usage but cannot call models; use an API key")
	}
	if err := Usable(k, now); err != nil {
		return nil, err
	}
	return k, nil
}

// Admin authorizes a credential for the management API. Management keys
// pass too; callers scope them to their account and hide admin keys from
// them (admin.visibleTo).
func (c *Cache) Admin(raw string, now time.Time) (*store.Key, error) {
	k, err := c.Identify(raw)
	if err != nil {
		return nil, err
	}
	if k.Kind != store.KindAdmin && k.Kind != store.KindManagement {
		return nil, llm.Forbidden("forbidden", "this endpoint needs the admin key or a management key; key "+k.Label+" is an API key")
	}
	if err := Usable(k, now); err != nil {
		return nil, err
	}
	return k, nil
}

// Usable reports why k may not be used now (a *llm.Error), or nil.
func Usable(k *store.Key, now time.Time) error {
	if k.Disabled {
		return llm.Forbidden("key_disabled", "key "+k.Label+" is disabled; an operator can re-enable it")
	}
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return llm.Forbidden("key_expired", "key "+k.Label+" expired at "+k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// Credential returns the key a request presents: "Authorization: Bearer …"
// (OpenAI SDKs), else "x-api-key" (Anthropic SDKs), else "api-key"
// (Azure-style clients). Only the single space after "Bearer" is removed, so
// stray whitespace around the key can still be named in a 401.
func Credential(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if h == "" {
		if k := r.Header.Get("X-Api-Key"); k != "" {
			return k
		}
		return r.Header.Get("Api-Key")
	}
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return h[7:]
	}
	return h
}
