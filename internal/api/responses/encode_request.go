package responses

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Wire shapes for EncodeRequest, the upstream direction. Field order is
// the order written.
type (
	wireRequest struct {
		Model             string            `json:"model"`
		Instructions      string            `json:"instructions,omitempty"`
		Input             []any             `json:"input"`
		Tools             []json.RawMessage `json:"tools,omitempty"`
		ToolChoice        any               `json:"tool_choice,omitempty"`
		ParallelToolCalls *bool             `json:"parallel_tool_calls,omitempty"`
		Text              *wireText         `json:"text,omitempty"`
		Reasoning         *wireReasoning    `json:"reasoning,omitempty"`
		MaxOutputTokens   int64             `json:"max_output_tokens,omitempty"`
		Temperature       *float64          `json:"temperature,omitempty"`
		TopP              *float64          `json:"top_p,omitempty"`
		User              string            `json:"user,omitempty"`
		// Store is always false: the gateway keeps conversations itself,
		// and an upstream-stored response would belong to the gateway's
		// account there, not the client's.
		Store   bool     `json:"store"`
		Include []string `json:"include,omitempty"`
		Stream  bool     `json:"stream,omitempty"`
	}
	wireMessageItem struct {
		Type    string `json:"type"`
		Role    string `json:"role"`
		Content []any  `json:"content"`
	}
	wireTextPart struct {
		Type string `json:"type"` // input_text | output_text
		Text string `json:"text"`
	}
	wireImagePart struct {
		Type     string `json:"type"` // input_image
		ImageURL string `json:"image_url"`
		Detail   string `json:"detail,omitempty"`
	}
	wireFilePart struct {
		Type     string `json:"type"` // input_file
		Filename string `json:"filename,omitempty"`
		FileData string `json:"file_data,omitempty"`
		FileURL  string `json:"file_url,omitempty"`
		FileID   string `json:"file_id,omitempty"`
	}
	wireFunctionCall struct {
		Type      string `json:"type"` // function_call
		CallID    string `json:"call_id"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	wireFunctionOutput struct {
		Type   string `json:"type"` // function_call_output
		CallID string `json:"call_id"`
		Output any    `json:"output"` // a string, or input parts
	}
	wireReasoningItem struct {
		Type             string         `json:"type"` // reasoning
		Summary          []wireTextPart `json:"summary"`
		EncryptedContent string         `json:"encrypted_content,omitempty"`
	}
	wireFunctionTool struct {
		Type        string          `json:"type"` // function
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters"`
		// Strict is always written: the Responses API requires it, and
		// where it is left out OpenAI enforces strict schemas, which
		// refuse the schemas most clients send.
		Strict bool `json:"strict"`
	}
	wireNamedFunction struct {
		Type string `json:"type"` // function
		Name string `json:"name"`
	}
	wireText struct {
		Format wireFormat `json:"format"`
	}
	wireFormat struct {
		Type   string          `json:"type"` // json_schema | json_object
		Name   string          `json:"name,omitempty"`
		Schema json.RawMessage `json:"schema,omitempty"`
		Strict bool            `json:"strict,omitempty"`
	}
	wireReasoning struct {
		Effort string `json:"effort,omitempty"`
	}
)

const emptyParameters = `{"type":"object","properties":{}}`

// includeEncryptedReasoning asks for reasoning items' encrypted_content:
// with store false it is the only way to carry reasoning into the next turn.
const includeEncryptedReasoning = "reasoning.encrypted_content"

