package openai

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/jsonscan"
	"github.com/switchyard-gw/switchyard/internal/jsonstr"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// EncodeResponse writes r as a chat.completion object (one choice) for an
// OpenAI client. Thinking parts are sent as message.reasoning_content, the
// field DeepSeek, Qwen and the aggregators use; content is null when the
// answer is only tool calls.
func EncodeResponse(r *llm.Response) []byte {
	b := make([]byte, 0, 512)
	b = append(b, `{"id":`...)
	b = jsonstr.Append(b, r.ID)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, r.Created, 10)
	b = append(b, `,"model":`...)
	b = jsonstr.Append(b, r.Model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	var text, thinking strings.Builder
	hasText := false
	for _, p := range r.Message.Parts {
		switch p.Type {
		case llm.PartText:
			text.WriteString(p.Text)
			hasText = true
		case llm.PartThinking:
			thinking.WriteString(p.Text)
		}
	}
	if !hasText && len(r.Message.ToolCalls) > 0 {
		b = append(b, "null"...)
	} else {
		b = jsonstr.Append(b, text.String())
	}
	b = append(b, `,"refusal":null`...)
	if thinking.Len() > 0 {
		b = append(b, `,"reasoning_content":`...)
		b = jsonstr.Append(b, thinking.String())
	}
	if len(r.Message.ToolCalls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i, tc := range r.Message.ToolCalls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = jsonstr.Append(b, tc.ID)
			b = append(b, `,"type":"function","function":{"name":`...)
			b = jsonstr.Append(b, tc.Name)
			b = append(b, `,"arguments":`...)
			b = jsonstr.Append(b, tc.Arguments)
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	fr := r.FinishReason
	if fr == "" {
		fr = llm.FinishStop
	}
	b = jsonstr.Append(b, string(fr))
	b = append(b, `}],"usage":`...)
	b = appendUsage(b, r.Usage)
	return append(b, '}')
}

// appendUsage writes an OpenAI CompletionUsage object.
func appendUsage(b []byte, u llm.Usage) []byte {
	total := u.TotalTokens
	if total == 0 {
		total = u.PromptTokens + u.CompletionTokens
	}
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, total, 10)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.CachedTokens, 10)
	b = append(b, `},"completion_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, u.ReasoningTokens, 10)
	return append(b, "}}"...)
}

// DecodeResponse reads an OpenAI-compatible chat.completion body (the first
// choice). reasoning_content (or OpenRouter's "reasoning") becomes a
// thinking part before the text. A body that is not a completion, or an
// error object sent with status 200, is an *llm.Error (502).
func DecodeResponse(body []byte) (*llm.Response, error) {
	s := bytesToString(body)
	if jsonscan.Check(body, jsonscan.Options{}) != nil {
		return nil, llm.UpstreamError("upstream returned a response that is not JSON", ErrMalformedChunk)
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return nil, llm.UpstreamError("upstream returned a response that is not a JSON object", nil)
	}
	if e := root.Get("error"); e.Exists() && e.Type != gjson.Null {
		return nil, upstreamErrorFrom(e)
	}
	choice := root.Get("choices.0")
	if !choice.IsObject() {
		return nil, llm.UpstreamError("upstream response has no choices", nil)
	}
	r := &llm.Response{
		ID:           root.Get("id").Str,
		Model:        root.Get("model").Str,
		Created:      root.Get("created").Int(),
		FinishReason: finishReason(choice.Get("finish_reason").Str),
		Usage:        ReadUsage(root.Get("usage")),
		Message:      llm.Message{Role: llm.RoleAssistant},
	}
	m := choice.Get("message")
	for _, k := range []string{"reasoning_content", "reasoning"} {
		if v := m.Get(k); v.Type == gjson.String && v.Str != "" {
			r.Message.Parts = append(r.Message.Parts, llm.Part{Type: llm.PartThinking, Text: v.Str})
			break
		}
	}
	switch c := m.Get("content"); {
	case c.Type == gjson.String && c.Str != "":
		r.Message.Parts = append(r.Message.Parts, llm.Part{Type: llm.PartText, Text: c.Str})
	case c.IsArray(): // some compatible servers answer with parts
		c.ForEach(func(_, p gjson.Result) bool {
			if t := p.Get("text"); t.Type == gjson.String {
				r.Message.Parts = append(r.Message.Parts, llm.Part{Type: llm.PartText, Text: t.Str})
			}
			return true
		})
	}
	if rf := m.Get("refusal"); rf.Type == gjson.String && rf.Str != "" {
		r.Message.Parts = append(r.Message.Parts, llm.Part{Type: llm.PartText, Text: rf.Str})
	}
	m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		call := llm.ToolCall{ID: tc.Get("id").Str, Name: tc.Get("function.name").Str, Arguments: tc.Get("function.arguments").Str}
		if tc.Get("type").Str == "custom" {
			call.Name, call.Arguments = tc.Get("custom.name").Str, tc.Get("custom.input").Str
		}
		r.Message.ToolCalls = append(r.Message.ToolCalls, call)
		return true
	})
	if fc := m.Get("function_call"); fc.IsObject() { // legacy
		r.Message.ToolCalls = append(r.Message.ToolCalls, llm.ToolCall{Name: fc.Get("name").Str, Arguments: fc.Get("arguments").Str})
	}
	return r, nil
}

// finishReason maps an OpenAI-compatible finish_reason to the canonical one.
func finishReason(s string) llm.FinishReason {
	switch s {
	case "function_call": // legacy
		return llm.FinishToolCalls
	case "":
		return ""
	}
	return llm.FinishReason(s)
}

func upstreamErrorFrom(e gjson.Result) *llm.Error {
	msg := e.Get("message").Str
	if e.Type == gjson.String {
		msg = e.Str
	}
	if msg == "" {
		msg = "upstream error"
	}
	out := llm.UpstreamError(msg, nil)
	if c := e.Get("code"); c.Exists() && c.Type != gjson.Null {
		out.Code = c.String()
	}
	if t := e.Get("type").Str; t != "" {
		out.Type = t
	}
	return out
}
