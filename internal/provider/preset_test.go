package provider

import (
	"net/http"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/config"
)

func TestPresetQuirks(t *testing.T) {
	build := func(preset string) *Provider {
		p, err := newOpenAI(&config.Provider{Name: preset, Type: "openai", Preset: preset, BaseURL: "https://x.example/v1", APIKey: "k"}, http.DefaultTransport)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	mistral, groq, moonshot, plain := build("mistral"), build("groq"), build("moonshot"), build("")
	tests := []struct {
		name string
		p    *Provider
		in   string
		want string
	}{
		{"rename", mistral, `{"model":"m","seed":7}`, `{"model":"m","random_seed":7}`},
		{"the service's own spelling wins", mistral, `{"seed":7,"random_seed":9}`, `{"random_seed":9}`},
		{"mistral: fields it refuses", mistral, `{"model":"m","stream":true,"stream_options":{"include_usage":true},"user":"u","max_completion_tokens":9}`, `{"model":"m","stream":true,"max_tokens":9}`},
		{"drop", groq, `{"logprobs":true,"model":"m","top_logprobs":2,"logit_bias":{"1":2}}`, `{"model":"m"}`},
		{"nothing to drop: same bytes", groq, `{"model":"m", "n":1}`, `{"model":"m", "n":1}`},
		{"groq: messages[].name", groq, `{"messages":[{"role":"user","name":"ann","content":"hi"},{"role":"assistant","content":"yo"},{"role":"user","name":"bob","content":"x"}]}`,
			`{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},{"role":"user","content":"x"}]}`},
		{"no messages array", groq, `{"messages":"x","name":"keep"}`, `{"messages":"x","name":"keep"}`},
		{"no preset", plain, `{"seed":1,"logprobs":true}`, `{"seed":1,"logprobs":true}`},
	}
	for _, tt := range tests {
		if got := string(tt.p.quirks.adjust([]byte(tt.in))); got != tt.want {
			t.Errorf("%s: adjust(%s) = %s, want %s", tt.name, tt.in, got, tt.want)
		}
	}
	lifts := []struct {
		name string
		p    *Provider
		in   string
		want string
	}{
		{"groq", groq, `{"choices":[],"x_groq":{"id":"r","usage":{"prompt_tokens":1}}}`, `{"choices":[],"x_groq":{"id":"r"},"usage":{"prompt_tokens":1}}`},
		{"moonshot", moonshot, `{"choices":[{"finish_reason":"stop","usage":{"total_tokens":3}}]}`, `{"choices":[{"finish_reason":"stop"}],"usage":{"total_tokens":3}}`},
		{"top-level usage wins", moonshot, `{"usage":{"a":1},"choices":[{"usage":{"b":2}}]}`, `{"usage":{"a":1},"choices":[{"usage":{"b":2}}]}`},
		{"no preset", plain, `{"x_groq":{"usage":{}}}`, `{"x_groq":{"usage":{}}}`},
	}
	for _, tt := range lifts {
		if got := string(tt.p.LiftUsage([]byte(tt.in))); got != tt.want {
			t.Errorf("%s: LiftUsage(%s) = %s, want %s", tt.name, tt.in, got, tt.want)
		}
	}
}
