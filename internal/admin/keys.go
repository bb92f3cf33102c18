// Package admin is the management API (keys, accounts, credits, usage) and
// the calling key's own endpoints (/key, /credits, /generation). Every
// management handler authorizes with the admin key or an account's
// management key, which is scoped to its own account and never sees an
// admin key (visibleTo).
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/audit"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/billing"
	"github.com/switchyard-gw/switchyard/internal/clientaddr"
	"github.com/switchyard-gw/switchyard/internal/failwindow"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Store is the persistence the management API uses.
type Store interface {
	store.Store
	store.Billing
	store.Generations
	store.Users
	store.Sessions
	store.Credits
	store.AuthCodes
}

// Generations finds generation records not yet written to the store.
type Generations interface {
	Pending(id string) (*store.Generation, bool)
}

// API serves the management endpoints and the key's own account endpoints.
type API struct {
	st      Store
	keys    *auth.Cache
	acct    *billing.Accountant
	limits  *ratelimit.Limiter
	pending Generations
	now     func() time.Time
	// changed, when set, tells other instances what a write changed
	// (cluster.Keys, cluster.Accounts); see OnChange.
	changed func(ctx context.Context, topic string)
	// registration is what POST /users/register allows (SetRegistration).
	registration atomic.Pointer[Registration]
	// clientAddr is the address per-address limits count (SetClientAddr).
	clientAddr func(*http.Request) string
	// redeemFails counts failed redemptions per account and per address.
	redeemFails *failwindow.Counter
	// exchangeFails counts failed OAuth code exchanges per address.
	exchangeFails *failwindow.Counter
	// registerFails counts refused registrations per address.
	registerFails *failwindow.Counter
}

// trackedNames bounds each failure table (failwindow): the addresses and
// accounts whose failures are counted at once.
const trackedNames = 10000

// OnChange sets what is told after a write to keys ("keys") or accounts
// ("accounts") commits: other gateway instances refresh their caches then.
func (a *API) OnChange(f func(ctx context.Context, topic string)) { a.changed = f }

func (a *API) notify(ctx context.Context, topic string) {
	if a.changed != nil {
		a.changed(ctx, topic)
	}
}

// New builds the management API.
func New(st Store, keys *auth.Cache, acct *billing.Accountant, limits *ratelimit.Limiter, pending Generations, now func() time.Time) *API {
	return &API{st: st, keys: keys, acct: acct, limits: limits, pending: pending, now: now, clientAddr: clientaddr.Peer,
		redeemFails:   failwindow.New(redeemFailures, redeemWindow, trackedNames, now),
		exchangeFails: failwindow.New(exchangeFailures, exchangeFailureWindow, trackedNames, now),
		registerFails: failwindow.New(registerFailures, registerWindow, trackedNames, now)}
}

