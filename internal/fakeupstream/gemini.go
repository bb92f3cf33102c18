package fakeupstream

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
	"github.com/switchyard-gw/switchyard/internal/provider/mock"
)

// gemini is Google's Generative Language API: POST
// .../v1beta/models/{model}:generateContent (or /v1/models/...), and
// :streamGenerateContent for a stream (server-sent events with ?alt=sse, a
// JSON array without it), and :batchEmbedContents (gemini_embed.go). The
// key is in x-goog-api-key or ?key=. Its
// answers are made here (the mock speaks only OpenAI):
//
//   - text: Behavior.Reply, or "This is the fake Gemini model answering."
//     padded with filler (or cut) to Behavior.Words words (default 12); a
//     word is a token and generationConfig.maxOutputTokens (when > 0) cuts
//     the text (finishReason "MAX_TOKENS", else "STOP");
//   - with functionDeclarations and functionCallingConfig.mode not NONE: one
//     functionCall part (the first declaration, or the first of
//     allowedFunctionNames; args with every required property of its
//     parameters set to "fake"), finishReason "STOP" as Gemini reports it.
//     In mode AUTO (the default) a request whose last turn carries a
//     functionResponse is answered in text instead, as the mock does for
//     OpenAI: the model has been given the result;
//   - responseMimeType application/json: the text is a JSON object, with
//     every required property of the response schema set simply (strings
//     "fake" or their first enum value, numbers 1, booleans true, arrays
//     [], objects {}), or {"answer": <text>} without required properties;
//   - thinkingConfig.includeThoughts (thinkingBudget not 0): a thought part
//     {"text":...,"thought":true} before the answer, counted in
//     thoughtsTokenCount (and cut to a positive thinkingBudget);
//   - Behavior.Blocked "prompt": promptFeedback.blockReason SAFETY and no
//     candidates; "response": a candidate with finishReason SAFETY and no
//     content (a stream sends half the text first);
//   - usageMetadata: promptTokenCount = words of all text parts (system
//     instruction included, function calls and responses by the words of
//     their JSON) + 4 per content; candidatesTokenCount = words of the
//     answer (of the args JSON for a call); totalTokenCount = the sum, with
//     thoughtsTokenCount. OmitUsage leaves usageMetadata out;
//     UsageInFinishChunk does not apply (it is always on the last chunk).
//
// A stream sends each thought and each word of text in its own chunk, a
// function call whole in one; the last chunk carries finishReason and
// usageMetadata. There is no [DONE]: the stream just ends. The faults that
// count SSE events (DropAfterChunks, MalformedJSON in a stream) need alt=sse.
type gemini struct{}

// geminiCall splits a path ending in models/{model}:{method}; ok is false
// for any other path. Only the two generation methods and
// batchEmbedContents are recognised, so that OpenAI model ids with colons
// (ft:...) stay OpenAI's.
func geminiCall(path string) (model, method string, ok bool) {
	i := strings.LastIndex(path, "/models/")
	if i < 0 {
		return "", "", false
	}
	model, method, ok = strings.Cut(path[i+len("/models/"):], ":")
	if !ok || model == "" || strings.Contains(model, "/") ||
		(method != "generateContent" && method != "streamGenerateContent" && method != "batchEmbedContents") {
		return "", "", false
	}
	return model, method, true
}

func (gemini) matches(r *http.Request) bool {
	if _, _, ok := geminiCall(r.URL.Path); ok {
		return true
	}
	// Anything else under /v1beta is Gemini's too (and not found).
	return strings.HasSuffix(r.URL.Path, "/v1beta") || strings.Contains(r.URL.Path, "/v1beta/")
}

func (gemini) apiKey(r *http.Request) string {
	if k := r.Header.Get("X-Goog-Api-Key"); k != "" {
		return k
	}
	return r.URL.Query().Get("key")
}

