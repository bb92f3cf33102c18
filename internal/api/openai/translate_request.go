package openai

// Translation between OpenAI Chat Completions and the canonical llm types,
// used only when a request crosses dialects. Same-dialect traffic never
// comes here (see request.go: it is spliced as bytes).
//
// Shapes follow the OpenAPI spec (CreateChatCompletionRequest,
// ChatCompletionRequestMessage and its content parts, ChatCompletionTool,
// ChatCompletionToolChoiceOption, ResponseFormatJsonSchema). Field names
// outside the spec are vendor extras named beside the code that reads them.

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// DecodeRequest reads an OpenAI Chat Completions request body into the
// canonical form. Malformed input is an *llm.Error (400) naming the field.
//
// System and developer messages that open the conversation become
// Request.System; one that appears after a user or assistant turn stays in
// place as a RoleSystem message, since moving it would change its meaning
// (codecs for dialects with a single system prompt decide what to do).
// Audio parts (input_audio) have no canonical equivalent and are dropped.
func DecodeRequest(body []byte) (*llm.Request, error) {
	s := bytesToString(body)
	if err := CheckBody(body, MaxDepth); err != nil {
		return nil, err
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return nil, llm.BadRequest("", "request body must be a JSON object")
	}
	d := requestDecoder{r: &llm.Request{}, fnIDs: map[string]string{}, callNames: map[string]string{}}
	var bad error
	var parallel, functionCall, thinking gjson.Result
	var maxCompletion, maxTokens int64
	root.ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		switch k.Str {
		case "model":
			if v.Type != gjson.String {
				bad = llm.BadRequest("model", "'model' must be a string, such as \"gpt-4o\"")
			}
			d.r.Model = v.Str
		case "messages":
			bad = d.messages(v)
		case "tools":
			bad = d.tools(v)
		case "functions": // legacy (deprecated) form of tools
			bad = d.functions(v)
		case "tool_choice":
			bad = d.toolChoice(v)
		case "function_call": // legacy form of tool_choice, applied after tool_choice
			functionCall = v
		case "parallel_tool_calls":
			parallel = v
		case "max_completion_tokens":
			maxCompletion, bad = nonNegInt(k.Str, v)
		case "max_tokens":
			maxTokens, bad = nonNegInt(k.Str, v)
		case "temperature", "top_p":
			if v.Type != gjson.Number {
				bad = llm.BadRequest(k.Str, "'%s' must be a number", k.Str)
				return false
			}
			f := v.Num
			if k.Str == "temperature" {
				d.r.Temperature = &f
			} else {
				d.r.TopP = &f
			}
		case "top_k": // not OpenAI; vLLM, OpenRouter and SDK users aiming at Anthropic/Gemini send it
			var n int64
			if n, bad = nonNegInt(k.Str, v); bad == nil {
				d.r.TopK = &n
			}
		case "seed":
			if v.Type != gjson.Number || v.Num != float64(int64(v.Num)) {
				bad = llm.BadRequest("seed", "'seed' must be an integer")
				return false
			}
			n := v.Int()
			d.r.Seed = &n
		case "n":
			var n int64
			if n, bad = nonNegInt(k.Str, v); bad == nil {
				d.r.N = int(n)
			}
		case "stream":
			if v.Type != gjson.True && v.Type != gjson.False {
				bad = llm.BadRequest("stream", "'stream' must be a boolean")
			}
			d.r.Stream = v.Type == gjson.True
		case "stop":
			bad = d.stop(v)
		case "response_format":
			bad = d.responseFormat(v)
		case "reasoning_effort":
			if v.Type != gjson.String {
				bad = llm.BadRequest("reasoning_effort", "'reasoning_effort' must be a string: minimal, low, medium or high")
				return false
			}
			d.reasoning().Effort = v.Str
			if v.Str == "none" {
				d.reasoning().Disabled = true
			}
		case "thinking":
			// Anthropic's extended-thinking object, which some OpenAI-SDK
			// clients pass through extra_body for Claude models.
			thinking = v
		case "user":
			if v.Type != gjson.String {
				bad = llm.BadRequest("user", "'user' must be a string")
			}
			d.r.User = v.Str
		}
		return bad == nil
	})
	if bad != nil {
		return nil, bad
	}
	if d.r.Model == "" {
		return nil, llm.BadRequest("model", "you must provide a model parameter, such as \"gpt-4o\"")
	}
	if len(d.r.Messages) == 0 && len(d.r.System) == 0 {
		return nil, llm.BadRequest("messages", "you must provide a 'messages' array, such as [{\"role\": \"user\", \"content\": \"Hello\"}]")
	}
	d.r.MaxTokens = maxTokens
	if maxCompletion > 0 {
		d.r.MaxTokens = maxCompletion
	}
	if functionCall.Exists() && d.r.ToolChoice == nil {
		if err := d.toolChoice(functionCall); err != nil {
			return nil, err
		}
	}
	switch parallel.Type {
	case gjson.False:
		if len(d.r.Tools) == 0 {
			break // meaningless without tools (and OpenAI refuses it then)
		}
		if d.r.ToolChoice == nil {
			d.r.ToolChoice = &llm.ToolChoice{Mode: "auto"}
		}
		d.r.ToolChoice.DisableParallel = true
	case gjson.True, gjson.Null:
	default:
		return nil, llm.BadRequest("parallel_tool_calls", "'parallel_tool_calls' must be a boolean")
	}
	if thinking.Exists() {
		if !thinking.IsObject() {
			return nil, llm.BadRequest("thinking", "'thinking' must be an object such as {\"type\": \"enabled\", \"budget_tokens\": 2048}")
		}
		switch thinking.Get("type").Str {
		case "enabled":
			d.reasoning().BudgetTokens = thinking.Get("budget_tokens").Int()
		case "disabled":
			d.reasoning().Disabled = true
		case "adaptive":
			// Claude's adaptive thinking: the model decides how much to
			// think, steered by reasoning_effort if given.
			d.reasoning().Adaptive = true
		}
	}
	return d.r, nil
}

