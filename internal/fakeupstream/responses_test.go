package fakeupstream

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	rapi "github.com/switchyard-gw/switchyard/internal/api/responses"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

const (
	respBody       = `{"model":"gpt-test","instructions":"Be brief.","input":[{"role":"user","content":"Hello there"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi you"}]},{"role":"user","content":[{"type":"input_text","text":"Say more"}]}],"store":false}`
	respStreamBody = `{"model":"gpt-test","input":"Hello there","stream":true,"store":false}`
	respToolsPart  = `"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string"}},"required":["city","unit"]},"strict":false},{"type":"function","name":"other","parameters":{"type":"object","required":["q"]},"strict":false}]`
)

var bearer = []string{"Authorization", "Bearer sk-test"}

type respOut struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Status            string `json:"status"`
	Model             string `json:"model"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Output []struct {
		Type    string `json:"type"`
		Status  string `json:"status"`
		Role    string `json:"role"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		CallID           string `json:"call_id"`
		Name             string `json:"name"`
		Arguments        string `json:"arguments"`
		EncryptedContent string `json:"encrypted_content"`
		Summary          []struct {
			Text string `json:"text"`
		} `json:"summary"`
	} `json:"output"`
	Usage *struct {
		InputTokens         int `json:"input_tokens"`
		OutputTokens        int `json:"output_tokens"`
		TotalTokens         int `json:"total_tokens"`
		OutputTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
	} `json:"usage"`
}

func decodeResp(t *testing.T, b []byte) respOut {
	t.Helper()
	var r respOut
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("not a Response: %v\n%s", err, b)
	}
	return r
}

func TestResponsesAnswer(t *testing.T) {
	s := start(t, Options{})
	resp, b := respond(t, s, "/v1/responses", respBody, bearer...)
	r := decodeResp(t, b)
	if resp.StatusCode != 200 || r.Object != "response" || r.Status != "completed" || r.Model != "gpt-test" || !strings.HasPrefix(r.ID, "resp_fake_") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if len(r.Output) != 1 || r.Output[0].Type != "message" || len(r.Output[0].Content) != 1 ||
		r.Output[0].Content[0].Text != "This is the fake Responses model answering. The quick brown fox jumps" {
		t.Fatalf("output: %s", b)
	}
	// instructions 2 words + 3 items × 4 + 2 + 2 + 2 words; 12 words out.
	if u := r.Usage; u == nil || u.InputTokens != 20 || u.OutputTokens != 12 || u.TotalTokens != 32 {
		t.Errorf("usage: %s", b)
	}
	s.Enqueue(Behavior{Reply: "Scripted reply."})
	if _, b := respond(t, s, "/v1/responses", respBody, bearer...); decodeResp(t, b).Output[0].Content[0].Text != "Scripted reply." {
		t.Errorf("Reply: %s", b)
	}
}

func TestResponsesMaxOutputTokensCutsAnswer(t *testing.T) {
	s := start(t, Options{Default: Behavior{Words: 10}})
	_, b := respond(t, s, "/v1/responses", `{"model":"m","input":"hi","max_output_tokens":3}`)
	r := decodeResp(t, b)
	if r.Status != "incomplete" || r.IncompleteDetails == nil || r.IncompleteDetails.Reason != "max_output_tokens" ||
		r.Output[0].Status != "incomplete" || r.Output[0].Content[0].Text != "This is the" || r.Usage.OutputTokens != 3 {
		t.Errorf("%s", b)
	}
}

