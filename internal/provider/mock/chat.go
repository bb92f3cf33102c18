package mock

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
)

// chatRequest is the part of CreateChatCompletionRequest the mock reads.
// n and every sampling parameter are accepted and ignored.
type chatRequest struct {
	Model         string        `json:"model"`
	Messages      []chatMessage `json:"messages"`
	Stream        bool          `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	Tools               []chatTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ResponseFormat      *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

type chatMessage struct {
	Role    string         `json:"role"`
	Content messageContent `json:"content"`
}

// messageContent is the text of a message's content: a string, or the
// "text" of each part of an array of parts joined by newlines (image, audio
// and file parts carry no text and count for nothing). null and an absent
// content are empty.
type messageContent struct{ text string }

var errContent = errors.New("message content must be a string or an array of content parts")

func (c *messageContent) UnmarshalJSON(b []byte) error {
	switch b[0] {
	case '"':
		// Most prompts have no escapes: take the bytes between the quotes
		// instead of running the decoder a second time. The outer decoder
		// has already checked that b is a well-formed string.
		if bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
			c.text = string(b[1 : len(b)-1])
			return nil
		}
		return json.Unmarshal(b, &c.text)
	case '[':
		var parts []struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return errContent
		}
		if len(parts) == 1 {
			c.text = parts[0].Text
			return nil
		}
		var t []byte
		for _, p := range parts {
			if p.Text == "" {
				continue
			}
			if len(t) > 0 {
				t = append(t, '\n')
			}
			t = append(t, p.Text...)
		}
		c.text = string(t)
		return nil
	case 'n': // null
		c.text = ""
		return nil
	}
	return errContent
}

type chatTool struct {
	Type     string `json:"type"`
	Function *struct {
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"function"`
}

// toolCall is the function call the mock makes instead of answering in text.
type toolCall struct {
	name      string
	arguments string
}

// chooseTool decides whether the reply is a tool call. It returns ok false
// for a text reply, and an error for a tool_choice the mock cannot honour
// (OpenAI rejects those with a 400 too).
func chooseTool(tools []chatTool, choice json.RawMessage, lastRole string) (toolCall, bool, error) {
	if len(tools) == 0 {
		return toolCall{}, false, nil
	}
	mode, forced := "auto", ""
	if len(choice) > 0 && string(choice) != "null" {
		if choice[0] == '"' {
			if err := json.Unmarshal(choice, &mode); err != nil {
				return toolCall{}, false, err
			}
		} else {
			var c struct {
				Type     string `json:"type"`
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
				AllowedTools struct {
					Mode  string     `json:"mode"`
					Tools []chatTool `json:"tools"`
				} `json:"allowed_tools"`
			}
			if err := json.Unmarshal(choice, &c); err != nil {
				return toolCall{}, false, errors.New("tool_choice must be a string or an object: " + err.Error())
			}
			switch c.Type {
			case "function":
				mode, forced = "required", c.Function.Name
			case "allowed_tools":
				mode = cmp.Or(c.AllowedTools.Mode, "auto")
				if t := firstFunction(c.AllowedTools.Tools); t != nil {
					forced = t.Function.Name
				}
			default:
				// Custom (free-form) tools are not simulated: answer in text.
				return toolCall{}, false, nil
			}
		}
	}
	switch mode {
	case "none":
		return toolCall{}, false, nil
	case "auto":
		// A model that has just been given a tool's result answers with it.
		if lastRole == "tool" {
			return toolCall{}, false, nil
		}
	case "required":
	default:
		return toolCall{}, false, errors.New("tool_choice must be none, auto, required or a named function, not " + strconv.Quote(mode))
	}
	t := firstFunction(tools)
	if forced != "" {
		t = nil
		for i := range tools {
			if f := tools[i].Function; f != nil && f.Name == forced {
				t = &tools[i]
				break
			}
		}
		if t == nil {
			return toolCall{}, false, errors.New("tool_choice names function " + strconv.Quote(forced) + ", which is not in tools")
		}
	}
	if t == nil {
		return toolCall{}, false, nil // only custom tools: nothing to call
	}
	return toolCall{name: t.Function.Name, arguments: mockArguments(t.Function.Parameters)}, true, nil
}

