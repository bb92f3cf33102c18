package openai

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/jsonscan"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// ChunkEncoder turns canonical stream events into chat.completion.chunk SSE
// events for an OpenAI client. The caller sets ID, Model, Created and
// IncludeUsage (the client's stream_options.include_usage) before the first
// event; the events' own ID and Model are not used, so the client sees the
// gateway's generation id and the model name it asked for.
//
// Usage follows SPEC: a client that asked for it gets a final usage-only
// chunk with empty choices; a client that did not must never see a chunk
// with empty choices, so its finish chunk is held until usage arrives (or
// Close) and the usage rides on it.
type ChunkEncoder struct {
	ID           string
	Model        string
	Created      int64
	IncludeUsage bool

	started bool
	ended   bool // finish or error sent (or held); later content is dropped
	closed  bool
	held    []byte // the finish chunk, without its closing '}'
	scratch []byte // reused for content chunks, which are copied out at once
	usage   llm.Usage
	hasUse  bool
	useSent bool
}

// Event appends the SSE events for ev to out.
func (e *ChunkEncoder) Event(out []byte, ev llm.StreamEvent) []byte {
	if e.closed {
		return out
	}
	switch ev.Kind {
	case llm.EventStart:
		return e.start(out)
	case llm.EventUsage:
		if ev.Usage == nil {
			return out
		}
		e.usage, e.hasUse = *ev.Usage, true
		if !e.IncludeUsage && e.held != nil {
			return e.flushHeld(out)
		}
		return out
	case llm.EventError:
		return e.fail(out, ev.Error)
	}
	if e.ended {
		return out
	}
	switch ev.Kind {
	case llm.EventText:
		if ev.Text == "" {
			return out
		}
		out = e.start(out)
		b := e.open(e.scratch[:0])
		b = append(b, `{"content":`...)
		b = jsonstr.Append(b, ev.Text)
		return e.emit(out, e.close(append(b, '}'), ""))
	case llm.EventThinking:
		if ev.Text == "" { // a bare signature: OpenAI has nowhere to put it
			return out
		}
		out = e.start(out)
		b := e.open(e.scratch[:0])
		b = append(b, `{"reasoning_content":`...)
		b = jsonstr.Append(b, ev.Text)
		return e.emit(out, e.close(append(b, '}'), ""))
	case llm.EventToolCallStart:
		out = e.start(out)
		var tc llm.ToolCall
		if ev.ToolCall != nil {
			tc = *ev.ToolCall
		}
		b := e.open(make([]byte, 0, 256))
		b = append(b, `{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(ev.Index), 10)
		b = append(b, `,"id":`...)
		b = jsonstr.Append(b, tc.ID)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = jsonstr.Append(b, tc.Name)
		b = append(b, `,"arguments":`...)
		b = jsonstr.Append(b, tc.Arguments)
		b = append(b, "}}]}"...)
		return appendEvent(out, e.close(b, ""))
	case llm.EventToolCallDelta:
		if ev.ToolCall == nil || ev.ToolCall.Arguments == "" {
			return out
		}
		out = e.start(out)
		b := e.open(e.scratch[:0])
		b = append(b, `{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(ev.Index), 10)
		b = append(b, `,"function":{"arguments":`...)
		b = jsonstr.Append(b, ev.ToolCall.Arguments)
		b = append(b, "}}]}"...)
		return e.emit(out, e.close(b, ""))
	case llm.EventFinish:
		out = e.start(out)
		e.ended = true
		fr := ev.FinishReason
		if fr == "" {
			fr = llm.FinishStop
		}
		b := e.open(make([]byte, 0, 256))
		b = append(b, "{}"...)
		b = e.close(b, fr)
		if e.IncludeUsage {
			return appendEvent(out, b)
		}
		e.held = b[:len(b)-1] // reopen: usage may be added
		if e.hasUse {
			return e.flushHeld(out)
		}
		return out
	}
	return out
}

// Close flushes what is held, the usage-only chunk when the client asked
// for usage, and appends "data: [DONE]" exactly once.
func (e *ChunkEncoder) Close(out []byte) []byte {
	if e.closed {
		return out
	}
	if e.held != nil {
		out = e.flushHeld(out)
	}
	if e.IncludeUsage && e.hasUse && !e.useSent {
		b := e.header(make([]byte, 0, 256))
		b = append(b, `"choices":[],"usage":`...)
		b = appendUsage(b, e.usage)
		out = appendEvent(out, append(b, '}'))
		e.useSent = true
	}
	e.closed = true
	return append(out, doneEvent...)
}

// emit frames a chunk built in scratch and keeps scratch for the next one.
func (e *ChunkEncoder) emit(out, chunk []byte) []byte {
	out = appendEvent(out, chunk)
	e.scratch = chunk[:0]
	return out
}

func (e *ChunkEncoder) start(out []byte) []byte {
	if e.started {
		return out
	}
	e.started = true
	b := e.open(make([]byte, 0, 192))
	b = append(b, `{"role":"assistant","content":""}`...)
	return appendEvent(out, e.close(b, ""))
}

// fail ends the stream with a chunk whose finish_reason is "error" and which
// carries the error object (as Stream.Fail does for passthrough). If the
// answer had already finished, only the held finish chunk is sent.
func (e *ChunkEncoder) fail(out []byte, le *llm.Error) []byte {
	if e.ended {
		if e.held != nil {
			out = e.flushHeld(out)
		}
		return out
	}
	if le == nil {
		le = llm.UpstreamError("the upstream stream failed", nil)
	}
	out = e.start(out)
	e.ended = true
	b := e.open(make([]byte, 0, 384))
	b = append(b, "{}"...)
	b = e.close(b, llm.FinishError)
	b = b[:len(b)-1]
	if e.hasUse && !e.IncludeUsage {
		b = append(b, `,"usage":`...)
		b = appendUsage(b, e.usage)
		e.useSent = true
	}
	b = append(b, `,"error":`...)
	b = appendErrorJSON(b, le)
	return appendEvent(out, append(b, '}'))
}

// appendErrorJSON writes the OpenAI error object like AppendErrorObject,
// but with JSON escaping: strconv.AppendQuote (used there) writes Go
// escapes such as \x7f, which are not JSON, and the upstream's error text
// reaches here unfiltered.
func appendErrorJSON(b []byte, e *llm.Error) []byte {
	b = append(b, `{"message":`...)
	b = jsonstr.Append(b, e.Message)
	b = append(b, `,"type":`...)
	b = jsonstr.Append(b, e.Type)
	for _, f := range [...]struct{ k, v string }{{`,"param":`, e.Param}, {`,"code":`, e.Code}} {
		b = append(b, f.k...)
		if f.v == "" {
			b = append(b, "null"...)
		} else {
			b = jsonstr.Append(b, f.v)
		}
	}
	return append(b, '}')
}

func (e *ChunkEncoder) flushHeld(out []byte) []byte {
	b := e.held
	e.held = nil
	if e.hasUse {
		b = append(b, `,"usage":`...)
		b = appendUsage(b, e.usage)
		e.useSent = true
	}
	return appendEvent(out, append(b, '}'))
}

func (e *ChunkEncoder) header(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = jsonstr.Append(b, e.ID)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, e.Created, 10)
	b = append(b, `,"model":`...)
	b = jsonstr.Append(b, e.Model)
	return append(b, ',')
}

