package relay

import (
	"cmp"
	"io"
	"net/http"

	"github.com/tidwall/gjson"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/billing"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/metrics"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/routing"
)

// The endpoints priced per unit (images, moderations, rerank; see
// oa.Op.Tokens) are priced here. Their rule: the catalogue's per_request
// price, plus the price of each image delivered (by size and quality) or of
// each rerank search unit, plus the tokens the upstream reports, if any, at
// the token prices. Nothing is charged for usage the upstream did not
// report: these bodies are not text a tokenizer could count.

// searchUnitDocs is how many documents one rerank search unit covers.
const searchUnitDocs = 100

// imageOutputTokens is the worst-case output tokens of one image from a
// model priced by tokens (gpt-image-1 at high quality and its largest size
// uses about 6,200), when the catalogue gives no max_output_tokens.
const imageOutputTokens = 8192

// searchUnits is how many search units a rerank over docs documents costs.
func searchUnits(docs int64) int64 { return (max(docs, 1) + searchUnitDocs - 1) / searchUnitDocs }

// unitsCost is the per-unit part of a request's price for units images
// (or seconds of audio).
func (c *call) unitsCost(units int64) money.Nanos {
	p := c.price
	total := p.PerRequest
	images := units
	switch c.op {
	case oa.OpTranscriptions, oa.OpTranslations:
		total = money.Add(total, perMinute(units, p.PerMinute))
	case oa.OpImages, oa.OpImageEdits:
		per, ok := p.ImagePrice(c.req.Size, c.req.Quality)
		if !ok && (c.req.Size == "" || c.req.Size == "auto") {
			per = p.MaxImagePrice() // the upstream picks the size: the dearest
		}
		total = money.Add(total, money.Nanos(satMul(int64(per), images)))
	case oa.OpRerank:
		total = money.Add(total, money.Nanos(satMul(int64(p.SearchUnit), searchUnits(c.req.Documents))))
	case oa.OpSpeech:
		total = money.Add(total, money.CostOf(c.req.Chars, p.Characters))
	}
	return total
}

// mediaCost is cost for an operation priced per unit.
func (c *call) mediaCost(u llm.Usage) money.Nanos {
	if c.price == nil {
		return 0
	}
	units := c.delivered
	if c.op.Audio() {
		units = max(c.audio.seconds, 0)
	}
	total := c.unitsCost(units)
	if u.Present && !u.Estimated {
		if c.op == oa.OpRerank && u.PromptTokens == 0 {
			u.PromptTokens = u.TotalTokens // Jina reports only total_tokens
		}
		u, _ = c.billable(u)
		total = money.Add(total, billing.Cost(u, c.price))
	}
	return total
}

// mediaEstimate is estimate for an operation priced per unit: every unit
// it may use (n images), the prompt at one token per two bytes of body, and
// for images priced by tokens the output of n images.
//
// An edit adds the input images (editImageTokens each: the number sent,
// else the most an edit may send); a transcription reserves its worst-case
// seconds (audioMeter.maxSeconds) and, for a model priced by tokens, their
// audio tokens in and text out.
func (rl *Relay) mediaEstimate(c *call, req *oa.Request, res *routing.Resolution) billing.Estimate {
	n := max(req.N, 1)
	prompt := int64(len(c.body)+1) / 2
	var maxOut int64
	switch {
	case (req.Op == oa.OpImages || req.Op == oa.OpImageEdits) && c.price.Completion > 0:
		per := int64(imageOutputTokens)
		if res.Entry != nil && res.Entry.MaxOutputTokens > 0 {
			per = int64(res.Entry.MaxOutputTokens)
		}
		maxOut = satMul(per, n)
		c.maxOut = maxOut
	case req.Op.Audio():
		n = c.audio.maxSeconds
		prompt += satMul(n, audioTokensPerSecond)
		if c.price.Completion > 0 {
			maxOut = satMul(n, textTokensPerSecond)
			c.maxOut = maxOut
		}
	}
	if req.Op == oa.OpImageEdits {
		images := int64(maxEditImages)
		if c.form.Done() {
			images = int64(c.form.Files)
		}
		prompt += satMul(images, editImageTokens)
	}
	e := rl.estimateFor(c, prompt, maxOut)
	e.Amount = money.Add(e.Amount, c.unitsCost(n))
	return e
}

// perMinute is the price of secs seconds at price per minute, rounded up
// to the nano-dollar.
func perMinute(secs int64, price money.Nanos) money.Nanos {
	x := satMul(secs, int64(price))
	q := x / 60
	if x%60 != 0 {
		q++
	}
	return money.Nanos(q)
}

// relayBinary streams a binary answer (speech audio) to the client as it
// arrives, with the upstream's Content-Type and Content-Length, bounded by
// server.max_stream_bytes. A failure before the first byte fails over; a
// later one cuts the client's connection and is charged nothing (audio cut short
// cannot be apportioned to the characters spoken).
func (rl *Relay) relayBinary(w http.ResponseWriter, r *http.Request, resp *http.Response, p *provider.Provider, c *call, at *attemptCtx) error {
	body := &limitedBody{r: resp.Body, n: rl.Config.Server.MaxStreamBytes}
	buf := make([]byte, 32<<10)
	rc := http.NewResponseController(w)
	started := false
	for {
		n, err := body.Read(buf)
		if n > 0 {
			at.event()
			if !started {
				at.firstByte()
				started = true
				h := w.Header()
				h.Set("Content-Type", cmp.Or(resp.Header.Get("Content-Type"), "application/octet-stream"))
				if cl := resp.Header.Get("Content-Length"); cl != "" {
					h.Set("Content-Length", cl)
				}
				w.WriteHeader(http.StatusOK)
				c.gen.Status, c.gen.TimeToFirst, c.produced = http.StatusOK, rl.Now().Sub(c.start), true
			}
			if t := rl.Config.Server.StreamWriteTimeout; t > 0 {
				_ = rc.SetWriteDeadline(rl.Now().Add(t))
			}
			if _, werr := w.Write(buf[:n]); werr != nil || rc.Flush() != nil {
				c.gen.Cancelled = true
				return nil
			}
		}
		switch {
		case err == nil:
			continue
		case err == io.EOF && started:
			return nil
		case clientGone(r):
			c.gen.Cancelled = true
			return nil
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // no audio at all
		}
		failure := at.explain(p, streamFailure(p, err))
		if !started {
			return failure
		}
		c.gen.ErrorCode, c.produced, c.abort = llm.LedgerCode(llm.AsError(failure)), false, true
		rl.Metrics.UpstreamError(p.Name, metrics.KindStream)
		return nil
	}
}

// countDelivered notes how many images an answer holds (at most the n
// asked for): they are what is charged.
func (c *call) countDelivered(raw []byte) {
	switch {
	case c.op == oa.OpImages || c.op == oa.OpImageEdits:
		c.delivered = min(gjson.GetBytes(raw, "data.#").Int(), max(c.req.N, 1))
	case c.op.Audio():
		c.meterAudio(raw)
	}
}
