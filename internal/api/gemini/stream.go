package gemini

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// StreamDecoder reads streamGenerateContent?alt=sse. Each SSE data payload
// is a whole GenerateContentResponse holding the next piece of the answer;
// function calls arrive whole, never split across chunks. The zero value
// is ready to use; one decoder reads one stream.
type StreamDecoder struct {
	started   bool
	finished  bool
	usageSent bool
	calls     int // function calls so far: the next call's Index
}

// Complete reports whether a finish reason arrived. Gemini marks no end of
// stream, so a stream that stops without one was cut.
func (d *StreamDecoder) Complete() bool { return d.finished }

// Event turns one data payload into canonical events. Malformed data is an
// error; the decoder never panics.
func (d *StreamDecoder) Event(data []byte) ([]llm.StreamEvent, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, nil
	}
	if data[0] != '{' {
		return nil, llm.UpstreamError("Gemini sent a stream chunk that is not a JSON object", nil)
	}
	var w struct {
		generateContentResponse
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, llm.UpstreamError("Gemini sent a stream chunk that is not valid JSON", err)
	}
	var evs []llm.StreamEvent
	if len(w.Error) > 0 {
		// A failure after the stream began arrives as an error envelope
		// in a data event.
		d.finished = true
		return append(evs, llm.StreamEvent{Kind: llm.EventError, Error: DecodeError(0, data)}), nil
	}
	if !d.started {
		d.started = true
		evs = append(evs, llm.StreamEvent{Kind: llm.EventStart, ID: w.ResponseID, Model: w.ModelVersion})
	}
	finish := ""
	if len(w.Candidates) > 0 {
		c := firstCandidate(w.Candidates)
		if c.Content != nil {
			for _, p := range c.Content.Parts {
				evs = d.partEvents(evs, p)
			}
		}
		finish = c.FinishReason
	} else if w.PromptFeedback != nil && w.PromptFeedback.BlockReason != "" {
		finish = "SAFETY" // the prompt was blocked: no candidates at all
	}
	endsHere := false
	if finish != "" && !d.finished {
		d.finished, endsHere = true, true
		evs = append(evs, llm.StreamEvent{Kind: llm.EventFinish, FinishReason: finishReason(finish, d.calls > 0)})
	}
	// Gemini repeats the running usage on every chunk; only the one on the
	// last chunk (with finishReason) is final, and it is reported once.
	if w.UsageMetadata != nil && (endsHere || d.finished) && !d.usageSent {
		d.usageSent = true
		u := decodeUsage(w.UsageMetadata)
		evs = append(evs, llm.StreamEvent{Kind: llm.EventUsage, Usage: &u})
	}
	return evs, nil
}

func (d *StreamDecoder) partEvents(evs []llm.StreamEvent, p part) []llm.StreamEvent {
	switch {
	case p.FunctionCall != nil:
		fc := p.FunctionCall
		i := d.calls
		d.calls++
		return append(evs,
			llm.StreamEvent{Kind: llm.EventToolCallStart, Index: i,
				ToolCall: &llm.ToolCall{ID: callID(fc.ID, i), Name: fc.Name, Signature: p.ThoughtSignature}},
			llm.StreamEvent{Kind: llm.EventToolCallDelta, Index: i, ToolCall: &llm.ToolCall{Arguments: llm.CompactArgs(fc.Args)}})
	case p.Text != nil && p.Thought:
		return append(evs, llm.StreamEvent{Kind: llm.EventThinking, Text: *p.Text, Signature: p.ThoughtSignature, SignatureVendor: signatureVendor(p.ThoughtSignature)})
	case p.Text != nil && (*p.Text != "" || p.ThoughtSignature != ""):
		// Gemini may put a thoughtSignature on an answer text part; it
		// travels in the event's Signature.
		return append(evs, llm.StreamEvent{Kind: llm.EventText, Text: *p.Text, Signature: p.ThoughtSignature, SignatureVendor: signatureVendor(p.ThoughtSignature)})
	}
	return evs
}

// StreamEncoder writes canonical events as streamGenerateContent?alt=sse
// for a Gemini client: one GenerateContentResponse chunk per text or
// thinking delta. A tool call is held until its arguments are complete
// (the next tool call, another kind of event, or Close) and sent whole as
// one functionCall part, as Gemini does. The finish reason is held until
// usage is known, so the last chunk carries both finishReason and
// usageMetadata; Close must be called at the end of the stream.
type StreamEncoder struct {
	id, model string
	call      *pendingCall
	finish    string // held finish reason, "" when none
	usage     *llm.Usage
	ended     bool // the last chunk has been written
}

