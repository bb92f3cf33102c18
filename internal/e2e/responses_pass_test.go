package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// rawResponsesUpstream is a loopback Responses API server that answers
// recorded bytes, so a test can tell what passed through untouched.
type rawResponsesUpstream struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
	body  []byte
	auth  string
}

const passAnswer = `{"id":"resp_upstream_1","object":"response","created_at":1,"status":"completed","model":"gpt-4.1-2025-04-14",` +
	`"output":[{"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"weather"}},` +
	`{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Sunny in Paris.","annotations":[{"type":"url_citation","url":"https://example.com","title":"Weather","start_index":0,"end_index":5}]}]}],` +
	`"x_vendor_field":{"kept":true},"usage":{"input_tokens":1000,"input_tokens_details":{"cached_tokens":0},"output_tokens":500,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":1500}}`

// passStream is an upstream stream: the events a Responses upstream sends,
// including one this gateway has never heard of.
var passStream = []string{
	`{"type":"response.created","sequence_number":0,"response":{"id":"resp_upstream_2","object":"response","status":"in_progress","model":"gpt-4.1-2025-04-14","output":[]}}`,
	`{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"type":"message","id":"msg_2","status":"in_progress","role":"assistant","content":[]}}`,
	`{"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_2","output_index":0,"content_index":0,"delta":"Sunny "}`,
	`{"type":"response.vendor_novelty","sequence_number":3,"payload":{"x":1}}`,
	`{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_2","output_index":0,"content_index":0,"delta":"in Paris."}`,
	`{"type":"response.completed","sequence_number":5,"response":{"id":"resp_upstream_2","object":"response","status":"completed","model":"gpt-4.1-2025-04-14",` +
		`"output":[{"type":"message","id":"msg_2","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Sunny in Paris.","annotations":[]}]}],` +
		`"usage":{"input_tokens":1000,"input_tokens_details":{"cached_tokens":0},"output_tokens":500,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":1500}}}`,
}

func newRawResponsesUpstream(t *testing.T) *rawResponsesUpstream {
	u := &rawResponsesUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.paths, u.body, u.auth = append(u.paths, r.URL.Path), b, r.Header.Get("Authorization")
		u.mu.Unlock()
		if r.URL.Path != "/v1/responses" {
			http.Error(w, `{"error":{"message":"not here","type":"invalid_request_error"}}`, http.StatusNotFound)
			return
		}
		if !gjson.GetBytes(b, "stream").Bool() {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, passAnswer)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		switch gjson.GetBytes(b, "x_mode").Str {
		case "overrun": // text far past max_output_tokens, and no end
			_, _ = io.WriteString(w, "event: response.created\ndata: "+passStream[0]+"\n\n")
			for i := range 200 {
				_, _ = io.WriteString(w, `event: response.output_text.delta`+"\n"+`data: {"type":"response.output_text.delta","sequence_number":`+strconv.Itoa(i+1)+`,"item_id":"msg_2","output_index":0,"content_index":0,"delta":"word word word "}`+"\n\n")
			}
			return
		case "slow": // a silence longer than the keep-alive interval
			_, _ = io.WriteString(w, "event: response.created\ndata: "+passStream[0]+"\n\n")
			w.(http.Flusher).Flush()
			time.Sleep(300 * time.Millisecond)
			for _, ev := range passStream[1:] {
				_, _ = io.WriteString(w, "event: "+gjson.Get(ev, "type").Str+"\ndata: "+ev+"\n\n")
			}
			return
		}
		for _, ev := range passStream {
			_, _ = io.WriteString(w, "event: "+gjson.Get(ev, "type").Str+"\ndata: "+ev+"\n\n")
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *rawResponsesUpstream) last() (path string, body []byte, auth string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.paths) == 0 {
		return "", nil, ""
	}
	return u.paths[len(u.paths)-1], u.body, u.auth
}

