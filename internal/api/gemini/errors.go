package gemini

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// DecodeError turns a Gemini error answer into the gateway's error.
// Gemini's envelope is {"error":{"code","message","status","details"}}
// (https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes).
func DecodeError(status int, body []byte) *llm.Error {
	e := gjson.GetBytes(body, "error")
	msg := e.Get("message").String()
	grpc := e.Get("status").String()
	if status == 0 {
		status = int(e.Get("code").Int())
	}
	if msg == "" {
		msg = "HTTP " + strconv.Itoa(status) // the codec imports no net/http (STYLE §11)
	}
	// An invalid key is a 400 INVALID_ARGUMENT with reason API_KEY_INVALID,
	// not a 401: it is still the gateway's credential that is wrong.
	keyInvalid := false
	for _, d := range e.Get("details").Array() {
		if r := d.Get("reason").String(); r == "API_KEY_INVALID" || r == "API_KEY_EXPIRED" {
			keyInvalid = true
		}
	}
	switch {
	case keyInvalid || status == 401 || status == 403 || grpc == "UNAUTHENTICATED" || grpc == "PERMISSION_DENIED":
		return llm.UpstreamError("Gemini rejected the gateway's credentials (HTTP "+strconv.Itoa(status)+"); the operator must fix its api_key", errors.New(msg))
	case status == 429 || grpc == "RESOURCE_EXHAUSTED":
		return &llm.Error{Kind: llm.KindProvider, Status: 429, Type: "rate_limit_error", Code: "rate_limit_exceeded",
			Message: "Gemini is rate limiting: " + msg, RetryAfter: retryAfter(e)}
	case status == 404 || grpc == "NOT_FOUND":
		return &llm.Error{Kind: llm.KindProvider, Status: 404, Type: "invalid_request_error", Code: "not_found", Message: msg}
	case status == 503 || grpc == "UNAVAILABLE":
		return &llm.Error{Kind: llm.KindProvider, Status: 503, Type: "upstream_error", Code: "overloaded", Message: "Gemini is overloaded: " + msg}
	case status == 504 || grpc == "DEADLINE_EXCEEDED":
		return llm.UpstreamTimeout("Gemini timed out: "+msg, nil)
	case status >= 400 && status < 500:
		// INVALID_ARGUMENT, FAILED_PRECONDITION (e.g. the free tier is not
		// available in the caller's region) and other 4xx keep their status.
		return &llm.Error{Kind: llm.KindProvider, Status: status, Type: "invalid_request_error", Code: "invalid_request_error", Message: msg}
	}
	return llm.UpstreamError("Gemini failed (HTTP "+strconv.Itoa(status)+"): "+msg, nil)
}

// retryAfter reads google.rpc.RetryInfo's retryDelay ("31s", "1.5s") as
// whole seconds for the Retry-After header.
func retryAfter(e gjson.Result) string {
	for _, d := range e.Get("details").Array() {
		if !strings.HasSuffix(d.Get("@type").String(), "google.rpc.RetryInfo") {
			continue
		}
		dur, err := time.ParseDuration(d.Get("retryDelay").String())
		if err != nil || dur <= 0 {
			return ""
		}
		return strconv.Itoa(int(math.Ceil(dur.Seconds())))
	}
	return ""
}

// grpcStatus names an HTTP status the way Google's APIs do
// (google.rpc.Code). 402 (the gateway's quota) is RESOURCE_EXHAUSTED like
// Google's own quota errors; 502 is UNAVAILABLE so SDKs treat it as
// retryable.
func grpcStatus(status int) string {
	switch status {
	case 400, 413:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 402, 429:
		return "RESOURCE_EXHAUSTED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ABORTED"
	case 499:
		return "CANCELLED"
	case 500:
		return "INTERNAL"
	case 501:
		return "UNIMPLEMENTED"
	case 502, 503:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 400 && status < 500 {
		return "FAILED_PRECONDITION"
	}
	return "UNKNOWN"
}

// EncodeError renders e in Google's error envelope.
func EncodeError(e *llm.Error) []byte {
	b := append([]byte(nil), `{"error":{"code":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"message":`...)
	msg, _ := json.Marshal(e.Message) // strconv.Quote's \x escapes are not JSON
	b = append(b, msg...)
	b = append(b, `,"status":"`...)
	b = append(b, grpcStatus(e.Status)...)
	b = append(b, '"')
	return append(b, "}}"...)
}
