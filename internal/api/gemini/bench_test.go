package gemini

import (
	"encoding/json"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func BenchmarkEncodeRequestTypicalChat(b *testing.B) {
	r := &llm.Request{
		Model:  "gemini-2.5-flash",
		System: []llm.Part{{Type: llm.PartText, Text: "You are a helpful assistant."}},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "What's the weather in Paris?"}}},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_0", Name: "weather", Arguments: `{"city":"Paris"}`}}},
			{Role: llm.RoleTool, ToolCallID: "call_0", ToolName: "weather", Parts: []llm.Part{{Type: llm.PartText, Text: `{"temp":18,"sky":"clear"}`}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "It is 18°C and clear in Paris."}}},
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "And tomorrow?"}}},
		},
		Tools: []llm.Tool{{Name: "weather", Description: "Weather for a city.",
			Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string","description":"City name"},"day":{"type":"string","enum":["today","tomorrow"]}},"required":["city"],"additionalProperties":false}`)}},
		MaxTokens:   1024,
		Temperature: f64(0.7),
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeRequest(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamDecoderEventPerChunk(b *testing.B) {
	chunk := []byte(`{"candidates": [{"content": {"parts": [{"text": " quick brown fox jumps over the lazy dog"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 10,"candidatesTokenCount": 4,"totalTokenCount": 14},"modelVersion": "gemini-2.5-flash","responseId": "s1"}`)
	var d StreamDecoder
	b.ReportAllocs()
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		if _, err := d.Event(chunk); err != nil {
			b.Fatal(err)
		}
	}
}