// EncodeRequest renders r as a Responses API request body for an upstream
// that speaks it (POST /v1/responses): the inverse of DecodeRequest for
// everything the format can say. It always sends "store": false. What the
// Responses API cannot express (several choices, stop sequences, seed,
// top_k, another vendor's provider tools, a non-text system part) is a 400
// naming the field; what only another vendor can read (its thinking
// signatures, redacted thinking, cache_control) is dropped, as the other
// encoders drop it; so are temperature and top_p beside a reasoning effort.
func EncodeRequest(r *llm.Request) ([]byte, error) {
	if err := refuseInexpressible(r); err != nil {
		return nil, err
	}
	w := wireRequest{
		Model:           r.Model,
		Input:           make([]any, 0, len(r.Messages)+2),
		MaxOutputTokens: r.MaxTokens,
		Temperature:     r.Temperature,
		TopP:            r.TopP,
		User:            r.User,
		Stream:          r.Stream,
	}
	if err := encodeSystem(&w, r.System); err != nil {
		return nil, err
	}
	carriesReasoning := false
	for i := range r.Messages {
		var err error
		var reasoning bool
		if w.Input, reasoning, err = appendMessage(w.Input, &r.Messages[i], i); err != nil {
			return nil, err
		}
		carriesReasoning = carriesReasoning || reasoning
	}
	var err error
	if w.Tools, err = encodeTools(r.Tools); err != nil {
		return nil, err
	}
	if err := encodeToolChoice(&w, r.ToolChoice); err != nil {
		return nil, err
	}
	if w.Text, err = encodeFormat(r.ResponseFormat); err != nil {
		return nil, err
	}
	if w.Reasoning, err = encodeReasoning(r.Reasoning); err != nil {
		return nil, err
	}
	if w.Reasoning != nil && w.Reasoning.Effort != "none" {
		// OpenAI's reasoning models refuse sampling parameters ("not
		// supported with this model"); as the Anthropic encoder does for
		// thinking, they are dropped rather than failing a request that
		// another dialect's client could send anywhere else.
		w.Temperature, w.TopP = nil, nil
	}
	if (w.Reasoning != nil && w.Reasoning.Effort != "none") || carriesReasoning {
		w.Include = []string{includeEncryptedReasoning}
	}
	body, err := json.Marshal(w)
	if err != nil {
		return nil, llm.BadRequest("", "cannot encode the request for a Responses API upstream: %v", err)
	}
	return body, nil
}

// refuseInexpressible refuses the canonical fields the Responses API has
// no place for. Dropping them would answer a different question than the
// one asked.
func refuseInexpressible(r *llm.Request) error {
	const via = "this model is served through the OpenAI Responses API, which "
	switch {
	case r.N > 1:
		return llm.BadRequest("n", "n: %d choices were asked for, but %sanswers one per request; send n 1 or leave it out", r.N, via)
	case len(r.Stop) > 0:
		return llm.BadRequest("stop", "stop: %shas no stop sequences; leave stop out", via)
	case r.Seed != nil:
		return llm.BadRequest("seed", "seed: %shas no seed; leave seed out", via)
	case r.TopK != nil:
		return llm.BadRequest("top_k", "top_k: %shas no top_k; leave top_k out", via)
	}
	return nil
}

// encodeSystem puts the system prompt's first text in instructions and any
// further parts in a system message before the first turn (where
// DecodeRequest reads them back into the system prompt).
func encodeSystem(w *wireRequest, system []llm.Part) error {
	for i, p := range system {
		if p.Type != llm.PartText {
			return llm.BadRequest("system", "system[%d]: a %s part cannot be sent in a Responses API system prompt; it holds text only", i, p.Type)
		}
	}
	if len(system) == 0 {
		return nil
	}
	w.Instructions = system[0].Text
	if rest := system[1:]; len(rest) > 0 {
		w.Input = append(w.Input, wireMessageItem{Type: "message", Role: "system", Content: textContent(rest, "input_text")})
	}
	return nil
}

func textContent(ps []llm.Part, typ string) []any {
	out := make([]any, 0, len(ps))
	for _, p := range ps {
		if p.Type == llm.PartText && p.Text != "" {
			out = append(out, wireTextPart{Type: typ, Text: p.Text})
		}
	}
	return out
}

