package anthropic

import (
	"bytes"
	"encoding/json"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

type (
	wireResponse struct {
		ID           string      `json:"id"`
		Type         string      `json:"type"`
		Role         string      `json:"role"`
		Model        string      `json:"model"`
		Content      []wireBlock `json:"content"`
		StopReason   *string     `json:"stop_reason"`
		StopSequence *string     `json:"stop_sequence"`
		Usage        *wireUsage  `json:"usage"`
	}
	wireUsage struct {
		InputTokens              int64 `json:"input_tokens"`
		OutputTokens             int64 `json:"output_tokens"`
		CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
		CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	}
	wireResponseOut struct {
		ID           string       `json:"id"`
		Type         string       `json:"type"`
		Role         string       `json:"role"`
		Model        string       `json:"model"`
		Content      []any        `json:"content"`
		StopReason   *string      `json:"stop_reason"`
		StopSequence *string      `json:"stop_sequence"`
		Usage        wireUsageOut `json:"usage"`
	}
	wireUsageOut struct {
		InputTokens              int64 `json:"input_tokens"`
		OutputTokens             int64 `json:"output_tokens"`
		CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	}
)

// DecodeResponse reads a Messages API response. jsonTool is Encoded.JSONTool
// from the request ("" if none): that tool's call is returned as text.
// Created is left 0 (Anthropic sends no timestamp; the caller has the clock).
func DecodeResponse(body []byte, jsonTool string) (*llm.Response, error) {
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, llm.UpstreamError("Anthropic returned an unreadable response", err)
	}
	if w.Type != "message" {
		return nil, llm.UpstreamError("Anthropic returned an unexpected object of type "+quote(w.Type), nil)
	}
	r := &llm.Response{ID: w.ID, Model: w.Model, Message: llm.Message{Role: llm.RoleAssistant}}
	emulated := false
	for i := range w.Content {
		b := &w.Content[i]
		switch b.Type {
		case "text":
			r.Message.Parts = append(r.Message.Parts, llm.Part{Type: llm.PartText, Text: b.Text})
		case "thinking":
			r.Message.Parts = append(r.Message.Parts, thinkingPart(b.Thinking, b.Signature))
		case "redacted_thinking":
			r.Message.Parts = append(r.Message.Parts, llm.Part{Type: llm.PartRedactedThinking, Data: b.Data})
		case "tool_use":
			args := "{}"
			if in := bytes.TrimSpace(b.Input); len(in) > 0 && string(in) != "null" {
				args = compactJSON(in)
			}
			if jsonTool != "" && b.Name == jsonTool {
				emulated = true
				r.Message.Parts = append(r.Message.Parts, llm.Part{Type: llm.PartText, Text: args})
				continue
			}
			r.Message.ToolCalls = append(r.Message.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		}
		// Server-tool blocks (server_tool_use, web_search_tool_result…) have no
		// canonical form and are dropped.
	}
	if w.StopReason != nil {
		r.FinishReason = finishReason(*w.StopReason)
	}
	if emulated && r.FinishReason == llm.FinishToolCalls && len(r.Message.ToolCalls) == 0 {
		r.FinishReason = llm.FinishStop
	}
	if w.Usage != nil {
		r.Usage = usage(w.Usage)
	}
	return r, nil
}

func usage(u *wireUsage) llm.Usage {
	prompt := u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens
	return llm.Usage{
		PromptTokens:     prompt,
		CompletionTokens: u.OutputTokens,
		TotalTokens:      prompt + u.OutputTokens,
		CachedTokens:     u.CacheReadInputTokens,
		CacheWriteTokens: u.CacheCreationInputTokens,
		Present:          true,
	}
}

func usageOut(u llm.Usage) wireUsageOut {
	return wireUsageOut{
		InputTokens:              max(u.PromptTokens-u.CachedTokens-u.CacheWriteTokens, 0),
		OutputTokens:             u.CompletionTokens,
		CacheCreationInputTokens: u.CacheWriteTokens,
		CacheReadInputTokens:     u.CachedTokens,
	}
}

func finishReason(s string) llm.FinishReason {
	switch s {
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "refusal":
		return llm.FinishContentFilter
	}
	return llm.FinishStop // end_turn, stop_sequence, pause_turn
}

func stopReason(f llm.FinishReason) string {
	switch f {
	case llm.FinishLength:
		return "max_tokens"
	case llm.FinishToolCalls:
		return "tool_use"
	case llm.FinishContentFilter:
		return "refusal"
	}
	return "end_turn"
}

// EncodeResponse renders r as a Messages API message object: content blocks in
// the order of r's parts, then its tool calls as tool_use blocks.
func EncodeResponse(r *llm.Response) []byte {
	w := wireResponseOut{ID: r.ID, Type: "message", Role: "assistant", Model: r.Model, Usage: usageOut(r.Usage)}
	w.Content = encodeResponseParts(r.Message.Parts)
	for _, tc := range r.Message.ToolCalls {
		w.Content = append(w.Content, toolUseBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: argumentsObject(tc.Arguments)})
	}
	if r.FinishReason != "" {
		s := stopReason(r.FinishReason)
		w.StopReason = &s
	}
	b, err := json.Marshal(w)
	if err != nil {
		// Only a cache_control that is not JSON can fail here; it is never set on responses.
		return []byte(`{"type":"error","error":{"type":"api_error","message":"cannot encode response"}}`)
	}
	return b
}

// encodeResponseParts is appendParts, except that a thinking part without an
// Anthropic signature (another vendor's reasoning) still reaches the
// client, with an empty signature: another vendor's signature means
// nothing to Anthropic, and a client that sends the block back would have
// it refused.
func encodeResponseParts(parts []llm.Part) []any {
	out := []any{}
	for _, p := range parts {
		if p.Type == llm.PartThinking {
			out = append(out, thinkingBlock{Type: "thinking", Thinking: p.Text, Signature: anthropicSignature(p.Signature, p.SignatureVendor)})
			continue
		}
		out = appendParts(out, []llm.Part{p})
	}
	return out
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
