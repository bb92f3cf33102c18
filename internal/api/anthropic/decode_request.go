package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Wire shapes for decoding: polymorphic fields stay raw until their shape is known.
type (
	wireRequestIn struct {
		Model         string            `json:"model"`
		System        json.RawMessage   `json:"system"`
		Messages      []wireMessageIn   `json:"messages"`
		MaxTokens     int64             `json:"max_tokens"`
		Metadata      *wireMetadata     `json:"metadata"`
		StopSequences []string          `json:"stop_sequences"`
		Stream        bool              `json:"stream"`
		Temperature   *float64          `json:"temperature"`
		TopP          *float64          `json:"top_p"`
		TopK          *int64            `json:"top_k"`
		Tools         []json.RawMessage `json:"tools"`
		ToolChoice    *wireToolChoice   `json:"tool_choice"`
		Thinking      *wireThinking     `json:"thinking"`
		OutputConfig  *struct {
			Effort string            `json:"effort"`
			Format *wireOutputFormat `json:"format"`
		} `json:"output_config"`
		// OutputFormat is the structured-outputs beta's spelling
		// (structured-outputs-2025-11-13) of output_config.format, which
		// the beta SDKs still send.
		OutputFormat *wireOutputFormat `json:"output_format"`
	}
	wireMessageIn struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	// wireBlock is any content block, in or out of a message.
	wireBlock struct {
		Type         string          `json:"type"`
		Text         string          `json:"text"`
		Source       *wireSource     `json:"source"`
		Title        string          `json:"title"`
		Thinking     string          `json:"thinking"`
		Signature    string          `json:"signature"`
		Data         string          `json:"data"`
		ID           string          `json:"id"`
		Name         string          `json:"name"`
		Input        json.RawMessage `json:"input"`
		ToolUseID    string          `json:"tool_use_id"`
		Content      json.RawMessage `json:"content"`
		IsError      bool            `json:"is_error"`
		CacheControl json.RawMessage `json:"cache_control"`
	}
	wireToolIn struct {
		Type         string          `json:"type"`
		Name         string          `json:"name"`
		Description  string          `json:"description"`
		InputSchema  json.RawMessage `json:"input_schema"`
		CacheControl json.RawMessage `json:"cache_control"`
	}
)

