package mock

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The types below mirror the schemas of /work/shared/specs/openai-openapi.yml
// that the mock produces. Nullable fields are pointers or raw messages so
// that tests can tell null from absent.

type chatCompletion struct { // CreateChatCompletionResponse
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int             `json:"index"`
		Message      responseMessage `json:"message"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason string          `json:"finish_reason"`
	} `json:"choices"`
	Usage *completionUsage `json:"usage"`
}

type responseMessage struct { // ChatCompletionResponseMessage
	Role      string            `json:"role"`
	Content   *string           `json:"content"`
	Refusal   json.RawMessage   `json:"refusal"`
	ToolCalls []messageToolCall `json:"tool_calls"`
}

type messageToolCall struct { // ChatCompletionMessageToolCall
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type completionUsage struct { // CompletionUsage
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chatChunk struct { // CreateChatCompletionStreamResponse
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int             `json:"index"`
		Delta        streamDelta     `json:"delta"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason *string         `json:"finish_reason"`
	} `json:"choices"`
	Usage json.RawMessage `json:"usage"` // nil when absent, "null" when null
}

type streamDelta struct { // ChatCompletionStreamResponseDelta
	Role      string          `json:"role"`
	Content   *string         `json:"content"`
	Refusal   json.RawMessage `json:"refusal"`
	ToolCalls []struct {      // ChatCompletionMessageToolCallChunk
		Index    int    `json:"index"`
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      *string `json:"name"`
			Arguments string  `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type textCompletion struct { // CreateCompletionResponse (whole and streamed)
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Text         string          `json:"text"`
		Index        int             `json:"index"`
		Logprobs     json.RawMessage `json:"logprobs"`
		FinishReason *string         `json:"finish_reason"`
	} `json:"choices"`
	Usage json.RawMessage `json:"usage"`
}

type embeddingList struct { // CreateEmbeddingResponse
	Object string `json:"object"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"` // []float or base64 string
	} `json:"data"`
	Model string `json:"model"`
	Usage *struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

type model struct { // Model
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type errorEnvelope struct { // ErrorResponse
	Error struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
}

// fixedNow is the clock of every test handler, so "created" is predictable.
var fixedNow = time.Unix(1700000000, 0)

func testHandler(o Options) http.Handler {
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	return NewHandler(o)
}

// serve runs one request through a handler built from o and returns the
// recorded response.
func serve(t *testing.T, o Options, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	return serveWith(t, testHandler(o), method, path, body)
}

func serveWith(t *testing.T, h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("response is not the expected JSON: %v\n%s", err, b)
	}
	return v
}

// sseData splits an SSE body into the payloads of its "data:" events and
// fails on anything else, since the mock sends nothing but data events.
func sseData(t *testing.T, body string) []string {
	t.Helper()
	if !strings.HasSuffix(body, "\n\n") {
		t.Fatalf("stream does not end with a complete event: %q", body)
	}
	var out []string
	for _, ev := range strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("event is not a single data line: %q", ev)
		}
		out = append(out, data)
	}
	return out
}
