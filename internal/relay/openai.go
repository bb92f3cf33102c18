package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/framing"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/metrics"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/routing"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// OpenAI returns the handler for an OpenAI-format operation.
func (rl *Relay) OpenAI(op oa.Op) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error { return rl.serveOpenAI(op, w, r) }
}

func (rl *Relay) serveOpenAI(op oa.Op, w http.ResponseWriter, r *http.Request) error {
	return rl.serve(w, r, IngressOpenAI, op, "", func(c *call) (*oa.Request, error) { return oa.ScanChecked(op, c.body) })
}

// serve runs one model call for any ingress: authenticate, read and scan
// the body, resolve the model, and fail over across its routes. cred is the
// key when the ingress takes it from somewhere auth.Credential does not
// look; "" means the usual headers. scan reads c.body; it may replace it
// with the body to meter and send (c.extra keeping what it needs of the
// client's).
func (rl *Relay) serve(w http.ResponseWriter, r *http.Request, in Ingress, op oa.Op, cred string, scan func(c *call) (*oa.Request, error)) (err error) {
	start := rl.Now()
	if cred == "" {
		cred = auth.Credential(r)
	}
	if cred == "" && in.missingKey != "" {
		return llm.InvalidAPIKey(in.missingKey)
	}
	key, kerr := rl.Keys.Caller(cred, start)
	if kerr != nil {
		return kerr
	}
	// From here on every outcome is one generation record.
	c := &call{in: in, op: op, start: start, key: key, gen: store.Generation{
		ID: rl.NewID(), RequestID: w.Header().Get("X-Request-Id"), KeyHash: key.Hash, AccountID: key.AccountID,
		Origin: referer(r), AppTitle: title(r), CreatedAt: start, Attempts: "[]",
	}}
	// Errors have no body id; the header lets any answer be found in the ledger.
	w.Header().Set("X-Generation-Id", c.gen.ID)
	defer func() {
		if v := recover(); v != nil {
			// Record and release before the server's recovery answers 500.
			rl.finish(r.Context(), c, llm.AsError(fmt.Errorf("panic: %v", v)))
			panic(v)
		}
		rl.finish(r.Context(), c, err)
		putTextHead(c.text.Head) // the ledger and the estimate are done with it
		if c.form != nil {
			c.form.Close() // removes a spooled upload
		}
		if c.abort {
			// A binary answer broke after its headers: cut the connection so
			// the client cannot take the body for complete.
			panic(http.ErrAbortHandler)
		}
	}()

	var req *oa.Request
	if op.Multipart() {
		req, err = rl.readForm(r, c)
	} else if c.body, err = rl.readJSON(r); err == nil {
		req, err = scan(c)
	}
	if err != nil {
		return err
	}
	req.SessionID = r.Header.Get("X-Session-Id")
	c.req = req
	c.gen.Model, c.gen.Streamed = req.Model, req.Stream
	res, err := rl.Resolver.Resolve(req.Model)
	if err != nil {
		return err
	}
	c.metric = metricModel(res)
	if err := allowed(key, res, ""); err != nil {
		return err
	}
	// Rate limits before credit: a refused request holds nothing.
	if c.permit, err = rl.limit(w, r, key, false, func() int64 {
		prompt, maxOut, _ := worstCase(c, req, res)
		return prompt + maxOut
	}); err != nil {
		return err
	}
	if c.in.prepare != nil {
		if err := c.in.prepare(rl, r, c); err != nil {
			return err
		}
	}
	cands, err := rl.candidates(key, res, req)
	if err != nil {
		return err
	}
	if c.in.nativeOnly != nil && c.in.nativeOnly(c) {
		if cands, err = rl.nativeCandidates(c, cands); err != nil {
			return err
		}
	}
	// A request that can never succeed is refused now, not after routing
	// state (a cooling or open route) has had its say: SDKs retry a 503,
	// never a 400.
	if rl.needsTranslation(c, cands) {
		if _, err := c.canonical(); err != nil {
			return err
		}
	}
	return rl.failover(w, r, c, req, res, cands)
}

