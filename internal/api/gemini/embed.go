package gemini

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Embeddings: :embedContent takes one request, :batchEmbedContents a list
// of them (https://ai.google.dev/api/embeddings). The gateway reads both
// into one EmbedRequest, which it sends upstream either as an OpenAI
// /embeddings body (OpenAIEmbedBody) or as a Gemini batchEmbedContents
// body (GeminiEmbedBody), and renders the vectors that come back in the
// client's shape (EncodeEmbedResponse).
//
// Decisions:
//   - Only text is embedded: a part that is not text (inlineData,
//     fileData…) is refused, since an OpenAI-format upstream takes text
//     alone. The text parts of one content are joined with "\n".
//   - taskType and title have no OpenAI form: they are checked and sent to
//     a Gemini upstream, and dropped for an OpenAI-format one.
//     outputDimensionality becomes OpenAI's "dimensions", so every request
//     of a batch must ask for the same (or none).
//   - A request's "model", when given, must name the URL's model (Google
//     refuses a batch that mixes models).

// MaxEmbedBatch is the most requests one batchEmbedContents call may
// carry: Google's own limit.
const MaxEmbedBatch = 100

// maxOutputDimensionality bounds outputDimensionality (the largest models
// give 3072; OpenAI's text-embedding-3-large 3072).
const maxOutputDimensionality = 1 << 16

// maxTaskTypeLen bounds a taskType: Google's names are under 30 bytes.
const maxTaskTypeLen = 64

// EmbedRequest is an embedContent or batchEmbedContents request.
type EmbedRequest struct {
	// Batch: the client called :batchEmbedContents, and gets
	// {"embeddings": [...]} back; else {"embedding": {...}}.
	Batch bool
	// Texts are the contents to embed, one per request, in order.
	Texts []string
	// Dimensions is outputDimensionality (0: the model's own).
	Dimensions int64
	requests   []embedContentRequest
}

type embedContentRequest struct {
	Model                string   `json:"model,omitempty"`
	Content              *content `json:"content"`
	TaskType             string   `json:"taskType,omitempty"`
	Title                string   `json:"title,omitempty"`
	OutputDimensionality *int64   `json:"outputDimensionality,omitempty"`
}

type batchEmbedContentsRequest struct {
	Requests []embedContentRequest `json:"requests"`
}

// DecodeEmbedRequest reads an :embedContent (batch false) or
// :batchEmbedContents body for model (the URL's, without "models/").
func DecodeEmbedRequest(model string, body []byte, batch bool) (*EmbedRequest, error) {
	er := &EmbedRequest{Batch: batch}
	if batch {
		var b batchEmbedContentsRequest
		if err := decodeBody(body, &b); err != nil {
			return nil, err
		}
		switch {
		case len(b.Requests) == 0:
			return nil, llm.BadRequest("requests", "'requests' must list at least one embedContent request")
		case len(b.Requests) > MaxEmbedBatch:
			return nil, llm.BadRequest("requests", "'requests' lists %d requests; at most %d may be sent in one batch", len(b.Requests), MaxEmbedBatch)
		}
		er.requests = b.Requests
	} else {
		var one embedContentRequest
		if err := decodeBody(body, &one); err != nil {
			return nil, err
		}
		er.requests = []embedContentRequest{one}
	}
	er.Texts = make([]string, len(er.requests))
	for i := range er.requests {
		rq := &er.requests[i]
		field := "requests[" + strconv.Itoa(i) + "]."
		if !batch {
			field = ""
		}
		if rq.Model != "" && strings.TrimPrefix(rq.Model, "models/") != model {
			return nil, llm.BadRequest(field+"model", "%smodel names another model than the URL's '%s'; every request must be for the URL's model", field, model)
		}
		text, err := embedText(rq.Content, field)
		if err != nil {
			return nil, err
		}
		er.Texts[i] = text
		if len(rq.TaskType) > maxTaskTypeLen {
			return nil, llm.BadRequest(field+"taskType", "%staskType is longer than %d characters", field, maxTaskTypeLen)
		}
		var dims int64
		if d := rq.OutputDimensionality; d != nil {
			if *d < 1 || *d > maxOutputDimensionality {
				return nil, llm.BadRequest(field+"outputDimensionality", "%soutputDimensionality must be from 1 to %d", field, maxOutputDimensionality)
			}
			dims = *d
		}
		if i > 0 && dims != er.Dimensions {
			return nil, llm.BadRequest(field+"outputDimensionality", "every request of a batch must ask for the same outputDimensionality through this gateway")
		}
		er.Dimensions = dims
	}
	return er, nil
}

