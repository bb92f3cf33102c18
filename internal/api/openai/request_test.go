package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestScanRequestRejectsBadInput(t *testing.T) {
	tests := []struct {
		name  string
		op    Op
		body  string
		param string
	}{
		{name: "not json", op: OpChat, body: `{"model": "gpt-4o",`, param: ""},
		{name: "array body", op: OpChat, body: `[1,2]`, param: ""},
		{name: "missing model", op: OpChat, body: `{"messages":[{"role":"user","content":"hi"}]}`, param: "model"},
		{name: "model not string", op: OpChat, body: `{"model":4,"messages":[{"role":"user","content":"hi"}]}`, param: "model"},
		{name: "missing messages", op: OpChat, body: `{"model":"m"}`, param: "messages"},
		{name: "messages not array", op: OpChat, body: `{"model":"m","messages":"hi"}`, param: "messages"},
		{name: "empty messages", op: OpChat, body: `{"model":"m","messages":[]}`, param: "messages"},
		{name: "stream not bool", op: OpChat, body: `{"model":"m","messages":[{}],"stream":"yes"}`, param: "stream"},
		{name: "max_tokens fractional", op: OpChat, body: `{"model":"m","messages":[{}],"max_tokens":1.5}`, param: "max_tokens"},
		{name: "max_tokens negative", op: OpChat, body: `{"model":"m","messages":[{}],"max_tokens":-1}`, param: "max_tokens"},
		{name: "stream_options not object", op: OpChat, body: `{"model":"m","messages":[{}],"stream_options":true}`, param: "stream_options"},
		{name: "completions without prompt", op: OpCompletions, body: `{"model":"m"}`, param: "prompt"},
		{name: "embeddings without input", op: OpEmbeddings, body: `{"model":"m"}`, param: "input"},
		{name: "embeddings streamed", op: OpEmbeddings, body: `{"model":"m","input":"x","stream":true}`, param: "stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ScanRequest(tt.op, []byte(tt.body))
			e, ok := err.(*llm.Error)
			if !ok || e.Status != 400 || e.Type != "invalid_request_error" {
				t.Fatalf("err = %v, want a 400 invalid_request_error", err)
			}
			if e.Param != tt.param {
				t.Fatalf("param = %q, want %q (message %q)", e.Param, tt.param, e.Message)
			}
		})
	}
}

func TestUpstreamBodyRewritesOnlyModel(t *testing.T) {
	// Unknown and provider-specific fields, odd spacing and key order must
	// reach the upstream byte for byte.
	body := `{ "enable_search": true, "model" : "deepseek:deepseek-chat",` + "\n" +
		`"search_options": {"search_strategy":"standard","forced_search":false}, "messages":[{"role":"user","content":[{"type":"file","file":{"url":"https://x/y.pdf"}}]}], "reasoning_effort":"high"}`
	r, err := ScanRequest(OpChat, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "deepseek:deepseek-chat" {
		t.Fatalf("model = %q", r.Model)
	}
	got := string(r.UpstreamBody([]byte(body), "deepseek-chat"))
	want := strings.Replace(body, `"deepseek:deepseek-chat"`, `"deepseek-chat"`, 1)
	if got != want {
		t.Fatalf("upstream body\n got %s\nwant %s", got, want)
	}
}

func TestUpstreamBodyUnchangedWhenModelSame(t *testing.T) {
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	r, _ := ScanRequest(OpChat, body)
	if got := r.UpstreamBody(body, "gpt-4o"); &got[0] != &body[0] {
		t.Fatal("an unchanged body should be forwarded without a copy")
	}
}

func TestUpstreamBodyForcesIncludeUsageWhenStreaming(t *testing.T) {
	tests := []struct {
		name, body   string
		clientWanted bool
	}{
		{name: "absent", body: `{"model":"a","stream":true,"messages":[{}]}`},
		{name: "null", body: `{"model":"a","stream":true,"stream_options":null,"messages":[{}]}`},
		{name: "false", body: `{"model":"a","stream":true,"stream_options":{"include_usage":false},"messages":[{}]}`},
		{name: "other option kept", body: `{"model":"a","stream":true,"stream_options":{"include_obfuscation":false},"messages":[{}]}`},
		{name: "client asked", body: `{"model":"a","stream":true,"stream_options":{"include_usage":true},"messages":[{}]}`, clientWanted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ScanRequest(OpChat, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if r.IncludeUsage != tt.clientWanted {
				t.Fatalf("IncludeUsage = %v, want %v", r.IncludeUsage, tt.clientWanted)
			}
			out := r.UpstreamBody([]byte(tt.body), "b")
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("upstream body is not JSON: %v\n%s", err, out)
			}
			so, _ := m["stream_options"].(map[string]any)
			if so["include_usage"] != true || m["model"] != "b" {
				t.Fatalf("upstream body %s lacks include_usage or model", out)
			}
			if strings.Contains(tt.body, "include_obfuscation") && so["include_obfuscation"] != false {
				t.Fatalf("other stream options lost: %s", out)
			}
		})
	}
}

