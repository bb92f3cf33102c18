package responses

import (
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/jsonscan"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// StreamDecoder turns the SSE events of one Responses API stream from an
// upstream into canonical stream events. The zero value is ready.
//
//   - response.created (or the first event, if it is not) → EventStart
//     with the response's id and model;
//   - response.output_text.delta, response.refusal.delta → EventText;
//   - response.reasoning_summary_text.delta (and reasoning_text.delta) →
//     EventThinking; a second summary part opens with a blank line, as
//     DecodeResponse joins them; the reasoning item's encrypted_content
//     (whole only in response.output_item.done) → EventThinking with
//     Signature and SignatureVendor "openai";
//   - a function_call item → EventToolCallStart (Index counts function
//     calls only) and its arguments deltas → EventToolCallDelta;
//   - response.completed / response.incomplete → EventFinish and
//     EventUsage; Complete then reports true;
//   - error and response.failed → one EventError.
//
// An item whose text or arguments came only in its done event (no deltas,
// as some Responses-compatible servers send) is emitted from there. Other
// events (content_part.*, *.done with nothing new, built-in tool events,
// anything added later) are skipped.
type StreamDecoder struct {
	items    map[int64]*streamItem // output_index → item
	tools    int                   // function calls seen: the next Index
	started  bool
	failed   bool
	complete bool
}

// Complete reports whether response.completed or response.incomplete
// arrived: a stream that ends without either was cut (or failed), and the
// caller should treat it as failed.
func (d *StreamDecoder) Complete() bool { return d.complete }

type streamItem struct {
	kind     itemKind // 0: a type this decoder does not read
	tool     int      // the function call's Index
	streamed bool     // text, summary or arguments arrived as deltas
	summary  int64    // the summary part deltas are going to
}

// Event decodes one SSE event; name is the event: line ("" falls back to
// the data's "type"). Malformed data is an error; unknown events are
// skipped.
func (d *StreamDecoder) Event(name string, data []byte) ([]llm.StreamEvent, error) {
	if jsonscan.Check(data, jsonscan.Options{}) != nil {
		return nil, fmt.Errorf("responses stream: event %q: data is not valid JSON", bounded(name, 64))
	}
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return nil, fmt.Errorf("responses stream: event %q: data is not a JSON object", bounded(name, 64))
	}
	if name == "" {
		name = root.Get("type").Str
	}
	if d.failed || d.complete {
		return nil, nil // the stream's outcome is known; nothing after it counts
	}
	var out []llm.StreamEvent
	if !d.started && name != "error" {
		d.started = true
		resp := root.Get("response")
		out = append(out, llm.StreamEvent{Kind: llm.EventStart,
			ID: bounded(resp.Get("id").Str, maxUpstreamID), Model: bounded(resp.Get("model").Str, maxUpstreamID)})
	}
	switch name {
	case "response.output_item.added":
		return d.itemAdded(out, root)
	case "response.output_item.done":
		return d.itemDone(out, root)
	case "response.output_text.delta", "response.refusal.delta":
		if err := d.streamed(root.Get("output_index"), itemMessage); err != nil {
			return nil, err
		}
		return appendTextEvent(out, root.Get("delta").Str), nil
	case "response.reasoning_summary_part.added":
		it := d.items[root.Get("output_index").Int()]
		if si := root.Get("summary_index").Int(); it != nil && si != it.summary {
			it.summary = si
			if it.streamed {
				out = append(out, llm.StreamEvent{Kind: llm.EventThinking, Text: "\n\n"})
			}
		}
		return out, nil
	case "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
		if err := d.streamed(root.Get("output_index"), itemReasoning); err != nil {
			return nil, err
		}
		if t := root.Get("delta").Str; t != "" {
			out = append(out, llm.StreamEvent{Kind: llm.EventThinking, Text: t})
		}
		return out, nil
	case "response.function_call_arguments.delta":
		it, out, err := d.tool(out, root.Get("output_index"), gjson.Result{})
		if err != nil {
			return nil, err
		}
		if a := root.Get("delta").Str; a != "" {
			it.streamed = true
			out = append(out, llm.StreamEvent{Kind: llm.EventToolCallDelta, Index: it.tool, ToolCall: &llm.ToolCall{Arguments: a}})
		}
		return out, nil
	case "response.completed", "response.incomplete":
		d.complete = true
		resp := root.Get("response")
		status := "completed"
		if name == "response.incomplete" {
			status = "incomplete"
		}
		out = append(out, llm.StreamEvent{Kind: llm.EventFinish,
			FinishReason: finishReason(status, resp.Get("incomplete_details.reason").Str, d.tools > 0)})
		if u := resp.Get("usage"); u.IsObject() {
			usage := readUsage(u)
			out = append(out, llm.StreamEvent{Kind: llm.EventUsage, Usage: &usage})
		}
		return out, nil
	case "response.failed":
		d.failed = true
		return append(out, llm.StreamEvent{Kind: llm.EventError,
			Error: responseError(root.Get("response.error"), "the upstream response failed")}), nil
	case "error":
		// An error event carries code, message and param at the top
		// (older servers nest them under "error"); response.failed
		// usually follows and is not reported twice.
		d.failed = true
		e := root
		if ee := root.Get("error"); ee.IsObject() {
			e = ee
		}
		return append(out, llm.StreamEvent{Kind: llm.EventError, Error: responseError(e, "the upstream reported an error mid-stream")}), nil
	}
	return out, nil
}

