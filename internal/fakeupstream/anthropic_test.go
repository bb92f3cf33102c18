package fakeupstream

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const msgBody = `{"model":"claude-test","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Hello there"},{"role":"assistant","content":[{"type":"text","text":"Hi you"}]},{"role":"user","content":[{"type":"text","text":"Say more"}]}]}`
const msgStreamBody = `{"model":"claude-test","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Hello there"}]}`
const toolsPart = `"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string"}},"required":["city","unit"]}},{"name":"other","input_schema":{"type":"object","required":["q"]}}]`

var anthropicHeaders = []string{"anthropic-version", "2023-06-01"}

func messages(t *testing.T, s *Server, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return respond(t, s, "/v1/messages", body, append(append([]string{}, anthropicHeaders...), header...)...)
}

type msgOut struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Role    string `json:"role"`
	Model   string `json:"model"`
	Content []struct {
		Type  string          `json:"type"`
		Text  string          `json:"text"`
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	} `json:"content"`
	StopReason   *string         `json:"stop_reason"`
	StopSequence json.RawMessage `json:"stop_sequence"`
	Usage        *struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

type anthropicErr struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeMsg(t *testing.T, b []byte) msgOut {
	t.Helper()
	var m msgOut
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return m
}

func decodeAnthropicErr(t *testing.T, b []byte) anthropicErr {
	t.Helper()
	var e anthropicErr
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("decoding error %s: %v", b, err)
	}
	if e.Type != "error" {
		t.Errorf("envelope type %q, want error: %s", e.Type, b)
	}
	return e
}

type sse struct{ name, data string }