// needsTranslation reports whether any candidate speaks another dialect
// than the client, so the body will be decoded (and must decode).
func (rl *Relay) needsTranslation(c *call, cands []candidate) bool {
	if c.op != oa.OpChat {
		return false // only chat is ever translated
	}
	for _, cd := range cands {
		if p, ok := rl.Providers[cd.t.Provider]; ok && !p.Speaks(c.in.Native, cd.t.Model) {
			return true
		}
	}
	return false
}

// nativeCandidates keeps the candidates whose provider speaks the client's
// dialect, for a request only a passthrough can serve. With none left, the
// request is refused with the reason its body cannot be translated (the
// codec's 400, naming the built-in tool).
func (rl *Relay) nativeCandidates(c *call, cands []candidate) ([]candidate, error) {
	kept := cands[:0:0]
	for _, cd := range cands {
		if p, ok := rl.Providers[cd.t.Provider]; ok && p.Speaks(c.in.Native, cd.t.Model) {
			kept = append(kept, cd)
		}
	}
	if len(kept) > 0 {
		return kept, nil
	}
	if _, err := c.canonical(); err != nil {
		return nil, err
	}
	return nil, llm.BadRequest("tools", "this request uses a built-in tool, which works only with upstreams that speak the Responses API; model '%s' has none", c.gen.Model)
}

// failover tries candidates in order until one answers. Only failures
// before the first byte reached the client move on: pumpStream answers a
// later failure in-stream and returns nil.
func (rl *Relay) failover(w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, res *routing.Resolution, cands []candidate) error {
	var attempts []attemptRecord
	defer func() { c.gen.Attempts = attemptsJSON(attempts) }()
	var last error
	tried := 0
	// The budget: at most maxAttempts tries, and none past the request's
	// own deadline (the largest timeout among its candidates, from the
	// first try). A route's timeout ends only that route's attempt, which
	// fails over like any other failure before the first byte.
	budget := rl.requestBudget(cands)
	var deadline time.Time
	for _, cd := range cands {
		if tried == maxAttempts || clientGone(r) || (!deadline.IsZero() && !rl.Now().Before(deadline)) {
			break
		}
		p, ok := rl.Providers[cd.t.Provider]
		if !ok {
			continue
		}
		id := routing.RouteID(cd.t)
		now := rl.Now()
		if rl.Cooling.active(id, now) {
			attempts = append(attempts, attemptRecord{Provider: p.Name, Model: cd.t.Model, Outcome: "skipped", Error: "retry_after"})
			continue
		}
		release := func(routing.Outcome, time.Duration, time.Duration) {}
		if rl.Health != nil {
			rel, ok := rl.Health.AcquireTarget(cd.t)
			if !ok {
				attempts = append(attempts, attemptRecord{Provider: p.Name, Model: cd.t.Model, Outcome: "skipped", Error: "unavailable"})
				continue
			}
			release = rel
		}
		tried++
		if deadline.IsZero() {
			deadline = now.Add(budget)
		}
		ttfb, status, err := rl.attempt(w, r, c, req, cd, p, attemptClocks(&cd.t, p, deadline, now))
		dur := rl.Now().Sub(now)
		v := judge(err, status)
		if c.gen.Cancelled {
			v.health = routing.Neutral
		}
		release(v.health, ttfb, dur)
		rec := attemptRecord{Provider: p.Name, Model: cd.t.Model, Outcome: "ok", Status: status, DurationMs: dur.Milliseconds()}
		if err == nil {
			attempts = append(attempts, rec)
			return nil
		}
		rec.Outcome, rec.Error = "error", v.code
		attempts = append(attempts, rec)
		rl.Metrics.UpstreamError(p.Name, v.kind)
		if status == http.StatusTooManyRequests {
			if until, ok := retryAfter(v.err.RetryAfter, now); ok {
				rl.Cooling.set(id, now, until)
			}
		}
		if !v.failover || (c.form != nil && c.form.Consumed()) {
			return err // a streamed upload cannot be sent again
		}
		last = err
	}
	if last != nil {
		return last
	}
	if clientGone(r) {
		c.gen.Cancelled = true
		return nil
	}
	return llm.NoAvailableProvider("every route for model '" + res.Requested + "' is cooling down or disabled; try again shortly")
}

