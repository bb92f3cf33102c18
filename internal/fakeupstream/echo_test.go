package fakeupstream

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestEchoKeyInPutsThePresentedKeyIntoEveryNamedErrorField(t *testing.T) {
	const key = "sk-echo-me-0123456789"
	all := []string{"message", "type", "code", "param"}
	tests := []struct {
		name, path, body string
		header           []string
		want             int // occurrences of the key in the body
	}{
		{name: "openai", path: "/v1/chat/completions", body: chatBody,
			header: []string{"Authorization", "Bearer " + key}, want: 4},
		{name: "anthropic", path: "/v1/messages", body: `{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
			header: []string{"X-Api-Key", key, "Anthropic-Version", "2023-06-01"}, want: 4},
		{name: "gemini", path: "/v1beta/models/gemini-x:generateContent", body: `{"contents":[{"parts":[{"text":"hi"}]}]}`,
			header: []string{"X-Goog-Api-Key", key}, want: 4},
		{name: "responses", path: "/v1/responses", body: `{"model":"gpt","input":"hi"}`,
			header: []string{"Authorization", "Bearer " + key}, want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Options{Default: Behavior{Status: http.StatusBadRequest, EchoKeyIn: all}})
			req, _ := http.NewRequest(http.MethodPost, s.URL+tt.path, strings.NewReader(tt.body))
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := client(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !json.Valid(b) {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if n := strings.Count(string(b), key); n != tt.want {
				t.Errorf("the key appears %d times, want %d: %s", n, tt.want, b)
			}
		})
	}
}