// namedEvents reads SSE events with their names until the body ends.
func namedEvents(body io.Reader) ([]sse, error) {
	var out []sse
	var cur sse
	r := bufio.NewReader(body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" {
				return out, nil
			}
			return out, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			out = append(out, cur)
			cur = sse{}
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func TestAnthropicAnswer(t *testing.T) {
	s := start(t, Options{})
	resp, body := messages(t, s, msgBody)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	m := decodeMsg(t, body)
	if !strings.HasPrefix(m.ID, "msg_fake_") || m.Type != "message" || m.Role != "assistant" || m.Model != "claude-test" {
		t.Errorf("header fields: %+v", m)
	}
	if len(m.Content) != 1 || m.Content[0].Type != "text" {
		t.Fatalf("content %s", body)
	}
	text := m.Content[0].Text
	if !strings.HasPrefix(text, "This is the fake Anthropic model answering.") || len(strings.Fields(text)) != 12 {
		t.Errorf("text %q: want the fake sentence padded to 12 words", text)
	}
	if m.StopReason == nil || *m.StopReason != "end_turn" || string(m.StopSequence) != "null" {
		t.Errorf("stop_reason %v, stop_sequence %s", m.StopReason, m.StopSequence)
	}
	// Be brief. (2) + Hello there (2) + Hi you (2) + Say more (2) + 3*4.
	if m.Usage == nil || m.Usage.InputTokens != 20 || m.Usage.OutputTokens != 12 {
		t.Errorf("usage %+v, want 20 in, 12 out", m.Usage)
	}

	s.Enqueue(Behavior{Reply: "Exactly these words", OmitUsage: true})
	_, body = messages(t, s, msgBody)
	if m := decodeMsg(t, body); m.Content[0].Text != "Exactly these words" || m.Usage == nil || m.Usage.OutputTokens != 3 {
		t.Errorf("Reply: %s", body)
	}
}

func TestAnthropicMaxTokensCutsAnswer(t *testing.T) {
	s := start(t, Options{Default: Behavior{Words: 20}})
	_, body := messages(t, s, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)
	m := decodeMsg(t, body)
	if got := m.Content[0].Text; got != "This is the fake Anthropic" {
		t.Errorf("text %q", got)
	}
	if *m.StopReason != "max_tokens" || m.Usage.OutputTokens != 5 {
		t.Errorf("stop_reason %q, usage %+v", *m.StopReason, m.Usage)
	}

	resp, err := post(t, context.Background(), client(t), s.URL+"/v1/messages",
		`{"model":"m","max_tokens":3,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, anthropicHeaders...)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	evs, err := namedEvents(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var last string
	for _, e := range evs {
		var d struct {
			Delta struct {
				Text       string `json:"text"`
				StopReason string `json:"stop_reason"`
			} `json:"delta"`
		}
		json.Unmarshal([]byte(e.data), &d)
		if e.name == "content_block_delta" {
			text.WriteString(d.Delta.Text)
		}
		if e.name == "message_delta" {
			last = d.Delta.StopReason
		}
	}
	if text.String() != "This is the" || last != "max_tokens" {
		t.Errorf("streamed %q, stop_reason %q", text.String(), last)
	}
}

func TestAnthropicStreamOrder(t *testing.T) {
	s := start(t, Options{Default: Behavior{Words: 4, ChunkDelay: time.Millisecond}})
	resp, err := post(t, context.Background(), client(t), s.URL+"/v1/messages", msgStreamBody, anthropicHeaders...)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	evs, err := namedEvents(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"message_start", "content_block_start", "ping",
		"content_block_delta", "content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}
	var names []string
	for _, e := range evs {
		names = append(names, e.name)
		var typ struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(e.data), &typ); err != nil || typ.Type != e.name {
			t.Errorf("event %s: data %s (type %q, %v)", e.name, e.data, typ.Type, err)
		}
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("events %q, want %q", names, want)
	}

	var start struct {
		Message msgOut `json:"message"`
	}
	json.Unmarshal([]byte(evs[0].data), &start)
	if m := start.Message; !strings.HasPrefix(m.ID, "msg_fake_") || m.Model != "claude-test" || m.Content == nil || len(m.Content) != 0 ||
		m.StopReason != nil || m.Usage == nil || m.Usage.InputTokens != 6 || m.Usage.OutputTokens != 1 {
		t.Errorf("message_start %s", evs[0].data)
	}
	var cbs struct {
		Index        int `json:"index"`
		ContentBlock struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		} `json:"content_block"`
	}
	json.Unmarshal([]byte(evs[1].data), &cbs)
	if cbs.Index != 0 || cbs.ContentBlock.Type != "text" || cbs.ContentBlock.Text == nil || *cbs.ContentBlock.Text != "" {
		t.Errorf("content_block_start %s", evs[1].data)
	}
	var text strings.Builder
	for _, e := range evs[3:7] {
		var d struct {
			Index int `json:"index"`
			Delta struct {
				Type, Text string
			} `json:"delta"`
		}
		json.Unmarshal([]byte(e.data), &d)
		if d.Index != 0 || d.Delta.Type != "text_delta" {
			t.Errorf("delta %s", e.data)
		}
		text.WriteString(d.Delta.Text)
	}
	if text.String() != "This is the fake" {
		t.Errorf("streamed text %q", text.String())
	}
	var md struct {
		Delta struct {
			StopReason   string          `json:"stop_reason"`
			StopSequence json.RawMessage `json:"stop_sequence"`
		} `json:"delta"`
		Usage struct {
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}
	json.Unmarshal([]byte(evs[8].data), &md)
	if md.Delta.StopReason != "end_turn" || string(md.Delta.StopSequence) != "null" || md.Usage.OutputTokens != 4 {
		t.Errorf("message_delta %s", evs[8].data)
	}
}

func TestAnthropicToolUse(t *testing.T) {
	s := start(t, Options{})
	_, body := messages(t, s, `{"model":"m","max_tokens":10,`+toolsPart+`,"messages":[{"role":"user","content":"weather?"}]}`)
	m := decodeMsg(t, body)
	if len(m.Content) != 1 || m.Content[0].Type != "tool_use" || m.Content[0].ID != "toolu_fake_0" || m.Content[0].Name != "get_weather" {
		t.Fatalf("content %s", body)
	}
	var in map[string]string
	if err := json.Unmarshal(m.Content[0].Input, &in); err != nil || len(in) != 2 || in["city"] != "fake" || in["unit"] != "fake" {
		t.Errorf("input %s (%v)", m.Content[0].Input, err)
	}
	if *m.StopReason != "tool_use" {
		t.Errorf("stop_reason %q", *m.StopReason)
	}

	// A forced tool is the one used; tool_choice none answers in text.
	_, body = messages(t, s, `{"model":"m","max_tokens":10,`+toolsPart+`,"tool_choice":{"type":"tool","name":"other"},"messages":[{"role":"user","content":"q"}]}`)
	if m := decodeMsg(t, body); m.Content[0].Name != "other" || string(m.Content[0].Input) != `{"q":"fake"}` {
		t.Errorf("forced tool: %s", body)
	}
	_, body = messages(t, s, `{"model":"m","max_tokens":100,`+toolsPart+`,"tool_choice":{"type":"none"},"messages":[{"role":"user","content":"q"}]}`)
	if m := decodeMsg(t, body); m.Content[0].Type != "text" || *m.StopReason != "end_turn" {
		t.Errorf("tool_choice none: %s", body)
	}
}

// TestAnthropicToolResultIsAnsweredInText: once the last message carries
// the tool's result, tool_choice auto (or none given) gets text, so agent
// loops end; a forced tool is still called.
func TestAnthropicToolResultIsAnsweredInText(t *testing.T) {
	s := start(t, Options{})
	const history = `"messages":[{"role":"user","content":"weather?"},` +
		`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_fake_0","name":"get_weather","input":{"city":"fake"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_fake_0","content":"sunny"}]}]`
	for _, choice := range []string{"", `"tool_choice":{"type":"auto"},`} {
		_, body := messages(t, s, `{"model":"m","max_tokens":50,`+toolsPart+`,`+choice+history+`}`)
		if m := decodeMsg(t, body); len(m.Content) != 1 || m.Content[0].Type != "text" || *m.StopReason != "end_turn" {
			t.Errorf("tool_choice %q: %s", choice, body)
		}
	}
	_, body := messages(t, s, `{"model":"m","max_tokens":50,`+toolsPart+`,"tool_choice":{"type":"any"},`+history+`}`)
	if m := decodeMsg(t, body); len(m.Content) != 1 || m.Content[0].Type != "tool_use" {
		t.Errorf("tool_choice any: %s", body)
	}
}

func TestAnthropicToolUseStreamed(t *testing.T) {
	s := start(t, Options{})
	resp, err := post(t, context.Background(), client(t), s.URL+"/v1/messages",
		`{"model":"m","max_tokens":10,"stream":true,`+toolsPart+`,"tool_choice":{"type":"any"},"messages":[{"role":"user","content":"weather?"}]}`, anthropicHeaders...)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	evs, err := namedEvents(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var cbs struct {
		ContentBlock struct {
			Type, ID, Name string
			Input          json.RawMessage
		} `json:"content_block"`
	}
	json.Unmarshal([]byte(evs[1].data), &cbs)
	if cbs.ContentBlock.Type != "tool_use" || cbs.ContentBlock.ID != "toolu_fake_0" || cbs.ContentBlock.Name != "get_weather" || string(cbs.ContentBlock.Input) != "{}" {
		t.Errorf("content_block_start %s", evs[1].data)
	}
	var js strings.Builder
	pieces := 0
	stop := ""
	for _, e := range evs {
		var d struct {
			Delta struct {
				Type        string `json:"type"`
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			} `json:"delta"`
		}
		json.Unmarshal([]byte(e.data), &d)
		switch e.name {
		case "content_block_delta":
			if d.Delta.Type != "input_json_delta" {
				t.Errorf("delta %s", e.data)
			}
			pieces++
			js.WriteString(d.Delta.PartialJSON)
		case "message_delta":
			stop = d.Delta.StopReason
		}
	}
	var in map[string]string
	if pieces < 3 || json.Unmarshal([]byte(js.String()), &in) != nil || in["city"] != "fake" || in["unit"] != "fake" {
		t.Errorf("%d pieces joining to %q", pieces, js.String())
	}
	if stop != "tool_use" {
		t.Errorf("stop_reason %q", stop)
	}
}

func TestAnthropicAPIKeyAndVersion(t *testing.T) {
	s := start(t, Options{APIKey: "sk-ant"})
	s.Enqueue(Behavior{Status: 503}) // must survive the refused requests
	resp, body := messages(t, s, msgBody)
	if e := decodeAnthropicErr(t, body); resp.StatusCode != 401 || e.Error.Type != "authentication_error" || e.Error.Message == "" {
		t.Errorf("no key: %d %s", resp.StatusCode, body)
	}
	resp, body = messages(t, s, msgBody, "Authorization", "Bearer sk-ant")
	if resp.StatusCode != 401 {
		t.Errorf("bearer key: %d %s", resp.StatusCode, body)
	}
	resp, body = messages(t, s, msgBody, "x-api-key", "wrong")
	if resp.StatusCode != 401 {
		t.Errorf("wrong key: %d %s", resp.StatusCode, body)
	}
	resp, err := post(t, context.Background(), client(t), s.URL+"/v1/messages", msgBody, "x-api-key", "sk-ant")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if e := decodeAnthropicErr(t, body); resp.StatusCode != 400 || e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, "anthropic-version") {
		t.Errorf("no version: %d %s", resp.StatusCode, body)
	}
	if resp, body := messages(t, s, msgBody, "x-api-key", "sk-ant"); resp.StatusCode != 503 {
		t.Errorf("queued behaviour not kept for the first accepted request: %d %s", resp.StatusCode, body)
	}
	if resp, body := messages(t, s, msgBody, "x-api-key", "sk-ant"); resp.StatusCode != 200 {
		t.Errorf("right key: %d %s", resp.StatusCode, body)
	}
}

func TestAnthropicStatusFaults(t *testing.T) {
	tests := []struct {
		status int
		typ    string
	}{
		{400, "invalid_request_error"},
		{401, "authentication_error"},
		{403, "permission_error"},
		{404, "not_found_error"},
		{413, "request_too_large"},
		{429, "rate_limit_error"},
		{500, "api_error"},
		{529, "overloaded_error"},
		{503, "api_error"},
	}
	s := start(t, Options{})
	for _, tt := range tests {
		s.Enqueue(Behavior{Status: tt.status, Message: "boom", RetryAfter: "2"})
		resp, body := messages(t, s, msgBody)
		e := decodeAnthropicErr(t, body)
		if resp.StatusCode != tt.status || e.Error.Type != tt.typ || e.Error.Message != "boom" || resp.Header.Get("Retry-After") != "2" {
			t.Errorf("status %d: got %d %s (Retry-After %q)", tt.status, resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
	}
	s.Enqueue(Behavior{Status: 429, ErrorType: "custom_error"})
	_, body := messages(t, s, msgBody)
	if e := decodeAnthropicErr(t, body); e.Error.Type != "custom_error" || e.Error.Message != "fake upstream error 429" {
		t.Errorf("explicit type: %s", body)
	}
}

func TestAnthropicConnectionFaults(t *testing.T) {
	s := start(t, Options{})
	c := client(t)

	s.Enqueue(Behavior{DropBeforeHeaders: true})
	if resp, err := post(t, context.Background(), c, s.URL+"/v1/messages", msgBody, anthropicHeaders...); err == nil {
		resp.Body.Close()
		t.Errorf("DropBeforeHeaders: got status %d", resp.StatusCode)
	}

	s.Enqueue(Behavior{FirstByteDelay: 50 * time.Millisecond})
	t0 := time.Now()
	if resp, _ := messages(t, s, msgBody); resp.StatusCode != 200 || time.Since(t0) < 50*time.Millisecond {
		t.Errorf("FirstByteDelay: status %d after %v", resp.StatusCode, time.Since(t0))
	}

	s.Enqueue(Behavior{DropAfterChunks: 4})
	resp, err := post(t, context.Background(), c, s.URL+"/v1/messages", msgStreamBody, anthropicHeaders...)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := namedEvents(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(evs) != 4 || evs[3].name != "content_block_delta" {
		t.Errorf("DropAfterChunks: %v, events %q", err, evs)
	}
	if s.Last().Canceled {
		t.Error("a dropped connection was recorded as the client's cancellation")
	}

	s.Enqueue(Behavior{MalformedJSON: true})
	resp2, body := messages(t, s, msgBody)
	if resp2.StatusCode != 200 || json.Valid(body) {
		t.Errorf("MalformedJSON whole: %d %s", resp2.StatusCode, body)
	}
	s.Enqueue(Behavior{MalformedJSON: true})
	_, body = messages(t, s, msgStreamBody)
	evs, err = namedEvents(strings.NewReader(string(body)))
	if err != nil || len(evs) < 4 || evs[0].name != "message_start" || evs[1].name != "content_block_delta" || evs[1].data != "{not json" ||
		evs[2].name != "content_block_start" || evs[len(evs)-1].name != "message_stop" {
		t.Errorf("MalformedJSON stream: %v %q", err, evs)
	}
}

func TestAnthropicRequestsAreRecorded(t *testing.T) {
	s := start(t, Options{})
	messages(t, s, msgBody, "x-api-key", "k")
	chat(t, s, chatBody)
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests recorded", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/v1/messages" || string(r.Body) != msgBody ||
		r.Header.Get("anthropic-version") != "2023-06-01" || r.Header.Get("x-api-key") != "k" || r.Canceled {
		t.Errorf("recorded %+v", r)
	}
	if reqs[1].Path != "/v1/chat/completions" {
		t.Errorf("second request %q", reqs[1].Path)
	}
	// A path prefixed by a base (as a gateway may configure it) is Anthropic's too.
	resp, err := post(t, context.Background(), client(t), s.URL+"/anthropic/v1/messages", msgBody, anthropicHeaders...)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := decodeMsg(t, b); m.Type != "message" {
		t.Errorf("prefixed path: %s", b)
	}
}