// KeyObject is a key as the API shows it (OpenRouter's field names).
type KeyObject struct {
	Hash          string       `json:"hash"`
	Name          string       `json:"name"`
	Label         string       `json:"label"`
	Kind          string       `json:"kind"`
	AccountID     string       `json:"account_id"`
	Disabled      bool         `json:"disabled"`
	Limit         *money.Nanos `json:"limit"`
	LimitReset    *string      `json:"limit_reset"`
	ExpiresAt     *time.Time   `json:"expires_at"`
	AllowedModels []string     `json:"allowed_models"`
	RateLimits    *RateLimits  `json:"rate_limits"`
	// Usage is all-time spend; LimitRemaining what the current limit period leaves.
	Usage          money.Nanos  `json:"usage"`
	LimitRemaining *money.Nanos `json:"limit_remaining"`
	// Leaked is set once GitHub secret scanning reported the key found in
	// public (and the gateway disabled it); it stays after re-enabling.
	Leaked    *LeakReport `json:"leaked"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// object renders a key with its spend from the accountant.
func (a *API) object(k *store.Key) KeyObject {
	o := ObjectOf(k)
	if a.acct != nil {
		st := a.acct.Key(k)
		o.Usage = st.TotalUsage
		if k.Limit != nil {
			left := max(*k.Limit-st.PeriodUsage-st.Reserved, 0)
			o.LimitRemaining = &left
		}
	}
	return o
}

// ObjectOf renders a stored key.
func ObjectOf(k *store.Key) KeyObject {
	o := KeyObject{Hash: k.Hash, Name: k.Name, Label: k.Label, Kind: string(k.Kind), AccountID: k.AccountID,
		Disabled: k.Disabled, Limit: k.Limit, ExpiresAt: k.ExpiresAt, AllowedModels: k.AllowedModels,
		RateLimits: rateLimitsOf(k.RateLimits), CreatedAt: k.CreatedAt.UTC(), UpdatedAt: k.UpdatedAt.UTC()}
	if k.LimitReset != "" {
		r := k.LimitReset
		o.LimitReset = &r
	}
	if k.Leak != nil {
		o.Leaked = &LeakReport{At: k.Leak.At.UTC().Format(time.RFC3339), URL: k.Leak.URL, Source: k.Leak.Source}
	}
	if o.AllowedModels == nil {
		o.AllowedModels = []string{}
	}
	return o
}

// CreateKeyRequest is POST /keys' body.
type CreateKeyRequest struct {
	Name          string       `json:"name"`
	Kind          string       `json:"kind"` // api (default) | management
	AccountID     string       `json:"account_id"`
	Limit         *money.Nanos `json:"limit"`
	LimitReset    string       `json:"limit_reset"`
	ExpiresAt     *time.Time   `json:"expires_at"`
	AllowedModels []string     `json:"allowed_models"`
	Disabled      bool         `json:"disabled"`
	RateLimits    *RateLimits  `json:"rate_limits"`
	// Key adopts an existing plaintext key (migrating from another gateway).
	Key string `json:"key"`
}

// NewKey validates a request and makes the key it describes, returning the
// stored form and the plaintext (shown once). The CLI uses it too.
func NewKey(req CreateKeyRequest, now time.Time) (*store.Key, string, error) {
	kind := store.KeyKind(req.Kind)
	switch kind {
	case "":
		kind = store.KindAPI
	case store.KindAPI, store.KindManagement, store.KindAdmin:
	default:
		return nil, "", llm.BadRequest("kind", "'kind' must be \"api\" or \"management\"")
	}
	switch req.LimitReset {
	case "", "daily", "weekly", "monthly":
	default:
		return nil, "", llm.BadRequest("limit_reset", "'limit_reset' must be daily, weekly, monthly or null")
	}
	if req.Limit != nil && *req.Limit < 0 {
		return nil, "", llm.BadRequest("limit", "'limit' must be a non-negative amount of USD or null")
	}
	if err := req.RateLimits.check(); err != nil {
		return nil, "", err
	}
	plain := req.Key
	if plain == "" {
		plain = auth.NewKey()
	} else if err := auth.CheckImported(plain); err != nil {
		return nil, "", llm.BadRequest("key", "%s", err.Error())
	}
	acct := req.AccountID
	if acct == "" {
		acct = store.DefaultAccountID
	}
	now = now.UTC()
	return &store.Key{
		Hash: auth.Hash(plain), Label: auth.Mask(plain), Name: req.Name, Kind: kind, AccountID: acct,
		Limit: req.Limit, LimitReset: req.LimitReset, ExpiresAt: req.ExpiresAt, Disabled: req.Disabled,
		AllowedModels: req.AllowedModels, RateLimits: req.RateLimits.stored(), CreatedAt: now, UpdatedAt: now,
	}, plain, nil
}

// createKey makes and stores the key req describes, and tells the key
// caches; it returns the key and its plaintext.
func (a *API) createKey(ctx context.Context, req CreateKeyRequest) (*store.Key, string, error) {
	k, plain, err := NewKey(req, a.now())
	if err != nil {
		return nil, "", err
	}
	if err := a.st.CreateKey(ctx, k); err != nil {
		switch {
		case errors.Is(err, store.ErrConflict):
			return nil, "", &llm.Error{Kind: llm.KindCaller, Status: http.StatusConflict, Type: "invalid_request_error", Code: "conflict", Param: "key", Message: "that key already exists"}
		case errors.Is(err, store.ErrNotFound):
			return nil, "", llm.BadRequest("account_id", "no account %q", req.AccountID)
		}
		return nil, "", err
	}
	a.keys.Put(k)
	a.notify(ctx, "keys")
	return k, plain, nil
}

// caller is who calls the management API: the key the request presents,
// or the principal an in-process call (the console's) put in its context.
func (a *API) caller(r *http.Request) (*store.Key, error) {
	if p, ok := auth.PrincipalOf(r.Context()); ok {
		return a.principalCaller(r, p)
	}
	k, err := a.keys.Admin(auth.Credential(r), a.now())
	if err != nil {
		return nil, err
	}
	return k, nil
}

// visibleTo reports whether caller may see and change k. The admin sees
// every key. A management key sees its own account's keys except admin
// keys: the bootstrap admin key is stored in the default account, but it
// belongs to no customer, and a management key of that account must not be
// able to list, disable or delete it (which would lock the operator out).
// Checking the kind on every read, rather than moving the key, keeps
// databases made before this rule safe without a migration.
func visibleTo(caller, k *store.Key) bool {
	if caller.Kind == store.KindAdmin {
		return true
	}
	return k.AccountID == caller.AccountID && k.Kind != store.KindAdmin
}

// target reads the key a request names from the store, not the key cache,
// and checks caller may act on it; a key it may not see is a 404, as if
// absent. The cache learns of keys written by another process (the CLI,
// another instance) only at its next refresh, up to 5 seconds later: a
// check against it would let a management key delete another account's
// just-made key, or write back a stale copy over a newer change.
func (a *API) target(r *http.Request, caller *store.Key, hash string) (*store.Key, error) {
	k, err := a.st.GetKey(r.Context(), hash)
	if err != nil {
		return nil, notFoundAs(err, "no key with hash "+hash)
	}
	if !visibleTo(caller, k) {
		return nil, llm.NotFound("no key with hash " + hash)
	}
	return k, nil
}

// CreateKey serves POST /keys → {"data": {...}, "key": "sk-sy-..."}.
func (a *API) CreateKey(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	var req CreateKeyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if caller.Kind == store.KindManagement {
		if req.AccountID != "" && req.AccountID != caller.AccountID {
			return llm.Forbidden("forbidden", "a management key can only create keys in its own account ("+caller.AccountID+")")
		}
		if req.Kind == string(store.KindAdmin) || req.Kind == string(store.KindManagement) {
			return llm.Forbidden("forbidden", "a management key can only create API keys")
		}
		req.AccountID = caller.AccountID
	}
	if req.Kind == string(store.KindAdmin) {
		return llm.BadRequest("kind", "admin keys are created by the switchyard CLI, not the API")
	}
	k, plain, err := a.createKey(r.Context(), req)
	if err != nil {
		return err
	}
	audit.Describe(r.Context(), k.Hash, k.AccountID, nil, a.object(k))
	return writeJSON(w, http.StatusCreated, struct {
		Data KeyObject `json:"data"`
		Key  string    `json:"key"`
	}{a.object(k), plain})
}

// ListKeys serves GET /keys → {"data": [...]}.
func (a *API) ListKeys(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	acct := r.URL.Query().Get("account_id")
	if caller.Kind != store.KindAdmin && acct != "" && acct != caller.AccountID {
		return llm.Forbidden("forbidden", "a management key can only list its own account's keys ("+caller.AccountID+")")
	}
	keys, err := a.st.ListKeys(r.Context())
	if err != nil {
		return err
	}
	out := make([]KeyObject, 0, len(keys))
	for i := range keys {
		if visibleTo(caller, &keys[i]) && (acct == "" || keys[i].AccountID == acct) {
			out = append(out, a.object(&keys[i]))
		}
	}
	return writeJSON(w, http.StatusOK, struct {
		Data []KeyObject `json:"data"`
	}{out})
}

// GetKey serves GET /keys/{hash}.
func (a *API) GetKey(w http.ResponseWriter, r *http.Request, hash string) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	k, err := a.target(r, caller, hash)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, dataOf(a.object(k)))
}

// DeleteKey serves DELETE /keys/{hash}.
func (a *API) DeleteKey(w http.ResponseWriter, r *http.Request, hash string) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	cur, err := a.target(r, caller, hash)
	if err != nil {
		return err
	}
	audit.Describe(r.Context(), hash, cur.AccountID, a.object(cur), nil)
	if err := a.st.DeleteKey(r.Context(), hash, a.now().UTC()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return llm.NotFound("no key with hash " + hash)
		}
		return err
	}
	a.keys.Remove(hash)
	a.notify(r.Context(), "keys")
	return writeJSON(w, http.StatusOK, dataOf(map[string]any{"hash": hash, "deleted": true}))
}

const maxAdminBody = 1 << 20

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return llm.BadRequest("", "request body is empty; send a JSON object")
		}
		var e *llm.Error
		if errors.As(err, &e) {
			return e // the server's body deadline: a 408
		}
		return llm.BadRequest("", "invalid request body: %v", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// SetClientAddr sets how a request's client address is read for the
// per-address limits (failed redemptions, code exchanges and
// registrations): the server's reading of server.trusted_proxies. The
// default is the connection's peer (clientaddr.Peer).
func (a *API) SetClientAddr(f func(*http.Request) string) { a.clientAddr = f }
