package fakeupstream

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
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
	case "/v1/images/edits":
		answer = imageEditsAnswer
	case "/v1/audio/transcriptions", "/v1/audio/translations":
		transcriptionAnswer(w, r, b)
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

// maxForm bounds what the fake keeps of a form in memory (the rest goes to
// temporary files, as net/http does).
const maxForm = 1 << 20

// FileDigest is how the fake names the file it received: its SHA-256 and
// size, so that a test can check the file arrived intact.
func FileDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]) + " bytes:" + strconv.Itoa(len(b))
}

// formFile reads the first file of the form field name (or name+"[]").
func formFile(r *http.Request, names ...string) ([]byte, bool) {
	for _, n := range names {
		if fs := r.MultipartForm.File[n]; len(fs) > 0 {
			f, err := fs[0].Open()
			if err != nil {
				return nil, false
			}
			defer f.Close()
			b, err := io.ReadAll(f)
			return b, err == nil
		}
	}
	return nil, false
}

// imageEditsAnswer is CreateImageEdit: as CreateImage, for a form with an
// image and a prompt; the images' count is echoed in "revised_prompt".
func imageEditsAnswer(r *http.Request, b Behavior) (any, int) {
	if err := r.ParseMultipartForm(maxForm); err != nil {
		return badRequest("the body is not a multipart form: " + err.Error())
	}
	img, ok := formFile(r, "image", "image[]")
	if !ok || r.FormValue("prompt") == "" || r.FormValue("model") == "" {
		return badRequest("'image', 'prompt' and 'model' are required")
	}
	n := 1
	if v := r.FormValue("n"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	if n < 1 || n > 10 {
		return badRequest("'n' must be from 1 to 10")
	}
	data := make([]map[string]string, n)
	for i := range data {
		data[i] = map[string]string{"b64_json": onePixelPNG, "revised_prompt": FileDigest(img)}
	}
	out := map[string]any{"created": time.Now().Unix(), "data": data}
	if model := r.FormValue("model"); strings.HasPrefix(model, "gpt-image") && !b.OmitUsage {
		in := int64(len(strings.Fields(r.FormValue("prompt")))) + FakeImageInputTokens*int64(len(r.MultipartForm.File["image"])+len(r.MultipartForm.File["image[]"]))
		o := int64(FakeImageOutputTokens * n)
		out["usage"] = map[string]any{"input_tokens": in, "output_tokens": o, "total_tokens": in + o}
	}
	return out, http.StatusOK
}

// FakeImageInputTokens is the input tokens the fake reports per image
// given to a gpt-image edit.
const FakeImageInputTokens = 323

// FakeAudioBytesPerSecond is the bitrate the fake takes audio to have:
// a file of N bytes lasts N/2000 seconds (16 kbit/s).
const FakeAudioBytesPerSecond = 2000

// FakeTranscribeTokensPerSecond is the audio tokens per second the fake
// reports for a gpt-4o transcription model; its output tokens are the
// words of the text.
const FakeTranscribeTokensPerSecond = 10

// transcriptionAnswer is CreateTranscription and CreateTranslation: the
// "text" is the received file's FileDigest, the duration its size at
// FakeAudioBytesPerSecond; in each response_format as OpenAI answers it.
// whisper models report usage {"type":"duration"} in json, gpt-4o ones
// token usage; OmitUsage leaves it out.
func transcriptionAnswer(w http.ResponseWriter, r *http.Request, b Behavior) {
	fail := func(msg string) {
		body, status := badRequest(msg)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
	if err := r.ParseMultipartForm(maxForm); err != nil {
		fail("the body is not a multipart form: " + err.Error())
		return
	}
	audio, ok := formFile(r, "file")
	model := r.FormValue("model")
	if !ok || model == "" {
		fail("'file' and 'model' are required")
		return
	}
	text := FileDigest(audio)
	secs := float64(len(audio)) / FakeAudioBytesPerSecond
	stamp := func(sep string) string {
		d := time.Duration(secs * float64(time.Second))
		return fmt.Sprintf("%02d:%02d:%02d%s%03d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60, sep, d.Milliseconds()%1000)
	}
	tokens := func() map[string]any {
		in := int64(secs * FakeTranscribeTokensPerSecond)
		o := int64(len(strings.Fields(text)))
		return map[string]any{"type": "tokens", "input_tokens": in, "output_tokens": o, "total_tokens": in + o,
			"input_token_details": map[string]int64{"audio_tokens": in, "text_tokens": 0}}
	}
	if r.FormValue("stream") == "true" && strings.HasPrefix(model, "gpt-4o") {
		// transcript.text.delta per word, then transcript.text.done with
		// the usage (whisper models ignore stream, as OpenAI's do).
		w.Header().Set("Content-Type", "text/event-stream")
		f, _ := w.(http.Flusher)
		send := func(v any) {
			b, _ := json.Marshal(v)
			_, _ = w.Write([]byte("data: " + string(b) + "\n\n"))
			if f != nil {
				f.Flush()
			}
		}
		for _, word := range strings.Fields(text) {
			send(map[string]any{"type": "transcript.text.delta", "delta": word + " "})
		}
		done := map[string]any{"type": "transcript.text.done", "text": text}
		if !b.OmitUsage {
			done["usage"] = tokens()
		}
		send(done)
		return
	}
	switch f := r.FormValue("response_format"); f {
	case "text", "srt", "vtt":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		switch f {
		case "srt":
			text = "1\n00:00:00,000 --> " + stamp(",") + "\n" + text + "\n\n"
		case "vtt":
			text = "WEBVTT\n\n00:00:00.000 --> " + stamp(".") + "\n" + text + "\n\n"
		default:
			text += "\n"
		}
		_, _ = io.WriteString(w, text)
		return
	case "verbose_json":
		task := "transcribe"
		if strings.HasSuffix(r.URL.Path, "/translations") {
			task = "translate"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"task": task, "language": "english", "duration": secs, "text": text,
			"segments": []map[string]any{{"id": 0, "seek": 0, "start": 0.0, "end": secs, "text": text, "tokens": []int{1},
				"temperature": 0.0, "avg_logprob": -0.1, "compression_ratio": 1.0, "no_speech_prob": 0.01}}})
		return
	case "", "json":
	default:
		fail("'response_format' must be json, text, srt, verbose_json or vtt")
		return
	}
	out := map[string]any{"text": text}
	if !b.OmitUsage {
		if strings.HasPrefix(model, "gpt-4o") {
			out["usage"] = tokens()
		} else {
			out["usage"] = map[string]any{"type": "duration", "seconds": secs}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
