package mock

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tracked wraps a handler and closes done when ServeHTTP returns, so tests
// can see that the handler's goroutine ended.
func tracked(h http.Handler) (http.Handler, <-chan struct{}) {
	done := make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		h.ServeHTTP(w, r)
	}), done
}

func newRequest(t *testing.T, ctx context.Context, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://mock/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// readEvent reads one SSE event, failing the test if none arrives in time.
func readEvent(t *testing.T, r *bufio.Reader, within time.Duration) string {
	t.Helper()
	type result struct {
		ev  string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var b strings.Builder
		for {
			line, err := r.ReadString('\n')
			b.WriteString(line)
			if err != nil {
				ch <- result{b.String(), err}
				return
			}
			if line == "\n" {
				ch <- result{b.String(), nil}
				return
			}
		}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatalf("reading an event: %v (read %q)", res.err, res.ev)
		}
		return res.ev
	case <-time.After(within):
		t.Fatalf("no event within %v", within)
		return ""
	}
}

func waitDone(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatalf("handler still running 2s after %s", what)
	}
}

func TestTransportReturnsResponseLikeNetHTTP(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantType   string
		wantLength bool // ContentLength known (not -1)
	}{
		{name: "whole response", body: storyRequest, wantType: "application/json", wantLength: true},
		{name: "stream", body: streamRequest(""), wantType: "text/event-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(t, context.Background(), tt.body)
			resp, err := NewTransport(testHandler(Options{})).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.Status != "200 OK" || resp.ProtoMajor != 1 || resp.Request != req {
				t.Errorf("response = %d %q proto %d request %p", resp.StatusCode, resp.Status, resp.ProtoMajor, resp.Request)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", ct, tt.wantType)
			}
			switch {
			case tt.wantLength && resp.ContentLength != int64(len(body)):
				t.Errorf("ContentLength = %d, body has %d bytes", resp.ContentLength, len(body))
			case !tt.wantLength && resp.ContentLength != -1:
				t.Errorf("ContentLength = %d, want -1", resp.ContentLength)
			}
		})
	}
}

func TestTransportStreamsFirstChunkBeforeHandlerFinishes(t *testing.T) {
	h, done := tracked(testHandler(Options{ChunkDelay: time.Minute}))
	client := &http.Client{Transport: NewTransport(h)}
	resp, err := client.Do(newRequest(t, context.Background(), streamRequest("")))
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	ev := readEvent(t, r, 2*time.Second)
	if !strings.Contains(ev, `"role":"assistant"`) {
		t.Errorf("first event = %q", ev)
	}
	select {
	case <-done:
		t.Fatal("handler finished a one-minute stream already")
	default:
	}
	// Closing the body early must free the handler sleeping between chunks.
	resp.Body.Close()
	waitDone(t, done, "the body was closed")
}

func TestTransportCancelMidStreamEndsHandler(t *testing.T) {
	tests := []struct {
		name       string
		chunkDelay time.Duration
	}{
		// The handler is asleep between chunks when the context ends.
		{name: "handler sleeping", chunkDelay: time.Minute},
		// The handler is blocked writing to a reader that stopped reading.
		{name: "handler blocked in write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, done := tracked(testHandler(Options{ChunkDelay: tt.chunkDelay}))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp, err := NewTransport(h).RoundTrip(newRequest(t, ctx, streamRequest("")))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			readEvent(t, bufio.NewReader(resp.Body), 2*time.Second)
			cancel()
			waitDone(t, done, "the context was cancelled")
			if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
				t.Errorf("reading after cancel: %v, want context.Canceled", err)
			}
		})
	}
}

