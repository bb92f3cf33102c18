// Package framing reads an upstream's stream as the frames its format
// sends: Server-Sent Events (OpenAI, Anthropic, Gemini with alt=sse), or
// the elements of one JSON array delivered piece by piece (Gemini's
// streamGenerateContent without alt=sse). An upstream format names its
// framing; the relay reads every stream through a Reader and never parses
// the framing itself.
//
// Readers are pure: no clock, no network beyond the io.Reader they are
// given. Each bounds a frame (MaxFrame); the stream as a whole is bounded
// by the caller (server.max_stream_bytes).
package framing

import (
	"errors"
	"io"

	"github.com/switchyard-gw/switchyard/internal/sse"
)

// MaxFrame bounds one frame's data: an SSE event's, a JSON array element's.
const MaxFrame = sse.MaxEvent

var (
	// ErrTooLarge is a frame over MaxFrame.
	ErrTooLarge = errors.New("framing: frame too large")
	// ErrMalformed is a stream whose framing is broken.
	ErrMalformed = errors.New("framing: malformed stream")
)

// Reader hands out the frames of one stream.
type Reader interface {
	// Next returns the next frame: its event name (SSE's "event:" field;
	// nil where the framing has none) and its data. Both are valid until
	// the next call. At the end of a well-formed stream it returns io.EOF;
	// a stream cut inside a frame or its framing is io.ErrUnexpectedEOF,
	// malformed framing ErrMalformed, a frame over MaxFrame ErrTooLarge,
	// and a read error is returned as is.
	Next() (event, data []byte, err error)
	// Buffered reports whether a whole further frame has already arrived,
	// so that Next will return it without waiting on the network. It never
	// reads; false is always a safe answer.
	Buffered() bool
	// Reset makes the reader read r, keeping its buffers (nil drops the
	// previous stream, for a reader going back to a pool).
	Reset(r io.Reader)
}

// Framing is one way of framing a stream: what its Content-Type is and how
// to read it.
type Framing struct {
	// Name names it in messages and tells readers of one framing from
	// another's (a pooled reader is reused only for its own framing).
	Name string
	// MediaType is the Content-Type a stream in this framing is answered
	// with; any other means the upstream did not stream.
	MediaType string
	// NewReader makes a reader with a read buffer of size bytes.
	NewReader func(size int) Reader
}

// SSE is Server-Sent Events, read by internal/sse.
func SSE() Framing {
	return Framing{Name: "SSE", MediaType: "text/event-stream", NewReader: func(size int) Reader {
		return &sseReader{rd: sse.NewReader(nil, size)}
	}}
}

// JSONArray is one JSON array whose elements are handed out one at a time
// as each completes.
func JSONArray() Framing {
	return Framing{Name: "JSON array", MediaType: "application/json", NewReader: func(size int) Reader {
		return NewJSONArrayReader(nil, size, MaxFrame)
	}}
}

// sseReader is an sse.Reader as a Reader: same buffer reuse, same limits.
type sseReader struct{ rd *sse.Reader }

func (s *sseReader) Next() ([]byte, []byte, error) {
	data, err := s.rd.Next()
	if err != nil {
		if err == sse.ErrTooLarge {
			err = ErrTooLarge
		}
		return nil, nil, err
	}
	return s.rd.Event, data, nil
}

func (s *sseReader) Buffered() bool    { return s.rd.EventBuffered() }
func (s *sseReader) Reset(r io.Reader) { s.rd.Reset(r) }
