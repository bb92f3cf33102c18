package responses

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// maxModelName bounds the model name, as the other dialects' scans do.
const maxModelName = 512

// Scan is what the relay reads from a Responses body before routing: cheap,
// top-level, and validated for type.
type Scan struct {
	Model           string
	Stream          bool
	MaxOutputTokens int64 // 0: not given
	// Store is the request's "store"; nil when not given (OpenAI's default
	// is to store).
	Store *bool
	// PreviousResponseID names a stored response this one continues; ""
	// when not given.
	PreviousResponseID string
	User               string // "user", else "safety_identifier"
}

// ScanRequest reads model, stream, max_output_tokens, store,
// previous_response_id and user from a Responses body. conversation and
// background are refused here (refuseStored): the gateway keeps no
// conversations, and an id held by an upstream belongs to the gateway's
// account there, not the client's. previous_response_id names a response
// the gateway stored itself; the relay loads it.
func ScanRequest(body []byte) (Scan, error) {
	var s Scan
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return s, llm.BadRequest("", "request body must be a JSON object")
	}
	m := root.Get("model")
	if m.Type != gjson.String || m.Str == "" {
		return s, llm.BadRequest("model", "'model' is required and must be a string, such as \"gpt-4.1\"")
	}
	if len(m.Str) > maxModelName {
		return s, llm.BadRequest("model", "'model' is longer than %d characters", maxModelName)
	}
	s.Model = m.Str
	var err error
	if s.Stream, err = optBool(root, "stream"); err != nil {
		return s, err
	}
	if s.MaxOutputTokens, err = maxOutputTokens(root.Get("max_output_tokens")); err != nil {
		return s, err
	}
	switch v := root.Get("store"); v.Type {
	case gjson.True, gjson.False:
		b := v.Type == gjson.True
		s.Store = &b
	case gjson.Null:
	default:
		return s, llm.BadRequest("store", "'store' must be a boolean")
	}
	if s.User, err = user(root); err != nil {
		return s, err
	}
	switch v := root.Get("previous_response_id"); v.Type {
	case gjson.String:
		if v.Str == "" || len(v.Str) > maxResponseID {
			return s, llm.BadRequest("previous_response_id", "'previous_response_id' must be the id of a stored response, such as \"gen-…\"")
		}
		s.PreviousResponseID = v.Str
	case gjson.Null:
	default:
		return s, llm.BadRequest("previous_response_id", "'previous_response_id' must be a string")
	}
	if err := refuseStored(root); err != nil {
		return s, err
	}
	return s, nil
}

func optBool(root gjson.Result, name string) (bool, error) {
	switch v := root.Get(name); v.Type {
	case gjson.True:
		return true, nil
	case gjson.False, gjson.Null:
		return false, nil
	}
	return false, llm.BadRequest(name, "'%s' must be a boolean", name)
}

func maxOutputTokens(v gjson.Result) (int64, error) {
	switch v.Type {
	case gjson.Null:
		return 0, nil
	case gjson.Number:
		if v.Num >= 1 && v.Num == float64(int64(v.Num)) {
			return int64(v.Num), nil
		}
	}
	return 0, llm.BadRequest("max_output_tokens", "'max_output_tokens' must be a positive integer")
}

// user reads "user", or its successor "safety_identifier" when user is absent.
func user(root gjson.Result) (string, error) {
	out := ""
	for _, k := range [...]string{"safety_identifier", "user"} {
		switch v := root.Get(k); v.Type {
		case gjson.String:
			if v.Str != "" {
				out = v.Str
			}
		case gjson.Null:
		default:
			return "", llm.BadRequest(k, "'%s' must be a string", k)
		}
	}
	return out, nil
}

// maxResponseID bounds a previous_response_id; the gateway's own ids are
// far shorter.
const maxResponseID = 256

// refuseStored refuses the fields that point at state the gateway does not
// keep: conversations and background responses.
func refuseStored(root gjson.Result) error {
	if v := root.Get("conversation"); v.Exists() && v.Type != gjson.Null {
		return llm.BadRequest("conversation", "'conversation': conversations are not supported by this gateway; continue from a stored response with 'previous_response_id', or send the whole conversation in 'input'")
	}
	if v := root.Get("background"); v.Type == gjson.True {
		return llm.BadRequest("background", "'background': background responses are not supported by this gateway yet")
	}
	return nil
}