// open starts a one-choice chunk up to the delta's value.
func (e *ChunkEncoder) open(b []byte) []byte {
	b = e.header(b)
	return append(b, `"choices":[{"index":0,"delta":`...)
}

// close ends a chunk opened by open after its delta.
func (e *ChunkEncoder) close(b []byte, fr llm.FinishReason) []byte {
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	if fr == "" {
		b = append(b, "null"...)
	} else {
		b = jsonstr.Append(b, string(fr))
	}
	return append(b, "}]}"...)
}

// ChunkDecoder turns an OpenAI-compatible upstream's chat.completion.chunk
// payloads into canonical stream events. Only the first choice is read
// (the gateway does not stream n > 1 across dialects).
//
// The events' Text and Arguments point into data, which the caller's SSE
// reader reuses: use them before the next Event. Everything a consumer may
// keep longer (ids, names, the finish reason, error messages) is copied.
type ChunkDecoder struct {
	started  bool
	done     bool
	finished bool
	// tools maps an upstream tool-call index to whether its start was sent.
	tools   map[int]bool
	lastIdx int
	lastID  string
}

// Done reports whether [DONE] arrived. Finished reports whether a
// finish_reason did; a stream that ends with neither was cut short.
func (d *ChunkDecoder) Done() bool     { return d.done }
func (d *ChunkDecoder) Finished() bool { return d.finished }

