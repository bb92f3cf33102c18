package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// bedrockUpConfig sends claude-bedrock to a cross-region inference profile
// and nova-* to foundation models, on a Bedrock provider (the fake) signed
// with SigV4. The fake re-signs each request with FAKE_KEY as the secret
// key and refuses a signature that differs.
const bedrockUpConfig = `
providers:
  - name: bedrock
    type: bedrock
    base_url: "${FAKE_URL}"
    region: eu-central-1
    access_key_id: AKIAFAKEEXAMPLE
    secret_access_key: "${BEDROCK_SECRET}"
models:
  - id: claude-bedrock
    pricing: { prompt: 3.00, completion: 15.00, cached_prompt: 0.30, cache_write: 3.75 }
    routes: [{ provider: bedrock, model: "us.anthropic.claude-3-5-sonnet-20240620-v1:0" }]
  - id: "amazon.nova-*"
    pricing: { prompt: 0.80, completion: 3.20 }
    routes: [{ provider: bedrock }]
`

// bedrockOpts starts the gateway with bedrockUpConfig, its secret key the
// one the fake checks signatures with, and the fake answering as b.
func bedrockOpts(b fakeBehavior) opts {
	return opts{yaml: bedrockUpConfig, env: map[string]string{"BEDROCK_SECRET": upstreamKey}, up: fakeOpts{Default: b}}
}

// bedrockCost is usage × claude-bedrock's prices, in nano-dollars.
func bedrockCost(plain, cached, written, completion int64) money.Nanos {
	return money.Nanos(plain*3000 + cached*300 + written*3750 + completion*15000)
}

// bedrockSent is the part of the upstream Converse body the tests read.
type bedrockSent struct {
	Messages []struct {
		Role    string                       `json:"role"`
		Content []map[string]json.RawMessage `json:"content"`
	} `json:"messages"`
	System []struct {
		Text string `json:"text"`
	} `json:"system"`
	InferenceConfig *struct {
		MaxTokens     int64    `json:"maxTokens"`
		Temperature   *float64 `json:"temperature"`
		StopSequences []string `json:"stopSequences"`
	} `json:"inferenceConfig"`
	ToolConfig *struct {
		Tools []struct {
			ToolSpec struct {
				Name string `json:"name"`
			} `json:"toolSpec"`
		} `json:"tools"`
		ToolChoice json.RawMessage `json:"toolChoice"`
	} `json:"toolConfig"`
}

func lastBedrockBody(t *testing.T, g *gateway) bedrockSent {
	t.Helper()
	var s bedrockSent
	if err := json.Unmarshal(g.Up.Last().Body, &s); err != nil {
		t.Fatalf("upstream body: %v: %s", err, g.Up.Last().Body)
	}
	return s
}

// checkSigned: the request reached the fake signed with SigV4 for bedrock
// in the configured region (the fake verified the signature itself), and
// carries no other credential.
func checkSigned(t *testing.T, up fakeupstream.Request) {
	t.Helper()
	auth := up.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIAFAKEEXAMPLE/") || !strings.Contains(auth, "/eu-central-1/bedrock/aws4_request") {
		t.Fatalf("Authorization = %q", auth)
	}
	if up.Header.Get("X-Amz-Date") == "" || strings.Contains(strings.Join(headerValues(up.Header), " "), upstreamKey) {
		t.Fatalf("headers %v", up.Header)
	}
}

func headerValues(h http.Header) []string {
	var out []string
	for _, v := range h {
		out = append(out, v...)
	}
	return out
}

