package fakeupstream

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/switchyard-gw/switchyard/internal/framing"
	"github.com/switchyard-gw/switchyard/internal/provider/mock"
)

// bedrock is Amazon Bedrock Runtime's Converse API at paths
// /model/{modelId}/converse and /converse-stream. The key it checks is the
// AWS secret access key: a SigV4-signed request is re-signed here with the
// server's APIKey as the secret (the SDK's signer, over the same method,
// path, signed headers and body, at the request's X-Amz-Date) and must
// come out with the same signature; a Bedrock API key is a bearer token
// equal to APIKey. Streams are AWS event-stream messages, one per Write,
// which is how the fault writer counts them.
type bedrock struct{ secret string }

// BedrockSigningWindow is how far X-Amz-Date may be from the fake's clock,
// as AWS allows.
const BedrockSigningWindow = 15 * time.Minute

func bedrockCall(path string) (model string, stream, ok bool) {
	rest, ok := strings.CutPrefix(path, "/model/")
	if !ok {
		return "", false, false
	}
	if m, found := strings.CutSuffix(rest, "/converse-stream"); found {
		return m, true, m != ""
	}
	if m, found := strings.CutSuffix(rest, "/converse"); found {
		return m, false, m != ""
	}
	return "", false, false
}

func (bedrock) matches(r *http.Request) bool {
	_, _, ok := bedrockCall(r.URL.Path)
	return ok
}

func (b bedrock) apiKey(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(auth, "Bearer "); ok {
		return tok
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if verifySigV4(r, body, b.secret) {
		return b.secret
	}
	return ""
}

// verifySigV4 re-signs r with secret and compares the signatures.
func verifySigV4(r *http.Request, body []byte, secret string) bool {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok || secret == "" {
		return false
	}
	var cred, signed string
	for _, f := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		}
	}
	scope := strings.Split(cred, "/") // AKID/date/region/service/aws4_request
	if len(scope) != 5 || scope[3] != "bedrock" || scope[4] != "aws4_request" {
		return false
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != scope[1] {
		return false
	}
	if d := time.Since(at); d > BedrockSigningWindow || d < -BedrockSigningWindow {
		return false
	}
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	req, err := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return false
	}
	for _, h := range strings.Split(signed, ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	if !strings.Contains(";"+signed+";", ";content-length;") {
		req.ContentLength = 0
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), scope[3], scope[2], at); err != nil {
		return false
	}
	return hmac.Equal([]byte(req.Header.Get("Authorization")), []byte(r.Header.Get("Authorization")))
}

// bedrockErrorTypes is the exception Bedrock names for a status.
var bedrockErrorTypes = map[int]string{400: "ValidationException", 403: "AccessDeniedException", 404: "ResourceNotFoundException",
	408: "ModelTimeoutException", 424: "ModelErrorException", 429: "ThrottlingException", 500: "InternalServerException", 503: "ServiceUnavailableException"}

