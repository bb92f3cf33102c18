package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
)

// captureBody records the body of every request the SDK sends.
func captureBody(dst *[]byte) aoption.RequestOption {
	return aoption.WithMiddleware(func(r *http.Request, next aoption.MiddlewareNext) (*http.Response, error) {
		if r.Body != nil {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, err
			}
			*dst = b
			r.Body = io.NopCloser(strings.NewReader(string(b)))
		}
		return next(r)
	})
}

func jsonMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

// checkAnthropicUpstream wants the last upstream request to be a Messages
// call with the provider's key (never the client's) and a version header.
func checkAnthropicUpstream(t *testing.T, g *gateway, path string) []byte {
	t.Helper()
	up := g.Up.Last()
	if up.Path != path {
		t.Fatalf("upstream path %q, want %s", up.Path, path)
	}
	if up.Header.Get("X-Api-Key") != upstreamKey || up.Header.Get("Anthropic-Version") == "" || up.Header.Get("Authorization") != "" {
		t.Fatalf("upstream headers %v", up.Header)
	}
	for name, v := range up.Header {
		if strings.Contains(strings.Join(v, ","), g.Key) {
			t.Fatalf("the client's key reached the upstream in %s", name)
		}
	}
	return up.Body
}

// passthroughParams is a request with fields the gateway never reads
// (metadata, cache_control on a block and on the system prompt, top_k,
// stop_sequences) and one that no SDK or gateway knows (x_future).
func passthroughParams() anthropic.MessageNewParams {
	block := anthropic.TextBlockParam{Text: "What is the weather in Shanghai?", CacheControl: anthropic.NewCacheControlEphemeralParam()}
	return anthropic.MessageNewParams{
		Model:     "claude-sonnet",
		MaxTokens: 300,
		System:    []anthropic.TextBlockParam{{Text: "You are terse.", CacheControl: anthropic.NewCacheControlEphemeralParam()}},
		Messages: []anthropic.MessageParam{
			{Role: anthropic.MessageParamRoleUser, Content: []anthropic.ContentBlockParamUnion{{OfText: &block}}},
		},
		Metadata:      anthropic.MetadataParam{UserID: anthropic.String("user-42")},
		TopK:          anthropic.Int(7),
		Temperature:   anthropic.Float(0.25),
		StopSequences: []string{"\n\nHuman:"},
	}
}

func TestMessagesPassthroughToAnthropicUpstream(t *testing.T) {
	g := startMessages(t, fakeOpts{Default: fakeBehavior{Reply: "Sunny and warm."}})
	var sent []byte
	var httpResp *http.Response
	msg, err := g.anthropicClient(captureBody(&sent), aoption.WithResponseInto(&httpResp), aoption.WithJSONSet("x_future", map[string]any{"flag": true, "n": []int{1, 2}})).
		Messages.New(context.Background(), passthroughParams())
	if err != nil {
		t.Fatal(err)
	}
	if msg.Content[0].Text != "Sunny and warm." || msg.StopReason != anthropic.StopReasonEndTurn || msg.Usage.InputTokens <= 0 || msg.Usage.OutputTokens != 3 {
		t.Fatalf("message %s", msg.RawJSON())
	}

	// The upstream got the client's body, only the model renamed.
	got := jsonMap(t, checkAnthropicUpstream(t, g, "/v1/messages"))
	want := jsonMap(t, sent)
	if want["model"] != "claude-sonnet" || got["model"] != "claude-sonnet-4-5-20250929" {
		t.Fatalf("model: client %v upstream %v", want["model"], got["model"])
	}
	want["model"] = got["model"]
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("upstream body differs beyond the model:\n got %s\nsent %s", g.Up.Last().Body, sent)
	}
	if m, _ := got["metadata"].(map[string]any); m["user_id"] != "user-42" {
		t.Fatalf("metadata %v", got["metadata"])
	}
	if f, _ := got["x_future"].(map[string]any); f["flag"] != true {
		t.Fatalf("x_future %v", got["x_future"])
	}
	cc := got["messages"].([]any)[0].(map[string]any)["content"].([]any)[0].(map[string]any)["cache_control"]
	if c, _ := cc.(map[string]any); c["type"] != "ephemeral" {
		t.Fatalf("cache_control on the block: %v", cc)
	}

	// The charge: claude-sonnet's price for the upstream's usage.
	gen := g.waitGeneration(t, httpResp.Header.Get("X-Generation-Id"))
	wantCost := msg.Usage.InputTokens*3000 + msg.Usage.OutputTokens*15000
	if gen.Provider != "claude" || gen.Model != "claude-sonnet" || gen.UpstreamModel != "claude-sonnet-4-5-20250929" ||
		gen.TokensPrompt != msg.Usage.InputTokens || gen.TokensCompletion != msg.Usage.OutputTokens || int64(gen.Cost) != wantCost ||
		gen.UsageEstimated || gen.Status != 200 || gen.FinishReason == "" {
		t.Fatalf("generation %+v, want cost %d", gen, wantCost)
	}
}