// Extra is what a Responses request carries beside the canonical request:
// what the Response object repeats back (OpenAI echoes the request's
// settings in it) and what the relay decides on (store).
type Extra struct {
	Store              *bool
	PreviousResponseID string          // "" : none (echoed as null)
	Instructions       *string         // nil: none given (echoed as null)
	Metadata           json.RawMessage // an object, or nil
	ParallelToolCalls  *bool
	ToolChoice         json.RawMessage // as sent, or nil ("auto")
	Tools              json.RawMessage // as sent, or nil ([])
	Text               json.RawMessage // as sent, or nil ({"format":{"type":"text"}})
	Reasoning          json.RawMessage // as sent, or nil
	Temperature        *float64
	TopP               *float64
	MaxOutputTokens    int64
	User               string
}

// DecodeRequest reads a Responses API request (POST /v1/responses) into
// the canonical form, with the fields the canonical form has no place for
// in Extra. Malformed input is an *llm.Error 400 naming the field.
func DecodeRequest(body []byte) (*llm.Request, *Extra, error) {
	if err := openai.CheckBody(body, openai.MaxDepth); err != nil {
		return nil, nil, err
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, nil, llm.BadRequest("", "request body must be a JSON object")
	}
	scan, err := ScanRequest(body)
	if err != nil {
		return nil, nil, err
	}
	if v := root.Get("prompt"); v.Exists() && v.Type != gjson.Null {
		return nil, nil, llm.BadRequest("prompt", "'prompt': stored prompt templates are not supported by this gateway; send the prompt in 'instructions' and 'input'")
	}
	d := decoder{
		r:         &llm.Request{Model: scan.Model, Stream: scan.Stream, MaxTokens: scan.MaxOutputTokens, User: scan.User, Messages: []llm.Message{}},
		x:         &Extra{Store: scan.Store, PreviousResponseID: scan.PreviousResponseID, MaxOutputTokens: scan.MaxOutputTokens, User: scan.User},
		callNames: map[string]string{},
	}
	var bad error
	root.ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		switch k.Str {
		case "instructions":
			bad = d.instructions(v)
		case "input":
			bad = d.input(v)
		case "tools":
			bad = d.tools(v)
		case "tool_choice":
			bad = d.toolChoice(v)
		case "parallel_tool_calls":
			if v.Type != gjson.True && v.Type != gjson.False {
				bad = llm.BadRequest("parallel_tool_calls", "'parallel_tool_calls' must be a boolean")
				break
			}
			p := v.Type == gjson.True
			d.x.ParallelToolCalls = &p
		case "text":
			bad = d.text(v)
		case "reasoning":
			bad = d.reasoning(v)
		case "temperature", "top_p":
			if v.Type != gjson.Number {
				bad = llm.BadRequest(k.Str, "'%s' must be a number", k.Str)
				break
			}
			f := v.Num
			if k.Str == "temperature" {
				d.r.Temperature, d.x.Temperature = &f, &f
			} else {
				d.r.TopP, d.x.TopP = &f, &f
			}
		case "metadata":
			if !v.IsObject() {
				bad = llm.BadRequest("metadata", "'metadata' must be an object of string values")
				break
			}
			d.x.Metadata = json.RawMessage(v.Raw)
		}
		return bad == nil
	})
	if bad != nil {
		return nil, nil, bad
	}
	if len(d.r.Messages) == 0 && len(d.r.System) == 0 {
		return nil, nil, llm.BadRequest("input", "'input' is required: a string or an array of input items")
	}
	if d.x.ParallelToolCalls != nil && !*d.x.ParallelToolCalls && len(d.r.Tools) > 0 {
		if d.r.ToolChoice == nil {
			d.r.ToolChoice = &llm.ToolChoice{Mode: "auto"}
		}
		d.r.ToolChoice.DisableParallel = true
	}
	return d.r, d.x, nil
}

type decoder struct {
	r *llm.Request
	x *Extra
	// callNames maps a function call's call_id to its name, so the output
	// that answers it carries ToolName (Gemini's functionResponse needs it).
	callNames map[string]string
}

// instructions come first in the system prompt, whatever the key order.
// (The spec's Response object may also show a list of items here, as a
// stored prompt expands to; a request sends a string.)
func (d *decoder) instructions(v gjson.Result) error {
	if v.Type != gjson.String {
		return llm.BadRequest("instructions", "'instructions' must be a string")
	}
	s := v.Str
	d.x.Instructions = &s
	if s != "" {
		d.r.System = append([]llm.Part{{Type: llm.PartText, Text: s}}, d.r.System...)
	}
	return nil
}