func writeBedrockError(w http.ResponseWriter, status int, typ string, body map[string]string) {
	if typ == "" {
		typ = bedrockErrorTypes[status]
		if typ == "" {
			typ = "InternalServerException"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	w.Header().Set("X-Amzn-Requestid", "fake-request-id")
	w.WriteHeader(status)
	js, _ := json.Marshal(body)
	w.Write(js)
}

func (bedrock) writeError(w http.ResponseWriter, status int, typ, _, message string) {
	writeBedrockError(w, status, typ, map[string]string{"message": message})
}

func (bedrock) writeKeyEcho(w http.ResponseWriter, status int, f errorFields) {
	body := map[string]string{"message": f.message}
	if f.typ != "" {
		body["__type"] = f.typ
	}
	if f.code != "" {
		body["code"] = f.code
	}
	writeBedrockError(w, status, "", body)
}

func (bedrock) writeAuthError(w http.ResponseWriter) {
	writeBedrockError(w, http.StatusForbidden, "InvalidSignatureException", map[string]string{"message": "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."})
}

func (bedrock) isStream(r *http.Request, _ []byte) bool {
	_, stream, _ := bedrockCall(r.URL.Path)
	return stream
}

func (bedrock) writeMalformed(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"output": {"message": {not json`))
}

func (bedrock) malformedEvent() []byte {
	return bedrockEvent("contentBlockDelta", []byte(`{"contentBlockIndex":0,"delta":{not json`))
}

func (bedrock) perWrite() bool { return true }

func bedrockEvent(name string, payload []byte) []byte {
	return framing.AppendEventStreamMessage(nil, [][2]string{{":event-type", name}, {":content-type", "application/json"}, {":message-type", "event"}}, payload)
}

// The parts of a Converse request the fake reads.
type (
	bedrockRequest struct {
		Messages []struct {
			Role    string            `json:"role"`
			Content []json.RawMessage `json:"content"`
		} `json:"messages"`
		System          []json.RawMessage `json:"system"`
		InferenceConfig *struct {
			MaxTokens int `json:"maxTokens"`
		} `json:"inferenceConfig"`
		ToolConfig *struct {
			Tools []struct {
				ToolSpec struct {
					Name        string `json:"name"`
					InputSchema struct {
						JSON struct {
							Required []string `json:"required"`
						} `json:"json"`
					} `json:"inputSchema"`
				} `json:"toolSpec"`
			} `json:"tools"`
		} `json:"toolConfig"`
	}
	bedrockUsage struct {
		InputTokens           int `json:"inputTokens"`
		OutputTokens          int `json:"outputTokens"`
		TotalTokens           int `json:"totalTokens"`
		CacheReadInputTokens  int `json:"cacheReadInputTokens,omitempty"`
		CacheWriteInputTokens int `json:"cacheWriteInputTokens,omitempty"`
	}
)

// BedrockCache is the usage the fake reports for a request that marks a
// cachePoint: this many tokens read from the cache and written to it.
const (
	BedrockCacheRead  = 7
	BedrockCacheWrite = 3
)

// checkRequest refuses, as Converse does, a body that is not JSON, has no
// messages, does not start with a user turn or alternate roles, or holds
// a content block that is not exactly one member (blank text included).
func (bedrock) checkRequest(w http.ResponseWriter, r *http.Request) bool {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	bad := func(msg string) bool {
		writeBedrockError(w, http.StatusBadRequest, "ValidationException", map[string]string{"message": msg})
		return false
	}
	if r.Method != http.MethodPost {
		return bad("method " + r.Method + " not allowed")
	}
	var req bedrockRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return bad("Malformed input request: " + err.Error())
	}
	if len(req.Messages) == 0 {
		return bad("The model returned the following errors: messages: at least one message is required")
	}
	for i, m := range req.Messages {
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if m.Role != want {
			return bad("A conversation must start with a user message and alternate between user and assistant roles; messages[" + strconv.Itoa(i) + "] is " + m.Role)
		}
		if len(m.Content) == 0 {
			return bad("messages[" + strconv.Itoa(i) + "].content is empty")
		}
		for _, c := range m.Content {
			var blk map[string]json.RawMessage
			if json.Unmarshal(c, &blk) != nil || len(blk) != 1 {
				return bad("each content block must have exactly one member")
			}
			if t, ok := blk["text"]; ok && strings.TrimSpace(strings.Trim(string(t), `"`)) == "" {
				return bad("The text field in the ContentBlock object is blank")
			}
		}
	}
	return true
}

func (bedrock) answer(w http.ResponseWriter, r *http.Request, b Behavior, _ []string, nextID func() uint64) {
	body, _ := io.ReadAll(r.Body)
	var req bedrockRequest
	_ = json.Unmarshal(body, &req) // checked by checkRequest
	_, stream, _ := bedrockCall(r.URL.Path)

	in := len(strings.Fields(string(body))) / 2
	u := &bedrockUsage{InputTokens: max(in, 1)}
	if bytes.Contains(body, []byte(`"cachePoint"`)) {
		u.CacheReadInputTokens, u.CacheWriteInputTokens = BedrockCacheRead, BedrockCacheWrite
	}
	// A tool is called when the request offers tools and the last turn is
	// not a tool result.
	var call, callInput string
	last := req.Messages[len(req.Messages)-1]
	answered := len(last.Content) > 0 && bytes.Contains(last.Content[0], []byte(`"toolResult"`))
	if req.ToolConfig != nil && len(req.ToolConfig.Tools) > 0 && !answered {
		spec := req.ToolConfig.Tools[0].ToolSpec
		call = spec.Name
		args := map[string]string{}
		for _, k := range spec.InputSchema.JSON.Required {
			args[k] = "fake-" + k
		}
		js, _ := json.Marshal(args)
		callInput = string(js)
	}
	text := b.Reply
	if text == "" {
		n := b.Words
		if n <= 0 {
			n = 8
		}
		ws := make([]string, n)
		for i := range ws {
			ws[i] = "word" + strconv.Itoa(i+1)
		}
		text = "Bedrock says " + strings.Join(ws, " ")
	}
	words := strings.SplitAfter(text, " ")
	stop := "end_turn"
	if req.InferenceConfig != nil && req.InferenceConfig.MaxTokens > 0 && len(words) > req.InferenceConfig.MaxTokens {
		words, stop = words[:req.InferenceConfig.MaxTokens], "max_tokens"
	}
	if call != "" {
		stop = "tool_use"
	}
	u.OutputTokens = len(words) + len(strings.Fields(b.Reasoning))
	u.TotalTokens = u.InputTokens + u.OutputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens
	if b.OmitUsage {
		u = nil
	}
	if stream {
		bedrockStream(w, r, b, words, call, callInput, stop, u)
		return
	}
	var content []any
	if b.Reasoning != "" {
		content = append(content, map[string]any{"reasoningContent": map[string]any{"reasoningText": map[string]string{"text": b.Reasoning, "signature": "fake-bedrock-signature"}}})
	}
	content = append(content, map[string]string{"text": strings.Join(words, "")})
	if call != "" {
		content = append(content, map[string]any{"toolUse": map[string]any{"toolUseId": "tooluse_fake" + strconv.FormatUint(nextID(), 10), "name": call, "input": json.RawMessage(callInput)}})
	}
	out := map[string]any{"output": map[string]any{"message": map[string]any{"role": "assistant", "content": content}}, "stopReason": stop, "metrics": map[string]int{"latencyMs": 1}}
	if u != nil {
		out["usage"] = u
	}
	js, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", "fake-request-id")
	w.WriteHeader(http.StatusOK)
	w.Write(js)
}

// bedrockStream writes a ConverseStream answer: messageStart, the
// reasoning and text deltas (block 0, and 1 for the text after reasoning),
// a tool call (contentBlockStart, its input in two deltas), messageStop
// and metadata with the usage, one event-stream message each.
func bedrockStream(w http.ResponseWriter, r *http.Request, b Behavior, words []string, call, callInput, stop string, u *bedrockUsage) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("X-Amzn-Requestid", "fake-request-id")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	sent := 0
	send := func(name string, v any) bool {
		if sent > 0 && !mock.Sleep(r.Context(), b.ChunkDelay) {
			return false
		}
		sent++
		js, _ := json.Marshal(v)
		if _, err := w.Write(bedrockEvent(name, js)); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	type m = map[string]any
	if !send("messageStart", m{"role": "assistant"}) {
		return
	}
	block := 0
	if b.Reasoning != "" {
		for _, piece := range strings.SplitAfter(b.Reasoning, " ") {
			if !send("contentBlockDelta", m{"contentBlockIndex": block, "delta": m{"reasoningContent": m{"text": piece}}}) {
				return
			}
		}
		if !send("contentBlockDelta", m{"contentBlockIndex": block, "delta": m{"reasoningContent": m{"signature": "fake-bedrock-signature"}}}) ||
			!send("contentBlockStop", m{"contentBlockIndex": block}) {
			return
		}
		block++
	}
	for _, wd := range words {
		if !send("contentBlockDelta", m{"contentBlockIndex": block, "delta": m{"text": wd}, "p": "abcdefgh"}) {
			return
		}
	}
	if !send("contentBlockStop", m{"contentBlockIndex": block}) {
		return
	}
	if call != "" {
		block++
		half := len(callInput) / 2
		if !send("contentBlockStart", m{"contentBlockIndex": block, "start": m{"toolUse": m{"toolUseId": "tooluse_fakestream", "name": call}}}) ||
			!send("contentBlockDelta", m{"contentBlockIndex": block, "delta": m{"toolUse": m{"input": callInput[:half]}}}) ||
			!send("contentBlockDelta", m{"contentBlockIndex": block, "delta": m{"toolUse": m{"input": callInput[half:]}}}) ||
			!send("contentBlockStop", m{"contentBlockIndex": block}) {
			return
		}
	}
	if !send("messageStop", m{"stopReason": stop}) {
		return
	}
	meta := m{"metrics": m{"latencyMs": 1}}
	if u != nil {
		meta["usage"] = u
	}
	send("metadata", meta)
}
