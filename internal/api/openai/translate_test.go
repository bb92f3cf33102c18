package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/translate")

const translateDir = "testdata/translate"

// golden compares got with the named golden file, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func indentJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func marshalIndent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func fixtures(t testing.TB, dir, ext string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(translateDir, dir, "*"+ext))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	return files
}

// Each request fixture is decoded (golden: the canonical form) and encoded
// back for an OpenAI-compatible upstream (golden: the upstream body).
func TestRequestFixturesDecodeAndEncodeAsGolden(t *testing.T) {
	for _, in := range fixtures(t, "request", ".json") {
		base := strings.TrimSuffix(in, ".json")
		t.Run(filepath.Base(base), func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			r, err := DecodeRequest(body)
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			golden(t, base+".llm.golden", marshalIndent(t, r))
			enc, err := EncodeRequest(r)
			if err != nil {
				t.Fatalf("EncodeRequest: %v", err)
			}
			golden(t, base+".openai.golden", indentJSON(t, enc))
		})
	}
}

// lossyRoundTrip names the fixtures whose canonical form the OpenAI format
// cannot say in full, and why.
var lossyRoundTrip = map[string]string{
	"thinking_budget":   "a thinking budget is sent as the nearest reasoning_effort",
	"thinking_adaptive": "adaptive thinking has no OpenAI form; only reasoning_effort is sent",
}

func TestDecodeOfEncodedRequestKeepsTheCanonicalRequest(t *testing.T) {
	for _, in := range fixtures(t, "request", ".json") {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			if why, ok := lossyRoundTrip[name]; ok {
				t.Skip(why)
			}
			body, _ := os.ReadFile(in)
			x, err := DecodeRequest(body)
			if err != nil {
				t.Fatal(err)
			}
			assertRoundTrip(t, x)
		})
	}
	t.Run("handwritten", func(t *testing.T) {
		temp, topP, seed := 0.2, 0.5, int64(7)
		x := &llm.Request{
			Model:  "m",
			System: []llm.Part{{Type: llm.PartText, Text: "be brief"}},
			Messages: []llm.Message{
				{Role: llm.RoleUser, Name: "ann", Parts: []llm.Part{
					{Type: llm.PartText, Text: "look"},
					{Type: llm.PartImage, MediaType: "image/jpeg", Data: "AAAA", Detail: "low"},
					{Type: llm.PartImage, URL: "https://example.com/a.png"},
					{Type: llm.PartDocument, MediaType: "application/pdf", Data: "JVBE", Filename: "a.pdf"},
					{Type: llm.PartDocument, FileID: "file-1"},
				}},
				{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartThinking, Text: "hmm"}, {Type: llm.PartText, Text: "calling"}},
					ToolCalls: []llm.ToolCall{{ID: "c1", Name: "f", Arguments: `{"a":1}`}}},
				{Role: llm.RoleTool, ToolCallID: "c1", ToolName: "f", Parts: []llm.Part{{Type: llm.PartText, Text: "ok"}}},
				{Role: llm.RoleSystem, Parts: []llm.Part{{Type: llm.PartText, Text: "late system"}}},
				{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "thanks"}}},
			},
			Tools:          []llm.Tool{{Name: "f", Description: "d", Parameters: json.RawMessage(`{"type":"object"}`), Strict: true}},
			ToolChoice:     &llm.ToolChoice{Mode: "required", DisableParallel: true},
			MaxTokens:      100,
			Temperature:    &temp,
			TopP:           &topP,
			Stop:           []string{"x"},
			Seed:           &seed,
			N:              2,
			Stream:         true,
			ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Name: "A", Schema: json.RawMessage(`{"type":"object"}`), Strict: true},
			Reasoning:      &llm.Reasoning{Effort: "low"},
			User:           "u",
		}
		assertRoundTrip(t, x)
	})
}

