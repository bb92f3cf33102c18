package responses

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func splitLines(b []byte) [][]byte { return bytes.Split(bytes.TrimSpace(b), []byte("\n")) }

// checkSSE asserts every event is "event: T" + JSON data of type T with
// sequence numbers 0, 1, 2…, and exactly one final event, last.
func checkSSE(t *testing.T, out []byte) []string {
	t.Helper()
	var types []string
	finals := 0
	for i, chunk := range strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(chunk, "\ndata: ")
		name = strings.TrimPrefix(name, "event: ")
		if !ok {
			t.Fatalf("event %d is not event+data: %q", i, chunk)
		}
		var ev struct {
			Type string `json:"type"`
			Seq  *int   `json:"sequence_number"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil || ev.Type != name || ev.Seq == nil || *ev.Seq != i {
			t.Fatalf("event %d (%s) data %q: %v", i, name, data, err)
		}
		types = append(types, name)
		switch name {
		case "response.completed", "response.incomplete", "response.failed":
			finals++
		}
	}
	if finals != 1 || !strings.HasPrefix(types[len(types)-1], "response.") || types[len(types)-1] == "response.in_progress" {
		t.Fatalf("want exactly one final event, last: %v", types)
	}
	return types
}

func TestStreamHoldsTheFinalEventUntilUsageArrivesAfterTheFinish(t *testing.T) {
	enc := newTestEncoder()
	out := enc.Event(nil, llm.StreamEvent{Kind: llm.EventText, Text: "hi"})
	out = enc.Event(out, llm.StreamEvent{Kind: llm.EventFinish, FinishReason: llm.FinishStop})
	if bytes.Contains(out, []byte("response.completed")) {
		t.Fatal("response.completed sent before usage")
	}
	out = enc.Event(out, llm.StreamEvent{Kind: llm.EventUsage, Usage: &llm.Usage{PromptTokens: 3, CompletionTokens: 1, Present: true}})
	if !bytes.Contains(out, []byte(`"total_tokens":4,"cost":0.000004`)) {
		t.Fatalf("completed event lacks usage with cost:\n%s", out)
	}
	n := len(out)
	out = enc.Close(out)
	if len(out) != n {
		t.Fatalf("Close after the final event wrote %q", out[n:])
	}
	checkSSE(t, out)
}

func TestStreamLengthFinishEndsWithResponseIncomplete(t *testing.T) {
	enc := newTestEncoder()
	out := enc.Event(nil, llm.StreamEvent{Kind: llm.EventText, Text: "Once"})
	out = enc.Event(out, llm.StreamEvent{Kind: llm.EventFinish, FinishReason: llm.FinishLength})
	out = enc.Close(out)
	types := checkSSE(t, out)
	if types[len(types)-1] != "response.incomplete" || !bytes.Contains(out, []byte(`"incomplete_details":{"reason":"max_output_tokens"}`)) {
		t.Fatalf("types %v\n%s", types, out)
	}
}

func TestEncodeResponseContentFilterIsIncompleteWithItsReason(t *testing.T) {
	out := EncodeResponse(&llm.Response{ID: "r", FinishReason: llm.FinishContentFilter}, Options{})
	if !bytes.Contains(out, []byte(`"status":"incomplete","error":null,"incomplete_details":{"reason":"content_filter"}`)) {
		t.Fatalf("%s", out)
	}
}

func TestEncodeErrorIsOpenAIsEnvelopeWithRequestID(t *testing.T) {
	got := string(EncodeError(llm.BadRequest("tools[0].type", "no"), "req_9"))
	want := `{"error":{"message":"no","type":"invalid_request_error","param":"tools[0].type","code":"invalid_request_error"},"request_id":"req_9"}` + "\n"
	if got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

func TestScanRequestReadsRoutingFieldsAndRefusesStoredState(t *testing.T) {
	s, err := ScanRequest([]byte(`{"model":"m","stream":true,"max_output_tokens":64,"store":false,"safety_identifier":"s","input":"x"}`))
	if err != nil || s.Model != "m" || !s.Stream || s.MaxOutputTokens != 64 || s.Store == nil || *s.Store || s.User != "s" {
		t.Fatalf("scan = %+v, %v", s, err)
	}
	for body, param := range map[string]string{
		`{"model":"m","previous_response_id":7}`: "previous_response_id",
		`{"model":"m","conversation":"conv_1"}`:  "conversation",
		`{"model":"m","background":true}`:        "background",
		`{"model":"m","store":"no"}`:             "store",
		`{"model":"m","max_output_tokens":0}`:    "max_output_tokens",
		`{"model":"m","max_output_tokens":1.5}`:  "max_output_tokens",
		`{"model":7}`:                            "model",
		`[]`:                                     "",
	} {
		_, err := ScanRequest([]byte(body))
		if e := llm.AsError(err); err == nil || e.Status != 400 || e.Param != param {
			t.Errorf("%s: err %v, want a 400 naming %q", body, err, param)
		}
	}
}

func TestDecodeRequestKeepsInstructionsFirstWhateverTheKeyOrder(t *testing.T) {
	r, _, err := DecodeRequest([]byte(`{"input":[{"role":"system","content":"second"},{"role":"user","content":"q"}],"model":"m","instructions":"first"}`))
	if err != nil || len(r.System) != 2 || r.System[0].Text != "first" || r.System[1].Text != "second" {
		t.Fatalf("system = %+v, %v", r, err)
	}
}
