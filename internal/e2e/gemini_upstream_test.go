package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// geminiUpConfig sends gemini-* to a Gemini-format upstream (the fake).
const geminiUpConfig = `
providers:
  - { name: gemini, type: gemini, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}" }
models:
  - id: "gemini-*"
    pricing: { prompt: 1.25, completion: 10.00 }
    routes: [{ provider: gemini }]
`

// geminiUpCost is usage × geminiUpConfig's prices, in nano-dollars.
func geminiUpCost(prompt, completion int64) money.Nanos {
	return money.Nanos(prompt*1250 + completion*10000)
}

// geminiUpSent is the part of the upstream generateContent body the tests read.
type geminiUpSent struct {
	Contents []struct {
		Role  string `json:"role"`
		Parts []struct {
			Text         *string `json:"text"`
			FunctionCall *struct {
				Name string          `json:"name"`
				Args json.RawMessage `json:"args"`
			} `json:"functionCall"`
			FunctionResponse *struct {
				Name     string          `json:"name"`
				Response json.RawMessage `json:"response"`
			} `json:"functionResponse"`
			InlineData *struct {
				MimeType string `json:"mimeType"`
				Data     string `json:"data"`
			} `json:"inlineData"`
			FileData *struct {
				MimeType string `json:"mimeType"`
				FileURI  string `json:"fileUri"`
			} `json:"fileData"`
		} `json:"parts"`
	} `json:"contents"`
	SystemInstruction *struct {
		Parts []struct {
			Text string `json:"text"`
		} `json:"parts"`
	} `json:"systemInstruction"`
	Tools            []map[string]json.RawMessage `json:"tools"`
	ToolConfig       json.RawMessage              `json:"toolConfig"`
	GenerationConfig *struct {
		Temperature        *float64        `json:"temperature"`
		MaxOutputTokens    int64           `json:"maxOutputTokens"`
		StopSequences      []string        `json:"stopSequences"`
		ResponseMimeType   string          `json:"responseMimeType"`
		ResponseSchema     json.RawMessage `json:"responseSchema"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
		ThinkingConfig     *struct {
			ThinkingBudget  *int64 `json:"thinkingBudget"`
			IncludeThoughts bool   `json:"includeThoughts"`
		} `json:"thinkingConfig"`
	} `json:"generationConfig"`
	Model string `json:"model"` // must stay empty: the model is in the URL
}

func lastGeminiUpBody(t *testing.T, g *gateway) geminiUpSent {
	t.Helper()
	var s geminiUpSent
	if err := json.Unmarshal(g.Up.Last().Body, &s); err != nil {
		t.Fatalf("upstream body is not JSON (%v): %s", err, g.Up.Last().Body)
	}
	return s
}

// reasoningContentOf reads the gateway's reasoning_content field from a raw
// message or delta.
func reasoningContentOf(t *testing.T, raw string) string {
	t.Helper()
	var v struct {
		ReasoningContent string `json:"reasoning_content"`
	}
	if raw == "" {
		return ""
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("not JSON (%v): %s", err, raw)
	}
	return v.ReasoningContent
}

func TestOpenAIClientToGeminiUpstream(t *testing.T) {
	g := start(t, opts{yaml: geminiUpConfig, up: fakeOpts{Default: fakeBehavior{Reply: "Hello from Gemini"}}})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:       "gemini-2.5-flash",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Hi there")},
		Temperature: openai.Float(0.25),
		MaxTokens:   openai.Int(50),
		Stop:        openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END", "STOP!"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	if ch.Message.Content != "Hello from Gemini" || ch.FinishReason != "stop" || ch.Message.Role != "assistant" {
		t.Fatalf("content %q finish %q", ch.Message.Content, ch.FinishReason)
	}
	if !strings.HasPrefix(resp.ID, "gen-") || resp.Model != "gemini-2.5-flash" || resp.Object != "chat.completion" {
		t.Fatalf("response = %s", resp.RawJSON())
	}
	// The fake counts words: "Hello from Gemini" is 3 tokens.
	if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens != 3 || resp.Usage.TotalTokens != resp.Usage.PromptTokens+3 {
		t.Fatalf("usage = %s", resp.RawJSON())
	}
	if got, want := sdkCost(t, resp.RawJSON()), geminiUpCost(resp.Usage.PromptTokens, resp.Usage.CompletionTokens); got != want {
		t.Fatalf("usage.cost %s, want %s", got, want)
	}

	up := g.Up.Last()
	if up.Method != http.MethodPost || up.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || up.RawQuery != "" {
		t.Fatalf("upstream request %s %s?%s", up.Method, up.Path, up.RawQuery)
	}
	if up.Header.Get("X-Goog-Api-Key") != upstreamKey || up.Header.Get("Authorization") != "" || strings.Contains(up.RawQuery, "key=") {
		t.Fatalf("upstream credentials: headers %v query %q", up.Header, up.RawQuery)
	}
	sent := lastGeminiUpBody(t, g)
	if sent.Model != "" {
		t.Errorf("the body names the model %q; Gemini takes it in the URL", sent.Model)
	}
	if len(sent.Contents) != 1 || sent.Contents[0].Role != "user" || len(sent.Contents[0].Parts) != 1 ||
		sent.Contents[0].Parts[0].Text == nil || *sent.Contents[0].Parts[0].Text != "Hi there" {
		t.Fatalf("contents: %s", up.Body)
	}
	if sent.SystemInstruction == nil || len(sent.SystemInstruction.Parts) != 1 || sent.SystemInstruction.Parts[0].Text != "Be brief." {
		t.Fatalf("systemInstruction: %s", up.Body)
	}
	gc := sent.GenerationConfig
	if gc == nil || gc.Temperature == nil || *gc.Temperature != 0.25 || gc.MaxOutputTokens != 50 ||
		strings.Join(gc.StopSequences, "|") != "END|STOP!" || gc.ThinkingConfig != nil || gc.ResponseMimeType != "" {
		t.Fatalf("generationConfig: %s", up.Body)
	}
}

func TestGeminiUpstreamMaxTokensIsFinishLength(t *testing.T) {
	g := start(t, opts{yaml: geminiUpConfig, up: fakeOpts{Default: fakeBehavior{Words: 30}}})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.5-flash", Messages: userMsg("talk"), MaxCompletionTokens: openai.Int(5),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].FinishReason != "length" || len(strings.Fields(resp.Choices[0].Message.Content)) != 5 {
		t.Fatalf("response = %s", resp.RawJSON())
	}
	if gc := lastGeminiUpBody(t, g).GenerationConfig; gc == nil || gc.MaxOutputTokens != 5 {
		t.Fatalf("max_completion_tokens not sent as maxOutputTokens: %s", g.Up.Last().Body)
	}
}

func TestOpenAIStreamFromGeminiUpstream(t *testing.T) {
	const reply = "one two three four five"
	g := start(t, opts{yaml: geminiUpConfig, up: fakeOpts{Default: fakeBehavior{Reply: reply}}})

	t.Run("without include_usage", func(t *testing.T) {
		stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
			Model: "gemini-2.5-flash", Messages: userMsg("count"),
		})
		var text strings.Builder
		var last openai.ChatCompletionChunk
		n := 0
		for stream.Next() {
			ch := stream.Current()
			if len(ch.Choices) == 0 {
				t.Fatalf("chunk %d has empty choices though the client did not ask for usage: %s", n, ch.RawJSON())
			}
			if !strings.HasPrefix(ch.ID, "gen-") || ch.Model != "gemini-2.5-flash" {
				t.Fatalf("chunk id %q model %q", ch.ID, ch.Model)
			}
			text.WriteString(ch.Choices[0].Delta.Content)
			last = ch
			n++
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if text.String() != reply {
			t.Fatalf("text %q, want %q", text.String(), reply)
		}
		if last.Choices[0].FinishReason != "stop" || last.Usage.CompletionTokens != 5 {
			t.Fatalf("last chunk should carry finish_reason and usage: %s", last.RawJSON())
		}
		if got, want := sdkCost(t, last.RawJSON()), geminiUpCost(last.Usage.PromptTokens, 5); got != want {
			t.Fatalf("usage.cost %s, want %s", got, want)
		}
		up := g.Up.Last()
		if up.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || up.RawQuery != "alt=sse" || up.Header.Get("X-Goog-Api-Key") != upstreamKey {
			t.Fatalf("upstream request %s?%s", up.Path, up.RawQuery)
		}
	})

	t.Run("with include_usage", func(t *testing.T) {
		stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
			Model: "gemini-2.5-flash", Messages: userMsg("count"),
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)},
		})
		acc := openai.ChatCompletionAccumulator{}
		var last openai.ChatCompletionChunk
		usageChunks := 0
		for stream.Next() {
			last = stream.Current()
			if len(last.Choices) == 0 {
				usageChunks++
			}
			acc.AddChunk(last)
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if usageChunks != 1 || len(last.Choices) != 0 || last.Usage.CompletionTokens != 5 || last.Usage.PromptTokens == 0 {
			t.Fatalf("want one final usage-only chunk, got %d; last %s", usageChunks, last.RawJSON())
		}
		if got, want := sdkCost(t, last.RawJSON()), geminiUpCost(last.Usage.PromptTokens, 5); got != want {
			t.Fatalf("usage.cost %s, want %s", got, want)
		}
		if acc.Choices[0].Message.Content != reply || acc.Choices[0].FinishReason != "stop" {
			t.Fatalf("accumulated %q finish %q", acc.Choices[0].Message.Content, acc.Choices[0].FinishReason)
		}
	})
}

func TestOpenAIToolCallsFromGeminiUpstream(t *testing.T) {
	g := start(t, opts{yaml: geminiUpConfig, up: fakeOpts{Default: fakeBehavior{Reply: "It is sunny in Shanghai."}}})
	params := openai.ChatCompletionNewParams{
		Model: "gemini-2.5-pro", Messages: userMsg("What is the weather in Shanghai?"),
		Tools:      []openai.ChatCompletionToolUnionParam{weatherTool()},
		ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")},
	}
	resp, err := g.client().Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	calls := resp.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].ID == "" || resp.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("tool calls %+v finish %q: %s", calls, resp.Choices[0].FinishReason, resp.RawJSON())
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(calls[0].Function.Arguments), &args); err != nil || args["city"] != "fake" {
		t.Fatalf("arguments %q: %v", calls[0].Function.Arguments, err)
	}
	sent := lastGeminiUpBody(t, g)
	if len(sent.Tools) != 1 || !strings.Contains(string(sent.Tools[0]["functionDeclarations"]), `"name":"get_weather"`) ||
		!strings.Contains(string(sent.ToolConfig), `"mode":"AUTO"`) {
		t.Fatalf("tools %s toolConfig %s", g.Up.Last().Body, sent.ToolConfig)
	}

	// Streamed: the SDK's accumulator reassembles the same call.
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), params)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	sc := acc.Choices[0].Message.ToolCalls
	if len(sc) != 1 || sc[0].Function.Name != "get_weather" || sc[0].Function.Arguments != calls[0].Function.Arguments || sc[0].ID == "" ||
		acc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("streamed tool call %+v finish %q, want arguments %s", sc, acc.Choices[0].FinishReason, calls[0].Function.Arguments)
	}

	// The follow-up turn: the tool result becomes a functionResponse part
	// named after the call (OpenAI's tool message carries only the id).
	params.Messages = append(params.Messages, resp.Choices[0].Message.ToParam(),
		openai.ToolMessage(`{"temperature_c": 21, "sky": "clear"}`, calls[0].ID),
		openai.ToolMessage("plain text result", calls[0].ID))
	resp2, err := g.client().Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if resp2.Choices[0].Message.Content != "It is sunny in Shanghai." || resp2.Choices[0].FinishReason != "stop" || len(resp2.Choices[0].Message.ToolCalls) != 0 {
		t.Fatalf("follow-up answer %s", resp2.RawJSON())
	}
	sent = lastGeminiUpBody(t, g)
	if len(sent.Contents) != 3 || sent.Contents[0].Role != "user" || sent.Contents[1].Role != "model" || sent.Contents[2].Role != "user" {
		t.Fatalf("contents roles: %s", g.Up.Last().Body)
	}
	if p := sent.Contents[1].Parts; len(p) != 1 || p[0].FunctionCall == nil || p[0].FunctionCall.Name != "get_weather" || string(p[0].FunctionCall.Args) != `{"city":"fake"}` {
		t.Fatalf("model turn: %s", g.Up.Last().Body)
	}
	p := sent.Contents[2].Parts
	if len(p) != 2 || p[0].FunctionResponse == nil || p[1].FunctionResponse == nil {
		t.Fatalf("tool results: %s", g.Up.Last().Body)
	}
	if fr := p[0].FunctionResponse; fr.Name != "get_weather" || string(fr.Response) != `{"temperature_c":21,"sky":"clear"}` {
		t.Fatalf("JSON tool result: name %q response %s", fr.Name, fr.Response)
	}
	if fr := p[1].FunctionResponse; fr.Name != "get_weather" || string(fr.Response) != `{"content":"plain text result"}` {
		t.Fatalf("text tool result: name %q response %s", fr.Name, fr.Response)
	}
}

func TestGeminiUpstreamJSONSchema(t *testing.T) {
	g := start(t, opts{yaml: geminiUpConfig})
	schema := map[string]any{
		"$schema":              "http://json-schema.org/draft-07/schema#",
		"type":                 "object",
		"additionalProperties": false,
		"properties": map[string]any{
			"summary": map[string]any{"type": "string"},
			"score":   map[string]any{"type": "integer"},
			"tags":    map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		},
		"required": []string{"summary", "score"},
	}
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.5-flash", Messages: userMsg("Return a JSON with a summary field"),
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &openai.ResponseFormatJSONSchemaParam{
			JSONSchema: openai.ResponseFormatJSONSchemaJSONSchemaParam{Name: "Answer", Schema: schema, Strict: openai.Bool(true)},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Summary *string `json:"summary"`
		Score   *int    `json:"score"`
	}
	if err := json.Unmarshal([]byte(resp.Choices[0].Message.Content), &answer); err != nil || answer.Summary == nil || answer.Score == nil {
		t.Fatalf("answer %q does not parse as the schema (%v)", resp.Choices[0].Message.Content, err)
	}
	gc := lastGeminiUpBody(t, g).GenerationConfig
	if gc == nil || gc.ResponseMimeType != "application/json" {
		t.Fatalf("generationConfig: %s", g.Up.Last().Body)
	}
	// The codec sends the OpenAPI subset as responseSchema (schema.go).
	if len(gc.ResponseSchema) == 0 || len(gc.ResponseJSONSchema) != 0 {
		t.Fatalf("want responseSchema only: %s", g.Up.Last().Body)
	}
	rs := string(gc.ResponseSchema)
	for _, gone := range []string{"additionalProperties", "$schema", "draft-07"} {
		if strings.Contains(rs, gone) {
			t.Errorf("responseSchema still has %q: %s", gone, rs)
		}
	}
	for _, kept := range []string{`"summary"`, `"score"`, `"required":["summary","score"]`, `"items"`} {
		if !strings.Contains(rs, kept) {
			t.Errorf("responseSchema lost %s: %s", kept, rs)
		}
	}

	// json_object: JSON mode without a schema.
	resp, err = g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.5-flash", Messages: userMsg("JSON please"),
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &openai.ResponseFormatJSONObjectParam{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid([]byte(resp.Choices[0].Message.Content)) {
		t.Fatalf("json_object answer %q", resp.Choices[0].Message.Content)
	}
	if gc := lastGeminiUpBody(t, g).GenerationConfig; gc == nil || gc.ResponseMimeType != "application/json" || len(gc.ResponseSchema) != 0 {
		t.Fatalf("generationConfig: %s", g.Up.Last().Body)
	}
}

func TestGeminiUpstreamReasoning(t *testing.T) {
	g := start(t, opts{yaml: geminiUpConfig, up: fakeOpts{Default: fakeBehavior{Reply: "x is 1 or -3"}}})
	params := openai.ChatCompletionNewParams{
		Model: "gemini-2.5-pro", Messages: userMsg("solve x^2 + 2x - 3 = 0"), ReasoningEffort: openai.ReasoningEffortLow,
	}
	resp, err := g.client().Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	thought := reasoningContentOf(t, msg.RawJSON())
	if msg.Content != "x is 1 or -3" || thought == "" || strings.Contains(msg.Content, thought) {
		t.Fatalf("content %q reasoning_content %q: %s", msg.Content, thought, resp.RawJSON())
	}
	words := int64(len(strings.Fields(thought)))
	u := resp.Usage
	if u.CompletionTokensDetails.ReasoningTokens != words || u.CompletionTokens != 5+words {
		t.Fatalf("usage %s: want %d reasoning tokens within completion_tokens", resp.RawJSON(), words)
	}
	if got, want := sdkCost(t, resp.RawJSON()), geminiUpCost(u.PromptTokens, u.CompletionTokens); got != want {
		t.Fatalf("usage.cost %s, want %s (reasoning is billed as completion)", got, want)
	}
	tc := lastGeminiUpBody(t, g).GenerationConfig
	if tc == nil || tc.ThinkingConfig == nil || !tc.ThinkingConfig.IncludeThoughts || tc.ThinkingConfig.ThinkingBudget == nil || *tc.ThinkingConfig.ThinkingBudget != 1024 {
		t.Fatalf("thinkingConfig: %s", g.Up.Last().Body)
	}

	// Streamed: the thought arrives as delta.reasoning_content before the text.
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)}
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), params)
	var reasoning, text strings.Builder
	var last openai.ChatCompletionChunk
	for stream.Next() {
		last = stream.Current()
		if len(last.Choices) == 0 {
			continue
		}
		r := reasoningContentOf(t, last.Choices[0].Delta.RawJSON())
		if r != "" && text.Len() > 0 {
			t.Fatalf("reasoning after the answer began: %s", last.RawJSON())
		}
		reasoning.WriteString(r)
		text.WriteString(last.Choices[0].Delta.Content)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if reasoning.String() != thought || text.String() != "x is 1 or -3" {
		t.Fatalf("streamed reasoning %q text %q", reasoning.String(), text.String())
	}
	if last.Usage.CompletionTokensDetails.ReasoningTokens != words {
		t.Fatalf("streamed usage %s", last.RawJSON())
	}

	// reasoning_effort "none" turns thinking off: thinkingBudget 0, no thoughts.
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{}
	params.ReasoningEffort = "none"
	resp, err = g.client().Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if r := reasoningContentOf(t, resp.Choices[0].Message.RawJSON()); r != "" || resp.Usage.CompletionTokensDetails.ReasoningTokens != 0 {
		t.Fatalf("thinking disabled, yet %s", resp.RawJSON())
	}
	if tc := lastGeminiUpBody(t, g).GenerationConfig; tc == nil || tc.ThinkingConfig == nil || tc.ThinkingConfig.ThinkingBudget == nil || *tc.ThinkingConfig.ThinkingBudget != 0 {
		t.Fatalf("thinkingConfig: %s", g.Up.Last().Body)
	}
}

// A safety block is an answer, not an error: finish_reason content_filter
// (api/gemini: finishReason SAFETY, and a prompt blocked with
// promptFeedback.blockReason and no candidates, both map to it).
func TestGeminiUpstreamSafetyBlocks(t *testing.T) {
	for _, blocked := range []string{"prompt", "response"} {
		t.Run(blocked, func(t *testing.T) {
			g := start(t, opts{yaml: geminiUpConfig, up: fakeOpts{Default: fakeBehavior{Blocked: blocked, Words: 10}}})
			resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: userMsg("something bad")})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Choices[0].FinishReason != "content_filter" || resp.Choices[0].Message.Content != "" || resp.Usage.PromptTokens == 0 {
				t.Fatalf("response %s", resp.RawJSON())
			}

			stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: userMsg("something bad")})
			acc := openai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "content_filter" {
				t.Fatalf("streamed finish %+v", acc.Choices)
			}
			// A response block streams half the answer first; a prompt block none.
			if got, want := len(strings.Fields(acc.Choices[0].Message.Content)), map[string]int{"prompt": 0, "response": 5}[blocked]; got != want {
				t.Fatalf("streamed %q before the block, want %d words", acc.Choices[0].Message.Content, want)
			}
		})
	}
}

func TestGeminiUpstreamErrorsMapToOpenAIEnvelope(t *testing.T) {
	tests := []struct {
		name       string
		b          fakeBehavior
		status     int
		code       string
		mention    string
		retryAfter string
	}{
		{name: "400", b: fakeBehavior{Status: 400, Message: "Invalid value at 'generation_config.temperature'"}, status: 400, code: "invalid_request_error", mention: "generation_config.temperature"},
		{name: "429", b: fakeBehavior{Status: 429, Message: "Resource has been exhausted (e.g. check quota).", RetryAfter: "7"}, status: 429, code: "rate_limit_exceeded", mention: "Resource has been exhausted", retryAfter: "7"},
		{name: "500", b: fakeBehavior{Status: 500, Message: "An internal error has occurred."}, status: 502, code: "upstream_error", mention: "An internal error has occurred."},
		// 5xx: the relay's classification (upstream.go) makes every other
		// upstream 5xx a 502 upstream_error, keeping Google's message.
		{name: "503", b: fakeBehavior{Status: 503, Message: "The model is overloaded."}, status: 502, code: "upstream_error", mention: "The model is overloaded."},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				g := start(t, opts{yaml: geminiUpConfig})
				g.Up.Enqueue(tt.b)
				body := `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`
				if stream {
					body = `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`
				}
				resp := g.post(t, "/v1/chat/completions", g.Key, body)
				defer resp.Body.Close()
				if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("status %d (%s), want %d: %s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, readAll(t, resp.Body))
				}
				if tt.retryAfter != "" && resp.Header.Get("Retry-After") != tt.retryAfter {
					t.Errorf("Retry-After %q, want %q", resp.Header.Get("Retry-After"), tt.retryAfter)
				}
				e := decodeEnvelope(t, resp)
				if code(e) != tt.code || !strings.Contains(e.Error.Message, tt.mention) {
					t.Fatalf("code %q message %q; want %q mentioning %q", code(e), e.Error.Message, tt.code, tt.mention)
				}
				if strings.Contains(e.Error.Message, upstreamKey) {
					t.Fatal("the error echoes the provider key")
				}
				if n := len(g.Up.Requests()); n != 1 {
					t.Fatalf("upstream got %d requests, want 1", n)
				}
			})
		}
	}

	// Through the SDK: an *openai.Error with the status.
	g := start(t, opts{yaml: geminiUpConfig})
	g.Up.Enqueue(fakeBehavior{Status: 400, Message: "Unable to submit request because it has an empty text parameter."})
	_, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: userMsg("hi")})
	var e *openai.Error
	if !errors.As(err, &e) || e.StatusCode != 400 || !strings.Contains(e.Message, "empty text parameter") {
		t.Fatalf("err = %v", err)
	}
}

func TestGeminiUpstreamStreamDroppedMidwayEndsWithErrorChunk(t *testing.T) {
	g := start(t, opts{yaml: geminiUpConfig, up: fakeOpts{Default: fakeBehavior{DropAfterChunks: 3, Words: 20}}})
	resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	data, _ := sseEvents(t, resp)
	checkStreamEndsInError(t, data)
	var text strings.Builder
	for _, d := range data[:len(data)-2] {
		var ch struct {
			Choices []struct {
				Delta        struct{ Content string }
				FinishReason *string `json:"finish_reason"`
			}
		}
		if err := json.Unmarshal([]byte(d), &ch); err != nil {
			t.Fatal(err)
		}
		if len(ch.Choices) > 0 {
			if fr := ch.Choices[0].FinishReason; fr != nil && *fr != "" {
				t.Fatalf("a chunk before the error claims finish_reason %q: %s", *fr, d)
			}
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	// The three words sent before the drop reached the client.
	if got := strings.Fields(text.String()); len(got) != 3 {
		t.Fatalf("relayed %q before the drop, want 3 words", text.String())
	}

	// The SDK does not take it for a complete answer.
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: userMsg("hi")})
	finish := ""
	for stream.Next() {
		if ch := stream.Current(); len(ch.Choices) > 0 && ch.Choices[0].FinishReason != "" {
			finish = ch.Choices[0].FinishReason
		}
	}
	if stream.Err() == nil && finish != "error" {
		t.Fatalf("truncated stream looked complete: finish %q", finish)
	}
}

// checkStreamEndsInError asserts a stream ends with an error chunk and [DONE].
func checkStreamEndsInError(t *testing.T, data []string) {
	t.Helper()
	if len(data) < 2 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("stream must end with [DONE], got %q", data)
	}
	var last struct {
		ID      string
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		}
		Error struct{ Message, Code string }
	}
	if err := json.Unmarshal([]byte(data[len(data)-2]), &last); err != nil {
		t.Fatal(err)
	}
	if len(last.Choices) != 1 || last.Choices[0].FinishReason != "error" || last.Error.Code != "upstream_error" || !strings.HasPrefix(last.ID, "gen-") {
		t.Fatalf("error chunk = %s", data[len(data)-2])
	}
}

// Gemini marks no end of stream: a stream that ends cleanly but without a
// finishReason was cut, and must not be passed off as a complete answer.
// The fake always finishes, so this upstream is a hand-written one.
func TestGeminiUpstreamStreamWithoutFinishReasonIsCut(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Goog-Api-Key") != upstreamKey {
			http.Error(w, `{"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT"}}`, 400)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, word := range []string{"one", " two"} {
			w.Write([]byte(`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"` + word + `"}]},"index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4},"modelVersion":"gemini-2.5-flash"}` + "\r\n\r\n"))
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(up.Close)
	g := startWith(t, opts{yaml: geminiUpConfig}, up.URL)
	resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp.Body))
	}
	data, _ := sseEvents(t, resp)
	checkStreamEndsInError(t, data)
	if joined := strings.Join(data, "\n"); !strings.Contains(joined, `"one"`) || !strings.Contains(joined, `" two"`) {
		t.Fatalf("the text before the cut was not relayed: %q", data)
	}
}
