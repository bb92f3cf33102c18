package framing

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
)

// EventStream is the AWS event-stream binary framing
// (application/vnd.amazon.eventstream) that Bedrock's ConverseStream
// answers with: length-prefixed messages, each with typed headers and a
// payload, CRC-checked.
func EventStream() Framing {
	return Framing{Name: "AWS event stream", MediaType: "application/vnd.amazon.eventstream", NewReader: func(size int) Reader {
		return NewEventStreamReader(nil, size, MaxFrame)
	}}
}

// The layout of one event-stream message: a 12-byte prelude (total length,
// headers length, CRC-32 of those 8 bytes), the headers, the payload, and
// a CRC-32 of everything before it. All integers are big-endian.
const (
	esPrelude = 12
	esMinimum = esPrelude + 4
	// esMaxHeaders bounds a message's headers, as AWS does (128 KiB).
	esMaxHeaders = 128 << 10
)

// EventStreamReader reads AWS event-stream messages. A message whose
// :message-type is "event" (or absent) is handed out with its :event-type
// as the event name and its payload as the data. An "exception" message
// is handed out under its :exception-type ("throttlingException") with its
// payload ({"message": …}); an "error" message under its :error-code, with
// the data {"message": <its :error-message>}. A message over its bound is
// ErrTooLarge, a bad CRC or impossible lengths ErrMalformed, and a stream
// cut inside a message io.ErrUnexpectedEOF.
type EventStreamReader struct {
	src     io.Reader
	buf     []byte
	initial int
	max     int
	r, w    int // buf[r:w] is read and not yet handed out
	err     error
	scratch []byte // an error message's synthesized data
}

// NewEventStreamReader reads from r with a read buffer of size bytes,
// which grows as far as a message of limit bytes needs.
func NewEventStreamReader(r io.Reader, size, limit int) *EventStreamReader {
	size = min(max(size, esMinimum), limit)
	return &EventStreamReader{src: r, buf: make([]byte, size), initial: size, max: limit}
}

// Reset makes the reader read r from the start, keeping its buffer (one
// that a large message grew is let go).
func (e *EventStreamReader) Reset(r io.Reader) {
	if len(e.buf) > 4*e.initial && len(e.buf) > 64<<10 {
		e.buf = make([]byte, e.initial)
	}
	e.src, e.r, e.w, e.err, e.scratch = r, 0, 0, nil, e.scratch[:0]
}

// Buffered reports whether a whole message is already in the buffer.
func (e *EventStreamReader) Buffered() bool {
	n := e.w - e.r
	if n < esPrelude {
		return false
	}
	total := int(binary.BigEndian.Uint32(e.buf[e.r:]))
	return total >= esMinimum && total <= n
}

// fill reads until buf[r:w] holds at least n bytes (n ≤ len(buf) after
// growing). It returns io.EOF when the stream ended with nothing unread,
// io.ErrUnexpectedEOF when it ended short of n.
func (e *EventStreamReader) fill(n int) error {
	if e.w-e.r >= n {
		return nil
	}
	if e.r > 0 {
		e.w = copy(e.buf, e.buf[e.r:e.w])
		e.r = 0
	}
	if n > len(e.buf) {
		nb := make([]byte, min(max(n, 2*len(e.buf)), e.max))
		e.w = copy(nb, e.buf[:e.w])
		e.buf = nb
	}
	empties := 0
	for e.w < n {
		if e.err != nil {
			if e.err == io.EOF {
				if e.w == 0 {
					return io.EOF
				}
				return io.ErrUnexpectedEOF
			}
			return e.err
		}
		k, err := e.src.Read(e.buf[e.w:])
		e.w += k
		if err != nil {
			e.err = err
		}
		if k == 0 && err == nil {
			if empties++; empties > 100 {
				e.err = io.ErrNoProgress
			}
		}
	}
	return nil
}

