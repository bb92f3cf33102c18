package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Path is the URL path of a generateContent call for model. Streaming uses
// server-sent events (alt=sse); without it Gemini streams a JSON array.
// The model is one path segment, escaped: a route may take it from the
// client ("gemini/*"), and "../../files" must not reach another method of
// the API with the gateway's key.
func Path(model string, stream bool) string {
	if stream {
		return "/v1beta/models/" + url.PathEscape(model) + ":streamGenerateContent?alt=sse"
	}
	return "/v1beta/models/" + url.PathEscape(model) + ":generateContent"
}

// Thinking budgets for Reasoning.Effort. Gemini takes a token budget, not
// an effort level; these follow Google's OpenAI-compatibility mapping for
// low/medium/high (https://ai.google.dev/gemini-api/docs/openai#thinking),
// and minimal is the smallest budget 2.5 Pro accepts. xhigh and max
// (OpenAI's and Anthropic's levels above high) take high's budget, the
// largest that 2.5 Flash accepts.
var effortBudget = map[string]int64{
	"minimal": 128,
	"low":     1024,
	"medium":  8192,
	"high":    24576,
	"xhigh":   24576,
	"max":     24576,
}

// EncodeRequest renders r as a generateContent request body. The model is
// not in the body: it goes in the URL (see Path).
func EncodeRequest(r *llm.Request) ([]byte, error) {
	var w generateContentRequest
	var sys []part
	for _, p := range r.System {
		if p.Type == llm.PartText {
			sys = append(sys, part{Text: strPtr(p.Text)})
		}
	}
	callNames := map[string]string{}
	for i := range r.Messages {
		m := &r.Messages[i]
		var role string
		var parts []part
		switch m.Role {
		case llm.RoleSystem:
			for _, p := range m.Parts {
				if p.Type == llm.PartText {
					sys = append(sys, part{Text: strPtr(p.Text)})
				}
			}
			continue
		case llm.RoleUser:
			role = "user"
			parts = encodeParts(m.Parts)
		case llm.RoleAssistant:
			role = "model"
			parts = encodeParts(m.Parts)
			for _, tc := range m.ToolCalls {
				callNames[tc.ID] = tc.Name
				parts = append(parts, part{FunctionCall: &functionCall{Name: tc.Name, Args: llm.ArgsObject(tc.Arguments)},
					ThoughtSignature: tc.Signature})
			}
		case llm.RoleTool:
			role = "user"
			// Gemini matches a result to its call by name; OpenAI clients
			// send only the call's ID, so the name is found from the call.
			name := m.ToolName
			if name == "" {
				name = callNames[m.ToolCallID]
			}
			if name == "" {
				return nil, llm.BadRequest("messages["+strconv.Itoa(i)+"]",
					"a tool result needs the tool's name for Gemini (tool_call_id %q)", m.ToolCallID)
			}
			parts = []part{{FunctionResponse: &functionResponse{Name: name, Response: toolResponse(m)}}}
		default:
			return nil, llm.BadRequest("messages["+strconv.Itoa(i)+"].role", "unknown role %q", m.Role)
		}
		if len(parts) == 0 {
			continue
		}
		// Gemini wants turns to alternate; consecutive turns of one role
		// (a tool result followed by a user message, several tool results)
		// are one content.
		if n := len(w.Contents); n > 0 && w.Contents[n-1].Role == role {
			w.Contents[n-1].Parts = append(w.Contents[n-1].Parts, parts...)
			continue
		}
		w.Contents = append(w.Contents, content{Role: role, Parts: parts})
	}
	if w.Contents == nil {
		w.Contents = []content{}
	}
	if len(sys) > 0 {
		w.SystemInstruction = &content{Parts: sys}
	}
	tools, err := encodeTools(r.Tools)
	if err != nil {
		return nil, err
	}
	w.Tools = tools
	if tc := r.ToolChoice; tc != nil {
		fc := &functionCallingConfig{}
		switch tc.Mode {
		case "none":
			fc.Mode = "NONE"
		case "required":
			fc.Mode = "ANY"
		case "tool":
			fc.Mode = "ANY"
			if tc.Name != "" {
				fc.AllowedFunctionNames = []string{tc.Name}
			}
		default:
			fc.Mode = "AUTO"
		}
		w.ToolConfig = &toolConfig{FunctionCallingConfig: fc}
	}
	gc, err := encodeGenerationConfig(r)
	if err != nil {
		return nil, err
	}
	w.GenerationConfig = gc
	return json.Marshal(&w)
}

