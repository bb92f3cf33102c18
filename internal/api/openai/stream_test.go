package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// feed runs upstream payloads through a Stream and returns the client's SSE.
func feed(t *testing.T, s *Stream, payloads ...string) (string, error) {
	t.Helper()
	var out []byte
	for _, p := range payloads {
		var err error
		out, err = s.Event(out, []byte(p))
		if err != nil {
			return string(out), err
		}
	}
	return string(out), nil
}

// events splits client SSE into data payloads.
func events(sse string) []string {
	var out []string
	for _, ev := range strings.Split(sse, "\n\n") {
		if strings.HasPrefix(ev, "data: ") {
			out = append(out, strings.TrimPrefix(ev, "data: "))
		}
	}
	return out
}

func flatCost(u llm.Usage) money.Nanos { return money.Nanos(u.TotalTokens * 1000) }

const (
	c1    = `{"id":"chatcmpl-up","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}`
	cFin  = `{"id":"chatcmpl-up","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
	cUse  = `{"id":"chatcmpl-up","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":2,"total_tokens":10}}`
	cDSFi = `{"id":"x","object":"chat.completion.chunk","created":1,"model":"deepseek-chat","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":10,"total_tokens":23}}`
)

func TestStreamWithoutIncludeUsageNeverSendsEmptyChoices(t *testing.T) {
	s := &Stream{Rewrite: Rewrite{ID: "gen-1", Model: "gpt-4o", Cost: flatCost}, Op: OpChat}
	out, err := feed(t, s, c1, cFin, cUse, "[DONE]")
	if err != nil {
		t.Fatal(err)
	}
	evs := events(out)
	if len(evs) != 3 || evs[2] != "[DONE]" {
		t.Fatalf("events = %q", evs)
	}
	for _, e := range evs[:2] {
		var c struct {
			ID, Model string
			Choices   []json.RawMessage
		}
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("chunk %s: %v", e, err)
		}
		if len(c.Choices) == 0 {
			t.Fatalf("client that did not ask for usage got a chunk with empty choices: %s", e)
		}
		if c.ID != "gen-1" || c.Model != "gpt-4o" {
			t.Fatalf("id/model not rewritten: %s", e)
		}
	}
	var fin struct {
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			TotalTokens int64   `json:"total_tokens"`
			Cost        float64 `json:"cost"`
		}
	}
	_ = json.Unmarshal([]byte(evs[1]), &fin)
	if fin.Choices[0].FinishReason != "stop" || fin.Usage.TotalTokens != 10 || fin.Usage.Cost != 0.00001 {
		t.Fatalf("usage should ride on the finish chunk with its cost: %s", evs[1])
	}
	if s.Usage.PromptTokens != 8 || s.Usage.CompletionTokens != 2 {
		t.Fatalf("metered usage = %+v", s.Usage)
	}
}

func TestStreamWithIncludeUsagePassesUsageChunk(t *testing.T) {
	s := &Stream{Rewrite: Rewrite{ID: "gen-2", Model: "gpt-4o", Cost: flatCost}, Op: OpChat, ClientWantsUsage: true}
	out, _ := feed(t, s, c1, cFin, cUse, "[DONE]")
	evs := events(out)
	if len(evs) != 4 {
		t.Fatalf("events = %q", evs)
	}
	if !strings.Contains(evs[2], `"choices":[]`) || !strings.Contains(evs[2], `"cost":0.00001`) || !strings.Contains(evs[2], `"id":"gen-2"`) {
		t.Fatalf("usage chunk = %s", evs[2])
	}
	// Bytes other than id, model and usage pass through untouched.
	want := strings.Replace(strings.Replace(c1, `"chatcmpl-up"`, `"gen-2"`, 1), `"gpt-4o-2024"`, `"gpt-4o"`, 1)
	if evs[0] != want {
		t.Fatalf("first chunk\n got %s\nwant %s", evs[0], want)
	}
}

func TestStreamUsageOnFinishChunkPassesThrough(t *testing.T) {
	s := &Stream{Rewrite: Rewrite{ID: "gen-3", Model: "deepseek:deepseek-chat", Cost: flatCost}, Op: OpChat}
	out, _ := feed(t, s, c1, cDSFi, "[DONE]")
	evs := events(out)
	if len(evs) != 3 || !strings.Contains(evs[1], `"total_tokens":23,"cost":0.000023}`) {
		t.Fatalf("events = %q", evs)
	}
}

func TestStreamEndsWithoutDoneAfterFinishIsComplete(t *testing.T) {
	s := &Stream{Rewrite: Rewrite{ID: "g", Model: "m"}, Op: OpChat}
	out, _ := feed(t, s, c1, cFin)
	if !s.Complete() {
		t.Fatal("a finish_reason means the answer is complete")
	}
	out = string(s.Finish([]byte(out)))
	if evs := events(out); len(evs) != 3 || evs[2] != "[DONE]" {
		t.Fatalf("events = %q", evs)
	}
}

func TestStreamFailEmitsErrorChunkThenDone(t *testing.T) {
	s := &Stream{Rewrite: Rewrite{ID: "gen-4", Model: "m"}, Op: OpChat, Created: 7}
	out, _ := feed(t, s, c1)
	out = string(s.Fail([]byte(out), llm.UpstreamError("provider 'p' ended the stream before the answer was complete", nil)))
	evs := events(out)
	if len(evs) != 3 || evs[2] != "[DONE]" {
		t.Fatalf("events = %q", evs)
	}
	var c struct {
		ID      string
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		}
		Error struct{ Message, Code string }
	}
	if err := json.Unmarshal([]byte(evs[1]), &c); err != nil {
		t.Fatal(err)
	}
	if c.ID != "gen-4" || len(c.Choices) != 1 || c.Choices[0].FinishReason != "error" || c.Error.Code != "upstream_error" || c.Error.Message == "" {
		t.Fatalf("error chunk = %s", evs[1])
	}
}

func TestStreamErrorsFromUpstream(t *testing.T) {
	s := &Stream{Rewrite: Rewrite{ID: "g"}, Op: OpChat}
	if _, err := feed(t, s, `{not json`); !errors.Is(err, ErrMalformedChunk) {
		t.Fatalf("err = %v, want ErrMalformedChunk", err)
	}
	var ue *UpstreamStreamError
	if _, err := feed(t, s, `{"error":{"message":"overloaded"}}`); !errors.As(err, &ue) || ue.Message != "overloaded" {
		t.Fatalf("err = %v, want upstream error", err)
	}
}

func TestRewriteResponse(t *testing.T) {
	body := `{"id":"chatcmpl-abc","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":0}},"system_fingerprint":"fp"}`
	rw := Rewrite{ID: "gen-5", Model: "gpt-4o", Cost: func(llm.Usage) money.Nanos { return 750 }}
	out, u, ok := rw.RewriteResponse([]byte(body))
	if !ok {
		t.Fatal("not ok")
	}
	want := strings.NewReplacer(`"chatcmpl-abc"`, `"gen-5"`, `"gpt-4o-2024-08-06"`, `"gpt-4o"`, `"reasoning_tokens":0}}`, `"reasoning_tokens":0},"cost":0.00000075}`).Replace(body)
	if string(out) != want {
		t.Fatalf("\n got %s\nwant %s", out, want)
	}
	if u.PromptTokens != 5 || u.CompletionTokens != 1 || u.CachedTokens != 2 || !u.Present {
		t.Fatalf("usage = %+v", u)
	}
	if _, _, ok := rw.RewriteResponse([]byte(`<html>`)); ok {
		t.Fatal("a non-JSON upstream body must be reported")
	}
}

func FuzzStreamEvent(f *testing.F) {
	for _, s := range []string{c1, cFin, cUse, cDSFi, "[DONE]", `{"error":1}`, `{"choices":[{"finish_reason":"stop"}],"usage":null}`} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, payload []byte, wants bool) {
		s := &Stream{Rewrite: Rewrite{ID: "g", Model: "m", Cost: flatCost}, Op: OpChat, ClientWantsUsage: wants, CollectText: true}
		out, err := s.Event(nil, payload)
		if !judgedAsAlone(t, payload, err) {
			return
		}
		out = s.Finish(out)
		for _, ev := range events(string(out)) {
			if ev != "[DONE]" && !json.Valid([]byte(ev)) {
				t.Fatalf("payload %q produced invalid chunk %q", payload, ev)
			}
		}
	})
}

// FuzzStreamEventAfterPrefix: a chunk after c1 (whose leading members the
// stream keeps, see Stream.prefix) is judged and rewritten as it would be
// alone: refused exactly when it is not a JSON object, its id and model
// replaced wherever it differs from c1.
func FuzzStreamEventAfterPrefix(f *testing.F) {
	prefix := c1[:strings.Index(c1, `,"choices"`)]
	for _, s := range []string{cFin, cUse, c1, prefix + `}`, prefix + `,"choices":[}`, prefix + `,"choices":[]`, prefix + `,"usage":{"prompt_tokens":1}}`,
		prefix + `,"id":"again"}`, prefix + ` ,"choices":[]}`, strings.Replace(cFin, "gpt-4o-2024", "other", 1)} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, payload []byte, wants bool) {
		s := &Stream{Rewrite: Rewrite{ID: "g", Model: "m", Cost: flatCost}, Op: OpChat, ClientWantsUsage: true, CollectText: true}
		if _, err := s.Event(nil, []byte(c1)); err != nil {
			t.Fatal(err)
		}
		s.ClientWantsUsage = wants
		out, err := s.Event(nil, payload)
		if !judgedAsAlone(t, payload, err) {
			return
		}
		for _, ev := range events(string(s.Finish(out))) {
			if ev == "[DONE]" {
				continue
			}
			var got map[string]json.RawMessage
			if json.Unmarshal([]byte(ev), &got) != nil {
				t.Fatalf("payload %q produced invalid chunk %q", payload, ev)
			}
			if id, ok := got["id"]; ok && string(id) != `"g"` && bytes.Count(payload, []byte(`"id"`)) == 1 {
				t.Fatalf("payload %q: the client's chunk %q keeps the upstream's id", payload, ev)
			}
			if m, ok := got["model"]; ok && string(m) != `"m"` && bytes.Count(payload, []byte(`"model"`)) == 1 {
				t.Fatalf("payload %q: the client's chunk %q keeps the upstream's model", payload, ev)
			}
		}
	})
}

// judgedAsAlone fails t unless Event refused payload (err) exactly when it
// is neither a JSON object nor [DONE]; it reports whether Event took it.
func judgedAsAlone(t *testing.T, payload []byte, err error) bool {
	t.Helper()
	var obj map[string]json.RawMessage
	isObject := json.Unmarshal(payload, &obj) == nil && obj != nil
	if errors.Is(err, ErrMalformedChunk) && isObject {
		t.Fatalf("valid chunk %q refused as malformed", payload)
	}
	if err != nil {
		return false
	}
	if !isObject && string(payload) != "[DONE]" {
		t.Fatalf("malformed chunk %q accepted", payload)
	}
	return true
}

// Chunks of one stream that differ only in their strings: the text, the
// role, a varying "obfuscation" (as OpenAI sends), a tool call's name and
// arguments.
const (
	cText1 = `{"id":"chatcmpl-up","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024","system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"a1"}`
	cText2 = `{"id":"chatcmpl-up","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024","system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":" w\u00f6rld \"q\"\\"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"xyz9"}`
	cTool1 = `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m0","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\""}}]},"finish_reason":null}]}`
	cTool2 = `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m0","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":":1}"}}]},"finish_reason":null}]}`
)

