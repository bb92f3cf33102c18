package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStreamEventsThatArriveTogetherLeaveTogether: an upstream that sends
// its whole stream in one write is relayed in a handful of HTTP chunks,
// not one chunk (and one write) per event.
func TestStreamEventsThatArriveTogetherLeaveTogether(t *testing.T) {
	const words = 40
	var b strings.Builder
	b.WriteString(`data: {"id":"u","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n")
	for i := range words {
		fmt.Fprintf(&b, `data: {"id":"u","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"w%d "},"finish_reason":null}]}`+"\n\n", i)
	}
	b.WriteString(`data: {"id":"u","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n")
	b.WriteString(`data: {"id":"u","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":40,"total_tokens":43}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	whole := b.String()

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, whole) // one write for the whole stream
	}))
	defer up.Close()
	g := startWith(t, opts{}, up.URL)

	chunks, body := rawStream(t, g)
	if n := strings.Count(body, "data: "); n != words+4 {
		t.Fatalf("the client got %d events, want %d:\n%s", n, words+4, body)
	}
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("stream does not end with [DONE]: %q", body[max(0, len(body)-200):])
	}
	// The events arrive in one read, or a few (the upstream's chunked
	// body is read through a 4 KiB buffer): far fewer chunks than events.
	if chunks > 8 {
		t.Fatalf("%d events were relayed in %d HTTP chunks: events that arrive together must leave together", words+4, chunks)
	}
}

// TestStreamEventIsNotHeldWhileUpstreamPauses: an event the upstream sent
// reaches the client while the upstream is still silent, however the
// events before it were batched.
func TestStreamEventIsNotHeldWhileUpstreamPauses(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"id":"u","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n"+
			`data: {"id":"u","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"first"},"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, `data: {"id":"u","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n"+
			`data: {"id":"u","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`+"\n\ndata: [DONE]\n\n")
	}))
	defer up.Close()
	g := startWith(t, opts{}, up.URL)

	resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	defer resp.Body.Close()
	got := make(chan string, 1)
	go func() {
		br := bufio.NewReader(resp.Body)
		var seen strings.Builder
		for {
			line, err := br.ReadString('\n')
			seen.WriteString(line)
			if strings.Contains(line, `"first"`) || err != nil {
				got <- seen.String()
				return
			}
		}
	}()
	select {
	case s := <-got:
		if !strings.Contains(s, `"first"`) {
			t.Fatalf("stream ended before the second event: %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second event was held while the upstream was silent")
	}
	close(release)
}

// rawStream posts a streamed chat over a raw HTTP/1.1 connection and
// returns how many HTTP chunks the body came in and the body.
func rawStream(t *testing.T, g *gateway) (chunks int, body string) {
	t.Helper()
	u, err := url.Parse(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		u.Host, g.Key, len(req), req)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("status %d, transfer encoding %v", resp.StatusCode, resp.TransferEncoding)
	}
	// http.ReadResponse hides the chunking; read it from the wire instead:
	// br is positioned at the first chunk-size line.
	var sb strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a chunk size: %v (body so far %q)", err, sb.String())
		}
		size, err := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
		if err != nil {
			t.Fatalf("chunk size %q: %v", line, err)
		}
		if size == 0 {
			return chunks, sb.String()
		}
		chunks++
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			t.Fatal(err)
		}
		sb.Write(buf[:size])
	}
}
