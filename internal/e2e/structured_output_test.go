package e2e

// Structured outputs across dialects (issue 12, defect 5): Anthropic's
// output_config.format and OpenAI's response_format json_schema are the same
// request, and a translated request keeps its schema.

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
)

// personSchema is the structured-output schema of these tests.
var personSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"name": map[string]any{"type": "string"},
		"age":  map[string]any{"type": "integer"},
	},
	"required":             []any{"name", "age"},
	"additionalProperties": false,
}

type person struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

func TestAnthropicOutputConfigFormatReachesOpenAIUpstreamAsResponseFormat(t *testing.T) {
	g := startMessages(t, fakeOpts{Default: fakeBehavior{Reply: `{"name":"John","age":31}`}})
	msg, err := g.anthropicClient().Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:        "gpt-4o",
		MaxTokens:    256,
		Messages:     userText("Extract the person: John is 31."),
		OutputConfig: anthropic.OutputConfigParam{Format: anthropic.JSONOutputFormatParam{Schema: personSchema}},
	})
	if err != nil {
		t.Fatal(err)
	}

	var sent struct {
		ResponseFormat *struct {
			Type       string `json:"type"`
			JSONSchema struct {
				Name   string         `json:"name"`
				Schema map[string]any `json:"schema"`
			} `json:"json_schema"`
		} `json:"response_format"`
		Tools []json.RawMessage `json:"tools"`
	}
	upstreamOpenAI(t, g)
	if err := json.Unmarshal(g.Up.Last().Body, &sent); err != nil {
		t.Fatal(err)
	}
	rf := sent.ResponseFormat
	if rf == nil || rf.Type != "json_schema" || rf.JSONSchema.Name == "" || !reflect.DeepEqual(rf.JSONSchema.Schema, personSchema) {
		t.Fatalf("upstream response_format = %+v, want json_schema with the client's schema\nbody: %s", rf, g.Up.Last().Body)
	}
	if len(sent.Tools) != 0 {
		t.Errorf("upstream got tools %s; structured output needs none", sent.Tools)
	}

	if len(msg.Content) != 1 || msg.Content[0].Type != "text" {
		t.Fatalf("content = %+v, want one text block", msg.Content)
	}
	var p person
	if err := json.Unmarshal([]byte(msg.Content[0].Text), &p); err != nil || p != (person{"John", 31}) {
		t.Fatalf("text %q parsed to %+v (%v)", msg.Content[0].Text, p, err)
	}
}

func TestOpenAIResponseFormatReachesAnthropicUpstreamAsOutputConfigFormat(t *testing.T) {
	g := start(t, opts{yaml: claudeConfig})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "claude-sonnet-4-5",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Extract the person: John is 31.")},
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &openai.ResponseFormatJSONSchemaParam{
			JSONSchema: openai.ResponseFormatJSONSchemaJSONSchemaParam{Name: "person", Schema: personSchema, Strict: openai.Bool(true)},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}

	sent := jsonMap(t, g.Up.Last().Body)
	want := map[string]any{"format": map[string]any{"type": "json_schema", "schema": personSchema}}
	if got := sent["output_config"]; !reflect.DeepEqual(roundTrip(t, got), roundTrip(t, want)) {
		t.Fatalf("upstream output_config = %v, want %v\nbody: %s", got, want, g.Up.Last().Body)
	}
	if sent["tools"] != nil || sent["tool_choice"] != nil {
		t.Errorf("upstream got tools %v / tool_choice %v; structured outputs need no tool", sent["tools"], sent["tool_choice"])
	}
	// The Anthropic fake answers the schema's required properties.
	var p person
	if err := json.Unmarshal([]byte(resp.Choices[0].Message.Content), &p); err != nil || p != (person{"fake", 1}) {
		t.Fatalf("content %q parsed to %+v (%v)", resp.Choices[0].Message.Content, p, err)
	}
}

// roundTrip normalises a value to what encoding/json makes of it.
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