// embedText joins a content's text parts.
func embedText(c *content, field string) (string, error) {
	if c == nil || len(c.Parts) == 0 {
		return "", llm.BadRequest(field+"content", "%scontent is required: {\"parts\": [{\"text\": \"…\"}]}", field)
	}
	var b strings.Builder
	for i, p := range c.Parts {
		if p.Text == nil {
			return "", llm.BadRequest(field+"content.parts", "%scontent.parts[%d] is not text; this gateway embeds text only", field, i)
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(*p.Text)
	}
	if strings.TrimSpace(b.String()) == "" {
		return "", llm.BadRequest(field+"content.parts", "%scontent has no text to embed", field)
	}
	return b.String(), nil
}

// OpenAIEmbedBody is the request as an OpenAI /embeddings body for model:
// every text in one "input" array, floats asked for.
func (er *EmbedRequest) OpenAIEmbedBody(model string) []byte {
	b, _ := json.Marshal(struct {
		Model          string   `json:"model"`
		Input          []string `json:"input"`
		Dimensions     int64    `json:"dimensions,omitempty"`
		EncodingFormat string   `json:"encoding_format"`
	}{model, er.Texts, er.Dimensions, "float"})
	return b
}

// GeminiEmbedBody is the request as a batchEmbedContents body for model
// (whichever method the client called), with each request's model set to
// it.
func (er *EmbedRequest) GeminiEmbedBody(model string) []byte {
	reqs := make([]embedContentRequest, len(er.requests))
	for i, rq := range er.requests {
		rq.Model = "models/" + model
		reqs[i] = rq
	}
	b, _ := json.Marshal(batchEmbedContentsRequest{Requests: reqs})
	return b
}

// EmbedPath is the batchEmbedContents path for model (escaped as in Path).
func EmbedPath(model string) string {
	return "/v1beta/models/" + url.PathEscape(model) + ":batchEmbedContents"
}

// EncodeEmbedResponse renders vectors, each a raw JSON array of numbers,
// as the client's method answers: {"embedding": {"values": […]}} for
// :embedContent, {"embeddings": [{"values": […]}, …]} for
// :batchEmbedContents.
func (er *EmbedRequest) EncodeEmbedResponse(vectors [][]byte) []byte {
	n := 32
	for _, v := range vectors {
		n += len(v) + 16
	}
	b := make([]byte, 0, n)
	if !er.Batch {
		b = append(b, `{"embedding":{"values":`...)
		b = append(b, vectors[0]...)
		return append(b, "}}"...)
	}
	b = append(b, `{"embeddings":[`...)
	for i, v := range vectors {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"values":`...)
		b = append(b, v...)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// OpenAIEmbeddings reads the vectors of an OpenAI /embeddings answer, in
// the order of the request's texts (data[].index), each a raw JSON array
// of numbers. An answer with another count, a repeated or missing index
// or a vector that is not an array of numbers is an error.
func (er *EmbedRequest) OpenAIEmbeddings(raw []byte) ([][]byte, error) {
	data := gjson.GetBytes(raw, "data")
	if !data.IsArray() {
		return nil, errMalformed("the answer has no 'data' array")
	}
	out := make([][]byte, len(er.Texts))
	var bad error
	seen := 0
	data.ForEach(func(_, item gjson.Result) bool {
		idx := item.Get("index")
		i := int(idx.Int())
		if idx.Type != gjson.Number || i < 0 || i >= len(out) || out[i] != nil {
			bad = errMalformed("the answer's data[].index values do not match the " + strconv.Itoa(len(out)) + " inputs")
			return false
		}
		v, err := vector(item.Get("embedding"))
		if err != nil {
			bad = err
			return false
		}
		out[i] = v
		seen++
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if seen != len(out) {
		return nil, errMalformed("the answer has " + strconv.Itoa(seen) + " embeddings for " + strconv.Itoa(len(out)) + " inputs")
	}
	return out, nil
}

// GeminiEmbeddings reads the vectors of a batchEmbedContents answer.
func (er *EmbedRequest) GeminiEmbeddings(raw []byte) ([][]byte, error) {
	embs := gjson.GetBytes(raw, "embeddings")
	if !embs.IsArray() {
		return nil, errMalformed("the answer has no 'embeddings' array")
	}
	out := make([][]byte, 0, len(er.Texts))
	var bad error
	embs.ForEach(func(_, item gjson.Result) bool {
		if len(out) == len(er.Texts) {
			bad = errMalformed("the answer has more embeddings than inputs")
			return false
		}
		v, err := vector(item.Get("values"))
		if err != nil {
			bad = err
			return false
		}
		out = append(out, v)
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if len(out) != len(er.Texts) {
		return nil, errMalformed("the answer has " + strconv.Itoa(len(out)) + " embeddings for " + strconv.Itoa(len(er.Texts)) + " inputs")
	}
	return out, nil
}

// vector checks that v is a non-empty array of numbers and returns it raw.
func vector(v gjson.Result) ([]byte, error) {
	if !v.IsArray() {
		return nil, errMalformed("an embedding is not an array of numbers")
	}
	ok, n := true, 0
	v.ForEach(func(_, x gjson.Result) bool {
		ok = x.Type == gjson.Number
		n++
		return ok
	})
	if !ok || n == 0 {
		return nil, errMalformed("an embedding is not an array of numbers")
	}
	return []byte(v.Raw), nil
}

type malformedError string

func (e malformedError) Error() string { return string(e) }

func errMalformed(msg string) error { return malformedError(msg) }
