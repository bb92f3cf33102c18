package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// Transport bounds (issue 11, defects 6 and 11): slow bodies, connection
// caps, a client that never reads a stream, oversized attribution headers.
// Limits are configured small so that each test takes well under a second
// when the bound holds; waitBound only stops a test that would otherwise
// hang on the unbounded code.
const waitBound = 10 * time.Second

// withServer adds lines under server: to the harness config.
func withServer(lines string) string {
	return strings.Replace(baseConfig, "server:\n", "server:\n"+lines, 1)
}

// dialRaw opens a plain TCP connection to the gateway, closed at the end
// of the test.
func dialRaw(t *testing.T, g *gateway) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// trickle writes one byte every interval until the connection fails or
// stop is called.
func trickle(c net.Conn, every time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	return func() { close(done) }
}

// readResponse reads one HTTP response from c, failing the test if none
// arrives within waitBound.
func readResponse(t *testing.T, c net.Conn, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitBound))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// expectClosed fails unless the server closes c (or resets it).
func expectClosed(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitBound))
	_, err := br.ReadByte()
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("connection still open after the response (read: %v)", err)
	}
}

func TestSlowBodyIsCutOffWhileOtherRequestsAreServed(t *testing.T) {
	// 200ms plus the declared size at 1 MiB/s: about 300ms for these bodies.
	g := start(t, opts{yaml: withServer("  body_read_timeout: 200ms\n  body_min_rate: 1048576\n")})
	for _, tc := range []struct {
		name, path, key string
		wantStatus      int
	}{
		{name: "model call", path: "/v1/chat/completions", key: g.Key, wantStatus: http.StatusRequestTimeout},
		{name: "management call", path: "/api/v1/keys", key: g.AdminKey, wantStatus: http.StatusRequestTimeout},
		// Refused before its body is read; the server then discards the
		// body, under the same deadline.
		{name: "no key", path: "/v1/chat/completions", wantStatus: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, g)
			auth := ""
			if tc.key != "" {
				auth = "Authorization: Bearer " + tc.key + "\r\n"
			}
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: gateway\r\n%sContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", tc.path, auth)
			defer trickle(c, 20*time.Millisecond)()

			// Meanwhile another connection is served as usual.
			if _, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}); err != nil {
				t.Fatalf("a normal request failed while a slow body was trickling: %v", err)
			}

			br := bufio.NewReader(c)
			resp, body := readResponse(t, c, br)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			var env struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal([]byte(body), &env); err != nil || env.Error.Message == "" {
				t.Fatalf("not an OpenAI error envelope: %s", body)
			}
			if tc.wantStatus == http.StatusRequestTimeout {
				if env.Error.Code != "request_timeout" || !strings.Contains(env.Error.Message, "server.body_read_timeout") {
					t.Fatalf("error = %+v", env.Error)
				}
			}
			expectClosed(t, c, br)
			if tc.path == "/v1/chat/completions" && tc.key != "" {
				if gen := g.waitGeneration(t, resp.Header.Get("X-Generation-Id")); gen.Status != http.StatusRequestTimeout || gen.ErrorCode != "request_timeout" {
					t.Fatalf("recorded status %d code %q", gen.Status, gen.ErrorCode)
				}
			}
		})
	}
}

func TestBodyDeadlineIsLiftedOnceTheBodyIsRead(t *testing.T) {
	// The answer streams for longer than the body deadline; the server's
	// read of the idle connection must not cut it.
	g := start(t, opts{yaml: withServer("  body_read_timeout: 50ms\n"),
		up: fakeOpts{Default: fakeBehavior{ChunkDelay: 30 * time.Millisecond, Words: 10}}})
	s := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("slow")})
	n := 0
	for s.Next() {
		n++
	}
	if err := s.Err(); err != nil || n < 10 {
		t.Fatalf("stream ended after %d chunks: %v", n, err)
	}
}