// attempt sends the request on one route and relays the answer. It returns
// the time to first byte, the upstream's HTTP status (0 if none) and the
// failure, if any. cl are its timeouts (attemptClocks).
func (rl *Relay) attempt(w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, cd candidate, p *provider.Provider, cl clocks) (time.Duration, int, error) {
	c.gen.Provider, c.gen.UpstreamModel = p.Name, cd.t.Model
	price, err := rl.price(cd.res, p.Name)
	if err != nil {
		return 0, 0, err
	}
	c.price = price
	if rl.Accountant != nil {
		c.res.Release() // a previous attempt's hold; nil-safe
		if c.res, err = rl.reserve(c, req, cd.res); err != nil {
			return 0, 0, err
		}
	}
	at := newAttemptCtx(r.Context(), cl, rl.Now)
	defer at.cancel()
	var status int
	switch {
	case c.in.attempt != nil:
		status, err = c.in.attempt(rl, w, r, c, req, cd, p, at)
	case c.in.passthrough != nil && p.Speaks(c.in.Native, cd.t.Model):
		status, err = c.in.passthrough(rl, w, r, c, req, cd, p, at)
	case req.Op == oa.OpChat:
		status, err = rl.attemptTranslated(w, r, c, req, cd, p, at)
	default:
		return 0, 0, llm.BadRequest("model", "provider '%s' (%s) does not serve %s", p.Name, p.Type, req.Op.Path())
	}
	ttfb := at.ttfb
	if ttfb == 0 && status >= 300 {
		ttfb = at.sinceStart() // an error's headers are its first byte
	}
	return ttfb, status, err
}

// attemptOpenAIPassthrough serves an OpenAI request (any operation) from an
// OpenAI-compatible upstream: the client's bytes with only the model
// spliced (and include_usage forced on for streams); the answer is rewritten
// in one pass for ids and usage.cost.
func (rl *Relay) attemptOpenAIPassthrough(w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, cd candidate, p *provider.Provider, at *attemptCtx) (int, error) {
	if req.Op.Multipart() {
		return rl.attemptForm(w, r, c, req, cd, p, at)
	}
	resp, status, err := rl.send(r, c, p, at, p.Path(req.Op.Path(), cd.t.Model), req.UpstreamBody(c.body, cd.t.Model), req.Stream, decodeOpenAIError)
	if resp == nil {
		return status, err
	}
	defer resp.Body.Close()
	if req.Op.Binary() {
		return resp.StatusCode, rl.relayBinary(w, r, resp, p, c, at)
	}
	rw := oa.Rewrite{ID: c.gen.ID, Model: req.Model, Cost: c.cost}
	if req.Stream {
		return resp.StatusCode, rl.pumpStream(w, r, resp, p, c, req, at, &openaiSource{s: newOAStream(c, req, rw)})
	}
	at.firstByte() // for a whole answer, the headers are the first byte
	if err = rl.relayJSON(w, r, resp, p, c, at, rw); err != nil {
		return resp.StatusCode, at.explain(p, err)
	}
	return resp.StatusCode, nil
}

