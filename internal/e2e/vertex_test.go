package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// vertexAccount is the service account of these tests (a key is slow to make).
var vertexAccount = sync.OnceValue(fakeupstream.NewServiceAccount)

// vertexConfig routes a Gemini and a Claude model to one vertex provider
// whose base URL is the fake and whose credentials are the service
// account's key file (its token_uri the fake's token endpoint).
const vertexConfig = `
providers:
  - { name: vertex, type: vertex, project: my-proj, location: us-east5, base_url: "${FAKE_URL}", credentials_file: "${SA_FILE}" }
models:
  - id: gemini-2.5-flash
    pricing: { prompt: 0.30, completion: 2.50 }
    routes: [{ provider: vertex }]
  - id: claude-sonnet-4-5
    pricing: { prompt: 3.00, completion: 15.00 }
    routes: [{ provider: vertex, model: "claude-sonnet-4-5@20250929" }]
`

const (
	vertexGeminiPath = "/v1/projects/my-proj/locations/us-east5/publishers/google/models/gemini-2.5-flash"
	vertexClaudePath = "/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929"
)

// vertexKeyFile writes the account's key file for the fake at upURL.
func vertexKeyFile(t *testing.T, upURL string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(f, vertexAccount().JSON(upURL+"/token"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// startVertex is a gateway in front of a fake Vertex AI.
func startVertex(t *testing.T, b fakeBehavior) *gateway {
	t.Helper()
	up := fakeupstream.New(fakeOpts{ServiceAccount: vertexAccount(), Default: b})
	t.Cleanup(up.Close)
	g := startWith(t, opts{yaml: vertexConfig, env: map[string]string{"SA_FILE": vertexKeyFile(t, up.URL)}}, up.URL)
	g.Up = up
	return g
}

// checkVertexUpstream wants the last upstream request at path with a
// minted token and no other credential, and returns its body.
func checkVertexUpstream(t *testing.T, g *gateway, path string) []byte {
	t.Helper()
	up := g.Up.Last()
	if p := up.Path + map[bool]string{true: "?" + up.RawQuery}[up.RawQuery != ""]; p != path {
		t.Fatalf("upstream path %s, want %s", p, path)
	}
	if a := up.Header.Get("Authorization"); !strings.HasPrefix(a, "Bearer ya29.fake-") {
		t.Fatalf("upstream Authorization %q, want a minted token", a)
	}
	for _, h := range []string{"X-Goog-Api-Key", "X-Api-Key"} {
		if up.Header.Get(h) != "" {
			t.Fatalf("upstream %s set", h)
		}
	}
	return up.Body
}

// checkClaudeEnvelope: a Claude body on Vertex AI names no model and
// carries Vertex AI's anthropic_version.
func checkClaudeEnvelope(t *testing.T, body []byte) {
	t.Helper()
	if gjson.GetBytes(body, "model").Exists() || gjson.GetBytes(body, "anthropic_version").String() != "vertex-2023-10-16" {
		t.Fatalf("Claude body %s", body)
	}
}

// checkNoSecretsLogged: neither the private key nor a token is in the logs.
func checkNoSecretsLogged(t *testing.T, g *gateway) {
	t.Helper()
	logs := g.Logs.String()
	key := gjson.GetBytes(vertexAccount().JSON(""), "private_key").String()
	for _, line := range strings.Split(key, "\n")[1:3] {
		if strings.Contains(logs, line) {
			t.Fatal("the private key is in the logs")
		}
	}
	if strings.Contains(logs, "ya29.") {
		t.Fatal("an access token is in the logs")
	}
}

func TestOpenAIClientToGeminiOnVertex(t *testing.T) {
	g := startVertex(t, fakeBehavior{Reply: "Hello from Vertex Gemini"})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: userMsg("Hi")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Hello from Vertex Gemini" || resp.Choices[0].FinishReason != "stop" || resp.Usage.PromptTokens == 0 {
		t.Fatalf("response %s", resp.RawJSON())
	}
	want := money.Nanos(resp.Usage.PromptTokens*300 + resp.Usage.CompletionTokens*2500)
	if got := sdkCost(t, resp.RawJSON()); got != want {
		t.Fatalf("usage.cost %s, want %s", got, want)
	}
	body := checkVertexUpstream(t, g, vertexGeminiPath+":generateContent")
	if gjson.GetBytes(body, "contents.0.parts.0.text").String() != "Hi" {
		t.Fatalf("upstream body %s", body)
	}
	gen := g.waitGeneration(t, resp.ID)
	if gen.Provider != "vertex" || gen.UpstreamModel != "gemini-2.5-flash" || gen.Cost != want || gen.UsageEstimated || gen.TokensPrompt != resp.Usage.PromptTokens {
		t.Fatalf("generation %+v, want cost %s", gen, want)
	}
	if g.Up.TokensMinted() != 1 {
		t.Fatalf("%d tokens minted", g.Up.TokensMinted())
	}
	checkNoSecretsLogged(t, g)
}

func TestOpenAIStreamFromGeminiOnVertex(t *testing.T) {
	g := startVertex(t, fakeBehavior{Reply: "one two three"})
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "gemini-2.5-flash", Messages: userMsg("count"),
	})
	text, _, last := streamText(t, stream)
	if strings.TrimSpace(text) != "one two three" || last.Usage.CompletionTokens == 0 {
		t.Fatalf("text %q last %s", text, last.RawJSON())
	}
	want := money.Nanos(last.Usage.PromptTokens*300 + last.Usage.CompletionTokens*2500)
	if got := sdkCost(t, last.RawJSON()); got != want {
		t.Fatalf("usage.cost %s, want %s", got, want)
	}
	checkVertexUpstream(t, g, vertexGeminiPath+":streamGenerateContent?alt=sse")
	gen := g.waitGeneration(t, last.ID)
	if !gen.Streamed || gen.Provider != "vertex" || gen.Cost != want || gen.UsageEstimated {
		t.Fatalf("generation %+v, want cost %s", gen, want)
	}
}

