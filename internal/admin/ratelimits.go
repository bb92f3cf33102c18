package admin

import (
	"bytes"
	"encoding/json"
	"math"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// RateLimits is "rate_limits" of a key or an account, as the API reads and
// shows it: {"rpm": 60, "tpm": 100000, "concurrency": 4}; a field that is
// 0, null or absent is no limit on that dimension.
type RateLimits struct {
	RPM         int64 `json:"rpm,omitempty"`
	TPM         int64 `json:"tpm,omitempty"`
	Concurrency int64 `json:"concurrency,omitempty"`
}

// UnmarshalJSON reads the object strictly: only the three fields, each a
// whole number from 0 to ratelimit.MaxLimit, or null.
func (r *RateLimits) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return llm.BadRequest("rate_limits", `'rate_limits' must be an object such as {"rpm": 60, "tpm": 100000, "concurrency": 4}, or null`)
	}
	*r = RateLimits{}
	for name, v := range raw {
		var dst *int64
		switch name {
		case "rpm":
			dst = &r.RPM
		case "tpm":
			dst = &r.TPM
		case "concurrency":
			dst = &r.Concurrency
		default:
			return llm.BadRequest("rate_limits."+name, "'rate_limits' has no field '%s'; it takes rpm, tpm and concurrency", name)
		}
		if bytes.Equal(v, []byte("null")) {
			continue
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil || f != math.Trunc(f) || f < 0 || f > ratelimit.MaxLimit {
			return llm.BadRequest("rate_limits."+name, "'rate_limits.%s' must be a whole number from 0 (no limit) to %d, or null", name, ratelimit.MaxLimit)
		}
		*dst = int64(f)
	}
	return nil
}

// check validates limits that did not come through UnmarshalJSON (the CLI).
func (r *RateLimits) check() error {
	if r == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"rpm", r.RPM}, {"tpm", r.TPM}, {"concurrency", r.Concurrency}} {
		if f.v < 0 || f.v > ratelimit.MaxLimit {
			return llm.BadRequest("rate_limits."+f.name, "'rate_limits.%s' must be a whole number from 0 (no limit) to %d", f.name, ratelimit.MaxLimit)
		}
	}
	return nil
}

// stored is r as the store keeps it: nil when it limits nothing.
func (r *RateLimits) stored() *store.RateLimits {
	if r == nil {
		return nil
	}
	return (&store.RateLimits{RPM: r.RPM, TPM: r.TPM, Concurrency: r.Concurrency}).Normalize()
}

// rateLimitsOf shows stored limits; nil (JSON null) for none.
func rateLimitsOf(s *store.RateLimits) *RateLimits {
	if s.Normalize() == nil {
		return nil
	}
	return &RateLimits{RPM: s.RPM, TPM: s.TPM, Concurrency: s.Concurrency}
}

// optionalRateLimits distinguishes an absent "rate_limits" (unchanged) from
// null (cleared) in a PATCH.
type optionalRateLimits struct {
	set   bool
	value *RateLimits
}

func (o *optionalRateLimits) UnmarshalJSON(b []byte) error {
	o.set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.value = nil
		return nil
	}
	o.value = &RateLimits{}
	return o.value.UnmarshalJSON(b)
}

// RateLimitObject is GET /key's "rate_limit": OpenRouter's requests and
// interval (-1: no limit), then this gateway's other limits, each the
// tighter of the key's and its account's (-1: none), and both sources.
type RateLimitObject struct {
	Requests    int64       `json:"requests"`
	Interval    string      `json:"interval"`
	Tokens      int64       `json:"tokens"`
	Concurrency int64       `json:"concurrency"`
	Key         *RateLimits `json:"key"`
	Account     *RateLimits `json:"account"`
}

func effectiveRateLimit(key, account *store.RateLimits) RateLimitObject {
	tighter := func(f func(*store.RateLimits) int64) int64 {
		out := int64(-1)
		for _, r := range []*store.RateLimits{key, account} {
			if r == nil {
				continue
			}
			if v := f(r); v > 0 && (out < 0 || v < out) {
				out = v
			}
		}
		return out
	}
	return RateLimitObject{
		Requests:    tighter(func(r *store.RateLimits) int64 { return r.RPM }),
		Interval:    "1m",
		Tokens:      tighter(func(r *store.RateLimits) int64 { return r.TPM }),
		Concurrency: tighter(func(r *store.RateLimits) int64 { return r.Concurrency }),
		Key:         rateLimitsOf(key),
		Account:     rateLimitsOf(account),
	}
}
