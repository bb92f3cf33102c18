package bedrock

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Vendor marks a reasoning signature Bedrock issued (Part.SignatureVendor):
// only Bedrock takes it back.
const Vendor = "bedrock"

// Path is the URL path of a Converse call for model. The model id (a
// foundation model "anthropic.claude-3-5-sonnet-20240620-v1:0", an
// inference profile "us.anthropic.claude-…", an ARN with '/') is one path
// segment, escaped as AWS's SDKs escape it: every byte but A-Z a-z 0-9
// - _ . ~ as %XX.
func Path(model string, stream bool) string {
	op := "/converse"
	if stream {
		op = "/converse-stream"
	}
	return "/model/" + escapeSegment(model) + op
}

func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Wire shapes of a Converse request. Each content block is an object with
// exactly one member set.
type (
	converseRequest struct {
		Messages        []message        `json:"messages"`
		System          []block          `json:"system,omitempty"`
		InferenceConfig *inferenceConfig `json:"inferenceConfig,omitempty"`
		ToolConfig      *toolConfig      `json:"toolConfig,omitempty"`
		// AdditionalModelRequestFields are the model's own parameters
		// (Claude's thinking and top_k).
		AdditionalModelRequestFields map[string]any `json:"additionalModelRequestFields,omitempty"`
	}
	message struct {
		Role    string  `json:"role"`
		Content []block `json:"content"`
	}
	block struct {
		Text             *string           `json:"text,omitempty"`
		Image            *media            `json:"image,omitempty"`
		Document         *media            `json:"document,omitempty"`
		ToolUse          *toolUse          `json:"toolUse,omitempty"`
		ToolResult       *toolResult       `json:"toolResult,omitempty"`
		ReasoningContent *reasoningContent `json:"reasoningContent,omitempty"`
		CachePoint       *cachePoint       `json:"cachePoint,omitempty"`
	}
	media struct {
		Format string      `json:"format"`
		Name   string      `json:"name,omitempty"` // documents only
		Source mediaSource `json:"source"`
	}
	mediaSource struct {
		Bytes      string      `json:"bytes,omitempty"` // base64
		S3Location *s3Location `json:"s3Location,omitempty"`
	}
	s3Location struct {
		URI string `json:"uri"`
	}
	toolUse struct {
		ToolUseID string          `json:"toolUseId"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
	}
	toolResult struct {
		ToolUseID string              `json:"toolUseId"`
		Content   []toolResultContent `json:"content"`
		Status    string              `json:"status,omitempty"`
	}
	toolResultContent struct {
		Text *string         `json:"text,omitempty"`
		JSON json.RawMessage `json:"json,omitempty"`
	}
	reasoningContent struct {
		ReasoningText   *reasoningText `json:"reasoningText,omitempty"`
		RedactedContent string         `json:"redactedContent,omitempty"`
	}
	reasoningText struct {
		Text      string `json:"text"`
		Signature string `json:"signature,omitempty"`
	}
	cachePoint struct {
		Type string `json:"type"`
	}
	inferenceConfig struct {
		MaxTokens     int64    `json:"maxTokens,omitempty"`
		Temperature   *float64 `json:"temperature,omitempty"`
		TopP          *float64 `json:"topP,omitempty"`
		StopSequences []string `json:"stopSequences,omitempty"`
	}
	toolConfig struct {
		Tools      []tool          `json:"tools"`
		ToolChoice json.RawMessage `json:"toolChoice,omitempty"`
	}
	tool struct {
		ToolSpec toolSpec `json:"toolSpec"`
	}
	toolSpec struct {
		Name        string      `json:"name"`
		Description string      `json:"description,omitempty"`
		InputSchema inputSchema `json:"inputSchema"`
	}
	inputSchema struct {
		JSON json.RawMessage `json:"json"`
	}
)

// Thinking budgets for a Reasoning.Effort, as the Anthropic codec takes
// them: Bedrock's Claude models take Anthropic's thinking parameter.
const (
	minThinkingBudget = 1024
	effortMedium      = 4096
	effortHigh        = 16384
)

var effortBudget = map[string]int64{"minimal": minThinkingBudget, "low": minThinkingBudget,
	"medium": effortMedium, "high": effortHigh, "xhigh": effortHigh, "max": effortHigh}

// claude reports whether a model id names an Anthropic model on Bedrock
// (a foundation model, a cross-region inference profile, or an ARN of
// either), which take Anthropic's own parameters.
func claude(model string) bool { return strings.Contains(model, "anthropic.claude") }

// EncodeRequest renders r as a Converse request body. The model is not in
// the body: it goes in the URL (Path). maxOut is the model's output limit
// (the catalogue's max_output_tokens or the gateway's default), used only
// where Claude's thinking needs max_tokens and the request gave none.
func EncodeRequest(r *llm.Request, maxOut int64) ([]byte, error) {
	if r.N > 1 {
		return nil, llm.BadRequest("n", "n: %d choices were asked for, but Bedrock's Converse API answers one; send n 1 or leave it out", r.N)
	}
	if rf := r.ResponseFormat; rf != nil && rf.Type != "" && rf.Type != "text" {
		return nil, llm.BadRequest("response_format", "response_format %s is not supported for Bedrock models (Converse has no JSON mode); describe the format in the prompt or use a tool", rf.Type)
	}
	w := converseRequest{Messages: []message{}}
	for _, p := range r.System {
		w.System = appendText(w.System, p)
	}
	hasToolBlocks := false
	for i := range r.Messages {
		m := &r.Messages[i]
		field := "messages[" + strconv.Itoa(i) + "]"
		var role string
		var content []block
		switch m.Role {
		case llm.RoleSystem:
			for _, p := range m.Parts {
				w.System = appendText(w.System, p)
			}
			continue
		case llm.RoleUser:
			role = "user"
			var err error
			if content, err = encodeParts(nil, m.Parts, field); err != nil {
				return nil, err
			}
		case llm.RoleAssistant:
			role = "assistant"
			var err error
			if content, err = encodeParts(nil, m.Parts, field); err != nil {
				return nil, err
			}
			for _, tc := range m.ToolCalls {
				content = append(content, block{ToolUse: &toolUse{ToolUseID: tc.ID, Name: tc.Name, Input: llm.ArgsObject(tc.Arguments)}})
				content = appendCachePoint(content, tc.CacheControl)
				hasToolBlocks = true
			}
		case llm.RoleTool:
			role = "user"
			if m.ToolCallID == "" {
				return nil, llm.BadRequest(field+".tool_call_id", "a tool result needs the id of the call it answers")
			}
			content = []block{{ToolResult: encodeToolResult(m)}}
			content = appendCachePoint(content, m.CacheControl)
			hasToolBlocks = true
		default:
			return nil, llm.BadRequest(field+".role", "unknown role %q", m.Role)
		}
		if len(content) == 0 {
			continue
		}
		if n := len(w.Messages); n > 0 && w.Messages[n-1].Role == role {
			w.Messages[n-1].Content = append(w.Messages[n-1].Content, content...)
			continue
		}
		w.Messages = append(w.Messages, message{Role: role, Content: content})
	}
	tc, err := encodeTools(r, hasToolBlocks)
	if err != nil {
		return nil, err
	}
	w.ToolConfig = tc
	ic := inferenceConfig{MaxTokens: r.MaxTokens, Temperature: r.Temperature, TopP: r.TopP, StopSequences: r.Stop}
	if rs := r.Reasoning; rs != nil && !rs.Disabled && claude(r.Model) {
		budget := rs.BudgetTokens
		if budget <= 0 {
			budget = effortBudget[rs.Effort]
		}
		budget = max(budget, minThinkingBudget)
		if ic.MaxTokens == 0 {
			ic.MaxTokens = maxOut
		}
		if ic.MaxTokens <= budget {
			// Claude wants max_tokens above the thinking budget.
			ic.MaxTokens += budget
		}
		w.additional("thinking", map[string]any{"type": "enabled", "budget_tokens": budget})
	}
	if r.TopK != nil && claude(r.Model) {
		w.additional("top_k", *r.TopK)
	}
	if ic.MaxTokens != 0 || ic.Temperature != nil || ic.TopP != nil || len(ic.StopSequences) > 0 {
		w.InferenceConfig = &ic
	}
	return json.Marshal(&w)
}

func (w *converseRequest) additional(k string, v any) {
	if w.AdditionalModelRequestFields == nil {
		w.AdditionalModelRequestFields = map[string]any{}
	}
	w.AdditionalModelRequestFields[k] = v
}

// appendText adds a system text part (Converse rejects blank text).
func appendText(out []block, p llm.Part) []block {
	if p.Type != llm.PartText || strings.TrimSpace(p.Text) == "" {
		return out
	}
	t := p.Text
	return appendCachePoint(append(out, block{Text: &t}), p.CacheControl)
}

// appendCachePoint marks a prompt-cache breakpoint after the last block,
// Converse's form of Anthropic's cache_control.
func appendCachePoint(out []block, cc json.RawMessage) []block {
	if len(cc) == 0 || string(cc) == "null" || len(out) == 0 {
		return out
	}
	return append(out, block{CachePoint: &cachePoint{Type: "default"}})
}

func encodeParts(out []block, ps []llm.Part, field string) ([]block, error) {
	for pi, p := range ps {
		at := field + ".content[" + strconv.Itoa(pi) + "]"
		n := len(out)
		switch p.Type {
		case llm.PartText:
			if strings.TrimSpace(p.Text) != "" {
				t := p.Text
				out = append(out, block{Text: &t})
			}
		case llm.PartThinking:
			// Only Bedrock's own signed reasoning goes back; Claude on
			// Bedrock refuses thinking it cannot verify.
			if p.SignatureVendor == Vendor && p.Signature != "" {
				out = append(out, block{ReasoningContent: &reasoningContent{ReasoningText: &reasoningText{Text: p.Text, Signature: p.Signature}}})
			}
		case llm.PartRedactedThinking:
			if p.SignatureVendor == Vendor && p.Data != "" {
				out = append(out, block{ReasoningContent: &reasoningContent{RedactedContent: p.Data}})
			}
		case llm.PartImage, llm.PartDocument:
			m, err := encodeMedia(p, at, pi)
			if err != nil {
				return nil, err
			}
			if p.Type == llm.PartImage {
				out = append(out, block{Image: m})
			} else {
				out = append(out, block{Document: m})
			}
		}
		if len(out) > n {
			out = appendCachePoint(out, p.CacheControl)
		}
	}
	return out, nil
}

// imageFormats and documentFormats are the media types Converse takes, by
// their Converse format names.
var (
	imageFormats    = map[string]string{"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
	documentFormats = map[string]string{"application/pdf": "pdf", "text/csv": "csv", "application/msword": "doc",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx", "application/vnd.ms-excel": "xls",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx", "text/html": "html", "text/plain": "txt", "text/markdown": "md"}
)

func encodeMedia(p llm.Part, at string, index int) (*media, error) {
	mt, data := p.MediaType, p.Data
	src := mediaSource{}
	switch {
	case data != "":
	case strings.HasPrefix(p.URL, "data:"):
		var ok bool
		if mt, data, ok = llm.ParseDataURL(p.URL); !ok {
			return nil, llm.BadRequest(at, "the data URL is not base64 (data:<type>;base64,<data>)")
		}
	case strings.HasPrefix(p.URL, "s3://"):
		src.S3Location = &s3Location{URI: p.URL}
	case p.URL != "":
		return nil, llm.BadRequest(at, "Bedrock models take images and files inline (base64 data URLs) or from s3:// URLs, not from http(s) URLs")
	default:
		return nil, llm.BadRequest(at, "Bedrock models take files inline (base64 data URLs), not by file id")
	}
	src.Bytes = data
	mt = strings.ToLower(strings.TrimSpace(mt))
	if p.Type == llm.PartImage {
		f, ok := imageFormats[mt]
		if !ok && src.S3Location != nil {
			f, ok = formatFromName(p.URL, imageFormats)
		}
		if !ok {
			return nil, llm.BadRequest(at, "image type %q is not one Bedrock takes (png, jpeg, gif, webp)", mt)
		}
		return &media{Format: f, Source: src}, nil
	}
	f, ok := documentFormats[mt]
	if !ok && src.S3Location != nil {
		f, ok = formatFromName(p.URL, documentFormats)
	}
	if !ok {
		return nil, llm.BadRequest(at, "document type %q is not one Bedrock takes (pdf, csv, doc, docx, xls, xlsx, html, txt, md)", mt)
	}
	return &media{Format: f, Name: documentName(p.Filename, index), Source: src}, nil
}

// formatFromName finds a format by the file name's extension.
func formatFromName(name string, formats map[string]string) (string, bool) {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return "", false
	}
	ext := strings.ToLower(name[dot+1:])
	if ext == "jpg" {
		ext = "jpeg"
	}
	for _, f := range formats {
		if f == ext {
			return f, true
		}
	}
	return "", false
}

// documentName is a document's name as Converse accepts it: letters,
// digits, whitespace, hyphens, parentheses and brackets, no two spaces in
// a row; the file's name without its extension, or "document-N".
func documentName(filename string, index int) string {
	if dot := strings.LastIndexByte(filename, '.'); dot > 0 {
		filename = filename[:dot]
	}
	var b strings.Builder
	space := false
	for _, c := range filename {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-()[]", c)
		switch {
		case ok:
			b.WriteRune(c)
			space = false
		case !space && b.Len() > 0:
			b.WriteByte(' ')
			space = true
		}
		if b.Len() >= 200 {
			break
		}
	}
	name := strings.TrimSpace(b.String())
	if name == "" {
		return "document-" + strconv.Itoa(index)
	}
	return name
}

// encodeToolResult is a tool's output: JSON when it is a JSON object (or
// array), else text; status error for a failed run.
func encodeToolResult(m *llm.Message) *toolResult {
	var text strings.Builder
	for _, p := range m.Parts {
		if p.Type == llm.PartText {
			text.WriteString(p.Text)
		}
	}
	tr := &toolResult{ToolUseID: m.ToolCallID}
	if m.IsError {
		tr.Status = "error"
	}
	s := bytes.TrimSpace([]byte(text.String()))
	if len(s) > 0 && s[0] == '{' && json.Valid(s) {
		tr.Content = []toolResultContent{{JSON: s}}
		return tr
	}
	t := text.String()
	if strings.TrimSpace(t) == "" {
		t = "(no output)" // Converse rejects blank text
	}
	tr.Content = []toolResultContent{{Text: &t}}
	return tr
}

func encodeTools(r *llm.Request, hasToolBlocks bool) (*toolConfig, error) {
	var tools []tool
	for i, t := range r.Tools {
		if t.Raw != nil {
			continue // another vendor's built-in tool: nothing on Bedrock runs it
		}
		if t.Name == "" {
			return nil, llm.BadRequest("tools["+strconv.Itoa(i)+"].function.name", "a tool needs a name")
		}
		schema := bytes.TrimSpace(t.Parameters)
		switch {
		case len(schema) == 0 || string(schema) == "null":
			schema = []byte(`{"type":"object","properties":{}}`)
		case schema[0] != '{' || !json.Valid(schema):
			return nil, llm.BadRequest("tools["+strconv.Itoa(i)+"].function.parameters", "the parameters of tool %q are not a JSON object", t.Name)
		}
		tools = append(tools, tool{ToolSpec: toolSpec{Name: t.Name, Description: t.Description, InputSchema: inputSchema{JSON: schema}}})
	}
	if len(tools) == 0 {
		return nil, nil
	}
	tc := &toolConfig{Tools: tools}
	if c := r.ToolChoice; c != nil {
		switch c.Mode {
		case "none":
			// Converse has no "none": without tool blocks in the
			// conversation the tools are left out; with them (Converse
			// then needs toolConfig) the model may still call one.
			if !hasToolBlocks {
				return nil, nil
			}
		case "required":
			tc.ToolChoice = json.RawMessage(`{"any":{}}`)
		case "tool":
			name, _ := json.Marshal(c.Name)
			tc.ToolChoice = json.RawMessage(`{"tool":{"name":` + string(name) + `}}`)
		default:
			tc.ToolChoice = json.RawMessage(`{"auto":{}}`)
		}
	}
	return tc, nil
}