// checkToolCallsWholeAndStreamed asks model for a get_weather call, whole
// and streamed, and wants the same call both ways.
func checkToolCallsWholeAndStreamed(t *testing.T, g *gateway, model string) {
	t.Helper()
	params := openai.ChatCompletionNewParams{
		Model: model, Messages: userMsg("weather in Shanghai?"),
		Tools:         []openai.ChatCompletionToolUnionParam{weatherTool()},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)},
	}
	resp, err := g.client().Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	calls := resp.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Name != "get_weather" || resp.Choices[0].FinishReason != "tool_calls" || !json.Valid([]byte(calls[0].Function.Arguments)) {
		t.Fatalf("tool calls %+v finish %q", calls, resp.Choices[0].FinishReason)
	}
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
		t.Fatalf("streamed tool call %+v, want arguments %s", sc, calls[0].Function.Arguments)
	}
}

func TestOpenAIToolCallsFromGeminiOnVertex(t *testing.T) {
	g := startVertex(t, fakeBehavior{})
	checkToolCallsWholeAndStreamed(t, g, "gemini-2.5-flash")
	body := checkVertexUpstream(t, g, vertexGeminiPath+":streamGenerateContent?alt=sse")
	if gjson.GetBytes(body, "tools.0.functionDeclarations.0.name").String() != "get_weather" {
		t.Fatalf("upstream body %s", body)
	}
}

func TestOpenAIClientToClaudeOnVertex(t *testing.T) {
	g := startVertex(t, fakeBehavior{Reply: "Hello from Vertex Claude"})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("Hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Hello from Vertex Claude" || resp.Model != "claude-sonnet-4-5" || resp.Usage.PromptTokens == 0 {
		t.Fatalf("response %s", resp.RawJSON())
	}
	want := money.Nanos(resp.Usage.PromptTokens*3000 + resp.Usage.CompletionTokens*15000)
	if got := sdkCost(t, resp.RawJSON()); got != want {
		t.Fatalf("usage.cost %s, want %s", got, want)
	}
	body := checkVertexUpstream(t, g, vertexClaudePath+":rawPredict")
	checkClaudeEnvelope(t, body)
	if gjson.GetBytes(body, "system").String() == "" || gjson.GetBytes(body, "max_tokens").Int() == 0 || g.Up.Last().Header.Get("Anthropic-Version") != "" {
		t.Fatalf("upstream body %s headers %v", body, g.Up.Last().Header)
	}
	gen := g.waitGeneration(t, resp.ID)
	if gen.Provider != "vertex" || gen.UpstreamModel != "claude-sonnet-4-5@20250929" || gen.Cost != want || gen.UsageEstimated {
		t.Fatalf("generation %+v, want cost %s", gen, want)
	}

	// Stream.
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "claude-sonnet-4-5", Messages: userMsg("count"),
	})
	text, _, last := streamText(t, stream)
	if strings.TrimSpace(text) != "Hello from Vertex Claude" || last.Usage.CompletionTokens == 0 {
		t.Fatalf("text %q last %s", text, last.RawJSON())
	}
	want = money.Nanos(last.Usage.PromptTokens*3000 + last.Usage.CompletionTokens*15000)
	if got := sdkCost(t, last.RawJSON()); got != want {
		t.Fatalf("stream usage.cost %s, want %s", got, want)
	}
	body = checkVertexUpstream(t, g, vertexClaudePath+":streamRawPredict")
	checkClaudeEnvelope(t, body)
	if !gjson.GetBytes(body, "stream").Bool() {
		t.Fatalf("stream body %s", body)
	}
	// One token served all three calls.
	if g.Up.TokensMinted() != 1 {
		t.Fatalf("%d tokens minted", g.Up.TokensMinted())
	}
	checkNoSecretsLogged(t, g)
}

