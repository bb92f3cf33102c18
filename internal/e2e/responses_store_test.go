package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

// TestStoredResponsesAreContinuedByPreviousResponseID: a response is
// stored by default (whole and streamed); a later request naming it with
// previous_response_id reaches every upstream format with the earlier
// turn's input and answer before its own input, and is itself continued in
// a third turn.
func TestStoredResponsesAreContinuedByPreviousResponseID(t *testing.T) {
	for _, up := range responsesUpstreams {
		for _, streamed := range []bool{false, true} {
			name := up.name
			if streamed {
				name += "/streamed"
			}
			t.Run(name, func(t *testing.T) {
				g := start(t, opts{yaml: up.yaml})
				ctx := context.Background()
				g.Up.Enqueue(fakeBehavior{Reply: "Paris is the capital."}, fakeBehavior{Reply: "About two million."}, fakeBehavior{Reply: "Yes."})
				first := newResponse(t, g, streamed, responses.ResponseNewParams{
					Model:        up.model,
					Instructions: openai.String("Answer in one sentence."),
					Input:        responses.ResponseNewParamsInputUnion{OfString: openai.String("What is the capital of France?")},
				})
				if first.OutputText() != "Paris is the capital." {
					t.Fatalf("first answer: %s", first.RawJSON())
				}
				second := newResponse(t, g, streamed, responses.ResponseNewParams{
					Model:              up.model,
					PreviousResponseID: openai.String(first.ID),
					Input:              responses.ResponseNewParamsInputUnion{OfString: openai.String("How many people live there?")},
				})
				body := string(g.Up.Last().Body)
				for _, want := range []string{"What is the capital of France?", "Paris is the capital.", "How many people live there?"} {
					if !strings.Contains(body, want) {
						t.Fatalf("the upstream did not get %q: %s", want, body)
					}
				}
				if strings.Index(body, "capital of France") > strings.Index(body, "Paris is the capital.") ||
					strings.Index(body, "Paris is the capital.") > strings.Index(body, "How many people") {
					t.Fatalf("turns out of order: %s", body)
				}
				// As at OpenAI, the earlier request's instructions are not carried over.
				if strings.Contains(body, "Answer in one sentence.") {
					t.Fatalf("earlier instructions were carried over: %s", body)
				}
				if second.PreviousResponseID != first.ID {
					t.Fatalf("previous_response_id not echoed: %s", second.RawJSON())
				}
				// A chain: the third turn sees both earlier ones.
				newResponse(t, g, streamed, responses.ResponseNewParams{
					Model:              up.model,
					PreviousResponseID: openai.String(second.ID),
					Input:              responses.ResponseNewParamsInputUnion{OfString: openai.String("Is that a lot?")},
				})
				body = string(g.Up.Last().Body)
				for _, want := range []string{"What is the capital of France?", "Paris is the capital.", "How many people live there?", "About two million.", "Is that a lot?"} {
					if !strings.Contains(body, want) {
						t.Fatalf("the third turn's upstream request lacks %q: %s", want, body)
					}
				}
				// GET returns the stored object, as the client first saw it.
				got, err := g.client().Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
				if err != nil {
					t.Fatal(err)
				}
				if got.ID != first.ID || got.OutputText() != first.OutputText() || got.Status != "completed" || got.Usage.TotalTokens != first.Usage.TotalTokens {
					t.Fatalf("GET = %s\nwant %s", got.RawJSON(), first.RawJSON())
				}
			})
		}
	}
}

