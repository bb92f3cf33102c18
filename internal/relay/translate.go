package relay

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/api/anthropic"
	"github.com/switchyard-gw/switchyard/internal/api/bedrock"
	"github.com/switchyard-gw/switchyard/internal/api/gemini"
	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/api/responses"
	"github.com/switchyard-gw/switchyard/internal/framing"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// egress is one translated attempt's side of the upstream: the encoded
// request and how to read what comes back, for the provider's dialect.
type egress struct {
	path           string
	body           []byte
	decodeError    func(status int, body []byte) *llm.Error
	decodeResponse func(body []byte) (*llm.Response, error)
	newDecoder     func() eventDecoder
}

// eventDecoder reads an upstream's stream events into canonical events.
type eventDecoder interface {
	event(name string, data []byte) ([]llm.StreamEvent, error)
	// done: the upstream marked the end (message_stop, [DONE]); stop reading.
	done() bool
	// complete: the answer was whole when the body ended.
	complete() bool
}

// eventEncoder writes canonical events in a client's dialect.
type eventEncoder interface {
	Event(out []byte, ev llm.StreamEvent) []byte
	Close(out []byte) []byte
}

type anthropicDecoder struct{ d anthropic.StreamDecoder }

func (a *anthropicDecoder) event(name string, data []byte) ([]llm.StreamEvent, error) {
	return a.d.Event(name, data)
}
func (a *anthropicDecoder) done() bool     { return a.d.Complete() }
func (a *anthropicDecoder) complete() bool { return a.d.Complete() }

type openaiDecoder struct{ d oa.ChunkDecoder }

func (o *openaiDecoder) event(_ string, data []byte) ([]llm.StreamEvent, error) {
	return o.d.Event(data)
}
func (o *openaiDecoder) done() bool     { return o.d.Done() }
func (o *openaiDecoder) complete() bool { return o.d.Done() || o.d.Finished() }

// geminiDecoder: Gemini marks no end; the stream just stops after the
// chunk with the finish reason.
type geminiDecoder struct{ d gemini.StreamDecoder }

func (g *geminiDecoder) event(_ string, data []byte) ([]llm.StreamEvent, error) {
	return g.d.Event(data)
}
func (g *geminiDecoder) done() bool     { return false }
func (g *geminiDecoder) complete() bool { return g.d.Complete() }

// responsesDecoder: a Responses stream ends with response.completed or
// .incomplete (or .failed, which the decoder reports as an error event).
type responsesDecoder struct{ d responses.StreamDecoder }

func (r *responsesDecoder) event(name string, data []byte) ([]llm.StreamEvent, error) {
	return r.d.Event(name, data)
}
func (r *responsesDecoder) done() bool     { return r.d.Complete() }
func (r *responsesDecoder) complete() bool { return r.d.Complete() }

// bedrockDecoder: ConverseStream ends with metadata (usage) after
// messageStop; the answer is whole once messageStop came.
type bedrockDecoder struct{ d bedrock.StreamDecoder }

func (b *bedrockDecoder) event(name string, data []byte) ([]llm.StreamEvent, error) {
	return b.d.Event(name, data)
}
func (b *bedrockDecoder) done() bool     { return b.d.Done() }
func (b *bedrockDecoder) complete() bool { return b.d.Complete() }

// upstreamFormat is an upstream wire format as a value: how a canonical
// request is encoded for it, how its answers, stream events and errors are
// read back, and how its streams are framed (every path, passthrough or
// translated, reads a stream through its format's framing). Adding a format
// is its codec package plus one entry here. (How a request is signed is the
// provider type's choice: provider.Signer.)
type upstreamFormat struct {
	encode  func(p *provider.Provider, r *llm.Request, maxOut int64) (egress, error)
	framing framing.Framing
}

