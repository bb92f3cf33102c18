package openai

import (
	"encoding/json"
	"fmt"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Wire shapes for EncodeRequest. Field order is the order written.
type (
	wireRequest struct {
		Model               string            `json:"model"`
		Messages            []wireMessage     `json:"messages"`
		Tools               []json.RawMessage `json:"tools,omitempty"`
		ToolChoice          any               `json:"tool_choice,omitempty"`
		ParallelToolCalls   *bool             `json:"parallel_tool_calls,omitempty"`
		MaxCompletionTokens int64             `json:"max_completion_tokens,omitempty"`
		Temperature         *float64          `json:"temperature,omitempty"`
		TopP                *float64          `json:"top_p,omitempty"`
		Stop                []string          `json:"stop,omitempty"`
		Seed                *int64            `json:"seed,omitempty"`
		N                   int               `json:"n,omitempty"`
		Stream              bool              `json:"stream,omitempty"`
		StreamOptions       *wireStreamOpts   `json:"stream_options,omitempty"`
		ResponseFormat      any               `json:"response_format,omitempty"`
		ReasoningEffort     string            `json:"reasoning_effort,omitempty"`
		User                string            `json:"user,omitempty"`
	}
	wireStreamOpts struct {
		IncludeUsage bool `json:"include_usage"`
	}
	wireMessage struct {
		Role             string         `json:"role"`
		Name             string         `json:"name,omitempty"`
		Content          any            `json:"content"`
		ReasoningContent string         `json:"reasoning_content,omitempty"`
		ToolCalls        []wireToolCall `json:"tool_calls,omitempty"`
		ToolCallID       string         `json:"tool_call_id,omitempty"`
	}
	wireToolCall struct {
		ID       string       `json:"id"`
		Type     string       `json:"type"`
		Function wireFunction `json:"function"`
	}
	wireFunction struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	wirePart struct {
		Type     string        `json:"type"`
		Text     *string       `json:"text,omitempty"`
		ImageURL *wireImageURL `json:"image_url,omitempty"`
		File     *wireFile     `json:"file,omitempty"`
	}
	wireImageURL struct {
		URL    string `json:"url"`
		Detail string `json:"detail,omitempty"`
	}
	wireFile struct {
		Filename string `json:"filename,omitempty"`
		FileData string `json:"file_data,omitempty"`
		FileID   string `json:"file_id,omitempty"`
		URL      string `json:"url,omitempty"`
	}
	wireNamedChoice struct {
		Type     string   `json:"type"`
		Function wireName `json:"function"`
	}
	wireName struct {
		Name string `json:"name"`
	}
	wireResponseFormat struct {
		Type       string          `json:"type"`
		JSONSchema *wireJSONSchema `json:"json_schema,omitempty"`
	}
	wireJSONSchema struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema,omitempty"`
		Strict bool            `json:"strict,omitempty"`
	}
	wireTool struct {
		Type     string          `json:"type"`
		Function wireFunctionDef `json:"function"`
	}
	wireFunctionDef struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
		Strict      bool            `json:"strict,omitempty"`
	}
)

