package relay

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/api/anthropic"
	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// attemptAnthropic serves an OpenAI-format chat request from an Anthropic
// upstream: OpenAI JSON → llm → Messages API, and the answer back the same
// way. The streamed answer is re-encoded as OpenAI chunks and then goes
// through the same oa.Stream rewriter as a passthrough stream, so ids,
// usage.cost and the usage rules are applied in one place.
func (rl *Relay) attemptAnthropic(w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, cd candidate, p *provider.Provider, at *attemptCtx) (int, *llm.Error) {
	lreq, err := oa.DecodeRequest(c.body)
	if err != nil {
		return 0, llm.AsError(err)
	}
	lreq.Model = cd.t.Model
	maxOut := int64(defaultMaxOutput)
	if cd.res.Entry != nil && cd.res.Entry.MaxOutputTokens > 0 {
		maxOut = int64(cd.res.Entry.MaxOutputTokens)
	}
	enc, err := anthropic.EncodeRequest(lreq, maxOut)
	if err != nil {
		return 0, llm.AsError(err)
	}
	ureq, err := p.NewRequest(at.ctx, "/v1/messages", enc.Body, req.Stream, c.gen.RequestID)
	if err != nil {
		return 0, llm.UpstreamError("could not build the request for provider '"+p.Name+"'", err)
	}
	resp, err := p.Do(ureq)
	if err != nil {
		if clientGone(r) {
			c.gen.Cancelled = true
			return 0, nil
		}
		return 0, at.explain(p, transportError(p, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamError))
		e := anthropic.DecodeError(resp.StatusCode, body)
		e.Message = p.Scrub(e.Message)
		if e.RetryAfter == "" {
			e.RetryAfter = resp.Header.Get("Retry-After")
		}
		return resp.StatusCode, e
	}
	rw := oa.Rewrite{ID: c.gen.ID, Model: req.Model, Cost: c.cost}
	if req.Stream {
		return resp.StatusCode, rl.relayAnthropicStream(w, r, resp, p, c, rw, req, at, enc.JSONTool)
	}
	at.firstByte()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody))
	if err != nil {
		if clientGone(r) {
			c.gen.Cancelled = true
			return resp.StatusCode, nil
		}
		return resp.StatusCode, at.explain(p, transportError(p, err))
	}
	lresp, err := anthropic.DecodeResponse(raw, enc.JSONTool)
	if err != nil {
		return resp.StatusCode, llm.UpstreamError("provider '"+p.Name+"' returned a malformed response", err)
	}
	lresp.ID, lresp.Model, lresp.Created = c.gen.ID, req.Model, c.start.Unix()
	// EncodeResponse then the same rewrite as passthrough adds usage.cost.
	out, usage, _ := rw.RewriteResponse(oa.EncodeResponse(lresp))
	c.usage, c.produced = usage, true
	c.gen.FinishReason = string(lresp.FinishReason)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(out); err != nil {
		c.gen.Cancelled = true
	}
	c.gen.Status = http.StatusOK
	return resp.StatusCode, nil
}

// relayAnthropicStream relays an Anthropic event stream as OpenAI chunks.
func (rl *Relay) relayAnthropicStream(w http.ResponseWriter, r *http.Request, resp *http.Response, p *provider.Provider, c *call, rw oa.Rewrite, req *oa.Request, at *attemptCtx, jsonTool string) *llm.Error {
	return rl.pumpStream(w, r, resp, p, c, rw, req, at, &anthropicSource{
		dec: &anthropic.StreamDecoder{JSONTool: jsonTool},
		// The encoder always emits the usage chunk; oa.Stream then applies
		// the client's include_usage choice exactly as for a passthrough stream.
		enc: &oa.ChunkEncoder{ID: c.gen.ID, Model: req.Model, Created: c.start.Unix(), IncludeUsage: true},
	})
}

// anthropicSource decodes Anthropic events to llm events and re-encodes
// them as OpenAI chunks.
type anthropicSource struct {
	dec    *anthropic.StreamDecoder
	enc    *oa.ChunkEncoder
	chunks []byte
}

func (a *anthropicSource) event(out []byte, name string, data []byte, s *oa.Stream) ([]byte, error) {
	events, err := a.dec.Event(name, data)
	if err != nil {
		return out, fmt.Errorf("%w: %v", oa.ErrMalformedChunk, err)
	}
	a.chunks = a.chunks[:0]
	for _, ev := range events {
		a.chunks = a.enc.Event(a.chunks, ev)
	}
	if a.dec.Complete() {
		a.chunks = a.enc.Close(a.chunks)
	}
	return relayChunks(s, a.chunks, out)
}

func (a *anthropicSource) finish(out []byte, s *oa.Stream) ([]byte, bool) {
	if !a.dec.Complete() {
		return out, false
	}
	out, _ = relayChunks(s, a.enc.Close(nil), out)
	return out, true
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
