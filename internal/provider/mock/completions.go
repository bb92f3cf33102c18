package mock

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
)

// completionRequest is the part of CreateCompletionRequest the mock reads.
type completionRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens int `json:"max_tokens"`
}

// input is one prompt or embedding input: text, or tokens given as ints.
type input struct {
	text   string
	tokens []int
	isText bool
}

// tokenCount is the mock's token count of an input: words of text, or the
// number of tokens given.
func (in input) tokenCount() int {
	if in.isText {
		return countWords(in.text)
	}
	return len(in.tokens)
}

// decodeInputs reads the four shapes OpenAI accepts for a prompt or an
// embedding input: a string, an array of strings, an array of tokens, or an
// array of arrays of tokens. null and an absent value are no inputs.
func decodeInputs(raw json.RawMessage) ([]input, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []input{{text: s, isText: true}}, nil
	case '[':
	default:
		return nil, errShape
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, nil
	}
	switch items[0][0] {
	case '"':
		var ss []string
		if err := json.Unmarshal(raw, &ss); err != nil {
			return nil, errShape
		}
		ins := make([]input, len(ss))
		for i, s := range ss {
			ins[i] = input{text: s, isText: true}
		}
		return ins, nil
	case '[':
		var tss [][]int
		if err := json.Unmarshal(raw, &tss); err != nil {
			return nil, errShape
		}
		ins := make([]input, len(tss))
		for i, ts := range tss {
			ins[i] = input{tokens: ts}
		}
		return ins, nil
	default:
		var ts []int
		if err := json.Unmarshal(raw, &ts); err != nil {
			return nil, errShape
		}
		return []input{{tokens: ts}}, nil
	}
}

var errShape = errors.New("must be a string, an array of strings, an array of tokens or an array of token arrays")

func (h *handler) completions(w http.ResponseWriter, r *http.Request) {
	bp := getBuf()
	defer putBuf(bp)
	var req completionRequest
	if !decodeRequest(w, r, bp, &req) {
		return
	}
	prompts, err := decodeInputs(req.Prompt)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid 'prompt': "+err.Error(), "")
		return
	}
	u := usage{}
	user := ""
	for i, p := range prompts {
		u.prompt += p.tokenCount()
		if i == 0 && p.isText {
			user = p.text
		}
	}
	if !Sleep(r.Context(), h.o.Latency) {
		return
	}
	a := h.makeAnswer(user, req.MaxTokens)
	u.completion = a.tokens()
	id, created := h.nextID(), h.now().Unix()
	buf := (*bp)[:0]

	if req.Stream {
		includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		up := h.o.usagePlan(includeUsage)
		s := newSSEWriter(r.Context(), w, h.o.ChunkDelay)
		k := newChunks(buf, "cmpl-mock-", "text_completion", id, created, req.Model, up, u)
		defer func() { *bp = k.buf }()
		// The legacy stream has no role chunk: text pieces, then an empty
		// piece with the finish_reason.
		for i := range a.tokens() {
			k.open()
			k.buf = append(k.buf, `{"text":`...)
			k.buf = jsonstr.Append(k.buf, a.piece(i))
			k.buf = append(k.buf, `,"index":0`...)
			if !s.send(k.closeChoice("", false)) {
				return
			}
		}
		k.open()
		k.buf = append(k.buf, `{"text":"","index":0`...)
		if !s.send(k.closeChoice(a.finish, up.onFinish)) {
			return
		}
		k.finishStream(s)
		return
	}

	buf = append(buf, `{"id":"cmpl-mock-`...)
	buf = strconv.AppendUint(buf, id, 10)
	buf = append(buf, `","object":"text_completion","created":`...)
	buf = strconv.AppendInt(buf, created, 10)
	buf = append(buf, `,"model":`...)
	buf = jsonstr.Append(buf, req.Model)
	buf = append(buf, `,"choices":[{"text":`...)
	buf = jsonstr.Append(buf, a.text)
	buf = append(buf, `,"index":0,"logprobs":null,"finish_reason":"`...)
	buf = append(buf, a.finish...)
	buf = append(buf, `"}]`...)
	if !h.o.OmitUsage {
		buf = append(buf, `,"usage":`...)
		buf = appendUsage(buf, u)
	}
	buf = append(buf, '}', '\n')
	*bp = buf
	writeJSON(w, buf)
}

func (r *completionRequest) model() string { return r.Model }
