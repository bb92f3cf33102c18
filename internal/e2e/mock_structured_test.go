package e2e

// The zero-config mock answers structured-output requests with JSON that
// fits the schema and calls a forced tool with arguments that fit its
// parameters (issue 12, defect 8), whichever SDK asks.

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"google.golang.org/genai"
)

// startZeroConfig runs the gateway as a bare `switchyard serve` does: a
// config without providers, so every model name goes to the built-in mock.
func startZeroConfig(t *testing.T) *gateway {
	t.Helper()
	return startWith(t, opts{yaml: "server:\n  sse_keepalive: 15s\n"}, "http://127.0.0.1:1")
}

// eventSchema exercises what the mock must honour: required and optional
// properties, enums, integers with bounds, nested objects through $defs,
// arrays with minItems, anyOf and a nullable type.
var eventSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"title":     map[string]any{"type": "string"},
		"kind":      map[string]any{"type": "string", "enum": []any{"meeting", "party"}},
		"attendees": map[string]any{"type": "integer", "minimum": 2},
		"when":      map[string]any{"type": "string", "format": "date-time"},
		"place":     map[string]any{"$ref": "#/$defs/place"},
		"tags":      map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 2},
		"note":      map[string]any{"type": []any{"string", "null"}},
		"budget":    map[string]any{"anyOf": []any{map[string]any{"type": "number"}, map[string]any{"type": "null"}}},
		"online":    map[string]any{"type": "boolean"},
	},
	"required":             []any{"title", "kind", "attendees", "when", "place", "tags", "note", "budget", "online"},
	"additionalProperties": false,
	"$defs": map[string]any{
		"place": map[string]any{
			"type":                 "object",
			"properties":           map[string]any{"city": map[string]any{"type": "string"}, "floor": map[string]any{"type": "integer"}},
			"required":             []any{"city", "floor"},
			"additionalProperties": false,
		},
	},
}

type event struct {
	Title     string   `json:"title"`
	Kind      string   `json:"kind"`
	Attendees int      `json:"attendees"`
	When      string   `json:"when"`
	Place     place    `json:"place"`
	Tags      []string `json:"tags"`
	Note      *string  `json:"note"`
	Budget    *float64 `json:"budget"`
	Online    bool     `json:"online"`
}

type place struct {
	City  string `json:"city"`
	Floor int    `json:"floor"`
}

// checkEvent wants text to be exactly one event object that fits eventSchema.
func checkEvent(t *testing.T, text string) {
	t.Helper()
	var ev event
	d := json.NewDecoder(strings.NewReader(text))
	d.DisallowUnknownFields()
	if err := d.Decode(&ev); err != nil {
		t.Fatalf("answer %q is not an event: %v", text, err)
	}
	budget := 1.0
	note := "mock"
	want := event{Title: "mock", Kind: "meeting", Attendees: 2, When: "2025-01-01T00:00:00Z",
		Place: place{City: "mock", Floor: 1}, Tags: []string{"mock", "mock"}, Note: &note, Budget: &budget, Online: true}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("event = %+v, want %+v (from %s)", ev, want, text)
	}
}

func eventFormat() openai.ChatCompletionNewParamsResponseFormatUnion {
	return openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &openai.ResponseFormatJSONSchemaParam{
		JSONSchema: openai.ResponseFormatJSONSchemaJSONSchemaParam{Name: "event", Schema: eventSchema, Strict: openai.Bool(true)},
	}}
}

func TestMockAnswersOpenAIJSONSchemaWithAnObjectOfTheSchema(t *testing.T) {
	g := startZeroConfig(t)
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:          "gpt-4o-mini",
		Messages:       []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Plan a team meeting.")},
		ResponseFormat: eventFormat(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].FinishReason != "stop" {
		t.Errorf("finish_reason %q", resp.Choices[0].FinishReason)
	}
	checkEvent(t, resp.Choices[0].Message.Content)
}

func TestMockStreamsOpenAIJSONSchemaAnswerThatReassemblesToTheObject(t *testing.T) {
	g := startZeroConfig(t)
	stream := g.client().Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:          "gpt-4o-mini",
		Messages:       []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Plan a team meeting.")},
		ResponseFormat: eventFormat(),
	})
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if chunks < 5 {
		t.Errorf("the answer came in %d chunks; want it streamed in pieces", chunks)
	}
	checkEvent(t, acc.Choices[0].Message.Content)
}