// upstreamFormats has an entry for every provider.Format;
// TestUpstreamFormatsAreComplete checks it.
var upstreamFormats = map[provider.Format]upstreamFormat{
	provider.FormatOpenAI: {framing: framing.SSE(), encode: func(p *provider.Provider, r *llm.Request, _ int64) (egress, error) {
		body, err := oa.EncodeRequest(r)
		if err != nil {
			return egress{}, err
		}
		return egress{
			path: p.Path(oa.OpChat.Path(), r.Model), body: body,
			decodeError:    decodeOpenAIError,
			decodeResponse: oa.DecodeResponse,
			newDecoder:     func() eventDecoder { return &openaiDecoder{} },
		}, nil
	}},
	provider.FormatAnthropic: {framing: framing.SSE(), encode: func(p *provider.Provider, r *llm.Request, maxOut int64) (egress, error) {
		enc, err := anthropic.EncodeRequest(r, maxOut)
		if err != nil {
			return egress{}, err
		}
		jsonTool := enc.JSONTool
		return egress{
			path: p.Path("/v1/messages", r.Model), body: enc.Body,
			decodeError:    anthropic.DecodeError,
			decodeResponse: func(b []byte) (*llm.Response, error) { return anthropic.DecodeResponse(b, jsonTool) },
			newDecoder:     func() eventDecoder { return &anthropicDecoder{d: anthropic.StreamDecoder{JSONTool: jsonTool}} },
		}, nil
	}},
	// Gemini streams as SSE because the path asks for it (alt=sse);
	// without it the answer is one JSON array (framing.JSONArray).
	provider.FormatGemini: {framing: framing.SSE(), encode: func(p *provider.Provider, r *llm.Request, _ int64) (egress, error) {
		body, err := gemini.EncodeRequest(r)
		if err != nil {
			return egress{}, err
		}
		return egress{
			path: p.Path(gemini.Path(r.Model, r.Stream), r.Model), body: body,
			decodeError:    gemini.DecodeError,
			decodeResponse: gemini.DecodeResponse,
			newDecoder:     func() eventDecoder { return &geminiDecoder{} },
		}, nil
	}},
	// The Responses API of an openai provider with responses: what a
	// Responses-only model speaks, and a Responses continuation's format.
	provider.FormatResponses: {encode: func(p *provider.Provider, r *llm.Request, _ int64) (egress, error) {
		body, err := responses.EncodeRequest(r)
		if err != nil {
			return egress{}, err
		}
		return egress{
			path: p.Path(responsesPath, r.Model), body: body,
			decodeError:    responses.DecodeError,
			decodeResponse: responses.DecodeResponse,
			newDecoder:     func() eventDecoder { return &responsesDecoder{} },
		}, nil
	}, framing: framing.SSE()},
	// Amazon Bedrock's Converse API; streams in AWS event-stream framing.
	provider.FormatBedrock: {framing: framing.EventStream(), encode: func(p *provider.Provider, r *llm.Request, maxOut int64) (egress, error) {
		body, err := bedrock.EncodeRequest(r, maxOut)
		if err != nil {
			return egress{}, err
		}
		return egress{
			path: p.Path(bedrock.Path(r.Model, r.Stream), r.Model), body: body,
			decodeError:    bedrock.DecodeError,
			decodeResponse: bedrock.DecodeResponse,
			newDecoder:     func() eventDecoder { return &bedrockDecoder{} },
		}, nil
	}},
}

// encodeFor encodes r for provider p in format f.
func encodeFor(p *provider.Provider, f provider.Format, r *llm.Request, maxOut int64) (egress, error) {
	uf, ok := upstreamFormats[f]
	if !ok {
		return egress{}, llm.BadRequest("model", "provider '%s' (%s) speaks no format this gateway can translate to", p.Name, p.Type)
	}
	return uf.encode(p, r, maxOut)
}

func decodeOpenAIError(status int, body []byte) *llm.Error {
	msg, typ, code, param := oa.ParseUpstreamError(body)
	return &llm.Error{Kind: llm.KindProvider, Status: status, Type: typ, Code: code, Param: param, Message: msg}
}

