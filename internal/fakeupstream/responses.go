package fakeupstream

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
)

// responses is OpenAI's Responses API: POST .../v1/responses (any prefix:
// /v1, Azure's /openai/v1, OpenRouter's /api/v1), key as a Bearer token
// (Azure's Api-Key header on /openai/ paths), errors in OpenAI's envelope.
// Its answers are made here, independently of the gateway's codec:
//
//   - text: Behavior.Reply, or "This is the fake Responses model
//     answering." padded with filler (or cut) to Behavior.Words words
//     (default 12); a word is a token and max_output_tokens cuts the text
//     (status "incomplete", incomplete_details.reason "max_output_tokens");
//   - with function tools and tool_choice not "none": one function_call
//     item (call_id "call_fake_0", the first function tool or the one
//     tool_choice names, arguments with every required property of its
//     parameters set to "fake"). With tool_choice "auto" (the default) a
//     request whose last input item is a function_call_output is answered
//     in text instead, as the mock does for chat: the model has the result;
//   - text.format json_schema: the text is a JSON object of the schema's
//     required properties (strings "fake", numbers 1…); json_object (or a
//     schema that requires nothing): {"answer": <text>};
//   - reasoning.effort (not "none"): a reasoning item first, with a
//     summary_text when reasoning.summary is set and encrypted_content
//     "enc_fake_<n>" when include asks for reasoning.encrypted_content;
//     it counts 8 reasoning tokens;
//   - usage (always, in the Response and in response.completed):
//     input_tokens = words of instructions and all input text + 4 per
//     input item; output_tokens = words of the answer (of the arguments
//     for a call) + reasoning tokens. OmitUsage and UsageInFinishChunk do
//     not apply;
//   - previous_response_id is refused with a 400, as OpenAI refuses an id
//     it does not hold: the fake stores nothing.
//
// Streams follow OpenAI's order: response.created, response.in_progress,
// then per item output_item.added, its parts and deltas (a text delta per
// word, arguments in three pieces) and output_item.done, then
// response.completed or response.incomplete with the whole Response.
type responses struct{ openAI }

func (responses) matches(r *http.Request) bool {
	return strings.HasSuffix(r.URL.Path, "/v1/responses") || r.URL.Path == "/openai/responses"
}

func (responses) apiKey(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/openai/") {
		if k := r.Header.Get("Api-Key"); k != "" {
			return k // Azure OpenAI's key header
		}
	}
	key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return key
}

func (responses) writeMalformed(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"id":"resp_fake","object":"response","status":"completed","output":[{not json`))
}

func (responses) malformedEvent() []byte {
	return []byte("event: response.output_text.delta\ndata: {not json\n\n")
}

// responsesRequest is the part of a Responses request the fake reads.
type responsesRequest struct {
	Model              string          `json:"model"`
	Instructions       string          `json:"instructions"`
	Input              json.RawMessage `json:"input"`
	MaxOutputTokens    *int            `json:"max_output_tokens"`
	Stream             bool            `json:"stream"`
	PreviousResponseID string          `json:"previous_response_id"`
	Include            []string        `json:"include"`
	Tools              []struct {
		Type       string `json:"type"`
		Name       string `json:"name"`
		Parameters struct {
			Required []string `json:"required"`
		} `json:"parameters"`
	} `json:"tools"`
	ToolChoice json.RawMessage `json:"tool_choice"`
	Text       *struct {
		Format *struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"text"`
	Reasoning *struct {
		Effort  string `json:"effort"`
		Summary string `json:"summary"`
	} `json:"reasoning"`
}

// responsesItem is an input item; only its text is kept, for counting.
type responsesItem struct {
	Type    string          `json:"type"`
	Content json.RawMessage `json:"content"`
	Output  json.RawMessage `json:"output"`
}

// texts returns the text of a content or output value: a string, or
// parts with "text".
func texts(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var parts []struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &parts)
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		out = append(out, p.Text)
	}
	return out
}

// items reads input: a string is one user message.
func (req *responsesRequest) items() ([]responsesItem, error) {
	var s string
	if json.Unmarshal(req.Input, &s) == nil {
		return []responsesItem{{Type: "message", Content: req.Input}}, nil
	}
	var items []responsesItem
	err := json.Unmarshal(req.Input, &items)
	return items, err
}

func responsesInputTokens(req *responsesRequest, items []responsesItem) int {
	n := len(strings.Fields(req.Instructions))
	for _, it := range items {
		n += 4
		for _, t := range append(texts(it.Content), texts(it.Output)...) {
			n += len(strings.Fields(t))
		}
	}
	return n
}

// responsesAnswer is what the fake will say, before it is encoded.
type responsesAnswer struct {
	reasoning   bool
	summary     string // "" : none asked for
	encrypted   string // "" : not included
	text        string
	tool, args  string // tool name; "" = text answer
	incomplete  bool
	output      int
	reasoningTk int
}

