package mock

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
)

// usagePlan says where usage goes in a stream, from the request's
// stream_options.include_usage and the model's Options.
type usagePlan struct {
	nullOnChunks bool // "usage":null on every chunk but the one with usage
	onFinish     bool // usage on the finish_reason chunk (DeepSeek)
	ownChunk     bool // a usage-only chunk with "choices":[] (OpenAI)
}

func (o *Options) usagePlan(includeUsage bool) usagePlan {
	switch {
	case o.OmitUsage:
		return usagePlan{}
	case o.UsageInFinishChunk:
		return usagePlan{nullOnChunks: includeUsage, onFinish: true}
	default:
		return usagePlan{nullOnChunks: includeUsage, ownChunk: includeUsage}
	}
}

// sseWriter sends server-sent events, flushing each one, sleeping delay
// between them and giving up as soon as ctx is done or a write fails.
type sseWriter struct {
	ctx   context.Context
	w     http.ResponseWriter
	f     http.Flusher
	delay time.Duration
	sent  int
	dead  bool
}

func newSSEWriter(ctx context.Context, w http.ResponseWriter, delay time.Duration) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return &sseWriter{ctx: ctx, w: w, f: f, delay: delay}
}

// send writes one complete event (already framed as "data: ...\n\n") and
// reports whether the stream is still alive.
func (s *sseWriter) send(event []byte) bool {
	if s.dead {
		return false
	}
	if s.sent > 0 && !Sleep(s.ctx, s.delay) {
		s.dead = true
		return false
	}
	if s.ctx.Err() != nil {
		s.dead = true
		return false
	}
	if _, err := s.w.Write(event); err != nil {
		s.dead = true
		return false
	}
	if s.f != nil {
		s.f.Flush()
	}
	s.sent++
	return true
}

const doneEvent = "data: [DONE]\n\n"

// chunks builds the events of one stream in a single reused buffer. Every
// event starts with the same head (id, object, created, model and the opening
// of "choices"); the caller appends one choice between open and closeChoice.
type chunks struct {
	head []byte
	buf  []byte
	up   usagePlan
	u    usage
}

func newChunks(buf []byte, idPrefix, object string, id uint64, created int64, model string, up usagePlan, u usage) *chunks {
	head := make([]byte, 0, 112+len(model))
	head = append(head, `data: {"id":"`...)
	head = append(head, idPrefix...)
	head = strconv.AppendUint(head, id, 10)
	head = append(head, `","object":"`...)
	head = append(head, object...)
	head = append(head, `","created":`...)
	head = strconv.AppendInt(head, created, 10)
	head = append(head, `,"model":`...)
	head = jsonstr.Append(head, model)
	head = append(head, `,"choices":[`...)
	return &chunks{head: head, buf: buf, up: up, u: u}
}

func (k *chunks) open() { k.buf = append(k.buf[:0], k.head...) }

// closeChoice ends the choice opened after open and returns the whole event.
// finish "" is rendered as null.
func (k *chunks) closeChoice(finish string, withUsage bool) []byte {
	k.buf = append(k.buf, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		k.buf = append(k.buf, "null"...)
	} else {
		k.buf = jsonstr.Append(k.buf, finish)
	}
	k.buf = append(k.buf, '}', ']')
	switch {
	case withUsage:
		k.buf = append(k.buf, `,"usage":`...)
		k.buf = appendUsage(k.buf, k.u)
	case k.up.nullOnChunks:
		k.buf = append(k.buf, `,"usage":null`...)
	}
	k.buf = append(k.buf, "}\n\n"...)
	return k.buf
}

// usageOnly returns the last chunk OpenAI sends when usage was asked for:
// no choices, only usage.
func (k *chunks) usageOnly() []byte {
	k.open()
	k.buf = append(k.buf, `],"usage":`...)
	k.buf = appendUsage(k.buf, k.u)
	k.buf = append(k.buf, "}\n\n"...)
	return k.buf
}

func (k *chunks) done() []byte {
	k.buf = append(k.buf[:0], doneEvent...)
	return k.buf
}

// finishStream sends the finish chunk's tail events: the usage-only chunk when
// the plan has one, then [DONE]. The finish chunk itself is the caller's.
func (k *chunks) finishStream(s *sseWriter) {
	if k.up.ownChunk && !s.send(k.usageOnly()) {
		return
	}
	s.send(k.done())
}
