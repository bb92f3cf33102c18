package openai

import (
	"github.com/switchyard-gw/switchyard/internal/jsonstr"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/jsonscan"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// CostFunc prices a usage; the rewriter adds the result as usage.cost.
type CostFunc func(llm.Usage) money.Nanos

// ReadUsage reads an OpenAI usage object (chat, completions or embeddings).
func ReadUsage(u gjson.Result) llm.Usage {
	if !u.IsObject() {
		return llm.Usage{}
	}
	var out llm.Usage
	out.Present = true
	u.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens":
			out.PromptTokens = v.Int()
		case "completion_tokens":
			out.CompletionTokens = v.Int()
		case "input_tokens": // the images API's names
			if out.PromptTokens == 0 {
				out.PromptTokens = v.Int()
			}
		case "output_tokens":
			if out.CompletionTokens == 0 {
				out.CompletionTokens = v.Int()
			}
		case "total_tokens":
			out.TotalTokens = v.Int()
		case "prompt_tokens_details":
			out.CachedTokens = v.Get("cached_tokens").Int()
			// DeepSeek-style and OpenRouter-style cache writes, where reported.
			out.CacheWriteTokens = v.Get("cache_write_tokens").Int()
		case "completion_tokens_details":
			out.ReasoningTokens = v.Get("reasoning_tokens").Int()
		case "prompt_cache_hit_tokens": // DeepSeek reports cache hits here
			if out.CachedTokens == 0 {
				out.CachedTokens = v.Int()
			}
		}
		return true
	})
	if out.TotalTokens == 0 {
		out.TotalTokens = out.PromptTokens + out.CompletionTokens
	}
	return out
}

// withCost returns the usage object raw with "cost" set to c.
func withCost(usageRaw string, c money.Nanos) []byte {
	// Fast path: append before the closing brace when there is no cost yet.
	end := len(usageRaw) - 1
	for end >= 0 && usageRaw[end] != '}' {
		end--
	}
	if end < 0 || gjson.Get(usageRaw, "cost").Exists() {
		out, err := sjson.SetRawBytes([]byte(usageRaw), "cost", c.AppendJSON(nil))
		if err != nil {
			return []byte(usageRaw)
		}
		return out
	}
	out := make([]byte, 0, len(usageRaw)+24)
	out = append(out, usageRaw[:end]...)
	if !isEmptyObject([]byte(usageRaw), 0) {
		out = append(out, ',')
	}
	out = append(out, `"cost":`...)
	out = c.AppendJSON(out)
	return append(out, usageRaw[end:]...)
}

// Rewrite holds what the gateway puts into every response it relays.
type Rewrite struct {
	ID    string // the generation id, replaces the upstream's "id"
	Model string // the model name the client asked for
	Cost  CostFunc
}

// RewriteResponse rewrites a non-streamed OpenAI-format response: "id" and
// "model" replaced, usage.cost added. It returns the usage it found.
// A body that is not a JSON object is an error the caller reports as 502.
func (rw *Rewrite) RewriteResponse(body []byte) ([]byte, llm.Usage, bool) {
	s := bytesToString(body)
	if jsonscan.Check(body, jsonscan.Options{}) != nil {
		return nil, llm.Usage{}, false
	}
	root := gjson.Parse(s)
	if !root.IsObject() {
		return nil, llm.Usage{}, false
	}
	var e edits
	var usage llm.Usage
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			e.add(v.Index, v.Index+len(v.Raw), jsonstr.Append(nil, rw.ID))
		case "model":
			if rw.Model != "" {
				e.add(v.Index, v.Index+len(v.Raw), jsonstr.Append(nil, rw.Model))
			}
		case "usage":
			usage = ReadUsage(v)
			if usage.Present && rw.Cost != nil {
				e.add(v.Index, v.Index+len(v.Raw), withCost(v.Raw, rw.Cost(usage)))
			}
		}
		return true
	})
	return e.apply(body), usage, true
}

// edits is a small list of non-overlapping replacements applied in one copy.
type edits struct {
	list [4]struct {
		start, end int
		with       []byte
	}
	n int
}

func (e *edits) add(start, end int, with []byte) {
	if e.n == len(e.list) {
		return
	}
	// Keep sorted by start; n is tiny.
	i := e.n
	for i > 0 && e.list[i-1].start > start {
		e.list[i] = e.list[i-1]
		i--
	}
	e.list[i].start, e.list[i].end, e.list[i].with = start, end, with
	e.n++
}

// applyTo appends body with the edits applied to out.
func (e *edits) applyTo(out, body []byte) []byte {
	prev := 0
	for _, x := range e.list[:e.n] {
		out = append(out, body[prev:x.start]...)
		out = append(out, x.with...)
		prev = x.end
	}
	return append(out, body[prev:]...)
}

func (e *edits) apply(body []byte) []byte {
	if e.n == 0 {
		return body
	}
	size := len(body)
	for _, x := range e.list[:e.n] {
		size += len(x.with) - (x.end - x.start)
	}
	out := make([]byte, 0, size)
	prev := 0
	for _, x := range e.list[:e.n] {
		out = append(out, body[prev:x.start]...)
		out = append(out, x.with...)
		prev = x.end
	}
	return append(out, body[prev:]...)
}

// setTrue returns obj (a JSON object) with key set to true.
func setTrue(obj []byte, key string) []byte {
	out, err := sjson.SetBytes(append([]byte(nil), obj...), key, true)
	if err != nil {
		return []byte(`{"` + key + `":true}`)
	}
	return out
}
