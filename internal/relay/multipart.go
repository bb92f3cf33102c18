package relay

import (
	"cmp"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/formdata"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// The multipart endpoints (image edits, audio transcriptions and
// translations) read their form with package formdata: the fields before
// the first file are read as they arrive; when the model is among them the
// files are streamed to the upstream as the client sends them (one
// attempt: a body already sent cannot be sent to another route), else the
// rest of the body is spooled to a temporary file first, so the model is
// known before routing (openai-go and the Node SDK send the file first;
// the Python SDK and curl with -F model first send it first), and the
// spooled form fails over like any request.

// Audio metering. A transcription is charged per second of audio in
// (pricing.per_minute), taken from the answer when the upstream reports it
// (verbose_json's "duration", usage {"type":"duration","seconds"}); else
// from the file: a WAV header gives the exact length; any other container
// is taken at estimateAudioBytesPerSecond. The reservation assumes the
// lowest bitrate a speech codec uses, over the whole body.
const (
	// minAudioBytesPerSecond is the lowest bitrate the reservation
	// assumes (8 kbit/s: Opus and AMR speech go this low).
	minAudioBytesPerSecond = 1000
	// estimateAudioBytesPerSecond is the bitrate assumed for a file whose
	// length neither the upstream nor a WAV header tells (128 kbit/s, the
	// common MP3 and M4A rate).
	estimateAudioBytesPerSecond = 16000
	// audioTokensPerSecond and textTokensPerSecond bound a token-priced
	// transcription model's usage for the reservation (gpt-4o-transcribe
	// counts about 10 audio tokens a second; speech runs 2-3 words a
	// second).
	audioTokensPerSecond = 25
	textTokensPerSecond  = 8
	// editImageTokens bounds the input tokens of one image given to a
	// token-priced edit model; maxEditImages is how many an edit may send.
	editImageTokens = 8192
	maxEditImages   = 16
)

// audioMeter is what a transcription is metered by.
type audioMeter struct {
	maxSeconds int64 // the reservation's worst case: the most charged
	seconds    int64 // the audio charged, once known (-1: not yet)
	estimated  bool  // seconds came from the file's size, not its length
}

// readForm opens a multipart body and reads what routing and pricing need.
func (rl *Relay) readForm(r *http.Request, c *call) (*oa.Request, error) {
	limit, ep := rl.bodyLimit(r)
	if r.ContentLength > limit {
		return nil, tooLarge(limit, ep)
	}
	f, err := formdata.Open(http.MaxBytesReader(nil, r.Body, limit), r.Header.Get("Content-Type"), formdata.DefaultLimits)
	if f != nil {
		c.form = f
		f.Early = earlyFields
	}
	if err != nil {
		return nil, formError(err, limit, ep)
	}
	if _, n := f.Get("model"); n == 0 && !f.Done() {
		if err := f.Spool(""); err != nil {
			return nil, formError(err, limit, ep)
		}
	}
	size := limit
	if r.ContentLength > 0 {
		size = r.ContentLength
	}
	c.audio = audioMeter{maxSeconds: max(size/minAudioBytesPerSecond, 1), seconds: -1}
	req, err := scanForm(c.op, f)
	if err != nil {
		return nil, err
	}
	prompt, _ := f.Get("prompt")
	c.body = []byte(prompt) // what the token estimates read
	return req, nil
}

// formError is the client's error for a form that could not be read.
func formError(err error, limit int64, ep string) error {
	var fe *formdata.Error
	if errors.As(err, &fe) {
		if fe.Err != nil {
			var mbe *http.MaxBytesError
			var le *llm.Error
			if errors.As(fe.Err, &mbe) || errors.As(fe.Err, &le) {
				return bodyError(fe.Err, limit, ep)
			}
		}
		return llm.BadRequest("", "%s", fe.Msg)
	}
	return err // the spool's disk: the gateway's own failure
}

// formScalars are the fields that may be sent once only: the gateway reads
// the first, and the upstream must not see another.
var formScalars = []string{"model", "n", "size", "quality", "prompt", "response_format", "stream", "language", "temperature", "background", "output_format"}

// earlyFields may not follow a file in a streamed body: the gateway routes
// by the model, and would relay a stream as a whole answer.
var earlyFields = []string{"model", "stream"}

// scanForm reads a multipart request's fields: the model (required), and
// for an edit n, size and quality, as far as they came before the first
// file; a field that came later does not change routing or the
// reservation, which then assumes the worst.
func scanForm(op oa.Op, f *formdata.Form) (*oa.Request, error) {
	for _, k := range formScalars {
		if _, n := f.Get(k); n > 1 {
			return nil, llm.BadRequest(k, "the field '%s' is sent %d times; send it once", k, n)
		}
	}
	model, n := f.Get("model")
	if n == 0 || model == "" {
		return nil, llm.BadRequest("model", "the field 'model' is required, such as whisper-1 or gpt-image-1")
	}
	if len(model) > maxModelName {
		return nil, llm.BadRequest("model", "'model' is longer than %d characters", maxModelName)
	}
	switch s, _ := f.Get("stream"); s {
	case "", "false":
	case "true":
		if !op.Audio() {
			return nil, llm.BadRequest("stream", "'stream' is served for transcriptions only")
		}
	default:
		return nil, llm.BadRequest("stream", "'stream' must be true or false")
	}
	want, msg := op.NeedFile()
	if f.Files == 0 || (f.FileName != want && f.FileName != want+"[]") {
		return nil, llm.BadRequest(want, "%s", msg)
	}
	stream, _ := f.Get("stream")
	req := &oa.Request{Op: op, Model: model, Stream: stream == "true"}
	if v, _ := f.Get("n"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > op.MaxN() {
			return nil, llm.BadRequest("n", "'n' must be an integer from 1 to %d", op.MaxN())
		}
		req.N = n
	} else if op == oa.OpImageEdits && !f.Done() {
		req.N = op.MaxN() // n may follow the image: reserve for the most
	}
	req.Size, _ = f.Get("size")
	req.Quality, _ = f.Get("quality")
	return req, nil
}

// attemptForm sends a multipart request to an OpenAI-format upstream: the
// form is written again with a new boundary and the route's model, through
// a pipe that the upstream request reads as the client's body arrives.
func (rl *Relay) attemptForm(w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, cd candidate, p *provider.Provider, at *attemptCtx) (int, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	// Read before the writer runs (it changes the form while streaming).
	size, _ := c.form.Len(mw.Boundary(), cd.t.Model)
	done := make(chan error, 1)
	go func() {
		err := c.form.WriteTo(mw, cd.t.Model)
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	// The writer must have stopped before the form is read again (its
	// counts, a next attempt): closing the pipe ends a write the upstream
	// no longer reads.
	wait := func() error {
		_ = pr.CloseWithError(io.ErrClosedPipe)
		return <-done
	}
	resp, status, err := rl.sendRequest(r, c, p, at, func() (*http.Request, error) {
		ureq, err := p.NewStreamRequest(at.ctx, p.Path(req.Op.Path(), cd.t.Model), pr, mw.FormDataContentType(), c.gen.RequestID)
		if size > 0 && err == nil {
			ureq.ContentLength = size // a spooled form's length is known: not chunked
		}
		return ureq, err
	}, decodeOpenAIError)
	werr := wait()
	var fe *formdata.Error
	if errors.As(werr, &fe) {
		// The client's body broke (truncated, over its limit, a second
		// model): its error, not the upstream's.
		if resp != nil {
			resp.Body.Close()
		}
		limit, ep := rl.bodyLimit(r)
		return 0, formError(werr, limit, ep)
	}
	if resp == nil {
		return status, err
	}
	defer resp.Body.Close()
	at.firstByte()
	ct := resp.Header.Get("Content-Type")
	if req.Stream && hasPrefixFold(ct, "text/event-stream") {
		// A streamed transcription (gpt-4o-transcribe; whisper-1 ignores
		// stream and answers whole).
		err = rl.pumpStream(w, r, resp, p, c, req, at, &transcriptSource{})
		if c.audio.seconds < 0 {
			c.audioFromFile()
		}
		return resp.StatusCode, err
	}
	if req.Op.Audio() && !hasPrefixFold(ct, "application/json") {
		err = rl.relayText(w, r, resp, p, c, at) // response_format text, srt or vtt
	} else {
		err = rl.relayJSON(w, r, resp, p, c, at, oa.Rewrite{ID: c.gen.ID, Model: req.Model, Cost: c.cost})
	}
	if err != nil {
		return resp.StatusCode, at.explain(p, err)
	}
	if c.audio.estimated && !c.usage.Present {
		c.usage = llm.Usage{Present: true, Estimated: true} // the ledger shows the length was estimated
	}
	return resp.StatusCode, nil
}

// relayText relays a transcription answered as text (text, srt, vtt).
func (rl *Relay) relayText(w http.ResponseWriter, r *http.Request, resp *http.Response, p *provider.Provider, c *call, at *attemptCtx) error {
	raw, err := rl.readAnswer(r, resp, p, c, at)
	if raw == nil {
		return err // nil: the client went away
	}
	if s := subtitleSeconds(raw); s > 0 {
		c.setSeconds(s, false)
	} else {
		c.audioFromFile()
	}
	c.produced = true
	rl.writeAnswer(w, c, cmp.Or(resp.Header.Get("Content-Type"), "text/plain; charset=utf-8"), raw)
	return nil
}

// meterAudio reads the audio's length from a JSON answer, else from the file.
func (c *call) meterAudio(raw []byte) {
	if d := gjson.GetBytes(raw, "duration"); d.Type == gjson.Number {
		c.setSeconds(d.Num, false)
		return
	}
	if u := gjson.GetBytes(raw, "usage"); u.Get("type").Str == "duration" && u.Get("seconds").Type == gjson.Number {
		c.setSeconds(u.Get("seconds").Num, false)
		return
	}
	c.audioFromFile()
}

// setSeconds records s seconds of audio, rounded up, at most the reserved
// worst case (an upstream cannot charge beyond it).
func (c *call) setSeconds(s float64, estimated bool) {
	if math.IsNaN(s) || s < 0 {
		s = 0
	}
	n := c.audio.maxSeconds
	if s < float64(n) {
		n = int64(math.Ceil(s))
	}
	c.audio.seconds, c.audio.estimated = n, estimated
}

// audioFromFile meters the audio by its file: a WAV header's length, else
// its size at estimateAudioBytesPerSecond.
func (c *call) audioFromFile() {
	if s, ok := wavSeconds(c.form.FileHead, c.form.FileBytes); ok {
		c.setSeconds(s, false)
		return
	}
	c.setSeconds(float64(c.form.FileBytes)/estimateAudioBytesPerSecond, true)
}

// wavSeconds is the length of a WAV file of size bytes whose first bytes
// are head: the data that follows the header at the format's byte rate.
func wavSeconds(head []byte, size int64) (float64, bool) {
	if len(head) < 12 || string(head[:4]) != "RIFF" || string(head[8:12]) != "WAVE" {
		return 0, false
	}
	var rate uint32
	for off := 12; off+8 <= len(head); {
		id, n := string(head[off:off+4]), binary.LittleEndian.Uint32(head[off+4:off+8])
		switch id {
		case "fmt ":
			if off+20 <= len(head) {
				rate = binary.LittleEndian.Uint32(head[off+16 : off+20])
			}
		case "data":
			if rate == 0 {
				return 0, false
			}
			data := size - int64(off+8) // a streamed WAV may leave n unset
			if n != 0 && n != math.MaxUint32 && int64(n) < data {
				data = int64(n)
			}
			return float64(max(data, 0)) / float64(rate), true
		}
		if n > uint32(len(head)) {
			return 0, false
		}
		off += 8 + int(n) + int(n&1)
	}
	return 0, false
}

// subtitleSeconds is the end of the last cue of an SRT or WebVTT answer
// ("00:01:02,500 --> 00:01:05,000"), 0 if none.
func subtitleSeconds(raw []byte) float64 {
	s := string(raw)
	i := strings.LastIndex(s, "-->")
	if i < 0 {
		return 0
	}
	end := strings.TrimSpace(s[i+3:])
	if j := strings.IndexAny(end, " \r\n"); j >= 0 {
		end = end[:j]
	}
	end = strings.Replace(end, ",", ".", 1)
	var secs float64
	for _, part := range strings.Split(end, ":") {
		v, err := strconv.ParseFloat(part, 64)
		if err != nil || v < 0 {
			return 0
		}
		secs = secs*60 + v
	}
	return secs
}

// transcriptSource relays a streamed transcription's events as they are
// (transcript.text.delta, then transcript.text.done with the usage) and
// keeps the usage of the last.
type transcriptSource struct {
	usage    llm.Usage
	events   int
	finished bool
}

func (s *transcriptSource) event(out []byte, _ string, data []byte) ([]byte, error) {
	if string(data) == "[DONE]" {
		s.finished = true
		return append(out, "data: [DONE]\n\n"...), nil
	}
	if !gjson.ValidBytes(data) {
		return out, oa.ErrMalformedChunk
	}
	if gjson.GetBytes(data, "type").Str == "transcript.text.done" {
		s.finished = true
		if u := gjson.GetBytes(data, "usage"); u.IsObject() && u.Get("type").Str != "duration" {
			s.usage = oa.ReadUsage(u)
		}
	}
	s.events++
	out = append(out, "data: "...)
	out = append(out, data...)
	return append(out, "\n\n"...), nil
}

func (s *transcriptSource) finish(out []byte) ([]byte, bool) { return out, s.finished }
func (s *transcriptSource) fail(out []byte, e *llm.Error) []byte {
	out = append(out, "data: "...)
	out = oa.AppendErrorEnvelope(out, e, "")
	return append(out, "\n\n"...)
}
func (s *transcriptSource) done() bool            { return s.finished }
func (s *transcriptSource) textBytes() int64      { return 0 }
func (s *transcriptSource) cut(out []byte) []byte { return out }
func (s *transcriptSource) result(c *call) {
	c.usage = s.usage
	c.produced = c.produced || s.events > 0
}