func TestOpenAIClientToBedrockUpstream(t *testing.T) {
	g := start(t, bedrockOpts(fakeBehavior{Reply: "Hello from Bedrock"}))
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:       "claude-bedrock",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Hi there")},
		Temperature: openai.Float(0.25),
		MaxTokens:   openai.Int(50),
		Stop:        openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := resp.Choices[0]
	if ch.Message.Content != "Hello from Bedrock" || ch.FinishReason != "stop" || resp.Model != "claude-bedrock" || !strings.HasPrefix(resp.ID, "gen-") {
		t.Fatalf("response = %s", resp.RawJSON())
	}
	u := resp.Usage
	if u.PromptTokens == 0 || u.CompletionTokens != 3 || u.TotalTokens != u.PromptTokens+3 {
		t.Fatalf("usage = %s", resp.RawJSON())
	}
	want := bedrockCost(u.PromptTokens, 0, 0, 3)
	if got := sdkCost(t, resp.RawJSON()); got != want {
		t.Fatalf("usage.cost %s, want %s", got, want)
	}

	up := g.Up.Last()
	// The model id's colon is escaped in the path, as AWS's SDKs send it.
	if up.Method != http.MethodPost || up.Path != "/model/us.anthropic.claude-3-5-sonnet-20240620-v1:0/converse" {
		t.Fatalf("upstream request %s %s", up.Method, up.Path)
	}
	checkSigned(t, up)
	sent := lastBedrockBody(t, g)
	if len(sent.Messages) != 1 || sent.Messages[0].Role != "user" || string(sent.Messages[0].Content[0]["text"]) != `"Hi there"` {
		t.Fatalf("messages: %s", up.Body)
	}
	if len(sent.System) != 1 || sent.System[0].Text != "Be brief." {
		t.Fatalf("system: %s", up.Body)
	}
	ic := sent.InferenceConfig
	if ic == nil || ic.MaxTokens != 50 || ic.Temperature == nil || *ic.Temperature != 0.25 || strings.Join(ic.StopSequences, "|") != "END" {
		t.Fatalf("inferenceConfig: %s", up.Body)
	}

	// Metered and charged: the ledger holds the same usage and cost.
	g.flush(t)
	gen, err := g.Store.GetGeneration(context.Background(), resp.ID)
	if err != nil || gen.Cost != want || gen.TokensPrompt != u.PromptTokens || gen.TokensCompletion != 3 || gen.Provider != "bedrock" ||
		gen.UpstreamModel != "us.anthropic.claude-3-5-sonnet-20240620-v1:0" {
		t.Fatalf("stored generation: %+v, %v", gen, err)
	}
}