func (rl *Relay) relayJSON(w http.ResponseWriter, r *http.Request, resp *http.Response, p *provider.Provider, c *call, at *attemptCtx, rw oa.Rewrite) error {
	raw, err := rl.readAnswer(r, resp, p, c, at)
	if raw == nil {
		return err // nil: the client went away
	}
	c.countDelivered(raw)
	out, usage, ok := rw.RewriteResponse(raw)
	if !ok {
		return llm.UpstreamError("provider '"+p.Name+"' returned a malformed response (not a JSON object)", nil)
	}
	c.usage, c.produced = usage, true
	first := gjson.GetBytes(out, "choices.0")
	c.gen.FinishReason = first.Get("finish_reason").String()
	if !usage.Present {
		c.text.AppendString(first.Get("message.content").String())
		c.text.AppendString(first.Get("text").String())
	}
	rl.writeJSON(w, c, out)
	return nil
}

// newOAStream is the rewriter for a stream answered to an OpenAI client.
func newOAStream(c *call, req *oa.Request, rw oa.Rewrite) *oa.Stream {
	return &oa.Stream{Rewrite: rw, Op: req.Op, Created: c.start.Unix(), ClientWantsUsage: req.IncludeUsage, CollectText: true,
		Text: llm.TextSample{Head: getTextHead()}}
}

// textHeads are reused buffers for a stream's answer text (kept in case
// the upstream reports no usage and it must be estimated): grown from
// nothing it cost ~6 allocations per stream. A buffer returns to the pool
// when its request's finish is done with it; one grown past 64 KiB by a
// long answer is left to the collector.
var textHeads = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getTextHead() []byte { return (*textHeads.Get().(*[]byte))[:0] }

func putTextHead(b []byte) {
	if cap(b) == 0 || cap(b) > 64<<10 {
		return
	}
	textHeads.Put(&b)
}

// streamSource turns upstream SSE events into the client's stream and
// keeps what the ledger needs.
type streamSource interface {
	// event handles one upstream event (its "event:" name and data).
	event(out []byte, name string, data []byte) ([]byte, error)
	// finish is called when the upstream body ends: what is left to send,
	// and whether the answer was complete.
	finish(out []byte) ([]byte, bool)
	// fail ends the client's stream with e.
	fail(out []byte, e *llm.Error) []byte
	// done reports that the answer is complete: stop reading.
	done() bool
	// textBytes is how many bytes of answer text have passed (0 where the
	// source does not count them).
	textBytes() int64
	// cut ends the client's stream as if the answer had reached its
	// length limit (finish reason "length").
	cut(out []byte) []byte
	// result copies usage, text, whether anything was produced and the
	// finish reason into c.
	result(c *call)
}

// openaiSource streams to an OpenAI client through s, the rewriter that
// applies ids, usage.cost and the usage rules. With dec nil the upstream
// already speaks OpenAI chunks (passthrough); otherwise its events are
// decoded and re-encoded as OpenAI chunks by enc first.
type openaiSource struct {
	s      *oa.Stream
	dec    eventDecoder
	enc    *oa.ChunkEncoder
	chunks []byte
}

func (o *openaiSource) event(out []byte, name string, data []byte) ([]byte, error) {
	if o.dec == nil {
		return o.s.Event(out, data)
	}
	events, err := o.dec.event(name, data)
	if err != nil {
		return out, fmt.Errorf("%w: %v", oa.ErrMalformedChunk, err)
	}
	o.chunks = o.chunks[:0]
	for _, ev := range events {
		o.chunks = o.enc.Event(o.chunks, ev)
	}
	if o.dec.done() {
		o.chunks = o.enc.Close(o.chunks)
	}
	return relayChunks(o.s, o.chunks, out)
}

func (o *openaiSource) finish(out []byte) ([]byte, bool) {
	if o.dec == nil {
		if !o.s.Complete() {
			return out, false
		}
		return o.s.Finish(out), true
	}
	if !o.dec.complete() {
		return out, false
	}
	out, _ = relayChunks(o.s, o.enc.Close(nil), out)
	return out, true
}

func (o *openaiSource) fail(out []byte, e *llm.Error) []byte { return o.s.Fail(out, e) }
func (o *openaiSource) cut(out []byte) []byte {
	return o.s.End(out, string(llm.FinishLength), nil)
}
func (o *openaiSource) textBytes() int64 { return o.s.Text.Total }
func (o *openaiSource) done() bool       { return o.s.Done }

