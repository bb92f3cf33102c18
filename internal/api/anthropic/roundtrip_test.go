package anthropic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func ptr[T any](v T) *T { return &v }

func TestDecodeRequestInvertsEncodeRequest(t *testing.T) {
	tests := []struct {
		name string
		req  llm.Request
	}{
		{name: "plain chat with sampling", req: llm.Request{
			Model: "claude-sonnet-4-5", MaxTokens: 256, Temperature: ptr(0.7), TopP: ptr(0.9), TopK: ptr(int64(5)),
			Stop: []string{"END"}, Stream: true, User: "u1",
			System:   []llm.Part{{Type: llm.PartText, Text: "Be brief."}},
			Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Hi"}}}},
		}},
		{name: "cached system blocks, images and documents", req: llm.Request{
			Model: "m", MaxTokens: 100,
			System: []llm.Part{
				{Type: llm.PartText, Text: "a"},
				{Type: llm.PartText, Text: "b", CacheControl: json.RawMessage(`{"type":"ephemeral"}`)},
			},
			Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{
				{Type: llm.PartImage, MediaType: "image/png", Data: "iVBORw0KGgo="},
				{Type: llm.PartImage, URL: "https://example.com/a.jpg"},
				{Type: llm.PartDocument, MediaType: "application/pdf", Data: "JVBERi0=", Filename: "x.pdf", CacheControl: json.RawMessage(`{"type":"ephemeral"}`)},
				{Type: llm.PartDocument, URL: "https://example.com/a.pdf"},
				{Type: llm.PartText, Text: "Describe."},
			}}},
		}},
		{name: "parallel tool calls, results and thinking", req: llm.Request{
			Model: "m", MaxTokens: 20000,
			Messages: []llm.Message{
				{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Weather?"}}},
				{Role: llm.RoleAssistant,
					Parts: []llm.Part{
						{Type: llm.PartThinking, Text: "hmm", Signature: "sig", SignatureVendor: llm.VendorAnthropic},
						{Type: llm.PartRedactedThinking, Data: "ENC"},
						{Type: llm.PartText, Text: "Checking."},
					},
					ToolCalls: []llm.ToolCall{
						{ID: "t1", Name: "get_weather", Arguments: `{"city":"Paris"}`},
						{ID: "t2", Name: "get_weather", Arguments: `{"city":"Rome"}`},
					}},
				{Role: llm.RoleTool, ToolCallID: "t1", ToolName: "get_weather", Parts: []llm.Part{{Type: llm.PartText, Text: "18C"}}},
				{Role: llm.RoleTool, ToolCallID: "t2", ToolName: "get_weather", IsError: true, Parts: []llm.Part{{Type: llm.PartText, Text: "down"}}},
				{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Thanks"}}},
			},
			Tools: []llm.Tool{
				{Name: "get_weather", Description: "d", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`), CacheControl: json.RawMessage(`{"type":"ephemeral"}`)},
				{Name: "web_search", Raw: json.RawMessage(`{"type":"web_search_20250305","name":"web_search"}`), RawDialect: "anthropic"},
			},
			ToolChoice: &llm.ToolChoice{Mode: "auto", DisableParallel: true}, // forced choice is dropped with thinking
			Reasoning:  &llm.Reasoning{BudgetTokens: 10000},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := EncodeRequest(&tt.req, 4096)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRequest(enc.Body)
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, enc.Body)
			}
			if !reflect.DeepEqual(*got, tt.req) {
				t.Errorf("round trip changed the request:\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, tt.req))
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodedAnthropicRequestsEncodeBackEquivalently(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/decode_request/*.json")
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		// Lossy on purpose: server-tool blocks are dropped (see the
		// package comment).
		if strings.HasPrefix(name, "error_") || name == "server_tool_history" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			first, err := DecodeRequest(src)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := EncodeRequest(first, 4096)
			if err != nil {
				t.Fatal(err)
			}
			second, err := DecodeRequest(enc.Body)
			if err != nil {
				t.Fatalf("%v\n%s", err, enc.Body)
			}
			if mustJSON(t, first) != mustJSON(t, second) {
				t.Errorf("re-encoding changed the request:\nfirst  %s\nsecond %s", mustJSON(t, first), mustJSON(t, second))
			}
		})
	}
}

func TestStreamEncoderOutputDecodesToTheSameEvents(t *testing.T) {
	fixtures, _ := filepath.Glob("testdata/stream/*.sse")
	for _, in := range fixtures {
		name := strings.TrimSuffix(filepath.Base(in), ".sse")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			want, derr := decodeStream(t, src)
			if derr != nil {
				t.Skipf("fixture is malformed on purpose: %v", derr)
			}
			var enc StreamEncoder
			var sse []byte
			for _, ev := range want {
				sse = enc.Event(sse, ev)
			}
			sse = enc.Close(sse)
			got, err := decodeStream(t, sse)
			if err != nil {
				t.Fatalf("re-decoding: %v\n%s", err, sse)
			}
			if !hasFinish(want) && len(got) > len(want) {
				// A cut stream: Close still ends the client's stream properly,
				// with a message_delta (null stop_reason) carrying the usage so far.
				got = got[:len(want)]
			}
			if mustJSON(t, canonicalEvents(got)) != mustJSON(t, canonicalEvents(want)) {
				t.Errorf("events changed:\n got %s\nwant %s\nsse:\n%s", mustJSON(t, got), mustJSON(t, want), sse)
			}
		})
	}
}

func hasFinish(evs []llm.StreamEvent) bool {
	for _, ev := range evs {
		if ev.Kind == llm.EventFinish || ev.Kind == llm.EventError {
			return true
		}
	}
	return false
}

// canonicalEvents keeps what the Anthropic wire can carry: the usage on
// EventStart is compared through the later EventUsage, and an error keeps
// only its status and message (the event names an Anthropic type, not a code).
func canonicalEvents(evs []llm.StreamEvent) []llm.StreamEvent {
	out := make([]llm.StreamEvent, 0, len(evs))
	for _, ev := range evs {
		if ev.Kind == llm.EventStart {
			ev.Usage = nil
		}
		if ev.Kind == llm.EventError && ev.Error != nil {
			ev.Error = &llm.Error{Status: ev.Error.Status, Message: ev.Error.Message}
		}
		out = append(out, ev)
	}
	return out
}

func TestStreamDecoderReassemblesSplitToolArguments(t *testing.T) {
	src, err := os.ReadFile("testdata/stream/tool_use_split_json.sse")
	if err != nil {
		t.Fatal(err)
	}
	events, err := decodeStream(t, src)
	if err != nil {
		t.Fatal(err)
	}
	var args strings.Builder
	for _, ev := range events {
		if ev.Kind == llm.EventToolCallDelta && ev.Index == 0 {
			args.WriteString(ev.ToolCall.Arguments)
		}
	}
	var got, want any
	if err := json.Unmarshal([]byte(args.String()), &got); err != nil {
		t.Fatalf("reassembled arguments are not JSON: %v: %s", err, args.String())
	}
	_ = json.Unmarshal([]byte(`{"location": "San Francisco, CA", "unit": "fahrenheit"}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("arguments = %s", args.String())
	}
}

func TestStreamDecoderReportsACutStreamAsIncomplete(t *testing.T) {
	tests := []struct {
		fixture  string
		complete bool
	}{
		{fixture: "text.sse", complete: true},
		{fixture: "cut_before_stop.sse", complete: false},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			src, err := os.ReadFile("testdata/stream/" + tt.fixture)
			if err != nil {
				t.Fatal(err)
			}
			var d StreamDecoder
			for _, ev := range parseSSE(t, src) {
				if _, err := d.Event(ev.name, ev.data); err != nil {
					t.Fatal(err)
				}
			}
			if d.Complete() != tt.complete {
				t.Errorf("Complete() = %v, want %v", d.Complete(), tt.complete)
			}
		})
	}
}

func TestStreamDecoderRejectsMalformedData(t *testing.T) {
	tests := []struct {
		name, event, data string
	}{
		{name: "not JSON", event: "content_block_delta", data: `{"type":`},
		{name: "not an object", event: "message_start", data: `[1,2]`},
		{name: "message_start without message", event: "message_start", data: `{"type":"message_start"}`},
		{name: "block start without index", event: "content_block_start", data: `{"content_block":{"type":"text"}}`},
		{name: "delta for unknown block", event: "content_block_delta", data: `{"index":3,"delta":{"type":"text_delta","text":"x"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d StreamDecoder
			if _, err := d.Event(tt.event, []byte(tt.data)); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestStreamEncoderHoldsMessageDeltaUntilUsageOrClose(t *testing.T) {
	var e StreamEncoder
	out := e.Event(nil, llm.StreamEvent{Kind: llm.EventStart, ID: "m1", Model: "x"})
	out = e.Event(out, llm.StreamEvent{Kind: llm.EventText, Text: "hi"})
	out = e.Event(out, llm.StreamEvent{Kind: llm.EventFinish, FinishReason: llm.FinishStop})
	if strings.Contains(string(out), "message_delta") {
		t.Fatalf("message_delta sent before usage:\n%s", out)
	}
	out = e.Close(out)
	out = e.Close(out)
	if n := strings.Count(string(out), "event: message_delta"); n != 1 {
		t.Errorf("%d message_delta events, want 1", n)
	}
	if n := strings.Count(string(out), "event: message_stop"); n != 1 {
		t.Errorf("%d message_stop events, want 1", n)
	}
}

func TestStreamEncoderEndsAtAnErrorEvent(t *testing.T) {
	var e StreamEncoder
	out := e.Event(nil, llm.StreamEvent{Kind: llm.EventText, Text: "hi"})
	out = e.Event(out, llm.StreamEvent{Kind: llm.EventError, Error: llm.UpstreamError("boom", nil)})
	out = e.Event(out, llm.StreamEvent{Kind: llm.EventText, Text: "late"})
	out = e.Close(out)
	s := string(out)
	if !strings.HasSuffix(s, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}\n\n") {
		t.Errorf("stream does not end at the error event:\n%s", s)
	}
}

func TestPingIsAnthropicKeepAlive(t *testing.T) {
	if got := string(Ping(nil)); got != "event: ping\ndata: {\"type\": \"ping\"}\n\n" {
		t.Errorf("Ping = %q", got)
	}
}

func TestForcedToolChoiceRoundTripsWithoutThinking(t *testing.T) {
	req := llm.Request{
		Model: "m", MaxTokens: 10,
		Messages:   []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "x"}}}},
		Tools:      []llm.Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)}},
		ToolChoice: &llm.ToolChoice{Mode: "tool", Name: "f", DisableParallel: true},
	}
	enc, err := EncodeRequest(&req, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRequest(enc.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, req) {
		t.Errorf("got %s", mustJSON(t, got))
	}
}
