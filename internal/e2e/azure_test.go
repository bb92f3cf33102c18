package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
)

// azureConfig sends azure-* to a `type: azure` provider whose base URL is
// the fake (its OpenAI dialect serves the deployment paths); the route's
// upstream model is the deployment name. "azure-old" names an api_version,
// "azure" takes the default.
const azureConfig = `
providers:
  - { name: azure, type: azure, base_url: "${FAKE_URL}/openai/", api_key: "${FAKE_KEY}" }
  - { name: azure-old, type: azure, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}", api_version: "2024-02-01" }
models:
  - id: gpt-4o
    pricing: { prompt: 2.50, completion: 10.00 }
    routes: [{ provider: azure, model: my-gpt4o-deployment }]
  - id: old-gpt
    pricing: { prompt: 2.50, completion: 10.00 }
    routes: [{ provider: azure-old, model: legacy-deployment }]
  - id: text-embedding-3-small
    routes: [{ provider: azure, model: emb-deployment }]
`

// checkAzureRequest asserts the last upstream request went to the
// deployment URL with Azure's credential and none of OpenAI's.
func checkAzureRequest(t *testing.T, g *gateway, path, version string) {
	t.Helper()
	up := g.Up.Last()
	if up.Path != path || up.RawQuery != "api-version="+version {
		t.Fatalf("upstream request %s?%s, want %s?api-version=%s", up.Path, up.RawQuery, path, version)
	}
	if got := up.Header.Get("Api-Key"); got != upstreamKey {
		t.Fatalf("upstream api-key %q, want the provider key", got)
	}
	if got := up.Header.Get("Authorization"); got != "" {
		t.Fatalf("upstream Authorization %q: Azure takes the key in api-key only", got)
	}
}

func TestOpenAIClientToAzure(t *testing.T) {
	g := start(t, opts{yaml: azureConfig, up: fakeOpts{Default: fakeBehavior{Reply: "Hello from Azure"}}})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("Hi")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Hello from Azure" || resp.Model != "gpt-4o" || !strings.HasPrefix(resp.ID, "gen-") {
		t.Fatalf("response %s", resp.RawJSON())
	}
	if resp.Usage.PromptTokens == 0 || sdkCost(t, resp.RawJSON()) == 0 {
		t.Fatalf("usage %s", resp.RawJSON())
	}
	checkAzureRequest(t, g, "/openai/deployments/my-gpt4o-deployment/chat/completions", "2024-10-21")
	if body := string(g.Up.Last().Body); !strings.Contains(body, `"model":"my-gpt4o-deployment"`) {
		t.Fatalf("upstream body %s", body)
	}

	// A configured api_version, and a base URL without /openai.
	if _, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "old-gpt", Messages: userMsg("Hi")}); err != nil {
		t.Fatal(err)
	}
	checkAzureRequest(t, g, "/openai/deployments/legacy-deployment/chat/completions", "2024-02-01")
}

func TestOpenAIStreamFromAzure(t *testing.T) {
	g := start(t, opts{yaml: azureConfig, up: fakeOpts{Default: fakeBehavior{Reply: "one two three"}}})
	for _, includeUsage := range []bool{false, true} {
		params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("count")}
		if includeUsage {
			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: param.NewOpt(true)}
		}
		stream := g.client().Chat.Completions.NewStreaming(context.Background(), params)
		acc := openai.ChatCompletionAccumulator{}
		var last openai.ChatCompletionChunk
		for stream.Next() {
			last = stream.Current()
			if len(last.Choices) == 0 && !includeUsage {
				t.Fatalf("usage-only chunk for a client that did not ask for usage: %s", last.RawJSON())
			}
			acc.AddChunk(last)
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if got := acc.Choices[0].Message.Content; got != "one two three" || acc.Choices[0].FinishReason != "stop" {
			t.Fatalf("include_usage=%v: text %q finish %q", includeUsage, got, acc.Choices[0].FinishReason)
		}
		if includeUsage && (len(last.Choices) != 0 || last.Usage.TotalTokens == 0) {
			t.Fatalf("final chunk should be the usage-only chunk: %s", last.RawJSON())
		}
		if !strings.Contains(last.RawJSON(), `"cost":`) {
			t.Fatalf("no cost on the final usage: %s", last.RawJSON())
		}
		checkAzureRequest(t, g, "/openai/deployments/my-gpt4o-deployment/chat/completions", "2024-10-21")
		if !strings.Contains(string(g.Up.Last().Body), `"include_usage":true`) {
			t.Fatalf("upstream body lacks include_usage: %s", g.Up.Last().Body)
		}
	}
}

func TestEmbeddingsThroughAzure(t *testing.T) {
	g := start(t, opts{yaml: azureConfig})
	resp, err := g.client().Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 2 || len(resp.Data[0].Embedding) == 0 || resp.Usage.PromptTokens == 0 {
		t.Fatalf("embeddings %s", resp.RawJSON())
	}
	checkAzureRequest(t, g, "/openai/deployments/emb-deployment/embeddings", "2024-10-21")
}