// DecodeRequest reads a Messages API request from an Anthropic-format client.
// Errors are *llm.Error 400s naming the offending field.
func DecodeRequest(body []byte) (*llm.Request, error) {
	var w wireRequestIn
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, jsonError(err)
	}
	if w.Model == "" {
		return nil, llm.BadRequest("model", "model: field required")
	}
	if w.Messages == nil {
		return nil, llm.BadRequest("messages", "messages: field required")
	}
	if w.MaxTokens < 0 {
		return nil, llm.BadRequest("max_tokens", "max_tokens: must be positive")
	}
	r := &llm.Request{
		Model:       w.Model,
		MaxTokens:   w.MaxTokens,
		Stop:        w.StopSequences,
		Stream:      w.Stream,
		Temperature: w.Temperature,
		TopP:        w.TopP,
		TopK:        w.TopK,
		Messages:    []llm.Message{},
	}
	if w.Metadata != nil {
		r.User = w.Metadata.UserID
	}

	if sys := bytes.TrimSpace(w.System); len(sys) > 0 && string(sys) != "null" {
		parts, err := decodeContent(sys, "system", false)
		if err != nil {
			return nil, err
		}
		for i, p := range parts {
			if p.Type != llm.PartText {
				return nil, llm.BadRequest("system", "system[%d].type: only text blocks are allowed", i)
			}
		}
		r.System = parts
	}

	toolNames := map[string]string{} // tool_use id → name, for ToolName on results
	for i, m := range w.Messages {
		field := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "user":
			msgs, err := decodeUserTurn(m.Content, field, toolNames)
			if err != nil {
				return nil, err
			}
			r.Messages = append(r.Messages, msgs...)
		case "assistant":
			msg, err := decodeAssistantTurn(m.Content, field, toolNames)
			if err != nil {
				return nil, err
			}
			r.Messages = append(r.Messages, msg)
		default:
			return nil, llm.BadRequest("messages", "%s.role: must be \"user\" or \"assistant\", got %q", field, m.Role)
		}
	}

	for i, raw := range w.Tools {
		t, err := decodeTool(raw, i)
		if err != nil {
			return nil, err
		}
		r.Tools = append(r.Tools, t)
	}

	if tc := w.ToolChoice; tc != nil {
		c := &llm.ToolChoice{DisableParallel: tc.DisableParallelToolUse}
		switch tc.Type {
		case "auto":
			c.Mode = "auto"
		case "any":
			c.Mode = "required"
		case "none":
			c.Mode = "none"
		case "tool":
			if tc.Name == "" {
				return nil, llm.BadRequest("tool_choice", "tool_choice.name: field required when type is \"tool\"")
			}
			c.Mode, c.Name = "tool", tc.Name
		default:
			return nil, llm.BadRequest("tool_choice", "tool_choice.type: must be auto, any, tool or none, got %q", tc.Type)
		}
		r.ToolChoice = c
	}

	if th := w.Thinking; th != nil {
		switch th.Type {
		case "enabled":
			if th.BudgetTokens <= 0 {
				return nil, llm.BadRequest("thinking", "thinking.budget_tokens: field required when type is \"enabled\"")
			}
			r.Reasoning = &llm.Reasoning{BudgetTokens: th.BudgetTokens}
		case "disabled":
			r.Reasoning = &llm.Reasoning{Disabled: true}
		case "adaptive":
			// The model decides whether and how much to think (Claude
			// Opus 4.6 and later); output_config.effort below steers it.
			r.Reasoning = &llm.Reasoning{Adaptive: true}
		default:
			return nil, llm.BadRequest("thinking", "thinking.type: must be enabled, disabled or adaptive, got %q", th.Type)
		}
	}
	if oc := w.OutputConfig; oc != nil && oc.Effort != "" {
		// output_config.effort (low | medium | high | max) steers adaptive
		// thinking on newer models; it is the closest thing to Reasoning.Effort.
		if r.Reasoning == nil {
			r.Reasoning = &llm.Reasoning{}
		}
		r.Reasoning.Effort = oc.Effort
	}
	format, field := w.OutputFormat, "output_format"
	if oc := w.OutputConfig; oc != nil && oc.Format != nil {
		format, field = oc.Format, "output_config.format"
	}
	if format != nil {
		rf, err := decodeOutputFormat(format, field)
		if err != nil {
			return nil, err
		}
		r.ResponseFormat = rf
	}
	return r, nil
}

// decodeOutputFormat reads structured outputs ({"type":"json_schema",
// "schema":{…}}) as a json_schema response format. It carries no name, and
// Strict stays false: Anthropic's schemas need not list every property as
// required, which OpenAI's strict mode would refuse.
func decodeOutputFormat(f *wireOutputFormat, field string) (*llm.ResponseFormat, error) {
	if f.Type != "json_schema" {
		return nil, llm.BadRequest(field, "%s.type: must be \"json_schema\", got %q", field, f.Type)
	}
	schema := bytes.TrimSpace(f.Schema)
	if len(schema) == 0 || schema[0] != '{' {
		return nil, llm.BadRequest(field, "%s.schema: expected a JSON Schema object", field)
	}
	return &llm.ResponseFormat{Type: "json_schema", Schema: json.RawMessage(compactJSON(schema))}, nil
}

// jsonError turns an encoding/json error into a 400 naming the field.
func jsonError(err error) *llm.Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			return llm.BadRequest("", "request body: expected a JSON object")
		}
		param, _, _ := strings.Cut(field, ".")
		return llm.BadRequest(param, "%s: expected %s, got JSON %s", field, te.Type.Kind(), te.Value)
	}
	return llm.BadRequest("", "request body is not valid JSON: %v", err)
}