// EncodeRequest writes r as an OpenAI Chat Completions request, for an
// OpenAI-compatible upstream. It is DecodeRequest's inverse for everything
// the OpenAI format can say. What it cannot say is dropped: thinking
// signatures and redacted thinking, cache_control, top_k (OpenAI refuses
// unknown arguments), tool results' IsError, non-text parts of tool
// results, and provider tools of another dialect. A thinking budget with no
// effort becomes the nearest reasoning_effort.
func EncodeRequest(r *llm.Request) ([]byte, error) {
	w := wireRequest{
		Model:               r.Model,
		Messages:            make([]wireMessage, 0, len(r.Messages)+1),
		MaxCompletionTokens: r.MaxTokens,
		Temperature:         r.Temperature,
		TopP:                r.TopP,
		Stop:                r.Stop,
		Seed:                r.Seed,
		N:                   r.N,
		Stream:              r.Stream,
		User:                r.User,
	}
	if r.Stream {
		// Always ask for usage: the gateway bills from it.
		w.StreamOptions = &wireStreamOpts{IncludeUsage: true}
	}
	if len(r.System) > 0 {
		w.Messages = append(w.Messages, wireMessage{Role: "system", Content: encodeContent(r.System, false)})
	}
	for i := range r.Messages {
		w.Messages = append(w.Messages, encodeMessage(&r.Messages[i]))
	}
	for _, t := range r.Tools {
		if t.Raw != nil {
			if t.RawDialect == "openai" {
				w.Tools = append(w.Tools, t.Raw)
			}
			continue
		}
		b, err := json.Marshal(wireTool{Type: "function", Function: wireFunctionDef{Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict}})
		if err != nil {
			return nil, fmt.Errorf("tool %q: %w", t.Name, err)
		}
		w.Tools = append(w.Tools, b)
	}
	if tc := r.ToolChoice; tc != nil {
		switch tc.Mode {
		case "tool":
			w.ToolChoice = wireNamedChoice{Type: "function", Function: wireName{Name: tc.Name}}
		case "auto", "none", "required":
			w.ToolChoice = tc.Mode
		}
		if tc.DisableParallel && len(w.Tools) > 0 {
			f := false
			w.ParallelToolCalls = &f
		}
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_schema":
			js := &wireJSONSchema{Name: rf.Name, Schema: rf.Schema, Strict: rf.Strict}
			if js.Name == "" {
				js.Name = "response" // required by OpenAI
			}
			w.ResponseFormat = wireResponseFormat{Type: "json_schema", JSONSchema: js}
		case "text", "json_object":
			w.ResponseFormat = wireResponseFormat{Type: rf.Type}
		}
	}
	if rs := r.Reasoning; rs != nil {
		switch {
		case rs.Effort != "":
			w.ReasoningEffort = rs.Effort
		case rs.BudgetTokens > 0:
			w.ReasoningEffort = EffortForBudget(rs.BudgetTokens)
		}
	}
	return json.Marshal(w)
}

// EffortForBudget maps a thinking budget (Anthropic budget_tokens, Gemini
// thinkingBudget) to the nearest OpenAI effort.
func EffortForBudget(n int64) string {
	switch {
	case n < 4096:
		return "low"
	case n < 16384:
		return "medium"
	}
	return "high"
}

func encodeMessage(m *llm.Message) wireMessage {
	switch m.Role {
	case llm.RoleAssistant:
		w := wireMessage{Role: "assistant", Name: m.Name}
		var text []llm.Part
		for _, p := range m.Parts {
			switch p.Type {
			case llm.PartThinking:
				w.ReasoningContent += p.Text
			case llm.PartText:
				text = append(text, p)
			}
		}
		w.Content = encodeContent(text, false)
		if len(m.ToolCalls) > 0 && len(text) == 0 {
			w.Content = nil
		}
		for _, tc := range m.ToolCalls {
			w.ToolCalls = append(w.ToolCalls, wireToolCall{ID: tc.ID, Type: "function", Function: wireFunction{Name: tc.Name, Arguments: tc.Arguments}})
		}
		return w
	case llm.RoleTool:
		var text []llm.Part
		for _, p := range m.Parts {
			if p.Type == llm.PartText {
				text = append(text, p)
			}
		}
		return wireMessage{Role: "tool", Content: encodeContent(text, false), ToolCallID: m.ToolCallID}
	case llm.RoleSystem:
		return wireMessage{Role: "system", Name: m.Name, Content: encodeContent(m.Parts, false)}
	}
	return wireMessage{Role: "user", Name: m.Name, Content: encodeContent(m.Parts, true)}
}

// encodeContent writes parts as a plain string when they are one text part
// (the form every OpenAI-compatible server accepts), else as an array.
func encodeContent(parts []llm.Part, media bool) any {
	if len(parts) == 0 {
		return ""
	}
	if len(parts) == 1 && parts[0].Type == llm.PartText {
		return parts[0].Text
	}
	out := make([]wirePart, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case llm.PartText:
			out = append(out, wirePart{Type: "text", Text: &p.Text})
		case llm.PartImage:
			if !media {
				continue
			}
			u := p.URL
			if p.Data != "" {
				u = dataURL(p.MediaType, p.Data)
			}
			out = append(out, wirePart{Type: "image_url", ImageURL: &wireImageURL{URL: u, Detail: p.Detail}})
		case llm.PartDocument:
			if !media {
				continue
			}
			f := &wireFile{Filename: p.Filename, FileID: p.FileID, URL: p.URL}
			if p.Data != "" {
				f.FileData = p.Data
				if p.MediaType != "" {
					f.FileData = dataURL(p.MediaType, p.Data)
				}
			}
			out = append(out, wirePart{Type: "file", File: f})
		}
	}
	if len(out) == 0 {
		return ""
	}
	return out
}