func (d *decoder) input(v gjson.Result) error {
	switch {
	case v.Type == gjson.String:
		d.r.Messages = append(d.r.Messages, llm.Message{Role: llm.RoleUser, Parts: textParts(v.Str)})
		return nil
	case !v.IsArray():
		return llm.BadRequest("input", "'input' must be a string or an array of input items")
	}
	var bad error
	i := 0
	v.ForEach(func(_, item gjson.Result) bool {
		bad = d.item("input["+strconv.Itoa(i)+"]", item)
		i++
		return bad == nil
	})
	return bad
}

func textParts(s string) []llm.Part {
	if s == "" {
		return nil
	}
	return []llm.Part{{Type: llm.PartText, Text: s}}
}

// str reads an optional string field; wrong types are a 400 naming it.
func str(param string, v gjson.Result) (string, error) {
	switch v.Type {
	case gjson.String:
		return v.Str, nil
	case gjson.Null:
		return "", nil
	}
	return "", llm.BadRequest(param, "'%s' must be a string", param)
}

// reqStr reads a required, non-empty string field.
func reqStr(param string, v gjson.Result) (string, error) {
	if v.Type != gjson.String || v.Str == "" {
		return "", llm.BadRequest(param, "'%s' is required and must be a non-empty string", param)
	}
	return v.Str, nil
}

func (d *decoder) item(param string, item gjson.Result) error {
	if !item.IsObject() {
		return llm.BadRequest(param, "'%s' must be an object", param)
	}
	typ, err := str(param+".type", item.Get("type"))
	if err != nil {
		return err
	}
	if typ == "" && item.Get("role").Exists() {
		typ = "message" // EasyInputMessage: {"role","content"} with no type
	}
	if isItemReference(item) {
		typ = "item_reference" // its type is optional (openai-go omits it)
	}
	switch typ {
	case "message":
		return d.message(param, item)
	case "function_call":
		id, err := reqStr(param+".call_id", item.Get("call_id"))
		if err != nil {
			return err
		}
		name, err := reqStr(param+".name", item.Get("name"))
		if err != nil {
			return err
		}
		args, err := str(param+".arguments", item.Get("arguments"))
		if err != nil {
			return err
		}
		d.callNames[id] = name
		m := d.assistant()
		m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: id, Name: name, Arguments: args})
		return nil
	case "function_call_output":
		id, err := reqStr(param+".call_id", item.Get("call_id"))
		if err != nil {
			return err
		}
		msg := llm.Message{Role: llm.RoleTool, ToolCallID: id, ToolName: d.callNames[id]}
		out := item.Get("output")
		switch {
		case out.Type == gjson.String:
			msg.Parts = textParts(out.Str)
		case out.IsArray():
			if msg.Parts, err = parts(param+".output", out, roleTool); err != nil {
				return err
			}
		default:
			return llm.BadRequest(param+".output", "'%s.output' is required: a string or an array of content parts", param)
		}
		d.r.Messages = append(d.r.Messages, msg)
		return nil
	case "reasoning":
		return d.reasoningItem(param, item)
	case "item_reference":
		return llm.BadRequest(param+".type", "'%s': item references are not supported by this gateway; send the item itself, or continue from a stored response with 'previous_response_id'", param)
	case "":
		return llm.BadRequest(param+".type", "'%s.type' is required", param)
	}
	// web_search_call, file_search_call, computer_call(_output),
	// code_interpreter_call, image_generation_call, mcp_*, custom_tool_call…:
	// the history of a built-in tool, which no translated upstream can read.
	return llm.BadRequest(param+".type", "'%s.type' %q is not supported: built-in tools work only with upstreams that speak the Responses API", param, typ)
}

// assistant returns the assistant message that the next assistant-side
// item (reasoning, message, function call) joins: Responses spreads one
// assistant turn over several items, the canonical form holds it in one
// message.
func (d *decoder) assistant() *llm.Message {
	if n := len(d.r.Messages); n > 0 && d.r.Messages[n-1].Role == llm.RoleAssistant {
		return &d.r.Messages[n-1]
	}
	d.r.Messages = append(d.r.Messages, llm.Message{Role: llm.RoleAssistant})
	return &d.r.Messages[len(d.r.Messages)-1]
}

