package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
)

// sseEvents reads a whole SSE response into its data payloads and comments.
func sseEvents(t *testing.T, resp *http.Response) (data []string, comments int) {
	t.Helper()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		case strings.HasPrefix(line, ":"):
			comments++
		}
	}
	return data, comments
}

const streamBody = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`

func TestClientDisconnectCancelsUpstreamWithin100ms(t *testing.T) {
	g := start(t, opts{up: fakeOpts{Default: fakeBehavior{ChunkDelay: 200 * time.Millisecond, Words: 50}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := g.client().Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("long answer")})
	if !stream.Next() {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	cancel()
	if !g.Up.WaitCanceled(0, 100*time.Millisecond) {
		t.Fatal("the upstream request was not cancelled within 100 ms of the client going away")
	}
	_ = stream.Close()
}

func TestStreamDroppedAfterFirstByteEndsWithErrorChunk(t *testing.T) {
	g := start(t, opts{up: fakeOpts{Default: fakeBehavior{DropAfterChunks: 3, Words: 20}}})
	resp := g.post(t, "/v1/chat/completions", g.Key, streamBody)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	data, _ := sseEvents(t, resp)
	if len(data) < 3 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("stream must end with [DONE], got %q", data)
	}
	var last struct {
		ID      string
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		}
		Error struct{ Message, Code string }
	}
	if err := json.Unmarshal([]byte(data[len(data)-2]), &last); err != nil {
		t.Fatal(err)
	}
	if len(last.Choices) != 1 || last.Choices[0].FinishReason != "error" || last.Error.Code != "upstream_error" || !strings.HasPrefix(last.ID, "gen-") {
		t.Fatalf("error chunk = %s", data[len(data)-2])
	}
	// The chunks before the drop reached the client.
	if len(data) != 3+2 {
		t.Fatalf("want the 3 relayed chunks, the error chunk and [DONE]; got %d events", len(data))
	}
}

func TestStreamDroppedThroughSDKIsNotSilentlyTruncated(t *testing.T) {
	g := start(t, opts{up: fakeOpts{Default: fakeBehavior{DropAfterChunks: 4, Words: 20}}})
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	var finish string
	for stream.Next() {
		if ch := stream.Current(); len(ch.Choices) > 0 && ch.Choices[0].FinishReason != "" {
			finish = ch.Choices[0].FinishReason
		}
	}
	// The SDK surfaces the error object in the final chunk as an error, or
	// the client sees finish_reason "error": either way not a clean "stop".
	if stream.Err() == nil && finish != "error" {
		t.Fatalf("truncated stream looked complete: finish %q", finish)
	}
}

func TestStreamMalformedChunkEndsWithErrorChunk(t *testing.T) {
	g := start(t, opts{up: fakeOpts{Default: fakeBehavior{MalformedJSON: true}}})
	resp := g.post(t, "/v1/chat/completions", g.Key, streamBody)
	defer resp.Body.Close()
	data, _ := sseEvents(t, resp)
	if len(data) < 2 || data[len(data)-1] != "[DONE]" || !strings.Contains(data[len(data)-2], `"finish_reason":"error"`) || !strings.Contains(data[len(data)-2], "malformed") {
		t.Fatalf("events = %q", data)
	}
}

func TestStreamUpstreamErrorBeforeFirstByteIsPlainHTTPError(t *testing.T) {
	g := start(t, opts{up: fakeOpts{Default: fakeBehavior{Status: 503, Message: "overloaded"}}})
	resp := g.post(t, "/v1/chat/completions", g.Key, streamBody)
	defer resp.Body.Close()
	if resp.StatusCode != 502 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if e := decodeEnvelope(t, resp); code(e) != "upstream_error" || !strings.Contains(e.Error.Message, "overloaded") {
		t.Fatalf("envelope = %+v", e)
	}
}

func TestStreamKeepAliveDuringUpstreamSilence(t *testing.T) {
	g := start(t, opts{
		env: map[string]string{"KEEPALIVE": "40ms"},
		up:  fakeOpts{Default: fakeBehavior{ChunkDelay: 150 * time.Millisecond, Words: 3}},
	})
	resp := g.post(t, "/v1/chat/completions", g.Key, streamBody)
	defer resp.Body.Close()
	data, comments := sseEvents(t, resp)
	if comments == 0 {
		t.Fatal("no keep-alive comment during 150 ms gaps with a 40 ms keep-alive")
	}
	if data[len(data)-1] != "[DONE]" {
		t.Fatalf("stream incomplete: %q", data)
	}
}

func TestStreamChunksFlushedAsTheyArrive(t *testing.T) {
	g := start(t, opts{up: fakeOpts{Default: fakeBehavior{ChunkDelay: 300 * time.Millisecond, Words: 5}}})
	began := time.Now()
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	if !stream.Next() {
		t.Fatal(stream.Err())
	}
	// The whole answer takes ≥1.5 s upstream; the first chunk must not wait for it.
	if d := time.Since(began); d > time.Second {
		t.Fatalf("first chunk after %v: the stream is being buffered", d)
	}
	for stream.Next() {
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestStreamsReuseUpstreamConnections(t *testing.T) {
	g := start(t, opts{})
	for i := 0; i < 20; i++ {
		resp := g.post(t, "/v1/chat/completions", g.Key, streamBody)
		readAll(t, resp.Body)
		resp.Body.Close()
	}
	// A relay that closes the upstream body before its end forces a new
	// connection per stream; the fake then sees the client hang up.
	for i, r := range g.Up.Requests() {
		if r.Canceled {
			t.Fatalf("upstream request %d was cut off after a complete answer", i)
		}
	}
}