func TestTransportLeavesNoGoroutinesBehind(t *testing.T) {
	before := runtime.NumGoroutine()
	tr := NewTransport(testHandler(Options{ChunkDelay: time.Minute}))
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		resp, err := tr.RoundTrip(newRequest(t, ctx, streamRequest("")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Read(make([]byte, 64))
		cancel()
		resp.Body.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after 20 cancelled streams", before, runtime.NumGoroutine())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTransportWaitsForLatencyUnlessCancelled(t *testing.T) {
	const latency = 50 * time.Millisecond
	tr := NewTransport(testHandler(Options{Latency: latency}))
	start := time.Now()
	resp, err := tr.RoundTrip(newRequest(t, context.Background(), storyRequest))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if elapsed := time.Since(start); elapsed < latency {
		t.Errorf("headers after %v, want at least %v", elapsed, latency)
	}

	h, done := tracked(testHandler(Options{Latency: time.Minute}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := NewTransport(h).RoundTrip(newRequest(t, ctx, storyRequest)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RoundTrip = %v, want the context's deadline error", err)
	}
	waitDone(t, done, "the deadline passed")
}

func TestTransportSurvivesPanickingHandler(t *testing.T) {
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		wantRTError bool   // RoundTrip fails (nothing sent yet)
		wantReadErr error  // else the body read fails with this
		wantText    string // in the error message
	}{
		{
			name:        "before headers",
			handler:     func(w http.ResponseWriter, r *http.Request) { panic("boom") },
			wantRTError: true, wantText: "boom",
		},
		{
			name: "mid body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("partial"))
				panic("boom")
			},
			wantText: "boom",
		},
		{
			name: "abort mid body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			},
			wantReadErr: io.ErrUnexpectedEOF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := NewTransport(tt.handler).RoundTrip(newRequest(t, context.Background(), "{}"))
			if tt.wantRTError {
				if err == nil || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("RoundTrip error = %v, want one mentioning %q", err, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			_, err = io.ReadAll(resp.Body)
			if err == nil || tt.wantReadErr != nil && !errors.Is(err, tt.wantReadErr) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("read error = %v, want %v mentioning %q", err, tt.wantReadErr, tt.wantText)
			}
		})
	}
}

type closeCounter struct {
	io.Reader
	closed atomic.Int32
}

func (c *closeCounter) Close() error { c.closed.Add(1); return nil }

func TestTransportServesRequestLikeAServer(t *testing.T) {
	var got *http.Request
	var gotBody string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Write([]byte("<html>hi</html>")) // no WriteHeader, no Content-Type
	})
	body := &closeCounter{Reader: bytes.NewReader([]byte("payload"))}
	req, _ := http.NewRequest(http.MethodPost, "http://mock.local/v1/x?y=1", body)
	resp, err := NewTransport(h).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	if got.RequestURI != "/v1/x?y=1" || got.URL.Path != "/v1/x" || got.URL.Host != "" || got.Host != "mock.local" || got.Proto != "HTTP/1.1" {
		t.Errorf("server request = URI %q path %q urlhost %q host %q proto %q", got.RequestURI, got.URL.Path, got.URL.Host, got.Host, got.Proto)
	}
	if gotBody != "payload" || string(out) != "<html>hi</html>" {
		t.Errorf("handler read %q, client read %q", gotBody, out)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("sniffed Content-Type = %q", ct)
	}
	if body.closed.Load() != 1 {
		t.Errorf("request body closed %d times, want once", body.closed.Load())
	}
}

func TestTransportAnswersEmptyHandlerWith200(t *testing.T) {
	resp, err := NewTransport(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).RoundTrip(newRequest(t, context.Background(), ""))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(b) != 0 || err != nil {
		t.Errorf("got %d %q %v, want 200 with an empty body", resp.StatusCode, b, err)
	}
}

func benchmarkChat(b *testing.B, body string) {
	tr := NewTransport(NewHandler(Options{}))
	payload := []byte(body)
	req, _ := http.NewRequest(http.MethodPost, "http://mock/v1/chat/completions", nil)
	req.Header.Set("Content-Type", "application/json")
	buf := make([]byte, 32<<10)
	b.ReportAllocs()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(payload))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, resp.Body, buf); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}

func BenchmarkChatNonStream(b *testing.B) { benchmarkChat(b, storyRequest) }

func BenchmarkChatStream(b *testing.B) {
	benchmarkChat(b, streamRequest(`{"include_usage": true}`))
}