func (d *decoder) message(param string, item gjson.Result) error {
	role, err := str(param+".role", item.Get("role"))
	if err != nil {
		return err
	}
	content := item.Get("content")
	var ps []llm.Part
	pr := roleUser
	if role == "assistant" {
		pr = roleAssistant
	}
	switch {
	case content.Type == gjson.String:
		ps = textParts(content.Str)
	case content.IsArray():
		if ps, err = parts(param+".content", content, pr); err != nil {
			return err
		}
	default:
		return llm.BadRequest(param+".content", "'%s.content' is required: a string or an array of content parts", param)
	}
	switch role {
	case "user":
		d.r.Messages = append(d.r.Messages, llm.Message{Role: llm.RoleUser, Parts: ps})
	case "assistant":
		m := d.assistant()
		m.Parts = append(m.Parts, ps...)
	case "system", "developer":
		for _, p := range ps {
			if p.Type != llm.PartText {
				return llm.BadRequest(param+".content", "'%s.content' of a %s message may hold text only", param, role)
			}
		}
		// As in the chat codec: system messages before any turn join the
		// system prompt; a later one stays in place.
		if len(d.r.Messages) == 0 {
			d.r.System = append(d.r.System, ps...)
		} else {
			d.r.Messages = append(d.r.Messages, llm.Message{Role: llm.RoleSystem, Parts: ps})
		}
	case "":
		return llm.BadRequest(param+".role", "'%s.role' is required", param)
	default:
		return llm.BadRequest(param+".role", "'%s.role' must be user, assistant, system or developer", param)
	}
	return nil
}

// partRole says which content part types a place accepts.
type partRole uint8

const (
	roleUser      partRole = iota // input_text, input_image, input_file (and output_text, leniently)
	roleAssistant                 // output_text, refusal (and input_text)
	roleTool                      // a function call's output: input_text, input_image, input_file
)

func parts(param string, v gjson.Result, role partRole) ([]llm.Part, error) {
	var out []llm.Part
	var bad error
	j := 0
	v.ForEach(func(_, p gjson.Result) bool {
		pp := param + "[" + strconv.Itoa(j) + "]"
		j++
		if !p.IsObject() {
			bad = llm.BadRequest(pp, "'%s' must be an object with a 'type'", pp)
			return false
		}
		typ, err := str(pp+".type", p.Get("type"))
		if err != nil {
			bad = err
			return false
		}
		switch {
		case typ == "input_text" || typ == "output_text" || (typ == "refusal" && role == roleAssistant):
			key := "text"
			if typ == "refusal" {
				key = "refusal"
			}
			t, err := str(pp+"."+key, p.Get(key))
			if err != nil {
				bad = err
				return false
			}
			// Empty text parts are dropped: Anthropic refuses empty text blocks.
			out = append(out, textParts(t)...)
		case typ == "input_image" && role != roleAssistant:
			var part llm.Part
			if part, bad = image(pp, p); bad != nil {
				return false
			}
			out = append(out, part)
		case typ == "input_file" && role != roleAssistant:
			var part llm.Part
			if part, bad = file(pp, p); bad != nil {
				return false
			}
			out = append(out, part)
		case typ == "":
			bad = llm.BadRequest(pp+".type", "'%s.type' is required", pp)
			return false
		default:
			bad = llm.BadRequest(pp+".type", "'%s.type' %q is not supported here", pp, typ)
			return false
		}
		return true
	})
	return out, bad
}

// refuseFileID refuses a file_id: files live in OpenAI's Files API, which
// the gateway does not have, so no id a client holds can mean anything to
// an upstream.
func refuseFileID(pp string, p gjson.Result) error {
	if v := p.Get("file_id"); v.Exists() && v.Type != gjson.Null {
		return llm.BadRequest(pp+".file_id", "'%s.file_id': file ids are not supported by this gateway; send the content inline (a data: URL) or by URL", pp)
	}
	return nil
}

func image(pp string, p gjson.Result) (llm.Part, error) {
	if err := refuseFileID(pp, p); err != nil {
		return llm.Part{}, err
	}
	u, err := reqStr(pp+".image_url", p.Get("image_url"))
	if err != nil {
		return llm.Part{}, err
	}
	detail, err := str(pp+".detail", p.Get("detail"))
	if err != nil {
		return llm.Part{}, err
	}
	part := llm.Part{Type: llm.PartImage, Detail: detail}
	switch mt, data, ok := llm.ParseDataURL(u); {
	case ok && data != "":
		part.MediaType, part.Data = mt, data
	case strings.HasPrefix(u, "data:"):
		return llm.Part{}, llm.BadRequest(pp+".image_url", "'%s.image_url' must be an http(s) URL or a base64 data: URL with an image in it", pp)
	default:
		part.URL = u
	}
	return part, nil
}