func TestMockAnswersJSONObjectModeWithAnObject(t *testing.T) {
	g := startZeroConfig(t)
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:          "gpt-4o-mini",
		Messages:       []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Reply in JSON.")},
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &openai.ResponseFormatJSONObjectParam{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(resp.Choices[0].Message.Content), &obj); err != nil || len(obj) == 0 {
		t.Fatalf("answer %q is not a JSON object (%v)", resp.Choices[0].Message.Content, err)
	}
}

// bookingTools are two tools; the second has the schema the forced call must fit.
func bookingTools() []openai.ChatCompletionToolUnionParam {
	return []openai.ChatCompletionToolUnionParam{
		openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "get_time", Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{}}}),
		openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "book_event", Parameters: eventSchema}),
	}
}

func TestMockCallsTheForcedToolWithArgumentsOfItsSchema(t *testing.T) {
	g := startZeroConfig(t)
	params := openai.ChatCompletionNewParams{
		Model:      "gpt-4o-mini",
		Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Book the meeting.")},
		Tools:      bookingTools(),
		ToolChoice: openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "book_event"}),
	}
	t.Run("whole", func(t *testing.T) {
		resp, err := g.client().Chat.Completions.New(context.Background(), params)
		if err != nil {
			t.Fatal(err)
		}
		c := resp.Choices[0]
		if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "book_event" {
			t.Fatalf("finish %q tool calls %+v", c.FinishReason, c.Message.ToolCalls)
		}
		checkEvent(t, c.Message.ToolCalls[0].Function.Arguments)
	})
	t.Run("streamed", func(t *testing.T) {
		stream := g.client().Chat.Completions.NewStreaming(context.Background(), params)
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		c := acc.Choices[0]
		if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "book_event" {
			t.Fatalf("finish %q tool calls %+v", c.FinishReason, c.Message.ToolCalls)
		}
		checkEvent(t, c.Message.ToolCalls[0].Function.Arguments)
	})
}

func TestMockAnswersAnthropicOutputConfigFormatWithJSON(t *testing.T) {
	g := startZeroConfig(t)
	msg, err := g.anthropicClient().Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:        "claude-sonnet-4-5",
		MaxTokens:    1024,
		Messages:     userText("Plan a team meeting."),
		OutputConfig: anthropic.OutputConfigParam{Format: anthropic.JSONOutputFormatParam{Schema: eventSchema}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.StopReason != anthropic.StopReasonEndTurn {
		t.Fatalf("content %+v stop %q", msg.Content, msg.StopReason)
	}
	checkEvent(t, msg.Content[0].Text)
}

func TestMockAnswersGeminiResponseSchemaWithJSON(t *testing.T) {
	g := startZeroConfig(t)
	resp, err := g.gemini(t).Models.GenerateContent(context.Background(), "gemini-2.5-flash", userContent("Name a city and its population."), &genai.GenerateContentConfig{
		ResponseMIMEType: "application/json",
		ResponseSchema: &genai.Schema{
			Type: genai.TypeObject,
			Properties: map[string]*genai.Schema{
				"city":       {Type: genai.TypeString},
				"population": {Type: genai.TypeInteger},
				"size":       {Type: genai.TypeString, Enum: []string{"small", "large"}},
				"districts":  {Type: genai.TypeArray, Items: &genai.Schema{Type: genai.TypeString}},
			},
			Required:         []string{"city", "population", "size", "districts"},
			PropertyOrdering: []string{"city", "population", "size", "districts"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		City       string   `json:"city"`
		Population int      `json:"population"`
		Size       string   `json:"size"`
		Districts  []string `json:"districts"`
	}
	if err := json.Unmarshal([]byte(resp.Text()), &got); err != nil {
		t.Fatalf("answer %q is not JSON: %v", resp.Text(), err)
	}
	if got.City != "mock" || got.Population != 1 || got.Size != "small" || len(got.Districts) != 1 {
		t.Fatalf("answer %q does not fit the schema", resp.Text())
	}
}
