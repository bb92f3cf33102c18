package relay

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/api/anthropic"
	"github.com/switchyard-gw/switchyard/internal/api/gemini"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/routing"
)

func TestOnlyCredentialRefusalsCountAgainstARoute(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		decoded    *llm.Error // as the upstream's dialect decodes its body
		wantAuth   bool
		wantStatus int // what the client sees
	}{
		{name: "OpenAI 401 invalid_api_key", status: 401, decoded: decodeOpenAIError(401, []byte(`{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)),
			wantAuth: true, wantStatus: 502},
		{name: "OpenAI-format 403 invalid_api_key", status: 403, decoded: decodeOpenAIError(403, []byte(`{"error":{"message":"key revoked","code":"invalid_api_key"}}`)),
			wantAuth: true, wantStatus: 502},
		{name: "OpenRouter 403 moderation", status: 403, decoded: decodeOpenAIError(403, []byte(`{"error":{"code":403,"message":"Your chosen model requires moderation and your input was flagged","metadata":{"reasons":["violence"]}}}`)),
			wantAuth: false, wantStatus: 403},
		{name: "OpenAI 403 unsupported region", status: 403, decoded: decodeOpenAIError(403, []byte(`{"error":{"message":"Country, region, or territory not supported","type":"request_forbidden","code":"unsupported_country_region_territory"}}`)),
			wantAuth: false, wantStatus: 403},
		{name: "Anthropic 401 authentication_error", status: 401, decoded: anthropic.DecodeError(401, []byte(`{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)),
			wantAuth: true, wantStatus: 502},
		{name: "Anthropic 403 permission_error", status: 403, decoded: anthropic.DecodeError(403, []byte(`{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}`)),
			wantAuth: true, wantStatus: 502},
		{name: "Gemini 400 API_KEY_INVALID", status: 400, decoded: gemini.DecodeError(400, []byte(`{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}`)),
			wantAuth: true, wantStatus: 502},
		{name: "Gemini 400 bad argument", status: 400, decoded: gemini.DecodeError(400, []byte(`{"error":{"code":400,"message":"bad temperature","status":"INVALID_ARGUMENT"}}`)),
			wantAuth: false, wantStatus: 400},
	}
	p := &provider.Provider{Name: "up"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := classifyStatus(p, tt.status, "", tt.decoded)
			v := judge(e, tt.status)
			if got := v.health == routing.AuthFailure; got != tt.wantAuth {
				t.Errorf("AuthFailure = %v, want %v (%v)", got, tt.wantAuth, e)
			}
			if e.Status != tt.wantStatus {
				t.Errorf("client status %d, want %d", e.Status, tt.wantStatus)
			}
			if !tt.wantAuth && v.failover {
				t.Errorf("a 4xx about the request is retried on another route: %v", e)
			}
		})
	}
}
