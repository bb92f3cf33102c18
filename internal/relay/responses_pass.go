package relay

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/api/responses"
	"github.com/switchyard-gw/switchyard/internal/jsonstr"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// responsesPath is the Responses API below an OpenAI base URL (…/v1).
const responsesPath = "/responses"

// attemptResponsesPassthrough serves a Responses request from an upstream
// that speaks the Responses API. The client's bytes go up with only
// "model" (the route's upstream model) and "store": false spliced: the
// gateway keeps its own copy of a stored answer under its own id, and an
// upstream copy under the gateway's account would be neither readable nor
// deletable by the client. Every other field (built-in tools, include,
// prompt_cache_key, fields this gateway has never heard of) reaches the
// upstream untouched. The answer comes back as sent, with the gateway's id,
// the requested model and usage.cost.
//
// A request that continues a stored response (previous_response_id) is not
// passed through: the gateway expands it from its store in the canonical
// form, so it is re-encoded (attemptTranslated) for this upstream.
func (rl *Relay) attemptResponsesPassthrough(w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, cd candidate, p *provider.Provider, at *attemptCtx) (int, error) {
	rc := responsesState(c)
	if rc.prev != nil {
		return rl.attemptTranslated(w, r, c, req, cd, p, at)
	}
	body, err := responsesUpstreamBody(c.body, cd.t.Model)
	if err != nil {
		return 0, err
	}
	resp, status, err := rl.send(r, c, p, at, p.Path(responsesPath, cd.t.Model), body, req.Stream, decodeOpenAIError)
	if resp == nil {
		return status, err
	}
	defer resp.Body.Close()
	if rc.storing() {
		rc.passConversation(c)
	}
	if req.Stream {
		return resp.StatusCode, rl.pumpStream(w, r, resp, p, c, req, at, &responsesPassSource{c: c, rc: rc, model: req.Model})
	}
	at.firstByte()
	raw, err := rl.readAnswer(r, resp, p, c, at)
	if raw == nil {
		return resp.StatusCode, err
	}
	out, u, ok := rewriteResponseObject(raw, c.gen.ID, req.Model, c.cost)
	if !ok {
		return resp.StatusCode, llm.UpstreamError("provider '"+p.Name+"' returned a malformed response (not a Response object)", nil)
	}
	root := gjson.ParseBytes(out)
	c.usage, c.produced = u, true
	c.gen.FinishReason = string(responseFinish(root))
	if !u.Present {
		appendOutputText(&c.text, root)
	}
	if rc.storing() && root.Get("status").Str != "failed" {
		rc.save(c, storedOutput(out), out)
	}
	rl.writeJSON(w, c, out)
	return resp.StatusCode, nil
}

// responsesUpstreamBody is the client's body with model and store spliced.
func responsesUpstreamBody(body []byte, model string) ([]byte, error) {
	out, err := sjson.SetBytes(body, "model", model)
	if err != nil {
		return nil, err
	}
	return sjson.SetRawBytes(out, "store", []byte("false"))
}

// passConversation records the request's conversation, to be stored with
// its answer. A request the canonical form cannot hold (a built-in tool,
// its calls in the input) is stored marked: its Response object can be
// read back, but a continuation of it cannot be expanded by the gateway.
func (rc *responsesCall) passConversation(c *call) {
	if _, err := c.canonical(); err != nil {
		rc.conv = conversation{Messages: []llm.Message{}, NativeOnly: llm.AsError(err).Message}
	}
}

// rewriteResponseObject sets a Response object's id and model and adds
// usage.cost; it returns the usage it read. ok is false for a body that is
// not a JSON object.
func rewriteResponseObject(obj []byte, id, model string, cost oa.CostFunc) ([]byte, llm.Usage, bool) {
	root := gjson.ParseBytes(obj)
	if !root.IsObject() {
		return nil, llm.Usage{}, false
	}
	out, err := sjson.SetRawBytes(obj, "id", jsonstr.Append(nil, id))
	if err != nil {
		return nil, llm.Usage{}, false
	}
	if model != "" && root.Get("model").Exists() {
		if out, err = sjson.SetRawBytes(out, "model", jsonstr.Append(nil, model)); err != nil {
			return nil, llm.Usage{}, false
		}
	}
	u := readResponsesUsage(root.Get("usage"))
	if u.Present && cost != nil {
		if out, err = sjson.SetRawBytes(out, "usage.cost", cost(u).AppendJSON(nil)); err != nil {
			return nil, llm.Usage{}, false
		}
	}
	return out, u, true
}