func TestMessagesPassthroughAddsMaxTokens(t *testing.T) {
	g := startMessages(t, fakeOpts{})
	resp := g.postMessages(t, "/v1/messages", g.Key, `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":"u"}}`)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp.Body))
	}
	got := jsonMap(t, checkAnthropicUpstream(t, g, "/v1/messages"))
	mt, _ := got["max_tokens"].(float64)
	if got["model"] != "claude-haiku-4-5" || mt < 1 || got["metadata"].(map[string]any)["user_id"] != "u" {
		t.Fatalf("upstream body %s", g.Up.Last().Body)
	}
}

func TestMessagesPassthroughStreamWithToolUse(t *testing.T) {
	g := startMessages(t, fakeOpts{})
	var httpResp *http.Response
	params := passthroughParams()
	params.Tools = []anthropic.ToolUnionParam{weatherToolParam()}
	stream := g.anthropicClient(aoption.WithResponseInto(&httpResp)).Messages.NewStreaming(context.Background(), params)
	msg, types, err := accumulate(t, stream)
	if err != nil {
		t.Fatal(err)
	}
	checkToolUse(t, msg, "get_weather", map[string]any{"city": "fake", "unit": "fake"})
	if countType(types, "content_block_delta") != 3 {
		t.Fatalf("want the fake's three input_json_delta events forwarded: %q", types)
	}
	checkEventOrder(t, types)
	if msg.Usage.InputTokens <= 0 || msg.Usage.OutputTokens <= 0 {
		t.Fatalf("usage %s", msg.Usage.RawJSON())
	}
	body := jsonMap(t, checkAnthropicUpstream(t, g, "/v1/messages"))
	if body["stream"] != true || body["model"] != "claude-sonnet-4-5-20250929" {
		t.Fatalf("upstream body %s", g.Up.Last().Body)
	}

	id := httpResp.Header.Get("X-Generation-Id")
	if !strings.HasPrefix(id, "gen-") {
		t.Fatalf("X-Generation-Id %q", id)
	}
	gen := g.waitGeneration(t, id)
	// The fake's usage: input from message_start, output from message_delta.
	wantCost := msg.Usage.InputTokens*3000 + msg.Usage.OutputTokens*15000
	if !gen.Streamed || gen.Provider != "claude" || gen.TokensPrompt != msg.Usage.InputTokens || gen.TokensCompletion != msg.Usage.OutputTokens ||
		int64(gen.Cost) != wantCost || gen.UsageEstimated || gen.FinishReason == "" || gen.ErrorCode != "" {
		t.Fatalf("generation %+v, want cost %d", gen, wantCost)
	}
}

func TestMessagesCountTokens(t *testing.T) {
	g := startMessages(t, fakeOpts{})
	params := anthropic.MessageCountTokensParams{
		Model:    "claude-sonnet",
		System:   anthropic.MessageCountTokensParamsSystemUnion{OfTextBlockArray: []anthropic.TextBlockParam{{Text: "Be brief please."}}},
		Messages: userText("How many tokens are in this sentence?"),
	}
	// Anthropic upstream: its own count. The fake counts words (3 + 7) and
	// 4 per message.
	n, err := g.anthropicClient().Messages.CountTokens(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if n.InputTokens != 3+7+4 {
		t.Fatalf("input_tokens %d (%s), want the upstream's 14", n.InputTokens, n.RawJSON())
	}
	body := jsonMap(t, checkAnthropicUpstream(t, g, "/v1/messages/count_tokens"))
	if body["model"] != "claude-sonnet-4-5-20250929" || body["max_tokens"] != nil || len(body["messages"].([]any)) != 1 {
		t.Fatalf("upstream count body %s", g.Up.Last().Body)
	}

	// OpenAI-format upstream: counted locally, nothing sent upstream.
	before := len(g.Up.Requests())
	params.Model = "gpt-4o"
	n, err = g.anthropicClient().Messages.CountTokens(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if n.InputTokens <= 0 || n.InputTokens > 100 {
		t.Fatalf("local input_tokens %d", n.InputTokens)
	}
	if after := len(g.Up.Requests()); after != before {
		t.Fatalf("a local count sent %d upstream requests", after-before)
	}
	// A longer prompt counts more.
	params.Messages = userText(strings.Repeat("many more words here ", 20))
	m, err := g.anthropicClient().Messages.CountTokens(context.Background(), params)
	if err != nil || m.InputTokens <= n.InputTokens {
		t.Fatalf("longer prompt: %v %v (short %d)", m, err, n.InputTokens)
	}

	// Errors in the Anthropic envelope.
	params.Model = "no-such-model"
	_, err = g.anthropicClient().Messages.CountTokens(context.Background(), params)
	wantAnthropicError(t, err, 404, "not_found_error")
	_, err = g.anthropicClient(aoption.WithAPIKey("sk-sy-wrong")).Messages.CountTokens(context.Background(), params)
	wantAnthropicError(t, err, 401, "authentication_error")
	noKey := anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(g.URL), aoption.WithMaxRetries(0))
	_, err = noKey.Messages.CountTokens(context.Background(), params)
	wantAnthropicError(t, err, 401, "authentication_error")
	resp := g.postMessages(t, "/v1/messages/count_tokens", g.Key, `{"model":"gpt-4o","messages":[`)
	defer resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("malformed count_tokens body: %d", resp.StatusCode)
	}
	checkAnthropicEnvelope(t, []byte(readAll(t, resp.Body)), "invalid_request_error")
}