// TestStreamMatchesShapeOfPlainChunks: after one plain chunk, the next that
// differs only in its strings is answered without a walk, with its own
// text, id and model rewritten, exactly as a stream that walks every chunk
// answers it.
func TestStreamMatchesShapeOfPlainChunks(t *testing.T) {
	for _, seq := range [][]string{{cText1, cText2, cText2, cText1}, {cTool1, cTool2, cTool2}} {
		fast := &Stream{Rewrite: Rewrite{ID: "gen-9", Model: "gpt-4o", Cost: flatCost}, Op: OpChat, CollectText: true}
		slow := &Stream{Rewrite: Rewrite{ID: "gen-9", Model: "gpt-4o", Cost: flatCost}, Op: OpChat, CollectText: true, walkAll: true}
		fo, err := feed(t, fast, seq...)
		if err != nil {
			t.Fatal(err)
		}
		so, _ := feed(t, slow, seq...)
		if fo != so || string(fast.Text.Head) != string(slow.Text.Head) || fast.Chunks != slow.Chunks {
			t.Fatalf("shape path differs from the walk:\n got %s %q\nwant %s %q", fo, fast.Text.Head, so, slow.Text.Head)
		}
		if !fast.shape.known {
			t.Fatalf("no shape learned from %s", seq[0])
		}
		// The shape is what answered: with its bytes corrupted on purpose,
		// a chunk corrupted the same way (which a walk refuses) matches it.
		fast.shape.b = bytes.Replace(fast.shape.b, []byte(`"index":0`), []byte(`"index":,`), 1)
		out, err := fast.Event(nil, []byte(strings.Replace(seq[1], `"index":0`, `"index":,`, 1)))
		if err != nil || !strings.Contains(string(out), `"id":"gen-9"`) || !strings.Contains(string(out), `"model":"gpt-4o"`) {
			t.Fatalf("chunk after the shape: %s, %v", out, err)
		}
	}
	s := &Stream{Rewrite: Rewrite{ID: "g"}, Op: OpChat, CollectText: true}
	want := "Hello" + " w\u00f6rld \"q\"\\" + " w\u00f6rld \"q\"\\" + "Hello"
	if _, err := feed(t, s, cText1, cText2, cText2, cText1); err != nil || string(s.Text.Head) != want {
		t.Fatalf("text = %q, %v; want %q", s.Text.Head, err, want)
	}
}

