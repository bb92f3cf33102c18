// Package sse reads Server-Sent Events as upstream providers send them.
//
// It returns each event's data (multiple "data:" lines joined by "\n"),
// skipping comments and fields the gateway has no use for, without copying
// more than it must: the returned slice is valid until the next call.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxEvent bounds one event's data; a larger event is an error, not an
// unbounded allocation.
const MaxEvent = 8 << 20

// ErrTooLarge is returned for an event over MaxEvent.
var ErrTooLarge = errors.New("sse: event too large")

// Reader reads events from an SSE stream.
type Reader struct {
	br   *bufio.Reader
	data []byte
	line []byte
	// Event is the "event:" field of the last event returned ("" if none).
	Event []byte
	event []byte
	// lineByLine turns off plainEvent (tests compare with it).
	lineByLine bool
}

// NewReader reads from r with a buffer of size bytes.
func NewReader(r io.Reader, size int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, size)}
}

// Reset makes rd read from r, keeping its buffers.
func (rd *Reader) Reset(r io.Reader) {
	rd.br.Reset(r)
	rd.data = rd.data[:0]
	rd.event = rd.event[:0]
}

// Next returns the data of the next event. At the end of the stream it
// returns io.EOF; an event cut off by the end of the stream (no blank line
// after it) is still returned first if it has data, as many servers omit the
// final blank line. Any other read error is returned as is.
func (rd *Reader) Next() ([]byte, error) {
	rd.data = rd.data[:0]
	rd.event = rd.event[:0]
	if !rd.lineByLine {
		if data, ok := rd.plainEvent(); ok {
			rd.Event = rd.event
			return data, nil
		}
	}
	hasData := false
	for {
		line, err := rd.readLine()
		if err != nil {
			if err == io.EOF && hasData {
				rd.Event = rd.event
				return rd.data, nil
			}
			return nil, err
		}
		if len(line) == 0 {
			if hasData {
				rd.Event = rd.event
				return rd.data, nil
			}
			rd.event = rd.event[:0]
			continue
		}
		if line[0] == ':' {
			continue // comment (keep-alive)
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				rd.data = append(rd.data, '\n')
			}
			if len(rd.data)+len(value) > MaxEvent {
				return nil, ErrTooLarge
			}
			rd.data = append(rd.data, value...)
			hasData = true
		case "event":
			rd.event = append(rd.event[:0], value...)
		}
	}
}

// plainEvent takes the most common event, one "data:" line ended by "\n"
// and a blank line "\n", when it is whole in the buffer, and returns its
// data in place: no line-by-line reads, no copy. Anything else is left to
// the general reader.
func (rd *Reader) plainEvent() ([]byte, bool) {
	n := rd.br.Buffered()
	if n < len("data:\n\n") {
		return nil, false
	}
	b, _ := rd.br.Peek(n)
	if string(b[:5]) != "data:" {
		return nil, false
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 || i+1 >= len(b) || b[i+1] != '\n' {
		return nil, false
	}
	data := b[5:i]
	if len(data) > 0 && data[0] == ' ' {
		data = data[1:]
	}
	if bytes.IndexByte(data, '\r') >= 0 {
		return nil, false // the general reader trims a CR before the LF
	}
	_, _ = rd.br.Discard(i + 2)
	return data, true
}

// readLine returns one line without its terminator (\n, \r\n or \r\n).
func (rd *Reader) readLine() ([]byte, error) {
	line, err := rd.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		rd.line = append(rd.line[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = rd.br.ReadSlice('\n')
			if len(rd.line)+len(line) > MaxEvent {
				return nil, ErrTooLarge
			}
			rd.line = append(rd.line, line...)
		}
		line = rd.line
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			return trimEOL(line), nil
		}
		return nil, err
	}
	return trimEOL(line), nil
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// EventBuffered reports whether a whole further event has already arrived
// (its blank line is in the buffer), so that Next will return it without
// waiting on the network. A partial event does not count.
func (rd *Reader) EventBuffered() bool {
	n := rd.br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := rd.br.Peek(n)
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\n\r\n"))
}
