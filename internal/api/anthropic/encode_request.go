package anthropic

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Encoded is a Messages API request body and what decoding its answer needs.
type Encoded struct {
	Body []byte
	// JSONTool is the name of the tool that emulates response_format
	// (see the package comment), or "" when the request has none. Give it to
	// DecodeResponse and StreamDecoder.JSONTool.
	JSONTool string
}

// Thinking budgets for Reasoning.Effort (see the package comment).
const (
	minThinkingBudget    = 1024
	mediumThinkingBudget = 4096
	highThinkingBudget   = 16384
	defaultJSONToolName  = "json_response"
)

// Wire shapes for encoding. Each block kind has its own struct so that
// required fields (text, input) are always written and others never are.
type (
	wireRequestOut struct {
		Model         string            `json:"model"`
		System        any               `json:"system,omitempty"`
		Messages      []wireMessageOut  `json:"messages"`
		MaxTokens     int64             `json:"max_tokens"`
		Metadata      *wireMetadata     `json:"metadata,omitempty"`
		StopSequences []string          `json:"stop_sequences,omitempty"`
		Stream        bool              `json:"stream,omitempty"`
		Temperature   *float64          `json:"temperature,omitempty"`
		TopP          *float64          `json:"top_p,omitempty"`
		TopK          *int64            `json:"top_k,omitempty"`
		Tools         []json.RawMessage `json:"tools,omitempty"`
		ToolChoice    *wireToolChoice   `json:"tool_choice,omitempty"`
		Thinking      *wireThinking     `json:"thinking,omitempty"`
		OutputConfig  *wireOutputConfig `json:"output_config,omitempty"`
	}
	wireMessageOut struct {
		Role    string `json:"role"`
		Content []any  `json:"content"`
	}
	wireMetadata struct {
		UserID string `json:"user_id,omitempty"`
	}
	wireToolChoice struct {
		Type                   string `json:"type"`
		Name                   string `json:"name,omitempty"`
		DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
	}
	wireThinking struct {
		Type         string `json:"type"`
		BudgetTokens int64  `json:"budget_tokens,omitempty"`
	}
	// wireOutputConfig is output_config: the structured-outputs format,
	// and the effort that steers adaptive thinking.
	wireOutputConfig struct {
		Effort string            `json:"effort,omitempty"`
		Format *wireOutputFormat `json:"format,omitempty"`
	}
	wireOutputFormat struct {
		Type   string          `json:"type"`
		Schema json.RawMessage `json:"schema"`
	}
	wireToolOut struct {
		Name         string          `json:"name"`
		Description  string          `json:"description,omitempty"`
		InputSchema  json.RawMessage `json:"input_schema"`
		CacheControl json.RawMessage `json:"cache_control,omitempty"`
	}
	textBlock struct {
		Type         string          `json:"type"`
		Text         string          `json:"text"`
		CacheControl json.RawMessage `json:"cache_control,omitempty"`
	}
	mediaBlock struct {
		Type         string          `json:"type"`
		Source       wireSource      `json:"source"`
		Title        string          `json:"title,omitempty"`
		CacheControl json.RawMessage `json:"cache_control,omitempty"`
	}
	wireSource struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type,omitempty"`
		Data      string `json:"data,omitempty"`
		URL       string `json:"url,omitempty"`
		FileID    string `json:"file_id,omitempty"`
	}
	thinkingBlock struct {
		Type      string `json:"type"`
		Thinking  string `json:"thinking"`
		Signature string `json:"signature"`
	}
	redactedThinkingBlock struct {
		Type string `json:"type"`
		Data string `json:"data"`
	}
	toolUseBlock struct {
		Type         string          `json:"type"`
		ID           string          `json:"id"`
		Name         string          `json:"name"`
		Input        json.RawMessage `json:"input"`
		CacheControl json.RawMessage `json:"cache_control,omitempty"`
	}
	toolResultBlock struct {
		Type         string          `json:"type"`
		ToolUseID    string          `json:"tool_use_id"`
		Content      any             `json:"content,omitempty"`
		IsError      bool            `json:"is_error,omitempty"`
		CacheControl json.RawMessage `json:"cache_control,omitempty"`
	}
)

