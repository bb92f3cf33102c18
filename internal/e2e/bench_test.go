package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/provider/mock"
)

// The passthrough benchmarks send the same request to the mock model over
// loopback, once directly and once through the gateway (key check, model
// resolution, body splice, response rewrite, usage metering, access log off).
// Client, gateway and upstream share the process, so ns/op and allocs/op
// include all three: the gateway's cost is the difference between the pairs.
//
//	go test -run='^$' -bench=Passthrough -benchmem ./internal/e2e/

const (
	benchChat   = `{"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant"},{"role":"user","content":"Briefly introduce artificial intelligence"}],"temperature":0.7}`
	benchStream = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Briefly introduce artificial intelligence"}]}`
)

func benchUpstream(b *testing.B) string {
	up := httptest.NewServer(mock.NewHandler(mock.Options{Words: 20}))
	b.Cleanup(up.Close)
	return up.URL
}

func runPosts(b *testing.B, url, key, body string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	payload := []byte(body)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

func BenchmarkPassthrough(b *testing.B) {
	upURL := benchUpstream(b)
	g := startWith(b, opts{}, upURL)
	b.Run("direct/chat", func(b *testing.B) { runPosts(b, upURL+"/v1/chat/completions", "x", benchChat) })
	b.Run("gateway/chat", func(b *testing.B) { runPosts(b, g.URL+"/v1/chat/completions", g.Key, benchChat) })
	b.Run("direct/stream", func(b *testing.B) { runPosts(b, upURL+"/v1/chat/completions", "x", benchStream) })
	b.Run("gateway/stream", func(b *testing.B) { runPosts(b, g.URL+"/v1/chat/completions", g.Key, benchStream) })
}
