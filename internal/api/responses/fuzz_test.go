package responses

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func addFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
}

// FuzzDecodeRequest: any body decodes or is a 4xx; what decodes encodes
// as an answer that is JSON.
func FuzzDecodeRequest(f *testing.F) {
	addFiles(f, "testdata/decode_request/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		r, x, err := DecodeRequest(body)
		if err != nil {
			if e := llm.AsError(err); e.Status < 400 || e.Status >= 500 {
				t.Fatalf("status %d for %q: %v", e.Status, body, err)
			}
			return
		}
		if r.Model == "" || (len(r.Messages) == 0 && len(r.System) == 0) {
			t.Fatalf("decoded a request without model or input: %+v", r)
		}
		out := EncodeResponse(&llm.Response{ID: "r", Model: r.Model, Message: llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "x"}}}}, Options{Echo: x})
		if !json.Valid(out) {
			t.Fatalf("response with the request's echo fields is not JSON: %s", out)
		}
	})
}

// FuzzScanRequest: any body scans or is a 4xx, and a scan agrees with
// DecodeRequest on what both read.
func FuzzScanRequest(f *testing.F) {
	addFiles(f, "testdata/decode_request/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := ScanRequest(body)
		if err != nil {
			if e := llm.AsError(err); e.Status < 400 || e.Status >= 500 {
				t.Fatalf("status %d for %q: %v", e.Status, body, err)
			}
			return
		}
		if s.Model == "" || s.MaxOutputTokens < 0 {
			t.Fatalf("scan = %+v", s)
		}
		if r, _, err := DecodeRequest(body); err == nil && (r.Model != s.Model || r.Stream != s.Stream || r.MaxTokens != s.MaxOutputTokens) {
			t.Fatalf("scan %+v disagrees with decode %+v", s, r)
		}
	})
}

// FuzzStreamEncoder: any event sequence renders as SSE whose every data
// line is JSON, with one final event.
func FuzzStreamEncoder(f *testing.F) {
	addFiles(f, "testdata/stream_encode/*.jsonl")
	f.Fuzz(func(t *testing.T, in []byte) {
		enc := newTestEncoder()
		var out []byte
		for _, line := range splitLines(in) {
			var ev llm.StreamEvent
			if json.Unmarshal(line, &ev) != nil {
				continue
			}
			out = enc.Event(out, ev)
		}
		out = enc.Close(out)
		checkSSE(t, out)
	})
}

// FuzzReplaceItemReferences: replacing every item reference of a JSON body
// with an item keeps it JSON and leaves no reference behind.
func FuzzReplaceItemReferences(f *testing.F) {
	f.Add([]byte(`{"model":"m","input":[{"type":"item_reference","id":"msg_gen-1_0"},{"id":"rs_gen-1_1"},{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"input":[ {"id" : "a\"b"} ,{"type":"item_reference","id":"x"}],"input":[{"id":"y"}]}`))
	f.Add([]byte(`{"input":[{"type":"item_reference","id":5},{"id":7}]}`))
	addFiles(f, "testdata/decode_request/*.json")
	item := []byte(`{"type":"message","role":"assistant","content":[{"type":"output_text","text":"x"}]}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return
		}
		items := map[string][]byte{}
		for _, id := range ItemReferences(body) {
			items[id] = item
		}
		out := ReplaceItemReferences(body, items)
		if !json.Valid(out) {
			t.Fatalf("%s\nbecame\n%s", body, out)
		}
		if left := ItemReferences(out); len(left) != 0 {
			t.Fatalf("references %q left in %s", left, out)
		}
	})
}
