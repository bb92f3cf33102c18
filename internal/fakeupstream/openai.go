package fakeupstream

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/provider/mock"
)

// openAI is the OpenAI wire format (base URL URL+"/v1"). Normal answers are
// the mock provider's, so the fake and the built-in model cannot drift apart.
type openAI struct{}

func (openAI) matches(r *http.Request) bool {
	return r.URL.Path == "/v1" || strings.HasPrefix(r.URL.Path, "/v1/")
}

func (openAI) apiKey(r *http.Request) string {
	if _, ok := azureOp(r.URL.Path); ok {
		return r.Header.Get("Api-Key") // Azure OpenAI's key header
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return key
}

// envelope is OpenAI's ErrorResponse. param is always null: the fake does
// not point at fields; code is null unless a behaviour sets one.
type envelope struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func (openAI) writeError(w http.ResponseWriter, status int, typ, code, message string) {
	var e envelope
	e.Error.Message = message
	e.Error.Type = typ
	if typ == "" {
		e.Error.Type = "invalid_request_error"
		if status >= 500 {
			e.Error.Type = "server_error"
		}
	}
	if code != "" {
		e.Error.Code = &code
	}
	b, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeKeyEcho writes OpenAI's envelope with every field f sets; param and
// code are null when empty.
func (openAI) writeKeyEcho(w http.ResponseWriter, status int, f errorFields) {
	var e envelope
	e.Error.Message, e.Error.Type = f.message, f.typ
	if e.Error.Type == "" {
		e.Error.Type = "invalid_request_error"
	}
	if f.code != "" {
		e.Error.Code = &f.code
	}
	if f.param != "" {
		e.Error.Param = &f.param
	}
	b, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func (o openAI) writeAuthError(w http.ResponseWriter) {
	o.writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key",
		"Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.")
}

func (openAI) isStream(r *http.Request, body []byte) bool {
	if r.Method != http.MethodPost {
		return false
	}
	var req struct {
		Stream bool `json:"stream"`
	}
	// A body that does not parse is not a stream; the mock will say why.
	_ = json.Unmarshal(body, &req)
	return req.Stream
}

func (openAI) writeMalformed(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"id":"chatcmpl-fake","object":"chat.completion","choices":[{not json`))
}

func (openAI) malformedEvent() []byte { return []byte("data: {not json\n\n") }

// azureOp returns the operation of an Azure OpenAI deployment path,
// /openai/deployments/{deployment}/chat/completions (or /completions,
// /embeddings), as the mock's path ("/v1/chat/completions").
func azureOp(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/openai/deployments/")
	if !ok {
		return "", false
	}
	deployment, op, ok := strings.Cut(rest, "/")
	if !ok || deployment == "" {
		return "", false
	}
	switch op {
	case "chat/completions", "completions", "embeddings":
		return "/v1/" + op, true
	}
	return "", false
}

func (o openAI) answer(w http.ResponseWriter, r *http.Request, b Behavior, models []string, nextID func() uint64) {
	if len(b.RejectFields) > 0 {
		body, _ := io.ReadAll(r.Body)
		if o.rejectField(w, body, b) {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if b.Reasoning != "" || b.UsageAt != "" {
		b2 := b
		b2.Reasoning, b2.UsageAt = "", ""
		quirkyAnswer(w, b, func(w http.ResponseWriter) { o.answer(w, r, b2, models, nextID) })
		return
	}
	if op, ok := azureOp(r.URL.Path); ok {
		// Azure speaks OpenAI's format at a deployment URL; the mock
		// answers it as the same operation under /v1.
		r = r.Clone(r.Context())
		r.URL.Path, r.URL.RawPath = op, ""
	}
	if mediaAnswer(w, r, b) {
		return
	}
	mock.NewHandler(mock.Options{
		ChunkDelay:         b.ChunkDelay,
		Words:              b.Words,
		Reply:              b.Reply,
		UsageInFinishChunk: b.UsageInFinishChunk,
		OmitUsage:          b.OmitUsage,
		Models:             models,
		Now:                time.Now,
		NextID:             nextID,
	}).ServeHTTP(w, r)
}