// FuzzStreamShortcuts: a stream that takes its shortcuts (the repeated
// prefix, the last plain chunk's shape) answers any chunks exactly as one
// that walks each chunk whole: the same bytes, the same verdict, the same
// text, finish reason, usage and count of chunks.
func FuzzStreamShortcuts(f *testing.F) {
	seeds := []string{c1, cFin, cUse, cDSFi, cText1, cText2, cTool1, cTool2, "[DONE]",
		strings.Replace(cText2, `"usage":null`, `"usage":{"total_tokens":3}`, 1),
		strings.Replace(cText2, `"finish_reason":null`, `"finish_reason":"stop"`, 1),
		strings.Replace(cText2, `"xyz9"`, `"x\u0000"`, 1),
		strings.Replace(cText2, `" w`, `" \n w`, 1),
		strings.Replace(cText2, `"obfuscation":"xyz9"`, `"obfuscation":7`, 1),
		strings.Replace(cText1, `"Hello"`, `"Hello`, 1),
		strings.Replace(cText1, `"chatcmpl-up"`, `"other"`, 1)}
	for i, a := range seeds {
		f.Add([]byte(a), []byte(seeds[(i+1)%len(seeds)]), []byte(seeds[(i+5)%len(seeds)]), i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, a, b, c []byte, wants bool) {
		mk := func(walkAll bool) *Stream {
			return &Stream{Rewrite: Rewrite{ID: "g", Model: "m", Cost: flatCost}, Op: OpChat, ClientWantsUsage: wants, CollectText: true, walkAll: walkAll}
		}
		fast, slow := mk(false), mk(true)
		for _, p := range [][]byte{[]byte(cText1), a, b, c} {
			fo, fe := fast.Event(nil, p)
			so, se := slow.Event(nil, p)
			if string(fo) != string(so) || (fe == nil) != (se == nil) || (fe != nil && fe.Error() != se.Error()) {
				t.Fatalf("chunk %q:\n shortcuts %q, %v\n walk      %q, %v", p, fo, fe, so, se)
			}
			if fe != nil {
				return
			}
		}
		fo, so := fast.Finish(nil), slow.Finish(nil)
		if string(fo) != string(so) || string(fast.Text.Head) != string(slow.Text.Head) || fast.Text.Total != slow.Text.Total ||
			fast.FinishReason != slow.FinishReason || fast.Usage != slow.Usage || fast.Chunks != slow.Chunks {
			t.Fatalf("after %q %q %q the streams differ:\n shortcuts %q %+v\n walk      %q %+v", a, b, c, fo, *fast, so, *slow)
		}
	})
}

