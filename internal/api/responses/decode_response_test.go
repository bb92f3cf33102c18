package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/sse"
)

func TestDecodeResponseGolden(t *testing.T) {
	runGolden(t, "decode_response", "json", func(t *testing.T, in []byte) []byte {
		r, err := DecodeResponse(in)
		if err != nil {
			if !strings.HasPrefix(t.Name(), "TestDecodeResponseGolden/error_") {
				t.Errorf("decoding failed: %v", err)
			}
			e := llm.AsError(err)
			return indent(t, map[string]any{"error": map[string]any{"status": e.Status, "code": e.Code, "type": e.Type, "message": e.Message}})
		}
		if strings.HasPrefix(t.Name(), "TestDecodeResponseGolden/error_") {
			t.Errorf("an error_ fixture decoded without error")
		}
		return indent(t, r)
	})
}

// decodeSSE runs a recorded stream through the gateway's SSE reader and a
// StreamDecoder, as the relay reads an upstream.
func decodeSSE(t testing.TB, src []byte) (events []llm.StreamEvent, complete bool, err error) {
	var d StreamDecoder
	rd := sse.NewReader(bytes.NewReader(src), 4096)
	for {
		data, rerr := rd.Next()
		if errors.Is(rerr, io.EOF) {
			return events, d.Complete(), nil
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
		evs, err := d.Event(string(rd.Event), data)
		// The reader reuses its buffer: what the events keep must not
		// point into it, so they are copied out before the next read.
		for _, ev := range evs {
			events = append(events, cloneEvent(ev))
		}
		if err != nil {
			return events, d.Complete(), err
		}
	}
}

func cloneEvent(ev llm.StreamEvent) llm.StreamEvent {
	b, _ := json.Marshal(ev)
	var out llm.StreamEvent
	_ = json.Unmarshal(b, &out)
	out.Error = ev.Error
	return out
}

func TestStreamDecoderGolden(t *testing.T) {
	runGolden(t, "stream_decode", "sse", func(t *testing.T, in []byte) []byte {
		events, complete, err := decodeSSE(t, in)
		var out []byte
		for _, ev := range events {
			if ev.Error != nil {
				out = append(out, "// error event: "+strconv.Itoa(ev.Error.Status)+" "+ev.Error.Code+": "+ev.Error.Message+"\n"...)
				ev.Error = nil
			}
			b, jerr := json.Marshal(ev)
			if jerr != nil {
				t.Fatal(jerr)
			}
			out = append(out, b...)
			out = append(out, '\n')
		}
		if err != nil {
			out = append(out, "// error: "+err.Error()+"\n"...)
		}
		return append(out, "// complete: "+strconv.FormatBool(complete)+"\n"...)
	})
}

// TestDecodeResponseReadsWhatEncodeResponseWrites: a canonical answer
// rendered by the client side (EncodeResponse) reads back the same.
func TestDecodeResponseReadsWhatEncodeResponseWrites(t *testing.T) {
	usage := llm.Usage{PromptTokens: 120, CompletionTokens: 40, TotalTokens: 160, CachedTokens: 100, CacheWriteTokens: 5, ReasoningTokens: 30, Present: true}
	for _, tc := range []struct {
		name string
		r    llm.Response
	}{
		{name: "text", r: llm.Response{FinishReason: llm.FinishStop, Message: llm.Message{Parts: []llm.Part{{Type: llm.PartText, Text: "Hello \"world\" ✓"}}}}},
		{name: "reasoning, text and parallel tools", r: llm.Response{FinishReason: llm.FinishToolCalls, Message: llm.Message{
			Parts: []llm.Part{
				{Type: llm.PartThinking, Text: "Think first.", Signature: "gAAAA-enc", SignatureVendor: llm.VendorOpenAI},
				{Type: llm.PartText, Text: "Calling."},
				{Type: llm.PartThinking, Signature: "gAAAA-enc-2", SignatureVendor: llm.VendorOpenAI},
			},
			ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "a", Arguments: `{"x":1}`}, {ID: "call_2", Name: "b", Arguments: `{}`}},
		}}},
		{name: "length", r: llm.Response{FinishReason: llm.FinishLength, Message: llm.Message{Parts: []llm.Part{{Type: llm.PartText, Text: "Once upon"}}}}},
		{name: "content filter", r: llm.Response{FinishReason: llm.FinishContentFilter}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.r
			want.ID, want.Model, want.Created, want.Usage = "resp_rt", "gpt-rt", 1700000000, usage
			want.Message.Role = llm.RoleAssistant
			body := EncodeResponse(&want, Options{Cost: testCost})
			got, err := DecodeResponse(body)
			if err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("round trip differs\n got %+v\nwant %+v\n%s", *got, want, body)
			}
		})
	}
}