// TestResponsesPassThroughToAResponsesUpstream: a Responses client and an
// upstream that speaks Responses: the client's bytes go up with only model
// and store changed (its unknown fields and a built-in tool untouched), the
// answer comes back as the upstream sent it (built-in tool items, vendor
// fields) with the gateway's id, the requested model and usage.cost, the
// ledger charges the upstream's usage, and the stored copy is readable.
func TestResponsesPassThroughToAResponsesUpstream(t *testing.T) {
	up := newRawResponsesUpstream(t)
	g := startWith(t, opts{yaml: responsesUpConfig}, up.URL)
	ctx := context.Background()
	var httpResp *http.Response
	resp, err := g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4.1",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")},
		Tools: []responses.ToolUnionParam{responses.ToolParamOfWebSearch(responses.WebSearchToolTypeWebSearch)},
	}, option.WithJSONSet("x_client_field", map[string]any{"deep": []int{1, 2}}), option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	path, body, auth := up.last()
	if path != "/v1/responses" || auth != "Bearer "+upstreamKey {
		t.Fatalf("upstream call %s with %q", path, auth)
	}
	up2 := gjson.ParseBytes(body)
	if up2.Get("model").Str != "gpt-4.1-2025-04-14" || up2.Get("store").Type != gjson.False {
		t.Fatalf("model or store not spliced: %s", body)
	}
	if up2.Get("x_client_field").Raw != `{"deep":[1,2]}` || up2.Get("tools.0.type").Str != "web_search" {
		t.Fatalf("the client's fields did not reach the upstream untouched: %s", body)
	}
	id := httpResp.Header.Get("X-Generation-Id")
	if resp.ID != id || resp.Model != "gpt-4.1" || resp.OutputText() != "Sunny in Paris." {
		t.Fatalf("answer %s (generation %s)", resp.RawJSON(), id)
	}
	raw := gjson.Parse(resp.RawJSON())
	if raw.Get("output.0.type").Str != "web_search_call" || raw.Get("x_vendor_field.kept").Type != gjson.True ||
		raw.Get("output.1.content.0.annotations.0.url").Str != "https://example.com" {
		t.Fatalf("the upstream's answer was not passed through: %s", resp.RawJSON())
	}
	// 1000 × $1/M + 500 × $2/M = $0.002.
	if raw.Get("usage.cost").Raw != "0.002" {
		t.Fatalf("usage.cost = %s", raw.Get("usage.cost").Raw)
	}
	gen := g.waitGeneration(t, id)
	if gen.Provider != "fake" || gen.UpstreamModel != "gpt-4.1-2025-04-14" || gen.TokensPrompt != 1000 || gen.TokensCompletion != 500 ||
		gen.Cost.String() != "0.002" || gen.FinishReason != "stop" || gen.Status != http.StatusOK {
		t.Fatalf("ledger row %+v", gen)
	}
	got, err := g.client().Responses.Get(ctx, id, responses.ResponseGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got.RawJSON() != resp.RawJSON() {
		t.Fatalf("stored %s\nwant %s", got.RawJSON(), resp.RawJSON())
	}
	// A continuation of an answer that used a built-in tool cannot be
	// expanded from the gateway's store: a 400 that says so.
	_, err = g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4.1", PreviousResponseID: openai.String(id),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("And tomorrow?")},
	})
	if e := asAPIError(t, err); e.StatusCode != 400 || e.Param != "previous_response_id" || !strings.Contains(e.Message, "web_search") {
		t.Fatalf("continuation: %v", err)
	}
}

// TestResponsesPassThroughStream: a streamed answer reaches the client as
// the upstream's events (an event type the gateway does not know
// included), with the gateway's id in the events that carry the Response
// object and usage.cost on the final one.
func TestResponsesPassThroughStream(t *testing.T) {
	up := newRawResponsesUpstream(t)
	g := startWith(t, opts{yaml: responsesUpConfig}, up.URL)
	body := `{"model":"gpt-4.1","input":"Weather in Paris?","stream":true,"store":false,"tools":[{"type":"web_search_preview"}],"x_client_field":7}`
	resp := g.post(t, "/v1/responses", g.Key, body)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, readAll(t, resp.Body))
	}
	id := resp.Header.Get("X-Generation-Id")
	events, _ := readNamedEvents(t, resp.Body)
	if len(events) != len(passStream) {
		t.Fatalf("%d events, want %d: %v", len(events), len(passStream), events)
	}
	for i, ev := range events {
		want := gjson.Parse(passStream[i])
		if ev.name != want.Get("type").Str {
			t.Fatalf("event %d named %q, want %q", i, ev.name, want.Get("type").Str)
		}
		got := gjson.Parse(ev.data)
		if !want.Get("response").Exists() {
			if ev.data != passStream[i] {
				t.Fatalf("event %d changed:\n%s\nwant\n%s", i, ev.data, passStream[i])
			}
			continue
		}
		if got.Get("response.id").Str != id || got.Get("response.model").Str != "gpt-4.1" {
			t.Fatalf("event %d not rewritten: %s", i, ev.data)
		}
	}
	final := gjson.Parse(events[len(events)-1].data)
	if final.Get("response.usage.cost").Raw != "0.002" || final.Get("response.output.0.content.0.text").Str != "Sunny in Paris." {
		t.Fatalf("final event %s", events[len(events)-1].data)
	}
	_, upBody, _ := up.last()
	if gjson.GetBytes(upBody, "x_client_field").Raw != "7" || gjson.GetBytes(upBody, "tools.0.type").Str != "web_search_preview" || gjson.GetBytes(upBody, "model").Str != "gpt-4.1-2025-04-14" {
		t.Fatalf("upstream body %s", upBody)
	}
	gen := g.waitGeneration(t, id)
	if gen.TokensPrompt != 1000 || gen.TokensCompletion != 500 || gen.Cost.String() != "0.002" || !gen.Streamed {
		t.Fatalf("ledger row %+v", gen)
	}
	// store: false: nothing kept.
	if _, err := g.client().Responses.Get(context.Background(), id, responses.ResponseGetParams{}); asAPIError(t, err).StatusCode != http.StatusNotFound {
		t.Fatalf("an unstored response was kept: %v", err)
	}
}