func encodeParts(ps []llm.Part) []part {
	var out []part
	for _, p := range ps {
		switch p.Type {
		case llm.PartText:
			// Gemini rejects an empty text part; OpenAI clients send
			// content "" beside tool calls.
			sig := geminiSignature(p.Signature, p.SignatureVendor)
			if p.Text == "" && sig == "" {
				continue
			}
			out = append(out, part{Text: strPtr(p.Text), ThoughtSignature: sig})
		case llm.PartThinking:
			// Gemini takes thought text without a signature, so another
			// vendor's reasoning keeps its text and loses its signature.
			if sig := geminiSignature(p.Signature, p.SignatureVendor); p.Text != "" || sig != "" {
				out = append(out, part{Text: strPtr(p.Text), Thought: true, ThoughtSignature: sig})
			}
		case llm.PartImage, llm.PartDocument:
			switch {
			case p.Data != "":
				out = append(out, part{InlineData: &blob{MimeType: p.MediaType, Data: p.Data}})
			case strings.HasPrefix(p.URL, "data:"):
				mt, data, ok := llm.ParseDataURL(p.URL)
				if ok {
					out = append(out, part{InlineData: &blob{MimeType: mt, Data: data}})
				}
			case p.URL != "":
				out = append(out, part{FileData: &fileData{MimeType: p.MediaType, FileURI: p.URL}})
			case p.FileID != "":
				// A Files API upload is named by its URI in Gemini.
				out = append(out, part{FileData: &fileData{MimeType: p.MediaType, FileURI: p.FileID}})
			}
		}
		// Redacted thinking is another vendor's encrypted reasoning; Gemini
		// cannot read it, so it is dropped.
	}
	return out
}

// toolResponse is the functionResponse.response object for a tool result:
// the output itself when it is a JSON object, else the text wrapped as
// {"content": …} ({"error": …} when the tool failed), since Gemini takes
// only an object there.
func toolResponse(m *llm.Message) json.RawMessage {
	var text strings.Builder
	for _, p := range m.Parts {
		if p.Type == llm.PartText {
			text.WriteString(p.Text)
		}
	}
	s := bytes.TrimSpace([]byte(text.String()))
	if len(s) > 0 && s[0] == '{' && json.Valid(s) {
		return s
	}
	key := "content"
	if m.IsError {
		key = "error"
	}
	b, _ := json.Marshal(map[string]string{key: text.String()})
	return b
}

func encodeTools(tools []llm.Tool) ([]json.RawMessage, error) {
	var decls []functionDeclaration
	var out []json.RawMessage
	for i, t := range tools {
		if t.Raw != nil {
			// A provider tool (googleSearch, codeExecution…) passes on only
			// to its own vendor.
			if t.RawDialect == "gemini" && json.Valid(t.Raw) {
				out = append(out, t.Raw)
			}
			continue
		}
		d := functionDeclaration{Name: t.Name, Description: t.Description}
		if len(t.Parameters) > 0 {
			s, err := schemaSubset(t.Parameters)
			if err != nil {
				return nil, llm.BadRequest("tools["+strconv.Itoa(i)+"].parameters", "the parameters of tool %q are not valid JSON", t.Name)
			}
			// Gemini rejects an OBJECT with no properties; a function
			// without parameters simply has none.
			if string(s) != `{"type":"OBJECT"}` && string(s) != `{}` {
				d.Parameters = s
			}
		}
		decls = append(decls, d)
	}
	if len(decls) > 0 {
		b, err := json.Marshal(map[string]any{"functionDeclarations": decls})
		if err != nil {
			return nil, err
		}
		out = append([]json.RawMessage{b}, out...)
	}
	return out, nil
}