type requestDecoder struct {
	r *llm.Request
	// fnIDs gives legacy function calls (which carry no id) a stable id,
	// so the function-role answer that follows can name the call it answers.
	fnIDs map[string]string
	// callNames maps a tool call's id to its function name, so a tool
	// message can carry ToolName (Gemini's functionResponse needs it; the
	// OpenAI tool message has only the id).
	callNames map[string]string
}

func (d *requestDecoder) reasoning() *llm.Reasoning {
	if d.r.Reasoning == nil {
		d.r.Reasoning = &llm.Reasoning{}
	}
	return d.r.Reasoning
}

func nonNegInt(name string, v gjson.Result) (int64, error) {
	if v.Type != gjson.Number || v.Num < 0 || v.Num != float64(int64(v.Num)) {
		return 0, llm.BadRequest(name, "'%s' must be a non-negative integer", name)
	}
	return int64(v.Num), nil
}

func (d *requestDecoder) stop(v gjson.Result) error {
	switch {
	case v.Type == gjson.String:
		if v.Str != "" {
			d.r.Stop = []string{v.Str}
		}
	case v.IsArray():
		var bad error
		v.ForEach(func(_, s gjson.Result) bool {
			if s.Type != gjson.String {
				bad = llm.BadRequest("stop", "'stop' must be a string or an array of strings")
				return false
			}
			d.r.Stop = append(d.r.Stop, s.Str)
			return true
		})
		return bad
	default:
		return llm.BadRequest("stop", "'stop' must be a string or an array of strings")
	}
	return nil
}

func (d *requestDecoder) responseFormat(v gjson.Result) error {
	if !v.IsObject() {
		return llm.BadRequest("response_format", "'response_format' must be an object such as {\"type\": \"json_object\"}")
	}
	rf := &llm.ResponseFormat{Type: v.Get("type").Str}
	switch rf.Type {
	case "text", "json_object":
	case "json_schema":
		js := v.Get("json_schema")
		if !js.IsObject() {
			return llm.BadRequest("response_format.json_schema", "'response_format.json_schema' must be an object with 'name' and 'schema'")
		}
		rf.Name = js.Get("name").Str
		if rf.Name == "" { // required by the spec, as OpenAI enforces
			return llm.BadRequest("response_format.json_schema.name", "'response_format.json_schema.name' is required")
		}
		if sc := js.Get("schema"); sc.Exists() && sc.Type != gjson.Null {
			rf.Schema = json.RawMessage(sc.Raw)
		}
		rf.Strict = js.Get("strict").Type == gjson.True
	default:
		return llm.BadRequest("response_format.type", "'response_format.type' must be text, json_object or json_schema")
	}
	d.r.ResponseFormat = rf
	return nil
}