// decodeContent reads content that is a string or an array of blocks
// (text, image, document, thinking, redacted_thinking). Tool blocks are the
// callers' business and are rejected here.
func decodeContent(raw json.RawMessage, field string, allowThinking bool) ([]llm.Part, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, llm.BadRequest(paramOf(field), "%s: %v", field, err)
		}
		return []llm.Part{{Type: llm.PartText, Text: s}}, nil
	}
	blocks, err := decodeBlocks(raw, field)
	if err != nil {
		return nil, err
	}
	parts := make([]llm.Part, 0, len(blocks))
	for j := range blocks {
		p, ok, err := blockPart(&blocks[j], fmt.Sprintf("%s[%d]", field, j), allowThinking)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, llm.BadRequest(paramOf(field), "%s[%d].type: unsupported block type %q here", field, j, blocks[j].Type)
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func decodeBlocks(raw json.RawMessage, field string) ([]wireBlock, error) {
	if raw[0] != '[' {
		return nil, llm.BadRequest(paramOf(field), "%s: expected a string or an array of content blocks", field)
	}
	var blocks []wireBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, llm.BadRequest(paramOf(field), "%s: %s: expected %s, got JSON %s", field, te.Field, te.Type.Kind(), te.Value)
		}
		return nil, llm.BadRequest(paramOf(field), "%s: %v", field, err)
	}
	return blocks, nil
}

// blockPart converts a content block to a part; ok is false for block types
// that are not parts (tool_use, tool_result, unknown).
func blockPart(b *wireBlock, field string, allowThinking bool) (llm.Part, bool, error) {
	switch b.Type {
	case "text":
		return llm.Part{Type: llm.PartText, Text: b.Text, CacheControl: b.CacheControl}, true, nil
	case "image", "document":
		if b.Source == nil {
			return llm.Part{}, false, llm.BadRequest(paramOf(field), "%s.source: field required", field)
		}
		p := llm.Part{Type: llm.PartImage, CacheControl: b.CacheControl}
		if b.Type == "document" {
			p.Type, p.Filename = llm.PartDocument, b.Title
		}
		switch s := b.Source; s.Type {
		case "base64":
			p.MediaType, p.Data = s.MediaType, s.Data
		case "url":
			p.URL = s.URL
		case "file":
			p.FileID = s.FileID
		case "text":
			if b.Type != "document" {
				return llm.Part{}, false, llm.BadRequest(paramOf(field), "%s.source.type: \"text\" is for documents only", field)
			}
			p.MediaType, p.Text = "text/plain", s.Data
		default:
			return llm.Part{}, false, llm.BadRequest(paramOf(field), "%s.source.type: unsupported source type %q", field, s.Type)
		}
		return p, true, nil
	case "thinking", "redacted_thinking":
		if !allowThinking {
			return llm.Part{}, false, nil
		}
		if b.Type == "thinking" {
			return thinkingPart(b.Thinking, b.Signature), true, nil
		}
		return llm.Part{Type: llm.PartRedactedThinking, Data: b.Data}, true, nil
	}
	return llm.Part{}, false, nil
}

// decodeUserTurn splits a user turn into RoleUser messages and one RoleTool
// message per tool_result block, keeping their order.
func decodeUserTurn(raw json.RawMessage, field string, toolNames map[string]string) ([]llm.Message, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, llm.BadRequest("messages", "%s.content: field required", field)
	}
	if raw[0] == '"' {
		parts, err := decodeContent(raw, field+".content", false)
		if err != nil {
			return nil, err
		}
		return []llm.Message{{Role: llm.RoleUser, Parts: parts}}, nil
	}
	blocks, err := decodeBlocks(raw, field+".content")
	if err != nil {
		return nil, err
	}
	var out []llm.Message
	for j := range blocks {
		b := &blocks[j]
		bf := fmt.Sprintf("%s.content[%d]", field, j)
		if b.Type == "tool_result" {
			if b.ToolUseID == "" {
				return nil, llm.BadRequest("messages", "%s.tool_use_id: field required", bf)
			}
			parts, err := decodeContent(b.Content, bf+".content", false)
			if err != nil {
				return nil, err
			}
			out = append(out, llm.Message{Role: llm.RoleTool, ToolCallID: b.ToolUseID, ToolName: toolNames[b.ToolUseID], IsError: b.IsError, Parts: parts, CacheControl: b.CacheControl})
			continue
		}
		p, ok, err := blockPart(b, bf, false)
		if err != nil {
			return nil, err
		}
		if !ok {
			if isServerToolBlock(b.Type) {
				continue
			}
			return nil, llm.BadRequest("messages", "%s.type: unsupported block type %q in a user turn", bf, b.Type)
		}
		if n := len(out); n > 0 && out[n-1].Role == llm.RoleUser {
			out[n-1].Parts = append(out[n-1].Parts, p)
		} else {
			out = append(out, llm.Message{Role: llm.RoleUser, Parts: []llm.Part{p}})
		}
	}
	if out == nil {
		out = []llm.Message{{Role: llm.RoleUser}}
	}
	return out, nil
}

