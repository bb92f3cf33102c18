package anthropic

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func BenchmarkEncodeRequestTypicalChat(b *testing.B) {
	r := &llm.Request{
		Model:       "claude-sonnet-4-5",
		System:      []llm.Part{{Type: llm.PartText, Text: "You are a helpful assistant."}},
		MaxTokens:   1024,
		Temperature: ptr(0.7),
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "What is the capital of France?"}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "The capital of France is Paris."}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "And what is its population, roughly?"}}},
		},
		Stream: true,
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeRequest(r, 4096); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamDecoderTextDelta(b *testing.B) {
	var d StreamDecoder
	if _, err := d.Event("content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)); err != nil {
		b.Fatal(err)
	}
	delta := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello, world"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Event("content_block_delta", delta); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamEncoderTextDelta(b *testing.B) {
	var e StreamEncoder
	out := e.Event(nil, llm.StreamEvent{Kind: llm.EventText, Text: "start"})
	ev := llm.StreamEvent{Kind: llm.EventText, Text: "Hello, world"}
	b.ReportAllocs()
	for b.Loop() {
		out = e.Event(out[:0], ev)
	}
}
