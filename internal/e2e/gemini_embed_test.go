package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"google.golang.org/genai"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// geminiEmbedConfig has an embedding model on an OpenAI-format route and
// one on a Gemini-format route, both at the one fake.
const geminiEmbedConfig = `
server:
  max_body_bytes: 262144
providers:
  - name: fake
    type: openai
    base_url: ${FAKE_URL}/v1
    api_key: ${FAKE_KEY}
  - { name: gemini, type: gemini, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}" }
models:
  - id: text-embedding-3-small
    pricing: { prompt: 0.02, completion: 0 }
    routes: [{ provider: fake }]
  - id: gemini-embedding-001
    pricing: { prompt: 0.15, completion: 0 }
    routes: [{ provider: gemini }]
  - id: embed-anywhere
    pricing: { prompt: 0.10, completion: 0 }
    routes:
      - { provider: gemini, model: gemini-embedding-001, priority: 1 }
      - { provider: fake, model: text-embedding-3-small, priority: 2 }
`

// embedSent is the OpenAI /embeddings body the fake received.
type embedSent struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	Dimensions     int      `json:"dimensions"`
	EncodingFormat string   `json:"encoding_format"`
	TaskType       any      `json:"taskType"`
}

func TestGeminiEmbedContentOnAnOpenAIRoute(t *testing.T) {
	g := start(t, opts{yaml: geminiEmbedConfig})
	ctx := context.Background()
	c := g.gemini(t)
	texts := []string{"the first text", "a second, longer text to embed", "third"}

	// Several contents: the SDK sends one :batchEmbedContents.
	var contents []*genai.Content
	for _, s := range texts {
		contents = append(contents, genai.NewContentFromText(s, genai.RoleUser))
	}
	dims := int32(16)
	resp, err := c.Models.EmbedContent(ctx, "text-embedding-3-small", contents, &genai.EmbedContentConfig{TaskType: "RETRIEVAL_DOCUMENT", OutputDimensionality: &dims})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != len(texts) {
		t.Fatalf("%d embeddings for %d texts", len(resp.Embeddings), len(texts))
	}
	up := g.Up.Last()
	var sent embedSent
	if err := json.Unmarshal(up.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if up.Path != "/v1/embeddings" || sent.Model != "text-embedding-3-small" || strings.Join(sent.Input, "|") != strings.Join(texts, "|") ||
		sent.Dimensions != 16 || sent.EncodingFormat != "float" || sent.TaskType != nil {
		t.Fatalf("upstream got %s %s", up.Path, up.Body)
	}
	// The same texts on /v1/embeddings: the same vectors, in the same order
	// (the fake's vectors are a function of the text).
	ref, err := g.client().Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: "text-embedding-3-small", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}, Dimensions: openai.Int(16),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range resp.Embeddings {
		want := ref.Data[i].Embedding
		if len(e.Values) != 16 || len(want) != 16 {
			t.Fatalf("embedding %d has %d values, reference %d; want 16", i, len(e.Values), len(want))
		}
		for j := range want {
			if float64(e.Values[j]) != float64(float32(want[j])) {
				t.Fatalf("embedding %d differs from /v1/embeddings' at %d: %v vs %v", i, j, e.Values[j], want[j])
			}
		}
	}

	// Priced and recorded as /embeddings: the upstream's prompt tokens.
	id := resp.SDKHTTPResponse.Headers.Get("X-Generation-Id")
	gen := storedGeneration(t, g, id)
	if gen.Model != "text-embedding-3-small" || gen.Provider != "fake" || gen.Status != 200 || gen.UsageEstimated ||
		gen.TokensPrompt != ref.Usage.PromptTokens || gen.TokensPrompt == 0 || gen.Cost != money.Nanos(gen.TokensPrompt*20) {
		t.Fatalf("generation %+v; want %d prompt tokens at $0.02/M", gen, ref.Usage.PromptTokens)
	}
}

