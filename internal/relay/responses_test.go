package relay

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/api/responses"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// TestRecordingEncoderKeepsTheStreamedAnswer: the answer stored for a
// stream is the one its events carried, thinking signatures and tool calls
// included, and the final object is handed over once.
func TestRecordingEncoderKeepsTheStreamedAnswer(t *testing.T) {
	rec := &recordingEncoder{enc: &responses.StreamEncoder{ID: "gen-1", Model: "m"}}
	events := []llm.StreamEvent{
		{Kind: llm.EventStart, ID: "x", Model: "m"},
		{Kind: llm.EventThinking, Text: "The user "},
		{Kind: llm.EventThinking, Text: "wants weather."},
		{Kind: llm.EventThinking, Signature: "sig", SignatureVendor: llm.VendorAnthropic},
		{Kind: llm.EventText, Text: "Let me check"},
		{Kind: llm.EventText, Text: "."},
		{Kind: llm.EventToolCallStart, Index: 0, ToolCall: &llm.ToolCall{ID: "call_1", Name: "get_weather"}},
		{Kind: llm.EventToolCallDelta, Index: 0, ToolCall: &llm.ToolCall{Arguments: `{"city":`}},
		{Kind: llm.EventToolCallDelta, Index: 0, ToolCall: &llm.ToolCall{Arguments: `"Paris"}`}},
		{Kind: llm.EventFinish, FinishReason: llm.FinishToolCalls},
	}
	var final []byte
	rec.enc.OnFinal = func(obj []byte) { final = append([]byte{}, obj...) }
	var out []byte
	for _, ev := range events {
		out = rec.Event(out, ev)
	}
	if out = rec.Close(out); len(out) == 0 {
		t.Fatal("the encoder wrote nothing")
	}
	want := llm.Message{
		Parts: []llm.Part{
			{Type: llm.PartThinking, Text: "The user wants weather.", Signature: "sig", SignatureVendor: llm.VendorAnthropic},
			{Type: llm.PartText, Text: "Let me check."},
		},
		ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}},
	}
	if !reflect.DeepEqual(rec.msg, want) {
		t.Fatalf("recorded %+v\nwant %+v", rec.msg, want)
	}
	var obj struct {
		ID     string            `json:"id"`
		Status string            `json:"status"`
		Output []json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(final, &obj); err != nil || obj.ID != "gen-1" || obj.Status != "completed" || len(obj.Output) != 3 {
		t.Fatalf("final object %s (%v)", final, err)
	}
}

// TestContinueFromPutsEarlierTurnsFirstAndNamesTheirToolCalls: the stored
// conversation and answer come before the new input; a tool output that
// answers the earlier turn's call gets the tool's name (Gemini needs it);
// the new instructions lead the system prompt, earlier ones are dropped.
func TestContinueFromPutsEarlierTurnsFirstAndNamesTheirToolCalls(t *testing.T) {
	prev := &conversation{
		System:       []llm.Part{{Type: llm.PartText, Text: "input system"}},
		Messages:     []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "weather?"}}}},
		Instructions: "old instructions",
	}
	prevOut := &llm.Message{ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: "{}"}}}
	r, x, err := responses.DecodeRequest([]byte(`{"model":"m","instructions":"new instructions","previous_response_id":"gen-0",
		"input":[{"type":"function_call_output","call_id":"call_1","output":"sunny"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	conv := continueFrom(prev, prevOut, r, x)
	if len(r.Messages) != 3 || r.Messages[0].Role != llm.RoleUser || r.Messages[1].Role != llm.RoleAssistant ||
		r.Messages[2].Role != llm.RoleTool || r.Messages[2].ToolName != "get_weather" {
		t.Fatalf("messages %+v", r.Messages)
	}
	if len(r.System) != 2 || r.System[0].Text != "new instructions" || r.System[1].Text != "input system" {
		t.Fatalf("system %+v", r.System)
	}
	if !reflect.DeepEqual(conv.Messages, r.Messages) || len(conv.System) != 1 || conv.Instructions != "new instructions" {
		t.Fatalf("stored conversation %+v", conv)
	}
}
