package fakeupstream

import (
	"encoding/json"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// geminiEmbedDimensions is the length of the fake's vectors when a request
// sets no outputDimensionality.
const geminiEmbedDimensions = 8

// embed answers :batchEmbedContents as Google does: {"embeddings":
// [{"values": […]}]}, one per request, in order, with no usage. It checks
// what Google checks: 1 to 100 requests, each naming the URL's model
// ("models/…"), each with content parts; outputDimensionality sets a
// vector's length. A vector is a unit vector derived from the text, so
// equal texts get equal vectors.
func (gemini) embed(w http.ResponseWriter, r *http.Request, model string) {
	var req struct {
		Requests []struct {
			Model   string `json:"model"`
			Content *struct {
				Parts []struct {
					Text *string `json:"text"`
				} `json:"parts"`
			} `json:"content"`
			TaskType             string `json:"taskType"`
			OutputDimensionality int    `json:"outputDimensionality"`
		} `json:"requests"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error(), nil)
		return
	}
	if len(req.Requests) == 0 || len(req.Requests) > 100 {
		writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch", nil)
		return
	}
	type embedding struct {
		Values []float64 `json:"values"`
	}
	var out struct {
		Embeddings []embedding `json:"embeddings"`
	}
	for i, rq := range req.Requests {
		at := "* BatchEmbedContentsRequest.requests[" + strconv.Itoa(i) + "]"
		if rq.Model != "models/"+model {
			writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", at+".model: the model must be "+"models/"+model, nil)
			return
		}
		if rq.Content == nil || len(rq.Content.Parts) == 0 {
			writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", at+".content: contents is not specified", nil)
			return
		}
		var text strings.Builder
		for _, p := range rq.Content.Parts {
			if p.Text != nil {
				text.WriteString(*p.Text)
			}
		}
		dims := rq.OutputDimensionality
		if dims <= 0 {
			dims = geminiEmbedDimensions
		}
		out.Embeddings = append(out.Embeddings, embedding{Values: unitVector(rq.TaskType+"\x00"+text.String(), dims)})
	}
	js, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	w.Write(append(js, '\n'))
}

// unitVector is a deterministic unit vector of n components for s.
func unitVector(s string, n int) []float64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	x := h.Sum64()
	v := make([]float64, n)
	var norm float64
	for i := range v {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v[i] = float64(x>>11)/(1<<53)*2 - 1
		norm += v[i] * v[i]
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] /= norm
	}
	return v
}
