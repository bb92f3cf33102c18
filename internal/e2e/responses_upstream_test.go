package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"
)

// responsesUpConfig: provider "fake" speaks the Responses API beside chat,
// and serves "o3-pro*" only through it; "chatonly", at the same upstream,
// speaks chat only. Keep-alives come after 100ms of upstream silence.
const responsesUpConfig = `
server: { sse_keepalive: 100ms }
providers:
  - name: fake
    type: openai
    base_url: ${FAKE_URL}/v1
    api_key: ${FAKE_KEY}
    responses: true
    responses_only_models: ["o3-pro*"]
    pricing: { prompt: 1.00, completion: 2.00 }
  - name: chatonly
    type: openai
    base_url: ${FAKE_URL}/v1
    api_key: ${FAKE_KEY}
    pricing: { prompt: 1.00, completion: 2.00 }
models:
  - id: gpt-4.1
    routes: [{ provider: fake, model: gpt-4.1-2025-04-14 }]
  - id: mixed
    routes: [{ provider: chatonly, model: chat-model, priority: 0 }, { provider: fake, model: resp-model, priority: 1 }]
  - id: "*"
    routes: [{ provider: fake }]
`

// TestChatClientReachesAResponsesOnlyModel: a Chat Completions client
// (the SDK) asking for a model the provider serves only through the
// Responses API gets a chat completion, whole and streamed, from the
// upstream's /v1/responses; a chat model of the same provider still goes
// to /v1/chat/completions.
func TestChatClientReachesAResponsesOnlyModel(t *testing.T) {
	g := start(t, opts{yaml: responsesUpConfig})
	ctx := context.Background()
	g.Up.Enqueue(fakeBehavior{Reply: "Deep thought done."})
	params := openai.ChatCompletionNewParams{
		Model: "o3-pro",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Be brief."),
			openai.UserMessage("Think hard."),
		},
	}
	var httpResp *http.Response
	c, err := g.client().Chat.Completions.New(ctx, params, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	last := g.Up.Last()
	if last.Path != "/v1/responses" {
		t.Fatalf("upstream path %s", last.Path)
	}
	body := gjson.ParseBytes(last.Body)
	if body.Get("model").Str != "o3-pro" || body.Get("messages").Exists() || body.Get("store").Type != gjson.False ||
		!strings.Contains(body.Get("input").Raw, "Think hard.") || !strings.Contains(body.Raw, "Be brief.") {
		t.Fatalf("upstream request %s", last.Body)
	}
	if c.Object != "chat.completion" || c.Choices[0].Message.Content != "Deep thought done." || c.Choices[0].FinishReason != "stop" ||
		c.ID != httpResp.Header.Get("X-Generation-Id") || c.Usage.CompletionTokens != 3 || c.Model != "o3-pro" {
		t.Fatalf("chat answer %s", c.RawJSON())
	}
	gen := g.waitGeneration(t, c.ID)
	if gen.TokensCompletion != 3 || gen.Cost == 0 || gen.FinishReason != "stop" {
		t.Fatalf("ledger row %+v", gen)
	}

	g.Up.Enqueue(fakeBehavior{Reply: "Streamed deep thought."})
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := g.client().Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if g.Up.Last().Path != "/v1/responses" || !gjson.GetBytes(g.Up.Last().Body, "stream").Bool() {
		t.Fatalf("streamed upstream call %s %s", g.Up.Last().Path, g.Up.Last().Body)
	}
	if acc.Choices[0].Message.Content != "Streamed deep thought." || acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != 3 {
		t.Fatalf("streamed chat answer %+v", acc.ChatCompletion)
	}

	// A chat model of the same provider is passed through to chat.
	if _, err := g.client().Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "gpt-4.1", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Fatal(err)
	}
	if g.Up.Last().Path != "/v1/chat/completions" {
		t.Fatalf("a chat model went to %s", g.Up.Last().Path)
	}
}

// TestResponsesSDKThroughAResponsesUpstream: responses.create, whole and
// streamed, against an upstream that speaks Responses: passed through
// (the client's unknown field and a built-in tool reach it, model spliced,
// store false), answered with the gateway's id and usage.cost.
func TestResponsesSDKThroughAResponsesUpstream(t *testing.T) {
	g := start(t, opts{yaml: responsesUpConfig})
	params := responses.ResponseNewParams{
		Model:        "gpt-4.1",
		Instructions: openai.String("Be brief."),
		Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hello")},
		Tools:        []responses.ToolUnionParam{responses.ToolParamOfWebSearchPreview(responses.WebSearchPreviewToolTypeWebSearchPreview)},
	}
	extra := option.WithJSONSet("x_client_field", map[string]any{"kept": true})
	for _, streamed := range []bool{false, true} {
		g.Up.Enqueue(fakeBehavior{Reply: "Hello there."})
		var httpResp *http.Response
		r := newResponse(t, g, streamed, params, extra, option.WithResponseInto(&httpResp))
		last := g.Up.Last()
		body := gjson.ParseBytes(last.Body)
		if last.Path != "/v1/responses" || body.Get("model").Str != "gpt-4.1-2025-04-14" || body.Get("store").Type != gjson.False ||
			body.Get("x_client_field.kept").Type != gjson.True || body.Get("tools.0.type").Str != "web_search_preview" || body.Get("instructions").Str != "Be brief." {
			t.Fatalf("streamed %v: upstream call %s %s", streamed, last.Path, last.Body)
		}
		if r.ID != httpResp.Header.Get("X-Generation-Id") || r.OutputText() != "Hello there." || r.Model != "gpt-4.1" || r.Status != "completed" {
			t.Fatalf("streamed %v: answer %s", streamed, r.RawJSON())
		}
		if c := gjson.Get(r.RawJSON(), "usage.cost"); c.Type != gjson.Number || c.Num <= 0 {
			t.Fatalf("streamed %v: usage.cost %s", streamed, r.RawJSON())
		}
	}
}