func (d *requestDecoder) tools(v gjson.Result) error {
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
		if typ := t.Get("type").Str; typ != "function" {
			// A custom or provider tool (the seeds show Anthropic's
			// web_search_20250305 sent through the OpenAI API): only a
			// codec of a dialect that knows it can use it.
			name := t.Get("name").Str
			if typ == "custom" { // OpenAI custom tool: {"type":"custom","custom":{"name",...}}
				name = t.Get("custom.name").Str
			}
			d.r.Tools = append(d.r.Tools, llm.Tool{Name: name, Raw: json.RawMessage(t.Raw), RawDialect: "openai"})
			return true
		}
		var tool llm.Tool
		if tool, bad = function(param+".function", t.Get("function")); bad != nil {
			return false
		}
		d.r.Tools = append(d.r.Tools, tool)
		return true
	})
	return bad
}

func function(param string, f gjson.Result) (llm.Tool, error) {
	if !f.IsObject() || f.Get("name").Type != gjson.String || f.Get("name").Str == "" {
		return llm.Tool{}, llm.BadRequest(param+".name", "'%s.name' must be a non-empty string", param)
	}
	t := llm.Tool{Name: f.Get("name").Str, Description: f.Get("description").Str, Strict: f.Get("strict").Type == gjson.True}
	if p := f.Get("parameters"); p.Exists() && p.Type != gjson.Null {
		t.Parameters = json.RawMessage(p.Raw)
	}
	return t, nil
}

func (d *requestDecoder) functions(v gjson.Result) error {
	if !v.IsArray() {
		return llm.BadRequest("functions", "'functions' must be an array")
	}
	var bad error
	i := 0
	v.ForEach(func(_, f gjson.Result) bool {
		var t llm.Tool
		t, bad = function("functions["+strconv.Itoa(i)+"]", f)
		i++
		d.r.Tools = append(d.r.Tools, t)
		return bad == nil
	})
	return bad
}

func (d *requestDecoder) toolChoice(v gjson.Result) error {
	tc := &llm.ToolChoice{}
	switch {
	case v.Type == gjson.String:
		switch v.Str {
		case "auto", "none", "required":
			tc.Mode = v.Str
		default:
			return llm.BadRequest("tool_choice", "'tool_choice' must be none, auto, required or {\"type\": \"function\", \"function\": {\"name\": ...}}")
		}
	case v.IsObject():
		switch v.Get("type").Str {
		case "function":
			tc.Mode, tc.Name = "tool", v.Get("function.name").Str
		case "custom":
			tc.Mode, tc.Name = "tool", v.Get("custom.name").Str
		case "allowed_tools":
			// The canonical form cannot restrict the tool list per call;
			// keep the mode (auto | required) and let every tool through.
			tc.Mode = v.Get("allowed_tools.mode").Str
			if tc.Mode != "required" {
				tc.Mode = "auto"
			}
		case "":
			// Legacy function_call: {"name": "..."}.
			tc.Mode, tc.Name = "tool", v.Get("name").Str
		default:
			return llm.BadRequest("tool_choice.type", "'tool_choice.type' must be function, custom or allowed_tools")
		}
		if tc.Mode == "tool" && tc.Name == "" {
			return llm.BadRequest("tool_choice", "'tool_choice' must name the function to call")
		}
	default:
		return llm.BadRequest("tool_choice", "'tool_choice' must be a string or an object")
	}
	d.r.ToolChoice = tc
	return nil
}

func (d *requestDecoder) messages(v gjson.Result) error {
	if !v.IsArray() {
		return llm.BadRequest("messages", "'messages' must be an array of {\"role\", \"content\"} objects")
	}
	var bad error
	i := 0
	v.ForEach(func(_, m gjson.Result) bool {
		bad = d.message("messages["+strconv.Itoa(i)+"]", i, m)
		i++
		return bad == nil
	})
	return bad
}

