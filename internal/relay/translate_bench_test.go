package relay

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/api/anthropic"
	"github.com/switchyard-gw/switchyard/internal/api/gemini"
	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// The translation benchmarks measure what a translated call costs on top of
// a passthrough one, for each dialect pair the gateway serves: per request
// (decode the client's body, encode the upstream's), per whole answer
// (decode the upstream's, encode the client's) and per stream event
// (decode one upstream event, encode it for the client). The bodies are the
// seeds' typical chat.
//
//	go test -run '^$' -bench Translate -benchmem ./internal/relay/

var (
	benchOpenAIChat    = []byte(`{"model":"claude-sonnet-4-5","messages":[{"role":"system","content":"You are a helpful assistant"},{"role":"user","content":"Briefly introduce artificial intelligence"}],"temperature":0.7,"max_tokens":1024,"stream":true}`)
	benchAnthropicChat = []byte(`{"model":"gpt-4o","max_tokens":1024,"system":"You are a helpful assistant","messages":[{"role":"user","content":"Briefly introduce artificial intelligence"}],"temperature":0.7,"stream":true}`)
	benchGeminiChat    = []byte(`{"systemInstruction":{"parts":[{"text":"You are a helpful assistant"}]},"contents":[{"role":"user","parts":[{"text":"Briefly introduce artificial intelligence"}]}],"generationConfig":{"temperature":0.7,"maxOutputTokens":1024}}`)

	benchOpenAIAnswer    = []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Artificial intelligence is the study of machines that learn, reason and act."},"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":100,"total_tokens":125}}`)
	benchAnthropicAnswer = []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Artificial intelligence is the study of machines that learn, reason and act."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":100}}`)
	benchGeminiAnswer    = []byte(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Artificial intelligence is the study of machines that learn, reason and act."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":25,"candidatesTokenCount":100,"totalTokenCount":125},"modelVersion":"gemini-2.5-flash"}`)

	benchOpenAIChunk          = []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hello, world"},"finish_reason":null}]}`)
	benchOpenAIChunkUsageNull = []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hello, world"},"logprobs":null,"finish_reason":null}],"usage":null}`)
	benchAnthropicDelta       = []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello, world"}}`)
	benchGeminiChunk          = []byte(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello, world"}]},"index":0}],"modelVersion":"gemini-2.5-flash"}`)
)

func benchProvider(f provider.Format) *provider.Provider {
	return &provider.Provider{Name: "bench", Format: f}
}

// BenchmarkTranslateRequest: client body → canonical → upstream body.
func BenchmarkTranslateRequest(b *testing.B) {
	cases := []struct {
		name string
		in   Ingress
		body []byte
		to   provider.Format
	}{
		{"openai-to-anthropic", IngressOpenAI, benchOpenAIChat, provider.FormatAnthropic},
		{"openai-to-gemini", IngressOpenAI, benchOpenAIChat, provider.FormatGemini},
		{"anthropic-to-openai", IngressAnthropic, benchAnthropicChat, provider.FormatOpenAI},
		{"gemini-to-openai", IngressGemini, benchGeminiChat, provider.FormatOpenAI},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			p := benchProvider(tc.to)
			b.ReportAllocs()
			for b.Loop() {
				c := &call{in: tc.in, body: tc.body}
				c.gen.Model = "gemini-2.5-flash"
				r, err := c.canonical()
				if err != nil {
					b.Fatal(err)
				}
				lr := *r
				lr.Model = "upstream-model"
				if _, err := encodeFor(p, p.Format, &lr, 4096); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTranslateResponse: upstream answer → canonical → client answer.
func BenchmarkTranslateResponse(b *testing.B) {
	cases := []struct {
		name   string
		decode func([]byte) (*llm.Response, error)
		body   []byte
		encode func(*llm.Response) []byte
	}{
		{"anthropic-to-openai", func(b []byte) (*llm.Response, error) { return anthropic.DecodeResponse(b, "") }, benchAnthropicAnswer, oa.EncodeResponse},
		{"gemini-to-openai", gemini.DecodeResponse, benchGeminiAnswer, oa.EncodeResponse},
		{"openai-to-anthropic", oa.DecodeResponse, benchOpenAIAnswer, anthropic.EncodeResponse},
		{"openai-to-gemini", oa.DecodeResponse, benchOpenAIAnswer, gemini.EncodeResponse},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := tc.decode(tc.body)
				if err != nil {
					b.Fatal(err)
				}
				_ = tc.encode(r)
			}
		})
	}
}

// BenchmarkTranslateStreamEvent: one upstream text event → the client's
// event, through the same sources the relay streams with (for an OpenAI
// client that includes the oa.Stream rewrite every passthrough chunk pays).
func BenchmarkTranslateStreamEvent(b *testing.B) {
	cases := []struct {
		name  string
		in    Ingress
		dec   func() eventDecoder
		event string
		data  []byte
	}{
		{"anthropic-to-openai", IngressOpenAI, func() eventDecoder { return &anthropicDecoder{} }, "content_block_delta", benchAnthropicDelta},
		{"gemini-to-openai", IngressOpenAI, func() eventDecoder { return &geminiDecoder{} }, "", benchGeminiChunk},
		{"openai-to-anthropic", IngressAnthropic, func() eventDecoder { return &openaiDecoder{} }, "", benchOpenAIChunk},
		{"openai-to-gemini", IngressGemini, func() eventDecoder { return &openaiDecoder{} }, "", benchOpenAIChunk},
		{"openai-passthrough", IngressOpenAI, nil, "", benchOpenAIChunk},
		// As OpenAI sends chunks once include_usage is on (the gateway
		// always asks for it): every chunk says "usage":null.
		{"openai-passthrough-usage-null", IngressOpenAI, nil, "", benchOpenAIChunkUsageNull},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c := &call{in: tc.in}
			c.gen.ID = "gen-bench"
			req := &oa.Request{Op: oa.OpChat, Model: "m", Stream: true, IncludeUsage: true}
			rw := oa.Rewrite{ID: c.gen.ID, Model: req.Model, Cost: c.cost}
			var src streamSource
			if tc.dec == nil {
				src = &openaiSource{s: newOAStream(c, req, rw)}
			} else {
				src = c.in.newStream(c, req, rw, tc.dec())
			}
			if tc.event == "content_block_delta" {
				// An Anthropic text delta needs its block opened first.
				if _, err := src.event(nil, "content_block_start", []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)); err != nil {
					b.Fatal(err)
				}
			}
			out := make([]byte, 0, 4096)
			var err error
			b.ReportAllocs()
			for b.Loop() {
				// The collected answer text would grow without bound here;
				// in a real stream it is one answer long.
				switch s := src.(type) {
				case *openaiSource:
					s.s.Text = llm.TextSample{Head: s.s.Text.Head[:0]}
				case *canonicalSource:
					s.text = llm.TextSample{Head: s.text.Head[:0]}
				}
				if out, err = src.event(out[:0], tc.event, tc.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
