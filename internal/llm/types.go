package llm

import "encoding/json"

// The canonical exchange format. A request that crosses dialects (an OpenAI
// client to an Anthropic upstream, an Anthropic client to a Gemini upstream)
// is decoded into these types and encoded from them; a same-dialect request
// never touches them (it passes through as bytes).
//
// The types keep what every dialect can express and carry the rest as raw
// JSON where one dialect's feature has no equivalent elsewhere (a provider
// tool, cache_control), so a codec can pass it on when the other side is
// the same vendor and drop it otherwise.

// Role is who speaks a message.
type Role string

const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool" // a tool's result
)

// PartType is the kind of one piece of message content.
type PartType string

const (
	PartText     PartType = "text"
	PartImage    PartType = "image"    // URL or inline data
	PartDocument PartType = "document" // a file: PDF and the like, URL or inline data or file id
	PartThinking PartType = "thinking" // reasoning the model showed (with its signature, if any)
	// PartRedactedThinking is reasoning the provider returned encrypted;
	// it must be sent back verbatim in Data to continue the conversation.
	PartRedactedThinking PartType = "redacted_thinking"
)

// Part is one piece of content.
type Part struct {
	Type      PartType `json:"type"`
	Text      string   `json:"text,omitempty"`
	MediaType string   `json:"media_type,omitempty"` // image/png, application/pdf…
	Data      string   `json:"data,omitempty"`       // base64, for inline media and redacted thinking
	URL       string   `json:"url,omitempty"`
	FileID    string   `json:"file_id,omitempty"`
	Filename  string   `json:"filename,omitempty"`
	Detail    string   `json:"detail,omitempty"`    // OpenAI image detail: low | high | auto
	Signature string   `json:"signature,omitempty"` // thinking signature (Anthropic), thought signature (Gemini)
	// SignatureVendor is who issued Signature (VendorAnthropic,
	// VendorGemini). A signature is opaque and only its issuer accepts it,
	// so an encoder sends it only to the same vendor and drops it otherwise.
	SignatureVendor string `json:"signature_vendor,omitempty"`
	// CacheControl is Anthropic's prompt-caching marker, passed on verbatim.
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// Vendors that issue thinking signatures (Part.SignatureVendor,
// StreamEvent.SignatureVendor).
const (
	VendorAnthropic = "anthropic"
	VendorGemini    = "gemini"
	// VendorOpenAI marks a Responses API reasoning item's
	// encrypted_content, which only OpenAI (with store false) reads back.
	VendorOpenAI = "openai"
)

// ToolCall is the model asking for a tool.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`           // a JSON object, as text
	Signature string `json:"signature,omitempty"` // Gemini thought signature on a function call (only Gemini issues these)
	// CacheControl is Anthropic's prompt-caching marker on the tool_use
	// block, passed on verbatim.
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// Message is one turn.
type Message struct {
	Role  Role   `json:"role"`
	Name  string `json:"name,omitempty"`
	Parts []Part `json:"parts,omitempty"`
	// ToolCalls are an assistant's requests for tools.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID (and ToolName, which Gemini needs) identify the call a
	// RoleTool message answers; IsError marks a failed tool run.
	ToolCallID string `json:"tool_call_id,omitempty"`
	ToolName   string `json:"tool_name,omitempty"`
	IsError    bool   `json:"is_error,omitempty"`
	// CacheControl is Anthropic's prompt-caching marker on a RoleTool
	// message's tool_result block, passed on verbatim.
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// Tool is a function the model may call. A provider-specific tool (web
// search, code execution) has no Parameters; its original JSON is in Raw
// with the dialect it came from, and only a codec of that dialect uses it.
type Tool struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	Parameters   json.RawMessage `json:"parameters,omitempty"` // JSON Schema
	Strict       bool            `json:"strict,omitempty"`
	Raw          json.RawMessage `json:"raw,omitempty"`
	RawDialect   string          `json:"raw_dialect,omitempty"` // "openai" | "anthropic" | "gemini"
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// ToolChoice says whether and which tool the model must call.
type ToolChoice struct {
	Mode string `json:"mode"`           // auto | none | required | tool
	Name string `json:"name,omitempty"` // with Mode "tool"
	// DisableParallel asks for at most one tool call per turn.
	DisableParallel bool `json:"disable_parallel,omitempty"`
}

// ResponseFormat constrains the answer's shape.
type ResponseFormat struct {
	Type   string          `json:"type"` // text | json_object | json_schema
	Name   string          `json:"name,omitempty"`
	Schema json.RawMessage `json:"schema,omitempty"`
	Strict bool            `json:"strict,omitempty"`
}

// Reasoning asks for (or limits) the model's thinking.
type Reasoning struct {
	Effort       string `json:"effort,omitempty"`        // minimal | low | medium | high (OpenAI, xAI)
	BudgetTokens int64  `json:"budget_tokens,omitempty"` // Anthropic thinking budget, Gemini thinkingBudget
	Disabled     bool   `json:"disabled,omitempty"`
	// Adaptive lets the model decide whether and how much to think
	// (Anthropic's thinking {"type":"adaptive"}); Effort, if set, steers it.
	Adaptive bool `json:"adaptive,omitempty"`
}

// Request is one model call in the canonical form.
type Request struct {
	Model          string          `json:"model"`
	System         []Part          `json:"system,omitempty"`
	Messages       []Message       `json:"messages"`
	Tools          []Tool          `json:"tools,omitempty"`
	ToolChoice     *ToolChoice     `json:"tool_choice,omitempty"`
	MaxTokens      int64           `json:"max_tokens,omitempty"` // 0: not given
	Temperature    *float64        `json:"temperature,omitempty"`
	TopP           *float64        `json:"top_p,omitempty"`
	TopK           *int64          `json:"top_k,omitempty"`
	Stop           []string        `json:"stop,omitempty"`
	Seed           *int64          `json:"seed,omitempty"`
	N              int             `json:"n,omitempty"`
	Stream         bool            `json:"stream,omitempty"`
	ResponseFormat *ResponseFormat `json:"response_format,omitempty"`
	Reasoning      *Reasoning      `json:"reasoning,omitempty"`
	User           string          `json:"user,omitempty"`
}

// FinishReason is why the model stopped, in OpenAI's words.
type FinishReason string

const (
	FinishStop          FinishReason = "stop"
	FinishLength        FinishReason = "length"
	FinishToolCalls     FinishReason = "tool_calls"
	FinishContentFilter FinishReason = "content_filter"
	FinishError         FinishReason = "error"
)

// Response is a whole answer.
type Response struct {
	ID           string       `json:"id"`
	Model        string       `json:"model"`
	Created      int64        `json:"created"`
	Message      Message      `json:"message"` // RoleAssistant: text and thinking parts, tool calls
	FinishReason FinishReason `json:"finish_reason"`
	Usage        Usage        `json:"usage"`
}

// EventKind is the kind of one stream event.
type EventKind uint8

const (
	EventStart         EventKind = iota + 1 // the answer begins (ID, Model)
	EventText                               // Text: more answer text
	EventThinking                           // Text: more reasoning; Signature (and SignatureVendor) when it arrives; Data: a redacted block
	EventToolCallStart                      // Index, ToolCall.ID, ToolCall.Name
	EventToolCallDelta                      // Index, ToolCall.Arguments: a piece of the JSON arguments
	EventFinish                             // FinishReason
	EventUsage                              // Usage (may come with or after Finish)
	EventError                              // Error: the upstream failed mid-stream
)

// StreamEvent is one step of a streamed answer, dialect-free. Index is the
// tool call's position among this answer's tool calls.
type StreamEvent struct {
	Kind      EventKind `json:"kind"`
	ID        string    `json:"id,omitempty"`
	Model     string    `json:"model,omitempty"`
	Text      string    `json:"text,omitempty"`
	Signature string    `json:"signature,omitempty"`
	// SignatureVendor is who issued Signature (see Part.SignatureVendor).
	SignatureVendor string `json:"signature_vendor,omitempty"`
	// Data is a whole redacted (encrypted) thinking block, Anthropic's
	// redacted_thinking, on an EventThinking with no Text: only an
	// Anthropic client can use it, so other encoders drop it.
	Data         string       `json:"data,omitempty"`
	Index        int          `json:"index,omitempty"`
	ToolCall     *ToolCall    `json:"tool_call,omitempty"`
	FinishReason FinishReason `json:"finish_reason,omitempty"`
	Usage        *Usage       `json:"usage,omitempty"`
	Error        *Error       `json:"error,omitempty"`
}
