package tokens

import (
	"fmt"
	"strings"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// Encoding names, as tiktoken spells them.
const (
	O200kBase  = "o200k_base"
	Cl100kBase = "cl100k_base"
)

// o200kPrefixes are the model-name prefixes of OpenAI models tokenized with
// o200k_base (tiktoken's model table); everything else gets cl100k_base.
var o200kPrefixes = []string{"gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt-4o"}

// EncodingName returns the encoding Count uses for model: O200kBase or
// Cl100kBase. Model names are matched case-insensitively, after any
// "provider/" or "provider:" prefixes ("openai/gpt-4o", "azure:gpt-4o", and a
// fine-tune's "ft:gpt-4o-mini:org::id" all give O200kBase).
func EncodingName(model string) string {
	m := strings.ToLower(model)
	for {
		for _, p := range o200kPrefixes {
			if strings.HasPrefix(m, p) {
				return O200kBase
			}
		}
		i := strings.IndexAny(m, "/:")
		if i < 0 {
			return Cl100kBase
		}
		m = m[i+1:]
	}
}

// setLoader guards the one write to tiktoken's package-level loader.
var setLoader sync.Once

// Counter counts tokens with embedded BPE encodings. Safe for concurrent use.
// Encodings are loaded lazily on first use of each; loading one takes a few
// hundred milliseconds and tens of megabytes, so build one Counter and share
// it.
type Counter struct {
	load func(name string) (*tiktoken.Tiktoken, error)

	o200k, cl100k encoding

	mu  sync.Mutex
	err error // the first load error
}

// encoding is one lazily loaded encoding; tk stays nil if loading failed.
type encoding struct {
	once sync.Once
	tk   *tiktoken.Tiktoken
}

// New returns a Counter that has loaded nothing yet.
func New() *Counter {
	// tiktoken's default loader downloads each encoding from
	// openaipublic.blob.core.windows.net on first use (caching it on disk).
	// The gateway runs without internet access, so install the loader that
	// reads the encodings embedded in tiktoken-go-loader instead. The setter
	// is package-level in tiktoken, hence once per process, before any load.
	setLoader.Do(func() {
		tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
	})
	return newCounter(tiktoken.GetEncoding)
}

// newCounter lets tests substitute a loader that fails.
func newCounter(load func(name string) (*tiktoken.Tiktoken, error)) *Counter {
	return &Counter{load: load}
}

// Err returns the first error met loading an encoding, or nil. Counts made
// with an encoding that failed to load are byte-length estimates.
func (c *Counter) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Count returns the number of tokens in text for the named model. It is
// tiktoken's count, except that a run of over 512 bytes with no space or
// letter boundary in it (a long unpunctuated CJK run, a wall of one
// character) is cut every 512 bytes to bound the encoder's quadratic cost,
// which may change the count by about a token per cut.
func (c *Counter) Count(model, text string) int {
	return c.counter(model)(text)
}

// counter returns a function counting tokens of the encoding model uses, so
// that a request's many strings resolve the model once.
func (c *Counter) counter(model string) func(string) int {
	tk := c.encoding(EncodingName(model))
	if tk == nil {
		return estimate
	}
	return func(text string) int {
		n := 0
		for chunk := range chunks(text, maxChunk, maxRun) {
			// EncodeOrdinary treats special-token text such as
			// "<|endoftext|>" as plain text, as the API does for
			// message content; Encode would panic on it.
			n += len(tk.EncodeOrdinary(chunk))
		}
		return n
	}
}

// encoding returns the named encoding, loading it on first use, or nil if it
// failed to load.
func (c *Counter) encoding(name string) *tiktoken.Tiktoken {
	e := &c.cl100k
	if name == O200kBase {
		e = &c.o200k
	}
	e.once.Do(func() {
		tk, err := c.load(name)
		if err != nil {
			c.mu.Lock()
			if c.err == nil {
				c.err = fmt.Errorf("tokens: load %s: %w", name, err)
			}
			c.mu.Unlock()
			return
		}
		e.tk = tk
	})
	return e.tk
}

// estimate is the fallback when no encoding is available: about four bytes
// per token for English text, rounded up.
func estimate(text string) int {
	return (len(text) + 3) / 4
}
