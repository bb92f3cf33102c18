package relay

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/api/anthropic"
	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/sse"
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
	rl.Metrics.StreamStarted()
	defer rl.Metrics.StreamEnded()
	dec := &anthropic.StreamDecoder{JSONTool: jsonTool}
	// The encoder always emits the usage chunk; oa.Stream then applies the
	// client's include_usage choice exactly as for a passthrough stream.
	enc := &oa.ChunkEncoder{ID: c.gen.ID, Model: req.Model, Created: c.start.Unix(), IncludeUsage: true}
	s := &oa.Stream{Rewrite: rw, Op: req.Op, Created: c.start.Unix(), ClientWantsUsage: req.IncludeUsage, CollectText: true}
	defer func() {
		c.usage, c.text = s.Usage, s.Text
		c.produced = c.produced || s.Chunks > 0
		c.gen.FinishReason = s.FinishReason
	}()
	cw := newClientStream(w, rl.keepAlive)
	defer cw.close()

	rd := sse.NewReader(resp.Body, 16<<10)
	var chunks, out []byte
	for {
		data, err := rd.Next()
		if err != nil {
			switch {
			case clientGone(r):
				c.gen.Cancelled = true
			case err == io.EOF && dec.Complete():
				chunks = enc.Close(chunks[:0])
				out, _ = relayChunks(s, chunks, out[:0])
				cw.write(out)
			case !cw.started():
				return at.explain(p, streamFailure(p, err))
			default:
				e := at.explain(p, streamFailure(p, err))
				c.gen.ErrorCode = e.Code
				rl.Metrics.UpstreamError(p.Name, "stream")
				cw.write(s.Fail(out[:0], e))
			}
			return nil
		}
		at.event()
		events, derr := dec.Event(string(rd.Event), data)
		if derr != nil {
			e := llm.UpstreamError("provider '"+p.Name+"' sent a malformed stream event", derr)
			if !cw.started() {
				return e
			}
			c.gen.ErrorCode = e.Code
			cw.write(s.Fail(out[:0], e))
			return nil
		}
		chunks = chunks[:0]
		for _, ev := range events {
			chunks = enc.Event(chunks, ev)
		}
		if dec.Complete() {
			chunks = enc.Close(chunks)
		}
		var ferr error
		out, ferr = relayChunks(s, chunks, out[:0])
		if ferr != nil {
			e := streamFailure(p, ferr)
			if !cw.started() && len(out) == 0 {
				return e
			}
			c.gen.ErrorCode = e.Code
			out = s.Fail(out, e)
		}
		if len(out) > 0 {
			if !cw.started() {
				at.firstByte()
				c.gen.TimeToFirst = rl.Now().Sub(c.start)
				c.gen.Status = http.StatusOK
			}
			if !cw.send(out, !rd.EventBuffered() || s.Done || ferr != nil) {
				c.gen.Cancelled = true
				return nil
			}
		}
		if s.Done || ferr != nil {
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			return nil
		}
	}
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