func TestResponsesStreamOrder(t *testing.T) {
	s := start(t, Options{Default: Behavior{Words: 4}})
	resp, err := post(t, context.Background(), client(t), s.URL+"/v1/responses", respStreamBody)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, ct)
	}
	evs, err := namedEvents(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
		"response.output_text.delta", "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"}
	var names []string
	var text strings.Builder
	for i, ev := range evs {
		names = append(names, ev.name)
		var d struct {
			Type  string `json:"type"`
			Seq   int    `json:"sequence_number"`
			Delta string `json:"delta"`
		}
		if err := json.Unmarshal([]byte(ev.data), &d); err != nil || d.Type != ev.name || d.Seq != i {
			t.Errorf("event %d %s: %v %s", i, ev.name, err, ev.data)
		}
		text.WriteString(d.Delta)
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("events %q\nwant %q", names, want)
	}
	if text.String() != "This is the fake" {
		t.Errorf("deltas make %q", text.String())
	}
	var done struct {
		Response respOut `json:"response"`
	}
	_ = json.Unmarshal([]byte(evs[len(evs)-1].data), &done)
	if u := done.Response.Usage; done.Response.Status != "completed" || u == nil || u.InputTokens != 6 || u.OutputTokens != 4 {
		t.Errorf("response.completed: %s", evs[len(evs)-1].data)
	}
}

func TestResponsesFunctionCall(t *testing.T) {
	s := start(t, Options{})
	tests := []struct {
		name, body string
		wantTool   string // "" : a text answer
	}{
		{name: "first function tool", body: `{"model":"m","input":"weather?",` + respToolsPart + `}`, wantTool: "get_weather"},
		{name: "named tool", body: `{"model":"m","input":"q?",` + respToolsPart + `,"tool_choice":{"type":"function","name":"other"}}`, wantTool: "other"},
		{name: "tool_choice none", body: `{"model":"m","input":"q?",` + respToolsPart + `,"tool_choice":"none"}`},
		{name: "answered after the tool's output", body: `{"model":"m","input":[{"role":"user","content":"q?"},{"type":"function_call","call_id":"call_fake_0","name":"get_weather","arguments":"{}"},{"type":"function_call_output","call_id":"call_fake_0","output":"sunny"}],` + respToolsPart + `}`},
		{name: "required even after the output", body: `{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":"x"}],` + respToolsPart + `,"tool_choice":"required"}`, wantTool: "get_weather"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, b := respond(t, s, "/v1/responses", tt.body)
			r := decodeResp(t, b)
			it := r.Output[0]
			if tt.wantTool == "" {
				if it.Type != "message" {
					t.Fatalf("want text: %s", b)
				}
				return
			}
			wantArgs := map[string]string{"get_weather": `{"city":"fake","unit":"fake"}`, "other": `{"q":"fake"}`}[tt.wantTool]
			if it.Type != "function_call" || it.Name != tt.wantTool || it.CallID != "call_fake_0" || it.Arguments != wantArgs || r.Status != "completed" {
				t.Fatalf("%s", b)
			}
		})
	}
	t.Run("streamed", func(t *testing.T) {
		_, b := respond(t, s, "/v1/responses", `{"model":"m","input":"weather?","stream":true,`+respToolsPart+`}`)
		evs, _ := namedEvents(strings.NewReader(string(b)))
		var args strings.Builder
		deltas := 0
		for _, ev := range evs {
			if ev.name == "response.function_call_arguments.delta" {
				var d struct {
					Delta string `json:"delta"`
				}
				_ = json.Unmarshal([]byte(ev.data), &d)
				args.WriteString(d.Delta)
				deltas++
			}
		}
		if deltas != 3 || args.String() != `{"city":"fake","unit":"fake"}` || evs[len(evs)-1].name != "response.completed" {
			t.Errorf("%d deltas make %q: %q", deltas, args.String(), evs)
		}
	})
}

func TestResponsesJSONOutput(t *testing.T) {
	s := start(t, Options{})
	_, b := respond(t, s, "/v1/responses", `{"model":"m","input":"x","text":{"format":{"type":"json_schema","name":"p","schema":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}}}}`)
	if got := decodeResp(t, b).Output[0].Content[0].Text; got != `{"name":"fake","age":1}` {
		t.Errorf("json_schema: %s", got)
	}
	s.Enqueue(Behavior{Reply: "hello"})
	_, b = respond(t, s, "/v1/responses", `{"model":"m","input":"x","text":{"format":{"type":"json_object"}}}`)
	if got := decodeResp(t, b).Output[0].Content[0].Text; got != `{"answer":"hello"}` {
		t.Errorf("json_object: %s", got)
	}
}

