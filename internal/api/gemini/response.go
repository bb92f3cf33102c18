package gemini

import (
	"encoding/json"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// DecodeResponse reads a generateContent answer. Only the first candidate
// is kept (llm.Response holds one message).
func DecodeResponse(body []byte) (*llm.Response, error) {
	var w generateContentResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, llm.UpstreamError("Gemini sent an answer that is not valid JSON", err)
	}
	r := &llm.Response{ID: w.ResponseID, Model: w.ModelVersion, Message: llm.Message{Role: llm.RoleAssistant}}
	r.Usage = decodeUsage(w.UsageMetadata)
	if len(w.Candidates) == 0 {
		// A prompt blocked by safety has promptFeedback.blockReason and no
		// candidates (https://ai.google.dev/api/generate-content#PromptFeedback).
		r.FinishReason = llm.FinishStop
		if w.PromptFeedback != nil && w.PromptFeedback.BlockReason != "" {
			r.FinishReason = llm.FinishContentFilter
		}
		return r, nil
	}
	c := firstCandidate(w.Candidates)
	if c.Content != nil {
		for _, p := range c.Content.Parts {
			if fc := p.FunctionCall; fc != nil {
				r.Message.ToolCalls = append(r.Message.ToolCalls, llm.ToolCall{
					ID: callID(fc.ID, len(r.Message.ToolCalls)), Name: fc.Name,
					Arguments: llm.CompactArgs(fc.Args), Signature: p.ThoughtSignature})
				continue
			}
			if mp, ok := decodePart(p); ok {
				r.Message.Parts = append(r.Message.Parts, mp)
			}
		}
	}
	r.FinishReason = finishReason(c.FinishReason, len(r.Message.ToolCalls) > 0)
	return r, nil
}

// firstCandidate is the candidate with index 0. With candidateCount > 1
// the candidates need not come in order (a stream chunk may hold only
// candidate 1); the index is omitted when it is 0.
func firstCandidate(cs []candidate) candidate {
	for _, c := range cs {
		if c.Index == 0 {
			return c
		}
	}
	return candidate{}
}

// callID is Gemini's functionCall.id when it sent one, else "call_N" for
// the call's index in the answer: deterministic, and unique within it.
func callID(id string, index int) string {
	if id != "" {
		return id
	}
	return "call_" + strconv.Itoa(index)
}

// finishReason maps Gemini's FinishReason
// (https://ai.google.dev/api/generate-content#FinishReason). Gemini says
// STOP for an answer that ends in function calls.
func finishReason(fr string, toolCalls bool) llm.FinishReason {
	switch fr {
	case "MAX_TOKENS":
		return llm.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY":
		return llm.FinishContentFilter
	}
	if toolCalls {
		return llm.FinishToolCalls
	}
	return llm.FinishStop
}

func decodeUsage(u *usageMetadata) llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	// candidatesTokenCount excludes thinking; the canonical
	// CompletionTokens includes it, with ReasoningTokens as its share.
	return llm.Usage{
		PromptTokens:     u.PromptTokenCount,
		CachedTokens:     u.CachedContentTokenCount,
		CompletionTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount,
		ReasoningTokens:  u.ThoughtsTokenCount,
		TotalTokens:      u.TotalTokenCount,
		Present:          true,
	}
}

func encodeUsage(u *llm.Usage) *usageMetadata {
	if !u.Present {
		return nil
	}
	return &usageMetadata{
		PromptTokenCount:        u.PromptTokens,
		CachedContentTokenCount: u.CachedTokens,
		CandidatesTokenCount:    u.CompletionTokens - u.ReasoningTokens,
		ThoughtsTokenCount:      u.ReasoningTokens,
		TotalTokenCount:         u.TotalTokens,
	}
}

// geminiFinish is the inverse of finishReason. A content filter is
// SAFETY, the most common cause; an error is OTHER.
func geminiFinish(fr llm.FinishReason) string {
	switch fr {
	case llm.FinishLength:
		return "MAX_TOKENS"
	case llm.FinishContentFilter:
		return "SAFETY"
	case llm.FinishError:
		return "OTHER"
	case "":
		return ""
	}
	return "STOP"
}

// EncodeResponse renders r as a GenerateContentResponse for a Gemini
// client.
func EncodeResponse(r *llm.Response) []byte {
	parts := encodeParts(r.Message.Parts)
	for _, tc := range r.Message.ToolCalls {
		parts = append(parts, part{FunctionCall: &functionCall{ID: tc.ID, Name: tc.Name, Args: llm.ArgsObject(tc.Arguments)},
			ThoughtSignature: tc.Signature})
	}
	c := candidate{FinishReason: nonEmpty(geminiFinish(r.FinishReason), "STOP")}
	if len(parts) > 0 {
		c.Content = &content{Role: "model", Parts: parts}
	}
	w := generateContentResponse{
		Candidates:    []candidate{c},
		UsageMetadata: encodeUsage(&r.Usage),
		ModelVersion:  r.Model,
		ResponseID:    r.ID,
	}
	b, _ := json.Marshal(&w)
	return b
}
