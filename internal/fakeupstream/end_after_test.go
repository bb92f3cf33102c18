package fakeupstream

import (
	"context"
	"strings"
	"testing"
)

// TestEndAfterChunksEndsStreamCleanlyWithoutItsEnd: every dialect's stream
// stops after the given number of events with a body that ends as a whole
// one (no read error) and the connection kept, but without the events that
// mark a complete answer.
func TestEndAfterChunksEndsStreamCleanlyWithoutItsEnd(t *testing.T) {
	tests := []struct {
		name, path, body string
		header           []string
		final            string // what only a complete stream holds
	}{
		{"openai", "/v1/chat/completions", streamBody, nil, "[DONE]"},
		{"anthropic", "/v1/messages", msgStreamBody, anthropicHeaders, "message_stop"},
		{"gemini", streamPath, genShort, nil, "finishReason"},
		{"responses", "/v1/responses", respStreamBody, nil, "response.completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Options{})
			s.Enqueue(Behavior{EndAfterChunks: 2, Words: 20})
			resp, err := post(t, context.Background(), client(t), s.URL+tt.path, tt.body, tt.header...)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			evs, err := events(resp.Body)
			if err != nil {
				t.Fatalf("read ended with %v, want a clean end", err)
			}
			if len(evs) != 2 {
				t.Fatalf("got %d events, want 2: %q", len(evs), evs)
			}
			if joined := strings.Join(evs, "\n"); strings.Contains(joined, tt.final) {
				t.Fatalf("the stream kept its end (%s): %q", tt.final, evs)
			}
			if s.Last().Canceled {
				t.Error("a stream the fake ended was recorded as cancelled by the client")
			}
			// The next request gets a whole stream again.
			resp2, err := post(t, context.Background(), client(t), s.URL+tt.path, tt.body, tt.header...)
			if err != nil {
				t.Fatal(err)
			}
			defer resp2.Body.Close()
			evs, err = events(resp2.Body)
			if err != nil || !strings.Contains(strings.Join(evs, "\n"), tt.final) {
				t.Fatalf("a normal stream after EndAfterChunks: %v, %q", err, evs)
			}
		})
	}
}

func TestEndAfterChunksLeavesWholeAnswersAlone(t *testing.T) {
	s := start(t, Options{Default: Behavior{EndAfterChunks: 1}})
	resp, b := chat(t, s, chatBody)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"finish_reason":"stop"`) {
		t.Fatalf("status %d body %s", resp.StatusCode, b)
	}
}
