package fakeupstream

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Quirks of OpenAI-compatible services (config.Presets), for the OpenAI
// dialect: Behavior.RejectFields, Reasoning and UsageAt.

// rejectField answers 400, as Groq does for logprobs, when the request
// body has one of b.RejectFields at its top level; it reports whether it did.
func (o openAI) rejectField(w http.ResponseWriter, body []byte, b Behavior) bool {
	for _, f := range b.RejectFields {
		if gjson.GetBytes(body, f).Exists() {
			o.writeError(w, http.StatusBadRequest, "invalid_request_error", "", "'"+f+"' : property '"+f+"' is unsupported")
			return true
		}
	}
	return false
}

// quirkyAnswer writes the mock's answer (captured whole) reshaped by
// b.Reasoning and b.UsageAt. The stream's chunk timing is not kept.
func quirkyAnswer(w http.ResponseWriter, b Behavior, write func(http.ResponseWriter)) {
	rec := httptest.NewRecorder()
	write(rec)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	body := rec.Body.Bytes()
	if rec.Code != http.StatusOK {
		w.WriteHeader(rec.Code)
		w.Write(body)
		return
	}
	if !bytes.HasPrefix([]byte(rec.Header().Get("Content-Type")), []byte("text/event-stream")) {
		if b.Reasoning != "" {
			body, _ = sjson.SetBytes(body, "choices.0.message.reasoning_content", b.Reasoning)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body)
		return
	}
	w.WriteHeader(http.StatusOK)
	first := true
	for _, ev := range bytes.SplitAfter(body, []byte("\n\n")) {
		data, ok := bytes.CutPrefix(bytes.TrimRight(ev, "\n"), []byte("data: "))
		if !ok || string(data) == "[DONE]" {
			w.Write(ev)
			continue
		}
		if first && b.Reasoning != "" {
			// The thinking comes first, one word per chunk, shaped like
			// the first chunk of the answer.
			for _, word := range bytes.SplitAfter([]byte(b.Reasoning), []byte(" ")) {
				c, _ := sjson.DeleteBytes(data, "choices.0.delta.content")
				c, _ = sjson.SetBytes(c, "choices.0.delta.reasoning_content", string(word))
				writeData(w, c)
			}
		}
		first = false
		if u := gjson.GetBytes(data, "usage"); b.UsageAt != "" && u.IsObject() {
			data, _ = sjson.DeleteBytes(data, "usage")
			data, _ = sjson.SetRawBytes(data, b.UsageAt, []byte(u.Raw))
		}
		writeData(w, data)
	}
}

func writeData(w http.ResponseWriter, data []byte) {
	var compact bytes.Buffer
	if json.Compact(&compact, data) == nil {
		data = compact.Bytes()
	}
	w.Write([]byte("data: "))
	w.Write(data)
	w.Write([]byte("\n\n"))
}