// TestBedrockUpstreamCacheTokensArePriced: Bedrock reports cache reads
// and writes apart from inputTokens; they are part of prompt_tokens and
// priced at the cached and cache-write prices. (The fake reports cache use
// when the request marks a cachePoint, which cache_control becomes; an
// OpenAI client cannot send cache_control, so this one speaks Anthropic.)
func TestBedrockUpstreamCacheTokensArePriced(t *testing.T) {
	g := start(t, bedrockOpts(fakeBehavior{Reply: "cached answer"}))
	resp := g.post(t, "/v1/messages", g.Key, `{"model":"claude-bedrock","max_tokens":100,
		"system":[{"type":"text","text":"Long instructions","cache_control":{"type":"ephemeral"}}],
		"messages":[{"role":"user","content":"hi"}]}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp.Body))
	}
	var m struct {
		ID    string
		Usage struct {
			InputTokens              int64 `json:"input_tokens"`
			OutputTokens             int64 `json:"output_tokens"`
			CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
			CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Usage.CacheReadInputTokens != fakeupstream.BedrockCacheRead || m.Usage.CacheCreationInputTokens != fakeupstream.BedrockCacheWrite || m.Usage.OutputTokens != 2 {
		t.Fatalf("usage %+v", m.Usage)
	}
	if !strings.Contains(string(g.Up.Last().Body), `{"cachePoint":{"type":"default"}}`) {
		t.Fatalf("cache_control did not become a cachePoint: %s", g.Up.Last().Body)
	}
	g.flush(t)
	gen, err := g.Store.GetGeneration(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := bedrockCost(m.Usage.InputTokens, fakeupstream.BedrockCacheRead, fakeupstream.BedrockCacheWrite, 2)
	if gen.Cost != want || gen.TokensCached != fakeupstream.BedrockCacheRead ||
		gen.TokensPrompt != m.Usage.InputTokens+fakeupstream.BedrockCacheRead+fakeupstream.BedrockCacheWrite {
		t.Fatalf("stored generation: %+v, want cost %s", gen, want)
	}
}

func TestOpenAIStreamFromBedrockUpstream(t *testing.T) {
	const reply = "one two three four five"
	g := start(t, bedrockOpts(fakeBehavior{Reply: reply}))
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "claude-bedrock", Messages: userMsg("count"),
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
	if acc.Choices[0].Message.Content != reply || acc.Choices[0].FinishReason != "stop" {
		t.Fatalf("accumulated %q finish %q", acc.Choices[0].Message.Content, acc.Choices[0].FinishReason)
	}
	if len(last.Choices) != 0 || last.Usage.CompletionTokens != 5 || last.Usage.PromptTokens == 0 {
		t.Fatalf("last chunk should be the usage: %s", last.RawJSON())
	}
	if got, want := sdkCost(t, last.RawJSON()), bedrockCost(last.Usage.PromptTokens, 0, 0, 5); got != want {
		t.Fatalf("usage.cost %s, want %s", got, want)
	}
	up := g.Up.Last()
	if up.Path != "/model/us.anthropic.claude-3-5-sonnet-20240620-v1:0/converse-stream" {
		t.Fatalf("upstream path %s", up.Path)
	}
	checkSigned(t, up)
}

func TestOpenAIToolCallsFromBedrockUpstream(t *testing.T) {
	g := start(t, bedrockOpts(fakeBehavior{Reply: "It is sunny."}))
	tools := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
		Name: "get_weather", Description: openai.String("Weather by city"),
		Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
	})}
	for _, streamed := range []bool{false, true} {
		t.Run("stream="+map[bool]string{false: "off", true: "on"}[streamed], func(t *testing.T) {
			params := openai.ChatCompletionNewParams{Model: "amazon.nova-pro-v1:0", Messages: userMsg("Weather in Paris?"), Tools: tools,
				ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")}}
			var msg openai.ChatCompletionMessage
			var finish string
			if streamed {
				s := g.client().Chat.Completions.NewStreaming(context.Background(), params)
				acc := openai.ChatCompletionAccumulator{}
				for s.Next() {
					acc.AddChunk(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				msg, finish = acc.Choices[0].Message, acc.Choices[0].FinishReason
			} else {
				resp, err := g.client().Chat.Completions.New(context.Background(), params)
				if err != nil {
					t.Fatal(err)
				}
				msg, finish = resp.Choices[0].Message, resp.Choices[0].FinishReason
			}
			if finish != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" ||
				msg.ToolCalls[0].Function.Arguments != `{"city":"fake-city"}` || !strings.HasPrefix(msg.ToolCalls[0].ID, "tooluse_") {
				t.Fatalf("finish %q message %+v", finish, msg)
			}
			sent := lastBedrockBody(t, g)
			if sent.ToolConfig == nil || len(sent.ToolConfig.Tools) != 1 || sent.ToolConfig.Tools[0].ToolSpec.Name != "get_weather" ||
				string(sent.ToolConfig.ToolChoice) != `{"any":{}}` {
				t.Fatalf("toolConfig: %s", g.Up.Last().Body)
			}
			if g.Up.Last().Path != "/model/amazon.nova-pro-v1:0/"+map[bool]string{false: "converse", true: "converse-stream"}[streamed] {
				t.Fatalf("path %s", g.Up.Last().Path)
			}

			// The tool's result goes back as a toolResult in a user turn,
			// after the assistant's toolUse; the fake then answers.
			call := msg.ToolCalls[0]
			params.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{}
			params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage(`{"temp_c": 21}`, call.ID))
			resp, err := g.client().Chat.Completions.New(context.Background(), params)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Choices[0].Message.Content != "It is sunny." || resp.Choices[0].FinishReason != "stop" {
				t.Fatalf("after the tool: %s", resp.RawJSON())
			}
			sent = lastBedrockBody(t, g)
			if len(sent.Messages) != 3 || sent.Messages[1].Role != "assistant" || sent.Messages[2].Role != "user" {
				t.Fatalf("messages: %s", g.Up.Last().Body)
			}
			var tu struct {
				ToolUseID string          `json:"toolUseId"`
				Input     json.RawMessage `json:"input"`
			}
			var tr struct {
				ToolUseID string `json:"toolUseId"`
				Content   []struct {
					JSON json.RawMessage `json:"json"`
				} `json:"content"`
			}
			_ = json.Unmarshal(sent.Messages[1].Content[len(sent.Messages[1].Content)-1]["toolUse"], &tu)
			_ = json.Unmarshal(sent.Messages[2].Content[0]["toolResult"], &tr)
			if tu.ToolUseID != call.ID || string(tu.Input) != `{"city":"fake-city"}` || tr.ToolUseID != call.ID || len(tr.Content) != 1 || string(tr.Content[0].JSON) != `{"temp_c":21}` {
				t.Fatalf("tool round trip: %s", g.Up.Last().Body)
			}
		})
	}
}

// TestBedrockUpstreamWrongSecretIsTheOperatorsError: a secret key the
// fake's signature check refuses (AWS's 403 InvalidSignatureException)
// is a 502 that names the provider's credentials, not the client's key,
// and never carries either secret.
func TestBedrockUpstreamWrongSecretIsTheOperatorsError(t *testing.T) {
	const wrong = "wrong-secret-key-0123456789abcdef"
	g := start(t, opts{yaml: bedrockUpConfig, env: map[string]string{"BEDROCK_SECRET": wrong}})
	for _, stream := range []string{"false", "true"} {
		resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"claude-bedrock","stream":`+stream+`,"messages":[{"role":"user","content":"hi"}]}`)
		body := readAll(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "rejected the gateway's credentials") || !strings.Contains(body, "'bedrock'") {
			t.Fatalf("stream=%s: status %d: %s", stream, resp.StatusCode, body)
		}
		if strings.Contains(body, wrong) || strings.Contains(body, upstreamKey) {
			t.Fatalf("the error carries a secret: %s", body)
		}
	}
	if n := len(g.Up.Requests()); n != 2 {
		t.Fatalf("upstream got %d requests, want 2", n)
	}
}