// appendMessage appends the input items of one canonical message and
// reports whether it carried OpenAI reasoning.
func appendMessage(in []any, m *llm.Message, i int) ([]any, bool, error) {
	param := "messages[" + strconv.Itoa(i) + "]"
	switch m.Role {
	case llm.RoleUser:
		content, err := inputContent(m.Parts, param)
		if err != nil {
			return in, false, err
		}
		return append(in, wireMessageItem{Type: "message", Role: "user", Content: content}), false, nil
	case llm.RoleSystem:
		for j, p := range m.Parts {
			if p.Type != llm.PartText {
				return in, false, llm.BadRequest(param+".content", "%s.content[%d]: a system message sent through the Responses API holds text only", param, j)
			}
		}
		return append(in, wireMessageItem{Type: "message", Role: "system", Content: textContent(m.Parts, "input_text")}), false, nil
	case llm.RoleAssistant:
		in, reasoning := appendAssistant(in, m)
		return in, reasoning, nil
	case llm.RoleTool:
		if m.ToolCallID == "" {
			return in, false, llm.BadRequest(param+".tool_call_id", "%s: a tool result needs the id of the call it answers", param)
		}
		out := wireFunctionOutput{Type: "function_call_output", CallID: m.ToolCallID}
		if len(m.Parts) == 1 && m.Parts[0].Type == llm.PartText || len(m.Parts) == 0 {
			text := ""
			if len(m.Parts) == 1 {
				text = m.Parts[0].Text
			}
			out.Output = text
		} else {
			content, err := inputContent(m.Parts, param)
			if err != nil {
				return in, false, err
			}
			out.Output = content
		}
		// IsError has no place in function_call_output; the text of the
		// result says what went wrong, as on Chat Completions.
		return append(in, out), false, nil
	}
	return in, false, llm.BadRequest(param+".role", "%s: role %q cannot be sent to a Responses API upstream", param, m.Role)
}