func encodeGenerationConfig(r *llm.Request) (*generationConfig, error) {
	gc := generationConfig{
		StopSequences:   r.Stop,
		MaxOutputTokens: r.MaxTokens,
		Temperature:     r.Temperature,
		TopP:            r.TopP,
		TopK:            r.TopK,
		Seed:            r.Seed,
	}
	if r.N > 1 {
		// candidateCount would ask for them, but the canonical answer holds
		// one candidate: refuse rather than drop the others.
		return nil, llm.BadRequest("n", "n: %d choices were asked for, but this model is reached through translation, which answers one; send n 1 or leave it out", r.N)
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			gc.ResponseMimeType = "application/json"
			if len(rf.Schema) > 0 {
				s, err := schemaSubset(rf.Schema)
				if err != nil {
					return nil, llm.BadRequest("response_format.schema", "the response schema is not valid JSON")
				}
				gc.ResponseSchema = s
			}
		}
	}
	if rs := r.Reasoning; rs != nil {
		tc := &thinkingConfig{}
		switch {
		case rs.Disabled:
			zero := int64(0)
			tc.ThinkingBudget = &zero
		case rs.BudgetTokens > 0:
			b := rs.BudgetTokens
			tc.ThinkingBudget = &b
			tc.IncludeThoughts = true
		default:
			if b, ok := effortBudget[rs.Effort]; ok {
				tc.ThinkingBudget = &b
			}
			tc.IncludeThoughts = true
		}
		gc.ThinkingConfig = tc
	}
	if gc.StopSequences == nil && gc.ResponseMimeType == "" && gc.CandidateCount == 0 && gc.MaxOutputTokens == 0 &&
		gc.Temperature == nil && gc.TopP == nil && gc.TopK == nil && gc.Seed == nil && gc.ThinkingConfig == nil {
		return nil, nil
	}
	return &gc, nil
}

// decodeBody reads a client's JSON object body (snake_case keys too) into
// v, refusing a body that is not an object with a 400 naming the field.
func decodeBody(body []byte, v any) error {
	if err := json.Unmarshal(normalizeKeys(body), v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return llm.BadRequest(te.Field, "%s must be a JSON %s", nonEmpty(te.Field, "the body"), jsonKind(te.Type.Kind().String()))
		}
		return llm.BadRequest("", "the request body is not valid JSON: %v", err)
	}
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("null")) {
		return llm.BadRequest("", "the request body must be a JSON object")
	}
	return nil
}

