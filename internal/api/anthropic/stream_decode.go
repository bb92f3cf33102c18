package anthropic

import (
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/jsonscan"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

type blockKind uint8

const (
	blockIgnored blockKind = iota // server-tool blocks and anything unknown
	blockText
	blockThinking
	blockTool
	blockJSONTool // the response_format emulation tool: its input is text
)

// StreamDecoder turns the SSE events of one Messages API stream into
// canonical stream events. The zero value is ready; set JSONTool to
// Encoded.JSONTool when the request emulated response_format.
//
// EventStart carries the input-side usage of message_start in Usage; each
// message_delta yields EventFinish (when it has a stop_reason) and then
// EventUsage with the totals so far. Tool-call Index counts tool_use blocks
// only. A redacted_thinking block (which arrives whole in its
// content_block_start) is one EventThinking with Data; a signature_delta is
// an EventThinking with Signature and SignatureVendor "anthropic".
// Server-tool blocks have no stream event and are skipped.
type StreamDecoder struct {
	JSONTool string

	blocks    map[int64]streamBlock
	toolCalls int // tool_use blocks seen: the next tool call's Index
	usage     llm.Usage
	emulated  bool
	complete  bool
}

// Complete reports whether message_stop arrived: a stream that ends without
// it was cut, and the caller should treat it as failed.
func (d *StreamDecoder) Complete() bool { return d.complete }

type streamBlock struct {
	kind blockKind
	tool int
}

// Event decodes one SSE event; name is the event: line ("" falls back to the
// data's "type"). Unknown events are ignored, as Anthropic's versioning
// policy asks; malformed data is an error.
func (d *StreamDecoder) Event(name string, data []byte) ([]llm.StreamEvent, error) {
	if jsonscan.Check(data, jsonscan.Options{}) != nil {
		return nil, fmt.Errorf("anthropic stream: event %q: data is not valid JSON", name)
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return nil, fmt.Errorf("anthropic stream: event %q: data is not a JSON object", name)
	}
	if name == "" {
		name = root.Get("type").String()
	}
	switch name {
	case "ping":
		return nil, nil
	case "message_stop":
		d.complete = true
		return nil, nil
	case "message_start":
		msg := root.Get("message")
		if !msg.IsObject() {
			return nil, fmt.Errorf("anthropic stream: message_start without a message")
		}
		ev := llm.StreamEvent{Kind: llm.EventStart, ID: msg.Get("id").String(), Model: msg.Get("model").String()}
		if u := msg.Get("usage"); u.IsObject() {
			d.mergeUsage(u)
			usage := d.usage
			ev.Usage = &usage
		}
		return []llm.StreamEvent{ev}, nil
	case "content_block_start":
		return d.blockStart(root)
	case "content_block_delta":
		return d.blockDelta(root)
	case "content_block_stop":
		return nil, nil
	case "message_delta":
		var out []llm.StreamEvent
		if sr := root.Get("delta.stop_reason"); sr.Type == gjson.String {
			f := finishReason(sr.Str)
			if f == llm.FinishToolCalls && d.emulated && d.toolCalls == 0 {
				f = llm.FinishStop
			}
			out = append(out, llm.StreamEvent{Kind: llm.EventFinish, FinishReason: f})
		}
		if u := root.Get("usage"); u.IsObject() {
			d.mergeUsage(u)
			usage := d.usage
			out = append(out, llm.StreamEvent{Kind: llm.EventUsage, Usage: &usage})
		}
		return out, nil
	case "error":
		e := root.Get("error")
		msg := e.Get("message").String()
		if msg == "" {
			msg = "Anthropic reported an error mid-stream"
		}
		return []llm.StreamEvent{{Kind: llm.EventError, Error: classify(0, e.Get("type").String(), msg, nil)}}, nil
	}
	return nil, nil
}

// mergeUsage folds a usage object into the totals: message_start carries the
// input side, message_delta the cumulative output (and, in newer API
// versions, the input fields again).
func (d *StreamDecoder) mergeUsage(u gjson.Result) {
	w := wireUsage{
		InputTokens:              d.usage.PromptTokens - d.usage.CachedTokens - d.usage.CacheWriteTokens,
		OutputTokens:             d.usage.CompletionTokens,
		CacheReadInputTokens:     d.usage.CachedTokens,
		CacheCreationInputTokens: d.usage.CacheWriteTokens,
	}
	if v := u.Get("input_tokens"); v.Type == gjson.Number {
		w.InputTokens = v.Int()
	}
	if v := u.Get("output_tokens"); v.Type == gjson.Number {
		w.OutputTokens = v.Int()
	}
	if v := u.Get("cache_read_input_tokens"); v.Type == gjson.Number {
		w.CacheReadInputTokens = v.Int()
	}
	if v := u.Get("cache_creation_input_tokens"); v.Type == gjson.Number {
		w.CacheCreationInputTokens = v.Int()
	}
	d.usage = usage(&w)
}

func (d *StreamDecoder) blockStart(root gjson.Result) ([]llm.StreamEvent, error) {
	idx := root.Get("index")
	cb := root.Get("content_block")
	if idx.Type != gjson.Number || !cb.IsObject() {
		return nil, fmt.Errorf("anthropic stream: content_block_start needs index and content_block")
	}
	if d.blocks == nil {
		d.blocks = make(map[int64]streamBlock, 4)
	}
	var out []llm.StreamEvent
	b := streamBlock{}
	switch cb.Get("type").String() {
	case "text":
		b.kind = blockText
		if t := cb.Get("text").String(); t != "" {
			out = append(out, llm.StreamEvent{Kind: llm.EventText, Text: t})
		}
	case "thinking":
		b.kind = blockThinking
		if t := cb.Get("thinking").String(); t != "" {
			out = append(out, llm.StreamEvent{Kind: llm.EventThinking, Text: t})
		}
	case "tool_use":
		name := cb.Get("name").String()
		if d.JSONTool != "" && name == d.JSONTool {
			b.kind = blockJSONTool
			d.emulated = true
			break
		}
		b.kind, b.tool = blockTool, d.toolCalls
		d.toolCalls++
		out = append(out, llm.StreamEvent{Kind: llm.EventToolCallStart, Index: b.tool,
			ToolCall: &llm.ToolCall{ID: cb.Get("id").String(), Name: name}})
		if in := cb.Get("input"); in.IsObject() && len(in.Map()) > 0 {
			out = append(out, llm.StreamEvent{Kind: llm.EventToolCallDelta, Index: b.tool,
				ToolCall: &llm.ToolCall{Arguments: compactJSON([]byte(in.Raw))}})
		}
	case "redacted_thinking":
		// Encrypted reasoning comes whole, with no deltas; it must reach
		// an Anthropic client verbatim to continue the conversation.
		if data := cb.Get("data").String(); data != "" {
			out = append(out, llm.StreamEvent{Kind: llm.EventThinking, Data: data})
		}
	}
	// Server-tool blocks have no stream event and are dropped.
	d.blocks[idx.Int()] = b
	return out, nil
}

func (d *StreamDecoder) blockDelta(root gjson.Result) ([]llm.StreamEvent, error) {
	idx := root.Get("index")
	delta := root.Get("delta")
	if idx.Type != gjson.Number || !delta.IsObject() {
		return nil, fmt.Errorf("anthropic stream: content_block_delta needs index and delta")
	}
	b, ok := d.blocks[idx.Int()]
	if !ok {
		return nil, fmt.Errorf("anthropic stream: delta for content block %d that never started", idx.Int())
	}
	switch delta.Get("type").String() {
	case "text_delta":
		if b.kind == blockText {
			return []llm.StreamEvent{{Kind: llm.EventText, Text: delta.Get("text").String()}}, nil
		}
	case "thinking_delta":
		if b.kind == blockThinking {
			return []llm.StreamEvent{{Kind: llm.EventThinking, Text: delta.Get("thinking").String()}}, nil
		}
	case "signature_delta":
		if b.kind == blockThinking {
			return []llm.StreamEvent{{Kind: llm.EventThinking, Signature: delta.Get("signature").String(), SignatureVendor: llm.VendorAnthropic}}, nil
		}
	case "input_json_delta":
		pj := delta.Get("partial_json").String()
		switch b.kind {
		case blockTool:
			if pj == "" {
				return nil, nil // Anthropic opens with an empty piece
			}
			return []llm.StreamEvent{{Kind: llm.EventToolCallDelta, Index: b.tool, ToolCall: &llm.ToolCall{Arguments: pj}}}, nil
		case blockJSONTool:
			if pj != "" {
				return []llm.StreamEvent{{Kind: llm.EventText, Text: pj}}, nil
			}
		}
	}
	return nil, nil
}