func FuzzScanRequest(f *testing.F) {
	f.Add([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true}`))
	f.Add([]byte(`{"model":"x","stream":true,"stream_options":{},"messages":[1]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ScanRequest(OpChat, body)
		if err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("non-API error %T", err)
			}
			return
		}
		out := r.UpstreamBody(body, "upstream/model:x")
		if !json.Valid(out) {
			t.Fatalf("valid input %q produced invalid upstream body %q", body, out)
		}
	})
}

func TestRoutingFieldsAreReadAndNotSentUpstream(t *testing.T) {
	tests := []struct{ name, body string }{
		{"middle", `{"model":"a","models":["b","c"],"messages":[{}],"provider":{"order":["x"],"sort":"price"},"temperature":1}`},
		{"last", `{"model":"a","messages":[{}], "models" : ["b","c"] , "provider": {"order":["x"],"sort":"price"}}`},
		{"first", `{"provider":{"order":["x"],"sort":"price"},"models":["b","c"],"model":"a","messages":[{}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ScanRequest(OpChat, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Models) != 2 || r.Models[1] != "c" || !strings.Contains(string(r.Provider), `"sort":"price"`) {
				t.Fatalf("models %v provider %s", r.Models, r.Provider)
			}
			out := r.UpstreamBody([]byte(tt.body), "z")
			var m map[string]any
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("invalid upstream body %s: %v", out, err)
			}
			if _, ok := m["models"]; ok {
				t.Fatalf("models sent upstream: %s", out)
			}
			if _, ok := m["provider"]; ok {
				t.Fatalf("provider sent upstream: %s", out)
			}
			if m["model"] != "z" || m["messages"] == nil {
				t.Fatalf("upstream body %s", out)
			}
		})
	}
}

func TestWrittenStringsAreValidJSON(t *testing.T) {
	// strconv.AppendQuote would write \x7f here, which JSON parsers reject.
	body := []byte("{\"model\":\"a\\u007fb\",\"messages\":[{}]}")
	r, err := ScanRequest(OpChat, body)
	if err != nil {
		t.Fatal(err)
	}
	if out := r.UpstreamBody(body, "up\x7f\xff"); !json.Valid(out) {
		t.Fatalf("upstream body is not JSON: %q", out)
	}
	e := llm.BadRequest("model", "The model '%s' does not exist", "x\x7f\xfe")
	if out := AppendErrorEnvelope(nil, e, "req-1"); !json.Valid(out) {
		t.Fatalf("error envelope is not JSON: %q", out)
	}
}

func TestOverlongModelNameIs400(t *testing.T) {
	body := []byte(`{"model":"` + strings.Repeat("m", 600) + `","messages":[{}]}`)
	if _, err := ScanRequest(OpChat, body); err == nil || err.(*llm.Error).Param != "model" {
		t.Fatalf("err = %v", err)
	}
}
