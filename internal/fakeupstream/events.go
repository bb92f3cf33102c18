package fakeupstream

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchyard-gw/switchyard/internal/provider/mock"
)

// eventStream writes a 200 text/event-stream answer of named events
// ("event: <name>\ndata: <JSON>\n\n"), each flushed, with Behavior's
// ChunkDelay between them: the shape of Anthropic's and the Responses
// API's streams.
type eventStream struct {
	w       http.ResponseWriter
	r       *http.Request
	delay   time.Duration
	flusher http.Flusher
	sent    int
}

// startEvents writes the stream's headers.
func startEvents(w http.ResponseWriter, r *http.Request, delay time.Duration) *eventStream {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	return &eventStream{w: w, r: r, delay: delay, flusher: flusher}
}

// send writes one event with v as its data. It reports false when the
// stream must stop: the client went away, or a fault cut the stream.
func (s *eventStream) send(name string, v any) bool {
	if s.sent > 0 && !mock.Sleep(s.r.Context(), s.delay) {
		return false
	}
	s.sent++
	data, err := json.Marshal(v)
	if err != nil {
		return false
	}
	ev := make([]byte, 0, len(data)+len(name)+20)
	ev = append(ev, "event: "...)
	ev = append(ev, name...)
	ev = append(ev, "\ndata: "...)
	ev = append(ev, data...)
	ev = append(ev, "\n\n"...)
	if _, err := s.w.Write(ev); err != nil {
		return false
	}
	if s.flusher != nil {
		s.flusher.Flush()
	}
	return true
}