func TestDecodeResponseFailedIsAnError(t *testing.T) {
	body := EncodeResponse(&llm.Response{ID: "r", Model: "m", FinishReason: llm.FinishError}, Options{})
	_, err := DecodeResponse(body)
	if e := llm.AsError(err); err == nil || e.Status != 502 || e.Kind != llm.KindProvider {
		t.Fatalf("failed response decoded as %v", err)
	}
}

// TestStreamDecoderReadsWhatStreamEncoderWrites: canonical events through
// the client side's StreamEncoder and back are the same events.
func TestStreamDecoderReadsWhatStreamEncoderWrites(t *testing.T) {
	usage := &llm.Usage{PromptTokens: 50, CompletionTokens: 20, TotalTokens: 70, CachedTokens: 10, ReasoningTokens: 8, Present: true}
	tool := func(i int, id, name, args string) llm.StreamEvent {
		return llm.StreamEvent{Kind: llm.EventToolCallStart, Index: i, ToolCall: &llm.ToolCall{ID: id, Name: name, Arguments: args}}
	}
	delta := func(i int, args string) llm.StreamEvent {
		return llm.StreamEvent{Kind: llm.EventToolCallDelta, Index: i, ToolCall: &llm.ToolCall{Arguments: args}}
	}
	start := llm.StreamEvent{Kind: llm.EventStart, ID: "resp_gw1", Model: "gpt-gw"}
	for _, tc := range []struct {
		name         string
		events       []llm.StreamEvent
		wantComplete bool
	}{
		{name: "text with usage after the finish", wantComplete: true, events: []llm.StreamEvent{
			start, {Kind: llm.EventText, Text: "Hel"}, {Kind: llm.EventText, Text: "lo ✓"},
			{Kind: llm.EventFinish, FinishReason: llm.FinishStop}, {Kind: llm.EventUsage, Usage: usage},
		}},
		{name: "reasoning with signature, text, interleaved parallel tool calls", wantComplete: true, events: []llm.StreamEvent{
			start,
			{Kind: llm.EventThinking, Text: "Let me "}, {Kind: llm.EventThinking, Text: "think."},
			{Kind: llm.EventThinking, Signature: "gAAAA-enc", SignatureVendor: llm.VendorOpenAI},
			{Kind: llm.EventText, Text: "Calling both."},
			tool(0, "call_a", "get_weather", ""), delta(0, `{"city":`),
			tool(1, "call_b", "get_time", ""), delta(1, `{"tz":"CET"}`), delta(0, `"Paris"}`),
			{Kind: llm.EventFinish, FinishReason: llm.FinishToolCalls}, {Kind: llm.EventUsage, Usage: usage},
		}},
		{name: "length", wantComplete: true, events: []llm.StreamEvent{
			start, {Kind: llm.EventText, Text: "Once upon"},
			{Kind: llm.EventFinish, FinishReason: llm.FinishLength}, {Kind: llm.EventUsage, Usage: usage},
		}},
		{name: "rate limited mid-stream", events: []llm.StreamEvent{
			start, {Kind: llm.EventText, Text: "Part"},
			{Kind: llm.EventError, Error: &llm.Error{Kind: llm.KindProvider, Status: 429, Type: "rate_limit_error", Code: "rate_limit_exceeded", Message: "slow down"}},
		}},
		{name: "server error mid-stream", events: []llm.StreamEvent{
			start, tool(0, "call_a", "f", ""), delta(0, `{"a"`),
			// The wire has a closed list of codes: any failure but a 429
			// is server_error there, and comes back with that code.
			{Kind: llm.EventError, Error: &llm.Error{Kind: llm.KindProvider, Status: 502, Type: "upstream_error", Code: "server_error", Message: "the upstream stream failed"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := newTestEncoder()
			var wire []byte
			for _, ev := range tc.events {
				wire = enc.Event(wire, ev)
			}
			wire = enc.Close(wire)
			got, complete, err := decodeSSE(t, wire)
			if err != nil {
				t.Fatalf("%v\n%s", err, wire)
			}
			if complete != tc.wantComplete {
				t.Errorf("Complete() = %v, want %v", complete, tc.wantComplete)
			}
			if !reflect.DeepEqual(got, tc.events) {
				gb, _ := json.MarshalIndent(got, "", " ")
				wb, _ := json.MarshalIndent(tc.events, "", " ")
				t.Errorf("events differ\n--- got\n%s\n--- want\n%s\n--- wire\n%s", gb, wb, wire)
			}
		})
	}
}

func TestDecodeErrorReadsOpenAIEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   llm.Error
	}{
		{name: "envelope", status: 400, body: `{"error":{"message":"Unsupported parameter: 'temperature' is not supported with this model.","type":"invalid_request_error","param":"temperature","code":"unsupported_parameter"}}`,
			want: llm.Error{Kind: llm.KindProvider, Status: 400, Type: "invalid_request_error", Code: "unsupported_parameter", Param: "temperature", Message: "Unsupported parameter: 'temperature' is not supported with this model."}},
		{name: "rate limit", status: 429, body: `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			want: llm.Error{Kind: llm.KindProvider, Status: 429, Type: "requests", Code: "rate_limit_exceeded", Message: "Rate limit reached"}},
		{name: "not JSON", status: 502, body: `<html>Bad gateway</html>`,
			want: llm.Error{Kind: llm.KindProvider, Status: 502, Message: "<html>Bad gateway</html>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DecodeError(tc.status, []byte(tc.body))
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// Hostile answers are bounded: item counts, and the strings that outlive
// the body.
func TestDecodersBoundHostileAnswers(t *testing.T) {
	t.Run("too many output items", func(t *testing.T) {
		items := strings.Repeat(`{"type":"message","content":[]},`, maxOutputItems)
		body := []byte(`{"status":"completed","output":[` + items + `{"type":"message","content":[]}]}`)
		if _, err := DecodeResponse(body); err == nil {
			t.Fatal("decoded more than maxOutputItems items")
		}
	})
	t.Run("stream with too many items", func(t *testing.T) {
		var d StreamDecoder
		var err error
		for i := 0; i <= maxOutputItems && err == nil; i++ {
			_, err = d.Event("response.output_item.added", []byte(`{"output_index":`+strconv.Itoa(i)+`,"item":{"type":"function_call","call_id":"c","name":"f"}}`))
		}
		if err == nil {
			t.Fatal("the decoder kept more than maxOutputItems items")
		}
	})
	t.Run("long error message and model", func(t *testing.T) {
		long := strings.Repeat("é", maxErrorMessage)
		e := DecodeError(500, []byte(`{"error":{"message":"`+long+`","code":"`+long+`"}}`))
		if len(e.Message) > maxErrorMessage || len(e.Code) > maxUpstreamID {
			t.Errorf("message %d bytes, code %d bytes", len(e.Message), len(e.Code))
		}
		if !strings.HasSuffix(e.Message, "é…") {
			t.Errorf("message not cut at a rune boundary: %q", e.Message[len(e.Message)-8:])
		}
		r, err := DecodeResponse([]byte(`{"status":"completed","model":"` + long + `","output":[]}`))
		if err != nil || len(r.Model) > maxUpstreamID {
			t.Errorf("model %d bytes, %v", len(r.Model), err)
		}
	})
	t.Run("negative usage", func(t *testing.T) {
		r, err := DecodeResponse([]byte(`{"status":"completed","output":[],"usage":{"input_tokens":-5,"output_tokens":-1}}`))
		if err != nil || r.Usage.PromptTokens != 0 || r.Usage.CompletionTokens != 0 || r.Usage.TotalTokens != 0 {
			t.Errorf("usage %+v, %v", r.Usage, err)
		}
		r, err = DecodeResponse([]byte(`{"status":"completed","output":[],"usage":{"input_tokens":9223372036854775807,"output_tokens":9223372036854775807}}`))
		if err != nil || r.Usage.TotalTokens != math.MaxInt64 {
			t.Errorf("overflowing total: %+v, %v", r.Usage, err)
		}
	})
}
