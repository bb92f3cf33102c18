package mock

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const storyRequest = `{
	"model": "gpt-4o-mini",
	"messages": [
		{"role": "system", "content": "You are terse."},
		{"role": "user", "content": "Tell me a story about a dragon, please, a long one"}
	],
	"n": 3,
	"temperature": 0.2
}`

func TestChatAnswersWithSpecShapedCompletion(t *testing.T) {
	rec := serve(t, Options{}, http.MethodPost, "/v1/chat/completions", storyRequest)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	got := decode[chatCompletion](t, rec.Body.Bytes())
	if !strings.HasPrefix(got.ID, "chatcmpl-mock-") || got.Object != "chat.completion" ||
		got.Created != fixedNow.Unix() || got.Model != "gpt-4o-mini" {
		t.Errorf("header fields = %q %q %d %q", got.ID, got.Object, got.Created, got.Model)
	}
	if len(got.Choices) != 1 {
		t.Fatalf("want one choice whatever n says, got %d", len(got.Choices))
	}
	c := got.Choices[0]
	want := "This is the mock model answering: Tell me a story about a"
	if c.Index != 0 || c.Message.Role != "assistant" || c.Message.Content == nil || *c.Message.Content != want {
		t.Errorf("message = %+v, want content %q", c.Message, want)
	}
	if string(c.Message.Refusal) != "null" || string(c.Logprobs) != "null" {
		t.Errorf("refusal = %s, logprobs = %s; want both null", c.Message.Refusal, c.Logprobs)
	}
	if c.FinishReason != "stop" {
		t.Errorf("finish_reason = %q", c.FinishReason)
	}
	// 3 + 11 words of message text, 4 per message.
	wantUsage := completionUsage{PromptTokens: 3 + 11 + 8, CompletionTokens: 12, TotalTokens: 34}
	if got.Usage == nil || *got.Usage != wantUsage {
		t.Errorf("usage = %+v, want %+v", got.Usage, wantUsage)
	}
}

func TestChatIDsAreUniqueAndOutputIsOtherwiseDeterministic(t *testing.T) {
	// Two fresh handlers: same counter position, same clock, same bytes.
	a := serve(t, Options{}, http.MethodPost, "/chat/completions", storyRequest).Body.String()
	b := serve(t, Options{}, http.MethodPost, "/chat/completions", storyRequest).Body.String()
	if a != b {
		t.Errorf("two handlers gave different answers to one request:\n%s\n%s", a, b)
	}

	h := testHandler(Options{})
	first := decode[chatCompletion](t, serveWith(t, h, http.MethodPost, "/chat/completions", storyRequest).Body.Bytes())
	second := decode[chatCompletion](t, serveWith(t, h, http.MethodPost, "/chat/completions", storyRequest).Body.Bytes())
	if first.ID == second.ID {
		t.Errorf("one handler reused id %q", first.ID)
	}
}