func TestBedrockUpstreamErrorsMapToOpenAIEnvelope(t *testing.T) {
	tests := []struct {
		name       string
		b          fakeBehavior
		status     int
		code       string
		mention    string
		retryAfter string
	}{
		{name: "ValidationException", b: fakeBehavior{Status: 400, Message: "Malformed input request: #: extraneous key [foo]"}, status: 400, code: "invalid_request_error", mention: "extraneous key"},
		{name: "ThrottlingException", b: fakeBehavior{Status: 429, Message: "Too many requests, please wait before trying again.", RetryAfter: "3"}, status: 429, code: "rate_limit_exceeded", mention: "Too many requests", retryAfter: "3"},
		{name: "AccessDeniedException", b: fakeBehavior{Status: 403, Message: "You don't have access to the model with the specified model ID."}, status: 502, code: "upstream_error", mention: "rejected the gateway's credentials"},
		{name: "ResourceNotFoundException", b: fakeBehavior{Status: 404, Message: "The provided model identifier is invalid."}, status: 404, code: "not_found", mention: "model identifier is invalid"},
		{name: "InternalServerException", b: fakeBehavior{Status: 500, Message: "An internal error occurred."}, status: 502, code: "upstream_error", mention: "internal error"},
		{name: "key echoed", b: fakeBehavior{Status: 400, EchoKeyIn: []string{"message", "type", "code"}}, status: 400, code: "invalid_request_error", mention: "[redacted]"},
	}
	for _, tt := range tests {
		for _, stream := range []string{"false", "true"} {
			t.Run(tt.name+"/stream="+stream, func(t *testing.T) {
				g := start(t, bedrockOpts(fakeBehavior{}))
				g.Up.Enqueue(tt.b)
				resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"claude-bedrock","stream":`+stream+`,"messages":[{"role":"user","content":"hi"}]}`)
				defer resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, readAll(t, resp.Body))
				}
				if tt.retryAfter != "" && resp.Header.Get("Retry-After") != tt.retryAfter {
					t.Errorf("Retry-After %q, want %q", resp.Header.Get("Retry-After"), tt.retryAfter)
				}
				e := decodeEnvelope(t, resp)
				if code(e) != tt.code || !strings.Contains(e.Error.Message, tt.mention) || strings.Contains(e.Error.Message, upstreamKey) {
					t.Fatalf("code %q message %q; want %q mentioning %q", code(e), e.Error.Message, tt.code, tt.mention)
				}
			})
		}
	}

	// Through the SDK: an *openai.Error with the status.
	g := start(t, bedrockOpts(fakeBehavior{}))
	g.Up.Enqueue(fakeBehavior{Status: 400, Message: "The text field in the ContentBlock object is blank."})
	_, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "claude-bedrock", Messages: userMsg("hi")})
	var e *openai.Error
	if !errors.As(err, &e) || e.StatusCode != 400 || !strings.Contains(e.Message, "ContentBlock object is blank") {
		t.Fatalf("err = %v", err)
	}
}

// TestBedrockUpstreamStreamDroppedMidwayEndsWithErrorChunk: an event
// stream cut after some messages ends the client's stream with an error
// chunk, never a finish_reason.
func TestBedrockUpstreamStreamDroppedMidwayEndsWithErrorChunk(t *testing.T) {
	g := start(t, bedrockOpts(fakeBehavior{DropAfterChunks: 4, Words: 20}))
	resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"claude-bedrock","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	data, _ := sseEvents(t, resp)
	checkStreamEndsInError(t, data)
	var text strings.Builder
	for _, d := range data[:len(data)-2] {
		var ch struct {
			Choices []struct{ Delta struct{ Content string } }
		}
		_ = json.Unmarshal([]byte(d), &ch)
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	// messageStart and three text deltas came before the drop.
	if got := strings.Fields(text.String()); len(got) != 3 {
		t.Fatalf("relayed %q before the drop, want 3 words", text.String())
	}
}

// TestBedrockUpstreamMalformedStreamEvent: an event whose JSON does not
// parse ends the client's stream with an error chunk.
func TestBedrockUpstreamMalformedStreamEvent(t *testing.T) {
	g := start(t, bedrockOpts(fakeBehavior{MalformedJSON: true, Words: 5}))
	resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"claude-bedrock","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	defer resp.Body.Close()
	data, _ := sseEvents(t, resp)
	if resp.StatusCode == 200 {
		checkStreamEndsInError(t, data)
	} else if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// TestBedrockProviderThroughTheAPI: AWS secret keys are refused by the
// management API (only api_key is stored encrypted), without echoing the
// key, and nothing is stored.
func TestBedrockProviderThroughTheAPI(t *testing.T) {
	g := start(t, bedrockOpts(fakeBehavior{Reply: "via the API"}))
	st, body := g.adminRaw(t, "POST", "/api/v1/providers", g.AdminKey,
		`{"name":"bk2","type":"bedrock","region":"us-east-1","base_url":"`+g.Up.URL+`","access_key_id":"AKIAX","secret_access_key":"`+upstreamKey+`"}`)
	if st != http.StatusBadRequest || !strings.Contains(body, "cannot be stored through the API") || strings.Contains(body, upstreamKey) {
		t.Fatalf("status %d: %s", st, body)
	}
	if st, _ := g.adminRaw(t, "GET", "/api/v1/providers/bk2", g.AdminKey, ""); st != http.StatusNotFound {
		t.Fatalf("the refused provider was stored: %d", st)
	}
}

// TestBedrockUpstreamReasoning: reasoning_effort reaches a Claude model on
// Bedrock as additionalModelRequestFields.thinking with a token budget
// (and maxTokens above it); Bedrock's reasoningContent comes back as
// reasoning_content, whole and streamed before the text, billed as output.
func TestBedrockUpstreamReasoning(t *testing.T) {
	const thought = "roots of a quadratic"
	g := start(t, bedrockOpts(fakeBehavior{Reply: "x is 1 or -3", Reasoning: thought}))
	params := openai.ChatCompletionNewParams{Model: "claude-bedrock", Messages: userMsg("solve x^2 + 2x - 3 = 0"), ReasoningEffort: openai.ReasoningEffortLow}
	resp, err := g.client().Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	if msg.Content != "x is 1 or -3" || reasoningContentOf(t, msg.RawJSON()) != thought {
		t.Fatalf("response %s", resp.RawJSON())
	}
	if u := resp.Usage; u.CompletionTokens != 5+4 || sdkCost(t, resp.RawJSON()) != bedrockCost(u.PromptTokens, 0, 0, u.CompletionTokens) {
		t.Fatalf("usage %s", resp.RawJSON())
	}
	var sent struct {
		InferenceConfig struct {
			MaxTokens int64 `json:"maxTokens"`
		} `json:"inferenceConfig"`
		Additional struct {
			Thinking struct {
				Type         string `json:"type"`
				BudgetTokens int64  `json:"budget_tokens"`
			} `json:"thinking"`
		} `json:"additionalModelRequestFields"`
	}
	if err := json.Unmarshal(g.Up.Last().Body, &sent); err != nil || sent.Additional.Thinking.Type != "enabled" ||
		sent.Additional.Thinking.BudgetTokens != 1024 || sent.InferenceConfig.MaxTokens <= 1024 {
		t.Fatalf("thinking not requested: %s", g.Up.Last().Body)
	}

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)}
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), params)
	var reasoning, text strings.Builder
	for stream.Next() {
		ch := stream.Current()
		if len(ch.Choices) == 0 {
			continue
		}
		r := reasoningContentOf(t, ch.Choices[0].Delta.RawJSON())
		if r != "" && text.Len() > 0 {
			t.Fatalf("reasoning after the answer began: %s", ch.RawJSON())
		}
		reasoning.WriteString(r)
		text.WriteString(ch.Choices[0].Delta.Content)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if reasoning.String() != thought || text.String() != "x is 1 or -3" {
		t.Fatalf("streamed reasoning %q text %q", reasoning.String(), text.String())
	}
}

// TestBedrockUpstreamOtherCredentials: a Bedrock API key (api_key) is sent
// as a bearer token and nothing is SigV4-signed; without keys in the
// config the AWS default credential chain (here the environment) signs,
// and the fake verifies that signature with the secret it was given.
func TestBedrockUpstreamOtherCredentials(t *testing.T) {
	t.Run("api key", func(t *testing.T) {
		g := start(t, opts{yaml: `
providers:
  - { name: bedrock, type: bedrock, region: us-west-2, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}" }
`})
		resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "bedrock/amazon.nova-micro-v1:0", Messages: userMsg("hi")})
		if err != nil {
			t.Fatal(err)
		}
		up := g.Up.Last()
		if resp.Choices[0].Message.Content == "" || up.Header.Get("Authorization") != "Bearer "+upstreamKey || up.Header.Get("X-Amz-Date") != "" {
			t.Fatalf("upstream headers %v", up.Header)
		}
	})
	t.Run("default chain", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT")
		t.Setenv("AWS_SECRET_ACCESS_KEY", upstreamKey)
		t.Setenv("AWS_SESSION_TOKEN", "session-from-environment")
		t.Setenv("AWS_PROFILE", "")
		t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
		t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		g := start(t, opts{yaml: `
providers:
  - { name: bedrock, type: bedrock, region: ap-northeast-1, base_url: "${FAKE_URL}" }
`})
		resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "bedrock/apac.amazon.nova-lite-v1:0", Messages: userMsg("hi")})
		if err != nil {
			t.Fatal(err)
		}
		up := g.Up.Last()
		if resp.Choices[0].Message.Content == "" || !strings.HasPrefix(up.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIAFROMENVIRONMENT/") ||
			!strings.Contains(up.Header.Get("Authorization"), "/ap-northeast-1/bedrock/") || up.Header.Get("X-Amz-Security-Token") != "session-from-environment" {
			t.Fatalf("upstream headers %v", up.Header)
		}
	})
}
