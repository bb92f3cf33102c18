package tokens

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkoukk/tiktoken-go"
)

// shared is loaded once for the package's tests: each load costs a few
// hundred milliseconds, more under -race.
var shared = New()

// The token IDs below are tiktoken's (Python) for the same strings: "tiktoken
// is great!" is the OpenAI cookbook's example for both encodings, and "hello
// world!你好，世界！" is from tiktoken-go's tests, converted from Python.
// Counts are what the tests assert; the IDs pin that the embedded encodings
// are the real ones, not merely of the right size.
func TestCountKnownStrings(t *testing.T) {
	tests := []struct {
		name     string
		encoding string
		text     string
		want     int
		ids      []int // when known from tiktoken itself
	}{
		{name: "hello world", encoding: Cl100kBase, text: "hello world", want: 2, ids: []int{15339, 1917}},
		{name: "hello world", encoding: O200kBase, text: "hello world", want: 2, ids: []int{24912, 2375}},
		{name: "cookbook example", encoding: Cl100kBase, text: "tiktoken is great!", want: 6, ids: []int{83, 1609, 5963, 374, 2294, 0}},
		{name: "cookbook example", encoding: O200kBase, text: "tiktoken is great!", want: 6, ids: []int{83, 8251, 2488, 382, 2212, 0}},
		{name: "Chinese", encoding: Cl100kBase, text: "你好，世界", want: 6, ids: []int{57668, 53901, 3922, 3574, 244, 98220}},
		// o200k's larger vocabulary has whole tokens for common CJK words.
		{name: "Chinese", encoding: O200kBase, text: "你好，世界", want: 3},
		{name: "mixed", encoding: Cl100kBase, text: "hello world!你好，世界！", want: 10, ids: []int{15339, 1917, 0, 57668, 53901, 3922, 3574, 244, 98220, 6447}},
		{name: "mixed", encoding: O200kBase, text: "hello world!你好，世界！", want: 7},
		{name: "Japanese", encoding: Cl100kBase, text: "こんにちは世界", want: 4},
		{name: "Japanese", encoding: O200kBase, text: "こんにちは世界", want: 2},
		{name: "Korean", encoding: Cl100kBase, text: "안녕하세요", want: 5},
		{name: "Korean", encoding: O200kBase, text: "안녕하세요", want: 2},
		{name: "pangram", encoding: Cl100kBase, text: "The quick brown fox jumps over the lazy dog.", want: 10},
		{name: "pangram", encoding: O200kBase, text: "The quick brown fox jumps over the lazy dog.", want: 10},
		{name: "code", encoding: Cl100kBase, text: "  indented\n\tcode();", want: 6},
		{name: "code", encoding: O200kBase, text: "  indented\n\tcode();", want: 6},
		// Special-token text in a prompt is plain text to the API, and
		// must not make the encoder panic.
		{name: "special token text", encoding: Cl100kBase, text: "<|endoftext|>", want: 7},
		{name: "special token text", encoding: O200kBase, text: "<|endoftext|>", want: 7},
		{name: "empty", encoding: Cl100kBase, text: "", want: 0},
		{name: "empty", encoding: O200kBase, text: "", want: 0},
	}
	model := map[string]string{Cl100kBase: "gpt-4", O200kBase: "gpt-4o"}
	for _, tt := range tests {
		t.Run(tt.encoding+"/"+tt.name, func(t *testing.T) {
			if got := shared.Count(model[tt.encoding], tt.text); got != tt.want {
				t.Errorf("Count(%q) = %d, want %d", tt.text, got, tt.want)
			}
			if tt.ids == nil {
				return
			}
			ids := shared.encoding(tt.encoding).EncodeOrdinary(tt.text)
			if !slices.Equal(ids, tt.ids) {
				t.Errorf("token IDs of %q = %v, want %v", tt.text, ids, tt.ids)
			}
		})
	}
	if err := shared.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestEncodingNameByModel(t *testing.T) {
	tests := []struct {
		model string
		want  string
	}{
		{model: "gpt-4o", want: O200kBase},
		{model: "gpt-4o-mini-2024-07-18", want: O200kBase},
		{model: "gpt-4.1-nano", want: O200kBase},
		{model: "gpt-5", want: O200kBase},
		{model: "o1-preview", want: O200kBase},
		{model: "o3-mini", want: O200kBase},
		{model: "o4-mini", want: O200kBase},
		{model: "chatgpt-4o-latest", want: O200kBase},
		{model: "GPT-4o", want: O200kBase},
		{model: "openai/gpt-4o", want: O200kBase},
		{model: "azure:gpt-4.1", want: O200kBase},
		{model: "openrouter/openai/o3", want: O200kBase},
		{model: "ft:gpt-4o-mini-2024-07-18:acme::9abc", want: O200kBase},
		{model: "gpt-4", want: Cl100kBase},
		{model: "gpt-4-turbo", want: Cl100kBase},
		{model: "gpt-3.5-turbo", want: Cl100kBase},
		{model: "text-embedding-3-small", want: Cl100kBase},
		{model: "claude-sonnet-4-5", want: Cl100kBase},
		{model: "anthropic/claude-opus-4", want: Cl100kBase},
		{model: "llama3:8b", want: Cl100kBase},
		{model: "", want: Cl100kBase},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			if got := EncodingName(tt.model); got != tt.want {
				t.Errorf("EncodingName(%q) = %s, want %s", tt.model, got, tt.want)
			}
		})
	}
}

