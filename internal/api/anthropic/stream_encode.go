package anthropic

import (
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// StreamEncoder renders canonical stream events as the Messages API SSE
// sequence the Anthropic SDKs expect: message_start, then for each content
// block content_block_start / content_block_delta… / content_block_stop, then
// message_delta (stop reason and usage) and message_stop.
//
// ID and Model are used for message_start when no EventStart provides them
// (set them before the first event). Call Close once at the end.
type StreamEncoder struct {
	ID    string
	Model string

	started  bool
	open     bool        // a content block is open
	openKind blockKind   // its kind
	openTool int         // its tool index, for blockTool
	next     int         // the next content block index
	tools    map[int]int // tool call Index → content block index

	usage     llm.Usage
	finish    llm.FinishReason
	haveUsage bool // usage arrived after message_start
	pending   bool // finished, message_delta held for usage
	deltaSent bool
	done      bool // message_stop or error sent
}

// Ping appends a keep-alive event, as Anthropic sends one.
func Ping(out []byte) []byte {
	return append(out, "event: ping\ndata: {\"type\": \"ping\"}\n\n"...)
}

// Event appends the SSE text for ev to out.
func (e *StreamEncoder) Event(out []byte, ev llm.StreamEvent) []byte {
	if e.done {
		return out
	}
	if ev.Kind == llm.EventStart {
		if ev.ID != "" {
			e.ID = ev.ID
		}
		if ev.Model != "" {
			e.Model = ev.Model
		}
		if ev.Usage != nil {
			e.usage = *ev.Usage
		}
		return e.start(out)
	}
	if ev.Kind == llm.EventError {
		out = e.start(out)
		msg := "upstream error"
		status := 0
		if ev.Error != nil {
			msg, status = ev.Error.Message, ev.Error.Status
		}
		e.done = true
		return appendEvent(out, "error", appendErrorEnvelope(nil, &llm.Error{Status: status, Message: msg}))
	}
	out = e.start(out)
	switch ev.Kind {
	case llm.EventText:
		if ev.Text == "" {
			return out
		}
		out = e.openBlock(out, blockText, 0, nil)
		return e.delta(out, e.next-1, `{"type":"text_delta","text":`, ev.Text)
	case llm.EventThinking:
		if ev.Data != "" {
			return e.redacted(out, ev.Data)
		}
		// Another vendor's signature is not passed on: the client would
		// send it back, and Anthropic refuses it.
		sig := anthropicSignature(ev.Signature, ev.SignatureVendor)
		if ev.Text == "" && sig == "" {
			return out
		}
		out = e.openBlock(out, blockThinking, 0, nil)
		if ev.Text != "" {
			out = e.delta(out, e.next-1, `{"type":"thinking_delta","thinking":`, ev.Text)
		}
		if sig != "" {
			out = e.delta(out, e.next-1, `{"type":"signature_delta","signature":`, sig)
		}
		return out
	case llm.EventToolCallStart:
		tc := ev.ToolCall
		if tc == nil {
			tc = &llm.ToolCall{}
		}
		out = e.openBlock(out, blockTool, ev.Index, tc)
		if tc.Arguments != "" {
			out = e.delta(out, e.next-1, `{"type":"input_json_delta","partial_json":`, tc.Arguments)
		}
		return out
	case llm.EventToolCallDelta:
		if ev.ToolCall == nil || ev.ToolCall.Arguments == "" {
			return out
		}
		block, ok := e.tools[ev.Index]
		if !ok {
			// A delta before its start: open the block without id or name.
			out = e.closeBlock(out)
			out = e.openBlock(out, blockTool, ev.Index, &llm.ToolCall{})
			block = e.next - 1
		}
		// A delta for an earlier tool goes to that tool's block index; the
		// SDKs accumulate by index.
		return e.delta(out, block, `{"type":"input_json_delta","partial_json":`, ev.ToolCall.Arguments)
	case llm.EventFinish:
		out = e.closeBlock(out)
		e.finish = ev.FinishReason
		if ev.Usage != nil {
			e.usage, e.haveUsage = *ev.Usage, true
		}
		if e.haveUsage {
			return e.messageDelta(out)
		}
		e.pending = true // usage may follow; Close flushes otherwise
		return out
	case llm.EventUsage:
		if ev.Usage != nil {
			e.usage, e.haveUsage = *ev.Usage, true
		}
		if e.pending {
			e.pending = false
			return e.messageDelta(out)
		}
	}
	return out
}

// Close ends the stream: it closes an open block, flushes a held
// message_delta (or sends one with a null stop_reason when no EventFinish
// came) and appends message_stop, once. After an error event it
// appends nothing: Anthropic ends a failed stream at the error.
func (e *StreamEncoder) Close(out []byte) []byte {
	if e.done {
		return out
	}
	out = e.start(out)
	out = e.closeBlock(out)
	if e.pending || !e.deltaSent {
		out = e.messageDelta(out)
	}
	e.done = true
	return appendEvent(out, "message_stop", []byte(`{"type":"message_stop"}`))
}

func (e *StreamEncoder) start(out []byte) []byte {
	if e.started {
		return out
	}
	e.started = true
	u := usageOut(e.usage)
	b := append([]byte(nil), `{"type":"message_start","message":{"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendString(b, e.Model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, u.InputTokens, 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, u.CacheCreationInputTokens, 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, u.CacheReadInputTokens, 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, u.OutputTokens, 10)
	b = append(b, "}}}"...)
	return appendEvent(out, "message_start", b)
}

// openBlock opens a block of kind unless one is already open (text and
// thinking continue their block; tools always open a new one).
func (e *StreamEncoder) openBlock(out []byte, kind blockKind, tool int, tc *llm.ToolCall) []byte {
	if e.open && e.openKind == kind && kind != blockTool {
		return out
	}
	out = e.closeBlock(out)
	idx := e.next
	e.next++
	e.open, e.openKind, e.openTool = true, kind, tool
	b := append([]byte(nil), `{"type":"content_block_start","index":`...)
	b = strconv.AppendInt(b, int64(idx), 10)
	switch kind {
	case blockText:
		b = append(b, `,"content_block":{"type":"text","text":""}}`...)
	case blockThinking:
		b = append(b, `,"content_block":{"type":"thinking","thinking":"","signature":""}}`...)
	case blockTool:
		if e.tools == nil {
			e.tools = make(map[int]int, 2)
		}
		e.tools[tool] = idx
		b = append(b, `,"content_block":{"type":"tool_use","id":`...)
		b = appendString(b, tc.ID)
		b = append(b, `,"name":`...)
		b = appendString(b, tc.Name)
		b = append(b, `,"input":{}}}`...)
	}
	return appendEvent(out, "content_block_start", b)
}

// redacted appends a whole redacted_thinking block: Anthropic sends its
// data in content_block_start and no deltas.
func (e *StreamEncoder) redacted(out []byte, data string) []byte {
	out = e.closeBlock(out)
	idx := e.next
	e.next++
	b := append([]byte(nil), `{"type":"content_block_start","index":`...)
	b = strconv.AppendInt(b, int64(idx), 10)
	b = append(b, `,"content_block":{"type":"redacted_thinking","data":`...)
	b = appendString(b, data)
	b = append(b, "}}"...)
	out = appendEvent(out, "content_block_start", b)
	return e.stop(out, idx)
}

func (e *StreamEncoder) closeBlock(out []byte) []byte {
	if !e.open {
		return out
	}
	e.open = false
	e.openKind = blockIgnored
	return e.stop(out, e.next-1)
}

func (e *StreamEncoder) stop(out []byte, idx int) []byte {
	b := append([]byte(nil), `{"type":"content_block_stop","index":`...)
	b = strconv.AppendInt(b, int64(idx), 10)
	b = append(b, '}')
	return appendEvent(out, "content_block_stop", b)
}

func (e *StreamEncoder) delta(out []byte, idx int, prefix, s string) []byte {
	b := append([]byte(nil), `{"type":"content_block_delta","index":`...)
	b = strconv.AppendInt(b, int64(idx), 10)
	b = append(b, `,"delta":`...)
	b = append(b, prefix...)
	b = appendString(b, s)
	b = append(b, "}}"...)
	return appendEvent(out, "content_block_delta", b)
}

func (e *StreamEncoder) messageDelta(out []byte) []byte {
	e.pending, e.deltaSent = false, true
	b := append([]byte(nil), `{"type":"message_delta","delta":{"stop_reason":`...)
	if e.finish == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, stopReason(e.finish))
	}
	u := usageOut(e.usage)
	b = append(b, `,"stop_sequence":null},"usage":{"input_tokens":`...)
	b = strconv.AppendInt(b, u.InputTokens, 10)
	b = append(b, `,"cache_creation_input_tokens":`...)
	b = strconv.AppendInt(b, u.CacheCreationInputTokens, 10)
	b = append(b, `,"cache_read_input_tokens":`...)
	b = strconv.AppendInt(b, u.CacheReadInputTokens, 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, u.OutputTokens, 10)
	b = append(b, "}}"...)
	return appendEvent(out, "message_delta", b)
}

func appendEvent(out []byte, name string, data []byte) []byte {
	out = append(out, "event: "...)
	out = append(out, name...)
	out = append(out, "\ndata: "...)
	out = append(out, data...)
	return append(out, "\n\n"...)
}