func newResponse(t *testing.T, g *gateway, streamed bool, params responses.ResponseNewParams, o ...option.RequestOption) *responses.Response {
	t.Helper()
	ctx := context.Background()
	if !streamed {
		r, err := g.client(o...).Responses.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	s := g.client(o...).Responses.NewStreaming(ctx, params)
	var done *responses.Response
	for s.Next() {
		if ev := s.Current(); ev.Type == "response.completed" {
			r := ev.Response
			done = &r
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if done == nil {
		t.Fatal("no response.completed")
	}
	return done
}

// TestStoredResponsesBelongToTheirAccount: any key of the account reads
// a stored response; another account's key gets a 404 for it, as for an
// id that never existed, and can neither continue nor delete it. DELETE
// answers OpenAI's shape, and afterwards the id is a 404.
func TestStoredResponsesBelongToTheirAccount(t *testing.T) {
	g := start(t, opts{})
	ctx := context.Background()
	first, err := g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4o",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Remember me")},
	})
	if err != nil {
		t.Fatal(err)
	}
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"same account"}`)
	if st != 201 {
		t.Fatalf("create key: %d %v", st, out)
	}
	sameAccount := option.WithAPIKey(out["key"].(string))
	if got, err := g.client(sameAccount).Responses.Get(ctx, first.ID, responses.ResponseGetParams{}); err != nil || got.ID != first.ID {
		t.Fatalf("another key of the account: %v %v", got, err)
	}

	_, otherKey := g.newAccount(t, "5", "")
	other := option.WithAPIKey(otherKey)
	_, err = g.client(other).Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
	wantAPIError(t, err, 404, "not_found")
	_, err = g.client(other).Responses.New(ctx, responses.ResponseNewParams{
		Model:              "gpt-4o",
		PreviousResponseID: openai.String(first.ID),
		Input:              responses.ResponseNewParamsInputUnion{OfString: openai.String("What did they say?")},
	})
	wantAPIError(t, err, 404, "not_found")
	wantAPIError(t, g.client(other).Responses.Delete(ctx, first.ID), 404, "not_found")
	_, err = g.client().Responses.Get(ctx, "gen-never-made", responses.ResponseGetParams{})
	wantAPIError(t, err, 404, "not_found")

	// Under /api/v1 too; the shape of OpenAI's reference.
	req, _ := http.NewRequest(http.MethodDelete, g.URL+"/api/v1/responses/"+first.ID, nil)
	req.Header.Set("Authorization", "Bearer "+g.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var deleted map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&deleted)
	resp.Body.Close()
	if resp.StatusCode != 200 || deleted["id"] != first.ID || deleted["object"] != "response" || deleted["deleted"] != true {
		t.Fatalf("DELETE: %d %v", resp.StatusCode, deleted)
	}
	_, err = g.client().Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
	wantAPIError(t, err, 404, "not_found")
	wantAPIError(t, g.client().Responses.Delete(ctx, first.ID), 404, "not_found")
	_, err = g.client().Responses.New(ctx, responses.ResponseNewParams{
		Model:              "gpt-4o",
		PreviousResponseID: openai.String(first.ID),
		Input:              responses.ResponseNewParamsInputUnion{OfString: openai.String("Still there?")},
	})
	wantAPIError(t, err, 404, "not_found")
}

// TestResponsesWithStoreFalseAreNotKept: store: false answers as usual and
// keeps nothing.
func TestResponsesWithStoreFalseAreNotKept(t *testing.T) {
	g := start(t, opts{})
	ctx := context.Background()
	for _, streamed := range []bool{false, true} {
		r := newResponse(t, g, streamed, responses.ResponseNewParams{
			Model: "gpt-4o",
			Store: openai.Bool(false),
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Forget me")},
		})
		if r.OutputText() == "" {
			t.Fatalf("answer: %s", r.RawJSON())
		}
		_, err := g.client().Responses.Get(ctx, r.ID, responses.ResponseGetParams{})
		wantAPIError(t, err, 404, "not_found")
	}
}

// TestStoredResponseRoutesAnswer405ForOtherMethods: GET and DELETE only.
func TestStoredResponseRoutesAnswer405ForOtherMethods(t *testing.T) {
	g := start(t, opts{})
	resp := g.post(t, "/v1/responses/gen-x", g.Key, `{}`)
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "DELETE, GET" {
		t.Fatalf("POST /v1/responses/ID: %d Allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