func (d *requestDecoder) message(param string, i int, m gjson.Result) error {
	if !m.IsObject() {
		return llm.BadRequest(param, "'%s' must be an object with a 'role'", param)
	}
	role := m.Get("role").Str
	content := m.Get("content")
	switch role {
	case "system", "developer":
		parts, err := contentParts(param+".content", content, false)
		if err != nil {
			return err
		}
		if len(d.r.Messages) == 0 {
			d.r.System = append(d.r.System, parts...)
			return nil
		}
		d.r.Messages = append(d.r.Messages, llm.Message{Role: llm.RoleSystem, Name: m.Get("name").Str, Parts: parts})
	case "user":
		parts, err := contentParts(param+".content", content, true)
		if err != nil {
			return err
		}
		d.r.Messages = append(d.r.Messages, llm.Message{Role: llm.RoleUser, Name: m.Get("name").Str, Parts: parts})
	case "assistant":
		msg := llm.Message{Role: llm.RoleAssistant, Name: m.Get("name").Str}
		// reasoning_content: DeepSeek, Qwen and others send the model's
		// reasoning back in this field; OpenRouter calls it "reasoning".
		for _, k := range []string{"reasoning_content", "reasoning"} {
			if r := m.Get(k); r.Type == gjson.String && r.Str != "" {
				msg.Parts = append(msg.Parts, llm.Part{Type: llm.PartThinking, Text: r.Str})
				break
			}
		}
		parts, err := contentParts(param+".content", content, false)
		if err != nil {
			return err
		}
		msg.Parts = append(msg.Parts, parts...)
		if r := m.Get("refusal"); r.Type == gjson.String && r.Str != "" && len(parts) == 0 {
			msg.Parts = append(msg.Parts, llm.Part{Type: llm.PartText, Text: r.Str})
		}
		if tcs := m.Get("tool_calls"); tcs.Exists() && tcs.Type != gjson.Null {
			if !tcs.IsArray() {
				return llm.BadRequest(param+".tool_calls", "'%s.tool_calls' must be an array", param)
			}
			j := 0
			var bad error
			tcs.ForEach(func(_, tc gjson.Result) bool {
				p := param + ".tool_calls[" + strconv.Itoa(j) + "]"
				j++
				var call llm.ToolCall
				switch tc.Get("type").Str {
				case "custom":
					call = llm.ToolCall{ID: tc.Get("id").Str, Name: tc.Get("custom.name").Str, Arguments: tc.Get("custom.input").Str}
				default:
					call = llm.ToolCall{ID: tc.Get("id").Str, Name: tc.Get("function.name").Str, Arguments: tc.Get("function.arguments").Str}
				}
				if call.Name == "" {
					bad = llm.BadRequest(p+".function.name", "'%s.function.name' must be a non-empty string", p)
					return false
				}
				msg.ToolCalls = append(msg.ToolCalls, call)
				d.callNames[call.ID] = call.Name
				return true
			})
			if bad != nil {
				return bad
			}
		}
		if fc := m.Get("function_call"); fc.IsObject() { // legacy
			name := fc.Get("name").Str
			if name == "" {
				return llm.BadRequest(param+".function_call.name", "'%s.function_call.name' must be a non-empty string", param)
			}
			id := "call_fn_" + strconv.Itoa(i)
			d.fnIDs[name] = id
			d.callNames[id] = name
			msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: id, Name: name, Arguments: fc.Get("arguments").Str})
		}
		d.r.Messages = append(d.r.Messages, msg)
	case "tool", "function":
		parts, err := contentParts(param+".content", content, false)
		if err != nil {
			return err
		}
		msg := llm.Message{Role: llm.RoleTool, Parts: parts, ToolCallID: m.Get("tool_call_id").Str}
		if role == "function" {
			msg.ToolName = m.Get("name").Str
			msg.ToolCallID = d.fnIDs[msg.ToolName]
			if msg.ToolCallID == "" { // an answer to no call we saw: still needs an id
				msg.ToolCallID = "call_fn_" + msg.ToolName
			}
		} else if msg.ToolCallID == "" {
			return llm.BadRequest(param+".tool_call_id", "'%s.tool_call_id' is required for a tool message", param)
		} else {
			msg.ToolName = d.callNames[msg.ToolCallID]
		}
		d.r.Messages = append(d.r.Messages, msg)
	case "":
		return llm.BadRequest(param+".role", "'%s.role' is required", param)
	default:
		return llm.BadRequest(param+".role", "'%s.role' must be system, developer, user, assistant or tool", param)
	}
	return nil
}