// Next implements Reader.
func (e *EventStreamReader) Next() (event, data []byte, err error) {
	if err := e.fill(esPrelude); err != nil {
		return nil, nil, err
	}
	p := e.buf[e.r : e.r+esPrelude]
	total := int64(binary.BigEndian.Uint32(p))
	hlen := int64(binary.BigEndian.Uint32(p[4:]))
	if crc32.ChecksumIEEE(p[:8]) != binary.BigEndian.Uint32(p[8:]) {
		return nil, nil, ErrMalformed
	}
	if total < esMinimum || hlen > total-esMinimum || hlen > esMaxHeaders {
		return nil, nil, ErrMalformed
	}
	if total > int64(e.max) {
		return nil, nil, ErrTooLarge
	}
	if err := e.fill(int(total)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, err
	}
	msg := e.buf[e.r : e.r+int(total)]
	e.r += int(total)
	if crc32.ChecksumIEEE(msg[:total-4]) != binary.BigEndian.Uint32(msg[total-4:]) {
		return nil, nil, ErrMalformed
	}
	h, ok := parseEventStreamHeaders(msg[esPrelude : esPrelude+hlen])
	if !ok {
		return nil, nil, ErrMalformed
	}
	payload := msg[esPrelude+hlen : total-4]
	switch string(h.messageType) {
	case "exception":
		if len(h.exceptionType) == 0 {
			return []byte("exception"), payload, nil
		}
		return h.exceptionType, payload, nil
	case "error":
		e.scratch = append(e.scratch[:0], `{"message":`...)
		msg, _ := json.Marshal(string(h.errorMessage))
		e.scratch = append(append(e.scratch, msg...), '}')
		if len(h.errorCode) == 0 {
			return []byte("error"), e.scratch, nil
		}
		return h.errorCode, e.scratch, nil
	}
	return h.eventType, payload, nil
}

// esHeaders are the headers a reader acts on.
type esHeaders struct {
	messageType, eventType, exceptionType, errorCode, errorMessage []byte
}

// The header value types and the fixed sizes of those that have one.
var esFixed = [10]int{0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}

// parseEventStreamHeaders reads b, a message's headers: each a 1-byte name
// length, the name, a 1-byte value type, and the value (fixed-size, or a
// 2-byte length and the bytes for types 6, byte array, and 7, string).
func parseEventStreamHeaders(b []byte) (esHeaders, bool) {
	var h esHeaders
	for len(b) > 0 {
		nl := int(b[0])
		if nl == 0 || len(b) < 1+nl+1 {
			return h, false
		}
		name := b[1 : 1+nl]
		typ := b[1+nl]
		b = b[2+nl:]
		var val []byte
		switch {
		case typ == 6 || typ == 7:
			if len(b) < 2 {
				return h, false
			}
			vl := int(binary.BigEndian.Uint16(b))
			if len(b) < 2+vl {
				return h, false
			}
			val, b = b[2:2+vl], b[2+vl:]
		case typ <= 9:
			n := esFixed[typ]
			if len(b) < n {
				return h, false
			}
			b = b[n:]
			continue
		default:
			return h, false
		}
		if typ != 7 {
			continue
		}
		switch string(name) {
		case ":message-type":
			h.messageType = val
		case ":event-type":
			h.eventType = val
		case ":exception-type":
			h.exceptionType = val
		case ":error-code":
			h.errorCode = val
		case ":error-message":
			h.errorMessage = val
		}
	}
	return h, true
}

// AppendEventStreamMessage appends one event-stream message with string
// headers (name, value pairs) and payload to dst: what an upstream sends
// (the fake upstream, tests). A header name or value too long for the
// framing is cut to fit.
func AppendEventStreamMessage(dst []byte, headers [][2]string, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, esPrelude)...)
	for _, kv := range headers {
		name, val := kv[0], kv[1]
		name = name[:min(len(name), 255)]
		val = val[:min(len(val), 65535)]
		dst = append(dst, byte(len(name)))
		dst = append(dst, name...)
		dst = append(dst, 7)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(val)))
		dst = append(dst, val...)
	}
	hlen := len(dst) - start - esPrelude
	dst = append(dst, payload...)
	total := len(dst) - start + 4
	binary.BigEndian.PutUint32(dst[start:], uint32(total))
	binary.BigEndian.PutUint32(dst[start+4:], uint32(hlen))
	binary.BigEndian.PutUint32(dst[start+8:], crc32.ChecksumIEEE(dst[start:start+8]))
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}