func (o *openaiSource) result(c *call) {
	c.usage, c.text = o.s.Usage, o.s.Text
	c.produced = c.produced || o.s.Chunks > 0
	c.gen.FinishReason = o.s.FinishReason
}

// pumpStream relays an upstream SSE stream to the client chunk by chunk.
// Response headers are committed with the first event, so a failure before
// any event can still be answered as a plain HTTP error (and fail over).
func (rl *Relay) pumpStream(w http.ResponseWriter, r *http.Request, resp *http.Response, p *provider.Provider, c *call, req *oa.Request, at *attemptCtx, src streamSource) error {
	// The format of this attempt's model: a provider may speak another
	// for some models (provider.ModelFormats), and the framing is its.
	fr, ok := upstreamFormats[p.FormatFor(c.gen.UpstreamModel)]
	if !ok {
		return llm.UpstreamError("provider '"+p.Name+"' ("+p.Type+") speaks no format whose streams this gateway can read", nil)
	}
	if ct := resp.Header.Get("Content-Type"); !hasPrefixFold(ct, fr.framing.MediaType) {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamError))
		msg, _, _, _ := oa.ParseUpstreamError(raw)
		return llm.UpstreamError("provider '"+p.Name+"' answered a streaming request without a stream: "+p.Scrub(msg), nil)
	}
	rl.Metrics.StreamStarted()
	defer rl.Metrics.StreamEnded()
	defer src.result(c)
	cw := newClientStream(w, rl.keepAlive, c.in.keepAliveEvent, rl.Config.Server.StreamWriteTimeout)
	defer cw.close()

	bufs := streamBufs.Get().(*streamBuffers)
	rd := bufs.reader(fr.framing)
	rd.Reset(&limitedBody{r: resp.Body, n: rl.Config.Server.MaxStreamBytes})
	// out collects the client's bytes of the events read so far that
	// have not been written yet: events that arrived together leave in one
	// Write (one HTTP chunk, one syscall), not one each.
	out := bufs.out[:0]
	defer func() { bufs.release(out) }()
	first := true
	for {
		name, data, err := rd.Next()
		if err != nil {
			if clientGone(r) {
				c.gen.Cancelled = true
				return nil
			}
			if err == io.EOF {
				var ok bool
				if out, ok = src.finish(out); ok {
					if !cw.end(out, nil) {
						c.gen.Cancelled = true
					}
					return nil
				}
			}
			failure := at.explain(p, streamFailure(p, err))
			if !cw.started() && len(out) == 0 {
				return failure // the attempt failed before its first byte: judge decides
			}
			// Answered in-stream: the error is rendered here, in the
			// client's dialect.
			e := llm.AsError(failure)
			c.gen.ErrorCode = llm.LedgerCode(e)
			rl.Metrics.UpstreamError(p.Name, metrics.KindStream)
			cw.write(src.fail(out, e))
			return nil
		}
		at.event()
		held := len(out)
		// A preset's service may carry usage elsewhere (provider.LiftUsage).
		out, err = src.event(out, string(name), p.LiftUsage(data))
		if err != nil {
			e := streamFailure(p, err)
			if !cw.started() && len(out) == 0 {
				return e
			}
			c.gen.ErrorCode = llm.LedgerCode(e)
			out = src.fail(out, e)
		}
		if c.maxOut > 0 && src.textBytes() > satMul(c.maxOut, maxBytesPerToken) && !src.done() && err == nil {
			// The upstream is running past max_tokens: what it sends now
			// would not be charged (billable), so it is not delivered.
			rl.Log.LogAttrs(r.Context(), slog.LevelWarn, "upstream streamed past the request's max_tokens; stream cut",
				slog.String("id", c.gen.ID), slog.String("provider", p.Name), slog.Int64("allowed", c.maxOut))
			rl.Metrics.UpstreamError(p.Name, metrics.KindUsageOverrun)
			out = src.cut(out)
			cw.write(out)
			return nil
		}
		if first && len(out) > held {
			first = false
			at.firstByte()
			c.gen.TimeToFirst = rl.Now().Sub(c.start)
			c.gen.Status = http.StatusOK
		}
		if src.done() && err == nil {
			break
		}
		// Events that arrived together leave together: held only while a
		// whole further event is already buffered, never while waiting on
		// the network, and never past maxHeldOut.
		if len(out) > 0 && (!rd.Buffered() || err != nil || len(out) >= maxHeldOut) {
			if !cw.write(out) {
				c.gen.Cancelled = true
				return nil
			}
			out = out[:0]
		}
		if err != nil {
			return nil
		}
	}
	// The answer is whole: its last events leave with the end of the
	// chunked body, in one write, once what follows [DONE] upstream is
	// read (so that the connection goes back to the pool instead of
	// being closed).
	if !cw.end(out, func() { _, _ = io.CopyN(io.Discard, resp.Body, 64<<10) }) {
		c.gen.Cancelled = true
	}
	return nil
}