type pendingCall struct {
	index         int
	id, name, sig string
	args          strings.Builder
}

// Event appends the SSE bytes for ev (possibly none) to out.
func (e *StreamEncoder) Event(out []byte, ev llm.StreamEvent) []byte {
	if e.ended {
		return out
	}
	switch ev.Kind {
	case llm.EventStart:
		e.id, e.model = strings.Clone(ev.ID), strings.Clone(ev.Model) // kept for every chunk
	case llm.EventText:
		out = e.flushCall(out)
		out = e.chunk(out, part{Text: strPtr(ev.Text), ThoughtSignature: geminiSignature(ev.Signature, ev.SignatureVendor)})
	case llm.EventThinking:
		// Redacted thinking (Data) is Anthropic's encrypted reasoning and
		// another vendor's signature is not Gemini's: both are dropped.
		sig := geminiSignature(ev.Signature, ev.SignatureVendor)
		if ev.Text == "" && sig == "" {
			return out
		}
		out = e.flushCall(out)
		out = e.chunk(out, part{Text: strPtr(ev.Text), Thought: true, ThoughtSignature: sig})
	case llm.EventToolCallStart:
		out = e.flushCall(out)
		c := &pendingCall{index: ev.Index}
		if ev.ToolCall != nil {
			// The call is held across events, and an event's strings may
			// view the caller's read buffer (the OpenAI chunk decoder's
			// do): keep copies.
			c.id, c.name, c.sig = strings.Clone(ev.ToolCall.ID), strings.Clone(ev.ToolCall.Name), strings.Clone(ev.ToolCall.Signature)
			c.args.WriteString(ev.ToolCall.Arguments)
		}
		e.call = c
	case llm.EventToolCallDelta:
		if e.call != nil && ev.ToolCall != nil && ev.Index == e.call.index {
			e.call.args.WriteString(ev.ToolCall.Arguments)
		}
	case llm.EventFinish:
		out = e.flushCall(out)
		e.finish = nonEmpty(geminiFinish(ev.FinishReason), "STOP")
		if e.usage != nil {
			out = e.last(out)
		}
	case llm.EventUsage:
		if ev.Usage != nil {
			u := *ev.Usage
			e.usage = &u
		}
		if e.finish != "" {
			out = e.last(out)
		}
	case llm.EventError:
		out = e.flushCall(out)
		le := ev.Error
		if le == nil {
			le = llm.UpstreamError("the upstream failed", nil)
		}
		out = AppendData(out, EncodeError(le))
		e.ended = true
	}
	return out
}

// Close flushes a held tool call and the held finish chunk.
func (e *StreamEncoder) Close(out []byte) []byte {
	if e.ended {
		return out
	}
	out = e.flushCall(out)
	if e.finish != "" {
		out = e.last(out)
	}
	return out
}

func (e *StreamEncoder) flushCall(out []byte) []byte {
	c := e.call
	if c == nil {
		return out
	}
	e.call = nil
	return e.chunk(out, part{FunctionCall: &functionCall{ID: c.id, Name: c.name, Args: llm.ArgsObject(c.args.String())},
		ThoughtSignature: c.sig})
}

func (e *StreamEncoder) chunk(out []byte, p part) []byte {
	w := generateContentResponse{
		Candidates:   []candidate{{Content: &content{Role: "model", Parts: []part{p}}}},
		ModelVersion: e.model,
		ResponseID:   e.id,
	}
	b, _ := json.Marshal(&w)
	return AppendData(out, b)
}

// last writes the final chunk: finishReason and usage, no content.
func (e *StreamEncoder) last(out []byte) []byte {
	w := generateContentResponse{
		Candidates:   []candidate{{FinishReason: e.finish}},
		ModelVersion: e.model,
		ResponseID:   e.id,
	}
	if e.usage != nil {
		w.UsageMetadata = encodeUsage(e.usage)
	}
	e.ended = true
	b, _ := json.Marshal(&w)
	return AppendData(out, b)
}

// AppendData frames one SSE event. Google's servers end events with
// "\r\n\r\n"; any SSE client accepts it.
func AppendData(out, payload []byte) []byte {
	out = append(out, "data: "...)
	out = append(out, payload...)
	return append(out, "\r\n\r\n"...)
}
