package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// matrixConfig routes one model pattern to each upstream format, all five
// served by the one fake (it answers each format at its own paths). The
// Responses route's models are Responses-only: every client dialect
// reaches them in the Responses API (a Responses client by passthrough). Every
// case names its own model, so a route's breaker or a 429's cooling from
// one case cannot reach the next.
const matrixConfig = `
server: { sse_keepalive: 15s }
providers:
  - { name: oa, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}", timeout: 5s, first_byte_timeout: 100ms }
  - { name: an, type: anthropic, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}", timeout: 5s, first_byte_timeout: 100ms }
  - { name: ge, type: gemini, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}", timeout: 5s, first_byte_timeout: 100ms }
  - { name: rs, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}", timeout: 5s, first_byte_timeout: 100ms,
      responses: true, responses_only_models: ["mx-responses-*"] }
  - { name: bk, type: bedrock, base_url: "${FAKE_URL}", region: us-east-1, access_key_id: AKIAMATRIX, secret_access_key: "${FAKE_KEY}",
      timeout: 5s, first_byte_timeout: 100ms }
models:
  - id: "mx-openai-*"
    pricing: { prompt: 1.00, completion: 2.00 }
    routes: [{ provider: oa }]
  - id: "mx-anthropic-*"
    pricing: { prompt: 1.00, completion: 2.00 }
    routes: [{ provider: an }]
  - id: "mx-gemini-*"
    pricing: { prompt: 1.00, completion: 2.00 }
    routes: [{ provider: ge }]
  - id: "mx-responses-*"
    pricing: { prompt: 1.00, completion: 2.00 }
    routes: [{ provider: rs }]
  - id: "mx-bedrock-*"
    pricing: { prompt: 1.00, completion: 2.00 }
    routes: [{ provider: bk }]
`

// mxDialect is a client dialect as the matrix drives it: how a request is
// sent, and what a good answer, a stream's clean and failed ends and an
// error envelope look like.
type mxDialect struct {
	name string
	send func(t *testing.T, g *gateway, key, model string, stream bool) *http.Response
	// answer checks a whole successful answer.
	answer func(body []byte) error
	// streamDone checks a stream ended with the dialect's terminal event;
	// streamFailed that it ended with the dialect's error signal.
	streamDone, streamFailed func(evs []sseEvent) error
	// text is the answer text a stream delivered.
	text func(evs []sseEvent) string
	// envelope checks an error body is the dialect's envelope for status.
	envelope func(status int, body []byte) error
}

// mxUpstream is an upstream format: the model prefix routed to it and the
// path the fake must see.
type mxUpstream struct {
	name string
	path func(model string, stream bool) string
}

// mxFault is one upstream behaviour and what the client and the ledger
// must show for it.
type mxFault struct {
	name       string
	b          fakeBehavior
	streamOnly bool // the fault only exists for streams
	status     int  // the client's status
	// midStream: the answer started (200) and must end in the dialect's
	// error signal, charged for what was delivered.
	midStream bool
	errorCode string // the ledger's error_code; "" on success
	// retryAfter is the Retry-After header the client must get.
	retryAfter string
	// message is a part of the upstream's error message the client must see.
	message string
	// canceled: the gateway must have given up on the upstream request.
	canceled bool
}

var mxFaults = []mxFault{
	{name: "ok", status: 200},
	{name: "upstream_400", b: fakeBehavior{Status: 400, Message: "bad parameter"}, status: 400, errorCode: "*", message: "bad parameter"},
	{name: "upstream_500", b: fakeBehavior{Status: 500, Message: "it broke"}, status: 502, errorCode: "upstream_error", message: "it broke"},
	{name: "upstream_429", b: fakeBehavior{Status: 429, RetryAfter: "7", Message: "slow down"}, status: 429, errorCode: "*", retryAfter: "7", message: "slow down"},
	{name: "drop_before_headers", b: fakeBehavior{DropBeforeHeaders: true}, status: 502, errorCode: "upstream_error"},
	{name: "drop_mid_stream", b: fakeBehavior{DropAfterChunks: 5, Words: 20}, streamOnly: true, status: 200, midStream: true, errorCode: "upstream_error"},
	{name: "end_without_final_event", b: fakeBehavior{EndAfterChunks: 5, Words: 20}, streamOnly: true, status: 200, midStream: true, errorCode: "upstream_error"},
	{name: "slow_first_byte", b: fakeBehavior{FirstByteDelay: 2 * time.Second}, status: 504, errorCode: "upstream_timeout", canceled: true},
}

