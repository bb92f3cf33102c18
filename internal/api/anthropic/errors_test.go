package anthropic

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestDecodeErrorClassifiesAnthropicErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantKind   llm.Kind
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{name: "invalid request is the caller's", status: 400, body: `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_1"}`,
			wantKind: llm.KindCaller, wantStatus: 400, wantCode: "invalid_request_error", wantMsg: "max_tokens: Field required"},
		{name: "bad key is the gateway's credential", status: 401, body: `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`,
			wantKind: llm.KindProvider, wantStatus: 502, wantCode: "upstream_error", wantMsg: "the upstream provider rejected the gateway's credentials: invalid x-api-key"},
		{name: "permission is the gateway's credential", status: 403, body: `{"type":"error","error":{"type":"permission_error","message":"no access"}}`,
			wantKind: llm.KindProvider, wantStatus: 502, wantCode: "upstream_error", wantMsg: "the upstream provider rejected the gateway's credentials: no access"},
		{name: "not found", status: 404, body: `{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}`,
			wantKind: llm.KindCaller, wantStatus: 404, wantCode: "not_found", wantMsg: "model: claude-x"},
		{name: "too large", status: 413, body: `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`,
			wantKind: llm.KindCaller, wantStatus: 413, wantCode: "request_too_large", wantMsg: "Request exceeds the maximum allowed number of bytes."},
		{name: "rate limited", status: 429, body: `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`,
			wantKind: llm.KindProvider, wantStatus: 429, wantCode: "rate_limit_exceeded", wantMsg: "slow down"},
		{name: "api error", status: 500, body: `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`,
			wantKind: llm.KindProvider, wantStatus: 502, wantCode: "upstream_error", wantMsg: "Internal server error"},
		{name: "overloaded", status: 529, body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			wantKind: llm.KindProvider, wantStatus: 503, wantCode: "overloaded", wantMsg: "Overloaded"},
		{name: "unreadable body keeps the status", status: 502, body: `<html>bad gateway</html>`,
			wantKind: llm.KindProvider, wantStatus: 502, wantCode: "upstream_error", wantMsg: "Anthropic returned HTTP 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := DecodeError(tt.status, []byte(tt.body))
			if e.Kind != tt.wantKind || e.Status != tt.wantStatus || e.Code != tt.wantCode || e.Message != tt.wantMsg {
				t.Errorf("got kind=%v status=%d code=%q msg=%q", e.Kind, e.Status, e.Code, e.Message)
			}
		})
	}
}

func TestEncodeErrorUsesAnthropicTypes(t *testing.T) {
	tests := []struct {
		status   int
		wantType string
	}{
		{400, "invalid_request_error"}, {401, "authentication_error"}, {402, "billing_error"},
		{403, "permission_error"}, {404, "not_found_error"}, {409, "invalid_request_error"},
		{413, "request_too_large"}, {429, "rate_limit_error"}, {500, "api_error"},
		{502, "api_error"}, {503, "overloaded_error"}, {504, "api_error"}, {529, "overloaded_error"},
	}
	for _, tt := range tests {
		t.Run(tt.wantType, func(t *testing.T) {
			got := string(EncodeError(&llm.Error{Status: tt.status, Message: `say "no"`}))
			want := `{"type":"error","error":{"type":"` + tt.wantType + `","message":"say \"no\""}}`
			if got != want {
				t.Errorf("status %d: got %s, want %s", tt.status, got, want)
			}
		})
	}
}
