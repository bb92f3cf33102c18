package openai

import (
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// TestStreamKeepsABoundedTextSample: a never-ending stream used to be
// kept whole (a 180 MB stream held 618 MB) and tokenized at the end; now
// the start is kept and the rest only counted.
func TestStreamKeepsABoundedTextSample(t *testing.T) {
	s := &Stream{Rewrite: Rewrite{ID: "g", Model: "m", Cost: flatCost}, Op: OpChat, CollectText: true}
	word := strings.Repeat("abcdefgh", 128) // 1 KiB of text per chunk
	chunk := []byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"` + word + `"}}]}`)
	const chunks = 4096 // 4 MiB of text
	var out []byte
	for range chunks {
		var err error
		if out, err = s.Event(out[:0], chunk); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(s.Text.Head); got > llm.MaxTextSample+len(word) {
		t.Fatalf("kept %d bytes of text, want at most about %d", got, llm.MaxTextSample)
	}
	if want := int64(chunks * len(word)); s.Text.Total != want {
		t.Fatalf("counted %d bytes, want %d", s.Text.Total, want)
	}
	if got, want := s.Text.Scale(1000), int64(1000*chunks*len(word))/int64(len(s.Text.Head)); got != want {
		t.Fatalf("Scale(1000) = %d, want %d", got, want)
	}
}
