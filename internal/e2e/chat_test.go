package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
)

func userMsg(s string) []openai.ChatCompletionMessageParamUnion {
	return []openai.ChatCompletionMessageParamUnion{openai.UserMessage(s)}
}

func TestChatNonStreamingThroughSDK(t *testing.T) {
	g := start(t, opts{up: fakeupstreamOpts("Hello from upstream")})
	c := g.client()
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: userMsg("Hello"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "Hello from upstream" {
		t.Fatalf("content = %q", got)
	}
	if !strings.HasPrefix(resp.ID, "gen-") || resp.Model != "gpt-4o" {
		t.Fatalf("id %q model %q: want a gen- id and the requested model", resp.ID, resp.Model)
	}
	if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens != 3 {
		t.Fatalf("usage = %+v", resp.Usage)
	}
	// usage.cost: gpt-4o is priced, so the cost is tokens × price, exactly.
	var raw struct {
		Usage struct{ Cost json.Number } `json:"usage"`
	}
	_ = json.Unmarshal([]byte(resp.RawJSON()), &raw)
	want := float64(resp.Usage.PromptTokens)*2.5e-6 + 3*10e-6
	if got, _ := raw.Usage.Cost.Float64(); got < want*0.999999 || got > want*1.000001 {
		t.Fatalf("usage.cost = %s, want %g", raw.Usage.Cost, want)
	}

	up := g.Up.Last()
	if got := up.Header.Get("Authorization"); got != "Bearer "+upstreamKey {
		t.Fatalf("upstream Authorization = %q, want the provider key", got)
	}
	var sent struct{ Model string }
	_ = json.Unmarshal(up.Body, &sent)
	if sent.Model != "gpt-4o-2024-08-06" {
		t.Fatalf("upstream model = %q, want the route's model", sent.Model)
	}
}

// fakeupstreamOpts makes the fake answer with a fixed reply.
func fakeupstreamOpts(reply string) fakeOpts {
	return fakeOpts{Default: fakeBehavior{Reply: reply}}
}

func TestClientHeadersAreNotForwarded(t *testing.T) {
	g := start(t, opts{})
	c := g.client(option.WithHeader("Cookie", "session=abc"), option.WithHeader("X-Forwarded-For", "10.1.2.3"),
		option.WithHeader("OpenAI-Organization", "org-client"))
	if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	h := g.Up.Last().Header
	for _, name := range []string{"Cookie", "X-Forwarded-For", "Openai-Organization"} {
		if v := h.Get(name); v != "" {
			t.Errorf("client header %s reached the upstream: %q", name, v)
		}
	}
	if strings.Contains(h.Get("Authorization"), g.Key) {
		t.Fatal("the client's key reached the upstream")
	}
}

func TestChatStreamingWithoutIncludeUsage(t *testing.T) {
	g := start(t, opts{up: fakeupstreamOpts("one two three four")})
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: userMsg("count"),
	})
	var text strings.Builder
	var last openai.ChatCompletionChunk
	n := 0
	for stream.Next() {
		ch := stream.Current()
		// The seeds' loop: chunk.choices[0].delta.content must never crash.
		if len(ch.Choices) == 0 {
			t.Fatalf("chunk %d has empty choices though the client did not ask for usage: %s", n, ch.RawJSON())
		}
		text.WriteString(ch.Choices[0].Delta.Content)
		if !strings.HasPrefix(ch.ID, "gen-") || ch.Model != "gpt-4o" {
			t.Fatalf("chunk id %q model %q", ch.ID, ch.Model)
		}
		last = ch
		n++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != "one two three four" {
		t.Fatalf("text = %q", text.String())
	}
	if last.Choices[0].FinishReason != "stop" || last.Usage.CompletionTokens != 4 {
		t.Fatalf("last chunk should carry finish_reason and usage: %s", last.RawJSON())
	}
	// The gateway asked the upstream for usage even though the client did not.
	if !strings.Contains(string(g.Up.Last().Body), `"include_usage":true`) {
		t.Fatalf("upstream body lacks include_usage: %s", g.Up.Last().Body)
	}
}

