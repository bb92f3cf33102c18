package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// Every request shape of seed 002 (testdata/seeds/002_*.http, copied from
// shared/seeds/002_0396da4f9f36409f.txt) is sent through the gateway to an
// upstream of each wire format: the OpenAI fake (passthrough), the
// Anthropic fake and the Gemini fake (both translated). Each format's
// provider takes every model name through a "*" catch-all, so the seed's
// names (glm-5, doubao-…, gpt-4o, deepseek-r1, qwq-32b, gemini-…, claude-…,
// grok-…) reach it unchanged.
//
// What each pair must do:
//   - OpenAI upstream: the seed's bytes arrive unchanged (only
//     stream_options is added to a stream), vendor fields and provider
//     tools included.
//   - Anthropic and Gemini upstreams: the request is translated; vendor
//     extensions (enable_thinking, enable_search/search_options,
//     search_parameters) have no counterpart and are dropped, never an
//     error. Anthropic's web_search_20250305 tool reaches an Anthropic
//     upstream as declared and is dropped for Gemini (api/gemini passes
//     only Gemini's own built-in tools). reasoning_effort becomes thinking
//     (Anthropic) / thinkingConfig (Gemini); the Gemini fake thinks when
//     asked, so that answer carries reasoning_content.

const seed002Reply = "Artificial intelligence is the study of machines that learn."

// seed002Formats: one provider per wire format, all models to it.
var seed002Formats = []struct{ name, yaml string }{
	{"openai", `
providers:
  - { name: up, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}", pricing: { prompt: 1.00, completion: 2.00 } }
models:
  - { id: "*", routes: [{ provider: up }] }
`},
	{"anthropic", `
providers:
  - { name: up, type: anthropic, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}", pricing: { prompt: 1.00, completion: 2.00 } }
models:
  - { id: "*", routes: [{ provider: up }] }
`},
	{"gemini", `
providers:
  - { name: up, type: gemini, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}", pricing: { prompt: 1.00, completion: 2.00 } }
models:
  - { id: "*", routes: [{ provider: up }] }
`},
}

// seed002Call is one shape sent to one format: what the client got and
// what the upstream received.
type seed002Call struct {
	format string
	model  string
	stream bool
	sent   []byte // the client's body
	reply  curlReply
	answer seed002Answer // a non-stream answer, decoded
	text   string        // the answer's text (a stream's deltas joined)
	reason string        // its reasoning_content
	up     fakeupstream.Request
	upBody gjson.Result
}

