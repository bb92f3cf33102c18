package tokens

import (
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/jsonscan"
)

// OpenAI's documented rule for counting chat prompt tokens (the cookbook's
// "How to count tokens with tiktoken", num_tokens_from_messages, for
// gpt-3.5-turbo-0613 onwards, gpt-4 and gpt-4o): every message costs 3 tokens
// of framing plus its encoded values, a name 1 more, and the reply is primed
// with 3 (<|start|>assistant<|message|>).
const (
	tokensPerMessage = 3
	tokensPerName    = 1
	replyPriming     = 3

	// nonTextPart is what a content part that is not text (an image, audio,
	// a file) counts. Real costs depend on the part: an image is 85 tokens
	// at "detail": "low" and 85 plus 170 per 512-pixel tile at high detail,
	// which would need the image decoded; a file depends on its pages. 85,
	// the floor for an image, is a documented underestimate, not a measure.
	nonTextPart = 85

	// nonTextBound is what a non-text part counts in ChatPromptBound, the
	// count a credit reservation uses: a stated upper bound for one image
	// (Anthropic documents about 1,600 tokens for the largest image it
	// keeps unresized; OpenAI's high-detail rule gives at most 1,105 for
	// gpt-4o; Gemini bills 258 per 768-pixel tile). A file or audio part
	// counts the larger of this and a token per four bytes of its JSON.
	nonTextBound = 1600
)

// ChatPrompt estimates the prompt tokens of an OpenAI chat request body: the
// text of every message's content (a string, or the "text" of array parts of
// type "text"; other parts — images, files — count a fixed 85 tokens each as
// a documented approximation), name fields, tool definitions' JSON, plus
// OpenAI's documented per-message overhead (3 tokens per message, +1 per
// name, +3 for the reply priming).
//
// As OpenAI's rule encodes every value of a message, the role is counted too
// (one token for each of the standard roles), as are an assistant message's
// tool calls (each function's name and arguments), a tool message's
// tool_call_id, and the "refusal" text of refusal parts. Tool definitions
// count as compact JSON; OpenAI renders them in an undocumented form of
// similar size. A body that is not valid JSON, or has no "messages" array,
// counts 0.
func (c *Counter) ChatPrompt(model string, body []byte) int {
	return c.chatPrompt(model, body, false)
}

// ChatPromptBound is ChatPrompt with every non-text part counted at a
// stated upper bound (nonTextBound) instead of the 85-token floor: the
// count a request may reserve credit on without falling short for images.
func (c *Counter) ChatPromptBound(model string, body []byte) int {
	return c.chatPrompt(model, body, true)
}

func (c *Counter) chatPrompt(model string, body []byte, bound bool) int {
	if jsonscan.Check(body, jsonscan.Options{}) != nil {
		return 0
	}
	messages := gjson.GetBytes(body, "messages")
	if !messages.IsArray() {
		return 0
	}
	count := c.counter(model)
	n := replyPriming
	messages.ForEach(func(_, m gjson.Result) bool {
		if !m.IsObject() {
			return true
		}
		n += tokensPerMessage
		n += count(m.Get("role").String())
		n += content(count, m.Get("content"), bound)
		if name := m.Get("name"); name.Exists() {
			n += count(name.String()) + tokensPerName
		}
		n += count(m.Get("tool_call_id").String())
		if calls := m.Get("tool_calls"); calls.IsArray() {
			calls.ForEach(func(_, call gjson.Result) bool {
				n += function(count, call.Get("function"))
				return true
			})
		}
		// function_call is the deprecated single-call form of tool_calls.
		n += function(count, m.Get("function_call"))
		return true
	})
	// functions is the deprecated form of tools.
	for _, key := range []string{"tools", "functions"} {
		tools := gjson.GetBytes(body, key)
		if !tools.IsArray() {
			continue
		}
		tools.ForEach(func(_, tool gjson.Result) bool {
			// Compact first: the client's indentation is not what the
			// model sees.
			n += count(gjson.Get(tool.Raw, "@ugly").Raw)
			return true
		})
	}
	return n
}

// content counts a message's content: a string, or an array of parts.
func content(count func(string) int, v gjson.Result, bound bool) int {
	switch {
	case v.Type == gjson.String:
		return count(v.Str)
	case v.IsArray():
		n := 0
		v.ForEach(func(_, part gjson.Result) bool {
			switch {
			case part.Type == gjson.String:
				// Not valid OpenAI, but plainly text.
				n += count(part.Str)
			case !part.IsObject():
			case part.Get("type").String() == "text":
				n += count(part.Get("text").String())
			case part.Get("type").String() == "refusal":
				n += count(part.Get("refusal").String())
			case bound && strings.HasPrefix(part.Get("type").String(), "image"):
				n += nonTextBound // resized by the provider, whatever its bytes
			case bound:
				n += max(nonTextBound, len(part.Raw)/4)
			default:
				n += nonTextPart
			}
			return true
		})
		return n
	}
	return 0
}

// function counts a tool call's function: its name and its arguments, a
// string of JSON.
func function(count func(string) int, f gjson.Result) int {
	if !f.IsObject() {
		return 0
	}
	return count(f.Get("name").String()) + count(f.Get("arguments").String())
}

// Prompt estimates the tokens of a legacy completions "prompt" (string or
// array of strings) or an embeddings "input" (string, array of strings; token
// arrays count their length). raw is the JSON value of that field, as in
// gjson.GetBytes(body, "prompt").Raw, not the whole body. A prompt of several
// strings is several inputs, and counts their sum. Anything else counts 0.
func (c *Counter) Prompt(model string, raw []byte) int {
	if jsonscan.Check(raw, jsonscan.Options{}) != nil {
		return 0
	}
	count := c.counter(model)
	v := gjson.ParseBytes(raw)
	if v.Type == gjson.String {
		return count(v.Str)
	}
	if !v.IsArray() {
		return 0
	}
	n := 0
	v.ForEach(func(_, item gjson.Result) bool {
		switch {
		case item.Type == gjson.String:
			n += count(item.Str)
		case item.Type == gjson.Number:
			n++ // one token ID of an array of tokens
		case item.IsArray():
			// One of an array of token arrays.
			item.ForEach(func(_, tok gjson.Result) bool {
				if tok.Type == gjson.Number {
					n++
				}
				return true
			})
		}
		return true
	})
	return n
}
