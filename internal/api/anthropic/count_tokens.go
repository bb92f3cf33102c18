package anthropic

import (
	"encoding/json"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// POST /v1/messages/count_tokens takes a Messages request without the
// generation fields. On ingress, DecodeRequest reads it (max_tokens is
// optional there).

type wireCountTokensRequest struct {
	Model      string          `json:"model"`
	System     json.RawMessage `json:"system,omitempty"`
	Messages   json.RawMessage `json:"messages"`
	Tools      json.RawMessage `json:"tools,omitempty"`
	ToolChoice json.RawMessage `json:"tool_choice,omitempty"`
	Thinking   json.RawMessage `json:"thinking,omitempty"`
}

// EncodeCountTokensRequest renders r as a count_tokens body for an Anthropic
// upstream: model, system, messages, tools, tool_choice and thinking.
func EncodeCountTokensRequest(r *llm.Request) ([]byte, error) {
	enc, err := EncodeRequest(r, 1)
	if err != nil {
		return nil, err
	}
	var w wireCountTokensRequest
	if err := json.Unmarshal(enc.Body, &w); err != nil {
		return nil, llm.AsError(err)
	}
	return json.Marshal(w)
}

// DecodeCountTokensResponse reads {"input_tokens": N}.
func DecodeCountTokensResponse(body []byte) (int64, error) {
	var w struct {
		InputTokens *int64 `json:"input_tokens"`
	}
	if err := json.Unmarshal(body, &w); err != nil || w.InputTokens == nil {
		return 0, llm.UpstreamError("Anthropic returned an unreadable token count", err)
	}
	return *w.InputTokens, nil
}

// EncodeCountTokensResponse renders a token count for an Anthropic client.
func EncodeCountTokensResponse(inputTokens int64) []byte {
	b := append([]byte(nil), `{"input_tokens":`...)
	b = strconv.AppendInt(b, inputTokens, 10)
	return append(b, '}')
}