// inputContent renders a user's (or a tool result's) parts as input parts.
// Thinking parts have no place there and are dropped.
func inputContent(ps []llm.Part, param string) ([]any, error) {
	out := make([]any, 0, len(ps))
	for j, p := range ps {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				out = append(out, wireTextPart{Type: "input_text", Text: p.Text})
			}
		case llm.PartImage:
			u := p.URL
			if p.Data != "" {
				u = dataURL(p.MediaType, p.Data)
			}
			if u == "" {
				return nil, llm.BadRequest(param+".content", "%s.content[%d]: an image needs a URL or data", param, j)
			}
			out = append(out, wireImagePart{Type: "input_image", ImageURL: u, Detail: p.Detail})
		case llm.PartDocument:
			f := wireFilePart{Type: "input_file", Filename: p.Filename, FileURL: p.URL, FileID: p.FileID}
			if p.Data != "" {
				f.FileData = p.Data
				if p.MediaType != "" {
					f.FileData = dataURL(p.MediaType, p.Data)
				}
			}
			if f.FileData == "" && f.FileURL == "" && f.FileID == "" {
				return nil, llm.BadRequest(param+".content", "%s.content[%d]: a file needs data, a URL or a file id", param, j)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func dataURL(mediaType, data string) string {
	return "data:" + mediaType + ";base64," + data
}

// appendAssistant spreads one assistant turn over Responses items, in the
// order of its parts: a reasoning item per OpenAI reasoning part, one
// message item per run of text, then a function_call item per tool call.
// Reasoning another vendor signed (or none did) is dropped: OpenAI reads
// back only its own encrypted_content, and with store false a reasoning
// item without it refers to nothing.
func appendAssistant(in []any, m *llm.Message) ([]any, bool) {
	reasoning := false
	var text []any
	flush := func() {
		if len(text) > 0 {
			in = append(in, wireMessageItem{Type: "message", Role: "assistant", Content: text})
			text = nil
		}
	}
	for _, p := range m.Parts {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				text = append(text, wireTextPart{Type: "output_text", Text: p.Text})
			}
		case llm.PartThinking:
			if p.SignatureVendor != llm.VendorOpenAI || p.Signature == "" {
				continue
			}
			flush()
			it := wireReasoningItem{Type: "reasoning", Summary: []wireTextPart{}, EncryptedContent: p.Signature}
			if p.Text != "" {
				it.Summary = append(it.Summary, wireTextPart{Type: "summary_text", Text: p.Text})
			}
			in = append(in, it)
			reasoning = true
		}
	}
	flush()
	for _, tc := range m.ToolCalls {
		in = append(in, wireFunctionCall{Type: "function_call", CallID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
	}
	return in, reasoning
}

func encodeTools(tools []llm.Tool) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for i, t := range tools {
		param := "tools[" + strconv.Itoa(i) + "]"
		if len(t.Raw) > 0 {
			// A provider tool is another API's (web search, code
			// execution…); its Responses twin has another shape and
			// another answer, which this codec does not read.
			return nil, llm.BadRequest(param, "%s: the provider tool %q cannot be sent to a Responses API upstream; only function tools are translated", param, t.Name)
		}
		params := t.Parameters
		if s := bytes.TrimSpace(params); len(s) == 0 || string(s) == "null" {
			// parameters is required; a function without any takes an
			// empty object.
			params = json.RawMessage(emptyParameters)
		} else if !json.Valid(params) {
			return nil, llm.BadRequest(param+".parameters", "the parameters of tool %q are not valid JSON", t.Name)
		}
		b, err := json.Marshal(wireFunctionTool{Type: "function", Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict})
		if err != nil {
			return nil, llm.BadRequest(param, "tool %q: %v", t.Name, err)
		}
		out = append(out, b)
	}
	return out, nil
}

func encodeToolChoice(w *wireRequest, tc *llm.ToolChoice) error {
	if tc == nil {
		return nil
	}
	switch tc.Mode {
	case "auto", "none", "required":
		w.ToolChoice = tc.Mode
	case "tool":
		if tc.Name == "" {
			return llm.BadRequest("tool_choice", "tool_choice: a named tool choice needs the tool's name")
		}
		w.ToolChoice = wireNamedFunction{Type: "function", Name: tc.Name}
	case "":
	default:
		return llm.BadRequest("tool_choice", "tool_choice: mode %q cannot be sent to a Responses API upstream", tc.Mode)
	}
	if tc.DisableParallel && len(w.Tools) > 0 {
		f := false
		w.ParallelToolCalls = &f
	}
	return nil
}

func encodeFormat(rf *llm.ResponseFormat) (*wireText, error) {
	if rf == nil {
		return nil, nil
	}
	switch rf.Type {
	case "", "text":
		return nil, nil // the default
	case "json_object":
		return &wireText{Format: wireFormat{Type: "json_object"}}, nil
	case "json_schema":
		s := bytes.TrimSpace(rf.Schema)
		if len(s) == 0 || s[0] != '{' || !json.Valid(s) {
			return nil, llm.BadRequest("response_format.schema", "the response schema must be a JSON Schema object")
		}
		name := rf.Name
		if name == "" {
			name = "response" // required by OpenAI
		}
		return &wireText{Format: wireFormat{Type: "json_schema", Name: name, Schema: rf.Schema, Strict: rf.Strict}}, nil
	}
	return nil, llm.BadRequest("response_format.type", "response_format type %q cannot be sent to a Responses API upstream", rf.Type)
}

// encodeReasoning maps the canonical reasoning request to reasoning.effort.
// A budget (Anthropic, Gemini) becomes the nearest effort, as on chat; Anthropic's
// "max" is xhigh. Disabled without an effort (Anthropic's thinking
// disabled, Gemini's budget 0) sends nothing: "none" is refused by the
// older reasoning models, which then reason at their default.
func encodeReasoning(rs *llm.Reasoning) (*wireReasoning, error) {
	if rs == nil {
		return nil, nil
	}
	effort := rs.Effort
	switch {
	case rs.Disabled && effort == "":
		return nil, nil
	case effort == "max":
		effort = "xhigh"
	case effort == "" && rs.BudgetTokens > 0:
		effort = openai.EffortForBudget(rs.BudgetTokens)
	}
	switch effort {
	case "":
		return nil, nil // adaptive with no effort: the model's default
	case "none", "minimal", "low", "medium", "high", "xhigh":
		return &wireReasoning{Effort: effort}, nil
	}
	return nil, llm.BadRequest("reasoning.effort", "reasoning effort %q cannot be sent to a Responses API upstream; use none, minimal, low, medium, high or xhigh", effort)
}
