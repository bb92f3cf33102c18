package fakeupstream

import (
	"errors"
	"net/http"
)

// A dialect is one provider wire format. The core records requests, picks
// behaviours and injects faults; a dialect knows which requests are its own,
// how a key is presented, what an error and a broken body look like, and how
// to make a normal answer.
type dialect interface {
	// matches reports whether r is in this dialect. The last dialect of a
	// server is the fallback and is not asked.
	matches(r *http.Request) bool
	// apiKey returns the key r presents, "" for none.
	apiKey(r *http.Request) string
	// writeError writes status with the dialect's error envelope; typ and
	// code "" mean the dialect's defaults.
	writeError(w http.ResponseWriter, status int, typ, code, message string)
	// writeKeyEcho writes status with the dialect's error envelope holding
	// f, every field of which may be set (EchoKeyIn).
	writeKeyEcho(w http.ResponseWriter, status int, f errorFields)
	// writeAuthError answers a missing or wrong key.
	writeAuthError(w http.ResponseWriter)
	// isStream reports whether the request asks for a streamed answer.
	isStream(r *http.Request, body []byte) bool
	// writeMalformed answers 200 with a body that does not parse.
	writeMalformed(w http.ResponseWriter)
	// malformedEvent is a complete SSE event whose data does not parse.
	malformedEvent() []byte
	// answer writes a normal answer shaped by b. models lists the model
	// ids to advertise and nextID numbers response ids across requests.
	answer(w http.ResponseWriter, r *http.Request, b Behavior, models []string, nextID func() uint64)
}

// A requestChecker is a dialect that refuses some requests before any
// behaviour is used (after the key check): checkRequest writes the refusal
// and returns false.
type requestChecker interface {
	checkRequest(w http.ResponseWriter, r *http.Request) bool
}

// A perWriter is a dialect whose stream events are binary messages, each
// written whole in one Write (AWS event stream), so the fault writer counts
// writes rather than SSE's blank lines.
type perWriter interface {
	perWrite() bool
}

var (
	errDropped = errors.New("fakeupstream: connection dropped by DropAfterChunks")
	errEnded   = errors.New("fakeupstream: stream ended by EndAfterChunks")
)

// faultWriter sits between a dialect's answer and the connection. It counts
// SSE events ("\n\n"-terminated) as they are written, so that a stream can be
// cut after a given number of them or have a bad event slipped in after the
// first, whatever wrote the stream.
type faultWriter struct {
	http.ResponseWriter
	dropAfter int    // cut after this many events; 0 = never
	endAfter  int    // end cleanly after this many events; 0 = never
	inject    []byte // written once after the first event, when set
	events    int
	lastNL    bool // the last byte written was '\n': an event may end on the next
	dropped   bool
	ended     bool // endAfter was reached: later writes are refused, the body ends cleanly
	perWrite  bool // each Write is one whole event (perWriter)
}

var _ http.Flusher = (*faultWriter)(nil)

func (fw *faultWriter) Write(p []byte) (int, error) {
	written := 0
	if fw.ended {
		return 0, errEnded
	}
	for len(p) > 0 && !fw.dropped && !fw.ended {
		end := fw.eventEnd(p)
		if end < 0 {
			n, err := fw.ResponseWriter.Write(p)
			return written + n, err
		}
		n, err := fw.ResponseWriter.Write(p[:end])
		written += n
		if err != nil {
			return written, err
		}
		p = p[end:]
		fw.events++
		if fw.inject != nil {
			if _, err := fw.ResponseWriter.Write(fw.inject); err != nil {
				return written, err
			}
			fw.inject = nil
		}
		if fw.dropAfter > 0 && fw.events >= fw.dropAfter {
			fw.dropped = true
		} else if fw.endAfter > 0 && fw.events >= fw.endAfter {
			fw.ended = true
		}
	}
	if fw.dropped {
		// The writer sees a failed write and stops, as it would if the
		// client had gone; the core then aborts the connection.
		return written, errDropped
	}
	if fw.ended {
		// The writer stops the same way; the core then returns normally,
		// which ends the body as a complete one.
		return written, errEnded
	}
	return written, nil
}

// eventEnd returns the index just past the blank line that ends an event in
// p, or -1 if p does not finish one. It remembers a trailing '\n' across
// writes, since a writer may split "\n\n".
func (fw *faultWriter) eventEnd(p []byte) int {
	if fw.perWrite {
		return len(p)
	}
	for i, c := range p {
		if c != '\n' {
			fw.lastNL = false
			continue
		}
		if fw.lastNL {
			fw.lastNL = false
			return i + 1
		}
		fw.lastNL = true
	}
	return -1
}

func (fw *faultWriter) Flush() {
	if f, ok := fw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (fw *faultWriter) Unwrap() http.ResponseWriter { return fw.ResponseWriter }

// errorFields are the strings of an error envelope an upstream controls.
type errorFields struct {
	message, typ, code, param string
}

// echo sets the named fields to key.
func (f *errorFields) echo(key string, fields []string) {
	for _, name := range fields {
		switch name {
		case "message":
			f.message = key
		case "type":
			f.typ = key
		case "code":
			f.code = key
		case "param":
			f.param = key
		}
	}
}