func TestResponsesReasoning(t *testing.T) {
	s := start(t, Options{Default: Behavior{Words: 2}})
	_, b := respond(t, s, "/v1/responses", `{"model":"o3","input":"x","reasoning":{"effort":"low","summary":"auto"},"include":["reasoning.encrypted_content"]}`)
	r := decodeResp(t, b)
	if len(r.Output) != 2 || r.Output[0].Type != "reasoning" || len(r.Output[0].Summary) != 1 || !strings.HasPrefix(r.Output[0].EncryptedContent, "enc_fake_") ||
		r.Usage.OutputTokensDetails.ReasoningTokens != 8 || r.Usage.OutputTokens != 10 {
		t.Fatalf("%s", b)
	}
	_, b = respond(t, s, "/v1/responses", `{"model":"o3","input":"x","reasoning":{"effort":"low"}}`)
	if r := decodeResp(t, b); r.Output[0].Type != "reasoning" || len(r.Output[0].Summary) != 0 || r.Output[0].EncryptedContent != "" {
		t.Errorf("without summary or include: %s", b)
	}
	_, b = respond(t, s, "/v1/responses", `{"model":"gpt-5.1","input":"x","reasoning":{"effort":"none"}}`)
	if r := decodeResp(t, b); len(r.Output) != 1 || r.Output[0].Type != "message" {
		t.Errorf("effort none: %s", b)
	}
}

