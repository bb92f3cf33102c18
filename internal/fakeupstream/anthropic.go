package fakeupstream

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
)

// anthropic is Anthropic's Messages API: POST .../v1/messages (and
// .../v1/messages/count_tokens), key in x-api-key, an anthropic-version
// header required. Its answers are made here (the mock speaks only OpenAI):
//
//   - text: Behavior.Reply, or "This is the fake Anthropic model answering."
//     padded with filler (or cut) to Behavior.Words words (default 12); a
//     word is a token and max_tokens cuts the text (stop_reason
//     "max_tokens", else "end_turn");
//   - with tools and tool_choice not {"type":"none"}: one tool_use block
//     (id "toolu_fake_0", the first tool or the one tool_choice names,
//     input with every required property of input_schema set to "fake"),
//     stop_reason "tool_use". With tool_choice auto (or absent) a request
//     whose last message carries a tool_result is answered in text
//     instead, as the mock and the Gemini fake do: the model has been
//     given the result;
//   - with output_config.format: text that is a JSON object of the schema's
//     required properties (strings "fake", numbers 1), in place of the text;
//   - usage: input_tokens = words of all text (system included) + 4 per
//     message; output_tokens = words of the answer (of the input JSON for
//     tool use). Usage is always present: OmitUsage and UsageInFinishChunk
//     do not apply.
//
// Streams follow the documented order: message_start, content_block_start,
// ping, content_block_delta per word (text_delta) or three input_json_delta
// pieces, content_block_stop, message_delta, message_stop.
type anthropic struct{}

var _ requestChecker = anthropic{}

func (anthropic) matches(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, "/v1/messages") || strings.HasSuffix(r.URL.Path, countTokensSuffix)
}

// countTokensSuffix is POST .../v1/messages/count_tokens: the fake answers
// {"input_tokens": N}, N counted as for a Messages answer's usage.
const countTokensSuffix = "/v1/messages/count_tokens"

func (anthropic) apiKey(r *http.Request) string { return r.Header.Get("X-Api-Key") }

// anthropicErrorType is the documented error type for an HTTP status; other
// 4xx are invalid_request_error and other 5xx api_error.
func anthropicErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusInternalServerError:
		return "api_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// writeError writes {"type":"error","error":{"type":...,"message":...},