func file(pp string, p gjson.Result) (llm.Part, error) {
	if err := refuseFileID(pp, p); err != nil {
		return llm.Part{}, err
	}
	part := llm.Part{Type: llm.PartDocument}
	var err error
	if part.Filename, err = str(pp+".filename", p.Get("filename")); err != nil {
		return part, err
	}
	fd, err := str(pp+".file_data", p.Get("file_data"))
	if err != nil {
		return part, err
	}
	switch mt, data, ok := llm.ParseDataURL(fd); {
	case ok:
		part.MediaType, part.Data = mt, data
	case strings.HasPrefix(fd, "data:"):
		return part, llm.BadRequest(pp+".file_data", "'%s.file_data' must be base64 or a base64 data: URL", pp)
	default: // bare base64, as the chat API also allows
		part.Data = fd
	}
	if part.URL, err = str(pp+".file_url", p.Get("file_url")); err != nil {
		return part, err
	}
	if part.Data == "" && part.URL == "" {
		return part, llm.BadRequest(pp, "'%s' needs file_data or file_url", pp)
	}
	return part, nil
}

// reasoningItem keeps a reasoning item's summary as a thinking part of the
// assistant turn it opens. encrypted_content carries the signature the
// gateway put there (EncodeResponse); for OpenAI's own encrypted reasoning
// it is meaningless elsewhere, and an Anthropic upstream would refuse a
// foreign signature, so only a thinking part's own round trip is faithful.
func (d *decoder) reasoningItem(param string, item gjson.Result) error {
	var text strings.Builder
	for _, key := range [...]string{"summary", "content"} {
		v := item.Get(key)
		if !v.Exists() || v.Type == gjson.Null {
			continue
		}
		if !v.IsArray() {
			return llm.BadRequest(param+"."+key, "'%s.%s' must be an array", param, key)
		}
		var bad error
		j := 0
		v.ForEach(func(_, s gjson.Result) bool {
			sp := param + "." + key + "[" + strconv.Itoa(j) + "]"
			j++
			t, err := str(sp+".text", s.Get("text"))
			if err != nil {
				bad = err
				return false
			}
			if text.Len() > 0 && t != "" {
				text.WriteString("\n\n")
			}
			text.WriteString(t)
			return true
		})
		if bad != nil {
			return bad
		}
		if text.Len() > 0 {
			break // content (full reasoning) only when there is no summary
		}
	}
	sig, err := str(param+".encrypted_content", item.Get("encrypted_content"))
	if err != nil {
		return err
	}
	if text.Len() == 0 && sig == "" {
		return nil
	}
	m := d.assistant()
	m.Parts = append(m.Parts, llm.Part{Type: llm.PartThinking, Text: text.String(), Signature: sig})
	return nil
}

func (d *decoder) tools(v gjson.Result) error {
	if !v.IsArray() {
		return llm.BadRequest("tools", "'tools' must be an array")
	}
	var bad error
	i := 0
	v.ForEach(func(_, t gjson.Result) bool {
		param := "tools[" + strconv.Itoa(i) + "]"
		i++
		if !t.IsObject() {
			bad = llm.BadRequest(param, "'%s' must be an object", param)
			return false
		}
		typ, err := str(param+".type", t.Get("type"))
		if err != nil {
			bad = err
			return false
		}
		if typ != "function" {
			if typ == "" {
				typ = "(none)"
			}
			bad = llm.BadRequest(param+".type", "'%s.type' %q: only function tools can be translated; built-in and custom tools work only with upstreams that speak the Responses API", param, typ)
			return false
		}
		tool := llm.Tool{}
		if tool.Name, bad = reqStr(param+".name", t.Get("name")); bad != nil {
			return false
		}
		if tool.Description, bad = str(param+".description", t.Get("description")); bad != nil {
			return false
		}
		if p := t.Get("parameters"); p.Exists() && p.Type != gjson.Null {
			if !p.IsObject() {
				bad = llm.BadRequest(param+".parameters", "'%s.parameters' must be a JSON Schema object", param)
				return false
			}
			tool.Parameters = json.RawMessage(p.Raw)
		}
		switch s := t.Get("strict"); s.Type {
		case gjson.True:
			tool.Strict = true
		case gjson.False, gjson.Null:
		default:
			bad = llm.BadRequest(param+".strict", "'%s.strict' must be a boolean", param)
			return false
		}
		d.r.Tools = append(d.r.Tools, tool)
		return true
	})
	if bad == nil {
		d.x.Tools = json.RawMessage(v.Raw)
	}
	return bad
}

