package provider

import (
	"context"
	"net/http"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// BenchmarkNewRequest is the per-attempt cost of building and signing an
// upstream request (the static header signer of an OpenAI-type provider).
//
//	go test -run='^$' -bench=NewRequest -benchmem ./internal/provider/
func BenchmarkNewRequest(b *testing.B) {
	p, err := newOpenAI(&config.Provider{Name: "p", Type: "openai", BaseURL: "https://api.example.com/v1", APIKey: "sk-bench-key"}, http.DefaultTransport)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req, err := p.NewRequest(ctx, "/chat/completions", body, true, "req-1")
		if err != nil || req.Header.Get("Authorization") != "Bearer sk-bench-key" {
			b.Fatal(err)
		}
	}
}
