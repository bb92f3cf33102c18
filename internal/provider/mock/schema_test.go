package mock

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestExampleJSONFollowsTheSchema(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		want   string
	}{
		{name: "required and optional properties in schema order",
			schema: `{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}},"required":["a"]}`,
			want:   `{"b":"mock","a":1}`},
		{name: "enum first value", schema: `{"type":"string","enum":["red","green"]}`, want: `"red"`},
		{name: "const", schema: `{"const":{"v":[1,2]}}`, want: `{"v":[1,2]}`},
		{name: "integer bounds", schema: `{"type":"integer","minimum":5,"maximum":9}`, want: `5`},
		{name: "exclusive minimum", schema: `{"type":"integer","exclusiveMinimum":1}`, want: `2`},
		{name: "draft 4 exclusive minimum", schema: `{"type":"integer","minimum":1,"exclusiveMinimum":true}`, want: `2`},
		{name: "maximum below one", schema: `{"type":"number","maximum":0.5}`, want: `0.5`},
		{name: "multipleOf", schema: `{"type":"integer","minimum":7,"multipleOf":5}`, want: `10`},
		{name: "boolean and null", schema: `{"type":"array","prefixItems":[{"type":"boolean"},{"type":"null"}],"minItems":2}`, want: `[true,null]`},
		{name: "array minItems", schema: `{"type":"array","items":{"type":"integer"},"minItems":3}`, want: `[1,1,1]`},
		{name: "array maxItems zero", schema: `{"type":"array","items":{"type":"integer"},"maxItems":0}`, want: `[]`},
		{name: "nullable type list", schema: `{"type":["null","string"]}`, want: `"mock"`},
		{name: "anyOf first", schema: `{"anyOf":[{"type":"integer"},{"type":"string"}]}`, want: `1`},
		{name: "oneOf first", schema: `{"oneOf":[{"type":"boolean"},{"type":"string"}]}`, want: `true`},
		{name: "string formats and lengths",
			schema: `{"type":"object","properties":{"d":{"type":"string","format":"date"},"u":{"type":"string","format":"uuid"},"long":{"type":"string","minLength":10},"short":{"type":"string","maxLength":2}}}`,
			want:   `{"d":"2025-01-01","u":"00000000-0000-4000-8000-000000000000","long":"mockmockmo","short":"mo"}`},
		{name: "ref to $defs",
			schema: `{"type":"object","properties":{"p":{"$ref":"#/$defs/pt"}},"required":["p"],"$defs":{"pt":{"type":"object","properties":{"x":{"type":"number"}},"required":["x"]}}}`,
			want:   `{"p":{"x":1}}`},
		{name: "ref to definitions", schema: `{"$ref":"#/definitions/c","definitions":{"c":{"enum":["k"]}}}`, want: `"k"`},
		{name: "unresolvable ref", schema: `{"$ref":"https://example.com/s.json"}`, want: `"mock"`},
		{name: "allOf merged",
			schema: `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"type":"boolean"}},"required":["b"]}]}`,
			want:   `{"a":"mock","b":true}`},
		{name: "required without a property schema", schema: `{"type":"object","required":["x"]}`, want: `{"x":"mock"}`},
		{name: "type inferred from properties", schema: `{"properties":{"n":{"type":"integer"}}}`, want: `{"n":1}`},
		{name: "empty schema", schema: `{}`, want: `"mock"`},
		{name: "not JSON", schema: `{"type":`, want: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exampleJSON([]byte(tt.schema)); got != tt.want {
				t.Errorf("exampleJSON(%s) = %s, want %s", tt.schema, got, tt.want)
			}
		})
	}
}

func TestExampleJSONIsBoundedForHostileSchemas(t *testing.T) {
	// Each definition requires two copies of the next: 2^40 leaves if
	// nothing stopped it.
	var defs []string
	for i := range 40 {
		defs = append(defs, `"d`+itoa(i)+`":{"type":"object","properties":{"l":{"$ref":"#/$defs/d`+itoa(i+1)+`"},"r":{"$ref":"#/$defs/d`+itoa(i+1)+`"}},"required":["l","r"]}`)
	}
	defs = append(defs, `"d40":{"type":"string","minLength":1000000}`)
	tests := []struct {
		name   string
		schema string
	}{
		{name: "self-recursive required", schema: `{"type":"object","properties":{"next":{"$ref":"#"}},"required":["next"]}`},
		{name: "ref cycle", schema: `{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}}}`},
		{name: "exponential fan-out", schema: `{"$ref":"#/$defs/d0","$defs":{` + strings.Join(defs, ",") + `}}`},
		{name: "huge minItems", schema: `{"type":"array","minItems":1e12,"items":{"type":"array","minItems":1e12,"items":{"type":"string","minLength":1e9}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exampleJSON([]byte(tt.schema))
			if len(got) > 2*hardBudget {
				t.Fatalf("output is %d bytes, want at most %d", len(got), 2*hardBudget)
			}
			if !json.Valid([]byte(got)) {
				t.Fatalf("output is not JSON: %.200s", got)
			}
		})
	}
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func TestChatAnswersJSONSchemaResponseFormatWithAnInstance(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}],
		"response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object","properties":{"color":{"type":"string","enum":["red","blue"]},"n":{"type":"integer"}},"required":["color","n"],"additionalProperties":false}}}}`
	rec := serve(t, Options{}, http.MethodPost, "/v1/chat/completions", body)
	got := decode[chatCompletion](t, rec.Body.Bytes())
	c := got.Choices[0]
	if c.Message.Content == nil || *c.Message.Content != `{"color":"red","n":1}` || c.FinishReason != "stop" {
		t.Fatalf("message %+v finish %q", c.Message, c.FinishReason)
	}
	// One token per 4-byte piece, as the stream sends it.
	if got.Usage.CompletionTokens != len(argumentPieces(`{"color":"red","n":1}`)) {
		t.Errorf("completion tokens = %d", got.Usage.CompletionTokens)
	}
}

func TestChatJSONAnswerCutByMaxTokensFinishesWithLength(t *testing.T) {
	body := `{"model":"m","max_tokens":2,"messages":[{"role":"user","content":"hi"}],
		"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}}}}}}`
	rec := serve(t, Options{}, http.MethodPost, "/v1/chat/completions", body)
	got := decode[chatCompletion](t, rec.Body.Bytes())
	if c := got.Choices[0]; c.FinishReason != "length" || *c.Message.Content != `{"a":"mo` {
		t.Fatalf("content %q finish %q", *c.Message.Content, c.FinishReason)
	}
}

func TestChatAnswersJSONObjectResponseFormatWithAnObject(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}`
	rec := serve(t, Options{Words: 6}, http.MethodPost, "/v1/chat/completions", body)
	got := decode[chatCompletion](t, rec.Body.Bytes())
	if c := got.Choices[0]; *c.Message.Content != `{"answer":"This is the mock model answering:"}` {
		t.Fatalf("content %q", *c.Message.Content)
	}
}

func TestChatToolArgumentsFitEnumsAndTypes(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"required",
		"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"unit":{"type":"string","enum":["c","f"]},"days":{"type":"integer","minimum":3},"ok":{"type":"boolean"}},"required":["unit"]}}}]}`
	rec := serve(t, Options{}, http.MethodPost, "/v1/chat/completions", body)
	got := decode[chatCompletion](t, rec.Body.Bytes())
	if tc := got.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Arguments != `{"unit":"c","days":3,"ok":true}` {
		t.Fatalf("tool calls %+v", tc)
	}
}
