package fakeupstream

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	genPath    = "/v1beta/models/gemini-2.5-flash:generateContent"
	streamPath = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
	genBody    = `{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Hello there"}]},{"role":"model","parts":[{"text":"Hi you"}]},{"role":"user","parts":[{"text":"Say more"}]}]}`
	genShort   = `{"contents":[{"role":"user","parts":[{"text":"Hello there"}]}]}`
	genTools   = `"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"},"unit":{"type":"STRING"}},"required":["city","unit"]}},{"name":"other","parametersJsonSchema":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}]}]`
)

func generate(t *testing.T, s *Server, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return respond(t, s, path, body, header...)
}

type genPart struct {
	Text         *string `json:"text"`
	Thought      bool    `json:"thought"`
	FunctionCall *struct {
		Name string          `json:"name"`
		Args json.RawMessage `json:"args"`
	} `json:"functionCall"`
}

type genOut struct {
	Candidates []struct {
		Content *struct {
			Role  string    `json:"role"`
			Parts []genPart `json:"parts"`
		} `json:"content"`
		FinishReason  string            `json:"finishReason"`
		Index         *int              `json:"index"`
		SafetyRatings []json.RawMessage `json:"safetyRatings"`
	} `json:"candidates"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
	UsageMetadata *struct {
		PromptTokenCount     int  `json:"promptTokenCount"`
		CandidatesTokenCount int  `json:"candidatesTokenCount"`
		TotalTokenCount      int  `json:"totalTokenCount"`
		ThoughtsTokenCount   *int `json:"thoughtsTokenCount"`
	} `json:"usageMetadata"`
	ModelVersion string `json:"modelVersion"`
	ResponseID   string `json:"responseId"`
}

func decodeGen(t *testing.T, b []byte) genOut {
	t.Helper()
	var g genOut
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return g
}

// text is the first candidate's parts' text, thoughts left out.
func (g *genOut) text() string {
	var sb strings.Builder
	if len(g.Candidates) > 0 && g.Candidates[0].Content != nil {
		for _, p := range g.Candidates[0].Content.Parts {
			if p.Text != nil && !p.Thought {
				sb.WriteString(*p.Text)
			}
		}
	}
	return sb.String()
}

type googleErr struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type       string `json:"@type"`
			Reason     string `json:"reason"`
			RetryDelay string `json:"retryDelay"`
		} `json:"details"`
	} `json:"error"`
}

func decodeGoogleErr(t *testing.T, b []byte) googleErr {
	t.Helper()
	var e googleErr
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("decoding error %s: %v", b, err)
	}
	return e
}

// genStream posts a streamed request and returns its chunks, decoded.
func genStream(t *testing.T, s *Server, path, body string, header ...string) (*http.Response, []string, []genOut) {
	t.Helper()
	resp, raw := generate(t, s, path, body, header...)
	if !strings.HasSuffix(string(raw), "\n\n") {
		t.Errorf("stream does not end with a complete event: %q", raw)
	}
	evs, err := events(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var out []genOut
	for _, e := range evs {
		out = append(out, decodeGen(t, []byte(e)))
	}
	return resp, evs, out
}

func TestGeminiAnswer(t *testing.T) {
	s := start(t, Options{})
	resp, body := generate(t, s, genPath, genBody)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, content type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	g := decodeGen(t, body)
	if g.ModelVersion != "gemini-2.5-flash" || !strings.HasPrefix(g.ResponseID, "fake-gemini-") || g.PromptFeedback != nil {
		t.Errorf("top-level fields: %s", body)
	}
	if len(g.Candidates) != 1 {
		t.Fatalf("candidates: %s", body)
	}
	c := g.Candidates[0]
	if c.Content == nil || c.Content.Role != "model" || len(c.Content.Parts) != 1 || c.Content.Parts[0].Text == nil ||
		c.FinishReason != "STOP" || c.Index == nil || *c.Index != 0 {
		t.Fatalf("candidate: %s", body)
	}
	if text := g.text(); !strings.HasPrefix(text, "This is the fake Gemini model answering.") || len(strings.Fields(text)) != 12 {
		t.Errorf("text %q: want the fake sentence padded to 12 words", text)
	}
	// Be brief. (2) + Hello there (2) + Hi you (2) + Say more (2) + 3*4.
	if u := g.UsageMetadata; u == nil || u.PromptTokenCount != 20 || u.CandidatesTokenCount != 12 || u.TotalTokenCount != 32 || u.ThoughtsTokenCount != nil {
		t.Errorf("usage %s, want 20 + 12 = 32, no thoughts", body)
	}

	// The same under /v1, with Reply and OmitUsage.
	s.Enqueue(Behavior{Reply: "Exactly these words", OmitUsage: true})
	_, body = generate(t, s, "/v1/models/gemini-2.0-flash-001:generateContent", genShort)
	if g := decodeGen(t, body); g.text() != "Exactly these words" || g.UsageMetadata != nil || g.ModelVersion != "gemini-2.0-flash-001" {
		t.Errorf("/v1 with Reply and OmitUsage: %s", body)
	}

	// maxOutputTokens cuts the answer.
	s.Enqueue(Behavior{Words: 20})
	_, body = generate(t, s, genPath, `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":5}}`)
	if g := decodeGen(t, body); g.text() != "This is the fake Gemini" || g.Candidates[0].FinishReason != "MAX_TOKENS" || g.UsageMetadata.CandidatesTokenCount != 5 {
		t.Errorf("maxOutputTokens: %s", body)
	}

	// Bad requests are refused in Google's envelope.
	for _, bad := range []string{`{"contents":`, `{"contents":[]}`} {
		resp, body := generate(t, s, genPath, bad)
		if e := decodeGoogleErr(t, body); resp.StatusCode != 400 || e.Error.Code != 400 || e.Error.Status != "INVALID_ARGUMENT" {
			t.Errorf("%s: %d %s", bad, resp.StatusCode, body)
		}
	}
}