func assertRoundTrip(t *testing.T, x *llm.Request) {
	t.Helper()
	enc, err := EncodeRequest(x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := DecodeRequest(enc)
	if err != nil {
		t.Fatalf("DecodeRequest(EncodeRequest(x)): %v\n%s", err, enc)
	}
	// Compare as JSON, where raw schemas compare by content.
	a, _ := json.Marshal(x)
	b, _ := json.Marshal(y)
	if !bytes.Equal(a, b) {
		t.Errorf("round trip changed the request:\n x: %s\n y: %s\nvia %s", a, b, enc)
	}
}

func TestDecodeRequestRejectsBadInputNamingTheField(t *testing.T) {
	tests := []struct {
		name, body, param string
	}{
		{name: "not json", body: `{`, param: ""},
		{name: "not an object", body: `[]`, param: ""},
		{name: "no model", body: `{"messages":[{"role":"user","content":"hi"}]}`, param: "model"},
		{name: "model not string", body: `{"model":1,"messages":[]}`, param: "model"},
		{name: "no messages", body: `{"model":"m"}`, param: "messages"},
		{name: "messages not array", body: `{"model":"m","messages":{}}`, param: "messages"},
		{name: "unknown role", body: `{"model":"m","messages":[{"role":"robot","content":"hi"}]}`, param: "messages[0].role"},
		{name: "content number", body: `{"model":"m","messages":[{"role":"user","content":5}]}`, param: "messages[0].content"},
		{name: "unknown part", body: `{"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]}`, param: "messages[0].content[0].type"},
		{name: "image in system", body: `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x"}}]}]}`, param: "messages[0].content[0].type"},
		{name: "image without url", body: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, param: "messages[0].content[0].image_url.url"},
		{name: "tool message without id", body: `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, param: "messages[0].tool_call_id"},
		{name: "tool call without name", body: `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{}}]}]}`, param: "messages[0].tool_calls[0].function.name"},
		{name: "function tool without name", body: `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{}}]}`, param: "tools[0].function.name"},
		{name: "bad tool_choice", body: `{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"}`, param: "tool_choice"},
		{name: "negative max_tokens", body: `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-1}`, param: "max_tokens"},
		{name: "temperature string", body: `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}`, param: "temperature"},
		{name: "stop number", body: `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":3}`, param: "stop"},
		{name: "bad response_format", body: `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}}`, param: "response_format.type"},
		{name: "parallel_tool_calls string", body: `{"model":"m","messages":[{"role":"user","content":"x"}],"parallel_tool_calls":"no"}`, param: "parallel_tool_calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tt.body))
			var e *llm.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *llm.Error", err)
			}
			if e.Status != 400 || e.Param != tt.param {
				t.Errorf("status %d param %q, want 400 %q (%s)", e.Status, e.Param, tt.param, e.Message)
			}
		})
	}
}

func TestResponseFixturesDecodeAndEncodeAsGolden(t *testing.T) {
	for _, in := range fixtures(t, "response", ".json") {
		base := strings.TrimSuffix(in, ".json")
		t.Run(filepath.Base(base), func(t *testing.T) {
			body, _ := os.ReadFile(in)
			r, err := DecodeResponse(body)
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			golden(t, base+".llm.golden", marshalIndent(t, r))
			golden(t, base+".openai.golden", indentJSON(t, EncodeResponse(r)))
			back, err := DecodeResponse(EncodeResponse(r))
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(r)
			b, _ := json.Marshal(back)
			if !bytes.Equal(a, b) {
				t.Errorf("DecodeResponse(EncodeResponse(r)) changed r:\n%s\n%s", a, b)
			}
		})
	}
}

func TestDecodeResponseReportsAnErrorBodyAsUpstreamError(t *testing.T) {
	_, err := DecodeResponse([]byte(`{"error":{"message":"overloaded","type":"server_error","code":"overloaded"}}`))
	var e *llm.Error
	if !errors.As(err, &e) || e.Status != 502 || e.Message != "overloaded" || e.Code != "overloaded" {
		t.Fatalf("err = %#v", err)
	}
	if _, err := DecodeResponse([]byte(`not json`)); err == nil {
		t.Fatal("want an error for a body that is not JSON")
	}
}

