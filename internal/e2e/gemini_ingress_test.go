package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// geminiIngressConfig is baseConfig without the catch-all route, so that an
// unknown model is the gateway's own 404.
const geminiIngressConfig = `
server:
  sse_keepalive: ${KEEPALIVE:-15s}
providers:
  - name: fake
    type: openai
    base_url: ${FAKE_URL}/v1
    api_key: ${FAKE_KEY}
    timeout: 10s
    pricing: { prompt: 1.00, completion: 2.00 }
models:
  - id: gpt-4o
    pricing: { prompt: 2.50, completion: 10.00 }
    routes:
      - { provider: fake, model: gpt-4o-2024-08-06 }
  - id: "fake-*"
    routes: [{ provider: fake }]
`

func startGemini(t *testing.T, up fakeOpts) *gateway {
	t.Helper()
	return start(t, opts{yaml: geminiIngressConfig, up: up})
}

// genaiClient is the official Google Gen AI Go SDK pointed at the gateway.
// With an explicit API key, backend and base URL it reads no environment
// and no Application Default Credentials, and it retries nothing unless
// HTTPOptions.RetryOptions asks it to: each test sees one attempt. It sends
// the key as the x-goog-api-key header.
func (g *gateway) genaiClient(t *testing.T, key, version string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey:      key,
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: g.URL, APIVersion: version},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (g *gateway) gemini(t *testing.T) *genai.Client { return g.genaiClient(t, g.Key, "v1beta") }

// postGemini sends a raw Gemini request; the caller closes the body.
func (g *gateway) postGemini(t *testing.T, path string, header http.Header, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func googKey(key string) http.Header { return http.Header{"X-Goog-Api-Key": {key}} }

// googleEnvelope is Google's error body: exactly {"error":{code,message,status}}.
type googleEnvelope struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

// checkGoogleEnvelope reads an error answer and checks it is Google's
// envelope with the HTTP status as its code.
func checkGoogleEnvelope(t *testing.T, resp *http.Response, status int, grpc string) googleEnvelope {
	t.Helper()
	body := readAll(t, resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q for an error", ct)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &top); err != nil || len(top) != 1 || top["error"] == nil {
		t.Fatalf("not Google's error envelope: %s", body)
	}
	var e googleEnvelope
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatal(err)
	}
	if e.Error.Code != status || e.Error.Status != grpc || e.Error.Message == "" {
		t.Fatalf("envelope %s, want code %d status %s and a message", body, status, grpc)
	}
	return e
}

// wantGenaiError checks err is the SDK's APIError with code and status.
func wantGenaiError(t *testing.T, err error, code int, status string) genai.APIError {
	t.Helper()
	var e genai.APIError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want a genai.APIError %d %s", err, err, code, status)
	}
	if e.Code != code || e.Status != status || e.Message == "" {
		t.Fatalf("APIError %+v, want %d %s and a message", e, code, status)
	}
	return e
}

