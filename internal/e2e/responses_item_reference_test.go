package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
)

// TestItemReferencesResolveToStoredOutputItems: with store on, clients
// send an earlier answer's items back as {"type":"item_reference","id":…}
// (the Vercel AI SDK's second turn does). The gateway used to refuse them
// with a 400; it now puts the stored items in their place, for every
// upstream format: an assistant message and a function call, which the
// function_call_output after it answers.
func TestItemReferencesResolveToStoredOutputItems(t *testing.T) {
	for _, up := range responsesUpstreams {
		t.Run(up.name, func(t *testing.T) {
			g := start(t, opts{yaml: up.yaml})
			// The earlier answers whole, then streamed (stored from the
			// final event).
			for _, streamed := range []bool{false, true} {
				g.Up.Enqueue(fakeBehavior{Reply: "Hello Ada."})
				first := newResponse(t, g, streamed, responses.ResponseNewParams{
					Model: up.model,
					Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("My name is Ada.")},
				})
				tool := responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{
					Name:       "get_weather",
					Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
				}}
				call := newResponse(t, g, streamed, responses.ResponseNewParams{
					Model: up.model,
					Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")},
					Tools: []responses.ToolUnionParam{tool},
				})
				if len(first.Output) != 1 || len(call.Output) != 1 || call.Output[0].Type != "function_call" {
					t.Fatalf("first %s\ncall %s", first.RawJSON(), call.RawJSON())
				}
				out := responses.ResponseInputItemParamOfFunctionCallOutput("sunny, 21C")
				out.OfFunctionCallOutput.CallID = openai.String(call.Output[0].CallID)
				resp, err := g.client().Responses.New(context.Background(), responses.ResponseNewParams{
					Model: up.model,
					Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
						responses.ResponseInputItemParamOfMessage("My name is Ada.", responses.EasyInputMessageRoleUser),
						responses.ResponseInputItemParamOfItemReference(first.Output[0].ID),
						responses.ResponseInputItemParamOfMessage("Weather in Paris?", responses.EasyInputMessageRoleUser),
						responses.ResponseInputItemParamOfItemReference(call.Output[0].ID),
						out,
					}},
					Tools: []responses.ToolUnionParam{tool},
				})
				if err != nil {
					var apiErr *openai.Error
					if errors.As(err, &apiErr) {
						t.Fatalf("%v: %s", err, apiErr.RawJSON())
					}
					t.Fatal(err)
				}
				if resp.Status != "completed" || resp.OutputText() == "" {
					t.Fatalf("response %s", resp.RawJSON())
				}
				body := string(g.Up.Last().Body)
				for _, want := range []string{"My name is Ada.", "Hello Ada.", "Weather in Paris?", "get_weather", "sunny, 21C"} {
					if !strings.Contains(body, want) {
						t.Fatalf("the upstream did not get %q: %s", want, body)
					}
				}
				if strings.Index(body, "Hello Ada.") > strings.Index(body, "Weather in Paris?") || strings.Contains(body, "item_reference") {
					t.Fatalf("streamed %v: references not resolved in place: %s", streamed, body)
				}
			}
		})
	}
}

// TestItemReferenceNotFound: a reference to an item no stored response of
// the account has is a 404 naming it, and nothing reaches the upstream.
func TestItemReferenceNotFound(t *testing.T) {
	g := start(t, opts{})
	first := newResponse(t, g, false, responses.ResponseNewParams{
		Model: "gpt-4o", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")},
	})
	sent := len(g.Up.Requests())
	for _, id := range []string{"msg_gen-nosuchresponse_0", first.Output[0].ID + "7", "item_abc"} {
		_, err := g.client().Responses.New(context.Background(), responses.ResponseNewParams{
			Model: "gpt-4o",
			Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
				responses.ResponseInputItemParamOfItemReference(id),
			}},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || !strings.Contains(apiErr.Message, id) {
			t.Fatalf("reference %q: %v", id, err)
		}
	}
	if n := len(g.Up.Requests()); n != sent {
		t.Fatalf("%d requests reached the upstream", n-sent)
	}
}

// TestItemReferencesToTooManyResponsesAreRefused: one store read per
// referenced response, so a request naming more than 1000 is a 400 before
// any is read.
func TestItemReferencesToTooManyResponsesAreRefused(t *testing.T) {
	g := start(t, opts{})
	var b strings.Builder
	b.WriteString(`{"model":"gpt-4o","input":[`)
	for i := range 1001 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"item_reference","id":"msg_gen-%d_0"}`, i)
	}
	b.WriteString(`]}`)
	resp := g.post(t, "/v1/responses", g.Key, b.String())
	defer resp.Body.Close()
	body := readAll(t, resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "more than 1000") || len(g.Up.Requests()) != 0 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}