// geminiStatus is the canonical google.rpc.Code name Google's APIs give an
// HTTP status.
func geminiStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case http.StatusInternalServerError:
		return "INTERNAL"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 400 && status < 500 {
		return "FAILED_PRECONDITION"
	}
	return "UNKNOWN"
}

type geminiErrorBody struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []any  `json:"details,omitempty"`
	} `json:"error"`
}

func writeGeminiError(w http.ResponseWriter, status int, grpc, message string, details []any) {
	var e geminiErrorBody
	e.Error.Code = status
	e.Error.Message = message
	e.Error.Status = grpc
	e.Error.Details = details
	b, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError writes {"error":{"code":status,"message":...,"status":...}}.
// typ, when set, is the status name; Google's envelope has no separate code
// (its "code" is the HTTP status), so code is ignored. A 429 whose
// Retry-After is a number of seconds also carries it as a RetryInfo detail,
// where Google's clients look for it.
func (gemini) writeError(w http.ResponseWriter, status int, typ, code, message string) {
	if typ == "" {
		typ = geminiStatus(status)
	}
	var details []any
	if status == http.StatusTooManyRequests {
		if secs, err := strconv.Atoi(w.Header().Get("Retry-After")); err == nil && secs >= 0 {
			details = append(details, map[string]string{
				"@type":      "type.googleapis.com/google.rpc.RetryInfo",
				"retryDelay": strconv.Itoa(secs) + "s",
			})
		}
	}
	writeGeminiError(w, status, typ, message, details)
}

// writeKeyEcho writes Google's envelope: f's type is its status, and a
// code and param go where Google puts the like, an ErrorInfo's reason and
// a BadRequest field violation's field.
func (gemini) writeKeyEcho(w http.ResponseWriter, status int, f errorFields) {
	typ := f.typ
	if typ == "" {
		typ = geminiStatus(status)
	}
	var details []any
	if f.code != "" {
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
			"reason": f.code, "domain": "googleapis.com"})
	}
	if f.param != "" {
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.BadRequest",
			"fieldViolations": []any{map[string]string{"field": f.param, "description": "bad value"}}})
	}
	writeGeminiError(w, status, typ, f.message, details)
}

const geminiBadKey = "API key not valid. Please pass a valid API key."

// writeAuthError answers as Google does for a wrong key: 400
// INVALID_ARGUMENT with reason API_KEY_INVALID. (For no key at all Google
// answers 403 PERMISSION_DENIED "Method doesn't allow unregistered
// callers"; the dialect interface does not tell the two apart, so both get
// the wrong-key answer.)
func (gemini) writeAuthError(w http.ResponseWriter) {
	writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", geminiBadKey, []any{
		map[string]any{
			"@type":    "type.googleapis.com/google.rpc.ErrorInfo",
			"reason":   "API_KEY_INVALID",
			"domain":   "googleapis.com",
			"metadata": map[string]string{"service": "generativelanguage.googleapis.com"},
		},
		map[string]string{
			"@type":   "type.googleapis.com/google.rpc.LocalizedMessage",
			"locale":  "en-US",
			"message": geminiBadKey,
		},
	})
}

func (gemini) isStream(r *http.Request, body []byte) bool {
	_, method, ok := geminiCall(r.URL.Path)
	return ok && r.Method == http.MethodPost && method == "streamGenerateContent"
}

