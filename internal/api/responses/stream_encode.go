package responses

import (
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// StreamEncoder renders canonical stream events as the Responses API SSE
// sequence the SDKs read, each event "event: <type>" and a JSON object
// with "type" and "sequence_number":
//
//	response.created, response.in_progress
//	per text run:   output_item.added (message), content_part.added,
//	                output_text.delta…, output_text.done,
//	                content_part.done, output_item.done
//	per thinking:   output_item.added (reasoning),
//	                reasoning_summary_part.added,
//	                reasoning_summary_text.delta…, …text.done, …part.done,
//	                output_item.done
//	per tool call:  output_item.added (function_call),
//	                function_call_arguments.delta…, …arguments.done,
//	                output_item.done
//	response.completed | response.incomplete (with the whole Response,
//	usage and usage.cost), or on an error: error, response.failed.
//
// A message or reasoning item ends when another item begins; tool call
// items stay open until the finish, so that a late delta for an earlier
// call still lands on its item. Usage may arrive after the finish: the
// final event waits for it (or for Close).
//
// Set ID, Model and Options before the first event; the events' own id and
// model are used only when these are empty. Call Close once at the end.
type StreamEncoder struct {
	ID    string
	Model string
	Options
	// OnFinal, if set, receives the Response object of response.completed
	// or response.incomplete just before that event is written: the whole
	// answer as a client that reads the stream sees it (the relay stores
	// it). Not called for a failed response.
	OnFinal func(response []byte)

	seq      int64
	started  bool
	finished bool // EventFinish seen: items closed, final event pending
	closed   bool // final event sent
	finish   llm.FinishReason
	items    []*item
	open     *item         // the open message or reasoning item
	tools    map[int]*item // tool call Index → its item
	usage    llm.Usage
	hasUsage bool
}

// KeepAlive appends an SSE comment, which every SSE reader skips.
func KeepAlive(out []byte) []byte {
	return append(out, ": keep-alive\n\n"...)
}

// Event appends the SSE events for ev to out.
func (e *StreamEncoder) Event(out []byte, ev llm.StreamEvent) []byte {
	if e.closed {
		return out
	}
	switch ev.Kind {
	case llm.EventStart:
		if e.ID == "" {
			e.ID = ev.ID
		}
		if e.Model == "" {
			e.Model = ev.Model
		}
		return e.start(out)
	case llm.EventUsage:
		if ev.Usage != nil {
			e.usage, e.hasUsage = *ev.Usage, true
		}
		if e.finished {
			return e.final(out)
		}
		return out
	case llm.EventError:
		return e.fail(out, ev.Error)
	}
	if e.finished {
		return out
	}
	out = e.start(out)
	switch ev.Kind {
	case llm.EventText:
		if ev.Text == "" {
			return out
		}
		out = e.openItem(out, itemMessage)
		it := e.open
		it.text = append(it.text, ev.Text...)
		b := e.header("response.output_text.delta")
		b = appendItemRef(b, it.id, e.index(it))
		b = append(b, `,"content_index":0,"delta":`...)
		b = jsonstr.Append(b, ev.Text)
		b = append(b, `,"logprobs":[]}`...)
		return appendEvent(out, "response.output_text.delta", b)
	case llm.EventThinking:
		if ev.Text == "" && ev.Signature == "" {
			return out
		}
		out = e.openItem(out, itemReasoning)
		it := e.open
		if ev.Signature != "" {
			it.signature = ev.Signature
		}
		if ev.Text == "" {
			return out
		}
		it.text = append(it.text, ev.Text...)
		b := e.header("response.reasoning_summary_text.delta")
		b = appendItemRef(b, it.id, e.index(it))
		b = append(b, `,"summary_index":0,"delta":`...)
		b = jsonstr.Append(b, ev.Text)
		b = append(b, '}')
		return appendEvent(out, "response.reasoning_summary_text.delta", b)
	case llm.EventToolCallStart:
		var tc llm.ToolCall
		if ev.ToolCall != nil {
			tc = *ev.ToolCall
		}
		out = e.openTool(out, ev.Index, tc.ID, tc.Name)
		return e.arguments(out, ev.Index, tc.Arguments)
	case llm.EventToolCallDelta:
		if ev.ToolCall == nil || ev.ToolCall.Arguments == "" {
			return out
		}
		if _, ok := e.tools[ev.Index]; !ok {
			// A delta before its start: open the item without id or name.
			out = e.openTool(out, ev.Index, "", "")
		}
		return e.arguments(out, ev.Index, ev.ToolCall.Arguments)
	case llm.EventFinish:
		e.finish = ev.FinishReason
		if ev.Usage != nil {
			e.usage, e.hasUsage = *ev.Usage, true
		}
		out = e.closeAll(out)
		e.finished = true
		if e.hasUsage {
			return e.final(out)
		}
	}
	return out
}

// Close ends the stream: items still open are finished and the final event
// is sent, once. A stream that ended without a finish reason is reported
// as completed (the relay sends an EventError for a cut stream first).
func (e *StreamEncoder) Close(out []byte) []byte {
	if e.closed {
		return out
	}
	out = e.start(out)
	if !e.finished {
		out = e.closeAll(out)
		e.finished = true
	}
	return e.final(out)
}

func (e *StreamEncoder) index(it *item) int { return it.index }

func (e *StreamEncoder) answer(status string) *answer {
	a := &answer{id: e.ID, model: e.Model, created: e.Created, status: status, items: e.items}
	if e.hasUsage {
		a.usage = &e.usage
	}
	return a
}

func (e *StreamEncoder) start(out []byte) []byte {
	if e.started {
		return out
	}
	e.started = true
	for _, typ := range [...]string{"response.created", "response.in_progress"} {
		b := e.header(typ)
		b = append(b, `,"response":`...)
		b = appendResponse(b, e.answer("in_progress"), &e.Options)
		out = appendEvent(out, typ, append(b, '}'))
	}
	return out
}

// openItem makes an item of kind the open one, closing another.
func (e *StreamEncoder) openItem(out []byte, kind itemKind) []byte {
	if e.open != nil && e.open.kind == kind {
		return out
	}
	out = e.closeOpen(out)
	it := &item{kind: kind, id: itemID(kind, e.ID, len(e.items)), index: len(e.items)}
	e.items = append(e.items, it)
	e.open = it
	out = e.itemEvent(out, "response.output_item.added", it, "in_progress")
	idx := len(e.items) - 1
	if kind == itemMessage {
		b := e.header("response.content_part.added")
		b = appendItemRef(b, it.id, idx)
		b = append(b, `,"content_index":0,"part":`...)
		b = appendTextPart(b, nil)
		return appendEvent(out, "response.content_part.added", append(b, '}'))
	}
	b := e.header("response.reasoning_summary_part.added")
	b = appendItemRef(b, it.id, idx)
	b = append(b, `,"summary_index":0,"part":`...)
	b = appendSummaryPart(b, nil)
	return appendEvent(out, "response.reasoning_summary_part.added", append(b, '}'))
}

func (e *StreamEncoder) openTool(out []byte, index int, callID, name string) []byte {
	out = e.closeOpen(out)
	if old, ok := e.tools[index]; ok {
		// The same index started twice: finish the first item.
		out = e.closeItem(out, old)
	}
	it := &item{kind: itemFunction, id: itemID(itemFunction, e.ID, len(e.items)), index: len(e.items), callID: callID, name: name}
	e.items = append(e.items, it)
	if e.tools == nil {
		e.tools = make(map[int]*item, 2)
	}
	e.tools[index] = it
	return e.itemEvent(out, "response.output_item.added", it, "in_progress")
}

func (e *StreamEncoder) arguments(out []byte, index int, delta string) []byte {
	if delta == "" {
		return out
	}
	it := e.tools[index]
	it.text = append(it.text, delta...)
	b := e.header("response.function_call_arguments.delta")
	b = appendItemRef(b, it.id, e.index(it))
	b = append(b, `,"delta":`...)
	b = jsonstr.Append(b, delta)
	return appendEvent(out, "response.function_call_arguments.delta", append(b, '}'))
}

func (e *StreamEncoder) closeOpen(out []byte) []byte {
	if e.open == nil {
		return out
	}
	it := e.open
	e.open = nil
	return e.closeItem(out, it)
}

// closeAll finishes every open item in output order.
func (e *StreamEncoder) closeAll(out []byte) []byte {
	e.open = nil
	for _, it := range e.items {
		out = e.closeItem(out, it)
	}
	return out
}

// closeItem sends an item's done events, once.
func (e *StreamEncoder) closeItem(out []byte, it *item) []byte {
	if it.done {
		return out
	}
	it.done = true
	idx := e.index(it)
	switch it.kind {
	case itemMessage:
		b := e.header("response.output_text.done")
		b = appendItemRef(b, it.id, idx)
		b = append(b, `,"content_index":0,"text":`...)
		b = jsonstr.Append(b, string(it.text))
		out = appendEvent(out, "response.output_text.done", append(b, `,"logprobs":[]}`...))
		b = e.header("response.content_part.done")
		b = appendItemRef(b, it.id, idx)
		b = append(b, `,"content_index":0,"part":`...)
		b = appendTextPart(b, it.text)
		out = appendEvent(out, "response.content_part.done", append(b, '}'))
	case itemReasoning:
		b := e.header("response.reasoning_summary_text.done")
		b = appendItemRef(b, it.id, idx)
		b = append(b, `,"summary_index":0,"text":`...)
		b = jsonstr.Append(b, string(it.text))
		out = appendEvent(out, "response.reasoning_summary_text.done", append(b, '}'))
		b = e.header("response.reasoning_summary_part.done")
		b = appendItemRef(b, it.id, idx)
		b = append(b, `,"summary_index":0,"part":`...)
		b = appendSummaryPart(b, it.text)
		out = appendEvent(out, "response.reasoning_summary_part.done", append(b, '}'))
	case itemFunction:
		b := e.header("response.function_call_arguments.done")
		b = appendItemRef(b, it.id, idx)
		b = append(b, `,"name":`...)
		b = jsonstr.Append(b, it.name)
		b = append(b, `,"arguments":`...)
		b = jsonstr.Append(b, string(it.text))
		out = appendEvent(out, "response.function_call_arguments.done", append(b, '}'))
	}
	status := "completed"
	if it.kind == itemMessage && e.finish == llm.FinishLength {
		status = "incomplete"
	}
	return e.itemEvent(out, "response.output_item.done", it, status)
}

func (e *StreamEncoder) itemEvent(out []byte, typ string, it *item, status string) []byte {
	b := e.header(typ)
	b = append(b, `,"output_index":`...)
	b = strconv.AppendInt(b, int64(e.index(it)), 10)
	b = append(b, `,"item":`...)
	b = appendItem(b, it, status)
	return appendEvent(out, typ, append(b, '}'))
}

// final sends response.completed or response.incomplete, once.
func (e *StreamEncoder) final(out []byte) []byte {
	e.closed = true
	status, reason := finishStatus(e.finish)
	if status == "failed" {
		return e.failed(out, llm.UpstreamError("the upstream stopped with an error", nil))
	}
	typ := "response.completed"
	if status == "incomplete" {
		typ = "response.incomplete"
	}
	a := e.answer(status)
	a.reason = reason
	b := e.header(typ)
	b = append(b, `,"response":`...)
	start := len(b)
	b = appendResponse(b, a, &e.Options)
	if e.OnFinal != nil {
		e.OnFinal(b[start:len(b):len(b)])
	}
	return appendEvent(out, typ, append(b, '}'))
}

// fail ends the stream with an error event and response.failed, unless
// the final event is out already. Items still open stay "incomplete" in
// the failed response.
func (e *StreamEncoder) fail(out []byte, le *llm.Error) []byte {
	if le == nil {
		le = llm.UpstreamError("the upstream stream failed", nil)
	}
	out = e.start(out)
	if e.finished {
		// The answer was whole; only usage was awaited.
		return e.final(out)
	}
	e.closed = true
	b := e.header("error")
	b = append(b, `,"code":`...)
	b = jsonstr.Append(b, errorCode(le))
	b = append(b, `,"message":`...)
	b = jsonstr.Append(b, le.Message)
	b = append(b, `,"param":`...)
	if le.Param == "" {
		b = append(b, "null"...)
	} else {
		b = jsonstr.Append(b, le.Param)
	}
	out = appendEvent(out, "error", append(b, '}'))
	return e.failed(out, le)
}

func (e *StreamEncoder) failed(out []byte, le *llm.Error) []byte {
	a := e.answer("failed")
	a.err = le
	b := e.header("response.failed")
	b = append(b, `,"response":`...)
	b = appendResponse(b, a, &e.Options)
	return appendEvent(out, "response.failed", append(b, '}'))
}

// header starts an event's JSON with its type and the next sequence number.
func (e *StreamEncoder) header(typ string) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","sequence_number":`...)
	b = strconv.AppendInt(b, e.seq, 10)
	e.seq++
	return b
}

func appendItemRef(b []byte, id string, index int) []byte {
	b = append(b, `,"item_id":`...)
	b = jsonstr.Append(b, id)
	b = append(b, `,"output_index":`...)
	return strconv.AppendInt(b, int64(index), 10)
}

func appendEvent(out []byte, name string, data []byte) []byte {
	out = append(out, "event: "...)
	out = append(out, name...)
	out = append(out, "\ndata: "...)
	out = append(out, data...)
	return append(out, "\n\n"...)
}