var mxUpstreams = []mxUpstream{
	{"openai", func(string, bool) string { return "/v1/chat/completions" }},
	{"anthropic", func(string, bool) string { return "/v1/messages" }},
	{"gemini", func(model string, stream bool) string {
		if stream {
			return "/v1beta/models/" + model + ":streamGenerateContent"
		}
		return "/v1beta/models/" + model + ":generateContent"
	}},
	{"responses", func(string, bool) string { return "/v1/responses" }},
	{"bedrock", func(model string, stream bool) string {
		if stream {
			return "/model/" + model + "/converse-stream"
		}
		return "/model/" + model + "/converse"
	}},
}

func mxPost(t *testing.T, g *gateway, path, body string, header http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func streamField(stream bool) string {
	if stream {
		return `"stream":true,`
	}
	return ""
}

var mxDialects = []mxDialect{
	{
		name: "openai",
		send: func(t *testing.T, g *gateway, key, model string, stream bool) *http.Response {
			return mxPost(t, g, "/v1/chat/completions", `{"model":"`+model+`",`+streamField(stream)+`"messages":[{"role":"user","content":"hi"}]}`,
				http.Header{"Authorization": {"Bearer " + key}})
		},
		answer: func(body []byte) error {
			var r struct {
				Object  string
				Choices []struct {
					Message      struct{ Content string }
					FinishReason string `json:"finish_reason"`
				}
			}
			if err := json.Unmarshal(body, &r); err != nil || r.Object != "chat.completion" || len(r.Choices) != 1 || r.Choices[0].Message.Content == "" || r.Choices[0].FinishReason != "stop" {
				return fmt.Errorf("not a completed chat.completion (%v)", err)
			}
			return nil
		},
		streamDone: func(evs []sseEvent) error {
			if len(evs) < 2 || evs[len(evs)-1].data != "[DONE]" {
				return fmt.Errorf("no [DONE] at the end")
			}
			for _, ev := range evs[:len(evs)-1] {
				if f := oaFinish(ev.data); f == "stop" {
					return nil
				} else if f != "" {
					return fmt.Errorf("finish_reason %q", f)
				}
			}
			return fmt.Errorf("no chunk with finish_reason stop")
		},
		streamFailed: func(evs []sseEvent) error {
			if len(evs) < 2 || evs[len(evs)-1].data != "[DONE]" {
				return fmt.Errorf("no [DONE] at the end")
			}
			last := evs[len(evs)-2].data
			if oaFinish(last) != "error" || !strings.Contains(last, `"error":{`) {
				return fmt.Errorf("the chunk before [DONE] is not an error chunk: %s", last)
			}
			return nil
		},
		text: func(evs []sseEvent) (s string) {
			for _, ev := range evs {
				var ch struct {
					Choices []struct{ Delta struct{ Content string } }
				}
				if json.Unmarshal([]byte(ev.data), &ch) == nil && len(ch.Choices) > 0 {
					s += ch.Choices[0].Delta.Content
				}
			}
			return s
		},
		envelope: openAIEnvelope,
	},
	{
		name: "anthropic",
		send: func(t *testing.T, g *gateway, key, model string, stream bool) *http.Response {
			return mxPost(t, g, "/v1/messages", `{"model":"`+model+`","max_tokens":200,`+streamField(stream)+`"messages":[{"role":"user","content":"hi"}]}`,
				http.Header{"X-Api-Key": {key}, "Anthropic-Version": {"2023-06-01"}})
		},
		answer: func(body []byte) error {
			var r struct {
				Type       string
				StopReason string `json:"stop_reason"`
				Content    []struct{ Type, Text string }
			}
			if err := json.Unmarshal(body, &r); err != nil || r.Type != "message" || r.StopReason != "end_turn" || len(r.Content) == 0 || r.Content[0].Text == "" {
				return fmt.Errorf("not a finished message (%v)", err)
			}
			return nil
		},
		streamDone: func(evs []sseEvent) error {
			if len(evs) == 0 || evs[len(evs)-1].name != "message_stop" {
				return fmt.Errorf("the last event is not message_stop")
			}
			for _, ev := range evs {
				if ev.name == "error" {
					return fmt.Errorf("an error event in a good stream")
				}
			}
			return nil
		},
		streamFailed: func(evs []sseEvent) error {
			if len(evs) == 0 || evs[len(evs)-1].name != "error" {
				return fmt.Errorf("the last event is not error")
			}
			for _, ev := range evs {
				if ev.name == "message_stop" {
					return fmt.Errorf("message_stop in a failed stream")
				}
			}
			var e struct {
				Type  string
				Error struct{ Type, Message string }
			}
			if err := json.Unmarshal([]byte(evs[len(evs)-1].data), &e); err != nil || e.Type != "error" || e.Error.Type == "" || e.Error.Message == "" {
				return fmt.Errorf("error event %s", evs[len(evs)-1].data)
			}
			return nil
		},
		text: func(evs []sseEvent) (s string) {
			for _, ev := range evs {
				var d struct{ Delta struct{ Text string } }
				if ev.name == "content_block_delta" && json.Unmarshal([]byte(ev.data), &d) == nil {
					s += d.Delta.Text
				}
			}
			return s
		},
		envelope: func(status int, body []byte) error {
			var e struct {
				Type  string
				Error struct{ Type, Message string }
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Type != "error" || e.Error.Type == "" || e.Error.Message == "" {
				return fmt.Errorf("not Anthropic's error envelope (%v)", err)
			}
			return nil
		},
	},
	{
		name: "gemini",
		send: func(t *testing.T, g *gateway, key, model string, stream bool) *http.Response {
			path := "/v1beta/models/" + model + ":generateContent"
			if stream {
				path = "/v1beta/models/" + model + ":streamGenerateContent?alt=sse"
			}
			return mxPost(t, g, path, `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, googKey(key))
		},
		answer: func(body []byte) error {
			if f, text := geminiFinish(string(body)); f != "STOP" || text == "" {
				return fmt.Errorf("finishReason %q, text %q", f, text)
			}
			return nil
		},
		streamDone: func(evs []sseEvent) error {
			if len(evs) == 0 {
				return fmt.Errorf("no events")
			}
			for _, ev := range evs {
				if strings.Contains(ev.data, `"error"`) {
					return fmt.Errorf("an error in a good stream: %s", ev.data)
				}
			}
			if f, _ := geminiFinish(evs[len(evs)-1].data); f != "STOP" {
				return fmt.Errorf("the last chunk has finishReason %q", f)
			}
			return nil
		},
		streamFailed: func(evs []sseEvent) error {
			if len(evs) == 0 {
				return fmt.Errorf("no events")
			}
			last := evs[len(evs)-1].data
			var e googleEnvelope
			if err := json.Unmarshal([]byte(last), &e); err != nil || e.Error.Code == 0 || e.Error.Status == "" || e.Error.Message == "" {
				return fmt.Errorf("the last chunk is not Google's error envelope: %s", last)
			}
			for _, ev := range evs {
				if f, _ := geminiFinish(ev.data); f == "STOP" {
					return fmt.Errorf("a chunk with finishReason STOP in a failed stream")
				}
			}
			return nil
		},
		text: func(evs []sseEvent) (s string) {
			for _, ev := range evs {
				_, text := geminiFinish(ev.data)
				s += text
			}
			return s
		},
		envelope: func(status int, body []byte) error {
			var top map[string]json.RawMessage
			if err := json.Unmarshal(body, &top); err != nil || len(top) != 1 || top["error"] == nil {
				return fmt.Errorf("not Google's error envelope")
			}
			var e googleEnvelope
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != status || e.Error.Status == "" || e.Error.Message == "" {
				return fmt.Errorf("Google's envelope wants code %d, a status and a message", status)
			}
			return nil
		},
	},
	{
		name: "responses",
		send: func(t *testing.T, g *gateway, key, model string, stream bool) *http.Response {
			return mxPost(t, g, "/v1/responses", `{"model":"`+model+`",`+streamField(stream)+`"input":"hi"}`,
				http.Header{"Authorization": {"Bearer " + key}})
		},
		answer: func(body []byte) error {
			var r struct {
				Object, Status string
				Output         []struct {
					Type    string
					Content []struct{ Type, Text string }
				}
			}
			if err := json.Unmarshal(body, &r); err != nil || r.Object != "response" || r.Status != "completed" || len(r.Output) == 0 || len(r.Output[0].Content) == 0 || r.Output[0].Content[0].Text == "" {
				return fmt.Errorf("not a completed response (%v)", err)
			}
			return nil
		},
		streamDone: func(evs []sseEvent) error {
			if len(evs) == 0 || evs[len(evs)-1].name != "response.completed" {
				return fmt.Errorf("the last event is not response.completed")
			}
			return nil
		},
		streamFailed: func(evs []sseEvent) error {
			if len(evs) == 0 || evs[len(evs)-1].name != "response.failed" {
				return fmt.Errorf("the last event is not response.failed")
			}
			for _, ev := range evs {
				if ev.name == "response.completed" {
					return fmt.Errorf("response.completed in a failed stream")
				}
			}
			return nil
		},
		text: func(evs []sseEvent) (s string) {
			for _, ev := range evs {
				var d struct{ Delta string }
				if ev.name == "response.output_text.delta" && json.Unmarshal([]byte(ev.data), &d) == nil {
					s += d.Delta
				}
			}
			return s
		},
		envelope: openAIEnvelope,
	},
}

// openAIEnvelope checks OpenAI's error envelope (the Responses API's too).
func openAIEnvelope(_ int, body []byte) error {
	var e struct {
		Error *struct {
			Message, Type string
		}
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
		return fmt.Errorf("not OpenAI's error envelope (%v)", err)
	}
	return nil
}

// oaFinish is the finish_reason of an OpenAI chunk, "" for none.
func oaFinish(data string) string {
	var ch struct {
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		}
	}
	if json.Unmarshal([]byte(data), &ch) != nil || len(ch.Choices) == 0 {
		return ""
	}
	return ch.Choices[0].FinishReason
}

// geminiFinish is the first candidate's finishReason and text of a
// GenerateContentResponse.
func geminiFinish(data string) (finish, text string) {
	var r struct {
		Candidates []struct {
			FinishReason string
			Content      struct{ Parts []struct{ Text string } }
		}
	}
	if json.Unmarshal([]byte(data), &r) != nil || len(r.Candidates) == 0 {
		return "", ""
	}
	for _, p := range r.Candidates[0].Content.Parts {
		text += p.Text
	}
	return r.Candidates[0].FinishReason, text
}

// keyUsage is what GET /api/v1/key says the key has spent.
func (g *gateway) keyUsage(t *testing.T, key string) money.Nanos {
	t.Helper()
	st, out := g.admin(t, "GET", "/api/v1/key", key, "")
	if st != 200 {
		t.Fatalf("GET /key: %d %v", st, out)
	}
	var d struct{ Usage money.Nanos }
	if err := json.Unmarshal([]byte(toJSON(out["data"])), &d); err != nil {
		t.Fatal(err)
	}
	return d.Usage
}

// mxDefects are the cases that show a defect of the relay today, by case
// name, with what is wrong. Every check of such a case runs; the one that
// shows the defect skips the case with its reason instead of failing, and
// fails once the defect is gone, so that the entry is removed with the fix.
var mxDefects = map[string]string{}

// TestRelayMatrix drives every client dialect × upstream format × fault,
// streamed and not, through real HTTP, and checks the client's status and
// body, the one upstream call, the ledger row and the key's charge.
func TestRelayMatrix(t *testing.T) {
	g := start(t, opts{yaml: matrixConfig})
	acct, key := g.newAccount(t, "100", "")
	for _, d := range mxDialects {
		for _, up := range mxUpstreams {
			for _, f := range mxFaults {
				for _, stream := range []bool{false, true} {
					if f.streamOnly && !stream {
						continue
					}
					mode := "whole"
					if stream {
						mode = "stream"
					}
					name := d.name + "/" + up.name + "/" + f.name + "/" + mode
					t.Run(name, func(t *testing.T) {
						model := "mx-" + up.name + "-" + d.name + "-" + f.name + "-" + mode
						runMatrixCase(t, g, acct, key, d, up, f, model, stream)
					})
				}
			}
		}
	}
}

func runMatrixCase(t *testing.T, g *gateway, acct, key string, d mxDialect, up mxUpstream, f mxFault, model string, stream bool) {
	g.Up.Reset()
	g.Up.Enqueue(f.b)
	before := g.keyUsage(t, key)

	resp := d.send(t, g, key, model, stream)
	defer resp.Body.Close()
	id := resp.Header.Get("X-Generation-Id")
	if !strings.HasPrefix(id, "gen-") {
		t.Fatalf("X-Generation-Id %q", id)
	}

	// The client's view.
	var delivered string // the text a stream delivered
	if resp.StatusCode != f.status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, f.status, readAll(t, resp.Body))
	}
	if f.retryAfter != "" && resp.Header.Get("Retry-After") != f.retryAfter {
		t.Errorf("Retry-After %q, want %q", resp.Header.Get("Retry-After"), f.retryAfter)
	}
	switch {
	case f.status != 200:
		body := readAll(t, resp.Body)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q for an error", ct)
		}
		if err := d.envelope(f.status, []byte(body)); err != nil {
			t.Errorf("%v: %s", err, body)
		}
		if !strings.Contains(body, f.message) {
			t.Errorf("the upstream's message %q is lost: %s", f.message, body)
		}
	case stream:
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("Content-Type %q for a stream", ct)
		}
		evs, _ := readNamedEvents(t, resp.Body)
		delivered = d.text(evs)
		check := d.streamDone
		if f.midStream {
			check = d.streamFailed
		}
		if err := check(evs); err != nil {
			t.Errorf("%v:\n%s", err, mxShow(evs))
		}
	default:
		body := readAll(t, resp.Body)
		if err := d.answer([]byte(body)); err != nil {
			t.Errorf("%v: %s", err, body)
		}
	}

	// The upstream's view: one call, at the upstream format's path.
	calls := g.Up.Requests()
	if len(calls) != 1 {
		t.Fatalf("upstream calls %d, want 1", len(calls))
	}
	if want := up.path(model, stream); calls[0].Path != want {
		t.Errorf("upstream path %q, want %q", calls[0].Path, want)
	}
	if f.canceled && !g.Up.WaitCanceled(0, 2*time.Second) {
		t.Errorf("the gateway did not give up on the upstream request")
	}

	// The ledger's view. The client has its answer before the handler's
	// deferred finish records it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st, _ := g.admin(t, "GET", "/api/v1/generation?id="+id, g.AdminKey, ""); st == 200 || time.Now().After(deadline) {
			break
		}
	}
	gen := g.waitGeneration(t, id)
	wantStored := f.status
	if gen.Status != wantStored {
		t.Errorf("ledger status %d, want %d", gen.Status, wantStored)
	}
	switch f.errorCode {
	case "":
		if gen.ErrorCode != "" {
			t.Errorf("ledger error_code %q on success", gen.ErrorCode)
		}
	case "*":
		if gen.ErrorCode == "" {
			t.Errorf("ledger error_code empty for a failure")
		}
	default:
		if gen.ErrorCode != f.errorCode {
			t.Errorf("ledger error_code %q, want %q", gen.ErrorCode, f.errorCode)
		}
	}
	if answered := f.status == 200; answered != (gen.Cost > 0) {
		t.Errorf("ledger cost %s; something delivered: %v", gen.Cost, answered)
	}

	if gen.Cancelled {
		t.Errorf("ledger says the client cancelled")
	}
	if gen.Streamed != stream {
		t.Errorf("ledger streamed %v, want %v", gen.Streamed, stream)
	}
	if gen.Model != model {
		t.Errorf("ledger model %q, want %q", gen.Model, model)
	}

	// The charge: released reservation, and the key paid the recorded cost.
	waitNothingHeld(t, g, acct)
	if got := g.keyUsage(t, key) - before; got != gen.Cost {
		t.Errorf("the key was charged %s, the ledger records %s", got, gen.Cost)
	}

	// A stream is charged at least for the text it delivered: the fake's
	// words are a token each or more, whoever counted them. Last, so that
	// a known defect here skips only this check.
	if stream && f.status == 200 {
		words := int64(len(strings.Fields(delivered)))
		ok := words > 0 && gen.TokensCompletion >= words
		why, known := mxDefects[strings.TrimPrefix(t.Name(), "TestRelayMatrix/")]
		switch {
		case !ok && known:
			t.Skipf("defect: %s (ledger completion tokens %d, estimated %v, for %d words delivered: %q)", why, gen.TokensCompletion, gen.UsageEstimated, words, delivered)
		case !ok:
			t.Errorf("ledger completion tokens %d (estimated %v) for %d words delivered (%q)", gen.TokensCompletion, gen.UsageEstimated, words, delivered)
		case known:
			t.Errorf("the defect recorded for this case is gone (%s): remove it from mxDefects", why)
		}
	}
}

// mxShow prints a stream's events for a failure message.
func mxShow(evs []sseEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "  %s: %s\n", ev.name, ev.data)
	}
	return b.String()
}