// endGrace is how long the stream's last bytes may wait, unflushed, for
// the upstream's body to end after its [DONE] (clientStream.end).
const endGrace = 2 * time.Millisecond

// maxHeldOut is how many bytes of client events pumpStream holds before it
// writes them even though more are already buffered.
const maxHeldOut = 8 << 10

// maxBytesPerToken is the most text one output token is taken to stand
// for when judging, without a tokenizer, that a stream has run past its
// max_tokens: English runs about 4 bytes a token and long whitespace runs
// rarely past 8, so a stream this far past its allowance is overrunning.
const maxBytesPerToken = 16

// streamBuffers are the per-stream read buffer and output buffer, reused
// across streams: a new 4 KiB read buffer per stream was an eighth of the
// bytes a streamed request allocated. Small to start, as RSS per open
// stream is a product figure; out grows for the rare event that needs more.
type streamBuffers struct {
	rd      framing.Reader
	framing string // the framing rd reads
	out     []byte
}

var streamBufs = sync.Pool{New: func() any { return &streamBuffers{out: make([]byte, 0, 1024)} }}

// reader is b's frame reader for f: the pooled one when it reads f, else
// a new one (a stream in another framing than the last; rare).
func (b *streamBuffers) reader(f framing.Framing) framing.Reader {
	if b.rd == nil || b.framing != f.Name {
		b.rd, b.framing = f.NewReader(4<<10), f.Name
	}
	return b.rd
}

// release returns b to the pool with out, the output buffer as the stream
// grew it, dropping the upstream body it read; an output buffer that one
// huge event made large is not kept.
func (b *streamBuffers) release(out []byte) {
	b.rd.Reset(nil)
	b.out = out
	if cap(b.out) > 16<<10 {
		b.out = make([]byte, 0, 1024)
	}
	streamBufs.Put(b)
}

// streamFailure classifies why an upstream stream could not go on.
func streamFailure(p *provider.Provider, err error) *llm.Error {
	var ue *oa.UpstreamStreamError
	switch {
	case errors.As(err, &ue):
		return llm.UpstreamError("provider '"+p.Name+"' reported an error mid-stream: "+p.Scrub(ue.Message), nil)
	case errors.Is(err, errTooLarge):
		return llm.UpstreamError("the stream from provider '"+p.Name+"' went past the gateway's bound (server.max_stream_bytes)", err)
	case errors.Is(err, framing.ErrTooLarge):
		return llm.UpstreamError("provider '"+p.Name+"' sent a stream event larger than the gateway's bound", err)
	case errors.Is(err, framing.ErrMalformed):
		return llm.UpstreamError("provider '"+p.Name+"' sent a stream that is not framed as its format says", err)
	case errors.Is(err, oa.ErrMalformedChunk):
		return llm.UpstreamError("provider '"+p.Name+"' sent a malformed stream chunk", err)
	case errors.Is(err, context.DeadlineExceeded):
		return llm.UpstreamTimeout("provider '"+p.Name+"' did not finish within "+p.Timeout.String(), err)
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return llm.UpstreamError("provider '"+p.Name+"' ended the stream before the answer was complete", err)
	default:
		return llm.UpstreamError("the stream from provider '"+p.Name+"' broke", err)
	}
}