func (d *decoder) toolChoice(v gjson.Result) error {
	tc := &llm.ToolChoice{}
	switch {
	case v.Type == gjson.String:
		switch v.Str {
		case "auto", "none", "required":
			tc.Mode = v.Str
		default:
			return llm.BadRequest("tool_choice", "'tool_choice' must be none, auto, required or {\"type\": \"function\", \"name\": ...}")
		}
	case v.IsObject():
		typ, err := str("tool_choice.type", v.Get("type"))
		if err != nil {
			return err
		}
		switch typ {
		case "function":
			if tc.Name, err = reqStr("tool_choice.name", v.Get("name")); err != nil {
				return err
			}
			tc.Mode = "tool"
		case "allowed_tools":
			// The canonical form cannot narrow the tool list per call; keep
			// the mode (auto | required) and let every tool through.
			tc.Mode = "auto"
			if v.Get("mode").Str == "required" {
				tc.Mode = "required"
			}
		case "":
			return llm.BadRequest("tool_choice.type", "'tool_choice.type' is required")
		default:
			return llm.BadRequest("tool_choice.type", "'tool_choice.type' %q: built-in tools work only with upstreams that speak the Responses API", typ)
		}
	default:
		return llm.BadRequest("tool_choice", "'tool_choice' must be a string or an object")
	}
	d.r.ToolChoice = tc
	d.x.ToolChoice = json.RawMessage(v.Raw)
	return nil
}

// text reads text.format (the Responses spelling of response_format:
// its json_schema fields sit beside "type", not under "json_schema").
func (d *decoder) text(v gjson.Result) error {
	if !v.IsObject() {
		return llm.BadRequest("text", "'text' must be an object such as {\"format\": {\"type\": \"text\"}}")
	}
	d.x.Text = json.RawMessage(v.Raw)
	f := v.Get("format")
	if !f.Exists() || f.Type == gjson.Null {
		return nil
	}
	if !f.IsObject() {
		return llm.BadRequest("text.format", "'text.format' must be an object such as {\"type\": \"json_object\"}")
	}
	rf := &llm.ResponseFormat{}
	var err error
	if rf.Type, err = str("text.format.type", f.Get("type")); err != nil {
		return err
	}
	switch rf.Type {
	case "text":
		return nil // the default: nothing to ask for
	case "json_object":
	case "json_schema":
		if rf.Name, err = reqStr("text.format.name", f.Get("name")); err != nil {
			return err
		}
		sc := f.Get("schema")
		if !sc.IsObject() {
			return llm.BadRequest("text.format.schema", "'text.format.schema' is required and must be a JSON Schema object")
		}
		rf.Schema = json.RawMessage(sc.Raw)
		switch s := f.Get("strict"); s.Type {
		case gjson.True:
			rf.Strict = true
		case gjson.False, gjson.Null:
		default:
			return llm.BadRequest("text.format.strict", "'text.format.strict' must be a boolean")
		}
	default:
		return llm.BadRequest("text.format.type", "'text.format.type' must be text, json_object or json_schema")
	}
	d.r.ResponseFormat = rf
	return nil
}

func (d *decoder) reasoning(v gjson.Result) error {
	if !v.IsObject() {
		return llm.BadRequest("reasoning", "'reasoning' must be an object such as {\"effort\": \"medium\"}")
	}
	d.x.Reasoning = json.RawMessage(v.Raw)
	effort, err := str("reasoning.effort", v.Get("effort"))
	if err != nil {
		return err
	}
	for _, k := range [...]string{"summary", "generate_summary"} {
		if _, err := str("reasoning."+k, v.Get(k)); err != nil {
			return err
		}
	}
	switch effort {
	case "":
		return nil
	case "none":
		d.r.Reasoning = &llm.Reasoning{Effort: effort, Disabled: true}
	case "minimal", "low", "medium", "high", "xhigh":
		d.r.Reasoning = &llm.Reasoning{Effort: effort}
	default:
		return llm.BadRequest("reasoning.effort", "'reasoning.effort' must be none, minimal, low, medium, high or xhigh")
	}
	return nil
}
