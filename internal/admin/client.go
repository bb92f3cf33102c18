package admin

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// These endpoints answer the calling key about itself (OpenRouter's shapes).

// self is the calling key, refused (403 key_disabled or key_expired) when
// it could not call a model either: a disabled key reads nothing, not even
// its own usage.
func (a *API) self(r *http.Request) (*store.Key, error) {
	// The console's in-process calls carry their principal instead: the
	// session's management key, or its user acting as their account.
	if p, ok := auth.PrincipalOf(r.Context()); ok {
		return a.principalCaller(r, p)
	}
	k, err := a.keys.Identify(auth.Credential(r))
	if err != nil {
		return nil, err
	}
	if err := auth.Usable(k, a.now()); err != nil {
		return nil, err
	}
	return k, nil
}

// Key serves GET /key.
func (a *API) Key(w http.ResponseWriter, r *http.Request) error {
	k, err := a.self(r)
	if err != nil {
		return err
	}
	o := a.object(k)
	label := k.Label
	if k.Name != "" {
		label = k.Name + " (" + k.Label + ")"
	}
	return writeJSON(w, http.StatusOK, dataOf(map[string]any{
		"label":           label,
		"name":            k.Name,
		"usage":           o.Usage,
		"limit":           k.Limit,
		"limit_remaining": o.LimitRemaining,
		"limit_reset":     o.LimitReset,
		"expires_at":      k.ExpiresAt,
		"disabled":        k.Disabled,
		"is_free_tier":    false,
		"rate_limit":      effectiveRateLimit(k.RateLimits, a.accountLimits(k.AccountID)),
	}))
}

// accountLimits are an account's rate limits as the limiter holds them.
func (a *API) accountLimits(id string) *store.RateLimits {
	if a.limits == nil {
		return nil
	}
	return a.limits.Account(id)
}

// Credits serves GET /credits: the calling key's account.
func (a *API) Credits(w http.ResponseWriter, r *http.Request) error {
	k, err := a.self(r)
	if err != nil {
		return err
	}
	st := a.acct.Account(k.AccountID)
	return writeJSON(w, http.StatusOK, dataOf(map[string]any{
		"total_credits": st.Credits, // null for an unmetered account
		"total_usage":   st.Spent,
	}))
}

// GenerationObject is GET /generation's record, in OpenRouter's field names
// where they exist. Times are milliseconds.
type GenerationObject struct {
	ID               string      `json:"id"`
	Model            string      `json:"model"`
	ProviderName     string      `json:"provider_name"`
	UpstreamModel    string      `json:"upstream_model"`
	CreatedAt        time.Time   `json:"created_at"`
	TokensPrompt     int64       `json:"tokens_prompt"`
	TokensCompletion int64       `json:"tokens_completion"`
	TokensCached     int64       `json:"native_tokens_cached"`
	TokensReasoning  int64       `json:"native_tokens_reasoning"`
	TotalCost        money.Nanos `json:"total_cost"`
	UsageEstimated   bool        `json:"usage_estimated"`
	Latency          int64       `json:"latency"`
	TimeToFirst      *int64      `json:"time_to_first_token"`
	GenerationTime   *int64      `json:"generation_time"`
	Streamed         bool        `json:"streamed"`
	Cancelled        bool        `json:"cancelled"`
	FinishReason     *string     `json:"finish_reason"`
	Status           int         `json:"status"`
	ErrorCode        *string     `json:"error_code"`
	Origin           string      `json:"origin"`
	AppTitle         string      `json:"app_title"`
	APIKeyHash       string      `json:"api_key_hash"`
	AccountID        string      `json:"account_id"`
	RequestID        string      `json:"request_id"`
	// KeyLabel names the key as the Keys page does ("" once it is deleted).
	KeyLabel string `json:"key_label"`
	// Attempts are the routing attempts in order, each {"provider",
	// "model", "outcome": ok|error|skipped, "status", "error",
	// "duration_ms"}, as the relay recorded them.
	Attempts json.RawMessage `json:"attempts"`
}

// generationObject renders g, with its key's name from the key cache.
func (a *API) generationObject(g *store.Generation) GenerationObject {
	o := GenerationObject{
		ID: g.ID, Model: g.Model, ProviderName: g.Provider, UpstreamModel: g.UpstreamModel, CreatedAt: g.CreatedAt.UTC(),
		TokensPrompt: g.TokensPrompt, TokensCompletion: g.TokensCompletion, TokensCached: g.TokensCached, TokensReasoning: g.TokensReasoning,
		TotalCost: g.Cost, UsageEstimated: g.UsageEstimated, Latency: g.Latency.Milliseconds(), TimeToFirst: ms(g.TimeToFirst),
		GenerationTime: ms(g.GenerationTime), Streamed: g.Streamed, Cancelled: g.Cancelled, FinishReason: strOrNil(g.FinishReason),
		Status: g.Status, ErrorCode: strOrNil(g.ErrorCode), Origin: g.Origin, AppTitle: g.AppTitle, APIKeyHash: g.KeyHash,
		AccountID: g.AccountID, RequestID: g.RequestID, Attempts: json.RawMessage("[]"),
	}
	if json.Valid([]byte(g.Attempts)) && g.Attempts != "" {
		o.Attempts = json.RawMessage(g.Attempts)
	}
	if k, ok := a.keys.Lookup(g.KeyHash); ok {
		o.KeyLabel = k.Label
		if k.Name != "" {
			o.KeyLabel = k.Name + " (" + k.Label + ")"
		}
	}
	return o
}

func ms(d time.Duration) *int64 {
	if d <= 0 {
		return nil
	}
	v := d.Milliseconds()
	return &v
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Generation serves GET /generation?id=: to the key that made it, to a
// management key of its account, or to the admin key.
func (a *API) Generation(w http.ResponseWriter, r *http.Request) error {
	k, err := a.self(r)
	if err != nil {
		return err
	}
	id := r.URL.Query().Get("id")
	if id == "" {
		return llm.BadRequest("id", "pass the generation id: GET /generation?id=gen-…")
	}
	g, ok := a.pending.Pending(id)
	if !ok {
		if g, err = a.st.GetGeneration(r.Context(), id); err != nil {
			return notFoundAs(err, "no generation "+id)
		}
	}
	visible := k.Kind == store.KindAdmin || g.KeyHash == k.Hash || (k.Kind == store.KindManagement && g.AccountID == k.AccountID && !a.isAdminKey(g.KeyHash))
	if !visible {
		return llm.NotFound("no generation " + id)
	}
	return writeJSON(w, http.StatusOK, dataOf(a.generationObject(g)))
}

// isAdminKey reports whether hash is an admin key's: what it did is the
// admin's business, not that of the management keys of the account the
// bootstrap admin key is stored in.
func (a *API) isAdminKey(hash string) bool {
	k, ok := a.keys.Lookup(hash)
	return ok && k.Kind == store.KindAdmin
}

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

func randomID(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	for i, c := range buf {
		buf[i] = idAlphabet[int(c)%len(idAlphabet)]
	}
	return string(buf)
}