func firstFunction(tools []chatTool) *chatTool {
	for i := range tools {
		if f := tools[i].Function; f != nil && f.Name != "" {
			return &tools[i]
		}
	}
	return nil
}

// mockArguments returns arguments valid against the JSON Schema params
// (exampleJSON). Arguments are always an object: a missing schema, one that
// does not parse or one that is not an object's gets {}.
func mockArguments(params json.RawMessage) string {
	if args := exampleJSON(params); strings.HasPrefix(args, "{") {
		return args
	}
	return "{}"
}

// jsonAnswer is the reply to a request for JSON output: an instance of the
// json_schema's schema, or for json_object a small object holding the text
// answer. ok is false when the request asks for no JSON.
func (h *handler) jsonAnswer(req *chatRequest, user string) (string, bool) {
	rf := req.ResponseFormat
	if rf == nil || h.o.Reply != "" {
		// A fixed reply is the answer whatever the request asks for: tests
		// and demos that set one want exactly it back.
		return "", false
	}
	switch rf.Type {
	case "json_schema":
		if rf.JSONSchema != nil {
			if v := exampleJSON(rf.JSONSchema.Schema); v != "" {
				return v, true
			}
		}
		return "{}", true
	case "json_object":
		return string(append(jsonstr.Append([]byte(`{"answer":`), generate(user, h.words)), '}')), true
	}
	return "", false
}

// argumentPieces cuts a tool call's arguments into the pieces that stream
// deltas carry: 4 bytes as a rule, smaller for short arguments so that there
// are at least three pieces whenever there are three bytes, and never inside
// a UTF-8 sequence, since each piece is sent as a JSON string of its own.
func argumentPieces(args string) []string {
	size := 4
	if len(args) < 3*size {
		size = max(1, (len(args)+2)/3)
	}
	pieces := make([]string, 0, len(args)/size+1)
	for len(args) > 0 {
		n := min(size, len(args))
		for n < len(args) && !utf8.RuneStart(args[n]) {
			n++
		}
		pieces = append(pieces, args[:n])
		args = args[n:]
	}
	return pieces
}

func (h *handler) chat(w http.ResponseWriter, r *http.Request) {
	bp := getBuf()
	defer putBuf(bp)
	var req chatRequest
	if !decodeRequest(w, r, bp, &req) {
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "Missing required parameter: 'messages'.", "")
		return
	}
	prompt, user, lastRole := 0, "", ""
	for _, m := range req.Messages {
		prompt += countWords(m.Content.text) + 4
		if m.Role == "user" {
			user = m.Content.text
		}
		lastRole = m.Role
	}
	call, isCall, err := chooseTool(req.Tools, req.ToolChoice, lastRole)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid 'tool_choice': "+err.Error(), "")
		return
	}
	if !Sleep(r.Context(), h.o.Latency) {
		return
	}

	c := chatReply{
		id:      h.nextID(),
		created: h.now().Unix(),
		model:   req.Model,
		usage:   usage{prompt: prompt},
	}
	if isCall {
		c.call = &call
		c.argPieces = argumentPieces(call.arguments)
		// A tool call is priced like text: one token per streamed piece,
		// the same count whether or not the call is streamed.
		c.usage.completion = len(c.argPieces)
	} else if js, ok := h.jsonAnswer(&req, user); ok {
		c.answer = piecedAnswer(js, maxTokens(req.MaxTokens, req.MaxCompletionTokens))
		c.usage.completion = c.answer.tokens()
	} else {
		c.answer = h.makeAnswer(user, maxTokens(req.MaxTokens, req.MaxCompletionTokens))
		c.usage.completion = c.answer.tokens()
	}
	buf := (*bp)[:0]
	if req.Stream {
		includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		*bp = h.streamChat(w, r, &c, h.o.usagePlan(includeUsage), buf)
		return
	}
	buf = c.appendJSON(buf, !h.o.OmitUsage)
	*bp = buf
	writeJSON(w, buf)
}

