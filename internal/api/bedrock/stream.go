package bedrock

import (
	"encoding/json"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// maxToolCalls bounds the tool calls one streamed answer may open.
const maxToolCalls = 1024

// StreamDecoder reads ConverseStream's events, each handed over by its
// event type with its JSON payload: messageStart, contentBlockStart (a
// tool call's id and name), contentBlockDelta (text, tool input, or
// reasoning), contentBlockStop, messageStop (the stop reason), and
// metadata (usage), which comes last. An exception message ends the
// stream with an error event. The zero value is ready; one decoder reads
// one stream.
type StreamDecoder struct {
	started  bool
	finished bool        // messageStop came
	ended    bool        // metadata (the last event) or an exception came
	calls    map[int]int // content block index → tool call index
	opened   int         // tool calls opened: the next one's index
}

// Complete reports whether the answer was whole: messageStop came.
func (d *StreamDecoder) Complete() bool { return d.finished }

// Done reports whether the stream has nothing more to say: metadata (or an
// exception) came.
func (d *StreamDecoder) Done() bool { return d.ended }

type (
	streamDelta struct {
		ContentBlockIndex int `json:"contentBlockIndex"`
		Start             *struct {
			ToolUse *struct {
				ToolUseID string `json:"toolUseId"`
				Name      string `json:"name"`
			} `json:"toolUse"`
		} `json:"start"`
		Delta *struct {
			Text    *string `json:"text"`
			ToolUse *struct {
				Input string `json:"input"`
			} `json:"toolUse"`
			ReasoningContent *struct {
				Text            *string `json:"text"`
				Signature       string  `json:"signature"`
				RedactedContent string  `json:"redactedContent"`
			} `json:"reasoningContent"`
		} `json:"delta"`
		StopReason string     `json:"stopReason"`
		Usage      *wireUsage `json:"usage"`
	}
)

// Event turns one event into canonical events. Malformed data is an
// error; the decoder never panics.
func (d *StreamDecoder) Event(name string, data []byte) ([]llm.StreamEvent, error) {
	if isException(name) {
		d.ended, d.finished = true, true
		return []llm.StreamEvent{{Kind: llm.EventError, Error: decodeError(0, name, data)}}, nil
	}
	var w streamDelta
	switch name {
	case "messageStart", "contentBlockStart", "contentBlockDelta", "messageStop", "metadata":
		if err := json.Unmarshal(data, &w); err != nil {
			return nil, llm.UpstreamError("Bedrock sent a "+name+" event that is not valid JSON", err)
		}
	default:
		return nil, nil // contentBlockStop, and events this codec does not know
	}
	var evs []llm.StreamEvent
	if !d.started {
		d.started = true
		evs = append(evs, llm.StreamEvent{Kind: llm.EventStart})
	}
	switch name {
	case "contentBlockStart":
		if w.Start == nil || w.Start.ToolUse == nil {
			return evs, nil
		}
		if d.calls == nil {
			d.calls = map[int]int{}
		}
		if d.opened >= maxToolCalls {
			return nil, llm.UpstreamError("Bedrock opened more than 1024 tool calls in one answer", nil)
		}
		// A block index used again opens a new call (its deltas go to
		// it); indexes are never reused for two calls.
		i := d.opened
		d.opened++
		d.calls[w.ContentBlockIndex] = i
		tu := w.Start.ToolUse
		evs = append(evs, llm.StreamEvent{Kind: llm.EventToolCallStart, Index: i, ToolCall: &llm.ToolCall{ID: tu.ToolUseID, Name: tu.Name}})
	case "contentBlockDelta":
		if w.Delta == nil {
			return evs, nil
		}
		switch dl := w.Delta; {
		case dl.Text != nil:
			if *dl.Text != "" {
				evs = append(evs, llm.StreamEvent{Kind: llm.EventText, Text: *dl.Text})
			}
		case dl.ToolUse != nil:
			i, ok := d.calls[w.ContentBlockIndex]
			if !ok {
				return nil, llm.UpstreamError("Bedrock sent tool input for a block that opened no tool call", nil)
			}
			evs = append(evs, llm.StreamEvent{Kind: llm.EventToolCallDelta, Index: i, ToolCall: &llm.ToolCall{Arguments: dl.ToolUse.Input}})
		case dl.ReasoningContent != nil:
			rc := dl.ReasoningContent
			switch {
			case rc.Text != nil:
				evs = append(evs, llm.StreamEvent{Kind: llm.EventThinking, Text: *rc.Text})
			case rc.Signature != "":
				evs = append(evs, llm.StreamEvent{Kind: llm.EventThinking, Signature: rc.Signature, SignatureVendor: Vendor})
			case rc.RedactedContent != "":
				evs = append(evs, llm.StreamEvent{Kind: llm.EventThinking, Data: rc.RedactedContent, SignatureVendor: Vendor})
			}
		}
	case "messageStop":
		if !d.finished {
			d.finished = true
			evs = append(evs, llm.StreamEvent{Kind: llm.EventFinish, FinishReason: finishReason(w.StopReason, d.opened > 0)})
		}
	case "metadata":
		d.ended = true
		if w.Usage != nil {
			u := usage(w.Usage)
			evs = append(evs, llm.StreamEvent{Kind: llm.EventUsage, Usage: &u})
		}
	}
	return evs, nil
}