// Event decodes one SSE "data:" payload. [DONE] yields nothing. A payload
// that is not a JSON object is an *llm.Error wrapping ErrMalformedChunk; an
// error object inside the stream is an EventError.
func (d *ChunkDecoder) Event(data []byte) ([]llm.StreamEvent, error) {
	data = bytes.TrimSpace(data)
	if string(data) == "[DONE]" {
		d.done = true
		return nil, nil
	}
	s := bytesToString(data)
	if jsonscan.Check(data, jsonscan.Options{}) != nil {
		return nil, llm.UpstreamError("upstream sent a malformed stream chunk", ErrMalformedChunk)
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return nil, llm.UpstreamError("upstream sent a malformed stream chunk", ErrMalformedChunk)
	}
	var evs []llm.StreamEvent
	if e := root.Get("error"); e.Exists() && e.Type != gjson.Null {
		if u := root.Get("usage"); u.IsObject() {
			us := ReadUsage(u)
			evs = append(evs, llm.StreamEvent{Kind: llm.EventUsage, Usage: &us})
		}
		return append(evs, llm.StreamEvent{Kind: llm.EventError, Error: upstreamErrorFrom(gjson.Parse(strings.Clone(e.Raw)))}), nil
	}
	choice := root.Get("choices.0")
	usage := root.Get("usage")
	if !choice.IsObject() && !usage.IsObject() {
		// Azure opens with an empty chunk (no id, no choices) that carries
		// only prompt_filter_results; it is not the answer's start.
		return nil, nil
	}
	if !d.started {
		d.started = true
		evs = append(evs, llm.StreamEvent{Kind: llm.EventStart, ID: strings.Clone(root.Get("id").Str), Model: strings.Clone(root.Get("model").Str)})
	}
	if choice.IsObject() {
		delta := choice.Get("delta")
		for _, k := range []string{"reasoning_content", "reasoning"} {
			if v := delta.Get(k); v.Type == gjson.String && v.Str != "" {
				evs = append(evs, llm.StreamEvent{Kind: llm.EventThinking, Text: v.Str})
				break
			}
		}
		if c := delta.Get("content"); c.Type == gjson.String && c.Str != "" {
			evs = append(evs, llm.StreamEvent{Kind: llm.EventText, Text: c.Str})
		}
		pos := 0
		delta.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			evs = d.toolCall(evs, tc, pos)
			pos++
			return true
		})
		if fc := delta.Get("function_call"); fc.IsObject() { // legacy
			evs = d.toolCall(evs, fc, 0)
		}
		if fr := choice.Get("finish_reason"); fr.Type == gjson.String && fr.Str != "" {
			d.finished = true
			evs = append(evs, llm.StreamEvent{Kind: llm.EventFinish, FinishReason: finishReason(strings.Clone(fr.Str))})
		}
	}
	if usage.IsObject() {
		us := ReadUsage(usage)
		evs = append(evs, llm.StreamEvent{Kind: llm.EventUsage, Usage: &us})
	}
	return evs, nil
}

// toolCall handles one tool-call delta. Some compatible servers omit
// "index" (one call per chunk, each starting with its id); a new id then
// starts a new call.
func (d *ChunkDecoder) toolCall(evs []llm.StreamEvent, tc gjson.Result, pos int) []llm.StreamEvent {
	if d.tools == nil {
		d.tools = map[int]bool{}
	}
	id := strings.Clone(tc.Get("id").Str)
	name := strings.Clone(tc.Get("function.name").Str)
	if tc.Get("function").Type == gjson.Null || !tc.Get("function").Exists() {
		name = strings.Clone(tc.Get("name").Str) // legacy function_call delta
	}
	idx := pos
	if v := tc.Get("index"); v.Type == gjson.Number {
		idx = int(v.Int())
	} else if id != "" && id != d.lastID && d.tools[d.lastIdx] {
		idx = len(d.tools)
	} else if len(d.tools) > 0 {
		idx = d.lastIdx
	}
	if id != "" {
		d.lastID = id
	}
	d.lastIdx = idx
	if !d.tools[idx] && (id != "" || name != "") {
		d.tools[idx] = true
		evs = append(evs, llm.StreamEvent{Kind: llm.EventToolCallStart, Index: idx, ToolCall: &llm.ToolCall{ID: id, Name: name}})
	}
	args := tc.Get("function.arguments").Str
	if args == "" {
		args = tc.Get("arguments").Str
	}
	if args != "" {
		if !d.tools[idx] { // arguments before any id or name: start it anyway
			d.tools[idx] = true
			evs = append(evs, llm.StreamEvent{Kind: llm.EventToolCallStart, Index: idx, ToolCall: &llm.ToolCall{}})
		}
		evs = append(evs, llm.StreamEvent{Kind: llm.EventToolCallDelta, Index: idx, ToolCall: &llm.ToolCall{Arguments: args}})
	}
	return evs
}