// EncodeRequest renders r as a Messages API body for an Anthropic upstream.
// max_tokens is required by Anthropic: r.MaxTokens, else defaultMaxTokens.
func EncodeRequest(r *llm.Request, defaultMaxTokens int64) (Encoded, error) {
	if r.N > 1 {
		return Encoded{}, errSeveralChoices(r.N)
	}
	w := wireRequestOut{
		Model:         r.Model,
		MaxTokens:     r.MaxTokens,
		StopSequences: r.Stop,
		Stream:        r.Stream,
		Temperature:   r.Temperature,
		TopP:          r.TopP,
		TopK:          r.TopK,
	}
	if w.MaxTokens <= 0 {
		w.MaxTokens = defaultMaxTokens
	}
	if r.User != "" {
		w.Metadata = &wireMetadata{UserID: r.User}
	}

	system := r.System
	for _, m := range r.Messages {
		if m.Role == llm.RoleSystem {
			system = append(system[:len(system):len(system)], m.Parts...)
		}
	}
	w.System = encodeSystem(system)

	for i := range r.Messages {
		m := &r.Messages[i]
		var role string
		var blocks []any
		switch m.Role {
		case llm.RoleSystem:
			continue
		case llm.RoleUser:
			role = "user"
			blocks = appendParts(nil, m.Parts)
		case llm.RoleAssistant:
			role = "assistant"
			blocks = appendParts(nil, m.Parts)
			for _, tc := range m.ToolCalls {
				blocks = append(blocks, toolUseBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: argumentsObject(tc.Arguments), CacheControl: tc.CacheControl})
			}
		case llm.RoleTool:
			role = "user"
			blocks = []any{encodeToolResult(m)}
		default:
			return Encoded{}, llm.BadRequest("messages", "messages[%d]: role %q cannot be sent to Anthropic", i, m.Role)
		}
		if n := len(w.Messages); n > 0 && w.Messages[n-1].Role == role {
			w.Messages[n-1].Content = append(w.Messages[n-1].Content, blocks...)
			continue
		}
		w.Messages = append(w.Messages, wireMessageOut{Role: role, Content: blocks})
	}
	if w.Messages == nil {
		w.Messages = []wireMessageOut{}
	}
	for i := range w.Messages {
		if w.Messages[i].Content == nil {
			w.Messages[i].Content = []any{}
		}
	}

	for _, t := range r.Tools {
		if len(t.Raw) > 0 {
			// A provider tool only means something to its own vendor. An
			// OpenAI client may name an Anthropic one too (seed 002 sends
			// web_search_20250305 through the OpenAI API): it passes on as is.
			if t.RawDialect == "anthropic" || (t.RawDialect == "openai" && isAnthropicToolType(t.Raw)) {
				w.Tools = append(w.Tools, t.Raw)
			}
			continue
		}
		schema := t.Parameters
		if len(bytes.TrimSpace(schema)) == 0 || string(bytes.TrimSpace(schema)) == "null" {
			// input_schema is required; a function without parameters takes an empty object.
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		b, err := json.Marshal(wireToolOut{Name: t.Name, Description: t.Description, InputSchema: schema, CacheControl: t.CacheControl})
		if err != nil {
			return Encoded{}, llm.BadRequest("tools", "tool %q: %v", t.Name, err)
		}
		w.Tools = append(w.Tools, b)
	}

	if tc := r.ToolChoice; tc != nil {
		c := &wireToolChoice{DisableParallelToolUse: tc.DisableParallel}
		switch tc.Mode {
		case "none":
			c.Type, c.DisableParallelToolUse = "none", false
		case "required", "any":
			c.Type = "any"
		case "tool":
			c.Type, c.Name = "tool", tc.Name
		default:
			c.Type = "auto"
		}
		w.ToolChoice = c
	}

	var jsonTool string
	rf := r.ResponseFormat
	if rf != nil && rf.Type == "json_schema" && len(bytes.TrimSpace(rf.Schema)) > 0 {
		schema, err := outputSchema(rf.Schema)
		if err != nil {
			return Encoded{}, llm.BadRequest("response_format", "response_format schema: %v", err)
		}
		w.OutputConfig = &wireOutputConfig{Format: &wireOutputFormat{Type: "json_schema", Schema: schema}}
	} else if rf != nil && (rf.Type == "json_schema" || rf.Type == "json_object") {
		jsonTool = toolName(rf.Name)
		schema := rf.Schema
		if len(bytes.TrimSpace(schema)) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		b, err := json.Marshal(wireToolOut{Name: jsonTool, Description: "Respond with a JSON value that matches this tool's input schema.", InputSchema: schema})
		if err != nil {
			return Encoded{}, llm.BadRequest("response_format", "response_format schema: %v", err)
		}
		w.Tools = append(w.Tools, b)
		w.ToolChoice = &wireToolChoice{Type: "tool", Name: jsonTool}
	}

	if rs := r.Reasoning; rs != nil {
		switch {
		case rs.Disabled:
			w.Thinking = &wireThinking{Type: "disabled"}
		case rs.Adaptive || ((rs.BudgetTokens > 0 || rs.Effort != "") && adaptiveThinkingModel(r.Model)):
			// Adaptive thinking: asked for by the client, or the only
			// kind the model takes well (see adaptiveThinkingModel). The
			// effort, if any, steers it; a budget becomes the nearest effort.
			w.Thinking = &wireThinking{Type: "adaptive"}
			effort := anthropicEffort(rs.Effort)
			if effort == "" && rs.BudgetTokens > 0 {
				effort = effortForBudget(rs.BudgetTokens)
			}
			if effort != "" {
				if w.OutputConfig == nil {
					w.OutputConfig = &wireOutputConfig{}
				}
				w.OutputConfig.Effort = effort
			}
		case rs.BudgetTokens > 0 || rs.Effort != "":
			budget := rs.BudgetTokens
			if budget <= 0 {
				budget = effortBudget(rs.Effort)
			}
			budget = max(budget, minThinkingBudget)
			if w.MaxTokens <= budget {
				w.MaxTokens += budget
			}
			w.Thinking = &wireThinking{Type: "enabled", BudgetTokens: budget}
		}
	}

	if w.Thinking != nil && w.Thinking.Type != "disabled" {
		relaxForThinking(&w, jsonTool)
	}

	body, err := json.Marshal(w)
	if err != nil {
		return Encoded{}, llm.BadRequest("", "cannot encode request for Anthropic: %v", err)
	}
	return Encoded{Body: body, JSONTool: jsonTool}, nil
}

