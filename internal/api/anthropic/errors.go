package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// statusOverloaded is Anthropic's 529 overloaded_error.
const statusOverloaded = 529

type wireError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// DecodeError classifies an Anthropic error response
// ({"type":"error","error":{"type","message"}}), keeping its message.
// 401/403/402 are the gateway's credentials or account, not the client's,
// so they become provider errors (502).
func DecodeError(status int, body []byte) *llm.Error {
	var w wireError
	_ = json.Unmarshal(body, &w) // an unreadable body still has a status
	msg := w.Error.Message
	if msg == "" {
		msg = fmt.Sprintf("Anthropic returned HTTP %d", status)
	}
	var cause error
	if w.Error.Type == "" && len(body) > 0 {
		cause = errors.New("upstream body: " + string(body[:min(len(body), 512)]))
	}
	return classify(status, w.Error.Type, msg, cause)
}

// classify maps an Anthropic status and error type to the gateway's error.
// status 0 (an error event inside a stream) is classified by type alone.
func classify(status int, typ, msg string, cause error) *llm.Error {
	if status == 0 {
		status = typeStatus(typ)
	}
	switch {
	case status == statusOverloaded || typ == "overloaded_error":
		return &llm.Error{Kind: llm.KindProvider, Status: 503, Type: "upstream_error", Code: "overloaded", Message: msg, Cause: cause}
	case status == 401 || status == 403 || status == 402:
		return llm.UpstreamError("the upstream provider rejected the gateway's credentials: "+msg, cause)
	case status == 404:
		return &llm.Error{Kind: llm.KindCaller, Status: 404, Type: "invalid_request_error", Code: "not_found", Message: msg, Cause: cause}
	case status == 413:
		return &llm.Error{Kind: llm.KindCaller, Status: 413, Type: "invalid_request_error", Code: "request_too_large", Message: msg, Cause: cause}
	case status == 429:
		return &llm.Error{Kind: llm.KindProvider, Status: 429, Type: "rate_limit_error", Code: "rate_limit_exceeded", Message: msg, Cause: cause}
	case status == 408 || status == 504:
		return llm.UpstreamTimeout(msg, cause)
	case status >= 400 && status < 500:
		e := llm.BadRequest("", "%s", msg)
		e.Cause = cause
		return e
	}
	return llm.UpstreamError(msg, cause)
}

func typeStatus(typ string) int {
	switch typ {
	case "invalid_request_error":
		return 400
	case "authentication_error":
		return 401
	case "billing_error":
		return 402
	case "permission_error":
		return 403
	case "not_found_error":
		return 404
	case "request_too_large":
		return 413
	case "rate_limit_error":
		return 429
	case "timeout_error":
		return 504
	case "overloaded_error":
		return statusOverloaded
	}
	return 500
}

// errorType is the Anthropic error type for a gateway status.
func errorType(status int) string {
	switch status {
	case 401:
		return "authentication_error"
	case 402:
		return "billing_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 503, statusOverloaded:
		return "overloaded_error"
	}
	if status >= 400 && status < 500 {
		return "invalid_request_error"
	}
	return "api_error"
}

// EncodeError renders e as Anthropic's error envelope for /v1/messages.
func EncodeError(e *llm.Error) []byte {
	return appendErrorEnvelope(nil, e)
}

func appendErrorEnvelope(b []byte, e *llm.Error) []byte {
	b = append(b, `{"type":"error","error":{"type":`...)
	b = appendString(b, errorType(e.Status))
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	return append(b, "}}"...)
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
