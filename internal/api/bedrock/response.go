package bedrock

import (
	"encoding/json"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Wire shapes of a Converse answer.
type (
	converseResponse struct {
		Output struct {
			Message *struct {
				Role    string         `json:"role"`
				Content []contentBlock `json:"content"`
			} `json:"message"`
		} `json:"output"`
		StopReason string     `json:"stopReason"`
		Usage      *wireUsage `json:"usage"`
	}
	contentBlock struct {
		Text    *string `json:"text"`
		ToolUse *struct {
			ToolUseID string          `json:"toolUseId"`
			Name      string          `json:"name"`
			Input     json.RawMessage `json:"input"`
		} `json:"toolUse"`
		ReasoningContent *struct {
			ReasoningText *struct {
				Text      string `json:"text"`
				Signature string `json:"signature"`
			} `json:"reasoningText"`
			RedactedContent string `json:"redactedContent"`
		} `json:"reasoningContent"`
	}
	wireUsage struct {
		InputTokens           int64 `json:"inputTokens"`
		OutputTokens          int64 `json:"outputTokens"`
		TotalTokens           int64 `json:"totalTokens"`
		CacheReadInputTokens  int64 `json:"cacheReadInputTokens"`
		CacheWriteInputTokens int64 `json:"cacheWriteInputTokens"`
	}
)

// maxTokenCount bounds a token count an upstream reports, so that sums
// and prices cannot overflow.
const maxTokenCount = 1 << 40

func clampCount(n int64) int64 { return min(max(n, 0), maxTokenCount) }

// usage is the canonical usage of a Converse usage object. Bedrock counts
// cache reads and writes apart from inputTokens; the canonical prompt
// count holds them (as OpenAI's prompt_tokens does).
func usage(u *wireUsage) llm.Usage {
	in, out := clampCount(u.InputTokens), clampCount(u.OutputTokens)
	cr, cw := clampCount(u.CacheReadInputTokens), clampCount(u.CacheWriteInputTokens)
	prompt := in + cr + cw
	return llm.Usage{PromptTokens: prompt, CompletionTokens: out, TotalTokens: prompt + out,
		CachedTokens: cr, CacheWriteTokens: cw, Present: true}
}

// finishReason maps a Converse stopReason.
func finishReason(stop string, calls bool) llm.FinishReason {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "guardrail_intervened", "content_filtered":
		return llm.FinishContentFilter
	}
	if calls {
		return llm.FinishToolCalls
	}
	return llm.FinishStop // end_turn, stop_sequence, anything new
}

// DecodeResponse reads a Converse answer.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var w converseResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, llm.UpstreamError("Bedrock returned a response that is not valid JSON", err)
	}
	if w.Output.Message == nil {
		return nil, llm.UpstreamError("Bedrock returned a response without output.message", nil)
	}
	r := &llm.Response{Message: llm.Message{Role: llm.RoleAssistant}}
	for _, b := range w.Output.Message.Content {
		switch {
		case b.Text != nil:
			r.Message.Parts = append(r.Message.Parts, llm.Part{Type: llm.PartText, Text: *b.Text})
		case b.ToolUse != nil:
			r.Message.ToolCalls = append(r.Message.ToolCalls, llm.ToolCall{ID: b.ToolUse.ToolUseID, Name: b.ToolUse.Name, Arguments: llm.CompactArgs(b.ToolUse.Input)})
		case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
			rt := b.ReasoningContent.ReasoningText
			r.Message.Parts = append(r.Message.Parts, llm.Part{Type: llm.PartThinking, Text: rt.Text, Signature: rt.Signature, SignatureVendor: vendorOf(rt.Signature)})
		case b.ReasoningContent != nil && b.ReasoningContent.RedactedContent != "":
			r.Message.Parts = append(r.Message.Parts, llm.Part{Type: llm.PartRedactedThinking, Data: b.ReasoningContent.RedactedContent, SignatureVendor: Vendor})
		}
	}
	r.FinishReason = finishReason(w.StopReason, len(r.Message.ToolCalls) > 0)
	if w.Usage != nil {
		r.Usage = usage(w.Usage)
	}
	return r, nil
}

func vendorOf(sig string) string {
	if sig == "" {
		return ""
	}
	return Vendor
}