func TestOpenAIToolCallsFromClaudeOnVertex(t *testing.T) {
	g := startVertex(t, fakeBehavior{})
	checkToolCallsWholeAndStreamed(t, g, "claude-sonnet-4-5")
	body := checkVertexUpstream(t, g, vertexClaudePath+":streamRawPredict")
	checkClaudeEnvelope(t, body)
	if gjson.GetBytes(body, "tools.0.name").String() != "get_weather" {
		t.Fatalf("upstream body %s", body)
	}
}

// TestAnthropicSDKToClaudeOnVertex: an Anthropic client's Messages
// request reaches Claude on Vertex AI by passthrough: the client's body
// with only the model taken out (the path names it) and Vertex AI's
// anthropic_version put in; whole and streamed, tools included; charged.
func TestAnthropicSDKToClaudeOnVertex(t *testing.T) {
	g := startVertex(t, fakeBehavior{Reply: "Sunny and warm."})
	var sent []byte
	var httpResp *http.Response
	params := passthroughParams()
	params.Model = "claude-sonnet-4-5"
	msg, err := g.anthropicClient(captureBody(&sent), aoption.WithResponseInto(&httpResp)).Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Content[0].Text != "Sunny and warm." || msg.StopReason != anthropic.StopReasonEndTurn || msg.Usage.InputTokens <= 0 || msg.Usage.OutputTokens != 3 {
		t.Fatalf("message %s", msg.RawJSON())
	}
	got := jsonMap(t, checkVertexUpstream(t, g, vertexClaudePath+":rawPredict"))
	want := jsonMap(t, sent)
	delete(want, "model")
	want["anthropic_version"] = "vertex-2023-10-16"
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("upstream body differs beyond the envelope:\n got %s\nsent %s", g.Up.Last().Body, sent)
	}
	gen := g.waitGeneration(t, httpResp.Header.Get("X-Generation-Id"))
	wantCost := msg.Usage.InputTokens*3000 + msg.Usage.OutputTokens*15000
	if gen.Provider != "vertex" || gen.UpstreamModel != "claude-sonnet-4-5@20250929" || int64(gen.Cost) != wantCost || gen.UsageEstimated || gen.Status != 200 {
		t.Fatalf("generation %+v, want cost %d", gen, wantCost)
	}

	params.Tools = []anthropic.ToolUnionParam{weatherToolParam()}
	stream := g.anthropicClient(aoption.WithResponseInto(&httpResp)).Messages.NewStreaming(context.Background(), params)
	smsg, types, err := accumulate(t, stream)
	if err != nil {
		t.Fatal(err)
	}
	checkToolUse(t, smsg, "get_weather", map[string]any{"city": "fake", "unit": "fake"})
	checkEventOrder(t, types)
	body := checkVertexUpstream(t, g, vertexClaudePath+":streamRawPredict")
	checkClaudeEnvelope(t, body)
	gen = g.waitGeneration(t, httpResp.Header.Get("X-Generation-Id"))
	wantCost = smsg.Usage.InputTokens*3000 + smsg.Usage.OutputTokens*15000
	if !gen.Streamed || int64(gen.Cost) != wantCost || gen.UsageEstimated || smsg.Usage.OutputTokens <= 0 {
		t.Fatalf("generation %+v, want cost %d", gen, wantCost)
	}
}