func TestGeminiStream(t *testing.T) {
	s := start(t, Options{Default: Behavior{Words: 4, ChunkDelay: time.Millisecond}})
	resp, raw, chunks := genStream(t, s, streamPath, genShort)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	if len(chunks) != 4 {
		t.Fatalf("%d chunks, want one per word: %q", len(chunks), raw)
	}
	var text strings.Builder
	for i, g := range chunks {
		if raw[i] == "[DONE]" {
			t.Errorf("a [DONE] sentinel")
		}
		if len(g.Candidates) != 1 || g.Candidates[0].Content == nil || g.Candidates[0].Content.Role != "model" ||
			len(g.Candidates[0].Content.Parts) != 1 || g.Candidates[0].Content.Parts[0].Text == nil ||
			g.ModelVersion != "gemini-2.5-flash" || g.ResponseID != chunks[0].ResponseID {
			t.Errorf("chunk %d: %s", i, raw[i])
		}
		last := i == len(chunks)-1
		if (g.Candidates[0].FinishReason != "") == !last || (g.UsageMetadata != nil) == !last {
			t.Errorf("chunk %d (last %v): finishReason and usageMetadata belong to the last only: %s", i, last, raw[i])
		}
		text.WriteString(g.text())
	}
	if text.String() != "This is the fake" {
		t.Errorf("streamed text %q", text.String())
	}
	last := chunks[len(chunks)-1]
	if u := last.UsageMetadata; last.Candidates[0].FinishReason != "STOP" || u.PromptTokenCount != 6 || u.CandidatesTokenCount != 4 || u.TotalTokenCount != 10 {
		t.Errorf("last chunk %s", raw[len(raw)-1])
	}

	// maxOutputTokens in a stream.
	_, _, chunks = genStream(t, s, streamPath, `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":3}}`)
	text.Reset()
	for _, g := range chunks {
		text.WriteString(g.text())
	}
	if text.String() != "This is the" || chunks[len(chunks)-1].Candidates[0].FinishReason != "MAX_TOKENS" {
		t.Errorf("cut stream: %q, %+v", text.String(), chunks[len(chunks)-1].Candidates[0])
	}

	// Without alt=sse the stream is one JSON array.
	resp, body := generate(t, s, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", genShort)
	var arr []genOut
	if err := json.Unmarshal(body, &arr); err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || len(arr) != 4 ||
		arr[3].Candidates[0].FinishReason != "STOP" || arr[3].UsageMetadata == nil {
		t.Errorf("array stream (%v): %s", err, body)
	}
}

func TestGeminiAPIKey(t *testing.T) {
	s := start(t, Options{APIKey: "g-key"})
	s.Enqueue(Behavior{Status: 503}) // must survive the refused requests
	for _, h := range [][]string{nil, {"x-goog-api-key", "wrong"}, {"Authorization", "Bearer g-key"}} {
		resp, body := generate(t, s, genPath, genShort, h...)
		e := decodeGoogleErr(t, body)
		if resp.StatusCode != 400 || e.Error.Code != 400 || e.Error.Status != "INVALID_ARGUMENT" ||
			e.Error.Message != "API key not valid. Please pass a valid API key." ||
			len(e.Error.Details) == 0 || e.Error.Details[0].Reason != "API_KEY_INVALID" {
			t.Errorf("key %q: %d %s", h, resp.StatusCode, body)
		}
	}
	if resp, body := generate(t, s, genPath+"?key=wrong", genShort); resp.StatusCode != 400 {
		t.Errorf("wrong ?key=: %d %s", resp.StatusCode, body)
	}
	if resp, body := generate(t, s, genPath, genShort, "x-goog-api-key", "g-key"); resp.StatusCode != 503 {
		t.Errorf("queued behaviour not kept for the first accepted request: %d %s", resp.StatusCode, body)
	}
	if resp, body := generate(t, s, genPath, genShort, "x-goog-api-key", "g-key"); resp.StatusCode != 200 {
		t.Errorf("header key: %d %s", resp.StatusCode, body)
	}
	if resp, body := generate(t, s, genPath+"?key=g-key", genShort); resp.StatusCode != 200 {
		t.Errorf("?key=: %d %s", resp.StatusCode, body)
	}
	if _, raw, chunks := genStream(t, s, streamPath+"&key=g-key", genShort); len(chunks) == 0 || chunks[len(chunks)-1].Candidates[0].FinishReason != "STOP" {
		t.Errorf("stream with ?alt=sse&key=: %q", raw)
	}
}

func TestGeminiFunctionCall(t *testing.T) {
	s := start(t, Options{})
	call := func(body string) (genOut, []byte) {
		t.Helper()
		resp, b := generate(t, s, genPath, body)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		return decodeGen(t, b), b
	}
	g, body := call(`{` + genTools + `,"contents":[{"role":"user","parts":[{"text":"weather?"}]}]}`)
	parts := g.Candidates[0].Content.Parts
	if len(parts) != 1 || parts[0].FunctionCall == nil || parts[0].Text != nil || parts[0].FunctionCall.Name != "get_weather" ||
		g.Candidates[0].FinishReason != "STOP" || g.Candidates[0].Content.Role != "model" {
		t.Fatalf("function call: %s", body)
	}
	var args map[string]string
	if err := json.Unmarshal(parts[0].FunctionCall.Args, &args); err != nil || len(args) != 2 || args["city"] != "fake" || args["unit"] != "fake" {
		t.Errorf("args %s (%v)", parts[0].FunctionCall.Args, err)
	}
	if u := g.UsageMetadata; u == nil || u.CandidatesTokenCount != 1 || u.TotalTokenCount != u.PromptTokenCount+1 {
		t.Errorf("usage: %s", body)
	}

	// ANY with allowedFunctionNames calls that one (parametersJsonSchema).
	g, body = call(`{` + genTools + `,"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["other"]}},"contents":[{"role":"user","parts":[{"text":"q"}]}]}`)
	if fc := g.Candidates[0].Content.Parts[0].FunctionCall; fc == nil || fc.Name != "other" || string(fc.Args) != `{"q":"fake"}` {
		t.Errorf("ANY allowed other: %s", body)
	}
	// NONE answers in text.
	g, body = call(`{` + genTools + `,"toolConfig":{"functionCallingConfig":{"mode":"NONE"}},"contents":[{"role":"user","parts":[{"text":"q"}]}]}`)
	if g.Candidates[0].Content.Parts[0].FunctionCall != nil || !strings.HasPrefix(g.text(), "This is the fake Gemini") {
		t.Errorf("NONE: %s", body)
	}
	// AUTO after a function response answers in text; ANY still calls.
	turns := `"contents":[{"role":"user","parts":[{"text":"weather?"}]},{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris","unit":"C"}}}]},{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"temp":"21"}}}]}]`
	g, body = call(`{` + genTools + `,` + turns + `}`)
	if g.Candidates[0].Content.Parts[0].FunctionCall != nil || g.text() == "" {
		t.Errorf("AUTO after functionResponse: %s", body)
	}
	g, body = call(`{` + genTools + `,"toolConfig":{"functionCallingConfig":{"mode":"ANY"}},` + turns + `}`)
	if fc := g.Candidates[0].Content.Parts[0].FunctionCall; fc == nil || fc.Name != "get_weather" {
		t.Errorf("ANY after functionResponse: %s", body)
	}
	// An allowed name that is not declared is refused.
	resp, body := generate(t, s, genPath, `{`+genTools+`,"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["nope"]}},"contents":[{"parts":[{"text":"q"}]}]}`)
	if e := decodeGoogleErr(t, body); resp.StatusCode != 400 || e.Error.Status != "INVALID_ARGUMENT" {
		t.Errorf("undeclared allowed name: %d %s", resp.StatusCode, body)
	}

	// Streamed, the call comes whole in one chunk, which ends the stream.
	_, raw, chunks := genStream(t, s, streamPath, `{`+genTools+`,"contents":[{"role":"user","parts":[{"text":"weather?"}]}]}`)
	if len(chunks) != 1 {
		t.Fatalf("%d chunks: %q", len(chunks), raw)
	}
	c := chunks[0].Candidates[0]
	if fc := c.Content.Parts[0].FunctionCall; fc == nil || fc.Name != "get_weather" || json.Unmarshal(fc.Args, &args) != nil || args["city"] != "fake" ||
		c.FinishReason != "STOP" || chunks[0].UsageMetadata == nil {
		t.Errorf("streamed call: %s", raw[0])
	}
}

func TestGeminiJSONMode(t *testing.T) {
	s := start(t, Options{})
	_, body := generate(t, s, genPath, `{"contents":[{"parts":[{"text":"q"}]}],"generationConfig":{"responseMimeType":"application/json"}}`)
	g := decodeGen(t, body)
	var plain struct {
		Answer string `json:"answer"`
	}
	if err := json.Unmarshal([]byte(g.text()), &plain); err != nil || !strings.HasPrefix(plain.Answer, "This is the fake Gemini model answering.") {
		t.Errorf("no schema: %q (%v)", g.text(), err)
	}

	_, body = generate(t, s, genPath, `{"contents":[{"parts":[{"text":"q"}]}],"generationConfig":{"responseMimeType":"application/json",
		"responseSchema":{"type":"OBJECT","properties":{"name":{"type":"STRING"},"age":{"type":"INTEGER"},"mood":{"type":"STRING","enum":["happy","sad"]},"ok":{"type":"BOOLEAN"}},"required":["name","age","mood","ok"]}}}`)
	g = decodeGen(t, body)
	if g.text() != `{"name":"fake","age":1,"mood":"happy","ok":true}` {
		t.Errorf("responseSchema: %q", g.text())
	}
	_, body = generate(t, s, genPath, `{"contents":[{"parts":[{"text":"q"}]}],"generationConfig":{"responseMimeType":"application/json",
		"responseJsonSchema":{"type":"object","properties":{"score":{"type":["number","null"]},"tags":{"type":"array"}},"required":["score","tags"]}}}`)
	g = decodeGen(t, body)
	if g.text() != `{"score":1,"tags":[]}` || g.UsageMetadata.CandidatesTokenCount != 1 {
		t.Errorf("responseJsonSchema: %s", body)
	}

	// Streamed, the pieces join into the JSON text.
	_, _, chunks := genStream(t, s, streamPath, `{"contents":[{"parts":[{"text":"q"}]}],"generationConfig":{"responseMimeType":"application/json"}}`)
	var text strings.Builder
	for _, c := range chunks {
		text.WriteString(c.text())
	}
	if err := json.Unmarshal([]byte(text.String()), &plain); err != nil || len(chunks) < 2 {
		t.Errorf("streamed JSON %q in %d chunks (%v)", text.String(), len(chunks), err)
	}
}

func TestGeminiThoughts(t *testing.T) {
	s := start(t, Options{})
	think := `{"contents":[{"parts":[{"text":"Hello there"}]}],"generationConfig":{"thinkingConfig":{"includeThoughts":true%s}}}`
	_, body := generate(t, s, genPath, strings.Replace(think, "%s", "", 1))
	g := decodeGen(t, body)
	parts := g.Candidates[0].Content.Parts
	if len(parts) != 2 || !parts[0].Thought || parts[0].Text == nil || *parts[0].Text == "" || parts[1].Thought || !strings.HasPrefix(*parts[1].Text, "This is the fake") {
		t.Fatalf("parts: %s", body)
	}
	thoughts := len(strings.Fields(*parts[0].Text))
	if u := g.UsageMetadata; u.ThoughtsTokenCount == nil || *u.ThoughtsTokenCount != thoughts || u.CandidatesTokenCount != 12 ||
		u.TotalTokenCount != u.PromptTokenCount+12+thoughts {
		t.Errorf("usage with %d thought words: %s", thoughts, body)
	}

	_, body = generate(t, s, genPath, strings.Replace(think, "%s", `,"thinkingBudget":3`, 1))
	if g := decodeGen(t, body); len(strings.Fields(*g.Candidates[0].Content.Parts[0].Text)) != 3 || *g.UsageMetadata.ThoughtsTokenCount != 3 {
		t.Errorf("budget 3: %s", body)
	}
	_, body = generate(t, s, genPath, strings.Replace(think, "%s", `,"thinkingBudget":0`, 1))
	if g := decodeGen(t, body); len(g.Candidates[0].Content.Parts) != 1 || g.UsageMetadata.ThoughtsTokenCount != nil {
		t.Errorf("budget 0: %s", body)
	}

	// Streamed, the thought comes first, in its own chunk.
	_, raw, chunks := genStream(t, s, streamPath, strings.Replace(think, "%s", "", 1))
	if p := chunks[0].Candidates[0].Content.Parts; len(p) != 1 || !p[0].Thought || len(chunks) != 13 {
		t.Errorf("first chunk %s of %d", raw[0], len(chunks))
	}
	if u := chunks[len(chunks)-1].UsageMetadata; u == nil || u.ThoughtsTokenCount == nil || *u.ThoughtsTokenCount != thoughts {
		t.Errorf("last chunk %s", raw[len(raw)-1])
	}
}

func TestGeminiSafetyBlocks(t *testing.T) {
	s := start(t, Options{})
	s.Enqueue(Behavior{Blocked: "prompt"})
	resp, body := generate(t, s, genPath, genShort)
	g := decodeGen(t, body)
	if resp.StatusCode != 200 || g.PromptFeedback == nil || g.PromptFeedback.BlockReason != "SAFETY" || strings.Contains(string(body), `"candidates"`) ||
		g.UsageMetadata == nil || g.UsageMetadata.PromptTokenCount != 6 || g.UsageMetadata.CandidatesTokenCount != 0 {
		t.Errorf("blocked prompt: %d %s", resp.StatusCode, body)
	}

	s.Enqueue(Behavior{Blocked: "response"})
	_, body = generate(t, s, genPath, genShort)
	g = decodeGen(t, body)
	if len(g.Candidates) != 1 || g.Candidates[0].FinishReason != "SAFETY" || g.Candidates[0].Content != nil || len(g.Candidates[0].SafetyRatings) == 0 {
		t.Errorf("blocked response: %s", body)
	}

	s.Enqueue(Behavior{Blocked: "prompt"})
	_, raw, chunks := genStream(t, s, streamPath, genShort)
	if len(chunks) != 1 || chunks[0].PromptFeedback == nil || chunks[0].PromptFeedback.BlockReason != "SAFETY" || len(chunks[0].Candidates) != 0 {
		t.Errorf("blocked prompt stream: %q", raw)
	}
	s.Enqueue(Behavior{Blocked: "response", Words: 4})
	_, raw, chunks = genStream(t, s, streamPath, genShort)
	if len(chunks) != 3 || chunks[0].text()+chunks[1].text() != "This is " {
		t.Fatalf("blocked response stream: %q", raw)
	}
	if c := chunks[2].Candidates[0]; c.FinishReason != "SAFETY" || c.Content != nil || chunks[2].UsageMetadata.CandidatesTokenCount != 2 {
		t.Errorf("last chunk %s", raw[2])
	}
}

func TestGeminiStatusFaults(t *testing.T) {
	tests := []struct {
		status int
		grpc   string
	}{
		{400, "INVALID_ARGUMENT"},
		{401, "UNAUTHENTICATED"},
		{403, "PERMISSION_DENIED"},
		{404, "NOT_FOUND"},
		{429, "RESOURCE_EXHAUSTED"},
		{500, "INTERNAL"},
		{503, "UNAVAILABLE"},
		{504, "DEADLINE_EXCEEDED"},
	}
	s := start(t, Options{})
	for _, tt := range tests {
		for _, path := range []string{genPath, streamPath} {
			s.Enqueue(Behavior{Status: tt.status, Message: "boom", RetryAfter: "2"})
			resp, body := generate(t, s, path, genShort)
			e := decodeGoogleErr(t, body)
			if resp.StatusCode != tt.status || e.Error.Code != tt.status || e.Error.Status != tt.grpc || e.Error.Message != "boom" ||
				resp.Header.Get("Retry-After") != "2" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%s status %d: got %d %s (Retry-After %q)", path, tt.status, resp.StatusCode, body, resp.Header.Get("Retry-After"))
			}
			if tt.status == 429 && (len(e.Error.Details) != 1 || e.Error.Details[0].Type != "type.googleapis.com/google.rpc.RetryInfo" || e.Error.Details[0].RetryDelay != "2s") {
				t.Errorf("429 details: %s", body)
			}
		}
	}
	s.Enqueue(Behavior{Status: 429, ErrorType: "CUSTOM"})
	_, body := generate(t, s, genPath, genShort)
	if e := decodeGoogleErr(t, body); e.Error.Status != "CUSTOM" || e.Error.Message != "fake upstream error 429" || len(e.Error.Details) != 0 {
		t.Errorf("explicit status: %s", body)
	}
}