func TestEncodeResponseWritesNullContentForOnlyToolCalls(t *testing.T) {
	b := EncodeResponse(&llm.Response{ID: "x", Message: llm.Message{Role: llm.RoleAssistant,
		ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: "{}"}}}, FinishReason: llm.FinishToolCalls})
	var v struct {
		Choices []struct {
			Message map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if got := string(v.Choices[0].Message["content"]); got != "null" {
		t.Errorf("content = %s, want null", got)
	}
}

// sseData splits an SSE text into its data payloads.
func sseData(sse []byte) [][]byte {
	var out [][]byte
	for _, ev := range bytes.Split(sse, []byte("\n\n")) {
		ev = bytes.TrimSpace(ev)
		if d, ok := bytes.CutPrefix(ev, []byte("data: ")); ok {
			out = append(out, d)
		}
	}
	return out
}

func decodeAll(t testing.TB, payloads [][]byte) (*ChunkDecoder, []llm.StreamEvent) {
	t.Helper()
	d := &ChunkDecoder{}
	var evs []llm.StreamEvent
	for _, p := range payloads {
		got, err := d.Event(p)
		if err != nil {
			t.Fatalf("Event(%s): %v", p, err)
		}
		evs = append(evs, got...)
	}
	return d, evs
}

func encodeAll(evs []llm.StreamEvent, includeUsage bool) []byte {
	e := &ChunkEncoder{ID: "gen-1", Model: "client-model", Created: 1700000000, IncludeUsage: includeUsage}
	var out []byte
	for _, ev := range evs {
		out = e.Event(out, ev)
	}
	return e.Close(out)
}

// Each recorded upstream stream is decoded (golden: canonical events) and
// re-encoded for an OpenAI client with and without include_usage.
func TestStreamFixturesDecodeAndEncodeAsGolden(t *testing.T) {
	for _, in := range fixtures(t, "stream", ".sse") {
		base := strings.TrimSuffix(in, ".sse")
		t.Run(filepath.Base(base), func(t *testing.T) {
			sse, _ := os.ReadFile(in)
			d, evs := decodeAll(t, sseData(sse))
			var lines bytes.Buffer
			for _, ev := range evs {
				b, _ := json.Marshal(ev)
				lines.Write(b)
				lines.WriteByte('\n')
			}
			lines.WriteString("done=" + boolStr(d.Done()) + " finished=" + boolStr(d.Finished()) + "\n")
			golden(t, base+".events.golden", lines.Bytes())
			for _, withUsage := range []bool{false, true} {
				out := encodeAll(evs, withUsage)
				assertWellFormedChunks(t, out, withUsage)
				name := base + ".openai.golden"
				if withUsage {
					name = base + ".openai_include_usage.golden"
				}
				golden(t, name, out)
			}
		})
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// assertWellFormedChunks checks every event is JSON, [DONE] comes once and
// last, and a client without include_usage never sees empty choices.
func assertWellFormedChunks(t *testing.T, sse []byte, includeUsage bool) {
	t.Helper()
	data := sseData(sse)
	if len(data) == 0 || string(data[len(data)-1]) != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]:\n%s", sse)
	}
	for _, p := range data[:len(data)-1] {
		if string(p) == "[DONE]" {
			t.Fatalf("[DONE] sent twice:\n%s", sse)
		}
		var c struct {
			Object  string
			Choices *[]json.RawMessage
		}
		if err := json.Unmarshal(p, &c); err != nil {
			t.Fatalf("chunk is not JSON: %v\n%s", err, p)
		}
		if c.Object != "chat.completion.chunk" || c.Choices == nil {
			t.Fatalf("not a chat.completion.chunk: %s", p)
		}
		if !includeUsage && len(*c.Choices) == 0 {
			t.Fatalf("client without include_usage got empty choices: %s", p)
		}
	}
}

func usage(p, c int64) *llm.Usage {
	return &llm.Usage{PromptTokens: p, CompletionTokens: c, TotalTokens: p + c, CachedTokens: 3, ReasoningTokens: 1, Present: true}
}

func TestChunkEncoderThenDecoderReproducesTheEvents(t *testing.T) {
	start := llm.StreamEvent{Kind: llm.EventStart, ID: "gen-1", Model: "client-model"}
	tests := []struct {
		name   string
		events []llm.StreamEvent
	}{
		{name: "text with usage", events: []llm.StreamEvent{start,
			{Kind: llm.EventThinking, Text: "let me think"},
			{Kind: llm.EventText, Text: "Hello \"world\"\n\u2028ok"},
			{Kind: llm.EventFinish, FinishReason: llm.FinishStop},
			{Kind: llm.EventUsage, Usage: usage(10, 5)},
		}},
		{name: "parallel tool calls", events: []llm.StreamEvent{start,
			{Kind: llm.EventToolCallStart, Index: 0, ToolCall: &llm.ToolCall{ID: "c0", Name: "f"}},
			{Kind: llm.EventToolCallDelta, Index: 0, ToolCall: &llm.ToolCall{Arguments: `{"a":`}},
			{Kind: llm.EventToolCallStart, Index: 1, ToolCall: &llm.ToolCall{ID: "c1", Name: "g"}},
			{Kind: llm.EventToolCallDelta, Index: 0, ToolCall: &llm.ToolCall{Arguments: `1}`}},
			{Kind: llm.EventToolCallDelta, Index: 1, ToolCall: &llm.ToolCall{Arguments: `{}`}},
			{Kind: llm.EventFinish, FinishReason: llm.FinishToolCalls},
			{Kind: llm.EventUsage, Usage: usage(20, 9)},
		}},
		{name: "no usage", events: []llm.StreamEvent{start,
			{Kind: llm.EventText, Text: "x"},
			{Kind: llm.EventFinish, FinishReason: llm.FinishLength},
		}},
		{name: "error mid-stream", events: []llm.StreamEvent{start,
			{Kind: llm.EventText, Text: "partial"},
			{Kind: llm.EventError, Error: llm.UpstreamError("upstream went away", nil)},
		}},
	}
	for _, tt := range tests {
		for _, withUsage := range []bool{false, true} {
			t.Run(tt.name+"/include_usage="+boolStr(withUsage), func(t *testing.T) {
				out := encodeAll(tt.events, withUsage)
				assertWellFormedChunks(t, out, withUsage)
				_, got := decodeAll(t, sseData(out))
				a, _ := json.Marshal(tt.events)
				b, _ := json.Marshal(got)
				if !bytes.Equal(a, b) {
					t.Errorf("events changed:\nwant %s\n got %s\nvia\n%s", a, b, out)
				}
			})
		}
	}
}

func TestChunkEncoderHoldsFinishUntilUsageForClientWithoutIncludeUsage(t *testing.T) {
	e := &ChunkEncoder{ID: "g", Model: "m"}
	out := e.Event(nil, llm.StreamEvent{Kind: llm.EventText, Text: "hi"})
	n := len(sseData(out))
	out = e.Event(out, llm.StreamEvent{Kind: llm.EventFinish, FinishReason: llm.FinishStop})
	if len(sseData(out)) != n {
		t.Fatalf("finish chunk was sent before usage:\n%s", out)
	}
	out = e.Event(out, llm.StreamEvent{Kind: llm.EventUsage, Usage: usage(1, 2)})
	last := sseData(out)[len(sseData(out))-1]
	if !bytes.Contains(last, []byte(`"finish_reason":"stop"`)) || !bytes.Contains(last, []byte(`"usage":{"prompt_tokens":1`)) {
		t.Fatalf("usage did not ride on the finish chunk: %s", last)
	}
	out = e.Close(out)
	out = e.Close(out)
	if c := bytes.Count(out, []byte("[DONE]")); c != 1 {
		t.Fatalf("[DONE] sent %d times", c)
	}
}

func TestChunkEncoderErrorAfterFinishOnlyFlushesTheHeldChunk(t *testing.T) {
	e := &ChunkEncoder{ID: "g", Model: "m"}
	out := e.Event(nil, llm.StreamEvent{Kind: llm.EventText, Text: "done"})
	out = e.Event(out, llm.StreamEvent{Kind: llm.EventFinish, FinishReason: llm.FinishStop})
	out = e.Event(out, llm.StreamEvent{Kind: llm.EventError, Error: llm.UpstreamError("lost trailer", nil)})
	out = e.Close(out)
	if bytes.Contains(out, []byte(`"error"`)) {
		t.Fatalf("a finished answer got an error chunk:\n%s", out)
	}
	assertWellFormedChunks(t, out, false)
}

func TestChunkDecoderRejectsMalformedChunks(t *testing.T) {
	for _, p := range []string{`{`, `[1]`, `"x"`, ``} {
		d := &ChunkDecoder{}
		if _, err := d.Event([]byte(p)); !errors.Is(err, ErrMalformedChunk) {
			t.Errorf("Event(%q) err = %v, want ErrMalformedChunk", p, err)
		}
	}
}

func TestChunkDecoderNumbersToolCallsWithoutIndexByID(t *testing.T) {
	d := &ChunkDecoder{}
	_, evs := decodeAll(t, [][]byte{
		[]byte(`{"id":"x","choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{}"}}]}}]}`),
		[]byte(`{"id":"x","choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{"}}]}}]}`),
		[]byte(`{"id":"x","choices":[{"delta":{"tool_calls":[{"function":{"arguments":"}"}}]}}]}`),
	})
	_ = d
	var idx []int
	for _, ev := range evs {
		if ev.Kind == llm.EventToolCallStart || ev.Kind == llm.EventToolCallDelta {
			idx = append(idx, ev.Index)
		}
	}
	if want := []int{0, 0, 1, 1, 1}; !equalInts(idx, want) {
		t.Errorf("indexes = %v, want %v", idx, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// canonicalJSON marshals v and re-marshals the result, so that invalid
// UTF-8 (written as \ufffd the first time) compares equal to U+FFFD.
func canonicalJSON(v any) string {
	a, _ := json.Marshal(v)
	var x any
	if err := json.Unmarshal(a, &x); err != nil {
		return string(a)
	}
	b, _ := json.Marshal(x)
	return string(b)
}

func FuzzDecodeRequest(f *testing.F) {
	for _, in := range fixtures(f, "request", ".json") {
		b, _ := os.ReadFile(in)
		f.Add(b)
	}
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:,%zz"}}]}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"function"}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"assistant","function_call":{}}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user"}],"parallel_tool_calls":false,"tool_choice":"auto"}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user"}],"response_format":{"type":"json_schema","json_schema":{}}}`))
	f.Add([]byte("{\"model\":\"0\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"\xff\"}}]}]}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body)
		if err != nil {
			var e *llm.Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("error is not a 400 *llm.Error: %v", err)
			}
			return
		}
		enc, err := EncodeRequest(r)
		if err != nil {
			return // a raw schema that is not JSON cannot be written back
		}
		back, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("re-decoding the encoded request failed: %v\n%s", err, enc)
		}
		// What OpenAI cannot say (documented on EncodeRequest) aside, the
		// round trip keeps the request.
		r.TopK = nil
		if rs := r.Reasoning; rs != nil && rs.Effort == "" {
			return // a budget became an effort, or "disabled" was dropped
		}
		if r.Reasoning != nil {
			r.Reasoning.Adaptive = false // adaptive thinking has no OpenAI form
		}
		// ToolName is derived from the calls seen earlier; an answer to a
		// legacy function call that never appeared keeps it only once.
		for _, req := range []*llm.Request{r, back} {
			for i := range req.Messages {
				req.Messages[i].ToolName = ""
			}
		}
		if a, b := canonicalJSON(r), canonicalJSON(back); a != b {
			t.Fatalf("round trip changed the request:\n%s\n%s\nvia %s", a, b, enc)
		}
	})
}