func TestChatReadsTextFromContentParts(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":[
		{"type":"text","text":"describe"},
		{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
		{"type":"text","text":"this picture"}]}]}`
	rec := serve(t, Options{Words: 9}, http.MethodPost, "/chat/completions", body)
	got := decode[chatCompletion](t, rec.Body.Bytes())
	if want := "This is the mock model answering: describe this picture"; *got.Choices[0].Message.Content != want {
		t.Errorf("content = %q, want %q", *got.Choices[0].Message.Content, want)
	}
	if got.Usage.PromptTokens != 3+4 {
		t.Errorf("prompt_tokens = %d, want 7", got.Usage.PromptTokens)
	}
}

func TestChatPadsShortMessagesToWords(t *testing.T) {
	rec := serve(t, Options{Words: 10}, http.MethodPost, "/chat/completions",
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	got := decode[chatCompletion](t, rec.Body.Bytes())
	if want := "This is the mock model answering: hi lorem ipsum dolor"; *got.Choices[0].Message.Content != want {
		t.Errorf("content = %q, want %q", *got.Choices[0].Message.Content, want)
	}
}

func TestChatTokenLimitCutsAnswerWithFinishLength(t *testing.T) {
	tests := []struct {
		name       string
		reply      string
		limits     string
		wantText   string
		wantFinish string
	}{
		{name: "max_tokens", limits: `"max_tokens":3`, wantText: "This is the", wantFinish: "length"},
		{name: "max_completion_tokens", limits: `"max_completion_tokens":5`, wantText: "This is the mock model", wantFinish: "length"},
		{name: "smaller of both", limits: `"max_tokens":4,"max_completion_tokens":2`, wantText: "This is", wantFinish: "length"},
		{name: "limit above answer", limits: `"max_tokens":100`, wantText: "This is the mock model answering: Tell me a story about a", wantFinish: "stop"},
		{name: "limit equal to answer", limits: `"max_tokens":12`, wantText: "This is the mock model answering: Tell me a story about a", wantFinish: "stop"},
		{name: "reply cut keeps no trailing newline", reply: "one\ntwo\nthree", limits: `"max_tokens":2`, wantText: "one\ntwo", wantFinish: "length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(storyRequest, `"n": 3`, tt.limits, 1)
			rec := serve(t, Options{Reply: tt.reply}, http.MethodPost, "/chat/completions", body)
			got := decode[chatCompletion](t, rec.Body.Bytes())
			c := got.Choices[0]
			if *c.Message.Content != tt.wantText || c.FinishReason != tt.wantFinish {
				t.Errorf("got %q/%s, want %q/%s", *c.Message.Content, c.FinishReason, tt.wantText, tt.wantFinish)
			}
			if n := countWords(tt.wantText); got.Usage.CompletionTokens != n {
				t.Errorf("completion_tokens = %d, want %d", got.Usage.CompletionTokens, n)
			}
		})
	}
}

func TestChatReplyIsAnsweredVerbatim(t *testing.T) {
	reply := "  Hello,  \"world\"\n\tnext line é \x01"
	rec := serve(t, Options{Reply: reply}, http.MethodPost, "/chat/completions", storyRequest)
	got := decode[chatCompletion](t, rec.Body.Bytes())
	if *got.Choices[0].Message.Content != reply {
		t.Errorf("content = %q, want %q", *got.Choices[0].Message.Content, reply)
	}
	if got.Usage.CompletionTokens != 6 {
		t.Errorf("completion_tokens = %d, want 6", got.Usage.CompletionTokens)
	}
}

func TestChatOmitUsageSendsNoUsage(t *testing.T) {
	rec := serve(t, Options{OmitUsage: true}, http.MethodPost, "/chat/completions", storyRequest)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if u, ok := raw["usage"]; ok {
		t.Errorf("usage = %s, want it absent", u)
	}
}

const weatherTools = `"tools": [
	{"type": "function", "function": {"name": "get_weather", "parameters": {
		"type": "object",
		"properties": {"city": {"type": "string"}, "unit": {"type": "string"}, "days": {"type": "integer"}},
		"required": ["city", "unit"]}}},
	{"type": "function", "function": {"name": "get_time"}}
]`

func toolRequest(extra string, messages string) string {
	if messages == "" {
		messages = `[{"role":"user","content":"weather in Paris?"}]`
	}
	body := `{"model":"gpt-4o",` + weatherTools + `,"messages":` + messages
	if extra != "" {
		body += "," + extra
	}
	return body + "}"
}

func TestChatCallsToolWhenToolsAreOffered(t *testing.T) {
	toolResult := `[{"role":"user","content":"weather?"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_mock_0","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"call_mock_0","content":"sunny"}]`
	tests := []struct {
		name     string
		extra    string
		messages string
		wantName string // "" for a text answer
		wantArgs string
	}{
		{name: "auto picks first tool", wantName: "get_weather", wantArgs: `{"city":"mock","unit":"mock","days":1}`},
		{name: "explicit auto", extra: `"tool_choice":"auto"`, wantName: "get_weather", wantArgs: `{"city":"mock","unit":"mock","days":1}`},
		{name: "none answers in text", extra: `"tool_choice":"none"`},
		{name: "forced function", extra: `"tool_choice":{"type":"function","function":{"name":"get_time"}}`, wantName: "get_time", wantArgs: `{}`},
		{name: "allowed tools", extra: `"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"get_time"}}]}}`, wantName: "get_time", wantArgs: `{}`},
		{name: "auto after a tool result answers in text", messages: toolResult},
		{name: "required after a tool result calls again", extra: `"tool_choice":"required"`, messages: toolResult, wantName: "get_weather", wantArgs: `{"city":"mock","unit":"mock","days":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, Options{}, http.MethodPost, "/chat/completions", toolRequest(tt.extra, tt.messages))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := decode[chatCompletion](t, rec.Body.Bytes())
			c := got.Choices[0]
			if tt.wantName == "" {
				if c.FinishReason != "stop" || c.Message.Content == nil || len(c.Message.ToolCalls) != 0 {
					t.Errorf("want a text answer, got %s", rec.Body)
				}
				return
			}
			if c.FinishReason != "tool_calls" || c.Message.Content != nil || len(c.Message.ToolCalls) != 1 {
				t.Fatalf("want one tool call with null content, got %s", rec.Body)
			}
			call := c.Message.ToolCalls[0]
			if call.ID != "call_mock_0" || call.Type != "function" || call.Function.Name != tt.wantName || call.Function.Arguments != tt.wantArgs {
				t.Errorf("tool call = %+v, want %s(%s)", call, tt.wantName, tt.wantArgs)
			}
			if !json.Valid([]byte(call.Function.Arguments)) {
				t.Errorf("arguments %q are not JSON", call.Function.Arguments)
			}
		})
	}
}

func TestChatRejectsBadRequestsWithErrorEnvelope(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
	}{
		{name: "malformed JSON", path: "/v1/chat/completions", body: `{"model":`, wantStatus: 400},
		{name: "missing model", path: "/v1/chat/completions", body: `{"messages":[{"role":"user","content":"hi"}]}`, wantStatus: 400},
		{name: "missing messages", path: "/v1/chat/completions", body: `{"model":"m"}`, wantStatus: 400},
		{name: "empty messages", path: "/v1/chat/completions", body: `{"model":"m","messages":[]}`, wantStatus: 400},
		{name: "content of the wrong type", path: "/v1/chat/completions", body: `{"model":"m","messages":[{"role":"user","content":42}]}`, wantStatus: 400},
		{name: "tool_choice names unknown function", path: "/v1/chat/completions", body: toolRequest(`"tool_choice":{"type":"function","function":{"name":"nope"}}`, ""), wantStatus: 400},
		{name: "tool_choice unknown mode", path: "/v1/chat/completions", body: toolRequest(`"tool_choice":"sometimes"`, ""), wantStatus: 400},
		{name: "unknown path", path: "/v1/audio/speech", body: `{}`, wantStatus: 404},
		{name: "path outside v1", path: "/v2/chat/completions", body: `{}`, wantStatus: 404},
		{name: "wrong method", method: http.MethodGet, path: "/v1/chat/completions", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			rec := serve(t, Options{}, method, tt.path, tt.body)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			env := decode[errorEnvelope](t, rec.Body.Bytes())
			if env.Error.Message == "" || env.Error.Type != "invalid_request_error" ||
				string(env.Error.Param) != "null" || string(env.Error.Code) != "null" {
				t.Errorf("envelope = %s", rec.Body)
			}
		})
	}
}

func TestChatAcceptsPathsWithAndWithoutV1(t *testing.T) {
	for _, path := range []string{"/v1/chat/completions", "/chat/completions"} {
		t.Run(path, func(t *testing.T) {
			if rec := serve(t, Options{}, http.MethodPost, path, storyRequest); rec.Code != http.StatusOK {
				t.Errorf("status %d: %s", rec.Code, rec.Body)
			}
		})
	}
}