// pathRecorder is an http.RoundTripper that notes each request's path.
type pathRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (p *pathRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.paths = append(p.paths, r.URL.Path)
	p.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestGeminiEmbedContentOneContent: the SDK sends even one content as
// :batchEmbedContents (Gemini API backend), and gets one embedding back.
func TestGeminiEmbedContentOneContent(t *testing.T) {
	g := start(t, opts{yaml: geminiEmbedConfig})
	rec := &pathRecorder{}
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: g.Key, Backend: genai.BackendGeminiAPI, HTTPClient: &http.Client{Transport: rec},
		HTTPOptions: genai.HTTPOptions{BaseURL: g.URL, APIVersion: "v1beta"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Models.EmbedContent(context.Background(), "text-embedding-3-small", genai.Text("just one"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 1 || len(resp.Embeddings[0].Values) == 0 {
		t.Fatalf("embeddings %+v", resp.Embeddings)
	}
	if len(rec.paths) != 1 || rec.paths[0] != "/v1beta/models/text-embedding-3-small:batchEmbedContents" {
		t.Fatalf("the SDK called %v", rec.paths)
	}
	var sent embedSent
	if err := json.Unmarshal(g.Up.Last().Body, &sent); err != nil || len(sent.Input) != 1 || sent.Input[0] != "just one" || sent.Dimensions != 0 {
		t.Fatalf("upstream got %s", g.Up.Last().Body)
	}
}

func TestGeminiEmbedContentRawShapesAndRefusals(t *testing.T) {
	g := start(t, opts{yaml: geminiEmbedConfig})
	ctx := context.Background()

	// :embedContent, key as ?key=, snake_case as Google's REST takes it.
	resp := g.postGemini(t, "/v1beta/models/text-embedding-3-small:embedContent?key="+g.Key, nil,
		`{"content":{"parts":[{"text":"one"},{"text":"two"}]},"task_type":"SEMANTIC_SIMILARITY","output_dimensionality":4}`)
	body := readAll(t, resp.Body)
	resp.Body.Close()
	var one struct {
		Embedding struct {
			Values []float64 `json:"values"`
		} `json:"embedding"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &one) != nil || len(one.Embedding.Values) != 4 {
		t.Fatalf(":embedContent: %d %s", resp.StatusCode, body)
	}
	var sent embedSent
	if err := json.Unmarshal(g.Up.Last().Body, &sent); err != nil || len(sent.Input) != 1 || sent.Input[0] != "one\ntwo" || sent.Dimensions != 4 {
		t.Fatalf("upstream got %s", g.Up.Last().Body)
	}
	calls := len(g.Up.Requests())

	// A bad key: refused in Google's envelope, as by the SDK.
	_, err := g.genaiClient(t, "sk-not-a-key", "v1beta").Models.EmbedContent(ctx, "text-embedding-3-small", genai.Text("hi"), nil)
	wantGenaiError(t, err, 401, "UNAUTHENTICATED")
	_, err = g.gemini(t).Models.EmbedContent(ctx, "no-such-model", genai.Text("hi"), nil)
	wantGenaiError(t, err, 404, "NOT_FOUND")

	// More than Google's 100 requests in a batch, and other bad bodies.
	var many []string
	for range 101 {
		many = append(many, `{"model":"models/text-embedding-3-small","content":{"parts":[{"text":"x"}]}}`)
	}
	for _, tc := range []struct{ method, body, mention string }{
		{"batchEmbedContents", `{"requests":[` + strings.Join(many, ",") + `]}`, "at most 100"},
		{"batchEmbedContents", `{"requests":[]}`, "at least one"},
		{"batchEmbedContents", `{"requests":[{"model":"models/gpt-4o","content":{"parts":[{"text":"x"}]}}]}`, "URL's model"},
		{"batchEmbedContents", `{"requests":[{"content":{"parts":[{"text":"x"}]},"outputDimensionality":8},{"content":{"parts":[{"text":"y"}]}}]}`, "same outputDimensionality"},
		{"embedContent", `{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]}}`, "text only"},
		{"embedContent", `{"content":{"parts":[{"text":"  "}]}}`, "no text"},
		{"embedContent", `{"content":{"parts":[{"text":"x"}]},"outputDimensionality":0}`, "outputDimensionality"},
		{"embedContent", `{}`, "content is required"},
		{"embedContent", `[1]`, ""},
	} {
		resp := g.postGemini(t, "/v1beta/models/text-embedding-3-small:"+tc.method+"?key="+g.Key, nil, tc.body)
		body := readAll(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(body, `"status":"INVALID_ARGUMENT"`) || !strings.Contains(body, tc.mention) {
			t.Errorf("%s %.80s: %d %s, want 400 INVALID_ARGUMENT mentioning %q", tc.method, tc.body, resp.StatusCode, body, tc.mention)
		}
	}
	// The body limit (server.max_body_bytes) holds here as on every route,
	// answered in Google's envelope.
	big := `{"content":{"parts":[{"text":"` + strings.Repeat("x", 300<<10) + `"}]}}`
	resp = g.postGemini(t, "/v1beta/models/text-embedding-3-small:embedContent?key="+g.Key, nil, big)
	body = readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(body, `"status":"INVALID_ARGUMENT"`) || !strings.Contains(body, "max_body_bytes") {
		t.Errorf("oversized body: %d %s", resp.StatusCode, body)
	}
	if n := len(g.Up.Requests()); n != calls {
		t.Fatalf("refused requests reached the upstream (%d calls, want %d)", n, calls)
	}
}

func TestGeminiEmbedContentOnAGeminiRoute(t *testing.T) {
	g := start(t, opts{yaml: geminiEmbedConfig})
	ctx := context.Background()
	resp, err := g.gemini(t).Models.EmbedContent(ctx, "gemini-embedding-001",
		[]*genai.Content{genai.NewContentFromText("alpha beta", genai.RoleUser), genai.NewContentFromText("gamma", genai.RoleUser)},
		&genai.EmbedContentConfig{TaskType: "RETRIEVAL_QUERY"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 2 || len(resp.Embeddings[0].Values) != 8 || resp.Embeddings[0].Values[0] == resp.Embeddings[1].Values[0] {
		t.Fatalf("embeddings %+v", resp.Embeddings)
	}
	// Sent to Gemini as batchEmbedContents, every field kept, the gateway's key.
	up := g.Up.Last()
	var sent struct {
		Requests []struct {
			Model    string `json:"model"`
			TaskType string `json:"taskType"`
			Content  struct {
				Parts []struct {
					Text string `json:"text"`
				} `json:"parts"`
			} `json:"content"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(up.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if up.Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" || up.Header.Get("X-Goog-Api-Key") != upstreamKey ||
		len(sent.Requests) != 2 || sent.Requests[1].Model != "models/gemini-embedding-001" || sent.Requests[0].TaskType != "RETRIEVAL_QUERY" ||
		sent.Requests[1].Content.Parts[0].Text != "gamma" {
		t.Fatalf("upstream got %s %s", up.Path, up.Body)
	}
	// Gemini reports no usage: the texts are counted, and charged.
	gen := storedGeneration(t, g, resp.SDKHTTPResponse.Headers.Get("X-Generation-Id"))
	if gen.Provider != "gemini" || !gen.UsageEstimated || gen.TokensPrompt == 0 || gen.Cost != money.Nanos(gen.TokensPrompt*150) {
		t.Fatalf("generation %+v", gen)
	}
}

// TestGeminiEmbedContentUpstreamFaults: an upstream's failure fails over
// to the next route as for any call, and what reaches the client is in
// Google's envelope.
func TestGeminiEmbedContentUpstreamFaults(t *testing.T) {
	g := start(t, opts{yaml: geminiEmbedConfig})
	ctx := context.Background()
	c := g.gemini(t)

	// The Gemini route is overloaded: the OpenAI-format one answers.
	g.Up.Enqueue(fakeupstream.Behavior{Status: 503})
	resp, err := c.Models.EmbedContent(ctx, "embed-anywhere", genai.Text("fail over"), nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := g.Up.Requests()
	if len(resp.Embeddings) != 1 || len(reqs) != 2 || reqs[0].Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" || reqs[1].Path != "/v1/embeddings" {
		t.Fatalf("embeddings %d; upstream calls %d", len(resp.Embeddings), len(reqs))
	}
	gen := storedGeneration(t, g, resp.SDKHTTPResponse.Headers.Get("X-Generation-Id"))
	if gen.Provider != "fake" || gen.UpstreamModel != "text-embedding-3-small" || !strings.Contains(gen.Attempts, `"error"`) {
		t.Fatalf("generation %+v", gen)
	}

	// Rate limited: a 429 with Retry-After, in Google's envelope.
	g2 := start(t, opts{yaml: geminiEmbedConfig})
	g2.Up.Enqueue(fakeupstream.Behavior{Status: 429, RetryAfter: "7"})
	_, err = g2.gemini(t).Models.EmbedContent(ctx, "gemini-embedding-001", genai.Text("slow down"), nil)
	wantGenaiError(t, err, 429, "RESOURCE_EXHAUSTED")

	// A malformed answer is the upstream's fault: 502, never a panic.
	g2.Up.Enqueue(fakeupstream.Behavior{MalformedJSON: true})
	_, err = g2.gemini(t).Models.EmbedContent(ctx, "text-embedding-3-small", genai.Text("garbled"), nil)
	wantGenaiError(t, err, 502, "UNAVAILABLE")
}
