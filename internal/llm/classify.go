package llm

import "errors"

// This file is the one classification of an error: given what an attempt
// or a request ended with, Classify says whether the client may retry it,
// whether the relay moves on to the next route, the metric label of a
// failed upstream attempt and the code the ledger keeps. The HTTP status
// and the dialect's envelope come from the Error itself (each client
// dialect renders an *Error). The relay adds only what is its own: how a
// route's health counts the verdict (relay.judge).

// ErrCredential marks, in an Error's cause, an upstream refusing the
// gateway's credential: the operator's problem, counted against the route.
var ErrCredential = errors.New("the upstream refused the gateway's credential")

// The labels of switchyard_upstream_errors_total{kind}: what a failed
// upstream attempt was. Classify picks the first seven; the relay counts
// the last two itself (a broken stream after its first event is answered
// in-stream, and an overrun is not a failure of the attempt).
const (
	FailTimeout      = "timeout"       // a clock of the attempt fired
	FailConnect      = "connect"       // no answer at all
	FailRateLimited  = "rate_limited"  // 429
	FailAuth         = "auth"          // the provider refused the gateway's credential
	FailServerError  = "server_error"  // 5xx
	FailClientError  = "client_error"  // another 4xx
	FailBadResponse  = "bad_response"  // a 2xx that could not be relayed
	FailStream       = "stream"        // a stream that broke after its first event
	FailUsageOverrun = "usage_overrun" // more output than the request allowed
	FailOther        = "other"
)

// Class is what an error means; the zero Class is success.
type Class struct {
	// Err is the error as the client sees it (AsError); nil for success.
	Err *Error
	// Retryable: the client may send the request again (5xx, 429); the
	// gateway tells SDKs not to for anything else (X-Should-Retry).
	Retryable bool
	// Failover: the relay tries the request on its next route (a
	// provider's 429, 502, 503 or 504: connect errors, timeouts, overload,
	// a refused credential). An upstream's own 4xx would fail the same way
	// anywhere and ends the request at once.
	Failover bool
	// Credential: the provider refused the gateway's credential
	// (ErrCredential in the chain), never the client's key.
	Credential bool
	// Metric is the Fail* label of a failed upstream attempt.
	Metric string
	// Code is the ledger's code for the error (LedgerCode).
	Code string
}

// Classify classifies err (nil: success). upstreamStatus is the HTTP
// status the upstream answered, 0 when it answered none (a transport
// failure, or a failure before any upstream call); it decides the metric
// label, since a 2xx that could not be relayed is not the upstream's 5xx.
func Classify(err error, upstreamStatus int) Class {
	if err == nil {
		return Class{}
	}
	e := AsError(err)
	c := Class{Err: e, Retryable: e.Retryable(), Metric: FailOther, Code: LedgerCode(e)}
	if e.Kind == KindProvider {
		switch e.Status {
		case 429, 502, 503, 504:
			c.Failover = true
		}
	}
	switch {
	case errors.Is(e, ErrCredential):
		c.Failover, c.Credential, c.Metric = true, true, FailAuth
	case e.Code == "upstream_timeout":
		c.Metric = FailTimeout
	case upstreamStatus == 429:
		c.Metric = FailRateLimited
	case upstreamStatus >= 500:
		c.Metric = FailServerError
	case upstreamStatus >= 400:
		c.Metric = FailClientError
	case upstreamStatus >= 200 && upstreamStatus < 300:
		c.Metric = FailBadResponse // malformed, or a stream that broke before its first event
	case upstreamStatus == 0 && e.Kind == KindProvider:
		c.Metric = FailConnect
	}
	return c
}

// Retryable reports whether a client may send the request again: a
// server-side failure (5xx) or a rate limit (429). Anything else would
// fail the same way.
func (e *Error) Retryable() bool { return e.Status >= 500 || e.Status == 429 }

// LedgerCode is the error code the ledger keeps for e: its code, else its
// type (an upstream 400 often has "code": null), so that every failed
// generation can be told apart by a code. Codes come from a closed
// vocabulary (ledgerCodes): an upstream's own strings never reach the
// ledger unchecked; any other is "upstream_error".
func LedgerCode(e *Error) string {
	switch {
	case ledgerCodes[e.Code]:
		return e.Code
	case ledgerCodes[e.Type]:
		return e.Type
	case e.Code != "" || e.Type != "":
		return "upstream_error"
	}
	return "error"
}

// ledgerCodes is the closed vocabulary of error codes the ledger keeps:
// the gateway's own, and the upstream codes and types operators filter on
// (OpenAI's, Anthropic's error types, Google's status names).
var ledgerCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range []string{
		// the gateway's own (this package, SPEC §3)
		"invalid_request_error", "invalid_api_key", "insufficient_quota", "key_disabled", "key_expired", "model_not_allowed",
		"model_not_found", "not_found", "request_too_large", "rate_limit_exceeded", "upstream_error", "upstream_timeout",
		"no_available_provider", "internal_error", "server_error", "permission_error", "rate_limit_error", "error",
		"request_timeout", "ledger_unavailable",
		// OpenAI
		"context_length_exceeded", "invalid_value", "invalid_type", "unsupported_parameter", "unsupported_value",
		"missing_required_parameter", "string_above_max_length", "content_filter", "content_policy_violation",
		"model_not_available", "invalid_image", "invalid_image_url", "server_is_overloaded", "engine_overloaded",
		// Anthropic error types
		"authentication_error", "not_found_error", "request_too_large_error", "api_error", "overloaded_error",
		"billing_error", "timeout_error",
		// Google status names
		"INVALID_ARGUMENT", "FAILED_PRECONDITION", "PERMISSION_DENIED", "NOT_FOUND", "RESOURCE_EXHAUSTED",
		"INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNAUTHENTICATED", "CANCELLED",
	} {
		m[c] = true
	}
	return m
}()
