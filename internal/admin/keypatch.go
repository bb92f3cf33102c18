package admin

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchyard-gw/switchyard/internal/audit"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// PatchKey serves PATCH /keys/{hash}: name, disabled, limit, limit_reset,
// expires_at, allowed_models, rate_limits. A field sent as null clears it.
func (a *API) PatchKey(w http.ResponseWriter, r *http.Request, hash string) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	cur, err := a.target(r, caller, hash)
	if err != nil {
		return err
	}
	var req struct {
		Name     *string        `json:"name"`
		Disabled *bool          `json:"disabled"`
		Limit    optionalAmount `json:"limit"`
		// Not pointers: a pointer would read null as absent, and null clears.
		LimitReset    json.RawMessage    `json:"limit_reset"`
		ExpiresAt     json.RawMessage    `json:"expires_at"`
		AllowedModels *[]string          `json:"allowed_models"`
		RateLimits    optionalRateLimits `json:"rate_limits"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	k := *cur
	if req.Name != nil {
		k.Name = *req.Name
	}
	if req.Disabled != nil {
		k.Disabled = *req.Disabled
	}
	if req.Limit.set {
		if req.Limit.value != nil && *req.Limit.value < 0 {
			return llm.BadRequest("limit", "'limit' must be a non-negative amount of USD or null")
		}
		k.Limit = req.Limit.value
	}
	if req.LimitReset != nil {
		var v *string
		if err := json.Unmarshal(req.LimitReset, &v); err != nil {
			return llm.BadRequest("limit_reset", "'limit_reset' must be daily, weekly, monthly or null")
		}
		k.LimitReset = ""
		if v != nil {
			k.LimitReset = *v
		}
		switch k.LimitReset {
		case "", "daily", "weekly", "monthly":
		default:
			return llm.BadRequest("limit_reset", "'limit_reset' must be daily, weekly, monthly or null")
		}
	}
	if req.ExpiresAt != nil {
		var v *time.Time
		if err := json.Unmarshal(req.ExpiresAt, &v); err != nil {
			return llm.BadRequest("expires_at", "'expires_at' must be an RFC 3339 time or null")
		}
		k.ExpiresAt = v
	}
	if req.AllowedModels != nil {
		k.AllowedModels = *req.AllowedModels
	}
	if req.RateLimits.set {
		k.RateLimits = req.RateLimits.value.stored()
	}
	if err := a.st.UpdateKey(r.Context(), &k); err != nil {
		return notFoundAs(err, "no key with hash "+hash)
	}
	a.keys.Put(&k)
	a.notify(r.Context(), "keys")
	audit.Describe(r.Context(), k.Hash, k.AccountID, a.object(cur), a.object(&k))
	return writeJSON(w, http.StatusOK, dataOf(a.object(&k)))
}