const responsesPrefix = "This is the fake Responses model answering."

// toolChoice reads tool_choice: "auto" (the default), "none", "required",
// or {"type":"function","name":...} as "function" and the name.
func (req *responsesRequest) toolChoice() (mode, name string) {
	if len(req.ToolChoice) == 0 || string(req.ToolChoice) == "null" {
		return "auto", ""
	}
	if json.Unmarshal(req.ToolChoice, &mode) == nil {
		return mode, ""
	}
	var named struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	_ = json.Unmarshal(req.ToolChoice, &named)
	return named.Type, named.Name
}

func (responses) plan(req *responsesRequest, items []responsesItem, b Behavior, id uint64) responsesAnswer {
	var a responsesAnswer
	if rs := req.Reasoning; rs != nil && rs.Effort != "" && rs.Effort != "none" {
		a.reasoning, a.reasoningTk = true, 8
		if rs.Summary != "" {
			a.summary = "The fake model thinks briefly."
		}
		for _, inc := range req.Include {
			if inc == "reasoning.encrypted_content" {
				a.encrypted = "enc_fake_" + strconv.FormatUint(id, 10)
			}
		}
	}
	var fns []int
	for i, t := range req.Tools {
		if t.Type == "function" {
			fns = append(fns, i)
		}
	}
	mode, name := req.toolChoice()
	answered := len(items) > 0 && items[len(items)-1].Type == "function_call_output"
	if len(fns) > 0 && mode != "none" && !(mode == "auto" && answered) {
		i := fns[0]
		for _, j := range fns {
			if mode == "function" && req.Tools[j].Name == name {
				i = j
			}
		}
		args := map[string]string{}
		for _, p := range req.Tools[i].Parameters.Required {
			args[p] = "fake"
		}
		js, _ := json.Marshal(args)
		a.tool, a.args = req.Tools[i].Name, string(js)
		a.output = max(1, len(strings.Fields(a.args))) + a.reasoningTk
		return a
	}
	text := replyText(b, responsesPrefix)
	if t := req.Text; t != nil && t.Format != nil && (t.Format.Type == "json_schema" || t.Format.Type == "json_object") {
		js, ok := geminiRequiredObject(t.Format.Schema, "fake")
		if !ok {
			js = string(jsonstr.Append([]byte(`{"answer":`), text)) + "}"
		}
		text = js
	}
	a.text = text
	if req.MaxOutputTokens != nil && len(strings.Fields(text)) > *req.MaxOutputTokens {
		a.text = cutWords(text, max(*req.MaxOutputTokens, 0))
		a.incomplete = true
	}
	a.output = len(strings.Fields(a.text)) + a.reasoningTk
	return a
}

func (d responses) answer(w http.ResponseWriter, r *http.Request, b Behavior, _ []string, nextID func() uint64) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		d.writeError(w, http.StatusMethodNotAllowed, "", "", "method "+r.Method+" not allowed; use POST")
		return
	}
	var req responsesRequest
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		d.writeError(w, http.StatusBadRequest, "", "", "invalid request body: "+err.Error())
		return
	}
	if req.Model == "" {
		d.writeError(w, http.StatusBadRequest, "", "missing_required_parameter", "Missing required parameter: 'model'.")
		return
	}
	items, err := req.items()
	if err != nil || len(req.Input) == 0 {
		d.writeError(w, http.StatusBadRequest, "", "missing_required_parameter", "Missing or invalid parameter: 'input'.")
		return
	}
	if req.PreviousResponseID != "" {
		d.writeError(w, http.StatusBadRequest, "", "previous_response_not_found", "Previous response with id '"+req.PreviousResponseID+"' not found.")
		return
	}
	n := nextID()
	ans := d.plan(&req, items, b, n)
	rs := &responsesState{id: "resp_fake_" + strconv.FormatUint(n, 10), model: req.Model, ans: ans, in: responsesInputTokens(&req, items)}
	if req.Stream {
		d.stream(w, r, b, rs)
		return
	}
	out, _ := json.Marshal(rs.response(true))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(out, '\n'))
}

// responsesState renders one answer's Response object and its items.
type responsesState struct {
	id, model string
	ans       responsesAnswer
	in        int
}

type obj = map[string]any

func (rs *responsesState) status() string {
	if rs.ans.incomplete {
		return "incomplete"
	}
	return "completed"
}

// output returns the answer's items, done.
func (rs *responsesState) output() []any {
	var out []any
	if rs.ans.reasoning {
		out = append(out, rs.reasoningItem(true))
	}
	if rs.ans.tool != "" {
		return append(out, rs.callItem(rs.ans.args, "completed"))
	}
	return append(out, rs.messageItem(rs.ans.text, rs.status()))
}

func (rs *responsesState) reasoningItem(done bool) obj {
	it := obj{"id": "rs_" + rs.id, "type": "reasoning", "summary": []any{}}
	if done && rs.ans.summary != "" {
		it["summary"] = []any{obj{"type": "summary_text", "text": rs.ans.summary}}
	}
	if done && rs.ans.encrypted != "" {
		it["encrypted_content"] = rs.ans.encrypted
	}
	return it
}