// contentParts reads a message's content: null, a string, or an array of
// parts. Media parts are allowed only where media is (user messages).
func contentParts(param string, v gjson.Result, media bool) ([]llm.Part, error) {
	switch {
	case !v.Exists() || v.Type == gjson.Null:
		return nil, nil
	case v.Type == gjson.String:
		if v.Str == "" {
			return nil, nil
		}
		return []llm.Part{{Type: llm.PartText, Text: v.Str}}, nil
	case !v.IsArray():
		return nil, llm.BadRequest(param, "'%s' must be a string or an array of content parts", param)
	}
	var parts []llm.Part
	var bad error
	j := 0
	v.ForEach(func(_, p gjson.Result) bool {
		pp := param + "[" + strconv.Itoa(j) + "]"
		j++
		typ := p.Get("type").Str
		switch {
		// Empty text parts are dropped: Anthropic refuses empty text blocks.
		case typ == "text":
			if t := p.Get("text").Str; t != "" {
				parts = append(parts, llm.Part{Type: llm.PartText, Text: t})
			}
		case typ == "refusal":
			if t := p.Get("refusal").Str; t != "" {
				parts = append(parts, llm.Part{Type: llm.PartText, Text: t})
			}
		case typ == "image_url" && media:
			u := p.Get("image_url.url")
			if u.Type != gjson.String || u.Str == "" {
				bad = llm.BadRequest(pp+".image_url.url", "'%s.image_url.url' must be a URL or a data: URL", pp)
				return false
			}
			part := llm.Part{Type: llm.PartImage, Detail: p.Get("image_url.detail").Str}
			if mt, data, ok := parseDataURL(u.Str); ok {
				if data == "" {
					bad = llm.BadRequest(pp+".image_url.url", "'%s.image_url.url' is a data: URL with no image in it", pp)
					return false
				}
				part.MediaType, part.Data = mt, data
			} else {
				part.URL = u.Str
			}
			parts = append(parts, part)
		case typ == "file" && media:
			f := p.Get("file")
			part := llm.Part{Type: llm.PartDocument, FileID: f.Get("file_id").Str, Filename: f.Get("filename").Str}
			if fd := f.Get("file_data").Str; fd != "" {
				if mt, data, ok := parseDataURL(fd); ok {
					part.MediaType, part.Data = mt, data
				} else { // the spec allows bare base64
					part.Data = fd
				}
			}
			// file.url is not in the spec; aggregators accept it (seed 002).
			part.URL = f.Get("url").Str
			if part.Data == "" && part.FileID == "" && part.URL == "" {
				bad = llm.BadRequest(pp+".file", "'%s.file' needs file_data or file_id", pp)
				return false
			}
			parts = append(parts, part)
		case typ == "input_audio" && media:
			// No canonical audio part: dropped rather than refused, so a
			// mixed text+audio turn still reaches a text-only upstream.
		default:
			bad = llm.BadRequest(pp+".type", "'%s.type' %q is not supported here", pp, typ)
			return false
		}
		return true
	})
	return parts, bad
}

// parseDataURL splits data:[<mediatype>][;base64],<data>. Data that is not
// base64 is percent-decoded and base64-encoded, since every dialect wants
// base64.
func parseDataURL(s string) (mediaType, data string, ok bool) {
	if !strings.HasPrefix(s, "data:") {
		return "", "", false
	}
	meta, payload, found := strings.Cut(s[len("data:"):], ",")
	if !found {
		return "", "", false
	}
	if mt, isB64 := strings.CutSuffix(meta, ";base64"); isB64 {
		return mt, payload, true
	}
	raw, err := url.PathUnescape(payload)
	if err != nil {
		return "", "", false
	}
	mt, _, _ := strings.Cut(meta, ";")
	return mt, base64.StdEncoding.EncodeToString([]byte(raw)), true
}

func dataURL(mediaType, data string) string {
	return "data:" + mediaType + ";base64," + data
}