type seed002Answer struct {
	Choices []struct {
		Message struct {
			Content          *string        `json:"content"`
			ReasoningContent string         `json:"reasoning_content"`
			ToolCalls        []wireToolCall `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens            int64 `json:"prompt_tokens"`
		CompletionTokens        int64 `json:"completion_tokens"`
		CompletionTokensDetails struct {
			ReasoningTokens int64 `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	} `json:"usage"`
}

func (c *seed002Call) finish() string {
	if len(c.answer.Choices) == 0 {
		return ""
	}
	return c.answer.Choices[0].FinishReason
}

// wantText asserts the answer is the fake's text.
func (c *seed002Call) wantText(t *testing.T) {
	t.Helper()
	if c.text != seed002Reply {
		t.Errorf("answer text %q, want the upstream's %q:\n%s", c.text, seed002Reply, c.reply.body)
	}
	if !c.stream && c.finish() != "stop" {
		t.Errorf("finish_reason %q, want stop", c.finish())
	}
}

// wantUp asserts the upstream body has path with the value want (compared as JSON).
func (c *seed002Call) wantUp(t *testing.T, path, want string) {
	t.Helper()
	got := c.upBody.Get(path)
	var g, w any
	if json.Unmarshal([]byte(got.Raw), &g) != nil || json.Unmarshal([]byte(want), &w) != nil || !jsonEqual(g, w) {
		t.Errorf("upstream %s = %s, want %s\nbody: %s", path, got.Raw, want, c.up.Body)
	}
}

func (c *seed002Call) wantNoUp(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if v := c.upBody.Get(p); v.Exists() {
			t.Errorf("upstream body has %s = %s", p, v.Raw)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// seed002Shape is one request shape and what each format must make of it.
type seed002Shape struct {
	name  string
	file  string // testdata/seeds/002_0396da4f9f36409f_<file>.http; "" = body
	body  string // a shape the seed implies but does not spell out
	check func(t *testing.T, c *seed002Call)
}

func checkPlain(system string, temperature string) func(t *testing.T, c *seed002Call) {
	return func(t *testing.T, c *seed002Call) {
		c.wantText(t)
		switch c.format {
		case "anthropic":
			if system != "" {
				c.wantUp(t, "system", system)
			} else {
				c.wantNoUp(t, "system")
			}
			if temperature != "" {
				c.wantUp(t, "temperature", temperature)
			}
			c.wantNoUp(t, "thinking", "tools")
		case "gemini":
			if system != "" {
				c.wantUp(t, "systemInstruction.parts", `[{"text":`+system+`}]`)
			} else {
				c.wantNoUp(t, "systemInstruction")
			}
			if temperature != "" {
				c.wantUp(t, "generationConfig.temperature", temperature)
			}
			c.wantNoUp(t, "generationConfig.thinkingConfig", "tools")
		}
		if c.reason != "" {
			t.Errorf("reasoning_content %q from an upstream that did not think", c.reason)
		}
	}
}

const seedSystem = `"You are a helpful assistant"`

var seed002Shapes = []seed002Shape{
	{name: "chat_system_temperature", file: "01", check: checkPlain(seedSystem, "0.7")},
	{name: "chat_system_temperature_d", file: "02", check: checkPlain(seedSystem, "0.7")},
	{name: "stream_system", file: "03", check: func(t *testing.T, c *seed002Call) {
		checkPlain(seedSystem, "")(t, c)
		if c.format == "anthropic" {
			c.wantUp(t, "stream", "true")
		}
	}},
	{name: "sdk_chat_temperature", file: "04", check: checkPlain(seedSystem, "0.7")},
	{name: "sdk_stream", file: "05", check: checkPlain("", "")},
	{name: "tools_auto", file: "06", check: func(t *testing.T, c *seed002Call) {
		if len(c.answer.Choices) != 1 || len(c.answer.Choices[0].Message.ToolCalls) != 1 {
			t.Fatalf("want one tool call: %s", c.reply.body)
		}
		tc := c.answer.Choices[0].Message.ToolCalls[0]
		var args map[string]string
		if tc.Function.Name != "get_weather" || tc.Type != "function" || tc.ID == "" || c.finish() != "tool_calls" ||
			json.Unmarshal([]byte(tc.Function.Arguments), &args) != nil || args["city"] == "" {
			t.Errorf("tool call %+v finish %q", tc, c.finish())
		}
		switch c.format {
		case "anthropic":
			c.wantUp(t, "tools.#.name", `["get_weather"]`)
			c.wantUp(t, "tools.0.input_schema.required", `["city"]`)
			c.wantUp(t, "tool_choice", `{"type":"auto"}`)
		case "gemini":
			c.wantUp(t, "tools.0.functionDeclarations.#.name", `["get_weather"]`)
			c.wantUp(t, "tools.0.functionDeclarations.0.parameters.required", `["city"]`)
			c.wantUp(t, "toolConfig.functionCallingConfig.mode", `"AUTO"`)
		}
	}},
	{name: "response_format_json_schema", file: "07", check: func(t *testing.T, c *seed002Call) {
		if c.format == "openai" {
			// The fake's fixed Reply wins over JSON mode; the request reached it as sent.
			c.wantText(t)
			return
		}
		var v struct{ Summary *string }
		if err := json.Unmarshal([]byte(c.text), &v); err != nil || v.Summary == nil {
			t.Errorf("answer %q is not the schema's JSON (%v)", c.text, err)
		}
		if c.finish() != "stop" {
			t.Errorf("finish_reason %q, want stop", c.finish())
		}
		switch c.format {
		case "anthropic":
			// A schema is sent as structured outputs.
			c.wantUp(t, "output_config.format.schema.required", `["summary"]`)
			c.wantNoUp(t, "tool_choice")
		case "gemini":
			c.wantUp(t, "generationConfig.responseMimeType", `"application/json"`)
			c.wantUp(t, "generationConfig.responseSchema.required", `["summary"]`)
		}
	}},
	{name: "reasoning_model_deepseek_r1", file: "08", check: checkPlain("", "0.6")},
	{name: "vendor_enable_thinking", file: "09", check: checkPlain("", "")},
	{name: "reasoning_model_gemini_thinking_exp", file: "10", check: checkPlain("", "")},
	{name: "vendor_enable_search", file: "11", check: checkPlain("", "")},
	{name: "anthropic_web_search_tool", file: "12", check: func(t *testing.T, c *seed002Call) {
		switch c.format {
		case "openai":
			c.wantText(t) // the mock answers provider tools in text
		case "anthropic":
			c.wantUp(t, "tools", `[{"type":"web_search_20250305","name":"web_search","max_uses":5}]`)
			c.wantNoUp(t, "tool_choice")
			// Anthropic runs a server tool itself; the fake, not knowing
			// server tools, "calls" it like a client tool. Either way
			// the client gets a whole answer.
			if c.text == "" && (len(c.answer.Choices) == 0 || len(c.answer.Choices[0].Message.ToolCalls) == 0) {
				t.Errorf("empty answer: %s", c.reply.body)
			}
		case "gemini":
			c.wantText(t)
			c.wantNoUp(t, "tools", "toolConfig")
		}
	}},
	{name: "vendor_search_parameters", file: "13", check: checkPlain("", "")},
	{name: "file_url_part", file: "14", check: func(t *testing.T, c *seed002Call) {
		c.wantText(t)
		const doc = "https://example.com/document.pdf"
		switch c.format {
		case "anthropic":
			c.wantUp(t, "messages.0.content", `[{"type":"text","text":"Please analyze the content of this document"},{"type":"document","source":{"type":"url","url":"`+doc+`"}}]`)
		case "gemini":
			c.wantUp(t, "contents.0.parts", `[{"text":"Please analyze the content of this document"},{"fileData":{"fileUri":"`+doc+`"}}]`)
		}
	}},
	{name: "reasoning_effort_high", file: "15", check: func(t *testing.T, c *seed002Call) {
		c.wantText(t)
		switch c.format {
		case "anthropic":
			c.wantUp(t, "thinking.type", `"enabled"`)
			if b := c.upBody.Get("thinking.budget_tokens").Int(); b < 1024 || c.upBody.Get("max_tokens").Int() <= b {
				t.Errorf("thinking budget %d with max_tokens %d", b, c.upBody.Get("max_tokens").Int())
			}
			// The Anthropic fake does not think: no reasoning to relay.
		case "gemini":
			c.wantUp(t, "generationConfig.thinkingConfig", `{"thinkingBudget":24576,"includeThoughts":true}`)
			if c.reason == "" || strings.Contains(c.text, c.reason) {
				t.Errorf("reasoning_content %q beside text %q", c.reason, c.text)
			}
			if r := c.answer.Usage.CompletionTokensDetails.ReasoningTokens; r != int64(len(strings.Fields(c.reason))) {
				t.Errorf("reasoning_tokens %d for %q", r, c.reason)
			}
		}
	}},
	// Images: the seed shows a file part only; image_url parts are the
	// other media shape its users send (a data: URL and a web URL).
	{name: "image_url_parts", body: `{"model":"gpt-4o","messages":[{"role":"user","content":[` +
		`{"type":"text","text":"What is in these images?"},` +
		`{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},` +
		`{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg","detail":"low"}}]}]}`,
		check: func(t *testing.T, c *seed002Call) {
			c.wantText(t)
			switch c.format {
			case "anthropic":
				c.wantUp(t, "messages.0.content", `[{"type":"text","text":"What is in these images?"},`+
					`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},`+
					`{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]`)
			case "gemini":
				c.wantUp(t, "contents.0.parts", `[{"text":"What is in these images?"},`+
					`{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}},`+
					`{"fileData":{"fileUri":"https://example.com/cat.jpg"}}]`)
			}
		}},
}

// vendorFields are the seed's OpenAI-compatible vendor extensions.
var vendorFields = []string{"enable_thinking", "enable_search", "search_options", "forced_search", "search_strategy", "search_parameters", "return_citations"}

func TestSeed002ShapesOnEveryUpstreamFormat(t *testing.T) {
	shapes := map[string]seedRequest{}
	for _, s := range seed002Shapes {
		if s.file == "" {
			shapes[s.name] = seedRequest{name: s.name, method: http.MethodPost, path: "/v1/chat/completions", body: []byte(s.body)}
			continue
		}
		f := filepath.Join("testdata", "seeds", "002_0396da4f9f36409f_"+s.file+".http")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		req, err := parseSeedRequest(s.name, data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		shapes[s.name] = req
	}
	// Every 002 request file is one of the shapes above.
	files, _ := filepath.Glob(filepath.Join("testdata", "seeds", "002_*.http"))
	if n := len(shapes) - 1; len(files) != n {
		t.Fatalf("%d seed 002 files, %d shapes from them: a file is not covered", len(files), n)
	}

	for _, f := range seed002Formats {
		g := start(t, opts{yaml: f.yaml, up: fakeOpts{Default: fakeBehavior{Reply: seed002Reply}}})
		for _, s := range seed002Shapes {
			req := shapes[s.name]
			t.Run(s.name+"/"+f.name, func(t *testing.T) {
				c := sendSeed002(t, g, f.name, req)
				s.check(t, c)
			})
		}
	}
}

// sendSeed002 sends one shape with the gateway's key and reads both ends.
func sendSeed002(t *testing.T, g *gateway, format string, req seedRequest) *seed002Call {
	t.Helper()
	before := len(g.Up.Requests())
	c := &seed002Call{format: format, model: req.model(t), stream: req.stream(t), sent: req.body}
	hr, _ := http.NewRequest(req.method, g.URL+req.path, bytes.NewReader(req.body))
	for _, h := range req.headers {
		hr.Header.Set(h[0], h[1])
	}
	hr.Header.Set("Authorization", "Bearer "+g.Key)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	c.reply = curlReply{status: resp.StatusCode, header: resp.Header, body: body}
	if c.reply.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", c.reply.status, body)
	}

	if c.stream {
		checkSeedStream(t, c.reply, c.model)
		var text, reason strings.Builder
		for _, line := range strings.Split(string(body), "\n") {
			d, ok := strings.CutPrefix(line, "data: ")
			if !ok || d == "[DONE]" {
				continue
			}
			ch := gjson.Parse(d)
			text.WriteString(ch.Get("choices.0.delta.content").String())
			reason.WriteString(ch.Get("choices.0.delta.reasoning_content").String())
		}
		c.text, c.reason = text.String(), reason.String()
	} else {
		checkSeedCompletion(t, c.reply, c.model)
		if err := json.Unmarshal(body, &c.answer); err != nil || len(c.answer.Choices) != 1 {
			t.Fatalf("answer (%v): %s", err, body)
		}
		m := c.answer.Choices[0].Message
		if m.Content != nil {
			c.text = *m.Content
		}
		c.reason = m.ReasoningContent
		if c.answer.Usage.PromptTokens == 0 || c.answer.Usage.CompletionTokens == 0 {
			t.Errorf("usage missing: %s", body)
		}
	}

	ups := g.Up.Requests()
	if len(ups) != before+1 {
		t.Fatalf("the upstream got %d requests, want 1", len(ups)-before)
	}
	c.up = ups[len(ups)-1]
	if !json.Valid(c.up.Body) {
		t.Fatalf("upstream body is not JSON: %s", c.up.Body)
	}
	c.upBody = gjson.ParseBytes(c.up.Body)
	switch format {
	case "openai":
		if c.up.Path != "/v1/chat/completions" || c.up.Header.Get("Authorization") != "Bearer "+upstreamKey {
			t.Errorf("upstream %s with Authorization %q", c.up.Path, c.up.Header.Get("Authorization"))
		}
		// Passthrough: the client's bytes, vendor fields and all.
		if want := wantUpstreamBody(t, req.body, c.model, c.stream); !bytes.Equal(c.up.Body, want) {
			t.Errorf("upstream body is not the client's:\n got %s\nwant %s", c.up.Body, want)
		}
		return c
	case "anthropic":
		if c.up.Path != "/v1/messages" || c.up.Header.Get("X-Api-Key") != upstreamKey || c.up.Header.Get("Authorization") != "" {
			t.Errorf("upstream %s with headers %v", c.up.Path, c.up.Header)
		}
		c.wantUp(t, "model", `"`+c.model+`"`)
	case "gemini":
		want, query := "/v1beta/models/"+c.model+":generateContent", ""
		if c.stream {
			want, query = "/v1beta/models/"+c.model+":streamGenerateContent", "alt=sse"
		}
		if c.up.Path != want || c.up.RawQuery != query || c.up.Header.Get("X-Goog-Api-Key") != upstreamKey || c.up.Header.Get("Authorization") != "" {
			t.Errorf("upstream %s?%s, want %s?%s; headers %v", c.up.Path, c.up.RawQuery, want, query, c.up.Header)
		}
	}
	// Translated: the vendor extensions have no counterpart and are dropped.
	for _, f := range vendorFields {
		if bytes.Contains(c.up.Body, []byte(`"`+f+`"`)) {
			t.Errorf("vendor field %s reached the %s upstream: %s", f, format, c.up.Body)
		}
	}
	return c
}