func (rs *responsesState) messageItem(text, status string) obj {
	content := []any{}
	if status != "in_progress" {
		content = append(content, textPart(text))
	}
	return obj{"id": "msg_" + rs.id, "type": "message", "status": status, "role": "assistant", "content": content}
}

func textPart(text string) obj {
	return obj{"type": "output_text", "text": text, "annotations": []any{}, "logprobs": []any{}}
}

func (rs *responsesState) callItem(args, status string) obj {
	return obj{"id": "fc_" + rs.id, "type": "function_call", "status": status, "arguments": args, "call_id": "call_fake_0", "name": rs.ans.tool}
}

// response is the Response object: in progress (no output, no usage) or
// final.
func (rs *responsesState) response(final bool) obj {
	r := obj{
		"id": rs.id, "object": "response", "created_at": 1700000000, "status": "in_progress",
		"error": nil, "incomplete_details": nil, "model": rs.model, "output": []any{},
		"parallel_tool_calls": true, "store": false, "usage": nil,
	}
	if !final {
		return r
	}
	r["status"], r["output"] = rs.status(), rs.output()
	if rs.ans.incomplete {
		r["incomplete_details"] = obj{"reason": "max_output_tokens"}
	}
	r["usage"] = obj{
		"input_tokens":          rs.in,
		"input_tokens_details":  obj{"cached_tokens": 0},
		"output_tokens":         rs.ans.output,
		"output_tokens_details": obj{"reasoning_tokens": rs.ans.reasoningTk},
		"total_tokens":          rs.in + rs.ans.output,
	}
	return r
}

func (responses) stream(w http.ResponseWriter, r *http.Request, b Behavior, rs *responsesState) {
	events := startEvents(w, r, b.ChunkDelay)
	seq := 0
	send := func(typ string, fields obj) bool {
		fields["type"], fields["sequence_number"] = typ, seq
		seq++
		return events.send(typ, fields)
	}
	if !send("response.created", obj{"response": rs.response(false)}) ||
		!send("response.in_progress", obj{"response": rs.response(false)}) {
		return
	}
	idx := 0
	ref := func(item string, more obj) obj {
		more["item_id"], more["output_index"] = item, idx
		return more
	}
	ans := rs.ans
	if ans.reasoning {
		id := "rs_" + rs.id
		if !send("response.output_item.added", obj{"output_index": idx, "item": rs.reasoningItem(false)}) {
			return
		}
		if ans.summary != "" {
			part := obj{"type": "summary_text", "text": ans.summary}
			if !send("response.reasoning_summary_part.added", ref(id, obj{"summary_index": 0, "part": obj{"type": "summary_text", "text": ""}})) ||
				!send("response.reasoning_summary_text.delta", ref(id, obj{"summary_index": 0, "delta": ans.summary})) ||
				!send("response.reasoning_summary_text.done", ref(id, obj{"summary_index": 0, "text": ans.summary})) ||
				!send("response.reasoning_summary_part.done", ref(id, obj{"summary_index": 0, "part": part})) {
				return
			}
		}
		if !send("response.output_item.done", obj{"output_index": idx, "item": rs.reasoningItem(true)}) {
			return
		}
		idx++
	}
	if ans.tool != "" {
		id := "fc_" + rs.id
		if !send("response.output_item.added", obj{"output_index": idx, "item": rs.callItem("", "in_progress")}) {
			return
		}
		for _, p := range splitJSON(ans.args) {
			if !send("response.function_call_arguments.delta", ref(id, obj{"delta": p})) {
				return
			}
		}
		if !send("response.function_call_arguments.done", ref(id, obj{"name": ans.tool, "arguments": ans.args})) ||
			!send("response.output_item.done", obj{"output_index": idx, "item": rs.callItem(ans.args, "completed")}) {
			return
		}
	} else {
		id := "msg_" + rs.id
		if !send("response.output_item.added", obj{"output_index": idx, "item": rs.messageItem("", "in_progress")}) ||
			!send("response.content_part.added", ref(id, obj{"content_index": 0, "part": textPart("")})) {
			return
		}
		for _, p := range textPieces(ans.text) {
			if !send("response.output_text.delta", ref(id, obj{"content_index": 0, "delta": p, "logprobs": []any{}})) {
				return
			}
		}
		if !send("response.output_text.done", ref(id, obj{"content_index": 0, "text": ans.text, "logprobs": []any{}})) ||
			!send("response.content_part.done", ref(id, obj{"content_index": 0, "part": textPart(ans.text)})) ||
			!send("response.output_item.done", obj{"output_index": idx, "item": rs.messageItem(ans.text, rs.status())}) {
			return
		}
	}
	send("response."+rs.status(), obj{"response": rs.response(true)})
}
