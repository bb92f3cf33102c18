package anthropic

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// An OpenAI client may declare Anthropic's own tools (seed 002:
// web_search_20250305 through the OpenAI API); they reach Anthropic as
// declared, while OpenAI-only tools stay behind.
func TestEncodeRequestKeepsAnthropicToolsFromOpenAIClients(t *testing.T) {
	web := `{"type":"web_search_20250305","name":"web_search","max_uses":5}`
	enc, err := EncodeRequest(&llm.Request{
		Model:    "claude-sonnet-4-5",
		Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "news?"}}}},
		Tools: []llm.Tool{
			{Name: "web_search", Raw: json.RawMessage(web), RawDialect: "openai"},
			{Name: "grammar", Raw: json.RawMessage(`{"type":"custom","custom":{"name":"grammar"}}`), RawDialect: "openai"},
			{Name: "", Raw: json.RawMessage(`{"type":"web_search_preview"}`), RawDialect: "openai"},
			{Name: "googleSearch", Raw: json.RawMessage(`{"googleSearch":{}}`), RawDialect: "gemini"},
		},
	}, 1024)
	if err != nil {
		t.Fatal(err)
	}
	var w struct{ Tools []json.RawMessage }
	if err := json.Unmarshal(enc.Body, &w); err != nil {
		t.Fatal(err)
	}
	if len(w.Tools) != 1 || string(w.Tools[0]) != web {
		t.Fatalf("tools %s, want only %s", enc.Body, web)
	}
	for _, typ := range []string{"web_search_20250305", "bash_20250124", "code_execution_20250522"} {
		if !isAnthropicToolType(json.RawMessage(`{"type":"` + typ + `","name":"x"}`)) {
			t.Errorf("%s is Anthropic's", typ)
		}
	}
	for _, raw := range []string{`{"type":"web_search_preview","name":"x"}`, `{"type":"custom","name":"x"}`, `{"type":"web_search_2025030x","name":"x"}`, `{"type":"web_search_20250305"}`, `[`} {
		if isAnthropicToolType(json.RawMessage(raw)) {
			t.Errorf("%s is not an Anthropic tool", raw)
		}
	}
	if strings.Contains(string(enc.Body), "grammar") {
		t.Fatalf("an OpenAI custom tool reached Anthropic: %s", enc.Body)
	}
}
