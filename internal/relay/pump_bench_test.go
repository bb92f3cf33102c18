package relay

import (
	"bytes"
	"fmt"
	"testing"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// benchStream is a 23-event OpenAI stream as the load benchmark's mock
// upstream sends it: role, 20 content deltas, finish, usage, [DONE].
func benchStream() []byte {
	var b bytes.Buffer
	head := `data: {"id":"chatcmpl-mock-1","object":"chat.completion.chunk","created":1796603309,"model":"gpt-4o","choices":[{"index":0,`
	b.WriteString(head + `"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}` + "\n\n")
	for i := range 20 {
		fmt.Fprintf(&b, head+`"delta":{"content":"word%d "},"logprobs":null,"finish_reason":null}],"usage":null}`+"\n\n", i)
	}
	b.WriteString(head + `"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}` + "\n\n")
	b.WriteString(`data: {"id":"chatcmpl-mock-1","object":"chat.completion.chunk","created":1796603309,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":20,"total_tokens":32}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// BenchmarkPumpEvents is the per-event work of relaying an OpenAI stream to
// an OpenAI client, without the network: framing, the chunk rewrite (ids,
// usage, usage.cost, the answer's text) and the client's bytes. One op is a
// whole 23-event stream.
func BenchmarkPumpEvents(b *testing.B) {
	body := benchStream()
	fr := upstreamFormats[provider.FormatOpenAI].framing
	rd := fr.NewReader(4 << 10)
	cost := func(llm.Usage) money.Nanos { return 1234 }
	out := make([]byte, 0, 8<<10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(bytes.NewReader(body))
		s := &oa.Stream{Rewrite: oa.Rewrite{ID: "gen-0123456789abcdef", Model: "gpt-4o", Cost: cost}, Op: oa.OpChat,
			Created: 1796603309, ClientWantsUsage: true, CollectText: true, Text: llm.TextSample{Head: getTextHead()}}
		src := &openaiSource{s: s}
		out = out[:0]
		for {
			name, data, err := rd.Next()
			if err != nil {
				break
			}
			if out, err = src.event(out, string(name), data); err != nil {
				b.Fatal(err)
			}
			if src.done() {
				break
			}
		}
		putTextHead(s.Text.Head)
	}
}