// clientStream writes SSE to the client. A timer sends keep-alives (see
// Ingress.keepAlive) during long upstream silences; the mutex keeps its writes from
// interleaving with the relay's.
type clientStream struct {
	w     http.ResponseWriter
	rc    http.ResponseController // by value: one allocation less per stream
	every time.Duration
	ka    []byte // the keep-alive for this client's dialect
	mu    sync.Mutex
	timer *time.Timer
	begun bool
	done  bool
	dead  bool
	// unflushed: end wrote the last bytes and left them for the server
	// to flush with the body's end (or the timer, if the drain is slow).
	unflushed bool
	// writeTimeout bounds a write to a client that does not read
	// (server.stream_write_timeout): without it such a client held its
	// upstream call until the provider's timeout. A write past it fails,
	// which ends the stream as cancelled. 0: no bound.
	writeTimeout time.Duration
	armed        time.Time // when the write deadline was last moved
	last         time.Time // the last write, for the keep-alive timer
}

func newClientStream(w http.ResponseWriter, every time.Duration, keepAlive []byte, writeTimeout time.Duration) *clientStream {
	cs := &clientStream{w: w, rc: *http.NewResponseController(w), every: every, ka: keepAlive, writeTimeout: writeTimeout}
	if every > 0 {
		// Under the lock: the timer may fire (and read cs.timer) before
		// AfterFunc has returned.
		cs.mu.Lock()
		cs.last = time.Now()
		cs.timer = time.AfterFunc(every, cs.keepAlive)
		cs.mu.Unlock()
	}
	return cs
}

// keepAlive runs when the timer fires: a keep-alive if nothing was
// written for a whole interval, else the timer is moved to an interval
// after the last write. Writes do not move the timer themselves (a timer
// reset per event cost more than the clock read they do instead).
func (cs *clientStream) keepAlive() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.done || cs.dead {
		return
	}
	if cs.unflushed { // end's grace is over
		cs.flushLocked()
		return
	}
	if quiet := time.Since(cs.last); quiet < cs.every {
		cs.timer.Reset(cs.every - quiet)
		return
	}
	if cs.writeLocked(cs.ka) {
		cs.flushLocked()
	}
	cs.timer.Reset(cs.every)
}

func (cs *clientStream) started() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.begun
}

// write sends b and flushes; false means the client is gone.
func (cs *clientStream) write(b []byte) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.writeLocked(b) && cs.flushLocked()
}

// end writes b, the stream's last bytes, without flushing them, and then
// runs drain (if any). Flushed when the handler returns, they leave with
// the chunked body's terminator in one write instead of two; should drain
// take longer than endGrace, the timer flushes them then. False means the
// client is gone.
func (cs *clientStream) end(b []byte, drain func()) bool {
	cs.mu.Lock()
	ok := cs.writeLocked(b)
	if ok && drain != nil {
		cs.unflushed = true
		if cs.timer == nil {
			cs.timer = time.AfterFunc(endGrace, cs.keepAlive)
		} else {
			cs.timer.Reset(endGrace)
		}
	}
	cs.mu.Unlock()
	if drain != nil {
		drain()
	}
	return ok
}

// flushLocked flushes what was written; false means the client is gone.
func (cs *clientStream) flushLocked() bool {
	cs.unflushed = false
	if err := cs.rc.Flush(); err != nil {
		cs.dead = true
		return false
	}
	return true
}