// "request_id":...}. Anthropic's envelope has no code; code is ignored.
func (anthropic) writeError(w http.ResponseWriter, status int, typ, code, message string) {
	if typ == "" {
		typ = anthropicErrorType(status)
	}
	b := []byte(`{"type":"error","error":{"type":`)
	b = jsonstr.Append(b, typ)
	b = append(b, `,"message":`...)
	b = jsonstr.Append(b, message)
	b = append(b, "},\"request_id\":\"req_fake\"}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// writeKeyEcho writes Anthropic's envelope with f's type and message;
// Anthropic's envelope has no code or param, so a set code goes where its
// envelope has a third string, request_id, and a set param into an extra
// "param" field of the error, as a broken upstream might send.
func (anthropic) writeKeyEcho(w http.ResponseWriter, status int, f errorFields) {
	e := map[string]any{"type": f.typ, "message": f.message}
	if f.typ == "" {
		e["type"] = anthropicErrorType(status)
	}
	if f.param != "" {
		e["param"] = f.param
	}
	reqID := "req_fake"
	if f.code != "" {
		reqID = f.code
	}
	b, _ := json.Marshal(map[string]any{"type": "error", "error": e, "request_id": reqID})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func (a anthropic) writeAuthError(w http.ResponseWriter) {
	a.writeError(w, http.StatusUnauthorized, "", "", "invalid x-api-key")
}

// checkRequest refuses a request without anthropic-version before any
// behaviour is used, as the real API does.
func (a anthropic) checkRequest(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Anthropic-Version") == "" {
		a.writeError(w, http.StatusBadRequest, "", "", "anthropic-version: header is required")
		return false
	}
	return true
}

func (anthropic) isStream(r *http.Request, body []byte) bool {
	if r.Method != http.MethodPost {
		return false
	}
	var req struct {
		Stream bool `json:"stream"`
	}
	_ = json.Unmarshal(body, &req)
	return req.Stream
}

func (anthropic) writeMalformed(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"id":"msg_fake","type":"message","role":"assistant","content":[{not json`))
}

func (anthropic) malformedEvent() []byte {
	return []byte("event: content_block_delta\ndata: {not json\n\n")
}

// anthropicRequest is the part of a Messages request the fake reads.
type anthropicRequest struct {
	Model     string             `json:"model"`
	System    anthropicContent   `json:"system"`
	Messages  []anthropicMessage `json:"messages"`
	MaxTokens *int               `json:"max_tokens"`
	Stream    bool               `json:"stream"`
	Tools     []struct {
		Name        string `json:"name"`
		InputSchema struct {
			Required []string `json:"required"`
		} `json:"input_schema"`
	} `json:"tools"`
	ToolChoice *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
	OutputConfig *struct {
		Format *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"output_config"`
}

type anthropicMessage struct {
	Role    string           `json:"role"`
	Content anthropicContent `json:"content"`
}

// anthropicContent is a string or an array of content blocks; only its text
// (text blocks, and tool_result contents) is kept, for counting, and
// whether it carries a tool_result.
type anthropicContent struct {
	text       []string
	toolResult bool
}

func (c *anthropicContent) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		c.text = append(c.text, s)
		return nil
	}
	var blocks []struct {
		Type    string           `json:"type"`
		Text    string           `json:"text"`
		Content anthropicContent `json:"content"`
	}
	if err := json.Unmarshal(b, &blocks); err != nil {
		return err
	}
	for _, bl := range blocks {
		c.toolResult = c.toolResult || bl.Type == "tool_result"
		if bl.Text != "" {
			c.text = append(c.text, bl.Text)
		}
		c.text = append(c.text, bl.Content.text...)
	}
	return nil
}

func (req *anthropicRequest) inputTokens() int {
	n := 0
	for _, t := range req.System.text {
		n += len(strings.Fields(t))
	}
	for _, m := range req.Messages {
		n += 4
		for _, t := range m.Content.text {
			n += len(strings.Fields(t))
		}
	}
	return n
}

// anthropicBlock is a content block of the answer.
type anthropicBlock struct {
	Type  string          `json:"type"`
	Text  *string         `json:"text,omitempty"`
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
}

type anthropicUsage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

type anthropicMessageOut struct {
	ID           string           `json:"id"`
	Type         string           `json:"type"`
	Role         string           `json:"role"`
	Model        string           `json:"model"`
	Content      []anthropicBlock `json:"content"`
	StopReason   *string          `json:"stop_reason"`
	StopSequence *string          `json:"stop_sequence"`
	Usage        anthropicUsage   `json:"usage"`
}

// anthropicAnswer is what the fake will say, before it is encoded.
type anthropicAnswer struct {
	text       string // when not tool use
	tool       string // tool name; "" = text answer
	input      string // tool input JSON
	stopReason string
	output     int
}

const anthropicPrefix = "This is the fake Anthropic model answering."

var anthropicFiller = strings.Fields("The quick brown fox jumps over the lazy dog while the fake upstream keeps talking.")

// replyText is the answer text of a behaviour: Behavior.Reply, or prefix
// padded with filler (or cut) to Behavior.Words words (default 12).
func replyText(b Behavior, prefix string) string {
	if b.Reply != "" {
		return b.Reply
	}
	n := b.Words
	if n <= 0 {
		n = 12
	}
	words := strings.Fields(prefix)
	for i := 0; len(words) < n; i++ {
		words = append(words, anthropicFiller[i%len(anthropicFiller)])
	}
	return strings.Join(words[:n], " ")
}

// cutWords keeps the first n whitespace-separated words of s, with the
// whitespace between them as it was.
func cutWords(s string, n int) string {
	in, seen := false, 0
	for i, c := range s {
		space := unicode.IsSpace(c)
		if !space && !in {
			if seen == n {
				return strings.TrimRightFunc(s[:i], unicode.IsSpace)
			}
			seen++
		}
		in = !space
	}
	return s
}

func (anthropic) plan(req *anthropicRequest, b Behavior) anthropicAnswer {
	auto := req.ToolChoice == nil || req.ToolChoice.Type == "auto"
	answered := len(req.Messages) > 0 && req.Messages[len(req.Messages)-1].Content.toolResult
	if len(req.Tools) > 0 && (req.ToolChoice == nil || req.ToolChoice.Type != "none") && !(auto && answered) {
		i := 0
		if req.ToolChoice != nil && req.ToolChoice.Type == "tool" {
			for j, t := range req.Tools {
				if t.Name == req.ToolChoice.Name {
					i = j
					break
				}
			}
		}
		input := map[string]string{}
		for _, p := range req.Tools[i].InputSchema.Required {
			input[p] = "fake"
		}
		js, _ := json.Marshal(input)
		return anthropicAnswer{
			tool:       req.Tools[i].Name,
			input:      string(js),
			stopReason: "tool_use",
			output:     max(1, len(strings.Fields(string(js)))),
		}
	}
	text := replyText(b, anthropicPrefix)
	if oc := req.OutputConfig; oc != nil && oc.Format != nil {
		// Structured outputs: the schema's required properties, as the
		// Gemini fake answers a responseSchema.
		if js, ok := geminiRequiredObject(oc.Format.Schema, "fake"); ok {
			text = js
		}
	}
	a := anthropicAnswer{text: text, stopReason: "end_turn"}
	if req.MaxTokens != nil && len(strings.Fields(text)) > *req.MaxTokens {
		a.text = cutWords(text, max(*req.MaxTokens, 0))
		a.stopReason = "max_tokens"
	}
	a.output = len(strings.Fields(a.text))
	return a
}

func (a anthropic) answer(w http.ResponseWriter, r *http.Request, b Behavior, models []string, nextID func() uint64) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		a.writeError(w, http.StatusMethodNotAllowed, "", "", "method "+r.Method+" not allowed; use POST")
		return
	}
	var req anthropicRequest
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		a.writeError(w, http.StatusBadRequest, "", "", "invalid request body: "+err.Error())
		return
	}
	if req.Model == "" {
		a.writeError(w, http.StatusBadRequest, "", "", "model: Field required")
		return
	}
	in := req.inputTokens()
	if strings.HasSuffix(r.URL.Path, countTokensSuffix) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"input_tokens":` + strconv.Itoa(in) + "}\n"))
		return
	}
	ans := a.plan(&req, b)
	id := "msg_fake_" + strconv.FormatUint(nextID(), 10)
	if req.Stream {
		a.stream(w, r, b, &req, ans, id, in)
		return
	}
	var block anthropicBlock
	if ans.tool != "" {
		block = anthropicBlock{Type: "tool_use", ID: "toolu_fake_0", Name: ans.tool, Input: json.RawMessage(ans.input)}
	} else {
		block = anthropicBlock{Type: "text", Text: &ans.text}
	}
	out, _ := json.Marshal(anthropicMessageOut{
		ID: id, Type: "message", Role: "assistant", Model: req.Model,
		Content:    []anthropicBlock{block},
		StopReason: &ans.stopReason,
		Usage:      anthropicUsage{InputTokens: in, OutputTokens: ans.output},
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(out, '\n'))
}

// splitJSON cuts s into three pieces at rune boundaries (some may be
// empty); they concatenate back to s.
func splitJSON(s string) []string {
	cut := func(i int) int {
		for i < len(s) && !utf8.RuneStart(s[i]) {
			i++
		}
		return i
	}
	i := cut(len(s) / 3)
	j := cut(max(i, 2*len(s)/3))
	return []string{s[:i], s[i:j], s[j:]}
}

func (anthropic) stream(w http.ResponseWriter, r *http.Request, b Behavior, req *anthropicRequest, ans anthropicAnswer, id string, in int) {
	send := startEvents(w, r, b.ChunkDelay).send

	start := anthropicMessageOut{
		ID: id, Type: "message", Role: "assistant", Model: req.Model,
		Content: []anthropicBlock{},
		Usage:   anthropicUsage{InputTokens: in, OutputTokens: 1},
	}
	if !send("message_start", obj{"type": "message_start", "message": start}) {
		return
	}
	var block any
	var deltas []any
	if ans.tool != "" {
		block = obj{"type": "tool_use", "id": "toolu_fake_0", "name": ans.tool, "input": obj{}}
		for _, p := range splitJSON(ans.input) {
			deltas = append(deltas, obj{"type": "input_json_delta", "partial_json": p})
		}
	} else {
		block = obj{"type": "text", "text": ""}
		for _, p := range textPieces(ans.text) {
			deltas = append(deltas, obj{"type": "text_delta", "text": p})
		}
	}
	if !send("content_block_start", obj{"type": "content_block_start", "index": 0, "content_block": block}) {
		return
	}
	if !send("ping", obj{"type": "ping"}) {
		return
	}
	for _, d := range deltas {
		if !send("content_block_delta", obj{"type": "content_block_delta", "index": 0, "delta": d}) {
			return
		}
	}
	if !send("content_block_stop", obj{"type": "content_block_stop", "index": 0}) {
		return
	}
	if !send("message_delta", obj{
		"type":  "message_delta",
		"delta": obj{"stop_reason": ans.stopReason, "stop_sequence": nil},
		"usage": obj{"output_tokens": ans.output},
	}) {
		return
	}
	send("message_stop", obj{"type": "message_stop"})
}

// textPieces cuts text into stream pieces, one per word: leading
// whitespace goes with the first word, the whitespace after a word with
// that word, so the pieces concatenate back to text.
func textPieces(text string) []string {
	var out []string
	start, in := 0, false
	for i, c := range text {
		space := unicode.IsSpace(c)
		if !space && !in && i > 0 && strings.TrimSpace(text[start:i]) != "" {
			out = append(out, text[start:i])
			start = i
		}
		in = !space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}