// TestResponsesPassThroughStreamOverrunIsCut: an upstream that streams
// far past max_output_tokens is cut off as an answer that reached its
// bound: response.incomplete (max_output_tokens) with the gateway's id,
// and the ledger records finish "length".
func TestResponsesPassThroughStreamOverrunIsCut(t *testing.T) {
	up := newRawResponsesUpstream(t)
	g := startWith(t, opts{yaml: responsesUpConfig}, up.URL)
	resp := g.post(t, "/v1/responses", g.Key, `{"model":"gpt-4.1","input":"talk","stream":true,"max_output_tokens":5,"x_mode":"overrun"}`)
	defer resp.Body.Close()
	id := resp.Header.Get("X-Generation-Id")
	events, _ := readNamedEvents(t, resp.Body)
	lastEv := events[len(events)-1]
	final := gjson.Parse(lastEv.data)
	if lastEv.name != "response.incomplete" || final.Get("response.status").Str != "incomplete" ||
		final.Get("response.incomplete_details.reason").Str != "max_output_tokens" || final.Get("response.id").Str != id {
		t.Fatalf("last event %s: %s", lastEv.name, lastEv.data)
	}
	if len(events) > 20 {
		t.Fatalf("%d events delivered: the stream was not cut", len(events))
	}
	if prev := gjson.Parse(events[len(events)-2].data).Get("sequence_number").Int(); final.Get("sequence_number").Int() != prev+1 {
		t.Fatalf("sequence_number %d after %d", final.Get("sequence_number").Int(), prev)
	}
	// Charged for at most max_output_tokens of output ($1/M in, $2/M out).
	if gen := g.waitGeneration(t, id); gen.FinishReason != "length" || gen.Cost == 0 || gen.Cost > money.Nanos(gen.TokensPrompt*1000+5*2000) {
		t.Fatalf("ledger row %+v", gen)
	}
}

// TestResponsesPassThroughStreamKeepsAlive: during a long upstream silence
// the client gets SSE comments, and the stream then completes.
func TestResponsesPassThroughStreamKeepsAlive(t *testing.T) {
	up := newRawResponsesUpstream(t)
	g := startWith(t, opts{yaml: responsesUpConfig}, up.URL)
	resp := g.post(t, "/v1/responses", g.Key, `{"model":"gpt-4.1","input":"talk","stream":true,"x_mode":"slow"}`)
	defer resp.Body.Close()
	events, comments := readNamedEvents(t, resp.Body)
	if comments == 0 || events[len(events)-1].name != "response.completed" {
		t.Fatalf("%d keep-alives; events %v", comments, events)
	}
}

// TestBuiltinToolWithoutAResponsesUpstreamIsRefused: with only a chat
// upstream, a built-in tool is a 400 naming it, and no upstream is called.
func TestBuiltinToolWithoutAResponsesUpstreamIsRefused(t *testing.T) {
	g := start(t, opts{})
	for _, tool := range []string{"web_search", "file_search", "computer_use_preview", "code_interpreter", "image_generation", "mcp", "local_shell"} {
		t.Run(tool, func(t *testing.T) {
			resp := g.post(t, "/v1/responses", g.Key, `{"model":"gpt-4o","input":"hi","tools":[{"type":"`+tool+`"}]}`)
			defer resp.Body.Close()
			var e struct {
				Error struct{ Message, Type, Param string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 400 || e.Error.Type != "invalid_request_error" || e.Error.Param != "tools[0].type" || !strings.Contains(e.Error.Message, `"`+tool+`"`) {
				t.Fatalf("status %d, error %+v", resp.StatusCode, e.Error)
			}
		})
	}
	if n := len(g.Up.Requests()); n != 0 {
		t.Fatalf("the upstream was called %d times", n)
	}
}

// asAPIError is err as the SDK's API error; a test fails if it is not one.
func asAPIError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var e *openai.Error
	if !errors.As(err, &e) {
		t.Fatalf("want an API error, got %v", err)
	}
	return e
}

// TestContinuationWithABuiltinToolIsRefused: a previous_response_id
// continuation is expanded in the canonical form, which has no built-in
// tools: a 400 naming the tool, before any upstream is called.
func TestContinuationWithABuiltinToolIsRefused(t *testing.T) {
	g := start(t, opts{yaml: responsesUpConfig})
	ctx := context.Background()
	first := newResponse(t, g, false, responses.ResponseNewParams{
		Model: "gpt-4.1", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
	})
	calls := len(g.Up.Requests())
	_, err := g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4.1", PreviousResponseID: openai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("search it")},
		Tools: []responses.ToolUnionParam{responses.ToolParamOfWebSearch(responses.WebSearchToolTypeWebSearch)},
	})
	if e := asAPIError(t, err); e.StatusCode != 400 || e.Param != "tools[0].type" || !strings.Contains(e.Message, `"web_search"`) {
		t.Fatalf("continuation with a built-in tool: %v", err)
	}
	if len(g.Up.Requests()) != calls {
		t.Fatal("the upstream was called")
	}
}