func TestGeminiConnectionFaults(t *testing.T) {
	s := start(t, Options{})
	c := client(t)

	s.Enqueue(Behavior{DropBeforeHeaders: true})
	if resp, err := post(t, context.Background(), c, s.URL+genPath, genShort); err == nil {
		resp.Body.Close()
		t.Errorf("DropBeforeHeaders: got status %d", resp.StatusCode)
	}

	s.Enqueue(Behavior{FirstByteDelay: 50 * time.Millisecond})
	t0 := time.Now()
	if resp, _ := generate(t, s, genPath, genShort); resp.StatusCode != 200 || time.Since(t0) < 50*time.Millisecond {
		t.Errorf("FirstByteDelay: status %d after %v", resp.StatusCode, time.Since(t0))
	}

	s.Enqueue(Behavior{DropAfterChunks: 4})
	resp, err := post(t, context.Background(), c, s.URL+streamPath, genShort)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := events(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(evs) != 4 {
		t.Errorf("DropAfterChunks: %v, events %q", err, evs)
	}
	for _, e := range evs {
		if g := decodeGen(t, []byte(e)); g.Candidates[0].FinishReason != "" {
			t.Errorf("a finished chunk before the drop: %s", e)
		}
	}
	if s.Last().Canceled {
		t.Error("a dropped connection was recorded as the client's cancellation")
	}

	s.Enqueue(Behavior{MalformedJSON: true})
	resp2, body := generate(t, s, genPath, genShort)
	if resp2.StatusCode != 200 || json.Valid(body) {
		t.Errorf("MalformedJSON whole: %d %s", resp2.StatusCode, body)
	}
	s.Enqueue(Behavior{MalformedJSON: true, Words: 3})
	_, body = generate(t, s, streamPath, genShort)
	evs, err = events(strings.NewReader(string(body)))
	if err != nil || len(evs) != 4 || evs[1] != "{not json" || !json.Valid([]byte(evs[0])) || !json.Valid([]byte(evs[2])) {
		t.Fatalf("MalformedJSON stream: %v %q", err, evs)
	}
	if g := decodeGen(t, []byte(evs[3])); g.Candidates[0].FinishReason != "STOP" {
		t.Errorf("the stream did not go on after the bad event: %q", evs)
	}

	// A client that gives up on a slow stream is recorded as cancelled.
	s.Reset()
	s.Enqueue(Behavior{ChunkDelay: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err = post(t, ctx, c, s.URL+streamPath, genShort)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 1))
	cancel()
	resp.Body.Close()
	if !s.WaitCanceled(0, 2*time.Second) {
		t.Error("the client's cancellation was not recorded")
	}
}

func TestGeminiRequestsAreRecorded(t *testing.T) {
	s := start(t, Options{})
	generate(t, s, genPath+"?key=k", genBody, "x-goog-api-key", "h")
	chat(t, s, chatBody)
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests recorded", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != genPath || r.RawQuery != "key=k" || string(r.Body) != genBody ||
		r.Header.Get("x-goog-api-key") != "h" || r.Canceled || r.Model() != "gemini-2.5-flash" {
		t.Errorf("recorded %+v (model %q)", r, r.Model())
	}
	if reqs[1].Path != "/v1/chat/completions" || reqs[1].Model() != "gpt-4o" {
		t.Errorf("second request %q, model %q", reqs[1].Path, reqs[1].Model())
	}

	// A path prefixed by a base (as a gateway may configure it) is Gemini's too.
	_, body := generate(t, s, "/gemini/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", genShort)
	if !strings.HasPrefix(string(body), "data: {") {
		t.Errorf("prefixed path: %s", body)
	}
	if m := s.Last().Model(); m != "gemini-2.5-pro" {
		t.Errorf("prefixed model %q", m)
	}

	// Other /v1beta paths are Gemini's, and not found; OpenAI keeps its
	// model paths, colons and all.
	resp, body := generate(t, s, "/v1beta/models/gemini-2.5-flash:countTokens", genShort)
	if e := decodeGoogleErr(t, body); resp.StatusCode != 404 || e.Error.Status != "NOT_FOUND" {
		t.Errorf("unknown method: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/models/ft:gpt-4o:acme:1", nil)
	resp, err := client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var oe errorEnvelope
	if json.Unmarshal(body, &oe) != nil || oe.Error.Type == "" {
		t.Errorf("OpenAI model path answered %d %s", resp.StatusCode, body)
	}
}