// readResponsesUsage reads a Response object's usage: input_tokens
// (cached included, as OpenAI counts them), output_tokens (reasoning
// included) and their details.
func readResponsesUsage(v gjson.Result) llm.Usage {
	if !v.IsObject() {
		return llm.Usage{}
	}
	u := llm.Usage{Present: true,
		PromptTokens:     v.Get("input_tokens").Int(),
		CompletionTokens: v.Get("output_tokens").Int(),
		CachedTokens:     v.Get("input_tokens_details.cached_tokens").Int(),
		ReasoningTokens:  v.Get("output_tokens_details.reasoning_tokens").Int(),
		TotalTokens:      v.Get("total_tokens").Int(),
	}
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	return u
}

// responseFinish is the canonical finish reason of a Response object, for
// the ledger.
func responseFinish(root gjson.Result) llm.FinishReason {
	switch root.Get("status").Str {
	case "incomplete":
		if root.Get("incomplete_details.reason").Str == "content_filter" {
			return llm.FinishContentFilter
		}
		return llm.FinishLength
	case "failed":
		return llm.FinishError
	}
	for _, it := range root.Get("output").Array() {
		if it.Get("type").Str == "function_call" {
			return llm.FinishToolCalls
		}
	}
	return llm.FinishStop
}

// appendOutputText adds the answer's text to t, for estimating usage an
// upstream did not report.
func appendOutputText(t *llm.TextSample, root gjson.Result) {
	for _, it := range root.Get("output").Array() {
		for _, part := range it.Get("content").Array() {
			if part.Get("type").Str == "output_text" {
				t.AppendString(part.Get("text").Str)
			}
		}
	}
}

// responsesPassSource forwards a Responses event stream to a Responses
// client. Events that carry the Response object (response.created,
// .in_progress, .completed…) get the gateway's id and the requested model;
// the final one (response.completed or .incomplete) gets usage.cost, gives
// the usage, and is stored (when the client stores) before it is written.
type responsesPassSource struct {
	c     *call
	rc    *responsesCall
	model string
	seq   int64  // the last sequence_number seen
	base  []byte // the Response object of the opening event, for cut and fail
	ended bool
	streamTally
}

func (s *responsesPassSource) event(out []byte, name string, data []byte) ([]byte, error) {
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return out, oa.ErrMalformedChunk
	}
	typ := root.Get("type").Str
	if name == "" {
		name = typ
	}
	if n := root.Get("sequence_number"); n.Type == gjson.Number {
		s.seq = n.Int()
	}
	switch typ {
	case "error":
		return out, &oa.UpstreamStreamError{Message: nonEmpty(root.Get("message").Str, "the upstream reported an error")}
	case "response.failed":
		return out, &oa.UpstreamStreamError{Message: nonEmpty(root.Get("response.error.message").Str, "the upstream reported a failed response")}
	case "response.output_text.delta":
		s.text.AppendString(root.Get("delta").Str)
		s.produced = true
	case "response.output_item.added", "response.reasoning_summary_text.delta", "response.function_call_arguments.delta":
		s.produced = true
	}
	if obj := root.Get("response"); obj.IsObject() {
		resp, u, ok := rewriteResponseObject([]byte(obj.Raw), s.c.gen.ID, s.model, nil)
		if !ok {
			return out, oa.ErrMalformedChunk
		}
		if typ == "response.completed" || typ == "response.incomplete" {
			s.usage = u
			ro := gjson.ParseBytes(resp)
			s.reason = responseFinish(ro)
			if u.Present {
				var err error
				if resp, err = sjson.SetRawBytes(resp, "usage.cost", s.c.cost(u).AppendJSON(nil)); err != nil {
					return out, oa.ErrMalformedChunk
				}
			}
			if s.rc.storing() {
				s.rc.save(s.c, storedOutput(resp), resp)
			}
			s.ended = true
		} else if s.base == nil {
			s.base = resp
		}
		var err error
		if data, err = sjson.SetRawBytes(data, "response", resp); err != nil {
			return out, oa.ErrMalformedChunk
		}
	}
	return appendResponsesEvent(out, name, data), nil
}