// DecodeRequest reads a Gemini client's generateContent body. model comes
// from the URL path; stream is left false for the caller to set from the
// method (generateContent or streamGenerateContent).
func DecodeRequest(model string, body []byte) (*llm.Request, error) {
	var w generateContentRequest
	if err := decodeBody(body, &w); err != nil {
		return nil, err
	}
	if len(w.Contents) == 0 {
		return nil, llm.BadRequest("contents", "contents must be a non-empty array")
	}
	r := &llm.Request{Model: model}
	if w.SystemInstruction != nil {
		for _, p := range w.SystemInstruction.Parts {
			if p.Text != nil {
				r.System = append(r.System, llm.Part{Type: llm.PartText, Text: *p.Text})
			}
		}
	}
	// Calls are numbered across the conversation; a response takes the ID
	// of the earliest unanswered call of its name (Gemini matches by name
	// and order, https://ai.google.dev/gemini-api/docs/function-calling).
	nextCall := 0
	pending := map[string][]string{}
	for ci, c := range w.Contents {
		field := "contents[" + strconv.Itoa(ci) + "]"
		switch c.Role {
		case "user", "":
			var user llm.Message
			flush := func() {
				if len(user.Parts) > 0 {
					r.Messages = append(r.Messages, user)
				}
				user = llm.Message{Role: llm.RoleUser}
			}
			flush()
			for pi, p := range c.Parts {
				if fr := p.FunctionResponse; fr != nil {
					flush()
					if fr.Name == "" {
						return nil, llm.BadRequest(field+".parts["+strconv.Itoa(pi)+"].functionResponse.name", "functionResponse.name is required")
					}
					id := fr.ID
					if id == "" {
						if q := pending[fr.Name]; len(q) > 0 {
							id, pending[fr.Name] = q[0], q[1:]
						} else {
							id = "call_" + strconv.Itoa(nextCall)
							nextCall++
						}
					}
					text, isErr := toolResultText(fr.Response)
					r.Messages = append(r.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: id, ToolName: fr.Name,
						IsError: isErr, Parts: []llm.Part{{Type: llm.PartText, Text: text}}})
					continue
				}
				if mp, ok := decodePart(p); ok {
					user.Parts = append(user.Parts, mp)
				}
			}
			flush()
		case "model":
			m := llm.Message{Role: llm.RoleAssistant}
			for pi, p := range c.Parts {
				if fc := p.FunctionCall; fc != nil {
					if fc.Name == "" {
						return nil, llm.BadRequest(field+".parts["+strconv.Itoa(pi)+"].functionCall.name", "functionCall.name is required")
					}
					id := fc.ID
					if id == "" {
						id = "call_" + strconv.Itoa(nextCall)
						nextCall++
					}
					pending[fc.Name] = append(pending[fc.Name], id)
					m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: id, Name: fc.Name, Arguments: llm.CompactArgs(fc.Args), Signature: p.ThoughtSignature})
					continue
				}
				if mp, ok := decodePart(p); ok {
					m.Parts = append(m.Parts, mp)
				}
			}
			if len(m.Parts) > 0 || len(m.ToolCalls) > 0 {
				r.Messages = append(r.Messages, m)
			}
		default:
			return nil, llm.BadRequest(field+".role", "role must be \"user\" or \"model\", not %q", c.Role)
		}
	}
	for ti, raw := range w.Tools {
		tools, err := decodeTool(raw, "tools["+strconv.Itoa(ti)+"]")
		if err != nil {
			return nil, err
		}
		r.Tools = append(r.Tools, tools...)
	}
	if w.ToolConfig != nil && w.ToolConfig.FunctionCallingConfig != nil {
		fc := w.ToolConfig.FunctionCallingConfig
		switch fc.Mode {
		case "NONE":
			r.ToolChoice = &llm.ToolChoice{Mode: "none"}
		case "ANY":
			// llm.ToolChoice names at most one tool; a longer allow-list
			// becomes "required" (any tool).
			if len(fc.AllowedFunctionNames) == 1 {
				r.ToolChoice = &llm.ToolChoice{Mode: "tool", Name: fc.AllowedFunctionNames[0]}
			} else {
				r.ToolChoice = &llm.ToolChoice{Mode: "required"}
			}
		case "AUTO", "VALIDATED", "MODE_UNSPECIFIED", "":
			r.ToolChoice = &llm.ToolChoice{Mode: "auto"}
		default:
			return nil, llm.BadRequest("toolConfig.functionCallingConfig.mode", "unknown function calling mode %q", fc.Mode)
		}
	}
	if gc := w.GenerationConfig; gc != nil {
		if gc.MaxOutputTokens < 0 {
			return nil, llm.BadRequest("generationConfig.maxOutputTokens", "maxOutputTokens must not be negative")
		}
		r.MaxTokens = gc.MaxOutputTokens
		r.Temperature, r.TopP, r.TopK, r.Seed = gc.Temperature, gc.TopP, gc.TopK, gc.Seed
		r.Stop = gc.StopSequences
		if gc.CandidateCount > 1 {
			r.N = gc.CandidateCount
		}
		if gc.ResponseMimeType == "application/json" {
			switch {
			case len(gc.ResponseSchema) > 0:
				r.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Name: "response", Schema: schemaFromGemini(gc.ResponseSchema)}
			case len(gc.ResponseJSONSchema) > 0:
				r.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", Name: "response", Schema: gc.ResponseJSONSchema}
			default:
				r.ResponseFormat = &llm.ResponseFormat{Type: "json_object"}
			}
		}
		if tc := gc.ThinkingConfig; tc != nil {
			rs := &llm.Reasoning{}
			switch {
			case tc.ThinkingBudget != nil && *tc.ThinkingBudget == 0:
				rs.Disabled = true
			case tc.ThinkingBudget != nil && *tc.ThinkingBudget > 0:
				rs.BudgetTokens = *tc.ThinkingBudget
			}
			// -1 (dynamic thinking) leaves the budget to the model.
			r.Reasoning = rs
		}
	}
	return r, nil
}