func TestResponsesRefusesPreviousResponseID(t *testing.T) {
	s := start(t, Options{})
	resp, b := respond(t, s, "/v1/responses", `{"model":"m","input":"x","previous_response_id":"resp_abc"}`)
	var e errorEnvelope
	_ = json.Unmarshal(b, &e)
	if resp.StatusCode != 400 || string(e.Error.Code) != `"previous_response_not_found"` {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}

func TestResponsesPathsAndKeys(t *testing.T) {
	s := start(t, Options{APIKey: "sk-test"})
	for _, tt := range []struct {
		path   string
		header []string
	}{
		{"/v1/responses", bearer},
		{"/api/v1/responses", bearer},
		{"/openai/v1/responses", []string{"Api-Key", "sk-test"}},
		{"/openai/responses", []string{"Api-Key", "sk-test"}},
	} {
		resp, b := respond(t, s, tt.path, respBody, tt.header...)
		if resp.StatusCode != 200 || decodeResp(t, b).Object != "response" {
			t.Errorf("%s: %d %s", tt.path, resp.StatusCode, b)
		}
	}
	resp, b := respond(t, s, "/v1/responses", respBody, "Authorization", "Bearer wrong")
	var e errorEnvelope
	_ = json.Unmarshal(b, &e)
	if resp.StatusCode != 401 || string(e.Error.Code) != `"invalid_api_key"` {
		t.Errorf("wrong key: %d %s", resp.StatusCode, b)
	}
	if n := len(s.Requests()); n != 5 || s.Last().Path != "/v1/responses" {
		t.Errorf("recorded %d requests, last %q", n, s.Last().Path)
	}
}

func TestResponsesStatusFaults(t *testing.T) {
	s := start(t, Options{})
	for _, tt := range []struct {
		status int
		typ    string
	}{{400, "invalid_request_error"}, {429, "invalid_request_error"}, {500, "server_error"}, {503, "server_error"}} {
		s.Enqueue(Behavior{Status: tt.status, Message: "boom", RetryAfter: "3", ErrorCode: "c"})
		resp, b := respond(t, s, "/v1/responses", respBody)
		var e errorEnvelope
		if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != tt.status || e.Error.Type != tt.typ ||
			e.Error.Message != "boom" || string(e.Error.Code) != `"c"` || resp.Header.Get("Retry-After") != "3" {
			t.Errorf("status %d: got %d %s (Retry-After %q)", tt.status, resp.StatusCode, b, resp.Header.Get("Retry-After"))
		}
	}
}

func TestResponsesConnectionFaults(t *testing.T) {
	s := start(t, Options{})
	c := client(t)

	s.Enqueue(Behavior{DropBeforeHeaders: true})
	if resp, err := post(t, context.Background(), c, s.URL+"/v1/responses", respBody); err == nil {
		resp.Body.Close()
		t.Errorf("DropBeforeHeaders: got status %d", resp.StatusCode)
	}

	s.Enqueue(Behavior{FirstByteDelay: 50 * time.Millisecond})
	t0 := time.Now()
	if resp, _ := respond(t, s, "/v1/responses", respBody); resp.StatusCode != 200 || time.Since(t0) < 50*time.Millisecond {
		t.Errorf("FirstByteDelay: status %d after %v", resp.StatusCode, time.Since(t0))
	}

	s.Enqueue(Behavior{DropAfterChunks: 5})
	resp, err := post(t, context.Background(), c, s.URL+"/v1/responses", respStreamBody)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := namedEvents(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(evs) != 5 || evs[4].name != "response.output_text.delta" {
		t.Errorf("DropAfterChunks: %v, events %q", err, evs)
	}

	s.Enqueue(Behavior{MalformedJSON: true})
	resp2, body := respond(t, s, "/v1/responses", respBody)
	if resp2.StatusCode != 200 || json.Valid(body) {
		t.Errorf("MalformedJSON whole: %d %s", resp2.StatusCode, body)
	}
	s.Enqueue(Behavior{MalformedJSON: true})
	_, body = respond(t, s, "/v1/responses", respStreamBody)
	evs, err = namedEvents(strings.NewReader(string(body)))
	if err != nil || len(evs) < 4 || evs[0].name != "response.created" || evs[1].name != "response.output_text.delta" || evs[1].data != "{not json" ||
		evs[2].name != "response.in_progress" || evs[len(evs)-1].name != "response.completed" {
		t.Errorf("MalformedJSON stream: %v %q", err, evs)
	}
}

// TestResponsesFakeReadsBackThroughTheCodec: the fake's answers, written
// independently of internal/api/responses, decode there to the answer the
// fake meant: text, a function call and usage, whole and streamed.
func TestResponsesFakeReadsBackThroughTheCodec(t *testing.T) {
	s := start(t, Options{Default: Behavior{Words: 5}})
	_, b := respond(t, s, "/v1/responses", `{"model":"m","input":"weather?",`+respToolsPart+`}`)
	r, err := rapi.DecodeResponse(b)
	if err != nil || r.FinishReason != llm.FinishToolCalls || len(r.Message.ToolCalls) != 1 ||
		!reflect.DeepEqual(r.Message.ToolCalls[0], llm.ToolCall{ID: "call_fake_0", Name: "get_weather", Arguments: `{"city":"fake","unit":"fake"}`}) || !r.Usage.Present {
		t.Fatalf("%v %+v", err, r)
	}

	_, b = respond(t, s, "/v1/responses", `{"model":"o3","input":"hi","stream":true,"reasoning":{"effort":"low","summary":"auto"},"include":["reasoning.encrypted_content"]}`)
	var d rapi.StreamDecoder
	var text, thinking, sig string
	var usage *llm.Usage
	evs, _ := namedEvents(strings.NewReader(string(b)))
	for _, ev := range evs {
		out, err := d.Event(ev.name, []byte(ev.data))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out {
			switch e.Kind {
			case llm.EventText:
				text += e.Text
			case llm.EventThinking:
				thinking += e.Text
				if e.Signature != "" {
					sig = e.Signature
				}
			case llm.EventUsage:
				usage = e.Usage
			}
		}
	}
	if !d.Complete() || text != "This is the fake Responses" || thinking != "The fake model thinks briefly." || !strings.HasPrefix(sig, "enc_fake_") ||
		usage == nil || usage.CompletionTokens != 13 || usage.ReasoningTokens != 8 {
		t.Errorf("complete %v text %q thinking %q sig %q usage %+v", d.Complete(), text, thinking, sig, usage)
	}
}
