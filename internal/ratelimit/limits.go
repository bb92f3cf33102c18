package ratelimit

import (
	"math"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// Window is the period of the request and token limits.
const Window = time.Minute

// MaxLimit bounds every limit: larger values are refused by the API, which
// keeps the limiter's arithmetic (cost × interval in nanoseconds) far from
// overflow.
const MaxLimit = 1_000_000_000

// Limits are one subject's limits; a zero field is no limit.
type Limits = store.RateLimits

// Scopes of a subject.
const (
	ScopeKey     = "key"
	ScopeAccount = "account"
)

// Dimensions a request can be refused on.
const (
	LimitRequests    = "requests"
	LimitTokens      = "tokens"
	LimitConcurrency = "concurrency"
)

// Subject is one limited party: a key or an account.
type Subject struct {
	ID     string // unique among subjects: "k:" + key hash, "a:" + account id
	Scope  string // ScopeKey or ScopeAccount
	Limits Limits
}

// Subjects are the parties a request is limited by, in order: its key,
// then its account. Only subjects with a limit are kept.
type Subjects struct {
	s [2]Subject
	n int
}

// Add appends a subject when it has a limit.
func (s *Subjects) Add(sub Subject) {
	if sub.Limits.Normalize() == nil || s.n == len(s.s) {
		return
	}
	s.s[s.n] = sub
	s.n++
}

// Limited reports whether any subject has a limit.
func (s *Subjects) Limited() bool { return s.n > 0 }

// list is the subjects as a slice (aliasing s).
func (s *Subjects) list() []Subject { return s.s[:s.n] }

// RequestsOnly keeps only the request limits: for calls that generate
// nothing (token counting), which no token or concurrency limit concerns.
func (s Subjects) RequestsOnly() Subjects {
	var out Subjects
	for _, sub := range s.list() {
		sub.Limits = Limits{RPM: sub.Limits.RPM}
		out.Add(sub)
	}
	return out
}

// Status is one dimension's state as OpenAI's x-ratelimit headers show it.
// Limit 0: the dimension is not limited.
type Status struct {
	Limit     int64
	Remaining int64
	// Reset is how long until the dimension is back to its full allowance.
	Reset time.Duration
}

// Decision is the outcome of a check.
type Decision struct {
	Allowed bool
	// RetryAfter is, for a refusal, how long until the request could pass.
	RetryAfter time.Duration
	// Limit and Scope name what refused (LimitRequests, ScopeKey…).
	Limit, Scope string
	// LimitValue is the refusing limit's value.
	LimitValue int64
	// Requests and Tokens are the most constrained subject's state of each
	// dimension after the decision.
	Requests, Tokens Status
}

// concurrencyRetry is the Retry-After of a refusal for requests in flight:
// when one ends is unknowable, and a second is a polite interval.
const concurrencyRetry = time.Second

// interval is the time one unit of a limit stands for, in nanoseconds.
func interval(limit int64) int64 { return int64(Window) / limit }

// status is a dimension's Status given how far ahead of now its TAT is.
func status(limit int64, ahead float64) Status {
	if ahead < 0 {
		ahead = 0
	}
	t := float64(Window) / float64(limit)
	rem := int64(math.Floor((float64(Window) - ahead) / t))
	return Status{Limit: limit, Remaining: min(max(rem, 0), limit), Reset: time.Duration(math.Ceil(ahead))}
}

// tighter reports whether a is more constraining than b (fewer remaining;
// on a tie, longer to reset). An unlimited b is never tighter.
func tighter(a, b Status) bool {
	if b.Limit == 0 {
		return true
	}
	if a.Remaining != b.Remaining {
		return a.Remaining < b.Remaining
	}
	return a.Reset > b.Reset
}

// subjectState is what a backend knows of one subject after a check: how
// far ahead of now each TAT is (nanoseconds), and requests in flight.
type subjectState struct {
	reqAhead, tokAhead float64
}

// decision assembles the Decision from per-subject states.
func decision(subs []Subject, st []subjectState, d Decision) Decision {
	for i, sub := range subs {
		if l := sub.Limits.RPM; l > 0 {
			if s := status(l, st[i].reqAhead); tighter(s, d.Requests) {
				d.Requests = s
			}
		}
		if l := sub.Limits.TPM; l > 0 {
			if s := status(l, st[i].tokAhead); tighter(s, d.Tokens) {
				d.Tokens = s
			}
		}
	}
	return d
}

// charged is what admitting a request of tokens charges a subject with
// limit tpm: at most one window's allowance.
func charged(tokens, tpm int64) int64 { return min(max(tokens, 0), tpm) }

// correction is the change to a subject's tokens once the request used
// actual of the reserved tokens, bounded to two windows' allowance.
func correction(reserved, actual, tpm int64) int64 {
	d := max(actual, 0) - charged(reserved, tpm)
	return min(max(d, -2*tpm), 2*tpm)
}
