package relay

import (
	"net/http"
	"testing"
	"time"
)

// discardWriter is a ResponseWriter that keeps nothing: the benchmark
// measures clientStream's own work per event (lock, deadline, keep-alive
// bookkeeping), not a socket's.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// BenchmarkClientStreamSend sends one 23-event stream per op with the
// default keep-alive (15 s) and write timeout (60 s):
//
//	go test -run '^$' -bench ClientStreamSend -benchmem -count 6 ./internal/relay/
func BenchmarkClientStreamSend(b *testing.B) {
	event := []byte(`data: {"id":"gen-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" word"}}]}` + "\n\n")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		cs := newClientStream(w, 15*time.Second, keepAliveComment, 60*time.Second)
		for range 23 {
			cs.write(event)
		}
		cs.close()
	}
}