// A client that did not ask for usage gets no "usage" member on its
// chunks, as from OpenAI, although the gateway asked the upstream for it
// (which then sends "usage":null on each); one that asked keeps it. The
// rest of each chunk is the upstream's, but for the id and the model.
func TestStreamDropsNullUsageForAClientThatDidNotAsk(t *testing.T) {
	spaced := strings.Replace(cText2, `,"usage":null`, ` , "usage" : null `, 1)
	first := `{"usage":null,"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}`
	for _, wants := range []bool{false, true} {
		s := &Stream{Rewrite: Rewrite{ID: "g", Model: "m", Cost: flatCost}, Op: OpChat, ClientWantsUsage: wants, CollectText: true}
		var out []byte
		for _, p := range []string{cText1, cText2, cText2, spaced, first} {
			var err error
			if out, err = s.Event(out, []byte(p)); err != nil {
				t.Fatal(err)
			}
		}
		got := events(string(out))
		rewrite := func(c string) string {
			c = strings.Replace(c, `"chatcmpl-up"`, `"g"`, 1)
			c = strings.Replace(c, `"id":"x"`, `"id":"g"`, 1)
			c = strings.Replace(c, `"gpt-4o-2024"`, `"m"`, 1)
			if !wants {
				c = strings.Replace(c, `,"usage":null`, ``, 1)
				c = strings.Replace(c, ` , "usage" : null`, ``, 1)
			}
			return c
		}
		want := []string{rewrite(cText1), rewrite(cText2), rewrite(cText2), rewrite(spaced), rewrite(first)}
		if !slices.Equal(got, want) {
			t.Errorf("client wants usage %v:\n got %q\nwant %q", wants, got, want)
		}
		if !wants && strings.Count(strings.Join(got, ""), `"usage"`) != 1 {
			t.Errorf("only the chunk with usage first keeps it: %q", got)
		}
	}
}