// attemptTranslated serves a chat request whose client and upstream speak
// different dialects: client JSON → llm → the upstream's format, and the
// answer back the same way. For an OpenAI client the answer is re-encoded
// as OpenAI JSON or chunks and then goes through the same oa rewriter as a
// passthrough answer, so ids, usage.cost and the usage rules are applied in
// one place.
func (rl *Relay) attemptTranslated(w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, cd candidate, p *provider.Provider, at *attemptCtx) (int, error) {
	creq, err := c.canonical()
	if err != nil {
		return 0, err
	}
	lreq := *creq // each attempt names its own upstream model
	lreq.Model, lreq.Stream = cd.t.Model, req.Stream
	maxOut := int64(defaultMaxOutput)
	if cd.res.Entry != nil && cd.res.Entry.MaxOutputTokens > 0 {
		maxOut = int64(cd.res.Entry.MaxOutputTokens)
	}
	// The provider's format for the model; the client's own when the
	// provider speaks it too (a passthrough that re-encodes: a Responses
	// continuation expanded from the store goes to a Responses upstream as
	// Responses).
	f := p.FormatFor(cd.t.Model)
	if p.Speaks(c.in.Native, cd.t.Model) {
		f = c.in.Native
	}
	eg, err := encodeFor(p, f, &lreq, maxOut)
	if err != nil {
		return 0, err
	}
	resp, status, err := rl.send(r, c, p, at, eg.path, eg.body, req.Stream, eg.decodeError)
	if resp == nil {
		return status, err
	}
	defer resp.Body.Close()
	rw := oa.Rewrite{ID: c.gen.ID, Model: req.Model, Cost: c.cost}
	if req.Stream {
		return resp.StatusCode, rl.pumpStream(w, r, resp, p, c, req, at, c.in.newStream(c, req, rw, eg.newDecoder()))
	}
	at.firstByte()
	raw, err := rl.readAnswer(r, resp, p, c, at)
	if raw == nil {
		return resp.StatusCode, err
	}
	lresp, err := eg.decodeResponse(raw)
	if err != nil {
		return resp.StatusCode, llm.UpstreamError("provider '"+p.Name+"' returned a malformed response", err)
	}
	lresp.ID, lresp.Model, lresp.Created = c.gen.ID, req.Model, c.start.Unix()
	var out []byte
	out, c.usage = c.in.encodeResponse(c, lresp, rw)
	if !c.usage.Present {
		for _, part := range lresp.Message.Parts {
			if part.Type == llm.PartText {
				c.text.AppendString(part.Text)
			}
		}
	}
	c.produced = true
	c.gen.FinishReason = string(lresp.FinishReason)
	rl.writeJSON(w, c, out)
	return resp.StatusCode, nil
}

// largeAnswer is the size past which a whole answer's write is bounded in
// time: net/http buffers 4 KiB of a response before writing to the client.
const largeAnswer = 4 << 10

// writeJSON writes a whole 200 answer.
func (rl *Relay) writeJSON(w http.ResponseWriter, c *call, out []byte) {
	rl.writeAnswer(w, c, "application/json", out)
}

