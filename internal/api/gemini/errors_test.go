package gemini

import (
	"encoding/json"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestDecodeErrorClassifiesGeminiErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantKind   llm.Kind
		wantStatus int
		wantCode   string
		wantRetry  string
	}{
		{name: "invalid argument is the caller's 400", status: 400,
			body:     `{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"foo\"","status":"INVALID_ARGUMENT"}}`,
			wantKind: llm.KindProvider, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "failed precondition is a 400", status: 400,
			body:     `{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`,
			wantKind: llm.KindProvider, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "invalid API key is the gateway's credential", status: 400,
			body:     `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`,
			wantKind: llm.KindProvider, wantStatus: 502, wantCode: "upstream_error"},
		{name: "permission denied is the gateway's credential", status: 403,
			body:     `{"error":{"code":403,"message":"Permission denied","status":"PERMISSION_DENIED"}}`,
			wantKind: llm.KindProvider, wantStatus: 502, wantCode: "upstream_error"},
		{name: "not found", status: 404,
			body:     `{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta","status":"NOT_FOUND"}}`,
			wantKind: llm.KindProvider, wantStatus: 404, wantCode: "not_found"},
		{name: "resource exhausted is a 429 with retry delay", status: 429,
			body:     `{"error":{"code":429,"message":"You exceeded your current quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12.5s"}]}}`,
			wantKind: llm.KindProvider, wantStatus: 429, wantCode: "rate_limit_exceeded", wantRetry: "13"},
		{name: "internal is a 502", status: 500,
			body:     `{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`,
			wantKind: llm.KindProvider, wantStatus: 502, wantCode: "upstream_error"},
		{name: "unavailable is overloaded", status: 503,
			body:     `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`,
			wantKind: llm.KindProvider, wantStatus: 503, wantCode: "overloaded"},
		{name: "deadline exceeded is a 504", status: 504,
			body:     `{"error":{"code":504,"message":"Deadline exceeded","status":"DEADLINE_EXCEEDED"}}`,
			wantKind: llm.KindProvider, wantStatus: 504, wantCode: "upstream_timeout"},
		{name: "body that is not JSON", status: 502, body: `<html>bad gateway</html>`,
			wantKind: llm.KindProvider, wantStatus: 502, wantCode: "upstream_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := DecodeError(tt.status, []byte(tt.body))
			if e.Kind != tt.wantKind || e.Status != tt.wantStatus || e.Code != tt.wantCode || e.RetryAfter != tt.wantRetry {
				t.Errorf("got kind=%v status=%d code=%q retry=%q, want kind=%v status=%d code=%q retry=%q (%s)",
					e.Kind, e.Status, e.Code, e.RetryAfter, tt.wantKind, tt.wantStatus, tt.wantCode, tt.wantRetry, e.Message)
			}
			if e.Message == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestEncodeErrorUsesGoogleEnvelope(t *testing.T) {
	tests := []struct {
		name       string
		err        *llm.Error
		wantStatus string
	}{
		{name: "bad request", err: llm.BadRequest("contents", "contents must be a non-empty array"), wantStatus: "INVALID_ARGUMENT"},
		{name: "bad key", err: llm.InvalidAPIKey("bad key"), wantStatus: "UNAUTHENTICATED"},
		{name: "quota", err: llm.InsufficientQuota("no credit"), wantStatus: "RESOURCE_EXHAUSTED"},
		{name: "model not found", err: llm.ModelNotFound("no such model"), wantStatus: "NOT_FOUND"},
		{name: "upstream", err: llm.UpstreamError("boom \x00 \a", nil), wantStatus: "UNAVAILABLE"},
		{name: "timeout", err: llm.UpstreamTimeout("slow", nil), wantStatus: "DEADLINE_EXCEEDED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := EncodeError(tt.err)
			var env struct {
				Error struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
					Status  string `json:"status"`
				} `json:"error"`
			}
			if err := json.Unmarshal(b, &env); err != nil {
				t.Fatalf("not JSON: %s: %v", b, err)
			}
			if env.Error.Code != tt.err.Status || env.Error.Message != tt.err.Message || env.Error.Status != tt.wantStatus {
				t.Errorf("got %s", b)
			}
			if back := DecodeError(tt.err.Status, b); back.Message == "" {
				t.Errorf("DecodeError lost the message of %s", b)
			}
		})
	}
}

func TestPathNamesTheMethod(t *testing.T) {
	tests := []struct {
		name   string
		stream bool
		want   string
	}{
		{name: "unary", want: "/v1beta/models/gemini-2.5-flash:generateContent"},
		{name: "stream uses SSE", stream: true, want: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Path("gemini-2.5-flash", tt.stream); got != tt.want {
				t.Errorf("Path = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeRequestAcceptsSnakeCaseFieldNames(t *testing.T) {
	body := `{"system_instruction":{"parts":[{"text":"sys"}]},
	 "contents":[{"role":"user","parts":[{"inline_data":{"mime_type":"image/png","data":"AAAA"}},{"text":"hi"}]},
	  {"role":"model","parts":[{"function_call":{"name":"f","args":{"snake_arg":1}}}]},
	  {"role":"user","parts":[{"function_response":{"name":"f","response":{"snake_key":"v"}}}]}],
	 "tools":[{"function_declarations":[{"name":"f","parameters":{"type":"OBJECT","properties":{"snake_prop":{"type":"STRING","max_length":3}}}}]}],
	 "tool_config":{"function_calling_config":{"mode":"ANY","allowed_function_names":["f"]}},
	 "generation_config":{"max_output_tokens":10,"thinking_config":{"thinking_budget":0}}}`
	r, err := DecodeRequest("m", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.System) != 1 || r.MaxTokens != 10 || r.Reasoning == nil || !r.Reasoning.Disabled {
		t.Errorf("config lost: %+v", r)
	}
	if r.Messages[0].Parts[0].MediaType != "image/png" {
		t.Errorf("inline_data lost: %+v", r.Messages[0])
	}
	if got := r.Messages[1].ToolCalls[0].Arguments; got != `{"snake_arg":1}` {
		t.Errorf("args rewritten: %s", got)
	}
	if got := r.Messages[2].Parts[0].Text; got != `{"snake_key":"v"}` {
		t.Errorf("response rewritten: %s", got)
	}
	if got := string(r.Tools[0].Parameters); got != `{"properties":{"snake_prop":{"maxLength":3,"type":"string"}},"type":"object"}` {
		t.Errorf("parameters: %s", got)
	}
	if r.ToolChoice == nil || r.ToolChoice.Mode != "tool" || r.ToolChoice.Name != "f" {
		t.Errorf("tool choice: %+v", r.ToolChoice)
	}
}
