package responses

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	oresp "github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// sdkServer answers POST /v1/responses on loopback the way the gateway
// would: the body goes through DecodeRequest, the answer through
// EncodeResponse or the StreamEncoder. got receives the decoded request.
func sdkServer(t *testing.T, answer *llm.Response, events []llm.StreamEvent, got chan<- *llm.Request) *openai.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, x, err := DecodeRequest(body)
		if err != nil {
			e := llm.AsError(err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(e.Status)
			_, _ = w.Write(EncodeError(e, "req_1"))
			return
		}
		got <- req
		opts := Options{Created: 1700000000, Cost: testCost, Echo: x}
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(EncodeResponse(answer, opts))
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		enc := StreamEncoder{ID: "resp_s1", Model: req.Model, Options: opts}
		var out []byte
		for _, ev := range events {
			out = enc.Event(out, ev)
		}
		_, _ = w.Write(enc.Close(out))
	}))
	t.Cleanup(srv.Close)
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
	return &c
}

func weatherTool() oresp.ToolUnionParam {
	return oresp.ToolParamOfFunction("get_weather", map[string]any{
		"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}},
		"required": []string{"city"}, "additionalProperties": false,
	}, true)
}

func TestOpenAISDKResponsesNewDecodesAnswerWithToolCallUsageAndCost(t *testing.T) {
	answer := &llm.Response{ID: "resp_n1", Model: "claude-x", Message: llm.Message{Role: llm.RoleAssistant,
		Parts:     []llm.Part{{Type: llm.PartThinking, Text: "Need weather.", Signature: "sig"}, {Type: llm.PartText, Text: "Let me check."}},
		ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		FinishReason: llm.FinishToolCalls,
		Usage:        llm.Usage{PromptTokens: 30, CompletionTokens: 12, CachedTokens: 10, ReasoningTokens: 4, Present: true}}
	got := make(chan *llm.Request, 1)
	c := sdkServer(t, answer, nil, got)
	resp, err := c.Responses.New(context.Background(), oresp.ResponseNewParams{
		Model:        shared.ResponsesModel("claude-x"),
		Instructions: openai.String("Be brief."),
		Input: oresp.ResponseNewParamsInputUnion{OfInputItemList: oresp.ResponseInputParam{
			oresp.ResponseInputItemParamOfMessage("Weather in Paris?", oresp.EasyInputMessageRoleUser),
		}},
		Tools:           []oresp.ToolUnionParam{weatherTool()},
		MaxOutputTokens: openai.Int(256),
		Reasoning:       shared.ReasoningParam{Effort: shared.ReasoningEffortLow},
		Text: oresp.ResponseTextConfigParam{Format: oresp.ResponseFormatTextConfigParamOfJSONSchema("w",
			map[string]any{"type": "object"})},
	})
	if err != nil {
		t.Fatalf("responses.New: %v", err)
	}
	req := <-got
	if req.Model != "claude-x" || req.MaxTokens != 256 || len(req.System) != 1 || req.System[0].Text != "Be brief." ||
		len(req.Tools) != 1 || !req.Tools[0].Strict || req.Reasoning == nil || req.Reasoning.Effort != "low" ||
		req.ResponseFormat == nil || req.ResponseFormat.Type != "json_schema" || req.ResponseFormat.Name != "w" {
		t.Errorf("decoded request = %+v", req)
	}
	if resp.ID != "resp_n1" || resp.Status != oresp.ResponseStatusCompleted || resp.CreatedAt != 1700000000 {
		t.Errorf("id %q status %q created %v", resp.ID, resp.Status, resp.CreatedAt)
	}
	if resp.OutputText() != "Let me check." {
		t.Errorf("OutputText() = %q", resp.OutputText())
	}
	if len(resp.Output) != 3 {
		t.Fatalf("output has %d items, want reasoning, message, function_call", len(resp.Output))
	}
	if rs := resp.Output[0].AsReasoning(); rs.Type != "reasoning" || len(rs.Summary) != 1 || rs.Summary[0].Text != "Need weather." || rs.EncryptedContent != "sig" {
		t.Errorf("reasoning item = %+v", rs)
	}
	fc := resp.Output[2].AsFunctionCall()
	if fc.CallID != "toolu_1" || fc.Name != "get_weather" || fc.Arguments != `{"city":"Paris"}` || !strings.HasPrefix(fc.ID, "fc_") {
		t.Errorf("function_call item = %+v", fc)
	}
	u := resp.Usage
	if u.InputTokens != 30 || u.OutputTokens != 12 || u.TotalTokens != 42 || u.InputTokensDetails.CachedTokens != 10 || u.OutputTokensDetails.ReasoningTokens != 4 {
		t.Errorf("usage = %+v", u)
	}
	var raw struct {
		Usage struct {
			Cost json.Number `json:"cost"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(resp.RawJSON()), &raw); err != nil || raw.Usage.Cost != "0.000042" {
		t.Errorf("usage.cost = %q (%v), want 0.000042", raw.Usage.Cost, err)
	}
	if resp.Instructions.OfString != "Be brief." || resp.MaxOutputTokens != 256 || len(resp.Tools) != 1 || resp.Tools[0].Name != "get_weather" {
		t.Errorf("echo fields: instructions %+v max %d tools %+v", resp.Instructions, resp.MaxOutputTokens, resp.Tools)
	}
	for name, f := range map[string]interface{ Valid() bool }{"id": resp.JSON.ID, "output": resp.JSON.Output, "usage": resp.JSON.Usage,
		"tool_choice": resp.JSON.ToolChoice, "tools": resp.JSON.Tools, "parallel_tool_calls": resp.JSON.ParallelToolCalls, "metadata": resp.JSON.Metadata} {
		if !f.Valid() {
			t.Errorf("field %s did not decode as its type", name)
		}
	}
}

func TestOpenAISDKResponsesNewSendsMultiTurnToolHistoryThatDecodes(t *testing.T) {
	got := make(chan *llm.Request, 1)
	answer := &llm.Response{ID: "resp_n2", Model: "m", Message: llm.Message{Role: llm.RoleAssistant, Parts: []llm.Part{{Type: llm.PartText, Text: "18C"}}}, FinishReason: llm.FinishStop}
	c := sdkServer(t, answer, nil, got)
	_, err := c.Responses.New(context.Background(), oresp.ResponseNewParams{
		Model: "m",
		Input: oresp.ResponseNewParamsInputUnion{OfInputItemList: oresp.ResponseInputParam{
			oresp.ResponseInputItemParamOfMessage("Weather in Paris?", oresp.EasyInputMessageRoleUser),
			oresp.ResponseInputItemParamOfFunctionCall(`{"city":"Paris"}`, "call_1", "get_weather"),
			{OfFunctionCallOutput: &oresp.ResponseInputItemFunctionCallOutputParam{CallID: openai.String("call_1"),
				Output: oresp.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: openai.String("18C")}}},
		}},
		Tools:             []oresp.ToolUnionParam{weatherTool()},
		ToolChoice:        oresp.ResponseNewParamsToolChoiceUnion{OfToolChoiceMode: openai.Opt(oresp.ToolChoiceOptionsRequired)},
		ParallelToolCalls: openai.Bool(false),
	})
	if err != nil {
		t.Fatalf("responses.New: %v", err)
	}
	req := <-got
	if len(req.Messages) != 3 {
		t.Fatalf("messages = %+v", req.Messages)
	}
	if m := req.Messages[1]; m.Role != llm.RoleAssistant || len(m.ToolCalls) != 1 || m.ToolCalls[0].ID != "call_1" {
		t.Errorf("assistant turn = %+v", m)
	}
	if m := req.Messages[2]; m.Role != llm.RoleTool || m.ToolCallID != "call_1" || m.ToolName != "get_weather" || m.Parts[0].Text != "18C" {
		t.Errorf("tool turn = %+v", m)
	}
	if tc := req.ToolChoice; tc == nil || tc.Mode != "required" || !tc.DisableParallel {
		t.Errorf("tool_choice = %+v", tc)
	}
}

func TestOpenAISDKResponsesNewSeesBuiltInToolRefusalAsA400NamingIt(t *testing.T) {
	c := sdkServer(t, nil, nil, make(chan *llm.Request, 1))
	_, err := c.Responses.New(context.Background(), oresp.ResponseNewParams{
		Model: "m",
		Input: oresp.ResponseNewParamsInputUnion{OfString: openai.String("news?")},
		Tools: []oresp.ToolUnionParam{{OfWebSearch: &oresp.WebSearchToolParam{Type: oresp.WebSearchToolTypeWebSearch}}},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "tools[0].type" || !strings.Contains(apiErr.Message, `"web_search"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenAISDKResponsesStreamReadsEveryEventAndTheCompletedResponse(t *testing.T) {
	events := []llm.StreamEvent{
		{Kind: llm.EventStart, ID: "up", Model: "up-model"},
		{Kind: llm.EventThinking, Text: "Hmm."},
		{Kind: llm.EventText, Text: "Hel"},
		{Kind: llm.EventText, Text: "lo"},
		{Kind: llm.EventToolCallStart, Index: 0, ToolCall: &llm.ToolCall{ID: "call_a", Name: "get_weather"}},
		{Kind: llm.EventToolCallDelta, Index: 0, ToolCall: &llm.ToolCall{Arguments: `{"city":`}},
		{Kind: llm.EventToolCallDelta, Index: 0, ToolCall: &llm.ToolCall{Arguments: `"Rome"}`}},
		{Kind: llm.EventFinish, FinishReason: llm.FinishToolCalls},
		{Kind: llm.EventUsage, Usage: &llm.Usage{PromptTokens: 9, CompletionTokens: 5, Present: true}},
	}
	got := make(chan *llm.Request, 1)
	c := sdkServer(t, nil, events, got)
	stream := c.Responses.NewStreaming(context.Background(), oresp.ResponseNewParams{
		Model: "gpt-s",
		Input: oresp.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
		Tools: []oresp.ToolUnionParam{weatherTool()},
	})
	var (
		text, summary, args string
		types               []string
		seq                 int64
		final               *oresp.Response
	)
	for stream.Next() {
		ev := stream.Current()
		if ev.SequenceNumber != seq {
			t.Errorf("event %s has sequence_number %d, want %d", ev.Type, ev.SequenceNumber, seq)
		}
		seq++
		types = append(types, ev.Type)
		switch e := ev.AsAny().(type) {
		case oresp.ResponseTextDeltaEvent:
			text += e.Delta
		case oresp.ResponseReasoningSummaryTextDeltaEvent:
			summary += e.Delta
		case oresp.ResponseFunctionCallArgumentsDeltaEvent:
			args += e.Delta
		case oresp.ResponseFunctionCallArgumentsDoneEvent:
			if e.Arguments != args {
				t.Errorf("arguments.done %q, deltas %q", e.Arguments, args)
			}
		case oresp.ResponseOutputItemAddedEvent:
			if e.Item.Type == "function_call" && (e.Item.CallID != "call_a" || e.Item.Name != "get_weather") {
				t.Errorf("function_call item added = %+v", e.Item)
			}
		case oresp.ResponseCompletedEvent:
			final = &e.Response
		case nil:
			t.Errorf("event %s did not decode as a known type", ev.Type)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if req := <-got; !req.Stream {
		t.Error("stream: true did not decode")
	}
	if text != "Hello" || summary != "Hmm." || args != `{"city":"Rome"}` {
		t.Errorf("text %q summary %q args %q", text, summary, args)
	}
	if final == nil {
		t.Fatalf("no response.completed among %v", types)
	}
	if final.ID != "resp_s1" || final.Model != "gpt-s" || final.OutputText() != "Hello" || final.Usage.TotalTokens != 14 || len(final.Output) != 3 {
		t.Errorf("completed response: id %q model %q text %q usage %+v items %d", final.ID, final.Model, final.OutputText(), final.Usage, len(final.Output))
	}
}

func TestOpenAISDKResponsesStreamSeesAFailedResponseOnAnUpstreamError(t *testing.T) {
	events := []llm.StreamEvent{
		{Kind: llm.EventText, Text: "par"},
		{Kind: llm.EventError, Error: llm.UpstreamError("upstream connection reset", nil)},
	}
	c := sdkServer(t, nil, events, make(chan *llm.Request, 1))
	stream := c.Responses.NewStreaming(context.Background(), oresp.ResponseNewParams{
		Model: "m", Input: oresp.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
	})
	var sawError bool
	var failed *oresp.Response
	for stream.Next() {
		switch e := stream.Current().AsAny().(type) {
		case oresp.ResponseErrorEvent:
			sawError = e.Message == "upstream connection reset" && e.Code == "server_error"
		case oresp.ResponseFailedEvent:
			failed = &e.Response
		case oresp.ResponseCompletedEvent:
			t.Error("a failed stream sent response.completed")
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if !sawError || failed == nil || failed.Status != oresp.ResponseStatusFailed || failed.Error.Message != "upstream connection reset" {
		t.Fatalf("error event %v, failed response %+v", sawError, failed)
	}
	if len(failed.Output) != 1 || failed.Output[0].Status != "incomplete" {
		t.Errorf("the cut message item should be incomplete: %+v", failed.Output)
	}
}