func FuzzChunkDecoder(f *testing.F) {
	for _, in := range fixtures(f, "stream", ".sse") {
		b, _ := os.ReadFile(in)
		for _, p := range sseData(b) {
			f.Add(p)
		}
	}
	f.Add([]byte("{\"error\":{\"type\":\"\x7f\"}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &ChunkDecoder{}
		evs, err := d.Event(data)
		if err != nil {
			return
		}
		// Whatever decodes must encode to well-formed chunks.
		for _, withUsage := range []bool{false, true} {
			assertWellFormedChunks(t, encodeAll(evs, withUsage), withUsage)
		}
	})
}

func BenchmarkDecodeRequestTypicalChat(b *testing.B) {
	body, err := os.ReadFile(filepath.Join(translateDir, "request", "multi_turn_tool_results.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkEncoderTextDelta(b *testing.B) {
	e := &ChunkEncoder{ID: "gen-0123456789abcdef", Model: "claude-sonnet-4-5", Created: 1700000000}
	out := e.Event(nil, llm.StreamEvent{Kind: llm.EventStart})
	ev := llm.StreamEvent{Kind: llm.EventText, Text: " the quick brown fox"}
	b.ReportAllocs()
	for b.Loop() {
		out = e.Event(out[:0], ev)
	}
}

func TestChunkDecoderSkipsAzureEmptyOpeningChunk(t *testing.T) {
	_, evs := decodeAll(t, [][]byte{
		[]byte(`{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}`),
		[]byte(`{"id":"chatcmpl-az","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"}}]}`),
	})
	if len(evs) != 2 || evs[0].Kind != llm.EventStart || evs[0].ID != "chatcmpl-az" || evs[1].Text != "hi" {
		t.Fatalf("events = %+v", evs)
	}
}

func TestEncodeRequestDropsWhatOpenAICannotSay(t *testing.T) {
	b, err := EncodeRequest(&llm.Request{
		Model: "m",
		Messages: []llm.Message{
			{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi", CacheControl: json.RawMessage(`{"type":"ephemeral"}`)}}},
			{Role: llm.RoleAssistant, Parts: []llm.Part{
				{Type: llm.PartThinking, Text: "t", Signature: "sig"},
				{Type: llm.PartRedactedThinking, Data: "enc"},
				{Type: llm.PartText, Text: "a"},
			}},
		},
		Tools: []llm.Tool{{Name: "web_search", Raw: json.RawMessage(`{"type":"web_search_20250305","name":"web_search"}`), RawDialect: "anthropic"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, lost := range []string{"ephemeral", "sig", "enc", "web_search", "tools"} {
		if bytes.Contains(b, []byte(lost)) {
			t.Errorf("encoded request still has %q: %s", lost, b)
		}
	}
	if !bytes.Contains(b, []byte(`"reasoning_content":"t"`)) {
		t.Errorf("thinking text was not sent as reasoning_content: %s", b)
	}
}

// Redacted thinking (Anthropic's encrypted reasoning) and thinking
// signatures have no place in an OpenAI chunk: they are dropped, and the
// thinking text still arrives as reasoning_content.
func TestChunkEncoderDropsRedactedThinkingAndSignatures(t *testing.T) {
	e := &ChunkEncoder{ID: "g", Model: "m"}
	out := e.Event(nil, llm.StreamEvent{Kind: llm.EventThinking, Data: "ENCRYPTED"})
	out = e.Event(out, llm.StreamEvent{Kind: llm.EventThinking, Text: "plain"})
	out = e.Event(out, llm.StreamEvent{Kind: llm.EventThinking, Signature: "EqQB", SignatureVendor: llm.VendorAnthropic})
	out = e.Close(out)
	if bytes.Contains(out, []byte("ENCRYPTED")) || bytes.Contains(out, []byte("EqQB")) {
		t.Fatalf("redacted data or a signature reached an OpenAI client:\n%s", out)
	}
	if !bytes.Contains(out, []byte(`"reasoning_content":"plain"`)) {
		t.Fatalf("thinking text was lost:\n%s", out)
	}
}
