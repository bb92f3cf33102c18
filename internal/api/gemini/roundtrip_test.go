package gemini

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

func TestDecodeRequestInvertsEncodeRequest(t *testing.T) {
	tests := []struct {
		name string
		req  llm.Request
	}{
		{name: "text with system and sampling", req: llm.Request{
			Model:     "gemini-2.5-flash",
			System:    []llm.Part{{Type: llm.PartText, Text: "Be brief."}},
			Messages:  []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Hi"}}}},
			MaxTokens: 100, Temperature: f64(0.5), TopP: f64(0.9), TopK: i64(20), Seed: i64(3), Stop: []string{"END"},
		}},
		{name: "media inline and by URI", req: llm.Request{
			Model: "gemini-2.5-flash",
			Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
				{Type: llm.PartText, Text: "What is this?"},
				{Type: llm.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="},
				{Type: llm.PartDocument, MediaType: "application/pdf", URL: "https://generativelanguage.googleapis.com/v1beta/files/f1"},
			}}},
		}},
		{name: "tool round with parallel calls and signatures", req: llm.Request{
			Model: "gemini-2.5-flash",
			Messages: []llm.Message{
				{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Weather in London and Paris?"}}},
				{Role: llm.RoleAssistant,
					Parts: []llm.Part{{Type: llm.PartThinking, Text: "two calls", Signature: "c2ln", SignatureVendor: llm.VendorGemini}},
					ToolCalls: []llm.ToolCall{
						{ID: "call_0", Name: "weather", Arguments: `{"city":"London"}`, Signature: "c2lnMQ=="},
						{ID: "call_1", Name: "weather", Arguments: `{"city":"Paris"}`},
					}},
				{Role: llm.RoleTool, ToolCallID: "call_0", ToolName: "weather", Parts: []llm.Part{{Type: llm.PartText, Text: `{"temp":15}`}}},
				{Role: llm.RoleTool, ToolCallID: "call_1", ToolName: "weather", IsError: true, Parts: []llm.Part{{Type: llm.PartText, Text: "down"}}},
				{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "London is 15C.", Signature: "c2lnMg==", SignatureVendor: llm.VendorGemini}}},
			},
			Tools: []llm.Tool{
				{Name: "weather", Description: "Weather for a city.", Parameters: json.RawMessage(`{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}`)},
				{Name: "googleSearch", Raw: json.RawMessage(`{"googleSearch":{}}`), RawDialect: "gemini"},
			},
			ToolChoice: &llm.ToolChoice{Mode: "tool", Name: "weather"},
		}},
		{name: "json schema and thinking budget", req: llm.Request{
			Model:          "gemini-2.5-pro",
			Messages:       []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Recipes"}}}},
			ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Name: "response", Schema: json.RawMessage(`{"items":{"type":"string"},"type":"array"}`)},
			Reasoning:      &llm.Reasoning{BudgetTokens: 2048},
			ToolChoice:     &llm.ToolChoice{Mode: "required"},
		}},
		{name: "json object and thinking off", req: llm.Request{
			Model:          "gemini-2.5-flash",
			Messages:       []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "JSON please"}}}},
			ResponseFormat: &llm.ResponseFormat{Type: "json_object"},
			Reasoning:      &llm.Reasoning{Disabled: true},
			ToolChoice:     &llm.ToolChoice{Mode: "none"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := EncodeRequest(&tt.req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRequest(tt.req.Model, body)
			if err != nil {
				t.Fatalf("DecodeRequest: %v\nbody: %s", err, body)
			}
			if !reflect.DeepEqual(got, &tt.req) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(&tt.req, "", "  ")
				t.Errorf("round trip changed the request\ngot:  %s\nwant: %s", g, w)
			}
		})
	}
}

func TestStreamDecoderReproducesStreamEncoderEvents(t *testing.T) {
	usage := llm.Usage{PromptTokens: 30, CompletionTokens: 12, ReasoningTokens: 2, CachedTokens: 5, TotalTokens: 42, Present: true}
	tests := []struct {
		name string
		evs  []llm.StreamEvent
	}{
		{name: "text then usage", evs: []llm.StreamEvent{
			{Kind: llm.EventStart, ID: "r1", Model: "m"},
			{Kind: llm.EventText, Text: "Hel"},
			{Kind: llm.EventText, Text: "lo"},
			{Kind: llm.EventFinish, FinishReason: llm.FinishStop},
			{Kind: llm.EventUsage, Usage: &usage},
		}},
		{name: "thinking and parallel tool calls", evs: []llm.StreamEvent{
			{Kind: llm.EventStart, ID: "r2", Model: "m"},
			{Kind: llm.EventThinking, Text: "hmm", Signature: "c2ln", SignatureVendor: llm.VendorGemini},
			{Kind: llm.EventToolCallStart, Index: 0, ToolCall: &llm.ToolCall{ID: "call_0", Name: "a", Signature: "c2lnMQ=="}},
			{Kind: llm.EventToolCallDelta, Index: 0, ToolCall: &llm.ToolCall{Arguments: `{"x":1}`}},
			{Kind: llm.EventToolCallStart, Index: 1, ToolCall: &llm.ToolCall{ID: "call_1", Name: "b"}},
			{Kind: llm.EventToolCallDelta, Index: 1, ToolCall: &llm.ToolCall{Arguments: `{}`}},
			{Kind: llm.EventFinish, FinishReason: llm.FinishToolCalls},
			{Kind: llm.EventUsage, Usage: &usage},
		}},
		{name: "length", evs: []llm.StreamEvent{
			{Kind: llm.EventStart, ID: "r3", Model: "m"},
			{Kind: llm.EventText, Text: "Once"},
			{Kind: llm.EventFinish, FinishReason: llm.FinishLength},
			{Kind: llm.EventUsage, Usage: &usage},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var enc StreamEncoder
			var out []byte
			for _, ev := range tt.evs {
				out = enc.Event(out, ev)
			}
			out = enc.Close(out)
			var dec StreamDecoder
			var got []llm.StreamEvent
			for _, data := range sseData(out) {
				evs, err := dec.Event(data)
				if err != nil {
					t.Fatalf("decoding %s: %v", data, err)
				}
				got = append(got, evs...)
			}
			if !reflect.DeepEqual(got, tt.evs) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.evs)
				t.Errorf("events changed\ngot:  %s\nwant: %s\nsse:\n%s", g, w, out)
			}
		})
	}
}

func TestDecodeResponseInvertsEncodeResponse(t *testing.T) {
	r := &llm.Response{ID: "r", Model: "m",
		Message: llm.Message{Role: llm.RoleAssistant,
			Parts:     []llm.Part{{Type: llm.PartThinking, Text: "t", Signature: "s", SignatureVendor: llm.VendorGemini}, {Type: llm.PartText, Text: "Hi"}},
			ToolCalls: []llm.ToolCall{{ID: "call_0", Name: "f", Arguments: `{"a":[1,2]}`}}},
		FinishReason: llm.FinishToolCalls,
		Usage:        llm.Usage{PromptTokens: 3, CompletionTokens: 9, ReasoningTokens: 4, CachedTokens: 1, TotalTokens: 12, Present: true},
	}
	got, err := DecodeResponse(EncodeResponse(r))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("got %+v, want %+v", got, r)
	}
}
