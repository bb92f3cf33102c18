package relay

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// maxModelName bounds a model name read from a non-OpenAI request (the
// OpenAI scanner has its own bound of the same size).
const maxModelName = 512

// Messages serves POST /v1/messages: an Anthropic Messages request, to any
// upstream.
func (rl *Relay) Messages(w http.ResponseWriter, r *http.Request) error {
	// The key: x-api-key (the Go and Python SDKs) or Authorization: Bearer
	// (an auth token, as Claude Code sends with ANTHROPIC_AUTH_TOKEN).
	return rl.serve(w, r, IngressAnthropic, oa.OpChat, "", func(c *call) (*oa.Request, error) { return scanMessages(c.body) })
}

// scanMessages reads what routing and billing need from an Anthropic
// Messages body: the model, stream and max_tokens. The rest is read only if
// the request has to be translated.
func scanMessages(body []byte) (*oa.Request, error) {
	root, err := jsonObject(body)
	if err != nil {
		return nil, err
	}
	req := &oa.Request{Op: oa.OpChat, IncludeUsage: true}
	m := root.Get("model")
	if m.Type != gjson.String || m.Str == "" {
		return nil, llm.BadRequest("model", "'model' is required and must be a string, such as \"claude-sonnet-4-5\"")
	}
	if len(m.Str) > maxModelName {
		return nil, llm.BadRequest("model", "'model' is longer than %d characters", maxModelName)
	}
	req.Model = m.Str
	switch s := root.Get("stream"); s.Type {
	case gjson.True:
		req.Stream = true
	case gjson.False, gjson.Null:
	default:
		return nil, llm.BadRequest("stream", "'stream' must be a boolean")
	}
	switch mt := root.Get("max_tokens"); mt.Type {
	case gjson.Number:
		if mt.Int() < 1 {
			return nil, llm.BadRequest("max_tokens", "'max_tokens' must be at least 1")
		}
		req.MaxTokens = mt.Int()
	case gjson.Null:
	default:
		return nil, llm.BadRequest("max_tokens", "'max_tokens' must be an integer")
	}
	if !root.Get("messages").IsArray() {
		return nil, llm.BadRequest("messages", "'messages' is required and must be an array")
	}
	req.User = root.Get("metadata.user_id").String()
	return req, nil
}

// Gemini serves POST .../models/{model}:generateContent and
// :streamGenerateContent: a Gemini request, to any upstream. The key may
// come as x-goog-api-key or ?key=, as Google's clients send it.
func (rl *Relay) Gemini(model string, stream bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		return rl.serve(w, r, IngressGemini, oa.OpChat, geminiCredential(r), func(c *call) (*oa.Request, error) {
			return scanGemini(model, stream, c.body)
		})
	}
}

// geminiCredential is the key as Google's clients send it: the
// x-goog-api-key header, or ?key= when no Authorization header is sent.
// Empty means "look in Authorization" (auth.Credential).
func geminiCredential(r *http.Request) string {
	cred := r.Header.Get("X-Goog-Api-Key")
	if cred == "" && r.Header.Get("Authorization") == "" {
		cred = r.URL.Query().Get("key")
	}
	return cred
}

// scanGemini reads what routing and billing need from a Gemini body; the
// model and the streaming choice come from the URL.
func scanGemini(model string, stream bool, body []byte) (*oa.Request, error) {
	root, err := jsonObject(body)
	if err != nil {
		return nil, err
	}
	model = strings.TrimPrefix(model, "models/")
	if model == "" {
		return nil, llm.BadRequest("model", "the URL names no model; use /v1beta/models/MODEL:generateContent")
	}
	if len(model) > maxModelName {
		return nil, llm.BadRequest("model", "the model name is longer than %d characters", maxModelName)
	}
	req := &oa.Request{Op: oa.OpChat, Model: model, Stream: stream, IncludeUsage: true}
	gc := root.Get("generationConfig")
	if !gc.Exists() {
		gc = root.Get("generation_config")
	}
	if mt := gc.Get("maxOutputTokens"); mt.Type == gjson.Number {
		req.MaxTokens = mt.Int()
	} else if mt := gc.Get("max_output_tokens"); mt.Type == gjson.Number {
		req.MaxTokens = mt.Int()
	}
	if req.MaxTokens < 0 {
		return nil, llm.BadRequest("generationConfig.maxOutputTokens", "'maxOutputTokens' cannot be negative")
	}
	cc := gc.Get("candidateCount")
	if !cc.Exists() {
		cc = gc.Get("candidate_count")
	}
	if cc.Exists() && cc.Type != gjson.Null {
		if cc.Type != gjson.Number || cc.Num < 1 || cc.Num > oa.MaxChoices || cc.Num != float64(int64(cc.Num)) {
			return nil, llm.BadRequest("generationConfig.candidateCount", "'candidateCount' must be an integer from 1 to %d", oa.MaxChoices)
		}
		req.N = cc.Int()
	}
	return req, nil
}

// GeminiMethod is a Gemini method the gateway serves on …/models/MODEL:METHOD.
type GeminiMethod uint8

const (
	GeminiGenerate GeminiMethod = iota
	GeminiStream
	GeminiCountTokens
	GeminiEmbed
	GeminiBatchEmbed
)

// ParseGeminiMethod splits "MODEL:generateContent" (what follows /models/
// in a Gemini URL) into the model and the method. ok is false for a
// method the gateway does not serve.
func ParseGeminiMethod(rest string) (model string, method GeminiMethod, ok bool) {
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return "", 0, false
	}
	switch rest[i+1:] {
	case "generateContent":
		return rest[:i], GeminiGenerate, true
	case "streamGenerateContent":
		return rest[:i], GeminiStream, true
	case "countTokens":
		return rest[:i], GeminiCountTokens, true
	case "embedContent":
		return rest[:i], GeminiEmbed, true
	case "batchEmbedContents":
		return rest[:i], GeminiBatchEmbed, true
	}
	return "", 0, false
}

// jsonObject parses a body that passed readJSON's check as an object.
func jsonObject(body []byte) (gjson.Result, error) {
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return gjson.Result{}, llm.BadRequest("", "request body must be a JSON object")
	}
	return root, nil
}

// canonical decodes the client's request into the canonical format, once
// per call; each translated attempt works on a copy.
func (c *call) canonical() (*llm.Request, error) {
	if c.lreq != nil {
		return c.lreq, nil
	}
	r, err := c.in.decode(c)
	if err != nil {
		return nil, err
	}
	c.lreq = r
	return r, nil
}
