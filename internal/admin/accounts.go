package admin

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/switchyard-gw/switchyard/internal/audit"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// AccountObject is an account as the API shows it. Amounts are USD.
type AccountObject struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Credits *money.Nanos `json:"credits"` // null: unmetered
	Usage   money.Nanos  `json:"usage"`
	Balance *money.Nanos `json:"balance"` // credits − usage − held for requests in flight; null when unmetered
	// RateLimits apply to all the account's keys together; null: none.
	RateLimits *RateLimits `json:"rate_limits"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

func (a *API) accountObject(ac *store.Account) AccountObject {
	o := AccountObject{ID: ac.ID, Name: ac.Name, Credits: ac.Credits, RateLimits: rateLimitsOf(ac.RateLimits),
		CreatedAt: ac.CreatedAt.UTC(), UpdatedAt: ac.UpdatedAt.UTC()}
	st := a.acct.Account(ac.ID)
	o.Usage = st.Spent
	if ac.Credits != nil {
		b := *ac.Credits - st.Spent - st.Reserved
		o.Balance = &b
	}
	return o
}

// optionalAmount distinguishes an absent field from an explicit null.
type optionalAmount struct {
	set   bool
	value *money.Nanos
}

func (o *optionalAmount) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(b) == "null" {
		o.value = nil
		return nil
	}
	var n money.Nanos
	if err := n.UnmarshalJSON(b); err != nil {
		return err
	}
	o.value = &n
	return nil
}

// CreateAccount serves POST /accounts {"name", "credits", "rate_limits"}
// (admin only).
func (a *API) CreateAccount(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.adminOnly(r); err != nil {
		return err
	}
	var req struct {
		Name       string         `json:"name"`
		Credits    optionalAmount `json:"credits"`
		RateLimits *RateLimits    `json:"rate_limits"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return llm.BadRequest("name", "an account needs a 'name'")
	}
	if req.Credits.value != nil && *req.Credits.value < 0 {
		return llm.BadRequest("credits", "'credits' must be a non-negative amount of USD, or null for an unmetered account")
	}
	now := a.now().UTC()
	ac := &store.Account{ID: newAccountID(), Name: req.Name, Credits: req.Credits.value, RateLimits: req.RateLimits.stored(), CreatedAt: now, UpdatedAt: now}
	if err := a.st.CreateAccount(r.Context(), ac); err != nil {
		return err
	}
	a.acct.SetAccount(ac.ID, ac.Credits)
	a.setAccountLimits(ac)
	a.notify(r.Context(), "accounts")
	audit.Describe(r.Context(), ac.ID, ac.ID, nil, a.accountObject(ac))
	return writeJSON(w, http.StatusCreated, dataOf(a.accountObject(ac)))
}

// ListAccounts serves GET /accounts (admin: all; management key: its own).
func (a *API) ListAccounts(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	accts, err := a.st.ListAccounts(r.Context())
	if err != nil {
		return err
	}
	out := make([]AccountObject, 0, len(accts))
	for i := range accts {
		if caller.Kind == store.KindManagement && accts[i].ID != caller.AccountID {
			continue
		}
		out = append(out, a.accountObject(&accts[i]))
	}
	return writeJSON(w, http.StatusOK, dataOf(out))
}

// GetAccount serves GET /accounts/{id}.
func (a *API) GetAccount(w http.ResponseWriter, r *http.Request, id string) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	if caller.Kind == store.KindManagement && id != caller.AccountID {
		return llm.NotFound("no account " + id)
	}
	ac, err := a.st.GetAccount(r.Context(), id)
	if err != nil {
		return notFoundAs(err, "no account "+id)
	}
	return writeJSON(w, http.StatusOK, dataOf(a.accountObject(ac)))
}