// writeAnswer writes a whole answer of contentType.
func (rl *Relay) writeAnswer(w http.ResponseWriter, c *call, contentType string, out []byte) {
	if len(out) > largeAnswer {
		// More than the server buffers: the write reaches the connection
		// inside the handler, so a client that does not read must not hold
		// it for ever (server.stream_write_timeout, as for streams).
		_ = http.NewResponseController(w).SetWriteDeadline(rl.Now().Add(rl.Config.Server.StreamWriteTimeout))
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(out); err != nil {
		c.gen.Cancelled = true
	}
	c.gen.Status = http.StatusOK
}

// canonicalSource streams canonical events to an Anthropic or Gemini client
// and keeps the usage, text and finish reason for the ledger.
type canonicalSource struct {
	dec       eventDecoder
	enc       eventEncoder
	id, model string // replace the upstream's in EventStart
	closed    bool
	started   bool
	streamTally
}

// streamTally is what the ledger needs of a stream, kept from its canonical
// events on every path that decodes them: usage, a text sample, whether
// anything was produced, and the finish reason.
type streamTally struct {
	usage    llm.Usage
	text     llm.TextSample
	produced bool
	reason   llm.FinishReason
}

// note records ev. An upstream error event becomes the error pumpStream
// answers: fail over if nothing was sent yet, else end the client's stream
// with an error event.
func (t *streamTally) note(ev *llm.StreamEvent) error {
	switch ev.Kind {
	case llm.EventText:
		t.text.AppendString(ev.Text)
		t.produced = true
	case llm.EventThinking, llm.EventToolCallStart, llm.EventToolCallDelta:
		t.produced = true
	case llm.EventFinish:
		// A decoder's strings may point into the SSE reader's buffer,
		// which the next event overwrites; encoders hold the reason until
		// usage arrives, and the ledger keeps it.
		ev.FinishReason = llm.FinishReason(strings.Clone(string(ev.FinishReason)))
		t.reason = ev.FinishReason
	case llm.EventUsage:
		if ev.Usage != nil {
			t.usage = *ev.Usage
			t.usage.Present = true
		}
	case llm.EventError:
		msg := "the upstream reported an error"
		if ev.Error != nil {
			msg = ev.Error.Message
		}
		return &oa.UpstreamStreamError{Message: msg}
	}
	return nil
}

func (t *streamTally) textBytes() int64 { return t.text.Total }

func (t *streamTally) result(c *call) {
	c.usage, c.text = t.usage, t.text
	c.produced = c.produced || t.produced
	c.gen.FinishReason = string(t.reason)
}

func (cs *canonicalSource) event(out []byte, name string, data []byte) ([]byte, error) {
	events, err := cs.dec.event(name, data)
	if err != nil {
		return out, fmt.Errorf("%w: %v", oa.ErrMalformedChunk, err)
	}
	for _, ev := range events {
		if err := cs.note(&ev); err != nil {
			return out, err
		}
		if ev.Kind == llm.EventStart {
			if cs.id != "" {
				ev.ID, ev.Model = cs.id, cs.model
			}
			cs.started = true
		}
		if !cs.started && ev.Kind != llm.EventStart {
			// Some upstreams open without a start event; the client's
			// dialect needs one first.
			out = cs.enc.Event(out, llm.StreamEvent{Kind: llm.EventStart, ID: cs.id, Model: cs.model})
			cs.started = true
		}
		out = cs.enc.Event(out, ev)
	}
	if cs.dec.done() && !cs.closed {
		out = cs.enc.Close(out)
		cs.closed = true
	}
	return out, nil
}

func (cs *canonicalSource) finish(out []byte) ([]byte, bool) {
	if !cs.dec.complete() {
		return out, false
	}
	if !cs.closed {
		out = cs.enc.Close(out)
		cs.closed = true
	}
	return out, true
}

func (cs *canonicalSource) fail(out []byte, e *llm.Error) []byte {
	if cs.closed {
		return out
	}
	cs.closed = true
	out = cs.enc.Event(out, llm.StreamEvent{Kind: llm.EventError, Error: e})
	return cs.enc.Close(out)
}

func (cs *canonicalSource) done() bool { return cs.closed }

func (cs *canonicalSource) cut(out []byte) []byte {
	if cs.closed {
		return out
	}
	cs.closed = true
	cs.reason = llm.FinishLength
	out = cs.enc.Event(out, llm.StreamEvent{Kind: llm.EventFinish, FinishReason: llm.FinishLength})
	return cs.enc.Close(out)
}

// relayChunks feeds OpenAI SSE text (data: …\n\n events) through s.
func relayChunks(s *oa.Stream, chunks, out []byte) ([]byte, error) {
	for len(chunks) > 0 {
		end := bytes.Index(chunks, []byte("\n\n"))
		if end < 0 {
			end = len(chunks)
		}
		ev := chunks[:end]
		chunks = chunks[min(end+2, len(chunks)):]
		payload, ok := bytes.CutPrefix(ev, []byte("data: "))
		if !ok {
			continue
		}
		var err error
		if out, err = s.Event(out, payload); err != nil {
			return out, err
		}
	}
	return out, nil
}
