package framing

import (
	"fmt"
	"io"
)

// JSONArrayReader reads a stream that is one JSON array of objects (or
// arrays), `[{…},\r\n{…}]`, as Gemini's streamGenerateContent sends it
// without alt=sse (https://ai.google.dev/api/generate-content). Each element
// is handed out as soon as its closing bracket arrives, without waiting for
// the comma or the next element.
//
// It frames, it does not parse: it follows strings (and their escapes) and
// matching brackets to find where an element ends, and checks what lies
// between elements (whitespace, one comma). Whether an element is valid
// JSON is for the decoder that reads it. Scalars as elements, anything but
// whitespace after the closing bracket, or a bracket that closes what it did
// not open are ErrMalformed; an element over its bound is ErrTooLarge.
type JSONArrayReader struct {
	src     io.Reader
	buf     []byte
	initial int // the read buffer's size as made, restored by Reset
	max     int
	w       int // buf[:w] holds bytes read
	pos     int // the next byte to scan
	elem    int // where the element being scanned starts
	phase   phase
	stack   []byte // open brackets of the element being scanned
	inStr   bool
	esc     bool
	ready   bool // buf[elem:pos] is a whole element, not yet handed out
	err     error
	pending error // a read's error that came with bytes, for when they are scanned
	empties int   // consecutive reads of nothing
}

type phase uint8

const (
	phaseStart phase = iota // before '['
	phaseFirst              // after '[': an element or ']'
	phaseNext               // after ',': an element
	phaseIn                 // inside an element
	phaseAfter              // after an element: ',' or ']'
	phaseEnd                // after ']': whitespace to the end
)

// NewJSONArrayReader reads from r with a read buffer of size bytes, which
// grows as far as an element of max bytes needs.
func NewJSONArrayReader(r io.Reader, size, limit int) *JSONArrayReader {
	size = min(max(size, 16), limit+1)
	return &JSONArrayReader{src: r, buf: make([]byte, size), initial: size, max: limit}
}

// Reset makes the reader read r from the start, keeping its buffers (a
// buffer one large element grew is let go).
func (a *JSONArrayReader) Reset(r io.Reader) {
	if len(a.buf) > 4*a.initial && len(a.buf) > 64<<10 {
		a.buf = make([]byte, a.initial)
	}
	if cap(a.stack) > 1024 {
		a.stack = nil
	}
	*a = JSONArrayReader{src: r, buf: a.buf, initial: a.initial, max: a.max, stack: a.stack[:0]}
}

// Next returns the next element (event is always nil).
func (a *JSONArrayReader) Next() ([]byte, []byte, error) {
	for {
		if a.err != nil {
			return nil, nil, a.err
		}
		if !a.ready {
			a.scan()
		}
		if a.ready {
			a.ready = false
			return nil, a.buf[a.elem:a.pos], nil
		}
		if a.err != nil {
			continue
		}
		a.fill()
	}
}

// Buffered reports whether a whole further element has already arrived. It
// scans what is buffered (the work Next would do anyway) and never reads.
func (a *JSONArrayReader) Buffered() bool {
	if a.err == nil && !a.ready {
		a.scan()
	}
	return a.ready
}

// fill reads more of the stream into the buffer, first making room: bytes
// before the element being scanned (or all scanned bytes between elements)
// are dropped; a buffer full of one element grows, up to its bound.
func (a *JSONArrayReader) fill() {
	keep := a.pos
	if a.phase == phaseIn {
		keep = a.elem
	}
	if keep > 0 {
		n := copy(a.buf, a.buf[keep:a.w])
		a.w, a.pos, a.elem = n, a.pos-keep, a.elem-keep
	}
	if a.w == len(a.buf) {
		if len(a.buf) > a.max {
			a.err = ErrTooLarge // cannot happen: scan stops an element at max
			return
		}
		grown := make([]byte, min(2*len(a.buf), a.max+1))
		copy(grown, a.buf[:a.w])
		a.buf = grown
	}
	n, err := 0, a.pending
	a.pending = nil
	switch {
	case err != nil:
	case a.src == nil:
		err = io.EOF
	default:
		n, err = a.src.Read(a.buf[a.w:])
		if n < 0 || n > len(a.buf)-a.w {
			a.err = fmt.Errorf("%w: the reader returned a bad count", ErrMalformed)
			return
		}
	}
	a.w += n
	switch {
	case n > 0:
		a.empties, a.pending = 0, err // the error once these bytes are scanned
	case err == io.EOF:
		a.err = a.eof()
	case err != nil:
		a.err = err
	default:
		if a.empties++; a.empties >= 100 {
			a.err = io.ErrNoProgress
		}
	}
}

// eof is what the end of the stream means where the scan stands.
func (a *JSONArrayReader) eof() error {
	switch a.phase {
	case phaseEnd:
		return io.EOF
	case phaseStart:
		return io.EOF // nothing at all: the caller judges an empty answer
	}
	return io.ErrUnexpectedEOF
}

// scan follows buf[pos:w] until an element is whole (ready), the framing is
// broken (err) or the bytes run out.
func (a *JSONArrayReader) scan() {
	for a.pos < a.w {
		c := a.buf[a.pos]
		if a.phase == phaseIn {
			if a.pos-a.elem >= a.max {
				a.err = ErrTooLarge
				return
			}
			a.pos++
			switch {
			case a.inStr:
				switch {
				case a.esc:
					a.esc = false
				case c == '\\':
					a.esc = true
				case c == '"':
					a.inStr = false
				}
			case c == '"':
				a.inStr = true
			case c == '{' || c == '[':
				a.stack = append(a.stack, c)
			case c == '}' || c == ']':
				top := a.stack[len(a.stack)-1]
				if (c == '}') != (top == '{') {
					a.err = fmt.Errorf("%w: %q closes %q", ErrMalformed, c, top)
					return
				}
				a.stack = a.stack[:len(a.stack)-1]
				if len(a.stack) == 0 {
					a.phase, a.ready = phaseAfter, true
					return
				}
			}
			continue
		}
		a.pos++
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		switch {
		case a.phase == phaseStart && c == '[':
			a.phase = phaseFirst
		case (a.phase == phaseFirst || a.phase == phaseNext) && (c == '{' || c == '['):
			a.phase, a.elem = phaseIn, a.pos-1
			a.stack = append(a.stack[:0], c)
		case (a.phase == phaseFirst || a.phase == phaseAfter) && c == ']':
			a.phase = phaseEnd
		case a.phase == phaseAfter && c == ',':
			a.phase = phaseNext
		default:
			a.err = fmt.Errorf("%w: unexpected %q %s", ErrMalformed, c, a.phase.expect())
			return
		}
	}
}

func (p phase) expect() string {
	switch p {
	case phaseStart:
		return "where the array should begin"
	case phaseFirst:
		return "where an element (an object) or the end of the array should be"
	case phaseNext:
		return "where an element (an object) should be"
	case phaseAfter:
		return "where a comma or the end of the array should be"
	}
	return "after the end of the array"
}