// PatchAccount serves PATCH /accounts/{id} {"name", "credits",
// "rate_limits"}: credits null makes the account unmetered, a number makes
// it prepaid with that total; rate_limits null removes the limits.
func (a *API) PatchAccount(w http.ResponseWriter, r *http.Request, id string) error {
	if _, err := a.adminOnly(r); err != nil {
		return err
	}
	var req struct {
		Name       *string            `json:"name"`
		Credits    optionalAmount     `json:"credits"`
		RateLimits optionalRateLimits `json:"rate_limits"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	ac, err := a.st.GetAccount(r.Context(), id)
	if err != nil {
		return notFoundAs(err, "no account "+id)
	}
	before := a.accountObject(ac)
	if req.Name != nil {
		ac.Name = *req.Name
	}
	if req.Credits.set {
		if req.Credits.value != nil && *req.Credits.value < 0 {
			return llm.BadRequest("credits", "'credits' must be a non-negative amount of USD, or null for an unmetered account")
		}
		ac.Credits = req.Credits.value
	}
	if req.RateLimits.set {
		ac.RateLimits = req.RateLimits.value.stored()
	}
	ac.UpdatedAt = a.now().UTC()
	if err := a.st.UpdateAccount(r.Context(), ac); err != nil {
		return err
	}
	a.acct.SetAccount(ac.ID, ac.Credits)
	a.setAccountLimits(ac)
	a.notify(r.Context(), "accounts")
	audit.Describe(r.Context(), ac.ID, ac.ID, before, a.accountObject(ac))
	return writeJSON(w, http.StatusOK, dataOf(a.accountObject(ac)))
}

// setAccountLimits tells the limiter of an account's stored limits (other
// instances learn them at their next refresh).
func (a *API) setAccountLimits(ac *store.Account) {
	if a.limits != nil {
		a.limits.SetAccount(ac.ID, ac.RateLimits)
	}
}

// TopUp serves POST /accounts/{id}/credits {"amount", "memo"} (admin only).
func (a *API) TopUp(w http.ResponseWriter, r *http.Request, id string) error {
	if _, err := a.adminOnly(r); err != nil {
		return err
	}
	var req struct {
		Amount *money.Nanos `json:"amount"`
		Memo   string       `json:"memo"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Amount == nil || *req.Amount <= 0 {
		return llm.BadRequest("amount", "'amount' (USD) is required and must be positive; to correct an account's credits, PATCH /accounts/{id} with the right \"credits\" total")
	}
	ac, err := a.st.TopUp(r.Context(), id, *req.Amount, req.Memo, a.now().UTC())
	if errors.Is(err, store.ErrCreditsOverflow) {
		return llm.BadRequest("amount", "this top-up would take the credits of account %s past $%s, the largest amount the gateway holds; nothing was added", id, money.Nanos(math.MaxInt64))
	}
	if err != nil {
		return notFoundAs(err, "no account "+id)
	}
	a.acct.SetAccount(ac.ID, ac.Credits)
	a.notify(r.Context(), "accounts")
	audit.Describe(r.Context(), ac.ID, ac.ID, nil, map[string]any{"amount": *req.Amount, "memo": req.Memo, "credits": ac.Credits})
	return writeJSON(w, http.StatusOK, dataOf(a.accountObject(ac)))
}

func parseDay(v string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, v)
}

// parseRange reads the query's from and to (a day or an RFC 3339 time)
// into from and to, leaving either as it is when absent. A time an int64
// of unix nanoseconds cannot hold is refused like a malformed one.
func parseRange(v url.Values, from, to *time.Time) error {
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", from}, {"to", to}} {
		if s := v.Get(f.name); s != "" {
			t, err := parseDay(s)
			if err != nil || t.Before(store.MinTime) || t.After(store.MaxTime) {
				return llm.BadRequest(f.name, "'%s' must be a date (2026-01-31) or an RFC 3339 time", f.name)
			}
			*f.dst = t
		}
	}
	return nil
}

// AdminOnly refuses every caller but the admin key (a console session
// signed in with it included).
func (a *API) AdminOnly(r *http.Request) (*store.Key, error) { return a.adminOnly(r) }

func (a *API) adminOnly(r *http.Request) (*store.Key, error) {
	k, err := a.caller(r)
	if err != nil {
		return nil, err
	}
	if k.Kind != store.KindAdmin {
		return nil, llm.Forbidden("forbidden", "only the admin key can do this")
	}
	return k, nil
}

func notFoundAs(err error, msg string) error {
	if errors.Is(err, store.ErrNotFound) {
		return llm.NotFound(msg)
	}
	return err
}

func dataOf(v any) any {
	return struct {
		Data any `json:"data"`
	}{v}
}

func newAccountID() string { return "acct-" + randomID(20) }

// NewAccountID returns a fresh account id, "acct-" and 20 random
// characters, as POST /accounts makes them; the CLI creates accounts with it.
func NewAccountID() string { return newAccountID() }