func TestChatStreamingWithIncludeUsage(t *testing.T) {
	g := start(t, opts{up: fakeupstreamOpts("a b")})
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: userMsg("x"),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)},
	})
	acc := openai.ChatCompletionAccumulator{}
	var last openai.ChatCompletionChunk
	for stream.Next() {
		last = stream.Current()
		acc.AddChunk(last)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(last.Choices) != 0 || last.Usage.TotalTokens == 0 {
		t.Fatalf("final chunk should be the usage-only chunk: %s", last.RawJSON())
	}
	if !strings.Contains(last.RawJSON(), `"cost":`) {
		t.Fatalf("usage chunk lacks cost: %s", last.RawJSON())
	}
	if acc.Choices[0].Message.Content != "a b" {
		t.Fatalf("accumulated %q", acc.Choices[0].Message.Content)
	}
}

func TestModelNameForms(t *testing.T) {
	g := start(t, opts{})
	tests := []struct {
		name, model, wantUpstream string
	}{
		{name: "catalogue id", model: "gpt-4o", wantUpstream: "gpt-4o-2024-08-06"},
		{name: "alias", model: "openai/gpt-4o", wantUpstream: "gpt-4o-2024-08-06"},
		{name: "provider colon model", model: "fake:deepseek-chat", wantUpstream: "deepseek-chat"},
		{name: "provider slash model with slash", model: "fake/meta-llama/llama-3-70b", wantUpstream: "meta-llama/llama-3-70b"},
		{name: "provider colon model with colon", model: "fake:qwen:7b", wantUpstream: "qwen:7b"},
		{name: "pattern", model: "fake-anything", wantUpstream: "fake-anything"},
		{name: "catch-all", model: "glm-5", wantUpstream: "glm-5"},
		{name: "unknown provider prefix goes to catch-all", model: "deepseek:deepseek-chat", wantUpstream: "deepseek:deepseek-chat"},
		{name: "nitro suffix", model: "gpt-4o:nitro", wantUpstream: "gpt-4o-2024-08-06"},
		{name: "floor suffix on provider form", model: "fake/some-model:floor", wantUpstream: "some-model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: tt.model, Messages: userMsg("hi")})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Model != tt.model {
				t.Fatalf("response model %q, want the requested %q", resp.Model, tt.model)
			}
			var sent struct{ Model string }
			_ = json.Unmarshal(g.Up.Last().Body, &sent)
			if sent.Model != tt.wantUpstream {
				t.Fatalf("upstream got model %q, want %q", sent.Model, tt.wantUpstream)
			}
		})
	}
}