func appendTextEvent(out []llm.StreamEvent, t string) []llm.StreamEvent {
	if t == "" {
		return out
	}
	return append(out, llm.StreamEvent{Kind: llm.EventText, Text: t})
}

// item returns the item at output_index, making it (of kind) when new.
func (d *StreamDecoder) item(idx gjson.Result, kind itemKind) (*streamItem, bool, error) {
	if idx.Type != gjson.Number {
		return nil, false, fmt.Errorf("responses stream: an item event without output_index")
	}
	i := idx.Int()
	if it, ok := d.items[i]; ok {
		return it, false, nil
	}
	if len(d.items) >= maxOutputItems {
		return nil, false, fmt.Errorf("responses stream: more than %d output items", maxOutputItems)
	}
	if d.items == nil {
		d.items = make(map[int64]*streamItem, 4)
	}
	it := &streamItem{kind: kind}
	d.items[i] = it
	return it, true, nil
}

// streamed marks the item at idx (made of kind if new) as streamed, so
// that its done event does not repeat what the deltas said.
func (d *StreamDecoder) streamed(idx gjson.Result, kind itemKind) error {
	if idx.Type != gjson.Number {
		return nil // no item to mark; the delta still counts
	}
	it, _, err := d.item(idx, kind)
	if err == nil {
		it.streamed = true
	}
	return err
}

// tool returns the function call item at idx, starting it (with the
// call_id and name of fc, when given) if it is new: arguments may come for
// an item whose output_item.added never did.
func (d *StreamDecoder) tool(out []llm.StreamEvent, idx gjson.Result, fc gjson.Result) (*streamItem, []llm.StreamEvent, error) {
	it, fresh, err := d.item(idx, itemFunction)
	if err != nil {
		return nil, out, err
	}
	if fresh || it.kind != itemFunction {
		it.kind, it.tool = itemFunction, d.tools
		d.tools++
		out = append(out, llm.StreamEvent{Kind: llm.EventToolCallStart, Index: it.tool, ToolCall: &llm.ToolCall{
			ID: bounded(fc.Get("call_id").Str, maxUpstreamID), Name: bounded(fc.Get("name").Str, maxUpstreamID)}})
	}
	return it, out, nil
}

func (d *StreamDecoder) itemAdded(out []llm.StreamEvent, root gjson.Result) ([]llm.StreamEvent, error) {
	item := root.Get("item")
	idx := root.Get("output_index")
	switch item.Get("type").Str {
	case "function_call":
		it, out, err := d.tool(out, idx, item)
		if err != nil {
			return nil, err
		}
		if a := item.Get("arguments").Str; a != "" {
			it.streamed = true
			out = append(out, llm.StreamEvent{Kind: llm.EventToolCallDelta, Index: it.tool, ToolCall: &llm.ToolCall{Arguments: a}})
		}
		return out, nil
	case "message":
		_, _, err := d.item(idx, itemMessage)
		return out, err
	case "reasoning":
		_, _, err := d.item(idx, itemReasoning)
		return out, err
	}
	_, _, err := d.item(idx, 0) // a built-in tool's item: its events are skipped
	return out, err
}

// itemDone emits what an item's done event holds that its deltas did not:
// the reasoning's encrypted content, and the whole text, summary or
// arguments of an item that was not streamed.
func (d *StreamDecoder) itemDone(out []llm.StreamEvent, root gjson.Result) ([]llm.StreamEvent, error) {
	item := root.Get("item")
	idx := root.Get("output_index")
	switch item.Get("type").Str {
	case "message":
		it, _, err := d.item(idx, itemMessage)
		if err != nil {
			return nil, err
		}
		if !it.streamed {
			var m llm.Message
			appendOutputItem(&m, item)
			for _, p := range m.Parts {
				out = appendTextEvent(out, p.Text)
			}
		}
		return out, nil
	case "reasoning":
		it, _, err := d.item(idx, itemReasoning)
		if err != nil {
			return nil, err
		}
		p, ok := reasoningPart(item)
		if !ok {
			return out, nil
		}
		if it.streamed {
			p.Text = ""
		}
		if p.Text != "" || p.Signature != "" {
			out = append(out, llm.StreamEvent{Kind: llm.EventThinking, Text: p.Text,
				Signature: p.Signature, SignatureVendor: p.SignatureVendor})
		}
		return out, nil
	case "function_call":
		it, out, err := d.tool(out, idx, item)
		if err != nil {
			return nil, err
		}
		if a := item.Get("arguments").Str; a != "" && !it.streamed {
			it.streamed = true
			out = append(out, llm.StreamEvent{Kind: llm.EventToolCallDelta, Index: it.tool, ToolCall: &llm.ToolCall{Arguments: a}})
		}
		return out, nil
	}
	return out, nil
}