// TestResponsesContinuationToAResponsesUpstream: a stored answer from a
// Responses upstream is continued by previous_response_id: the gateway
// expands its stored conversation, so the upstream gets the earlier turns
// as input items (never the gateway's id, which it does not hold).
func TestResponsesContinuationToAResponsesUpstream(t *testing.T) {
	g := start(t, opts{yaml: responsesUpConfig})
	for _, streamed := range []bool{false, true} {
		g.Up.Enqueue(fakeBehavior{Reply: "Paris is the capital."}, fakeBehavior{Reply: "About two million."})
		first := newResponse(t, g, streamed, responses.ResponseNewParams{
			Model: "gpt-4.1",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("What is the capital of France?")},
		})
		second := newResponse(t, g, streamed, responses.ResponseNewParams{
			Model:              "gpt-4.1",
			PreviousResponseID: openai.String(first.ID),
			Input:              responses.ResponseNewParamsInputUnion{OfString: openai.String("How many people live there?")},
		})
		last := g.Up.Last()
		body := string(last.Body)
		if last.Path != "/v1/responses" || gjson.Get(body, "previous_response_id").Exists() || gjson.Get(body, "model").Str != "gpt-4.1-2025-04-14" {
			t.Fatalf("continuation upstream call %s %s", last.Path, body)
		}
		i, j, k := strings.Index(body, "capital of France"), strings.Index(body, "Paris is the capital."), strings.Index(body, "How many people")
		if i < 0 || j < i || k < j {
			t.Fatalf("earlier turns missing or out of order: %s", body)
		}
		if second.OutputText() != "About two million." || second.PreviousResponseID != first.ID {
			t.Fatalf("second answer %s", second.RawJSON())
		}
	}
}

// TestResponsesToolsAndJSONSchemaThroughAResponsesUpstream: function tools
// and a JSON schema output pass through to a Responses upstream and come
// back as the SDK reads them; the tool's result continues the turn.
func TestResponsesToolsAndJSONSchemaThroughAResponsesUpstream(t *testing.T) {
	g := start(t, opts{yaml: responsesUpConfig})
	ctx := context.Background()
	weather := responses.ToolParamOfFunction("get_weather", map[string]any{
		"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"},
	}, true)
	r, err := g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4.1",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")},
		Tools: []responses.ToolUnionParam{weather},
		Store: openai.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Output) != 1 || r.Output[0].Type != "function_call" || r.Output[0].Name != "get_weather" || r.Output[0].Arguments.OfString != `{"city":"fake"}` {
		t.Fatalf("tool call %s", r.RawJSON())
	}
	if got := gjson.GetBytes(g.Up.Last().Body, "tools.0.name").Str; got != "get_weather" {
		t.Fatalf("tools not sent: %s", g.Up.Last().Body)
	}
	call := r.Output[0]
	output := responses.ResponseInputItemParamOfFunctionCallOutput("sunny, 24C")
	output.OfFunctionCallOutput.CallID = openai.String(call.CallID)
	r2, err := g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4.1",
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("Weather in Paris?", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfFunctionCall(call.Arguments.OfString, call.CallID, call.Name),
			output,
		}},
		Tools: []responses.ToolUnionParam{weather},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r2.OutputText() == "" || !strings.Contains(string(g.Up.Last().Body), "sunny, 24C") {
		t.Fatalf("tool result turn: %s (upstream got %s)", r2.RawJSON(), g.Up.Last().Body)
	}

	r3, err := g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4.1",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("A city, please.")},
		Text: responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigUnionParam{
			OfJSONSchema: &responses.ResponseFormatTextJSONSchemaConfigParam{Name: "city", Strict: openai.Bool(true), Schema: map[string]any{
				"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}, "required": []string{"name"}, "additionalProperties": false,
			}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var city struct{ Name string }
	if err := json.Unmarshal([]byte(r3.OutputText()), &city); err != nil || city.Name != "fake" {
		t.Fatalf("JSON output %q: %v", r3.OutputText(), err)
	}
	if gjson.GetBytes(g.Up.Last().Body, "text.format.type").Str != "json_schema" {
		t.Fatalf("text.format not passed through: %s", g.Up.Last().Body)
	}
}

// TestBuiltinToolSkipsChatRoutes: a built-in tool is served by the
// model's route that speaks Responses, even behind a chat-only route of
// higher priority, which a request without one takes.
func TestBuiltinToolSkipsChatRoutes(t *testing.T) {
	g := start(t, opts{yaml: responsesUpConfig})
	ctx := context.Background()
	r, err := g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model: "mixed",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Search the web")},
		Tools: []responses.ToolUnionParam{responses.ToolParamOfWebSearch(responses.WebSearchToolTypeWebSearch)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if last := g.Up.Last(); last.Path != "/v1/responses" || gjson.GetBytes(last.Body, "model").Str != "resp-model" || len(g.Up.Requests()) != 1 {
		t.Fatalf("served by %s %s (%d calls): %s", last.Path, last.Body, len(g.Up.Requests()), r.RawJSON())
	}
	if _, err := g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model: "mixed",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Just talk")},
	}); err != nil {
		t.Fatal(err)
	}
	if last := g.Up.Last(); last.Path != "/v1/chat/completions" || gjson.GetBytes(last.Body, "model").Str != "chat-model" {
		t.Fatalf("without a built-in tool, served by %s %s", last.Path, last.Body)
	}
}