// writeLocked writes b, not flushed; false means the client is gone.
func (cs *clientStream) writeLocked(b []byte) bool {
	if cs.dead {
		return false
	}
	if !cs.begun {
		h := cs.w.Header()
		h["Content-Type"] = hvEventStream
		h["Cache-Control"] = hvNoCache
		h["X-Accel-Buffering"] = hvNo // tell nginx-style proxies not to buffer
		cs.w.WriteHeader(http.StatusOK)
		cs.begun = true
	}
	if cs.writeTimeout > 0 || cs.timer != nil {
		now := time.Now()
		cs.last = now // the keep-alive timer reads it when it fires
		// Moved only every sixteenth of the bound, not on every event: a
		// stalled write still fails within 15/16 to 16/16 of it.
		if cs.writeTimeout > 0 && now.Sub(cs.armed) >= cs.writeTimeout/16 {
			cs.armed = now
			_ = cs.rc.SetWriteDeadline(now.Add(cs.writeTimeout))
		}
	}
	if _, err := cs.w.Write(b); err != nil {
		cs.dead = true
		return false
	}
	return true
}

// Shared header values for every stream (Header.Set would allocate them
// per response); nothing appends to or edits them.
var (
	hvEventStream = []string{"text/event-stream"}
	hvNoCache     = []string{"no-cache"}
	hvNo          = []string{"no"}
)

func (cs *clientStream) close() {
	if cs.timer != nil {
		cs.timer.Stop()
	}
	cs.mu.Lock()
	cs.done = true
	cs.mu.Unlock()
}

func (rl *Relay) finish(ctx context.Context, c *call, err error) {
	g := &c.gen
	g.Latency = rl.Now().Sub(c.start)
	if g.TimeToFirst > 0 {
		g.GenerationTime = g.Latency - g.TimeToFirst
	}
	if err != nil {
		e := llm.AsError(err)
		g.Status, g.ErrorCode = e.Status, llm.LedgerCode(e)
	}
	if g.Cancelled && g.Status == 0 {
		g.Status = 499 // the client went away before any answer
	}
	// Charge only what was produced: failed requests and empty completions
	// are free; a cancelled or broken stream pays for what it delivered.
	var cost money.Nanos
	if c.produced && err == nil {
		if !c.usage.Present && c.op.Tokens() {
			c.usage = rl.estimateUsage(c)
		}
		if _, over := c.billable(c.usage); over > 0 {
			rl.Log.LogAttrs(ctx, slog.LevelWarn, "upstream reported more output than the request allowed; the excess is not charged",
				slog.String("id", g.ID), slog.String("provider", g.Provider), slog.String("upstream_model", g.UpstreamModel),
				slog.Int64("completion_tokens", c.usage.CompletionTokens), slog.Int64("allowed", c.maxOut))
			rl.Metrics.UpstreamError(g.Provider, metrics.KindUsageOverrun)
		}
		cost = c.cost(c.usage)
	}
	u := c.usage
	g.TokensPrompt, g.TokensCompletion, g.TokensCached, g.TokensReasoning = u.PromptTokens, u.CompletionTokens, u.CachedTokens, u.ReasoningTokens
	g.UsageEstimated = u.Estimated
	g.Cost = cost
	charge := c.res.Settle(cost, g.ID) // releases the rest; nil-safe, exactly once
	// The rate limits: the tokens used replace the worst case charged, and
	// the slot in flight is freed (nil-safe, exactly once).
	c.permit.Settle(u.PromptTokens + u.CompletionTokens)
	if rl.Recorder != nil {
		rl.Recorder.Record(g, charge)
	}
	rl.Metrics.ObserveRequest(metrics.Request{Model: c.metric, Provider: g.Provider, Status: g.Status, Latency: g.Latency,
		TTFT: g.TimeToFirst, Prompt: u.PromptTokens, Complete: u.CompletionTokens, CostUSD: float64(cost) / float64(money.PerDollar)})
	if rl.accessLog {
		rl.logAccess(ctx, g, u, cost)
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && equalFoldASCII(s[:len(prefix)], prefix)
}

func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}