func (gemini) writeMalformed(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"candidates":[{"content":{"role":"model","parts":[{not json`))
}

func (gemini) malformedEvent() []byte { return []byte("data: {not json\n\n") }

// geminiRequest is the part of a GenerateContentRequest the fake reads.
type geminiRequest struct {
	Contents          []geminiContent `json:"contents"`
	SystemInstruction *geminiContent  `json:"systemInstruction"`
	Tools             []struct {
		FunctionDeclarations []struct {
			Name                 string          `json:"name"`
			Parameters           json.RawMessage `json:"parameters"`
			ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
		} `json:"functionDeclarations"`
	} `json:"tools"`
	ToolConfig *struct {
		FunctionCallingConfig *struct {
			Mode                 string   `json:"mode"`
			AllowedFunctionNames []string `json:"allowedFunctionNames"`
		} `json:"functionCallingConfig"`
	} `json:"toolConfig"`
	GenerationConfig *struct {
		MaxOutputTokens    *int            `json:"maxOutputTokens"`
		ResponseMimeType   string          `json:"responseMimeType"`
		ResponseSchema     json.RawMessage `json:"responseSchema"`
		ResponseJSONSchema json.RawMessage `json:"responseJsonSchema"`
		ThinkingConfig     *struct {
			ThinkingBudget  *int `json:"thinkingBudget"`
			IncludeThoughts bool `json:"includeThoughts"`
		} `json:"thinkingConfig"`
	} `json:"generationConfig"`
}

type geminiContent struct {
	Role  string `json:"role"`
	Parts []struct {
		Text         string `json:"text"`
		FunctionCall *struct {
			Args json.RawMessage `json:"args"`
		} `json:"functionCall"`
		FunctionResponse *struct {
			Response json.RawMessage `json:"response"`
		} `json:"functionResponse"`
	} `json:"parts"`
}

func (c *geminiContent) words() int {
	n := 0
	for _, p := range c.Parts {
		n += len(strings.Fields(p.Text))
		if p.FunctionCall != nil {
			n += len(strings.Fields(string(p.FunctionCall.Args)))
		}
		if p.FunctionResponse != nil {
			n += len(strings.Fields(string(p.FunctionResponse.Response)))
		}
	}
	return n
}

func (req *geminiRequest) inputTokens() int {
	n := 0
	if req.SystemInstruction != nil {
		n += req.SystemInstruction.words()
	}
	for i := range req.Contents {
		n += 4 + req.Contents[i].words()
	}
	return n
}

// geminiAnswer is what the fake will say, before it is encoded.
type geminiAnswer struct {
	thought  string
	text     string
	call     string // function name; "" = text answer
	args     string // function args JSON
	finish   string
	output   int
	thoughts int
	blocked  string // Behavior.Blocked
}

const geminiPrefix = "This is the fake Gemini model answering."
const geminiThought = "The user wants an answer, so the fake Gemini model thinks it over before giving one."

// geminiRequiredObject returns a JSON object with every required property of a
// schema (OpenAPI-style or JSON Schema) set to a simple value of its type,
// and ok false when the schema requires nothing.
func geminiRequiredObject(schema json.RawMessage, strValue string) (string, bool) {
	var s struct {
		Properties map[string]struct {
			Type json.RawMessage `json:"type"`
			Enum []string        `json:"enum"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if json.Unmarshal(schema, &s) != nil || len(s.Required) == 0 {
		return "", false
	}
	b := []byte{'{'}
	for i, name := range s.Required {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, name)
		b = append(b, ':')
		p := s.Properties[name]
		// type is a string, or in JSON Schema a list like ["string","null"].
		var typ string
		if json.Unmarshal(p.Type, &typ) != nil {
			var types []string
			_ = json.Unmarshal(p.Type, &types)
			if len(types) > 0 {
				typ = types[0]
			}
		}
		switch strings.ToLower(typ) {
		case "number", "integer":
			b = append(b, '1')
		case "boolean":
			b = append(b, "true"...)
		case "array":
			b = append(b, "[]"...)
		case "object":
			b = append(b, "{}"...)
		default:
			v := strValue
			if len(p.Enum) > 0 {
				v = p.Enum[0]
			}
			b = jsonstr.Append(b, v)
		}
	}
	return string(append(b, '}')), true
}

// plan decides the answer; a non-empty error message is a 400.
func (gemini) plan(req *geminiRequest, b Behavior) (geminiAnswer, string) {
	a := geminiAnswer{blocked: b.Blocked}
	gc := req.GenerationConfig
	if gc != nil && gc.ThinkingConfig != nil && gc.ThinkingConfig.IncludeThoughts {
		tc := gc.ThinkingConfig
		if tc.ThinkingBudget == nil || *tc.ThinkingBudget != 0 {
			a.thought = geminiThought
			if tc.ThinkingBudget != nil && *tc.ThinkingBudget > 0 {
				a.thought = cutWords(a.thought, *tc.ThinkingBudget)
			}
			a.thoughts = len(strings.Fields(a.thought))
		}
	}

	// A function call, if the declarations and the config call for one.
	type decl struct {
		name   string
		params json.RawMessage
	}
	var decls []decl
	for _, t := range req.Tools {
		for _, f := range t.FunctionDeclarations {
			if f.Name != "" {
				decls = append(decls, decl{f.Name, geminiFirstSet(f.Parameters, f.ParametersJSONSchema)})
			}
		}
	}
	if len(decls) > 0 {
		mode, allowed := "AUTO", []string(nil)
		if req.ToolConfig != nil && req.ToolConfig.FunctionCallingConfig != nil {
			fc := req.ToolConfig.FunctionCallingConfig
			if fc.Mode != "" {
				mode = strings.ToUpper(fc.Mode)
			}
			allowed = fc.AllowedFunctionNames
		}
		call := true
		switch mode {
		case "NONE":
			call = false
		case "AUTO", "VALIDATED", "MODE_UNSPECIFIED":
			if n := len(req.Contents); n > 0 {
				for _, p := range req.Contents[n-1].Parts {
					if p.FunctionResponse != nil {
						call = false
					}
				}
			}
		case "ANY":
		default:
			return a, "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), " + strconv.Quote(mode)
		}
		if call {
			d := &decls[0]
			if len(allowed) > 0 {
				d = nil
				for i := range decls {
					if decls[i].name == allowed[0] {
						d = &decls[i]
						break
					}
				}
				if d == nil {
					return a, "allowed_function_names " + strconv.Quote(allowed[0]) + " is not a declared function"
				}
			}
			args, ok := geminiRequiredObject(d.params, "fake")
			if !ok {
				args = "{}"
			}
			a.call, a.args, a.finish = d.name, args, "STOP"
			a.output = max(1, len(strings.Fields(args)))
			return a, ""
		}
	}

	text := replyText(b, geminiPrefix)
	if gc != nil && strings.EqualFold(gc.ResponseMimeType, "application/json") {
		js, ok := geminiRequiredObject(geminiFirstSet(gc.ResponseSchema, gc.ResponseJSONSchema), "fake")
		if !ok {
			js = string(jsonstr.Append([]byte(`{"answer":`), text)) + "}"
		}
		text = js
	}
	a.text, a.finish = text, "STOP"
	if gc != nil && gc.MaxOutputTokens != nil && *gc.MaxOutputTokens > 0 && len(strings.Fields(text)) > *gc.MaxOutputTokens {
		a.text = cutWords(text, *gc.MaxOutputTokens)
		a.finish = "MAX_TOKENS"
	}
	a.output = len(strings.Fields(a.text))
	return a, ""
}

// geminiFirstSet returns the first of a, b that is set.
func geminiFirstSet(a, b json.RawMessage) json.RawMessage {
	if len(a) > 0 && string(a) != "null" {
		return a
	}
	return b
}

// The answer's JSON shapes (GenerateContentResponse).
type geminiPartOut struct {
	Text         *string        `json:"text,omitempty"`
	Thought      bool           `json:"thought,omitempty"`
	FunctionCall *geminiCallOut `json:"functionCall,omitempty"`
}

type geminiCallOut struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type geminiContentOut struct {
	Role  string          `json:"role"`
	Parts []geminiPartOut `json:"parts"`
}

type geminiSafetyRating struct {
	Category    string `json:"category"`
	Probability string `json:"probability"`
	Blocked     bool   `json:"blocked,omitempty"`
}

type geminiCandidate struct {
	Content       *geminiContentOut    `json:"content,omitempty"`
	FinishReason  string               `json:"finishReason,omitempty"`
	Index         int                  `json:"index"`
	SafetyRatings []geminiSafetyRating `json:"safetyRatings,omitempty"`
}

type geminiUsage struct {
	PromptTokenCount     int `json:"promptTokenCount"`
	CandidatesTokenCount int `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount      int `json:"totalTokenCount"`
	ThoughtsTokenCount   int `json:"thoughtsTokenCount,omitempty"`
}

type geminiPromptFeedback struct {
	BlockReason   string               `json:"blockReason"`
	SafetyRatings []geminiSafetyRating `json:"safetyRatings"`
}

type geminiResponse struct {
	Candidates     []geminiCandidate     `json:"candidates,omitempty"`
	PromptFeedback *geminiPromptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  *geminiUsage          `json:"usageMetadata,omitempty"`
	ModelVersion   string                `json:"modelVersion"`
	ResponseID     string                `json:"responseId"`
}

var geminiBlockRatings = []geminiSafetyRating{
	{Category: "HARM_CATEGORY_SEXUALLY_EXPLICIT", Probability: "NEGLIGIBLE"},
	{Category: "HARM_CATEGORY_HATE_SPEECH", Probability: "NEGLIGIBLE"},
	{Category: "HARM_CATEGORY_HARASSMENT", Probability: "NEGLIGIBLE"},
	{Category: "HARM_CATEGORY_DANGEROUS_CONTENT", Probability: "HIGH", Blocked: true},
}

func geminiTextPart(s string, thought bool) geminiPartOut {
	return geminiPartOut{Text: &s, Thought: thought}
}

func geminiModelContent(parts ...geminiPartOut) *geminiContentOut {
	return &geminiContentOut{Role: "model", Parts: parts}
}

func (g gemini) answer(w http.ResponseWriter, r *http.Request, b Behavior, models []string, nextID func() uint64) {
	model, method, ok := geminiCall(r.URL.Path)
	if !ok {
		writeGeminiError(w, http.StatusNotFound, "NOT_FOUND", "Method not found: "+r.URL.Path, nil)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeGeminiError(w, http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "method "+r.Method+" not allowed; use POST", nil)
		return
	}
	if method == "batchEmbedContents" {
		g.embed(w, r, model)
		return
	}
	var req geminiRequest
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error(), nil)
		return
	}
	if len(req.Contents) == 0 {
		writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified", nil)
		return
	}
	ans, bad := g.plan(&req, b)
	if bad != "" {
		writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", bad, nil)
		return
	}
	base := geminiResponse{ModelVersion: model, ResponseID: "fake-gemini-" + strconv.FormatUint(nextID(), 10)}
	in := req.inputTokens()
	usage := func(output, thoughts int) *geminiUsage {
		if b.OmitUsage {
			return nil
		}
		return &geminiUsage{
			PromptTokenCount:     in,
			CandidatesTokenCount: output,
			ThoughtsTokenCount:   thoughts,
			TotalTokenCount:      in + output + thoughts,
		}
	}
	if g.isStream(r, body) {
		g.stream(w, r, b, ans, base, usage)
		return
	}
	out := base
	switch {
	case ans.blocked == "prompt":
		out.PromptFeedback = &geminiPromptFeedback{BlockReason: "SAFETY", SafetyRatings: geminiBlockRatings}
		out.UsageMetadata = usage(0, 0)
	case ans.blocked == "response":
		out.Candidates = []geminiCandidate{{FinishReason: "SAFETY", SafetyRatings: geminiBlockRatings}}
		out.UsageMetadata = usage(0, ans.thoughts)
	default:
		var parts []geminiPartOut
		if ans.thought != "" {
			parts = append(parts, geminiTextPart(ans.thought, true))
		}
		if ans.call != "" {
			parts = append(parts, geminiPartOut{FunctionCall: &geminiCallOut{Name: ans.call, Args: json.RawMessage(ans.args)}})
		} else {
			parts = append(parts, geminiTextPart(ans.text, false))
		}
		out.Candidates = []geminiCandidate{{Content: geminiModelContent(parts...), FinishReason: ans.finish}}
		out.UsageMetadata = usage(ans.output, ans.thoughts)
	}
	js, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	w.Write(append(js, '\n'))
}

func (gemini) stream(w http.ResponseWriter, r *http.Request, b Behavior, ans geminiAnswer, base geminiResponse, usage func(output, thoughts int) *geminiUsage) {
	// The chunks, before they are sent.
	var chunks []geminiResponse
	add := func(c *geminiContentOut, finish string, u *geminiUsage) {
		ch := base
		ch.Candidates = []geminiCandidate{{Content: c, FinishReason: finish}}
		ch.UsageMetadata = u
		chunks = append(chunks, ch)
	}
	if ans.blocked == "prompt" {
		ch := base
		ch.PromptFeedback = &geminiPromptFeedback{BlockReason: "SAFETY", SafetyRatings: geminiBlockRatings}
		ch.UsageMetadata = usage(0, 0)
		chunks = append(chunks, ch)
	} else {
		if ans.thought != "" {
			add(geminiModelContent(geminiTextPart(ans.thought, true)), "", nil)
		}
		pieces := textPieces(ans.text)
		switch {
		case ans.blocked == "response":
			sent := pieces[:len(pieces)/2]
			for _, p := range sent {
				add(geminiModelContent(geminiTextPart(p, false)), "", nil)
			}
			add(nil, "SAFETY", usage(len(sent), ans.thoughts))
			chunks[len(chunks)-1].Candidates[0].SafetyRatings = geminiBlockRatings
		case ans.call != "":
			add(geminiModelContent(geminiPartOut{FunctionCall: &geminiCallOut{Name: ans.call, Args: json.RawMessage(ans.args)}}), ans.finish, usage(ans.output, ans.thoughts))
		case len(pieces) == 0:
			add(geminiModelContent(geminiTextPart("", false)), ans.finish, usage(ans.output, ans.thoughts))
		default:
			for i, p := range pieces {
				if i < len(pieces)-1 {
					add(geminiModelContent(geminiTextPart(p, false)), "", nil)
				} else {
					add(geminiModelContent(geminiTextPart(p, false)), ans.finish, usage(ans.output, ans.thoughts))
				}
			}
		}
	}

	// Without alt=sse Gemini streams one JSON array, its elements
	// separated by ",\r\n".
	sse := r.URL.Query().Get("alt") == "sse"
	h := w.Header()
	if sse {
		h.Set("Content-Type", "text/event-stream")
	} else {
		h.Set("Content-Type", "application/json; charset=UTF-8")
	}
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	for i, ch := range chunks {
		if i > 0 && !mock.Sleep(r.Context(), b.ChunkDelay) {
			return
		}
		data, err := json.Marshal(ch)
		if err != nil {
			return
		}
		var ev []byte
		switch {
		case sse:
			ev = append(append(append(ev, "data: "...), data...), "\n\n"...)
		case i == 0:
			ev = append(append(ev, '['), data...)
		default:
			ev = append(append(ev, ",\r\n"...), data...)
		}
		if !sse && i == len(chunks)-1 {
			ev = append(ev, "]\n"...)
		}
		if _, err := w.Write(ev); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// Model is the model the request names: for Gemini the one in the path
// (.../models/{model}:generateContent), otherwise the body's "model"; ""
// for neither.
func (r Request) Model() string {
	if m, _, ok := geminiCall(r.Path); ok {
		return m
	}
	var b struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(r.Body, &b)
	return b.Model
}