// isAnthropicToolType reports whether a tool declared in another dialect
// is one of Anthropic's versioned tools (web_search_20250305,
// bash_20250124, code_execution_20250522…): its type is a name, "_" and an
// eight-digit date.
func isAnthropicToolType(raw json.RawMessage) bool {
	var v struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &v) != nil || v.Name == "" {
		return false
	}
	i := strings.LastIndexByte(v.Type, '_')
	if i <= 0 || len(v.Type)-i-1 != 8 {
		return false
	}
	for _, c := range v.Type[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// relaxForThinking drops what Anthropic refuses alongside extended thinking
// (temperature, top_k, top_p below 0.95, a forced tool choice) instead of
// failing a request that an OpenAI-style client could send anywhere else.
// A JSON-mode tool then cannot be forced, so the system prompt asks for it.
func relaxForThinking(w *wireRequestOut, jsonTool string) {
	w.Temperature, w.TopK = nil, nil
	if w.TopP != nil && *w.TopP < 0.95 {
		w.TopP = nil
	}
	if tc := w.ToolChoice; tc != nil && (tc.Type == "any" || tc.Type == "tool") {
		w.ToolChoice = &wireToolChoice{Type: "auto", DisableParallelToolUse: tc.DisableParallelToolUse}
	}
	if jsonTool == "" {
		return
	}
	instruction := textBlock{Type: "text", Text: "Give your final answer only by calling the " + jsonTool + " tool."}
	switch sys := w.System.(type) {
	case nil:
		w.System = instruction.Text
	case string:
		w.System = []any{textBlock{Type: "text", Text: sys}, instruction}
	case []any:
		w.System = append(sys, instruction)
	}
}

func effortBudget(effort string) int64 {
	switch effort {
	case "medium":
		return mediumThinkingBudget
	case "high", "xhigh", "max":
		return highThinkingBudget
	}
	return minThinkingBudget // minimal, low and anything unknown
}

// effortForBudget is the effort nearest a thinking budget, for models that
// take an effort and no budget (the inverse of effortBudget).
func effortForBudget(n int64) string {
	switch {
	case n < mediumThinkingBudget:
		return "low"
	case n < highThinkingBudget:
		return "medium"
	}
	return "high"
}

// anthropicEffort is output_config.effort for a canonical effort: Anthropic
// takes low, medium, high, xhigh and max; OpenAI's minimal is low, and
// anything else is left to the model's default.
func anthropicEffort(effort string) string {
	switch effort {
	case "minimal":
		return "low"
	case "low", "medium", "high", "xhigh", "max":
		return effort
	}
	return ""
}

// adaptiveThinkingModel reports whether a Claude model takes adaptive
// thinking: Opus and Sonnet 4.6 and every later version, and the Mythos and
// Fable families. Opus 4.7 and Mythos refuse thinking with budget_tokens
// (400), and 4.6 deprecates it, so a reasoning effort or budget from another
// dialect is sent to these models as adaptive thinking with an effort.
// Older models (Sonnet 4.5, Opus 4.5, Haiku 4.5, Claude 3) do not accept
// adaptive thinking and keep the budget. The name may carry a prefix
// ("anthropic.claude-opus-4-6-v1", "us.anthropic.…"); a name without
// "claude-" (an alias) is treated as an older model.
// https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-adaptive-thinking.html
func adaptiveThinkingModel(model string) bool {
	i := strings.LastIndex(model, "claude-")
	if i < 0 {
		return false
	}
	family, version, _ := strings.Cut(model[i+len("claude-"):], "-")
	switch family {
	case "mythos", "fable":
		return true
	case "opus", "sonnet", "haiku":
	default:
		return false // claude-3-7-sonnet and other older shapes
	}
	fields := strings.Split(version, "-")
	major, err := strconv.Atoi(fields[0])
	if err != nil {
		return false
	}
	minor := 0
	if len(fields) > 1 && len(fields[1]) <= 2 { // not a date: claude-opus-4-20250514
		minor, _ = strconv.Atoi(fields[1])
	}
	return major > 4 || (major == 4 && minor >= 6)
}

// anthropicSignature is sig when Anthropic issued it, else "": Anthropic
// refuses a signature it did not make.
func anthropicSignature(sig, vendor string) string {
	if vendor != llm.VendorAnthropic {
		return ""
	}
	return sig
}

// toolName makes s a valid Anthropic tool name (^[a-zA-Z0-9_-]{1,64}$).
func toolName(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
		if b.Len() == 64 {
			break
		}
	}
	if b.Len() == 0 {
		return defaultJSONToolName
	}
	return b.String()
}

