package tokens

import (
	"strings"
	"testing"
)

// Each want is worked out beside it from OpenAI's rule: 3 per message, the
// encoded role, content and name, +1 per name, +3 for the reply priming.
// Component counts (gpt-4o): "user", "system", "assistant", "tool", "Hello",
// "alice" 1 each; "You are a helpful assistant." 6; "What is in this image?" 6;
// "get_weather" 2; `{"city":"Paris"}` 5; "call_1" 3; "22C and sunny" 4; "I
// can't help with that." 6; the get_weather tool's compact JSON 39.
func TestChatPrompt(t *testing.T) {
	const tool = `{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}`
	const prettyTool = `{
      "type": "function",
      "function": {
        "name": "get_weather",
        "description": "Get the weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
      }
    }`
	tests := []struct {
		name  string
		model string
		body  string
		want  int
	}{
		// OpenAI's rule gives 8 for a lone "Hello": 3 + "user" 1 +
		// "Hello" 1 + priming 3, on gpt-4o and on gpt-4 alike. (The
		// cookbook checks the rule against the API's reported
		// prompt_tokens; without network this test cannot.)
		{name: "single user message", model: "gpt-4o",
			body: `{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}`, want: 8},
		{name: "single user message cl100k", model: "gpt-4",
			body: `{"model":"gpt-4","messages":[{"role":"user","content":"Hello"}]}`, want: 8},
		{name: "system and user", model: "gpt-4o",
			body: `{"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello"}]}`,
			want: (3 + 1 + 6) + (3 + 1 + 1) + 3},
		{name: "name costs its tokens plus one", model: "gpt-4o",
			body: `{"messages":[{"role":"user","name":"alice","content":"Hello"}]}`,
			want: 3 + 1 + 1 + (1 + 1) + 3},
		{name: "text part and image part", model: "gpt-4o",
			body: `{"messages":[{"role":"user","content":[{"type":"text","text":"What is in this image?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png","detail":"high"}}]}]}`,
			want: 3 + 1 + 6 + 85 + 3},
		// The image's bytes are never tokenized: a data URL counts 85 like
		// any other image, as do audio and file parts.
		{name: "non-text parts count 85 each", model: "gpt-4o",
			body: `{"messages":[{"role":"user","content":[{"type":"text","text":"Hello"},` +
				`{"type":"image_url","image_url":{"url":"data:image/png;base64,` + strings.Repeat("iVBORw0KGgo", 1000) + `"}},` +
				`{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},` +
				`{"type":"file","file":{"file_id":"file-abc"}}]}]}`,
			want: 3 + 1 + 1 + 3*85 + 3},
		{name: "refusal part is text", model: "gpt-4o",
			body: `{"messages":[{"role":"assistant","content":[{"type":"refusal","refusal":"I can't help with that."}]}]}`,
			want: 3 + 1 + 6 + 3},
		{name: "tool call and tool result", model: "gpt-4o",
			body: `{"messages":[{"role":"user","content":"Hello"},` +
				`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
				`{"role":"tool","tool_call_id":"call_1","content":"22C and sunny"}]}`,
			want: (3 + 1 + 1) + (3 + 1 + 2 + 5) + (3 + 1 + 3 + 4) + 3},
		{name: "deprecated function_call", model: "gpt-4o",
			body: `{"messages":[{"role":"assistant","function_call":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}`,
			want: 3 + 1 + 2 + 5 + 3},
		{name: "tool definitions", model: "gpt-4o",
			body: `{"messages":[{"role":"user","content":"Hello"}],"tools":[` + tool + `]}`,
			want: 8 + 39},
		{name: "tool definitions count compacted", model: "gpt-4o",
			body: `{"messages":[{"role":"user","content":"Hello"}],"tools":[` + prettyTool + `]}`,
			want: 8 + 39},
		{name: "deprecated functions", model: "gpt-4o",
			body: `{"messages":[{"role":"user","content":"Hello"}],"functions":[` + tool + `]}`,
			want: 8 + 39},
		{name: "empty messages is the priming only", model: "gpt-4o", body: `{"messages":[]}`, want: 3},
		{name: "non-object messages are skipped", model: "gpt-4o", body: `{"messages":[1,"x",null,[]]}`, want: 3},
		{name: "content of another type counts nothing", model: "gpt-4o",
			body: `{"messages":[{"role":"user","content":42},{"role":"user","content":{"text":"Hello"}}]}`,
			want: (3 + 1) + (3 + 1) + 3},
		{name: "tools that are not an array count nothing", model: "gpt-4o",
			body: `{"messages":[{"role":"user","content":"Hello"}],"tools":{"a":"hello world"}}`, want: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shared.ChatPrompt(tt.model, []byte(tt.body)); got != tt.want {
				t.Errorf("ChatPrompt = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestChatPromptMalformedBodyIsZero(t *testing.T) {
	for _, body := range []string{
		``,
		`{`,
		`{"messages":[{"role":"user","content":"Hello"}]`,
		`{"messages":[{"role":"user","content":"Hello"}]}trailing`,
		"{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}\x00",
		`null`,
		`[]`,
		`"messages"`,
		`{}`,
		`{"messages":"Hello"}`,
		`{"messages":{"role":"user","content":"Hello"}}`,
	} {
		if got := shared.ChatPrompt("gpt-4o", []byte(body)); got != 0 {
			t.Errorf("ChatPrompt(%q) = %d, want 0", body, got)
		}
	}
}

func TestPrompt(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want int
	}{
		{name: "string", raw: `"hello world"`, want: 2},
		{name: "escaped string", raw: `"hello\u0020world"`, want: 2},
		{name: "array of strings", raw: `["hello world","hello"]`, want: 3},
		{name: "token array", raw: `[15339, 1917, 0]`, want: 3},
		{name: "array of token arrays", raw: `[[15339,1917],[0]]`, want: 3},
		{name: "mixed", raw: `["hello",[1,2]]`, want: 3},
		{name: "empty string", raw: `""`, want: 0},
		{name: "empty array", raw: `[]`, want: 0},
		{name: "null", raw: `null`, want: 0},
		{name: "number", raw: `12`, want: 0},
		{name: "whole body is not a prompt", raw: `{"prompt":"hello world"}`, want: 0},
		{name: "malformed", raw: `["hello`, want: 0},
		{name: "empty", raw: ``, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, model := range []string{"gpt-3.5-turbo-instruct", "text-embedding-3-small", "gpt-4o"} {
				if got := shared.Prompt(model, []byte(tt.raw)); got != tt.want {
					t.Errorf("Prompt(%s, %s) = %d, want %d", model, tt.raw, got, tt.want)
				}
			}
		})
	}
}

var chatSeeds = []string{
	`{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}`,
	`{"messages":[{"role":"system","content":"You are terse."},{"role":"user","name":"bob","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"x"}}]}]}`,
	`{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"ok"}],"tools":[{"type":"function","function":{"name":"f"}}]}`,
	`{"messages":[{"role":"user","content":"<|endoftext|> 你好 \u00e9"}],"functions":[{}]}`,
	`{"messages":[1,null,{"content":{"a":[]}}]}`,
	`{"messages":[`,
	``,
}

func FuzzChatPrompt(f *testing.F) {
	for _, s := range chatSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, model := range []string{"gpt-4o", "claude-sonnet-4-5"} {
			if n := shared.ChatPrompt(model, []byte(body)); n < 0 {
				t.Errorf("ChatPrompt(%q) = %d", body, n)
			}
		}
	})
}

func FuzzPrompt(f *testing.F) {
	for _, s := range []string{`"hello"`, `["a","b"]`, `[1,2]`, `[[1],[2,3]]`, `[`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if n := shared.Prompt("gpt-4o", []byte(raw)); n < 0 {
			t.Errorf("Prompt(%q) = %d", raw, n)
		}
	})
}