// chatReply is everything needed to render one chat completion, whole or
// streamed.
type chatReply struct {
	id        uint64
	created   int64
	model     string
	answer    answer
	call      *toolCall
	argPieces []string
	usage     usage
}

const toolCallID = "call_mock_0"

func (c *chatReply) appendJSON(b []byte, withUsage bool) []byte {
	b = append(b, `{"id":"chatcmpl-mock-`...)
	b = strconv.AppendUint(b, c.id, 10)
	b = append(b, `","object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, `,"model":`...)
	b = jsonstr.Append(b, c.model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	finish := c.answer.finish
	if c.call != nil {
		b = append(b, `null,"refusal":null,"tool_calls":[{"id":"`+toolCallID+`","type":"function","function":{"name":`...)
		b = jsonstr.Append(b, c.call.name)
		b = append(b, `,"arguments":`...)
		b = jsonstr.Append(b, c.call.arguments)
		b = append(b, `}}]`...)
		finish = "tool_calls"
	} else {
		b = jsonstr.Append(b, c.answer.text)
		b = append(b, `,"refusal":null`...)
	}
	b = append(b, `},"logprobs":null,"finish_reason":"`...)
	b = append(b, finish...)
	b = append(b, `"}]`...)
	if withUsage {
		b = append(b, `,"usage":`...)
		b = appendUsage(b, c.usage)
	}
	return append(b, '}', '\n')
}

// streamChat writes the reply as chat.completion.chunk events and returns the
// buffer it built them in, for the pool.
func (h *handler) streamChat(w http.ResponseWriter, r *http.Request, c *chatReply, up usagePlan, buf []byte) []byte {
	s := newSSEWriter(r.Context(), w, h.o.ChunkDelay)
	k := newChunks(buf, "chatcmpl-mock-", "chat.completion.chunk", c.id, c.created, c.model, up, c.usage)

	const choice = `{"index":0,"delta":`
	var finish string
	if c.call != nil {
		finish = "tool_calls"
		k.open()
		k.buf = append(k.buf, choice+`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"`+toolCallID+`","type":"function","function":{"name":`...)
		k.buf = jsonstr.Append(k.buf, c.call.name)
		k.buf = append(k.buf, `,"arguments":""}}],"refusal":null}`...)
		if !s.send(k.closeChoice("", false)) {
			return k.buf
		}
		for _, p := range c.argPieces {
			k.open()
			k.buf = append(k.buf, choice+`{"tool_calls":[{"index":0,"function":{"arguments":`...)
			k.buf = jsonstr.Append(k.buf, p)
			k.buf = append(k.buf, "}}]}"...)
			if !s.send(k.closeChoice("", false)) {
				return k.buf
			}
		}
	} else {
		finish = c.answer.finish
		k.open()
		k.buf = append(k.buf, choice+`{"role":"assistant","content":"","refusal":null}`...)
		if !s.send(k.closeChoice("", false)) {
			return k.buf
		}
		for i := range c.answer.tokens() {
			k.open()
			k.buf = append(k.buf, choice+`{"content":`...)
			k.buf = jsonstr.Append(k.buf, c.answer.piece(i))
			k.buf = append(k.buf, '}')
			if !s.send(k.closeChoice("", false)) {
				return k.buf
			}
		}
	}
	k.open()
	k.buf = append(k.buf, choice+"{}"...)
	if !s.send(k.closeChoice(finish, up.onFinish)) {
		return k.buf
	}
	k.finishStream(s)
	return k.buf
}

func (r *chatRequest) model() string { return r.Model }
