package responses

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/jsonscan"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Bounds on what an upstream's answer may make the decoders keep. The body
// and each event are already bounded in size by the caller; these bound
// counts and the strings that outlive the body.
const (
	// maxOutputItems bounds the output items of one answer (a reasoning
	// model's answer has a handful; a thousand parallel calls is no answer).
	maxOutputItems = 1024
	// maxUpstreamID bounds a response id or model name kept from the upstream.
	maxUpstreamID = 512
	// maxErrorMessage bounds an upstream error message passed on.
	maxErrorMessage = 2048
)

// DecodeResponse reads a Response object from an upstream that speaks the
// Responses API into the canonical answer: message items' output_text and
// refusal become text, reasoning items a thinking part (summary, else
// content; encrypted_content its Signature, SignatureVendor "openai"),
// function_call items tool calls; other item types (built-in tools, which
// EncodeRequest never asks for) are skipped. status completed is stop (or
// tool_calls with calls), incomplete is length or content_filter by
// incomplete_details.reason; failed (and any status that is not an answer)
// is an *llm.Error.
func DecodeResponse(body []byte) (*llm.Response, error) {
	if jsonscan.Check(body, jsonscan.Options{}) != nil {
		return nil, llm.UpstreamError("upstream returned a response that is not JSON", nil)
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, llm.UpstreamError("upstream returned a response that is not a JSON object", nil)
	}
	status := root.Get("status").Str
	switch status {
	case "completed", "incomplete", "":
		// "" : a Responses-compatible server that leaves status out.
	case "failed":
		return nil, responseError(root.Get("error"), "the upstream response failed")
	default: // queued, in_progress, cancelled: no answer to read
		return nil, llm.UpstreamError("upstream returned a response with status "+bounded(status, 64)+", not an answer", nil)
	}
	if e := root.Get("error"); e.IsObject() && status == "" {
		return nil, responseError(e, "the upstream response failed")
	}
	r := &llm.Response{
		ID:      bounded(root.Get("id").Str, maxUpstreamID),
		Model:   bounded(root.Get("model").Str, maxUpstreamID),
		Created: root.Get("created_at").Int(),
		Message: llm.Message{Role: llm.RoleAssistant},
		Usage:   readUsage(root.Get("usage")),
	}
	out := root.Get("output")
	if out.Exists() && !out.IsArray() && out.Type != gjson.Null {
		return nil, llm.UpstreamError("upstream response's output is not an array", nil)
	}
	n := 0
	var bad error
	out.ForEach(func(_, it gjson.Result) bool {
		if n++; n > maxOutputItems {
			bad = llm.UpstreamError("upstream response has more output items than the gateway reads", nil)
			return false
		}
		appendOutputItem(&r.Message, it)
		return true
	})
	if bad != nil {
		return nil, bad
	}
	r.FinishReason = finishReason(status, root.Get("incomplete_details.reason").Str, len(r.Message.ToolCalls) > 0)
	return r, nil
}

// appendOutputItem adds one output item to the answer's message.
func appendOutputItem(m *llm.Message, it gjson.Result) {
	switch it.Get("type").Str {
	case "message":
		it.Get("content").ForEach(func(_, p gjson.Result) bool {
			key := "text"
			switch p.Get("type").Str {
			case "output_text":
			case "refusal":
				// A refusal is the answer's text, as on chat.
				key = "refusal"
			default:
				return true
			}
			appendText(m, p.Get(key).Str)
			return true
		})
	case "reasoning":
		if p, ok := reasoningPart(it); ok {
			m.Parts = append(m.Parts, p)
		}
	case "function_call":
		m.ToolCalls = append(m.ToolCalls, llm.ToolCall{
			ID:        it.Get("call_id").Str,
			Name:      it.Get("name").Str,
			Arguments: it.Get("arguments").Str,
		})
	}
}

// appendText adds text, joining it to a text part just before it: one
// assistant text is one part, however many items and parts carried it.
func appendText(m *llm.Message, t string) {
	if t == "" {
		return
	}
	if n := len(m.Parts); n > 0 && m.Parts[n-1].Type == llm.PartText {
		m.Parts[n-1].Text += t
		return
	}
	m.Parts = append(m.Parts, llm.Part{Type: llm.PartText, Text: t})
}

