package fakeupstream

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"
)

// The OpenAI format's endpoints that are not text generation: images,
// moderations and (Cohere/Jina-shaped) rerank. Answers are deterministic
// functions of the request; the fault modes apply before them as to any
// other answer.

// mediaAnswer answers path if it is one of these endpoints.
func mediaAnswer(w http.ResponseWriter, r *http.Request, b Behavior) bool {
	var answer func(*http.Request, Behavior) (any, int)
	switch r.URL.Path {
	case "/v1/images/generations":
		answer = imagesAnswer
	case "/v1/moderations":
		answer = moderationsAnswer
	case "/v1/rerank":
		answer = rerankAnswer
	case "/v1/audio/speech":
		speechAnswer(w, r)
		return true
	default:
		return false
	}
	body, status := answer(r, b)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
	return true
}

func badRequest(msg string) (any, int) {
	var e envelope
	e.Error.Message, e.Error.Type = msg, "invalid_request_error"
	return e, http.StatusBadRequest
}

// FakeImageOutputTokens is the output tokens the fake reports per image
// from a gpt-image model.
const FakeImageOutputTokens = 272

// imagesAnswer is CreateImage: n images (a one-pixel PNG each, or a URL),
// with token usage for gpt-image models as OpenAI reports it.
func imagesAnswer(r *http.Request, b Behavior) (any, int) {
	var req struct {
		Model          string `json:"model"`
		Prompt         string `json:"prompt"`
		N              int    `json:"n"`
		ResponseFormat string `json:"response_format"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Prompt == "" {
		return badRequest("'prompt' is required")
	}
	n := max(req.N, 1)
	if n > 10 {
		return badRequest("'n' must be at most 10")
	}
	data := make([]map[string]string, n)
	for i := range data {
		if req.ResponseFormat == "url" {
			data[i] = map[string]string{"url": "https://images.example/fake.png"}
		} else {
			data[i] = map[string]string{"b64_json": onePixelPNG}
		}
	}
	out := map[string]any{"created": time.Now().Unix(), "data": data}
	if strings.HasPrefix(req.Model, "gpt-image") && !b.OmitUsage {
		in := int64(len(strings.Fields(req.Prompt)))
		o := int64(FakeImageOutputTokens * n)
		out["usage"] = map[string]any{"input_tokens": in, "output_tokens": o, "total_tokens": in + o,
			"input_tokens_details": map[string]int64{"text_tokens": in, "image_tokens": 0}}
	}
	return out, http.StatusOK
}

// onePixelPNG is a 1×1 transparent PNG, base64.
const onePixelPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="

// moderationsAnswer is CreateModeration: one result per input; an input
// containing "kill" is flagged as violence.
func moderationsAnswer(r *http.Request, _ Behavior) (any, int) {
	var req struct {
		Model string          `json:"model"`
		Input json.RawMessage `json:"input"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Input) == 0 {
		return badRequest("'input' is required")
	}
	var inputs []string
	var one string
	if json.Unmarshal(req.Input, &one) == nil {
		inputs = []string{one}
	} else if json.Unmarshal(req.Input, &inputs) != nil {
		return badRequest("'input' must be a string or an array of strings")
	}
	results := make([]map[string]any, len(inputs))
	for i, in := range inputs {
		violent := strings.Contains(strings.ToLower(in), "kill")
		score := 0.001
		if violent {
			score = 0.97
		}
		results[i] = map[string]any{
			"flagged":         violent,
			"categories":      map[string]bool{"violence": violent, "hate": false, "sexual": false, "self-harm": false, "harassment": false},
			"category_scores": map[string]float64{"violence": score, "hate": 0.001, "sexual": 0.001, "self-harm": 0.001, "harassment": 0.001},
		}
	}
	return map[string]any{"id": "modr-fake", "model": req.Model, "results": results}, http.StatusOK
}

// rerankAnswer is Jina's /v1/rerank: documents scored by the share of the
// query's words they contain, best first, top_n of them, with usage.
func rerankAnswer(r *http.Request, b Behavior) (any, int) {
	var req struct {
		Model     string            `json:"model"`
		Query     string            `json:"query"`
		Documents []json.RawMessage `json:"documents"`
		TopN      int               `json:"top_n"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Query == "" || len(req.Documents) == 0 {
		return badRequest("'query' and 'documents' are required")
	}
	words := strings.Fields(strings.ToLower(req.Query))
	type result struct {
		Index          int     `json:"index"`
		RelevanceScore float64 `json:"relevance_score"`
	}
	results := make([]result, len(req.Documents))
	tokens := len(words)
	for i, raw := range req.Documents {
		var text string
		if json.Unmarshal(raw, &text) != nil {
			var d struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(raw, &d)
			text = d.Text
		}
		text = strings.ToLower(text)
		tokens += len(strings.Fields(text))
		hits := 0
		for _, w := range words {
			if strings.Contains(text, w) {
				hits++
			}
		}
		results[i] = result{Index: i, RelevanceScore: float64(hits) / float64(max(len(words), 1))}
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].RelevanceScore > results[j].RelevanceScore })
	if req.TopN > 0 && req.TopN < len(results) {
		results = results[:req.TopN]
	}
	out := map[string]any{"model": req.Model, "results": results}
	if !b.OmitUsage {
		out["usage"] = map[string]int{"total_tokens": tokens}
	}
	return out, http.StatusOK
}

// speechAnswer is CreateSpeech: "audio" (audio/mpeg by its header) made of
// one frame per word of the input, "ID3 WORD\n\n", each flushed; the frames
// end as events do, so the fake's fault modes cut between them.
func speechAnswer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Input string `json:"input"`
		Voice string `json:"voice"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Input == "" || req.Voice == "" {
		body, status := badRequest("'input' and 'voice' are required")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	w.Header().Set("Content-Type", "audio/mpeg")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	for _, word := range strings.Fields(req.Input) {
		if _, err := w.Write([]byte("ID3 " + word + "\n\n")); err != nil {
			return
		}
		if f != nil {
			f.Flush()
		}
	}
}
