package tokens

import (
	"strings"
	"testing"
)

// english1K is 1 KB of ordinary English prose.
var english1K = func() string {
	const para = "The gateway forwards each request to an upstream provider and meters " +
		"what it used. Most providers report usage at the end of a response, but a " +
		"stream can be cut before that final chunk arrives, and a few providers never " +
		"report usage at all. In those cases the gateway still has to bill fairly, so " +
		"it estimates the prompt and completion tokens with the same byte-pair " +
		"encodings the models use, and it records that the figures are estimates. "
	s := strings.Repeat(para, 1024/len(para)+1)
	return s[:1024]
}()

func BenchmarkCount1KEnglish(b *testing.B) {
	for _, model := range []string{"gpt-4", "gpt-4o"} {
		b.Run(EncodingName(model), func(b *testing.B) {
			shared.Count(model, "") // load outside the timing
			b.SetBytes(int64(len(english1K)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = shared.Count(model, english1K)
			}
			b.ReportMetric(float64(n), "tokens")
		})
	}
}

func BenchmarkChatPrompt(b *testing.B) {
	body := []byte(`{"model":"gpt-4o","messages":[` +
		`{"role":"system","content":"You are a helpful assistant."},` +
		`{"role":"user","content":"` + english1K + `"}]}`)
	shared.Count("gpt-4o", "")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		shared.ChatPrompt("gpt-4o", body)
	}
}