// TestGenAISDKToGeminiOnVertex: Google's Gen AI SDK reaches Gemini on
// Vertex AI by passthrough (the client's body as it is, to the publisher
// path), whole and streamed, and Claude on Vertex AI translated.
func TestGenAISDKToGeminiOnVertex(t *testing.T) {
	g := startVertex(t, fakeBehavior{Reply: "Hello from Vertex"})
	resp, err := g.gemini(t).Models.GenerateContent(context.Background(), "gemini-2.5-flash", userContent("Say hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text() != "Hello from Vertex" || resp.UsageMetadata == nil || resp.UsageMetadata.CandidatesTokenCount == 0 {
		t.Fatalf("response %+v", resp)
	}
	body := checkVertexUpstream(t, g, vertexGeminiPath+":generateContent")
	if gjson.GetBytes(body, "contents.0.parts.0.text").String() != "Say hello" {
		t.Fatalf("upstream body %s", body)
	}
	var text strings.Builder
	for ch, err := range g.gemini(t).Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", userContent("count"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(ch.Text())
	}
	if strings.TrimSpace(text.String()) != "Hello from Vertex" {
		t.Fatalf("streamed %q", text.String())
	}
	checkVertexUpstream(t, g, vertexGeminiPath+":streamGenerateContent?alt=sse")

	resp, err = g.gemini(t).Models.GenerateContent(context.Background(), "claude-sonnet-4-5", userContent("Say hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text() != "Hello from Vertex" {
		t.Fatalf("Claude answer %+v", resp)
	}
	checkClaudeEnvelope(t, checkVertexUpstream(t, g, vertexClaudePath+":rawPredict"))
}

// TestVertexErrorsAndRefusedTokens: a Vertex AI error in Google's envelope
// reaches the client as its status and message, an upstream that echoes
// the token does not leak it, and a token endpoint that refuses the key
// is the operator's problem (502), not the client's.
func TestVertexErrorsAndRefusedTokens(t *testing.T) {
	g := startVertex(t, fakeBehavior{})
	g.Up.Enqueue(fakeBehavior{Status: 429, RetryAfter: "3", Message: "Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute"})
	_, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "claude-sonnet-4-5", Messages: userMsg("hi")})
	var e *openai.Error
	if !errors.As(err, &e) || e.StatusCode != 429 || !strings.Contains(e.Message, "Quota exceeded") {
		t.Fatalf("err = %v", err)
	}
	// An upstream that echoes the token it was sent into each field of
	// its error: no client dialect sees it.
	for _, field := range []string{"message", "type", "code", "param"} {
		for _, model := range []string{"gemini-2.5-flash", "claude-sonnet-4-5"} {
			g.Up.Enqueue(fakeBehavior{Status: 400, EchoKeyIn: []string{field}})
			resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
			out := readAll(t, resp.Body)
			resp.Body.Close()
			g.Up.Enqueue(fakeBehavior{Status: 400, EchoKeyIn: []string{field}})
			resp = g.postMessages(t, "/v1/messages", g.Key, `{"model":"`+model+`","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
			out += readAll(t, resp.Body)
			resp.Body.Close()
			if strings.Count(out, `"error"`) < 2 || strings.Contains(out, "ya29.") {
				t.Fatalf("%s echoed by %s: %s", field, model, out)
			}
		}
	}
	checkNoSecretsLogged(t, g)

	// A new gateway whose first token fetch is refused.
	g = startVertex(t, fakeBehavior{})
	g.Up.SetTokenFailure(400)
	_, err = g.client(option.WithMaxRetries(0)).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gemini-2.5-flash", Messages: userMsg("hi")})
	if !errors.As(err, &e) || e.StatusCode != 502 || !strings.Contains(e.Message, "could not get a credential for provider 'vertex'") {
		t.Fatalf("err = %v", err)
	}
	if len(g.Up.Requests()) != 0 {
		t.Fatal("a request went upstream without a token")
	}
	checkNoSecretsLogged(t, g)
}

// TestVertexBadCredentialsFileStopsTheStart: a credentials file the
// gateway cannot use is an error at start that names the provider, the
// file and the fix, and never quotes the key.
func TestVertexBadCredentialsFileStopsTheStart(t *testing.T) {
	good := vertexAccount().JSON("https://oauth2.googleapis.com/token")
	keyLine := strings.Split(gjson.GetBytes(good, "private_key").String(), "\n")[2]
	dir := t.TempDir()
	cases := map[string]struct {
		content string // "" = no file
		want    []string
	}{
		"missing":     {"", []string{"providers[0] (vertex)", "credentials_file", "no such file", "service-account JSON key"}},
		"truncated":   {string(good[:len(good)/2]), []string{"is not a JSON credential", "service-account JSON key"}},
		"bad key":     {strings.Replace(string(good), keyLine, strings.Repeat("x", len(keyLine)), 1), []string{"private_key is not a PEM-encoded RSA private key", "download a new JSON key"}},
		"client info": {`{"installed":{"client_id":"x","client_secret":"y"}}`, []string{`has type ""`, `"type": "service_account"`}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
			if tc.content != "" {
				if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := config.Parse([]byte(vertexConfig), "e2e.yaml", config.MapEnv(map[string]string{"FAKE_URL": "http://127.0.0.1:9", "SA_FILE": file}))
			if err != nil {
				t.Fatalf("config: %v", err)
			}
			st, err := sqlite.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "e2e.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			srv, err := server.New(context.Background(), cfg, server.Options{Store: st, Estimator: counter})
			if err == nil {
				_ = srv.Close(context.Background())
				t.Fatal("the gateway started")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), keyLine[:20]) || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("the error quotes the key: %s", err)
			}
		})
	}
}