func TestBaseURLForms(t *testing.T) {
	g := start(t, opts{})
	for _, base := range []string{"/v1", "/v1/", "/api/v1", "/api/v1/"} {
		t.Run("sdk "+base, func(t *testing.T) {
			c := g.client(option.WithBaseURL(g.URL + base))
			if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}); err != nil {
				t.Fatal(err)
			}
			page, err := c.Models.List(context.Background())
			if err != nil || len(page.Data) == 0 {
				t.Fatalf("models: %v", err)
			}
		})
	}
	for _, path := range []string{"/v1/chat/completions", "/v1//chat/completions", "/v1/chat/completions/", "/api/v1/chat/completions"} {
		t.Run("full path "+path, func(t *testing.T) {
			resp := g.post(t, path, g.Key, `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp.Body))
			}
		})
	}
}

func TestUnknownParametersReachUpstreamByteForByte(t *testing.T) {
	g := start(t, opts{})
	// Seed shapes: provider-specific fields, a provider tool, a file part,
	// reasoning_effort, response_format, in unusual formatting.
	body := `{"model":"fake:qwen-max",  "messages":[{"role":"user","content":[{"type":"text","text":"analyze"},{"type":"file","file":{"url":"https://example.com/document.pdf"}}]}],
 "enable_search":true,"search_options":{"search_strategy":"standard","forced_search":false},
 "enable_thinking": true, "reasoning_effort":"high", "search_parameters":{"mode":"auto","return_citations":true},
 "tools":[{"type":"web_search_20250305","name":"web_search","max_uses":5}],
 "response_format":{"type":"json_schema","json_schema":{"name":"Answer","schema":{"type":"object","properties":{"summary":{"type":"string"}},"required":["summary"]}}},
 "x_unknown_vendor_field": {"nested": [1, 2.50, "三"]}}`
	resp := g.post(t, "/v1/chat/completions", g.Key, body)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp.Body))
	}
	want := strings.Replace(body, `"fake:qwen-max"`, `"qwen-max"`, 1)
	if got := string(g.Up.Last().Body); got != want {
		t.Fatalf("upstream body differs:\n got %s\nwant %s", got, want)
	}

	// The SDK's way of sending extra fields.
	c := g.client(option.WithJSONSet("enable_search", true), option.WithJSONSet("search_options", map[string]any{"forced_search": true}))
	if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	up := string(g.Up.Last().Body)
	if !strings.Contains(up, `"enable_search":true`) || !strings.Contains(up, `"forced_search":true`) {
		t.Fatalf("SDK extra fields lost: %s", up)
	}
}

func weatherTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
		Name:        "get_weather",
		Description: openai.String("Get weather information by city"),
		Parameters: openai.FunctionParameters{
			"type":       "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}},
			"required":   []string{"city"},
		},
	})
}

func TestToolCalls(t *testing.T) {
	g := start(t, opts{})
	params := openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: userMsg("What is the weather in Shanghai?"),
		Tools: []openai.ChatCompletionToolUnionParam{weatherTool()},
	}
	resp, err := g.client().Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	calls := resp.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Name != "get_weather" || resp.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("tool calls = %+v finish %q", calls, resp.Choices[0].FinishReason)
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(calls[0].Function.Arguments), &args); err != nil || args["city"] == "" {
		t.Fatalf("arguments %q: %v", calls[0].Function.Arguments, err)
	}

	// Streamed: arguments split across deltas reassemble in the SDK's accumulator.
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), params)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	sc := acc.Choices[0].Message.ToolCalls
	if len(sc) != 1 || sc[0].Function.Name != "get_weather" || sc[0].Function.Arguments != calls[0].Function.Arguments {
		t.Fatalf("streamed tool call = %+v, want %+v", sc, calls)
	}
}

func TestEmbeddings(t *testing.T) {
	g := start(t, opts{})
	resp, err := g.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "fake:text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 2 || len(resp.Data[0].Embedding) == 0 || resp.Usage.PromptTokens == 0 {
		t.Fatalf("embeddings = %+v", resp)
	}
	if g.Up.Last().Path != "/v1/embeddings" {
		t.Fatalf("upstream path %q", g.Up.Last().Path)
	}
}

func TestLegacyCompletions(t *testing.T) {
	g := start(t, opts{up: fakeupstreamOpts("legacy text")})
	resp, err := g.client().Completions.New(context.Background(), openai.CompletionNewParams{
		Model:  "fake:gpt-3.5-turbo-instruct",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Say")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Text != "legacy text" || !strings.HasPrefix(resp.ID, "gen-") {
		t.Fatalf("completion = %s", resp.RawJSON())
	}
}

func TestModelsList(t *testing.T) {
	g := start(t, opts{})
	page, err := g.client().Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, m := range page.Data {
		ids[m.ID] = m.RawJSON()
	}
	gpt, ok := ids["gpt-4o"]
	if !ok || !strings.Contains(gpt, `"context_length":128000`) || !strings.Contains(gpt, `"prompt":"0.0000025"`) || !strings.Contains(gpt, `"completion":"0.00001"`) {
		t.Fatalf("gpt-4o entry = %s", gpt)
	}
	if m, ok := ids["fake-listed"]; !ok || !strings.Contains(m, `"prompt":"0.000001"`) {
		t.Fatalf("provider-exposed model missing or without the provider's default price: %v", ids)
	}
	m, err := g.client().Models.Get(context.Background(), "openai/gpt-4o")
	if err != nil || m.ID != "openai/gpt-4o" {
		t.Fatalf("GET /models/openai/gpt-4o = %+v, %v", m, err)
	}
}