func encodeSystem(parts []llm.Part) any {
	if len(parts) == 0 {
		return nil
	}
	if len(parts) == 1 && parts[0].Type == llm.PartText && len(parts[0].CacheControl) == 0 {
		return parts[0].Text
	}
	blocks := make([]any, 0, len(parts))
	for _, p := range parts {
		if p.Type != llm.PartText || p.Text == "" {
			continue // system accepts text blocks only
		}
		blocks = append(blocks, textBlock{Type: "text", Text: p.Text, CacheControl: p.CacheControl})
	}
	if len(blocks) == 0 {
		return nil
	}
	return blocks
}

// appendParts renders content parts as blocks. Empty text parts are left out:
// Anthropic rejects empty text blocks.
func appendParts(blocks []any, parts []llm.Part) []any {
	for _, p := range parts {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				blocks = append(blocks, textBlock{Type: "text", Text: p.Text, CacheControl: p.CacheControl})
			}
		case llm.PartImage:
			if src, ok := partSource(p); ok {
				blocks = append(blocks, mediaBlock{Type: "image", Source: src, CacheControl: p.CacheControl})
			}
		case llm.PartDocument:
			if src, ok := partSource(p); ok {
				blocks = append(blocks, mediaBlock{Type: "document", Source: src, Title: p.Filename, CacheControl: p.CacheControl})
			}
		case llm.PartThinking:
			// Anthropic refuses a thinking block without a valid signature
			// of its own, so reasoning it did not sign (another vendor's,
			// signed or not) is not sent back.
			if sig := anthropicSignature(p.Signature, p.SignatureVendor); sig != "" {
				blocks = append(blocks, thinkingBlock{Type: "thinking", Thinking: p.Text, Signature: sig})
			}
		case llm.PartRedactedThinking:
			blocks = append(blocks, redactedThinkingBlock{Type: "redacted_thinking", Data: p.Data})
		}
	}
	return blocks
}

func partSource(p llm.Part) (wireSource, bool) {
	switch {
	case p.Data != "":
		return wireSource{Type: "base64", MediaType: p.MediaType, Data: p.Data}, true
	case p.URL != "":
		if mt, data, ok := llm.ParseDataURL(p.URL); ok {
			return wireSource{Type: "base64", MediaType: mt, Data: data}, true
		}
		return wireSource{Type: "url", URL: p.URL}, true
	case p.FileID != "":
		return wireSource{Type: "file", FileID: p.FileID}, true
	case p.Type == llm.PartDocument && p.Text != "":
		return wireSource{Type: "text", MediaType: "text/plain", Data: p.Text}, true
	}
	return wireSource{}, false
}

func encodeToolResult(m *llm.Message) toolResultBlock {
	b := toolResultBlock{Type: "tool_result", ToolUseID: m.ToolCallID, IsError: m.IsError, CacheControl: m.CacheControl}
	switch {
	case len(m.Parts) == 0:
	case len(m.Parts) == 1 && m.Parts[0].Type == llm.PartText && len(m.Parts[0].CacheControl) == 0:
		b.Content = m.Parts[0].Text
	default:
		if blocks := appendParts(nil, m.Parts); len(blocks) > 0 {
			b.Content = blocks
		}
	}
	return b
}

// argumentsObject returns the tool-call arguments as a JSON object; anything
// else becomes {} because tool_use.input must be an object.
func argumentsObject(args string) json.RawMessage {
	trimmed := bytes.TrimSpace([]byte(args))
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		var buf bytes.Buffer
		if json.Compact(&buf, trimmed) == nil {
			return buf.Bytes()
		}
	}
	return json.RawMessage(`{}`)
}

// errSeveralChoices refuses n > 1: the Messages API answers one choice per
// request, and answering one when several were asked for would be wrong.
func errSeveralChoices(n int) *llm.Error {
	return llm.BadRequest("n", "n: %d choices were asked for, but this model is served by Anthropic, which answers one per request; send n 1 or leave it out", n)
}