// settle waits until the gateway has finished the requests with these
// generation ids (each ends with its "generation" log line), then writes
// the ledger. A client can hold the whole answer before the gateway's
// bookkeeping is done: the first estimate of missing usage loads a
// tokenizer, which takes a while.
func (g *gateway) settle(t *testing.T, ids ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for !strings.Contains(g.Logs.String(), `"id":"`+id+`"`) {
			if time.Now().After(deadline) {
				t.Fatalf("generation %q was never finished:\n%s", id, g.Logs.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	g.flush(t)
}

func userContent(s string) []*genai.Content { return genai.Text(s) }

// mustNotLeak fails if a key crossed to the side it does not belong on.
func mustNotLeak(t *testing.T, g *gateway, secrets ...string) {
	t.Helper()
	for _, up := range g.Up.Requests() {
		for name, v := range up.Header {
			if strings.Contains(strings.Join(v, ","), g.Key) {
				t.Fatalf("the client's key reached the upstream in %s", name)
			}
		}
		if strings.Contains(up.RawQuery, g.Key) || strings.Contains(string(up.Body), g.Key) {
			t.Fatal("the client's key reached the upstream")
		}
		if up.Header.Get("X-Goog-Api-Key") != "" {
			t.Fatal("x-goog-api-key sent to an OpenAI-format upstream")
		}
	}
	for _, s := range secrets {
		if strings.Contains(g.Logs.String(), s) {
			t.Fatalf("secret %q in the logs", s)
		}
	}
}

// upstreamJSON decodes the last upstream body as a generic map.
func upstreamJSON(t *testing.T, g *gateway) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(g.Up.Last().Body, &m); err != nil {
		t.Fatalf("upstream body %s: %v", g.Up.Last().Body, err)
	}
	return m
}

func TestGeminiIngressGenerateContent(t *testing.T) {
	g := startGemini(t, fakeOpts{Default: fakeBehavior{Reply: "Hello from the gateway"}})
	budget := int32(1024)
	resp, err := g.gemini(t).Models.GenerateContent(context.Background(), "gpt-4o", userContent("Say hello"), &genai.GenerateContentConfig{
		SystemInstruction: genai.NewContentFromText("Be brief.", genai.RoleUser),
		Temperature:       genai.Ptr[float32](0.5),
		TopP:              genai.Ptr[float32](0.25),
		MaxOutputTokens:   64,
		StopSequences:     []string{"STOP!"},
		ThinkingConfig:    &genai.ThinkingConfig{ThinkingBudget: &budget, IncludeThoughts: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Text(); got != "Hello from the gateway" {
		t.Fatalf("text %q", got)
	}
	if len(resp.Candidates) != 1 || resp.Candidates[0].FinishReason != genai.FinishReasonStop || resp.Candidates[0].Content.Role != genai.RoleModel {
		t.Fatalf("candidates %+v", resp.Candidates)
	}
	u := resp.UsageMetadata
	if u == nil || u.PromptTokenCount <= 0 || u.CandidatesTokenCount <= 0 || u.TotalTokenCount != u.PromptTokenCount+u.CandidatesTokenCount {
		t.Fatalf("usageMetadata %+v", u)
	}
	if resp.ModelVersion != "gpt-4o" || !strings.HasPrefix(resp.ResponseID, "gen-") {
		t.Fatalf("modelVersion %q responseId %q", resp.ModelVersion, resp.ResponseID)
	}
	if resp.SDKHTTPResponse == nil || resp.SDKHTTPResponse.Headers.Get("X-Generation-Id") != resp.ResponseID {
		t.Fatalf("responseId %q is not the X-Generation-Id", resp.ResponseID)
	}

	// What reached the provider is a correct OpenAI chat request.
	up := g.Up.Last()
	if up.Method != http.MethodPost || up.Path != "/v1/chat/completions" || up.Header.Get("Authorization") != "Bearer "+upstreamKey {
		t.Fatalf("upstream %s %s auth %q", up.Method, up.Path, up.Header.Get("Authorization"))
	}
	b := upstreamOpenAI(t, g)
	if b.Model != "gpt-4o-2024-08-06" || b.Stream {
		t.Fatalf("upstream model %q stream %v", b.Model, b.Stream)
	}
	if b.MaxTokens != 64 && b.MaxCompletionTokens != 64 {
		t.Fatalf("maxOutputTokens lost: max_tokens %d max_completion_tokens %d", b.MaxTokens, b.MaxCompletionTokens)
	}
	if len(b.Messages) != 2 || b.Messages[0].Role != "system" || contentText(t, b.Messages[0].Content) != "Be brief." ||
		b.Messages[1].Role != "user" || contentText(t, b.Messages[1].Content) != "Say hello" {
		t.Fatalf("upstream messages %s", up.Body)
	}
	m := upstreamJSON(t, g)
	if m["temperature"] != 0.5 || m["top_p"] != 0.25 || !reflect.DeepEqual(m["stop"], []any{"STOP!"}) {
		t.Fatalf("sampling parameters lost: %s", up.Body)
	}
	if m["reasoning_effort"] != "low" {
		t.Fatalf("thinkingBudget 1024 should become reasoning_effort low: %s", up.Body)
	}
	for _, k := range []string{"contents", "generationConfig", "systemInstruction", "top_k"} {
		if _, ok := m[k]; ok {
			t.Fatalf("Gemini or unsupported field %q sent to an OpenAI upstream: %s", k, up.Body)
		}
	}
	mustNotLeak(t, g, g.Key, upstreamKey)

	g.settle(t, resp.ResponseID)
	gen, err := g.Store.GetGeneration(context.Background(), resp.ResponseID)
	if err != nil {
		t.Fatal(err)
	}
	if gen.Status != 200 || gen.Model != "gpt-4o" || gen.UpstreamModel != "gpt-4o-2024-08-06" || gen.Streamed || gen.ErrorCode != "" ||
		gen.TokensPrompt != int64(u.PromptTokenCount) || gen.TokensCompletion != int64(u.CandidatesTokenCount) || gen.FinishReason != "stop" {
		t.Fatalf("generation %+v", gen)
	}
}

func TestGeminiIngressStreamGenerateContent(t *testing.T) {
	const reply = "one two three four five six"
	g := startGemini(t, fakeOpts{Default: fakeBehavior{Reply: reply}})
	var text strings.Builder
	var chunks []*genai.GenerateContentResponse
	for ch, err := range g.gemini(t).Models.GenerateContentStream(context.Background(), "gpt-4o", userContent("count"), &genai.GenerateContentConfig{MaxOutputTokens: 100}) {
		if err != nil {
			t.Fatalf("stream error after %d chunks: %v", len(chunks), err)
		}
		chunks = append(chunks, ch)
		text.WriteString(ch.Text())
	}
	if text.String() != reply {
		t.Fatalf("streamed text %q, want %q", text.String(), reply)
	}
	if len(chunks) < 3 {
		t.Fatalf("%d chunks: the answer was not streamed", len(chunks))
	}
	last := chunks[len(chunks)-1]
	if len(last.Candidates) == 0 || last.Candidates[0].FinishReason != genai.FinishReasonStop {
		t.Fatalf("last chunk has no finishReason STOP: %+v", last.Candidates)
	}
	u := last.UsageMetadata
	if u == nil || u.PromptTokenCount <= 0 || u.CandidatesTokenCount <= 0 || u.TotalTokenCount != u.PromptTokenCount+u.CandidatesTokenCount {
		t.Fatalf("last chunk usageMetadata %+v", u)
	}
	for i, ch := range chunks[:len(chunks)-1] {
		if len(ch.Candidates) > 0 && ch.Candidates[0].FinishReason != "" {
			t.Fatalf("chunk %d of %d already has finishReason %q", i, len(chunks), ch.Candidates[0].FinishReason)
		}
		if ch.ResponseID != last.ResponseID {
			t.Fatalf("chunk %d responseId %q, last %q", i, ch.ResponseID, last.ResponseID)
		}
	}
	if !strings.HasPrefix(last.ResponseID, "gen-") || last.ModelVersion != "gpt-4o" {
		t.Fatalf("responseId %q modelVersion %q", last.ResponseID, last.ModelVersion)
	}

	b := upstreamOpenAI(t, g)
	if !b.Stream || b.StreamOptions == nil || !b.StreamOptions.IncludeUsage || b.Model != "gpt-4o-2024-08-06" {
		t.Fatalf("upstream stream request %s", g.Up.Last().Body)
	}
	mustNotLeak(t, g, g.Key, upstreamKey)

	g.settle(t, last.ResponseID)
	gen, err := g.Store.GetGeneration(context.Background(), last.ResponseID)
	if err != nil {
		t.Fatal(err)
	}
	if !gen.Streamed || gen.Status != 200 || gen.ErrorCode != "" || gen.TokensCompletion != int64(u.CandidatesTokenCount) || gen.FinishReason != "stop" {
		t.Fatalf("generation %+v", gen)
	}
}

// TestGeminiStreamRaw reads the SSE wire: data-only events that each hold
// a GenerateContentResponse, and nothing an SSE parser must skip.
func TestGeminiIngressStreamRaw(t *testing.T) {
	g := startGemini(t, fakeOpts{Default: fakeBehavior{Reply: "a b c"}})
	resp := g.postGemini(t, "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse", googKey(g.Key), `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	data, comments := sseEvents(t, resp)
	if comments != 0 || len(data) < 2 {
		t.Fatalf("events %q, %d comments", data, comments)
	}
	var text strings.Builder
	for i, d := range data {
		var ch struct {
			Candidates []struct {
				Content *struct {
					Role  string `json:"role"`
					Parts []struct {
						Text string `json:"text"`
					} `json:"parts"`
				} `json:"content"`
				FinishReason string `json:"finishReason"`
			} `json:"candidates"`
			UsageMetadata *struct {
				TotalTokenCount int `json:"totalTokenCount"`
			} `json:"usageMetadata"`
		}
		if err := json.Unmarshal([]byte(d), &ch); err != nil || len(ch.Candidates) != 1 {
			t.Fatalf("event %d is not a GenerateContentResponse: %s", i, d)
		}
		if c := ch.Candidates[0].Content; c != nil {
			for _, p := range c.Parts {
				text.WriteString(p.Text)
			}
		}
		if i == len(data)-1 && (ch.Candidates[0].FinishReason != "STOP" || ch.UsageMetadata == nil || ch.UsageMetadata.TotalTokenCount == 0) {
			t.Fatalf("last event %s", d)
		}
	}
	if text.String() != "a b c" {
		t.Fatalf("text %q", text.String())
	}
}

// weatherDecl is a function whose required parameters make the fake's
// arguments long enough to stream in many deltas.
func weatherDecl() *genai.Tool {
	return &genai.Tool{FunctionDeclarations: []*genai.FunctionDeclaration{{
		Name:        "get_weather",
		Description: "Get the weather for a city",
		Parameters: &genai.Schema{
			Type: genai.TypeObject,
			Properties: map[string]*genai.Schema{
				"city":    {Type: genai.TypeString, Description: "City name"},
				"country": {Type: genai.TypeString},
				"unit":    {Type: genai.TypeString, Enum: []string{"celsius", "fahrenheit"}},
			},
			Required: []string{"city", "country", "unit"},
		},
	}}}
}

var wantWeatherArgs = map[string]any{"city": "mock", "country": "mock", "unit": "celsius"}

func checkWeatherCall(t *testing.T, calls []*genai.FunctionCall) *genai.FunctionCall {
	t.Helper()
	if len(calls) != 1 || calls[0].Name != "get_weather" || !reflect.DeepEqual(calls[0].Args, wantWeatherArgs) {
		b, _ := json.Marshal(calls)
		t.Fatalf("function calls %s, want one get_weather with %v", b, wantWeatherArgs)
	}
	return calls[0]
}

func TestGeminiIngressFunctionCalling(t *testing.T) {
	g := startGemini(t, fakeOpts{})
	c := g.gemini(t)
	ctx := context.Background()
	cfg := &genai.GenerateContentConfig{
		Tools: []*genai.Tool{weatherDecl()},
		ToolConfig: &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{
			Mode: genai.FunctionCallingConfigModeAny, AllowedFunctionNames: []string{"get_weather"},
		}},
	}
	prompt := userContent("What is the weather in Paris?")
	resp, err := c.Models.GenerateContent(ctx, "gpt-4o", prompt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	call := checkWeatherCall(t, resp.FunctionCalls())
	if resp.Candidates[0].FinishReason != genai.FinishReasonStop || resp.Text() != "" {
		t.Fatalf("finishReason %q text %q: Gemini ends a function call with STOP", resp.Candidates[0].FinishReason, resp.Text())
	}
	if resp.UsageMetadata == nil || resp.UsageMetadata.CandidatesTokenCount == 0 {
		t.Fatalf("usage %+v", resp.UsageMetadata)
	}

	// The upstream got the declaration as an OpenAI function tool with a
	// JSON Schema, and the forced choice.
	b := upstreamOpenAI(t, g)
	if len(b.Tools) != 1 || b.Tools[0].Type != "function" || b.Tools[0].Function.Name != "get_weather" || b.Tools[0].Function.Description != "Get the weather for a city" {
		t.Fatalf("upstream tools %s", g.Up.Last().Body)
	}
	var params struct {
		Type       string `json:"type"`
		Properties map[string]struct {
			Type string   `json:"type"`
			Enum []string `json:"enum"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(b.Tools[0].Function.Parameters, &params); err != nil || params.Type != "object" ||
		params.Properties["city"].Type != "string" || len(params.Properties["unit"].Enum) != 2 || len(params.Required) != 3 {
		t.Fatalf("upstream parameters %s: want JSON Schema (lower-case types)", b.Tools[0].Function.Parameters)
	}
	if tc, _ := json.Marshal(upstreamJSON(t, g)["tool_choice"]); string(tc) != `{"function":{"name":"get_weather"},"type":"function"}` {
		t.Fatalf("upstream tool_choice %s", tc)
	}

	// Streaming: the fake splits the arguments over many deltas; the SDK
	// still sees one whole functionCall part.
	var calls []*genai.FunctionCall
	var last *genai.GenerateContentResponse
	for ch, err := range c.Models.GenerateContentStream(ctx, "gpt-4o", prompt, cfg) {
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, ch.FunctionCalls()...)
		last = ch
	}
	scall := checkWeatherCall(t, calls)
	if last.Candidates[0].FinishReason != genai.FinishReasonStop || last.UsageMetadata == nil {
		t.Fatalf("last chunk %+v", last)
	}
	if scall.ID != call.ID {
		t.Fatalf("streamed call id %q, whole %q", scall.ID, call.ID)
	}

	// The result goes back as the SDK builds it: the model's turn as it
	// came, then a functionResponse part.
	history := append(prompt, resp.Candidates[0].Content,
		genai.NewContentFromFunctionResponse("get_weather", map[string]any{"temperature": 21, "sky": "clear"}, genai.RoleUser))
	history[len(history)-1].Parts[0].FunctionResponse.ID = call.ID
	final, err := c.Models.GenerateContent(ctx, "gpt-4o", history, &genai.GenerateContentConfig{Tools: []*genai.Tool{weatherDecl()}})
	if err != nil {
		t.Fatal(err)
	}
	if final.Text() == "" || len(final.FunctionCalls()) != 0 {
		t.Fatalf("after the tool result the fake answers in text; got %+v", final.Candidates[0].Content)
	}
	checkToolRoundTrip(t, g, call.ID)

	// Without ids (as older Gemini clients send them), the result is
	// matched to its call by name.
	history[1] = &genai.Content{Role: genai.RoleModel, Parts: []*genai.Part{{FunctionCall: &genai.FunctionCall{Name: "get_weather", Args: wantWeatherArgs}}}}
	history[2].Parts[0].FunctionResponse.ID = ""
	if _, err := c.Models.GenerateContent(ctx, "gpt-4o", history, &genai.GenerateContentConfig{Tools: []*genai.Tool{weatherDecl()}}); err != nil {
		t.Fatal(err)
	}
	checkToolRoundTrip(t, g, "")
}

// checkToolRoundTrip checks the last upstream request carried the call
// and its result as OpenAI messages with matching ids.
func checkToolRoundTrip(t *testing.T, g *gateway, wantID string) {
	t.Helper()
	b := upstreamOpenAI(t, g)
	if len(b.Messages) != 3 || b.Messages[0].Role != "user" || b.Messages[1].Role != "assistant" || b.Messages[2].Role != "tool" {
		t.Fatalf("upstream messages %s", g.Up.Last().Body)
	}
	tc := b.Messages[1].ToolCalls
	if len(tc) != 1 || tc[0].Type != "function" || tc[0].Function.Name != "get_weather" || tc[0].ID == "" {
		t.Fatalf("assistant tool_calls %s", g.Up.Last().Body)
	}
	var args map[string]any
	if err := json.Unmarshal([]byte(tc[0].Function.Arguments), &args); err != nil || !reflect.DeepEqual(args, wantWeatherArgs) {
		t.Fatalf("tool call arguments %q", tc[0].Function.Arguments)
	}
	if wantID != "" && tc[0].ID != wantID {
		t.Fatalf("tool call id %q, want the SDK's %q", tc[0].ID, wantID)
	}
	if b.Messages[2].ToolCallID != tc[0].ID {
		t.Fatalf("tool message tool_call_id %q, call id %q", b.Messages[2].ToolCallID, tc[0].ID)
	}
	var result map[string]any
	if err := json.Unmarshal([]byte(contentText(t, b.Messages[2].Content)), &result); err != nil || result["temperature"] != 21.0 || result["sky"] != "clear" {
		t.Fatalf("tool message content %s", b.Messages[2].Content)
	}
}

func TestGeminiIngressJSONSchemaOutput(t *testing.T) {
	const answer = `{"answer":"yes","confidence":0.9}`
	g := startGemini(t, fakeOpts{Default: fakeBehavior{Reply: answer}})
	c := g.gemini(t)
	type out struct {
		Answer     string  `json:"answer"`
		Confidence float64 `json:"confidence"`
	}
	check := func(t *testing.T, text string, wantFormat string) map[string]any {
		t.Helper()
		var o out
		if err := json.Unmarshal([]byte(text), &o); err != nil || o.Answer != "yes" {
			t.Fatalf("answer %q does not parse: %v", text, err)
		}
		rf, _ := upstreamJSON(t, g)["response_format"].(map[string]any)
		if rf["type"] != wantFormat {
			t.Fatalf("upstream response_format %v, want %s", rf, wantFormat)
		}
		js, _ := rf["json_schema"].(map[string]any)
		return js
	}
	checkSchema := func(t *testing.T, js map[string]any) {
		t.Helper()
		s, _ := js["schema"].(map[string]any)
		props, _ := s["properties"].(map[string]any)
		answer, _ := props["answer"].(map[string]any)
		conf, _ := props["confidence"].(map[string]any)
		if js["name"] == "" || s["type"] != "object" || answer["type"] != "string" || conf["type"] != "number" || !reflect.DeepEqual(s["required"], []any{"answer"}) {
			t.Fatalf("upstream json_schema %v", js)
		}
	}

	t.Run("responseSchema", func(t *testing.T) {
		resp, err := c.Models.GenerateContent(context.Background(), "gpt-4o", userContent("Is it?"), &genai.GenerateContentConfig{
			ResponseMIMEType: "application/json",
			ResponseSchema: &genai.Schema{
				Type: genai.TypeObject,
				Properties: map[string]*genai.Schema{
					"answer":     {Type: genai.TypeString},
					"confidence": {Type: genai.TypeNumber},
				},
				Required: []string{"answer"},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkSchema(t, check(t, resp.Text(), "json_schema"))
	})
	t.Run("responseJsonSchema stream", func(t *testing.T) {
		var text strings.Builder
		for ch, err := range c.Models.GenerateContentStream(context.Background(), "gpt-4o", userContent("Is it?"), &genai.GenerateContentConfig{
			ResponseMIMEType: "application/json",
			ResponseJsonSchema: map[string]any{
				"type":       "object",
				"properties": map[string]any{"answer": map[string]any{"type": "string"}, "confidence": map[string]any{"type": "number"}},
				"required":   []string{"answer"},
			},
		}) {
			if err != nil {
				t.Fatal(err)
			}
			text.WriteString(ch.Text())
		}
		checkSchema(t, check(t, text.String(), "json_schema"))
	})
	t.Run("json mode", func(t *testing.T) {
		resp, err := c.Models.GenerateContent(context.Background(), "gpt-4o", userContent("Is it?"), &genai.GenerateContentConfig{ResponseMIMEType: "application/json"})
		if err != nil {
			t.Fatal(err)
		}
		check(t, resp.Text(), "json_object")
	})
}

func TestGeminiIngressClientErrors(t *testing.T) {
	g := startGemini(t, fakeOpts{})
	ctx := context.Background()
	body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`

	// A wrong key, through the SDK and on the wire.
	_, err := g.genaiClient(t, "sk-sy-v1-0000000000000000000000000000000000000000000000000000000000000000", "v1beta").
		Models.GenerateContent(ctx, "gpt-4o", userContent("hi"), nil)
	wantGenaiError(t, err, 401, "UNAUTHENTICATED")
	resp := g.postGemini(t, "/v1beta/models/gpt-4o:generateContent", googKey("sk-sy-wrong"), body)
	checkGoogleEnvelope(t, resp, 401, "UNAUTHENTICATED")
	resp.Body.Close()
	resp = g.postGemini(t, "/v1beta/models/gpt-4o:generateContent?key=sk-sy-wrong", nil, body)
	checkGoogleEnvelope(t, resp, 401, "UNAUTHENTICATED")
	resp.Body.Close()

	// No key at all: the message says how Google's SDKs send one.
	resp = g.postGemini(t, "/v1beta/models/gpt-4o:generateContent", nil, body)
	e := checkGoogleEnvelope(t, resp, 401, "UNAUTHENTICATED")
	resp.Body.Close()
	if !strings.Contains(e.Error.Message, "x-goog-api-key") {
		t.Fatalf("missing-key message %q does not say where the key goes", e.Error.Message)
	}

	// An unknown model is the gateway's own 404.
	_, err = g.gemini(t).Models.GenerateContent(ctx, "no-such-model", userContent("hi"), nil)
	wantGenaiError(t, err, 404, "NOT_FOUND")
	var streamErr error
	for ch, err := range g.gemini(t).Models.GenerateContentStream(ctx, "no-such-model", userContent("hi"), nil) {
		if err == nil {
			t.Fatalf("a chunk for an unknown model: %+v", ch)
		}
		streamErr = err
		break
	}
	wantGenaiError(t, streamErr, 404, "NOT_FOUND")
	resp = g.postGemini(t, "/v1beta/models/no-such-model:generateContent", googKey(g.Key), body)
	checkGoogleEnvelope(t, resp, 404, "NOT_FOUND")
	resp.Body.Close()

	// An unknown method on a model is a Gemini-shaped 404 too.
	resp = g.postGemini(t, "/v1beta/models/gpt-4o:embedEverything", googKey(g.Key), body)
	checkGoogleEnvelope(t, resp, 404, "NOT_FOUND")
	resp.Body.Close()

	// Bad bodies.
	for name, bad := range map[string]string{
		"malformed JSON":   `{"contents":[{"role":"user","parts":[{"text":"hi"}]}`,
		"not an object":    `["contents"]`,
		"no contents":      `{"contents":[]}`,
		"bad role":         `{"contents":[{"role":"assistant","parts":[{"text":"hi"}]}]}`,
		"contents type":    `{"contents":"hi"}`,
		"negative max out": `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":-1}}`,
	} {
		resp = g.postGemini(t, "/v1beta/models/gpt-4o:generateContent", googKey(g.Key), bad)
		e := checkGoogleEnvelope(t, resp, 400, "INVALID_ARGUMENT")
		resp.Body.Close()
		if strings.Contains(e.Error.Message, "messages") && name == "bad role" {
			t.Fatalf("%s: message %q speaks OpenAI", name, e.Error.Message)
		}
	}
	// The SDK reports a 400 as an APIError too.
	_, err = g.gemini(t).Models.GenerateContent(ctx, "gpt-4o", []*genai.Content{{Role: "assistant", Parts: []*genai.Part{{Text: "hi"}}}}, nil)
	wantGenaiError(t, err, 400, "INVALID_ARGUMENT")

	if n := len(g.Up.Requests()); n != 0 {
		t.Fatalf("%d upstream requests for requests the gateway refuses", n)
	}
}

func TestGeminiIngressUpstreamErrors(t *testing.T) {
	tests := []struct {
		name    string
		b       fakeBehavior
		code    int
		status  string
		mention string
	}{
		{"rate limited", fakeBehavior{Status: 429, Message: "slow down please"}, 429, "RESOURCE_EXHAUSTED", "slow down please"},
		{"server error", fakeBehavior{Status: 500, Message: "kaboom"}, 502, "UNAVAILABLE", "kaboom"},
		{"bad request", fakeBehavior{Status: 400, Message: "temperature too hot"}, 400, "INVALID_ARGUMENT", "temperature too hot"},
		{"credentials", fakeBehavior{Status: 401, Message: "bad upstream key"}, 502, "UNAVAILABLE", "credentials"},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name
			if stream {
				name += " stream"
			}
			t.Run(name, func(t *testing.T) {
				g := startGemini(t, fakeOpts{Default: tt.b})
				var err error
				if stream {
					for ch, e := range g.gemini(t).Models.GenerateContentStream(context.Background(), "gpt-4o", userContent("hi"), nil) {
						if e != nil {
							err = e
							break
						}
						t.Fatalf("a chunk before an upstream error: %+v", ch)
					}
				} else {
					_, err = g.gemini(t).Models.GenerateContent(context.Background(), "gpt-4o", userContent("hi"), nil)
				}
				e := wantGenaiError(t, err, tt.code, tt.status)
				if !strings.Contains(e.Message, tt.mention) {
					t.Fatalf("message %q should mention %q", e.Message, tt.mention)
				}
				if strings.Contains(e.Message, upstreamKey) || strings.Contains(g.Logs.String(), upstreamKey) {
					t.Fatal("the provider key leaked")
				}
				if n := len(g.Up.Requests()); n != 1 {
					t.Fatalf("%d upstream requests, want 1 (one route, no retry)", n)
				}

				// The same on the wire, from a fresh gateway (a failed
				// route may be resting in this one).
				g = startGemini(t, fakeOpts{Default: tt.b})
				path := "/v1beta/models/gpt-4o:generateContent"
				if stream {
					path = "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse"
				}
				resp := g.postGemini(t, path, googKey(g.Key), `{"contents":[{"parts":[{"text":"hi"}]}]}`)
				id := resp.Header.Get("X-Generation-Id")
				checkGoogleEnvelope(t, resp, tt.code, tt.status)
				resp.Body.Close()

				g.settle(t, id)
				gen, gerr := g.Store.GetGeneration(context.Background(), id)
				if gerr != nil {
					t.Fatalf("generation %q: %v", id, gerr)
				}
				if gen.Status != tt.code || gen.Cost != 0 || gen.Streamed != stream || gen.Provider != "fake" ||
					!strings.Contains(gen.Attempts, `"outcome":"error"`) {
					t.Fatalf("generation %+v", gen)
				}
				if gen.ErrorCode == "" {
					t.Fatalf("generation %+v has no error code", gen)
				}
			})
		}
	}
}

// TestGeminiIngressRateLimitCoolDown: a 429 with Retry-After passes the
// header on, and the resting route's refusal is still Google-shaped.
func TestGeminiIngressRateLimitCoolDown(t *testing.T) {
	g := startGemini(t, fakeOpts{})
	g.Up.Enqueue(fakeBehavior{Status: 429, Message: "slow down", RetryAfter: "7"})
	body := `{"contents":[{"parts":[{"text":"hi"}]}]}`
	resp := g.postGemini(t, "/v1beta/models/gpt-4o:generateContent", googKey(g.Key), body)
	if resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("Retry-After %q, want the upstream's 7", resp.Header.Get("Retry-After"))
	}
	checkGoogleEnvelope(t, resp, 429, "RESOURCE_EXHAUSTED")
	resp.Body.Close()

	// The route rests for 7 s: the next call is refused without an
	// upstream request, in Google's envelope, through the SDK too.
	resp = g.postGemini(t, "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse", googKey(g.Key), body)
	checkGoogleEnvelope(t, resp, 503, "UNAVAILABLE")
	resp.Body.Close()
	_, err := g.gemini(t).Models.GenerateContent(context.Background(), "gpt-4o", userContent("hi"), nil)
	wantGenaiError(t, err, 503, "UNAVAILABLE")
	if n := len(g.Up.Requests()); n != 1 {
		t.Fatalf("%d upstream requests, want 1", n)
	}
}

func TestGeminiIngressStreamDroppedMidway(t *testing.T) {
	g := startGemini(t, fakeOpts{Default: fakeBehavior{DropAfterChunks: 4, Words: 30}})
	var text strings.Builder
	var streamErr error
	var id string
	chunks := 0
	for ch, err := range g.gemini(t).Models.GenerateContentStream(context.Background(), "gpt-4o", userContent("tell me a long story"), nil) {
		if err != nil {
			streamErr = err
			break
		}
		chunks++
		id = ch.ResponseID
		text.WriteString(ch.Text())
		if len(ch.Candidates) > 0 && ch.Candidates[0].FinishReason != "" {
			t.Fatalf("finishReason %q on a broken stream", ch.Candidates[0].FinishReason)
		}
	}
	// The SDK turns the gateway's in-stream error envelope into an APIError.
	var e genai.APIError
	if !errors.As(streamErr, &e) || e.Code < 500 || !strings.Contains(e.Message, "ended the stream") {
		t.Fatalf("stream error %v (%T) after %d chunks", streamErr, streamErr, chunks)
	}
	if chunks == 0 || text.Len() == 0 {
		t.Fatal("no text before the cut")
	}

	// On the wire: data events, the last one Google's error envelope.
	resp := g.postGemini(t, "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse", googKey(g.Key), `{"contents":[{"parts":[{"text":"hi"}]}]}`)
	defer resp.Body.Close()
	data, _ := sseEvents(t, resp)
	if resp.StatusCode != 200 || len(data) < 2 {
		t.Fatalf("status %d events %q", resp.StatusCode, data)
	}
	var env googleEnvelope
	if err := json.Unmarshal([]byte(data[len(data)-1]), &env); err != nil || env.Error.Code < 500 || env.Error.Status == "" || env.Error.Message == "" {
		t.Fatalf("last event %s is not an error envelope", data[len(data)-1])
	}

	g.settle(t, id)
	gen, err := g.Store.GetGeneration(context.Background(), id)
	if err != nil {
		t.Fatalf("generation %q: %v\n%s", id, err, g.Logs.String())
	}
	if !gen.Streamed || gen.ErrorCode != "upstream_error" || gen.Status != 200 {
		t.Fatalf("generation %+v: want the broken stream recorded", gen)
	}
}

func TestGeminiIngressKeyAndPathForms(t *testing.T) {
	g := startGemini(t, fakeOpts{Default: fakeBehavior{Reply: "ok then"}})
	body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	text := func(t *testing.T, resp *http.Response) string {
		t.Helper()
		raw := readAll(t, resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, raw)
		}
		var r struct {
			Candidates []struct {
				Content struct {
					Parts []struct {
						Text string `json:"text"`
					} `json:"parts"`
				} `json:"content"`
			} `json:"candidates"`
			ModelVersion string `json:"modelVersion"`
		}
		if err := json.Unmarshal([]byte(raw), &r); err != nil || len(r.Candidates) != 1 || len(r.Candidates[0].Content.Parts) != 1 {
			t.Fatalf("answer %s", raw)
		}
		return r.Candidates[0].Content.Parts[0].Text
	}
	tests := []struct {
		name, path string
		header     http.Header
		upModel    string
	}{
		{"x-goog-api-key", "/v1beta/models/gpt-4o:generateContent", googKey(g.Key), "gpt-4o-2024-08-06"},
		{"?key=", "/v1beta/models/gpt-4o:generateContent?key=" + g.Key, nil, "gpt-4o-2024-08-06"},
		{"?key= stream", "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse&key=" + g.Key, nil, "gpt-4o-2024-08-06"},
		{"bearer", "/v1beta/models/gpt-4o:generateContent", http.Header{"Authorization": {"Bearer " + g.Key}}, "gpt-4o-2024-08-06"},
		{"/v1 path", "/v1/models/gpt-4o:generateContent", googKey(g.Key), "gpt-4o-2024-08-06"},
		{"models/ prefix", "/v1beta/models/models/gpt-4o:generateContent", googKey(g.Key), "gpt-4o-2024-08-06"},
		{"pattern route", "/v1beta/models/fake-small:generateContent", googKey(g.Key), "fake-small"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := g.postGemini(t, tt.path, tt.header, body)
			defer resp.Body.Close()
			if strings.Contains(tt.path, "stream") {
				data, _ := sseEvents(t, resp)
				if resp.StatusCode != 200 || len(data) < 2 || !strings.Contains(data[0], `"ok `) {
					t.Fatalf("status %d events %q", resp.StatusCode, data)
				}
			} else if got := text(t, resp); got != "ok then" {
				t.Fatalf("text %q", got)
			}
			if m := upstreamOpenAI(t, g).Model; m != tt.upModel {
				t.Fatalf("upstream model %q, want %q", m, tt.upModel)
			}
		})
	}
	// A header key wins over a wrong ?key=, as at Google.
	resp := g.postGemini(t, "/v1beta/models/gpt-4o:generateContent?key=sk-sy-wrong", googKey(g.Key), body)
	if got := text(t, resp); got != "ok then" {
		t.Fatalf("text %q", got)
	}
	resp.Body.Close()

	// The SDK on the v1 API version, and with a "models/" model name.
	for _, version := range []string{"v1", "v1beta"} {
		for _, model := range []string{"gpt-4o", "models/gpt-4o"} {
			resp, err := g.genaiClient(t, g.Key, version).Models.GenerateContent(context.Background(), model, userContent("hi"), nil)
			if err != nil {
				t.Fatalf("%s %s: %v", version, model, err)
			}
			if resp.Text() != "ok then" || resp.ModelVersion != "gpt-4o" || upstreamOpenAI(t, g).Model != "gpt-4o-2024-08-06" {
				t.Fatalf("%s %s: text %q modelVersion %q", version, model, resp.Text(), resp.ModelVersion)
			}
		}
	}
	mustNotLeak(t, g, g.Key, upstreamKey)
}

func TestGeminiIngressBilling(t *testing.T) {
	g := startGemini(t, fakeOpts{Default: fakeBehavior{Reply: "priced words here"}})
	c := g.gemini(t)
	ctx := context.Background()
	type priced struct {
		id     string
		prompt int32
		out    int32
		want   money.Nanos
	}
	var runs []priced
	// gpt-4o: $2.50 / $10.00 per 1M tokens = 2500 / 10000 nano-dollars per
	// token; fake-*: the provider's $1.00 / $2.00.
	for _, model := range []string{"gpt-4o", "fake-cheap"} {
		in, out := money.Nanos(2500), money.Nanos(10000)
		if model != "gpt-4o" {
			in, out = 1000, 2000
		}
		resp, err := c.Models.GenerateContent(ctx, model, userContent("price this request please"), nil)
		if err != nil {
			t.Fatal(err)
		}
		u := resp.UsageMetadata
		runs = append(runs, priced{resp.ResponseID, u.PromptTokenCount, u.CandidatesTokenCount,
			money.Nanos(u.PromptTokenCount)*in + money.Nanos(u.CandidatesTokenCount)*out})

		var last *genai.GenerateContentResponse
		for ch, err := range c.Models.GenerateContentStream(ctx, model, userContent("price this stream please"), nil) {
			if err != nil {
				t.Fatal(err)
			}
			last = ch
		}
		u = last.UsageMetadata
		runs = append(runs, priced{last.ResponseID, u.PromptTokenCount, u.CandidatesTokenCount,
			money.Nanos(u.PromptTokenCount)*in + money.Nanos(u.CandidatesTokenCount)*out})
	}
	// The key's own view of a generation agrees before the ledger flush.
	st, out := g.admin(t, "GET", "/api/v1/generation?id="+runs[0].id, g.Key, "")
	if st != 200 {
		t.Fatalf("generation: %d %v", st, out)
	}
	if d := out["data"].(map[string]any); d["total_cost"] != runs[0].want.String() && toJSON(d["total_cost"]) != runs[0].want.String() {
		t.Fatalf("total_cost %v, want %s", d["total_cost"], runs[0].want)
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.id
	}
	g.settle(t, ids...)
	var total money.Nanos
	for _, r := range runs {
		gen, err := g.Store.GetGeneration(ctx, r.id)
		if err != nil {
			t.Fatalf("generation %q: %v", r.id, err)
		}
		if r.want <= 0 || gen.Cost != r.want || gen.TokensPrompt != int64(r.prompt) || gen.TokensCompletion != int64(r.out) || gen.UsageEstimated {
			t.Fatalf("generation %+v, want cost %s for %d+%d tokens", gen, r.want, r.prompt, r.out)
		}
		total += gen.Cost
	}
	if total <= 0 {
		t.Fatal("nothing charged")
	}
}

// TestGeminiIngressStreamKeepAlive: during a long upstream silence the
// gateway keeps the connection alive, and the Google SDK (which takes
// every non-"data:" line for a broken chunk) must not see it.
func TestGeminiIngressStreamKeepAlive(t *testing.T) {
	g := start(t, opts{yaml: geminiIngressConfig, env: map[string]string{"KEEPALIVE": "20ms"},
		up: fakeOpts{Default: fakeBehavior{Reply: "slow and steady", ChunkDelay: 70 * time.Millisecond}}})
	var text strings.Builder
	for ch, err := range g.gemini(t).Models.GenerateContentStream(context.Background(), "gpt-4o", userContent("take your time"), nil) {
		if err != nil {
			t.Fatalf("stream error after %q: %v", text.String(), err)
		}
		text.WriteString(ch.Text())
	}
	if text.String() != "slow and steady" {
		t.Fatalf("text %q", text.String())
	}
	// The keep-alive is still sent, as empty events.
	resp := g.postGemini(t, "/v1beta/models/gpt-4o:streamGenerateContent?alt=sse", googKey(g.Key), `{"contents":[{"parts":[{"text":"hi"}]}]}`)
	defer resp.Body.Close()
	raw := readAll(t, resp.Body)
	events := strings.Count(raw, "data: ")
	if strings.Contains(raw, ": keep-alive") || strings.Count(raw, "\r\n\r\n") <= events {
		t.Fatalf("want blank keep-alive events between %d data events: %q", events, raw)
	}
}

// TestGeminiIngressInsufficientCredit: the gateway's own 402 is Google's
// quota error, before any upstream request.
func TestGeminiIngressInsufficientCredit(t *testing.T) {
	g := startGemini(t, fakeOpts{})
	_, key := g.newAccount(t, "0", "")
	_, err := g.genaiClient(t, key, "v1beta").Models.GenerateContent(context.Background(), "gpt-4o", userContent("hi"), nil)
	e := wantGenaiError(t, err, 402, "RESOURCE_EXHAUSTED")
	if !strings.Contains(strings.ToLower(e.Message), "credit") {
		t.Fatalf("message %q", e.Message)
	}
	if n := len(g.Up.Requests()); n != 0 {
		t.Fatalf("%d upstream requests", n)
	}
}

// TestGeminiIngressStreamUsageVariants: upstreams that put usage on the
// finish chunk, or send none, still end the Gemini stream with one
// finishReason chunk; missing usage is estimated for billing.
func TestGeminiIngressStreamUsageVariants(t *testing.T) {
	for _, tt := range []struct {
		name      string
		b         fakeBehavior
		estimated bool
	}{
		{"usage in finish chunk", fakeBehavior{Reply: "alpha beta gamma", UsageInFinishChunk: true}, false},
		{"no usage", fakeBehavior{Reply: "alpha beta gamma", OmitUsage: true}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := startGemini(t, fakeOpts{Default: tt.b})
			var text strings.Builder
			var finals []*genai.GenerateContentResponse
			for ch, err := range g.gemini(t).Models.GenerateContentStream(context.Background(), "gpt-4o", userContent("go"), nil) {
				if err != nil {
					t.Fatal(err)
				}
				text.WriteString(ch.Text())
				if len(ch.Candidates) > 0 && ch.Candidates[0].FinishReason != "" {
					finals = append(finals, ch)
				}
			}
			if text.String() != "alpha beta gamma" || len(finals) != 1 || finals[0].Candidates[0].FinishReason != genai.FinishReasonStop {
				t.Fatalf("text %q, %d finish chunks", text.String(), len(finals))
			}
			if !tt.estimated && (finals[0].UsageMetadata == nil || finals[0].UsageMetadata.CandidatesTokenCount == 0) {
				t.Fatalf("usage %+v", finals[0].UsageMetadata)
			}
			g.settle(t, finals[0].ResponseID)
			gen, err := g.Store.GetGeneration(context.Background(), finals[0].ResponseID)
			if err != nil {
				t.Fatal(err)
			}
			if gen.UsageEstimated != tt.estimated || gen.TokensPrompt == 0 || gen.TokensCompletion == 0 || gen.Cost == 0 || gen.FinishReason != "stop" {
				t.Fatalf("generation %+v", gen)
			}
		})
	}
}
