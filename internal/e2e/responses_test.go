package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
)

// responsesUpstreams are the upstream formats a Responses client is served
// from, each with a model routed to it.
var responsesUpstreams = []struct {
	name, yaml, model string
}{
	{"openai", "", "gpt-4o"},
	{"anthropic", claudeConfig, "claude-sonnet-4-5"},
	{"gemini", geminiUpConfig, "gemini-2.5-flash"},
}

// TestResponsesAPIThroughTheOpenAISDK: responses.create used to be a 404.
// The OpenAI SDK's Responses calls, whole and streamed, now work against
// every upstream format, with usage and usage.cost.
func TestResponsesAPIThroughTheOpenAISDK(t *testing.T) {
	for _, up := range responsesUpstreams {
		t.Run(up.name, func(t *testing.T) {
			g := start(t, opts{yaml: up.yaml})
			ctx := context.Background()
			params := responses.ResponseNewParams{
				Model:        up.model,
				Instructions: openai.String("Be brief."),
				Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("Say hello")},
			}
			resp, err := g.client().Responses.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if resp.OutputText() == "" || resp.Status != "completed" || resp.Usage.OutputTokens == 0 {
				t.Fatalf("response: %s", resp.RawJSON())
			}
			if !strings.Contains(resp.RawJSON(), `"cost"`) {
				t.Fatalf("no usage.cost: %s", resp.RawJSON())
			}
			// The upstream got the instructions as its system prompt.
			if !strings.Contains(string(g.Up.Last().Body), "Be brief.") {
				t.Fatalf("instructions not sent: %s", g.Up.Last().Body)
			}

			stream := g.client().Responses.NewStreaming(ctx, params)
			var text strings.Builder
			var completed *responses.Response
			types := map[string]bool{}
			for stream.Next() {
				ev := stream.Current()
				types[ev.Type] = true
				switch ev.Type {
				case "response.output_text.delta":
					text.WriteString(ev.Delta)
				case "response.completed":
					r := ev.Response
					completed = &r
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"response.created", "response.output_item.added", "response.output_text.delta", "response.output_text.done", "response.completed"} {
				if !types[want] {
					t.Errorf("no %s event; got %v", want, types)
				}
			}
			if text.Len() == 0 || completed == nil || completed.OutputText() != text.String() || completed.Usage.TotalTokens == 0 {
				t.Fatalf("streamed %q, completed %+v", text.String(), completed)
			}
		})
	}
}

// TestResponsesAPIFunctionCallingAndJSONSchema: tools, a function call
// answered with function_call_output in a second turn, and text.format
// json_schema, through the SDK against an OpenAI-format upstream.
func TestResponsesAPIFunctionCallingAndJSONSchema(t *testing.T) {
	g := start(t, opts{})
	ctx := context.Background()
	tool := responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{
		Name:       "get_weather",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
		Strict:     openai.Bool(true),
	}}
	input := responses.ResponseInputParam{
		responses.ResponseInputItemParamOfMessage("Weather in Paris?", responses.EasyInputMessageRoleUser),
		responses.ResponseInputItemParamOfFunctionCall(`{"city":"Paris"}`, "call_1", "get_weather"),
		responses.ResponseInputItemParamOfFunctionCallOutput("sunny, 21C"),
	}
	// ResponseInputItemParamOfFunctionCallOutput takes no call id: set it.
	input[2].OfFunctionCallOutput.CallID = openai.String("call_1")
	resp, err := g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4o",
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input},
		Tools: []responses.ToolUnionParam{tool},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "completed" {
		t.Fatalf("%s", resp.RawJSON())
	}
	var sent struct {
		Messages []struct {
			Role       string `json:"role"`
			ToolCallID string `json:"tool_call_id"`
			ToolCalls  []struct {
				ID string `json:"id"`
			} `json:"tool_calls"`
		} `json:"messages"`
		Tools []struct {
			Function struct{ Name string } `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(g.Up.Last().Body, &sent); err != nil {
		t.Fatal(err)
	}
	if len(sent.Messages) != 3 || sent.Messages[1].ToolCalls[0].ID != "call_1" || sent.Messages[2].Role != "tool" || sent.Messages[2].ToolCallID != "call_1" ||
		len(sent.Tools) != 1 || sent.Tools[0].Function.Name != "get_weather" {
		t.Fatalf("upstream got %s", g.Up.Last().Body)
	}

	// Structured output: text.format json_schema reaches the upstream as response_format.
	_, err = g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4o",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("A person")},
		Text: responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigUnionParam{OfJSONSchema: &responses.ResponseFormatTextJSONSchemaConfigParam{
			Name:   "person",
			Schema: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}, "required": []string{"name"}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(g.Up.Last().Body), `"response_format"`) || !strings.Contains(string(g.Up.Last().Body), `"json_schema"`) {
		t.Fatalf("upstream got %s", g.Up.Last().Body)
	}
}
