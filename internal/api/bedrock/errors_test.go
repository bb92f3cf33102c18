package bedrock

import (
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// TestDecodeError: each AWS error is classified by its status, or by its
// type where the status is absent (a stream's exception): a refused
// credential is the gateway's 502, throttling a 429, a bad request keeps
// its 400 and message.
func TestDecodeError(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		typ, body    string
		wantStatus   int
		wantCode     string
		wantInMsg    string
		wantCredFail bool
	}{
		{"validation", 400, "", `{"message":"Malformed input request: #: extraneous key [foo]"}`, 400, "invalid_request_error", "Malformed input", false},
		{"validation typed in body", 400, "", `{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}`, 400, "ValidationException", "bad", false},
		{"throttling", 429, "", `{"message":"Too many requests"}`, 429, "rate_limit_exceeded", "Too many requests", false},
		{"wrong signature", 403, "", `{"message":"The request signature we calculated does not match the signature you provided."}`, 502, "upstream_error", "credentials", true},
		{"access denied", 403, "", `{"Message":"You don't have access to the model with the specified model ID."}`, 502, "upstream_error", "IAM", true},
		{"not found", 404, "", `{"message":"The provided model identifier is invalid."}`, 404, "not_found", "identifier", false},
		{"model timeout", 408, "", `{"message":"Model has timed out"}`, 504, "upstream_timeout", "timed out", false},
		{"unavailable", 503, "", `{"message":"Service unavailable"}`, 503, "overloaded", "unavailable", false},
		{"server error", 500, "", `{"message":"boom"}`, 502, "upstream_error", "boom", false},
		{"stream throttling", 0, "throttlingException", `{"message":"slow"}`, 429, "rate_limit_exceeded", "slow", false},
		{"stream validation", 0, "validationException", `{"message":"too long"}`, 400, "ValidationException", "too long", false},
		{"stream model error", 0, "modelStreamErrorException", `{"message":"model broke"}`, 502, "upstream_error", "model broke", false},
		{"stream unknown", 0, "somethingNewException", `not json`, 502, "upstream_error", "HTTP 500", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := decodeError(tt.status, tt.typ, []byte(tt.body))
			if e.Status != tt.wantStatus || e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantInMsg) {
				t.Fatalf("got %d %s %q, want %d %s containing %q", e.Status, e.Code, e.Message, tt.wantStatus, tt.wantCode, tt.wantInMsg)
			}
			if cred := e.Cause != nil && e.Kind == llm.KindProvider && e.Status == 502 && strings.Contains(e.Message, "credentials"); cred != tt.wantCredFail {
				t.Errorf("credential failure = %v, want %v", cred, tt.wantCredFail)
			}
		})
	}
	if e := decodeError(0, "validationException", []byte(`{"message":"`+strings.Repeat("é", 5000)+`"}`)); len(e.Message) > maxMessage+64 || !strings.HasSuffix(e.Message, "é…") {
		t.Errorf("a long message is not clipped at a character: %d bytes", len(e.Message))
	}
	if !isException("throttlingException") || !isException("InternalFailure") || isException("messageStop") {
		t.Error("isException misjudges a name")
	}
}
