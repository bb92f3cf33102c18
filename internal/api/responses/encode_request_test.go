package responses

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

func readRequest(t *testing.T, in []byte) *llm.Request {
	t.Helper()
	var r llm.Request
	if err := json.Unmarshal(in, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestEncodeRequestGolden(t *testing.T) {
	runGolden(t, "encode_request", "json", func(t *testing.T, in []byte) []byte {
		body, err := EncodeRequest(readRequest(t, in))
		if err != nil {
			t.Fatal(err)
		}
		return indentRaw(t, body)
	})
}

// TestEncodeRequestAlwaysSendsStoreFalse: the gateway keeps conversations
// itself, so no request may leave a response stored upstream.
func TestEncodeRequestAlwaysSendsStoreFalse(t *testing.T) {
	files, _ := filepath.Glob("testdata/encode_request/*.json")
	for _, f := range files {
		in, _ := os.ReadFile(f)
		body, err := EncodeRequest(readRequest(t, in))
		if err != nil {
			t.Fatal(err)
		}
		if v := gjson.GetBytes(body, "store"); v.Type != gjson.False {
			t.Errorf("%s: store is %s, want false", f, v.Raw)
		}
	}
}

// Reasoning asks for encrypted content to carry into the next turn, and
// drops the sampling parameters reasoning models refuse.
func TestEncodeRequestIncludesEncryptedReasoningOnlyWhenReasoning(t *testing.T) {
	user := []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}}
	openaiTurn := append(append([]llm.Message{}, user...),
		llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartThinking, Signature: "enc", SignatureVendor: llm.VendorOpenAI}, {Type: llm.PartText, Text: "ok"}}},
		llm.Message{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "more"}}})
	anthropicTurn := append(append([]llm.Message{}, user...),
		llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartThinking, Text: "t", Signature: "sig", SignatureVendor: llm.VendorAnthropic}, {Type: llm.PartText, Text: "ok"}}})
	for _, tc := range []struct {
		name        string
		r           llm.Request
		wantInclude bool
		wantEffort  string
	}{
		{name: "no reasoning", r: llm.Request{Model: "gpt-4.1", Messages: user}},
		{name: "effort", r: llm.Request{Model: "o3", Messages: user, Reasoning: &llm.Reasoning{Effort: "low"}}, wantInclude: true, wantEffort: "low"},
		{name: "effort none", r: llm.Request{Model: "gpt-5.1", Messages: user, Reasoning: &llm.Reasoning{Effort: "none", Disabled: true}}, wantEffort: "none"},
		{name: "disabled without effort sends nothing", r: llm.Request{Model: "o3", Messages: user, Reasoning: &llm.Reasoning{Disabled: true}}},
		{name: "adaptive without effort sends nothing", r: llm.Request{Model: "o3", Messages: user, Reasoning: &llm.Reasoning{Adaptive: true}}},
		{name: "budget", r: llm.Request{Model: "o3", Messages: user, Reasoning: &llm.Reasoning{BudgetTokens: 20000}}, wantInclude: true, wantEffort: "high"},
		{name: "max is xhigh", r: llm.Request{Model: "gpt-5.2", Messages: user, Reasoning: &llm.Reasoning{Effort: "max"}}, wantInclude: true, wantEffort: "xhigh"},
		{name: "history with OpenAI reasoning", r: llm.Request{Model: "o3", Messages: openaiTurn}, wantInclude: true},
		{name: "history with Anthropic reasoning only", r: llm.Request{Model: "gpt-4.1", Messages: anthropicTurn}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			temp, topP := 0.7, 0.9
			tc.r.Temperature, tc.r.TopP = &temp, &topP
			body, err := EncodeRequest(&tc.r)
			if err != nil {
				t.Fatal(err)
			}
			inc := gjson.GetBytes(body, "include")
			got := inc.IsArray() && inc.Get("#").Int() == 1 && inc.Get("0").Str == "reasoning.encrypted_content"
			if got != tc.wantInclude || (!tc.wantInclude && inc.Exists()) {
				t.Errorf("include = %s, want encrypted reasoning: %v", inc.Raw, tc.wantInclude)
			}
			if e := gjson.GetBytes(body, "reasoning.effort").Str; e != tc.wantEffort {
				t.Errorf("reasoning.effort = %q, want %q", e, tc.wantEffort)
			}
			if sampling := gjson.GetBytes(body, "temperature").Exists() || gjson.GetBytes(body, "top_p").Exists(); sampling != (tc.wantEffort == "" || tc.wantEffort == "none") {
				t.Errorf("temperature/top_p sent: %v with effort %q", sampling, tc.wantEffort)
			}
			if tc.wantEffort == "" && gjson.GetBytes(body, "reasoning").Exists() {
				t.Errorf("reasoning sent: %s", gjson.GetBytes(body, "reasoning").Raw)
			}
		})
	}
}

