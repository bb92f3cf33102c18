package tokens

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var splitCorpus = []string{
	"hello world",
	"The quick brown fox jumps over the lazy dog. It's here; they're there, we'll see. DON'T SHOUT!",
	"  leading spaces,   inner   runs, trailing   ",
	"line one\nline two\r\n\n\nline five\t\ttabs\n",
	"func main() {\n\tfmt.Println(\"hi\")\n\tx := a[i:j]+b/c // comment\n}\n",
	`{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}],"n":12345678901234}`,
	"https://example.com/path/to/file.html?query=1&b=two#frag",
	"aGVsbG8gd29ybGQhIFRoaXMgaXMgYmFzZTY0IGVuY29kZWQgdGV4dC4=",
	"你好，世界！这是一个测试。 混合 English 和中文。",
	"こんにちは世界、日本語のテキスト。 안녕하세요 세계",
	"Ünïcödé café naïve résumé — “quotes” ‘single’ … e\u0301 combining",
	"नमस्ते दुनिया", // Devanagari: letters with combining marks
	"numbers 1 12 123 1234 12345 3.14159 -42 1e10 ١٢٣",
	"nbsp\u00a0here ideographic\u3000space en\u2002space",
	"emoji 👍🏽 family 👨‍👩‍👧 flags 🇫🇷 text",
	"<|endoftext|> <|fim_prefix|> special <|endofprompt|>",
	"x's y'S z'll a've b're c'd d'm e't 'tis",
	"----- ===== ***** //// \\\\\\\\ ..... !!!!!",
	"invalid \xff\xfe bytes \xe4\xb8 truncated",
}

func TestChunksConcatenateToText(t *testing.T) {
	for _, text := range append(splitCorpus, strings.Repeat("a", 2000), strings.Repeat("word ", 2000)) {
		for _, size := range []struct{ chunk, run int }{{1, 1}, {1, 1 << 30}, {16, 4}, {maxChunk, maxRun}} {
			var b strings.Builder
			for c := range chunks(text, size.chunk, size.run) {
				if c == "" {
					t.Errorf("chunks(%.20q, %d, %d) yielded an empty chunk", text, size.chunk, size.run)
				}
				b.WriteString(c)
			}
			if b.String() != text {
				t.Errorf("chunks(%.20q, %d, %d) concatenate to %.20q", text, size.chunk, size.run, b.String())
			}
		}
	}
}

// TestChunkingIsExact cuts at every cut point (chunk size 1) and never by
// force, and checks the tokens are exactly those of the whole text.
func TestChunkingIsExact(t *testing.T) {
	for _, enc := range []string{Cl100kBase, O200kBase} {
		for _, text := range splitCorpus {
			if got, want := chunkedIDs(enc, text), shared.encoding(enc).EncodeOrdinary(text); !slices.Equal(got, want) {
				t.Errorf("%s: chunked %q\n got %v\nwant %v", enc, text, got, want)
			}
		}
	}
}

func FuzzChunkingIsExact(f *testing.F) {
	for _, s := range splitCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return // long single pieces are slow to encode; they add nothing here
		}
		for _, enc := range []string{Cl100kBase, O200kBase} {
			if got, want := chunkedIDs(enc, text), shared.encoding(enc).EncodeOrdinary(text); !slices.Equal(got, want) {
				t.Errorf("%s: chunked %q\n got %v\nwant %v", enc, text, got, want)
			}
		}
	})
}

func chunkedIDs(enc, text string) []int {
	tk := shared.encoding(enc)
	var ids []int
	for c := range chunks(text, 1, 1<<30) {
		ids = append(ids, tk.EncodeOrdinary(c)...)
	}
	return ids
}

// TestCountLongRunIsBounded: a megabyte with no cut point would be one piece,
// and tiktoken-go's merge is quadratic in a piece's length (minutes for this
// one). The forced cuts every maxRun bytes keep it fast, and as maxRun is a
// multiple of 8 this run's count is still exact: eight a's are one token.
func TestCountLongRunIsBounded(t *testing.T) {
	text := strings.Repeat("a", 1<<20)
	for _, model := range []string{"gpt-4", "gpt-4o"} {
		start := time.Now()
		if got, want := shared.Count(model, text), len(text)/8; got != want {
			t.Errorf("Count(%s, 1 MiB of a) = %d, want %d", model, got, want)
		}
		t.Logf("Count(%s, 1 MiB of a): %v", model, time.Since(start))
	}
}