// reasoningPart reads a reasoning item: its summary texts (else its
// content's reasoning text) joined by blank lines, as DecodeRequest joins
// them, and encrypted_content as an OpenAI signature.
func reasoningPart(it gjson.Result) (llm.Part, bool) {
	text := reasoningText(it.Get("summary"))
	if text == "" {
		text = reasoningText(it.Get("content"))
	}
	p := llm.Part{Type: llm.PartThinking, Text: text}
	if enc := it.Get("encrypted_content"); enc.Type == gjson.String && enc.Str != "" {
		p.Signature, p.SignatureVendor = enc.Str, llm.VendorOpenAI
	}
	return p, p.Text != "" || p.Signature != ""
}

func reasoningText(parts gjson.Result) string {
	var b strings.Builder
	parts.ForEach(func(_, s gjson.Result) bool {
		if t := s.Get("text").Str; t != "" {
			if b.Len() > 0 {
				b.WriteString("\n\n")
			}
			b.WriteString(t)
		}
		return true
	})
	return b.String()
}

// finishReason maps a Response's status (and incomplete_details.reason) to
// the canonical finish reason.
func finishReason(status, reason string, toolCalls bool) llm.FinishReason {
	if status == "incomplete" {
		if reason == "content_filter" {
			return llm.FinishContentFilter
		}
		// max_output_tokens, and any reason added later: the answer was cut.
		return llm.FinishLength
	}
	if toolCalls {
		return llm.FinishToolCalls
	}
	return llm.FinishStop
}

// readUsage reads a ResponseUsage. input_tokens include the cached ones,
// as PromptTokens does. Negative counts are read as 0.
func readUsage(u gjson.Result) llm.Usage {
	if !u.IsObject() {
		return llm.Usage{}
	}
	n := func(path string) int64 { return max(u.Get(path).Int(), 0) }
	out := llm.Usage{
		Present:          true,
		PromptTokens:     n("input_tokens"),
		CompletionTokens: n("output_tokens"),
		TotalTokens:      n("total_tokens"),
		CachedTokens:     n("input_tokens_details.cached_tokens"),
		CacheWriteTokens: n("input_tokens_details.cache_write_tokens"),
		ReasoningTokens:  n("output_tokens_details.reasoning_tokens"),
	}
	if out.TotalTokens == 0 {
		out.TotalTokens = out.PromptTokens + out.CompletionTokens
		if out.TotalTokens < 0 { // overflow: saturate
			out.TotalTokens = math.MaxInt64
		}
	}
	return out
}

// responseError is the *llm.Error for a ResponseError ({code, message}) or
// an error event: a 502 that keeps the upstream's message and code, or a
// 429 for rate_limit_exceeded (the code StreamEncoder writes for one).
func responseError(e gjson.Result, fallback string) *llm.Error {
	msg := bounded(e.Get("message").Str, maxErrorMessage)
	if msg == "" {
		msg = fallback
	}
	code := bounded(e.Get("code").String(), maxUpstreamID)
	if code == "rate_limit_exceeded" {
		return &llm.Error{Kind: llm.KindProvider, Status: 429, Type: "rate_limit_error", Code: code, Message: msg}
	}
	out := llm.UpstreamError(msg, nil)
	if code != "" {
		out.Code = code
	}
	return out
}

// DecodeError reads an error answer (a non-2xx status) of a Responses API
// upstream: OpenAI's error envelope, as on chat; the relay classifies the
// status.
func DecodeError(status int, body []byte) *llm.Error {
	msg, typ, code, param := openai.ParseUpstreamError(body)
	return &llm.Error{Kind: llm.KindProvider, Status: status,
		Type: bounded(typ, maxUpstreamID), Code: bounded(code, maxUpstreamID), Param: bounded(param, maxUpstreamID),
		Message: bounded(msg, maxErrorMessage)}
}

// bounded returns s cut to at most n bytes (an ellipsis included), at a
// rune boundary, and detached from the buffer it came from. What it
// returns it returns unchanged, so a value read twice reads the same.
func bounded(s string, n int) string {
	const ellipsis = "…"
	if len(s) > n {
		i := n - len(ellipsis)
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + ellipsis // a new string
	}
	return strings.Clone(s)
}