func TestEncodeRequestRefusesWhatResponsesCannotSay(t *testing.T) {
	user := []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "hi"}}}}
	seed, topK := int64(7), int64(40)
	for _, tc := range []struct {
		name      string
		r         llm.Request
		wantParam string
	}{
		{name: "several choices", r: llm.Request{Messages: user, N: 2}, wantParam: "n"},
		{name: "stop sequences", r: llm.Request{Messages: user, Stop: []string{"END"}}, wantParam: "stop"},
		{name: "seed", r: llm.Request{Messages: user, Seed: &seed}, wantParam: "seed"},
		{name: "top_k", r: llm.Request{Messages: user, TopK: &topK}, wantParam: "top_k"},
		{name: "image in the system prompt", r: llm.Request{Messages: user, System: []llm.Part{{Type: llm.PartImage, URL: "https://x/y.png"}}}, wantParam: "system"},
		{name: "image in a system message", r: llm.Request{Messages: append(append([]llm.Message{}, user...), llm.Message{Role: llm.RoleSystem, Parts: []llm.Part{{Type: llm.PartImage, URL: "https://x/y.png"}}})}, wantParam: "messages[1].content"},
		{name: "provider tool", r: llm.Request{Messages: user, Tools: []llm.Tool{{Name: "web_search", Raw: json.RawMessage(`{"type":"web_search_20250305","name":"web_search"}`), RawDialect: "anthropic"}}}, wantParam: "tools[0]"},
		{name: "tool parameters not JSON", r: llm.Request{Messages: user, Tools: []llm.Tool{{Name: "f"}, {Name: "g", Parameters: json.RawMessage(`{"type":`)}}}, wantParam: "tools[1].parameters"},
		{name: "tool choice mode", r: llm.Request{Messages: user, ToolChoice: &llm.ToolChoice{Mode: "any"}}, wantParam: "tool_choice"},
		{name: "named tool choice without a name", r: llm.Request{Messages: user, ToolChoice: &llm.ToolChoice{Mode: "tool"}}, wantParam: "tool_choice"},
		{name: "json_schema without a schema", r: llm.Request{Messages: user, ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Name: "x"}}, wantParam: "response_format.schema"},
		{name: "json_schema with a non-object schema", r: llm.Request{Messages: user, ResponseFormat: &llm.ResponseFormat{Type: "json_schema", Schema: json.RawMessage(`[1]`)}}, wantParam: "response_format.schema"},
		{name: "unknown response format", r: llm.Request{Messages: user, ResponseFormat: &llm.ResponseFormat{Type: "xml"}}, wantParam: "response_format.type"},
		{name: "unknown effort", r: llm.Request{Messages: user, Reasoning: &llm.Reasoning{Effort: "turbo"}}, wantParam: "reasoning.effort"},
		{name: "tool result without a call id", r: llm.Request{Messages: append(append([]llm.Message{}, user...), llm.Message{Role: llm.RoleTool, Parts: []llm.Part{{Type: llm.PartText, Text: "x"}}})}, wantParam: "messages[1].tool_call_id"},
		{name: "unknown role", r: llm.Request{Messages: []llm.Message{{Role: "critic"}}}, wantParam: "messages[0].role"},
		{name: "image with neither URL nor data", r: llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartImage}}}}}, wantParam: "messages[0].content"},
		{name: "file with nothing in it", r: llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartDocument, Filename: "a.pdf"}}}}}, wantParam: "messages[0].content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.Model = "gpt-4.1"
			body, err := EncodeRequest(&tc.r)
			if err == nil {
				t.Fatalf("encoded: %s", body)
			}
			e := llm.AsError(err)
			if e.Status != 400 || e.Param != tc.wantParam {
				t.Errorf("status %d param %q, want 400 %q (%v)", e.Status, e.Param, tc.wantParam, err)
			}
		})
	}
}

// surviving is what a request keeps through the Responses API, as
// DecodeRequest reads it back: the encoder's documented drops applied.
func surviving(r *llm.Request) *llm.Request {
	out := *r
	out.Messages = nil
	for _, m := range r.Messages {
		m.IsError = false
		var ps []llm.Part
		for _, p := range m.Parts {
			switch {
			case p.Type == llm.PartText && p.Text == "":
			case p.Type == llm.PartThinking && m.Role == llm.RoleAssistant && p.SignatureVendor == llm.VendorOpenAI && p.Signature != "":
				p.SignatureVendor = "" // the client dialect cannot know who signed it
				ps = append(ps, p)
			case p.Type == llm.PartThinking, p.Type == llm.PartRedactedThinking:
			default:
				ps = append(ps, p)
			}
		}
		m.Parts = ps
		var tcs []llm.ToolCall
		for _, tc := range m.ToolCalls {
			tc.Signature = ""
			tcs = append(tcs, tc)
		}
		m.ToolCalls = tcs
		out.Messages = append(out.Messages, m)
	}
	out.Tools = nil
	for _, t := range r.Tools {
		if len(t.Parameters) == 0 {
			t.Parameters = json.RawMessage(emptyParameters)
		}
		out.Tools = append(out.Tools, t)
	}
	if rf := out.ResponseFormat; rf != nil && rf.Type == "text" {
		out.ResponseFormat = nil
	}
	if rs := out.Reasoning; rs != nil && rs.Effort == "" && rs.BudgetTokens > 0 {
		out.Reasoning = &llm.Reasoning{Effort: openai.EffortForBudget(rs.BudgetTokens)}
	}
	return &out
}

// asJSONValue compares requests modulo JSON whitespace in raw fields
// (schemas), which encoding compacts.
func asJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEncodeRequestRoundTripsThroughTheClientDecoder: what EncodeRequest
// writes, the package's own client decoder (DecodeRequest, written against
// the same API) reads back as the same canonical request.
func TestEncodeRequestRoundTripsThroughTheClientDecoder(t *testing.T) {
	files, _ := filepath.Glob("testdata/encode_request/*.json")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			in, _ := os.ReadFile(f)
			r := readRequest(t, in)
			body, err := EncodeRequest(r)
			if err != nil {
				t.Fatal(err)
			}
			back, _, err := DecodeRequest(body)
			if err != nil {
				t.Fatalf("DecodeRequest refused EncodeRequest's body: %v\n%s", err, body)
			}
			want, got := asJSONValue(t, surviving(r)), asJSONValue(t, back)
			if !reflect.DeepEqual(got, want) {
				gb, _ := json.MarshalIndent(got, "", "  ")
				wb, _ := json.MarshalIndent(want, "", "  ")
				t.Errorf("round trip differs\n--- got\n%s\n--- want\n%s", gb, wb)
			}
		})
	}
}
