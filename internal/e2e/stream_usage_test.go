package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
)

// TestStreamSaysUsageNullOnlyWhenAsked: the gateway asks every upstream for
// usage, and the mock (like OpenAI) then sends "usage":null on each chunk.
// A client that did not ask (stream_options.include_usage) sees no such
// member, as from OpenAI; one that asked sees it on every chunk but the
// usage one. Either way the official SDK reads the whole answer.
func TestStreamSaysUsageNullOnlyWhenAsked(t *testing.T) {
	g := startZeroConfig(t)
	for _, asked := range []bool{false, true} {
		opts := ""
		if asked {
			opts = `,"stream_options":{"include_usage":true}`
		}
		resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]`+opts+`}`)
		raw := readAll(t, resp.Body)
		resp.Body.Close()
		chunks, nulls := strings.Count(raw, "data: {"), strings.Count(raw, `"usage":null`)
		if resp.StatusCode != 200 || chunks < 3 || !strings.HasSuffix(raw, "data: [DONE]\n\n") {
			t.Fatalf("include_usage %v: %d, %d chunks:\n%s", asked, resp.StatusCode, chunks, raw)
		}
		if asked && nulls != chunks-1 || !asked && nulls != 0 {
			t.Errorf("include_usage %v: %d of %d chunks say \"usage\":null:\n%s", asked, nulls, chunks, raw)
		}
	}
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: userMsg("hi")})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil || len(acc.Choices) != 1 || acc.Choices[0].Message.Content == "" || acc.Choices[0].FinishReason != "stop" {
		t.Fatalf("SDK stream: %v, %+v", err, acc.Choices)
	}
}
