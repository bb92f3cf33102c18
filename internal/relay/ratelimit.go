package relay

import (
	"net/http"
	"strconv"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// limit checks a call by key against its key's and account's rate limits,
// charging tokens (the worst case; settled in finish). It writes OpenAI's
// x-ratelimit headers on every answer of a limited key, and returns the
// Permit to settle (nil when nothing limits the key) or a 429.
func (rl *Relay) limit(w http.ResponseWriter, r *http.Request, key *store.Key, requestsOnly bool, tokens func() int64) (*ratelimit.Permit, error) {
	if rl.RateLimits == nil {
		return nil, nil
	}
	subs := rl.RateLimits.For(key)
	if requestsOnly {
		subs = subs.RequestsOnly()
	}
	if !subs.Limited() {
		return nil, nil
	}
	var n int64
	if !requestsOnly {
		n = tokens()
	}
	d, p := rl.RateLimits.Take(r.Context(), subs, n)
	setRateHeaders(w.Header(), d)
	if !d.Allowed {
		return nil, rateLimitError(key, d)
	}
	return p, nil
}

// setRateHeaders writes OpenAI's x-ratelimit-{limit,remaining,reset}-
// {requests,tokens} for each limited dimension (none for concurrency, for
// which OpenAI has no header).
func setRateHeaders(h http.Header, d ratelimit.Decision) {
	if s := d.Requests; s.Limit > 0 {
		h.Set("X-Ratelimit-Limit-Requests", strconv.FormatInt(s.Limit, 10))
		h.Set("X-Ratelimit-Remaining-Requests", strconv.FormatInt(s.Remaining, 10))
		h.Set("X-Ratelimit-Reset-Requests", resetString(s.Reset))
	}
	if s := d.Tokens; s.Limit > 0 {
		h.Set("X-Ratelimit-Limit-Tokens", strconv.FormatInt(s.Limit, 10))
		h.Set("X-Ratelimit-Remaining-Tokens", strconv.FormatInt(s.Remaining, 10))
		h.Set("X-Ratelimit-Reset-Tokens", resetString(s.Reset))
	}
}

// resetString formats a reset as OpenAI does ("1s", "6m0s", "20ms"):
// Go's duration syntax, rounded up to the millisecond.
func resetString(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return ((d + time.Millisecond - 1) / time.Millisecond * time.Millisecond).String()
}

// rateLimitError is the 429 for a refusal, naming the limit that refused
// and when to retry (Retry-After: whole seconds, rounded up, at least 1).
func rateLimitError(k *store.Key, d ratelimit.Decision) *llm.Error {
	secs := max(int64((d.RetryAfter+time.Second-1)/time.Second), 1)
	who := "key " + k.Label
	if d.Scope == ratelimit.ScopeAccount {
		who = "account " + k.AccountID
	}
	var what string
	switch d.Limit {
	case ratelimit.LimitRequests:
		what = strconv.FormatInt(d.LimitValue, 10) + " requests per minute"
	case ratelimit.LimitTokens:
		what = strconv.FormatInt(d.LimitValue, 10) + " tokens per minute"
	default:
		what = strconv.FormatInt(d.LimitValue, 10) + " requests at a time"
	}
	return llm.RateLimited("Rate limit reached for "+who+": "+what+". Try again in "+strconv.FormatInt(secs, 10)+"s.", strconv.FormatInt(secs, 10))
}