func decodeAssistantTurn(raw json.RawMessage, field string, toolNames map[string]string) (llm.Message, error) {
	msg := llm.Message{Role: llm.RoleAssistant}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return msg, nil
	}
	if raw[0] == '"' {
		parts, err := decodeContent(raw, field+".content", true)
		msg.Parts = parts
		return msg, err
	}
	blocks, err := decodeBlocks(raw, field+".content")
	if err != nil {
		return msg, err
	}
	for j := range blocks {
		b := &blocks[j]
		bf := fmt.Sprintf("%s.content[%d]", field, j)
		if b.Type == "tool_use" {
			if b.ID == "" || b.Name == "" {
				return msg, llm.BadRequest("messages", "%s: tool_use needs id and name", bf)
			}
			args := "{}"
			if in := bytes.TrimSpace(b.Input); len(in) > 0 && string(in) != "null" {
				args = compactJSON(in)
			}
			toolNames[b.ID] = b.Name
			msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args, CacheControl: b.CacheControl})
			continue
		}
		p, ok, err := blockPart(b, bf, true)
		if err != nil {
			return msg, err
		}
		if !ok {
			if isServerToolBlock(b.Type) {
				continue
			}
			return msg, llm.BadRequest("messages", "%s.type: unsupported block type %q in an assistant turn", bf, b.Type)
		}
		msg.Parts = append(msg.Parts, p)
	}
	return msg, nil
}

// isServerToolBlock reports blocks of Anthropic-run tools (web search, code
// execution, MCP): the canonical form cannot carry them, so they are dropped
// from history rather than failing the request.
func isServerToolBlock(typ string) bool {
	return typ == "server_tool_use" || typ == "mcp_tool_use" || strings.HasSuffix(typ, "_tool_result")
}

func decodeTool(raw json.RawMessage, i int) (llm.Tool, error) {
	var w wireToolIn
	if err := json.Unmarshal(raw, &w); err != nil {
		return llm.Tool{}, llm.BadRequest("tools", "tools[%d]: expected an object", i)
	}
	if w.Name == "" {
		return llm.Tool{}, llm.BadRequest("tools", "tools[%d].name: field required", i)
	}
	if w.Type != "" && w.Type != "custom" {
		// A provider tool (web_search_20250305, bash_20250124…): only an
		// Anthropic upstream understands it.
		return llm.Tool{Name: w.Name, Raw: append(json.RawMessage(nil), raw...), RawDialect: "anthropic"}, nil
	}
	if len(bytes.TrimSpace(w.InputSchema)) == 0 {
		return llm.Tool{}, llm.BadRequest("tools", "tools[%d].input_schema: field required", i)
	}
	return llm.Tool{Name: w.Name, Description: w.Description, Parameters: w.InputSchema, CacheControl: w.CacheControl}, nil
}

func paramOf(field string) string {
	end := strings.IndexAny(field, ".[")
	if end < 0 {
		return field
	}
	return field[:end]
}

func compactJSON(raw []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

// thinkingPart is a thinking block as a part; its signature is marked as
// Anthropic's, so that no other vendor is sent it.
func thinkingPart(text, signature string) llm.Part {
	p := llm.Part{Type: llm.PartThinking, Text: text, Signature: signature}
	if signature != "" {
		p.SignatureVendor = llm.VendorAnthropic
	}
	return p
}