func TestCountFallsBackToByteLengthWhenEncodingFailsToLoad(t *testing.T) {
	boom := errors.New("boom")
	loads := 0
	c := newCounter(func(string) (*tiktoken.Tiktoken, error) {
		loads++
		return nil, boom
	})
	if err := c.Err(); err != nil {
		t.Fatalf("Err() before any load = %v, want nil", err)
	}
	// 11 bytes: ceil(11/4) = 3.
	if got := c.Count("gpt-4o", "hello world"); got != 3 {
		t.Errorf("Count = %d, want 3", got)
	}
	if got := c.Count("gpt-4o", "hello world!"); got != 3 {
		t.Errorf("Count = %d, want 3", got)
	}
	if got := c.Count("gpt-4o", ""); got != 0 {
		t.Errorf("Count(\"\") = %d, want 0", got)
	}
	if got := c.ChatPrompt("gpt-4o", []byte(`{"messages":[{"role":"user","content":"Hello"}]}`)); got != 3+1+2+3 {
		t.Errorf("ChatPrompt = %d, want %d", got, 3+1+2+3)
	}
	if !errors.Is(c.Err(), boom) {
		t.Errorf("Err() = %v, want it to wrap %v", c.Err(), boom)
	}
	if loads != 1 {
		t.Errorf("loader called %d times, want 1: a failed load is not retried per call", loads)
	}
}

func TestCounterConcurrentFirstUse(t *testing.T) {
	c := New() // fresh, so the goroutines race to load both encodings
	texts := []string{"hello world", "你好，世界", strings.Repeat("The quick brown fox. ", 300)}
	models := []string{"gpt-4o", "gpt-4"}
	want := map[string]int{}
	for _, m := range models {
		for _, s := range texts {
			want[m+s] = shared.Count(m, s)
		}
	}
	body := []byte(`{"messages":[{"role":"user","content":"Hello"}]}`)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				m, s := models[(g+i)%2], texts[i%len(texts)]
				if got := c.Count(m, s); got != want[m+s] {
					t.Errorf("Count(%s, %.20q) = %d, want %d", m, s, got, want[m+s])
				}
				if got := c.ChatPrompt(m, body); got != 8 {
					t.Errorf("ChatPrompt(%s) = %d, want 8", m, got)
				}
			}
		})
	}
	wg.Wait()
	if err := c.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

// TestEncodingLoadTime reports what the first Count of each encoding costs.
// The figure is the cold one only when this test runs alone
// (go test -run TestEncodingLoadTime -v): tiktoken-go caches the parsed
// ranks per process, so a later Counter only builds its own encoder.
func TestEncodingLoadTime(t *testing.T) {
	for _, model := range []string{"gpt-4", "gpt-4o"} {
		start := time.Now()
		c := New()
		c.Count(model, "hello world")
		t.Logf("New()+first Count(%s) [%s]: %v", model, EncodingName(model), time.Since(start))
		if err := c.Err(); err != nil {
			t.Errorf("Err() = %v", err)
		}
	}
}