func TestConnectionCapsRefuseTheExcessAndFreeOnClose(t *testing.T) {
	for _, tc := range []struct {
		name, server string
		limit        string
	}{
		{name: "per source address", server: "  max_connections_per_ip: 3\n", limit: "max_connections_per_ip"},
		{name: "in total", server: "  max_connections: 3\n  max_connections_per_ip: -1\n", limit: "max_connections"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := start(t, opts{yaml: withServer(tc.server)})
			// healthy sends a request on c and reports whether it was served.
			healthy := func(c net.Conn, br *bufio.Reader) bool {
				fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
				_ = c.SetReadDeadline(time.Now().Add(waitBound))
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					return false
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				return resp.StatusCode == http.StatusOK
			}
			var open []net.Conn
			for i := range 3 {
				c := dialRaw(t, g)
				if !healthy(c, bufio.NewReader(c)) {
					t.Fatalf("connection %d of 3 was not served", i+1)
				}
				open = append(open, c)
			}
			extra := dialRaw(t, g)
			br := bufio.NewReader(extra)
			resp, body := readResponse(t, extra, br)
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"too_many_connections"`) || !strings.Contains(body, tc.limit) {
				t.Fatalf("connection over the cap: %d %s", resp.StatusCode, body)
			}
			expectClosed(t, extra, br)

			// Closing one frees its place once the server has seen it go.
			open[0].Close()
			served := false
			for deadline := time.Now().Add(waitBound); !served && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				c, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				served = healthy(c, bufio.NewReader(c))
				c.Close()
			}
			if !served {
				t.Fatal("no new connection was served after one was closed")
			}
			for _, c := range open[1:] {
				c.Close()
			}
			// The scrape's own connection needs a free place too: retry
			// until the server has seen the closes.
			// At least one refusal: the dials that waited for a free place
			// above may have been refused too, before the close was seen.
			series := `switchyard_connections_refused_total{limit="` + tc.limit + `"} `
			for deadline := time.Now().Add(waitBound); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				req, _ := http.NewRequest(http.MethodGet, g.URL+"/metrics", nil)
				req.Header.Set("Authorization", "Bearer "+g.AdminKey)
				req.Close = true
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					_, rest, ok := strings.Cut(string(b), series)
					if n, _, _ := strings.Cut(rest, "\n"); !ok || n == "0" {
						t.Fatalf("metrics lack a refusal in %s", series)
					}
					return
				}
			}
			t.Fatal("/metrics was never served")
		})
	}
}

func TestAttributionHeadersAreCappedAndCleanedBeforeStorage(t *testing.T) {
	g := start(t, opts{})
	// 1 + 2×3000 bytes: the 256-byte cap falls inside an "é", which is
	// dropped whole. The tab is a control character net/http lets through.
	longTitle := "a" + strings.Repeat("é", 3000)
	longURL := "https://app.example/\t" + strings.Repeat("p", 100_000)
	resp, err := g.client(option.WithHeader("X-Title", longTitle), option.WithHeader("HTTP-Referer", longURL)).
		Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	if err != nil {
		t.Fatal(err)
	}
	gen := g.waitGeneration(t, resp.ID)
	if want := "a" + strings.Repeat("é", 127); gen.AppTitle != want {
		t.Fatalf("app_title is %d bytes (%q…), want %d", len(gen.AppTitle), gen.AppTitle[:min(len(gen.AppTitle), 20)], len(want))
	}
	if want := ("https://app.example/" + strings.Repeat("p", 256))[:256]; gen.Origin != want {
		t.Fatalf("origin is %d bytes (%q…), want %q…", len(gen.Origin), gen.Origin[:min(len(gen.Origin), 30)], want[:30])
	}
	if strings.Contains(g.Logs.String(), strings.Repeat("p", 300)) {
		t.Fatal("the uncapped referer reached the log")
	}
}

func TestStreamToAClientThatNeverReadsIsCancelledAndRecorded(t *testing.T) {
	// A long, fast answer: far more than the socket buffers hold.
	// The provider's timeout is far off: only the write bound can end it.
	g := start(t, opts{yaml: withServer("  stream_write_timeout: 200ms\n"), env: map[string]string{"FAKE_TIMEOUT": "600s"},
		up: fakeOpts{Default: fakeBehavior{Words: 5_000_000}}})
	c := dialRaw(t, g)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10)
	}
	body := `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"go on for ever"}]}`
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		g.Key, len(body), body)
	// Read the headers (and whatever the first read brings), then nothing.
	_ = c.SetReadDeadline(time.Now().Add(waitBound))
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 4<<10), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if !g.Up.WaitCanceled(0, waitBound) {
		t.Fatal("the upstream call was not cancelled while the client did not read")
	}
	gen := g.waitGeneration(t, resp.Header.Get("X-Generation-Id"))
	if !gen.Cancelled || !gen.Streamed {
		t.Fatalf("generation: cancelled=%v streamed=%v status=%d", gen.Cancelled, gen.Streamed, gen.Status)
	}
}

// TestWholeAnswerToAClientThatNeverReadsIsBounded: a large non-streamed
// answer is written inside the handler; a client that stops reading used
// to hold it (and its goroutine) with no deadline at all.
func TestWholeAnswerToAClientThatNeverReadsIsBounded(t *testing.T) {
	g := start(t, opts{yaml: withServer("  stream_write_timeout: 200ms\n"), up: fakeOpts{Default: fakeBehavior{Words: 2_000_000}}})
	c := dialRaw(t, g)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10)
	}
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":"a long one"}]}`
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		g.Key, len(body), body)
	_ = c.SetReadDeadline(time.Now().Add(waitBound))
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 4<<10), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	gen := g.waitGeneration(t, resp.Header.Get("X-Generation-Id"))
	if !gen.Cancelled {
		t.Fatalf("generation: cancelled=%v status=%d", gen.Cancelled, gen.Status)
	}
}
