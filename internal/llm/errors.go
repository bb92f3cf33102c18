package llm

import (
	"errors"
	"fmt"
)

// Kind is the fault domain of an error: whose mistake it was.
type Kind uint8

const (
	// KindCaller: the client sent something wrong (bad JSON, bad key, unknown model).
	KindCaller Kind = iota + 1
	// KindPolicy: the request is well-formed but not allowed (quota, disabled key).
	KindPolicy
	// KindProvider: the upstream failed or refused.
	KindProvider
	// KindGateway: the gateway itself failed.
	KindGateway
)

func (k Kind) String() string {
	switch k {
	case KindCaller:
		return "caller"
	case KindPolicy:
		return "policy"
	case KindProvider:
		return "provider"
	case KindGateway:
		return "gateway"
	}
	return "unknown"
}

// Error is the one error type that reaches a client. Message is safe to show;
// Cause is only logged.
type Error struct {
	Kind    Kind
	Status  int    // HTTP status
	Type    string // OpenAI "type"
	Code    string // OpenAI "code"
	Param   string // OpenAI "param"; "" renders as null
	Message string
	// RetryAfter, when non-empty, is sent as the Retry-After header.
	RetryAfter string
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code + ": " + e.Message + ": " + e.Cause.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// AsError finds an *Error in err's chain, or wraps err as an internal gateway error.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindGateway, Status: 500, Type: "server_error",
		Code: "internal_error", Message: "internal gateway error", Cause: err}
}

// Constructors for the closed vocabulary of SPEC §3.

// BadRequest is a 400 invalid_request_error naming param (may be "").
func BadRequest(param, format string, args ...any) *Error {
	return &Error{Kind: KindCaller, Status: 400, Type: "invalid_request_error", Code: "invalid_request_error",
		Param: param, Message: fmt.Sprintf(format, args...)}
}

// InvalidAPIKey is a 401.
func InvalidAPIKey(msg string) *Error {
	return &Error{Kind: KindCaller, Status: 401, Type: "invalid_request_error", Code: "invalid_api_key", Message: msg}
}

// Forbidden is a 403 with one of key_disabled, model_not_allowed, key_expired, forbidden.
func Forbidden(code, msg string) *Error {
	return &Error{Kind: KindPolicy, Status: 403, Type: "permission_error", Code: code, Message: msg}
}

// InsufficientQuota is a 402.
func InsufficientQuota(msg string) *Error {
	return &Error{Kind: KindPolicy, Status: 402, Type: "insufficient_quota", Code: "insufficient_quota", Message: msg}
}

// RateLimited is a 429 rate_limit_exceeded: a key's or an account's own
// rate limit, with the Retry-After (seconds) when it may pass.
func RateLimited(msg, retryAfter string) *Error {
	return &Error{Kind: KindPolicy, Status: 429, Type: "rate_limit_error", Code: "rate_limit_exceeded", Message: msg, RetryAfter: retryAfter}
}

// ModelNotFound is a 404 model_not_found.
func ModelNotFound(msg string) *Error {
	return &Error{Kind: KindCaller, Status: 404, Type: "invalid_request_error", Code: "model_not_found", Param: "model", Message: msg}
}

// NotFound is a 404 for an unknown route or object.
func NotFound(msg string) *Error {
	return &Error{Kind: KindCaller, Status: 404, Type: "invalid_request_error", Code: "not_found", Message: msg}
}

// TooLarge is a 413 request_too_large.
func TooLarge(limit int64) *Error {
	return &Error{Kind: KindCaller, Status: 413, Type: "invalid_request_error", Code: "request_too_large",
		Message: fmt.Sprintf("request body is larger than the gateway's limit of %d bytes (server.max_body_bytes)", limit)}
}

// UpstreamError is a 502 that keeps the upstream's message.
func UpstreamError(msg string, cause error) *Error {
	return &Error{Kind: KindProvider, Status: 502, Type: "upstream_error", Code: "upstream_error", Message: msg, Cause: cause}
}

// UpstreamTimeout is a 504.
func UpstreamTimeout(msg string, cause error) *Error {
	return &Error{Kind: KindProvider, Status: 504, Type: "upstream_error", Code: "upstream_timeout", Message: msg, Cause: cause}
}

// LedgerUnavailable is a 503 for a metered request while its charge could
// not be recorded anywhere durable (billing fails closed).
func LedgerUnavailable(msg string) *Error {
	return &Error{Kind: KindGateway, Status: 503, Type: "server_error", Code: "ledger_unavailable", Message: msg, RetryAfter: "5"}
}

// NoAvailableProvider is a 503.
func NoAvailableProvider(msg string) *Error {
	return &Error{Kind: KindProvider, Status: 503, Type: "upstream_error", Code: "no_available_provider", Message: msg}
}
