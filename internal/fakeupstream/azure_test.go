package fakeupstream

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Azure OpenAI: the OpenAI dialect at deployment paths, key in api-key.
func TestAzureDeploymentPaths(t *testing.T) {
	s := start(t, Options{APIKey: "az-key", Default: Behavior{Reply: "hi from azure"}})
	c := client(t)
	do := func(path, body string, header ...string) (*http.Response, []byte) {
		t.Helper()
		resp, err := post(t, context.Background(), c, s.URL+path, body, header...)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	const q = "?api-version=2024-10-21"

	resp, b := do("/openai/deployments/my-gpt/chat/completions"+q, chatBody, "Api-Key", "az-key")
	var out struct {
		Choices []struct {
			Message struct{ Content string }
		}
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || len(out.Choices) != 1 || out.Choices[0].Message.Content != "hi from azure" {
		t.Fatalf("chat: %d %s", resp.StatusCode, b)
	}
	last := s.Last()
	if last.Path != "/openai/deployments/my-gpt/chat/completions" || last.RawQuery != "api-version=2024-10-21" {
		t.Fatalf("recorded %s ? %s", last.Path, last.RawQuery)
	}

	resp, b = do("/openai/deployments/my-gpt/chat/completions"+q, streamBody, "Api-Key", "az-key")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || !strings.Contains(string(b), "data: [DONE]") {
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}

	resp, b = do("/openai/deployments/emb/embeddings"+q, `{"model":"emb","input":["a","b"]}`, "Api-Key", "az-key")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"embedding"`) {
		t.Fatalf("embeddings: %d %s", resp.StatusCode, b)
	}

	resp, b = do("/openai/deployments/inst/completions"+q, `{"model":"inst","prompt":"Say"}`, "Api-Key", "az-key")
	if resp.StatusCode != 200 || !strings.Contains(string(b), "hi from azure") {
		t.Fatalf("completions: %d %s", resp.StatusCode, b)
	}

	// The key is Azure's header there: a Bearer token is not accepted,
	// nor a wrong api-key.
	for _, h := range [][]string{{"Authorization", "Bearer az-key"}, {"Api-Key", "wrong"}} {
		if resp, b := do("/openai/deployments/my-gpt/chat/completions"+q, chatBody, h...); resp.StatusCode != 401 {
			t.Fatalf("%s: status %d %s, want 401", h[0], resp.StatusCode, b)
		}
	}
	// Other paths under /openai are not deployments: the mock's 404.
	if resp, b := do("/openai/deployments/my-gpt/images/generations"+q, chatBody, "Authorization", "Bearer az-key"); resp.StatusCode != 404 {
		t.Fatalf("unknown operation: status %d %s, want 404", resp.StatusCode, b)
	}
	// The plain OpenAI paths still want the Bearer token.
	if resp, b := do("/v1/chat/completions", chatBody, "Api-Key", "az-key"); resp.StatusCode != 401 {
		t.Fatalf("/v1 with api-key: status %d %s, want 401", resp.StatusCode, b)
	}
}
