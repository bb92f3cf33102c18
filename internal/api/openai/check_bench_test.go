package openai

import (
	"testing"

	"github.com/tidwall/gjson"
)

// benchChatBody is a typical chat request: a system prompt, a few turns,
// one tool.
var benchChatBody = []byte(`{"model":"gpt-4o","stream":true,"max_tokens":512,"temperature":0.7,` +
	`"messages":[{"role":"system","content":"You are a helpful assistant that answers briefly and precisely."},` +
	`{"role":"user","content":"What is the weather like in Paris today, and should I take an umbrella?"},` +
	`{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
	`{"role":"tool","tool_call_id":"call_1","content":"{\"temp\":18,\"rain\":0.6}"}],` +
	`"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]}`)

// BenchmarkCheckBody is the guard every client body passes (depth bound,
// duplicate keys); BenchmarkGJSONValid is the validation it replaced.
func BenchmarkCheckBody(b *testing.B) {
	b.SetBytes(int64(len(benchChatBody)))
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckBody(benchChatBody, 128); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGJSONValid(b *testing.B) {
	b.SetBytes(int64(len(benchChatBody)))
	b.ReportAllocs()
	for b.Loop() {
		if !gjson.ValidBytes(benchChatBody) {
			b.Fatal("invalid")
		}
	}
}