// appendResponsesEvent frames one event as OpenAI does: its type as the
// event name (none when it has none), then its data.
func appendResponsesEvent(out []byte, name string, data []byte) []byte {
	if name != "" {
		out = append(out, "event: "...)
		out = append(out, name...)
		out = append(out, '\n')
	}
	out = append(out, "data: "...)
	out = append(out, data...)
	return append(out, "\n\n"...)
}

func (s *responsesPassSource) finish(out []byte) ([]byte, bool) { return out, s.ended }
func (s *responsesPassSource) done() bool                       { return s.ended }

// fail ends the client's stream as the Responses API does: an error event,
// then response.failed carrying it.
func (s *responsesPassSource) fail(out []byte, e *llm.Error) []byte {
	s.ended = true
	code := nonEmpty(e.Code, nonEmpty(e.Type, "server_error"))
	ev := []byte(`{"type":"error","code":`)
	ev = jsonstr.Append(ev, code)
	ev = append(ev, `,"message":`...)
	ev = jsonstr.Append(ev, e.Message)
	ev = append(ev, `,"param":null,"sequence_number":`...)
	s.seq++
	ev = strconv.AppendInt(ev, s.seq, 10)
	out = appendResponsesEvent(out, "error", append(ev, '}'))
	obj := s.object()
	obj, _ = sjson.SetBytes(obj, "status", "failed")
	obj, _ = sjson.SetRawBytes(obj, "error", []byte(`{"code":`+string(jsonstr.Append(nil, code))+`,"message":`+string(jsonstr.Append(nil, e.Message))+`}`))
	return s.final(out, "response.failed", obj)
}

// cut ends the stream as an answer stopped at its output bound.
func (s *responsesPassSource) cut(out []byte) []byte {
	s.ended, s.reason = true, llm.FinishLength
	obj := s.object()
	obj, _ = sjson.SetBytes(obj, "status", "incomplete")
	obj, _ = sjson.SetRawBytes(obj, "incomplete_details", []byte(`{"reason":"max_output_tokens"}`))
	return s.final(out, "response.incomplete", obj)
}

// object is the Response object the stream opened with, or a bare one.
func (s *responsesPassSource) object() []byte {
	if s.base != nil {
		return append([]byte(nil), s.base...)
	}
	b := append([]byte(`{"id":`), jsonstr.Append(nil, s.c.gen.ID)...)
	b = append(b, `,"object":"response","model":`...)
	b = jsonstr.Append(b, s.model)
	return append(b, `,"output":[]}`...)
}

func (s *responsesPassSource) final(out []byte, typ string, obj []byte) []byte {
	s.seq++
	ev := append([]byte(`{"type":"`+typ+`","sequence_number":`), strconv.AppendInt(nil, s.seq, 10)...)
	ev = append(append(append(ev, `,"response":`...), obj...), '}')
	return appendResponsesEvent(out, typ, ev)
}

// builtinToolTypes are the tool and item types of OpenAI's built-in (and
// custom) tools: a request carrying one can be served only by an upstream
// that speaks the Responses API (openai-openapi.yml, Tool and Item).
var builtinItemPrefixes = []string{"web_search", "file_search", "computer", "code_interpreter", "image_generation", "mcp", "local_shell", "custom_tool", "shell", "apply_patch"}

// needsResponsesUpstream reports whether a Responses request uses a tool
// only a Responses upstream can run: a tool or tool_choice of a type other
// than function, or an input item that is such a tool's call or output.
func needsResponsesUpstream(c *call) bool {
	root := gjson.ParseBytes(c.body)
	for _, t := range root.Get("tools").Array() {
		if typ := t.Get("type"); typ.Type == gjson.String && typ.Str != "function" {
			return true
		}
	}
	if typ := root.Get("tool_choice.type"); typ.Type == gjson.String && typ.Str != "function" && typ.Str != "allowed_tools" {
		return true
	}
	for _, it := range root.Get("input").Array() {
		typ := it.Get("type").Str
		for _, p := range builtinItemPrefixes {
			if strings.HasPrefix(typ, p) {
				return true
			}
		}
	}
	return false
}

// storedOutput is the answer of a passed-through Response object in the
// canonical form, as a stored response keeps it for continuations.
func storedOutput(obj []byte) *llm.Message {
	r, err := responses.DecodeResponse(obj)
	if err != nil {
		return &llm.Message{Role: llm.RoleAssistant}
	}
	return &r.Message
}