func decodePart(p part) (llm.Part, bool) {
	switch {
	case p.Text != nil && p.Thought:
		return llm.Part{Type: llm.PartThinking, Text: *p.Text, Signature: p.ThoughtSignature, SignatureVendor: signatureVendor(p.ThoughtSignature)}, true
	case p.Text != nil:
		return llm.Part{Type: llm.PartText, Text: *p.Text, Signature: p.ThoughtSignature, SignatureVendor: signatureVendor(p.ThoughtSignature)}, true
	case p.InlineData != nil:
		return llm.Part{Type: mediaPartType(p.InlineData.MimeType), MediaType: p.InlineData.MimeType, Data: p.InlineData.Data}, true
	case p.FileData != nil:
		return llm.Part{Type: mediaPartType(p.FileData.MimeType), MediaType: p.FileData.MimeType, URL: p.FileData.FileURI}, true
	}
	// executableCode, codeExecutionResult and the like have no canonical form.
	return llm.Part{}, false
}

func mediaPartType(mime string) llm.PartType {
	if strings.HasPrefix(mime, "image/") {
		return llm.PartImage
	}
	return llm.PartDocument
}

// toolResultText inverts toolResponse: {"content": "text"} and
// {"error": "text"} unwrap to their text, any other object stays JSON.
func toolResultText(resp json.RawMessage) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(resp, &m) == nil && len(m) == 1 {
		for k, v := range m {
			var s string
			if (k == "content" || k == "error") && json.Unmarshal(v, &s) == nil {
				return s, k == "error"
			}
		}
	}
	return llm.CompactArgs(resp), false
}

func decodeTool(raw json.RawMessage, field string) ([]llm.Tool, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, llm.BadRequest(field, "a tool must be a JSON object")
	}
	var out []llm.Tool
	if fd, ok := m["functionDeclarations"]; ok {
		var decls []functionDeclaration
		if err := json.Unmarshal(fd, &decls); err != nil {
			return nil, llm.BadRequest(field+".functionDeclarations", "functionDeclarations must be an array of objects")
		}
		for di, d := range decls {
			if d.Name == "" {
				return nil, llm.BadRequest(field+".functionDeclarations["+strconv.Itoa(di)+"].name", "a function declaration needs a name")
			}
			t := llm.Tool{Name: d.Name, Description: d.Description}
			switch {
			case len(d.Parameters) > 0:
				t.Parameters = schemaFromGemini(d.Parameters)
			case len(d.ParametersJSONSchema) > 0:
				t.Parameters = d.ParametersJSONSchema
			}
			out = append(out, t)
		}
		delete(m, "functionDeclarations")
	}
	// Every other key is a Gemini built-in tool (googleSearch,
	// codeExecution, urlContext…), kept verbatim for a Gemini upstream.
	for _, k := range sortedKeys(m) {
		b, _ := json.Marshal(map[string]json.RawMessage{k: m[k]})
		out = append(out, llm.Tool{Name: k, Raw: b, RawDialect: "gemini"})
	}
	return out, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func jsonKind(goKind string) string {
	switch goKind {
	case "slice":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	case "int64", "int", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return goKind
}

// signatureVendor marks a thoughtSignature as Gemini's ("" when there is
// none), so that no other vendor is sent it.
func signatureVendor(sig string) string {
	if sig == "" {
		return ""
	}
	return llm.VendorGemini
}

// geminiSignature is sig when Gemini issued it, else "": a signature is
// only valid for the vendor that issued it. A function call's
// ToolCall.Signature is always Gemini's (no other dialect has one).
func geminiSignature(sig, vendor string) string {
	if vendor != llm.VendorGemini {
		return ""
	}
	return sig
}
