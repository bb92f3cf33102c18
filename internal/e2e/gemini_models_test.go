package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"google.golang.org/genai"
)

// modelListConfig has three listed models (and a pattern) to page through.
const modelListConfig = geminiIngressConfig + `
  - id: gpt-4o-mini
    context_length: 128000
    max_output_tokens: 16384
    routes: [{ provider: fake }]
  - id: o3
    routes: [{ provider: fake }]
`

func startModelList(t *testing.T) *gateway {
	t.Helper()
	return start(t, opts{yaml: modelListConfig})
}

// openAIModelIDs lists GET /v1/models (OpenAI's shape) as the reference.
func openAIModelIDs(t *testing.T, g *gateway) []string {
	t.Helper()
	st, _, body := g.do(t, "GET", "/v1/models")
	if st != 200 {
		t.Fatalf("GET /v1/models: %d %s", st, body)
	}
	var l struct {
		Object string `json:"object"`
		Data   []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil || l.Object != "list" {
		t.Fatalf("GET /v1/models without anthropic-version is not OpenAI's list: %v %s", err, body)
	}
	var ids []string
	for _, m := range l.Data {
		ids = append(ids, m.ID)
	}
	if len(ids) < 2 {
		t.Fatalf("want at least two models to page through, got %v", ids)
	}
	return ids
}

func TestGeminiModelsListAndGetInGooglesShape(t *testing.T) {
	g := startModelList(t)
	ctx := context.Background()
	want := openAIModelIDs(t, g)
	c := g.gemini(t)

	// Page by page, one model a page: every model once, in order.
	page, err := c.Models.List(ctx, &genai.ListModelsConfig{PageSize: 1})
	var got []string
	for err == nil {
		if len(page.Items) != 1 {
			t.Fatalf("page of %d, want 1", len(page.Items))
		}
		m := page.Items[0]
		if !strings.HasPrefix(m.Name, "models/") || m.DisplayName == "" || !slices.Contains(m.SupportedActions, "generateContent") || !slices.Contains(m.SupportedActions, "countTokens") {
			t.Fatalf("model %+v not in Google's shape", m)
		}
		got = append(got, strings.TrimPrefix(m.Name, "models/"))
		page, err = page.Next(ctx)
	}
	if !errors.Is(err, genai.ErrPageDone) {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged list %v, want %v", got, want)
	}

	m, err := c.Models.Get(ctx, "gpt-4o", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "models/gpt-4o" || !slices.Contains(m.SupportedActions, "streamGenerateContent") {
		t.Fatalf("get: %+v", m)
	}
	// A name only a pattern resolves is a model too.
	if m, err := c.Models.Get(ctx, "models/fake-anything", nil); err != nil || m.Name != "models/fake-anything" {
		t.Fatalf("get by pattern: %+v %v", m, err)
	}

	_, err = c.Models.Get(ctx, "no-such-model", nil)
	wantGenaiError(t, err, 404, "NOT_FOUND")
	_, err = g.genaiClient(t, "sk-not-a-key", "v1beta").Models.List(ctx, nil)
	wantGenaiError(t, err, 401, "UNAUTHENTICATED")

	for _, path := range []string{"/v1beta/models?pageSize=ten", "/v1beta/models?pageSize=-1", "/v1beta/models?pageToken=zzz", "/v1beta/models?pageToken=999999"} {
		st, _, body := g.do(t, "GET", path)
		if st != 400 || !strings.Contains(body, `"INVALID_ARGUMENT"`) {
			t.Errorf("%s: %d %s, want 400 in Google's envelope", path, st, body)
		}
	}
	// GET on a method is a 405, as under /v1.
	if st, h, _ := g.do(t, "GET", "/v1beta/models/gpt-4o:countTokens"); st != 405 || h.Get("Allow") != "POST" {
		t.Fatalf("GET …:countTokens: %d Allow %q", st, h.Get("Allow"))
	}
}

func TestGeminiCountTokensIsTheGatewaysCount(t *testing.T) {
	g := startGemini(t, fakeOpts{})
	ctx := context.Background()
	c := g.gemini(t)
	text := "How many tokens are in this sentence, counted the way the gateway bills?"

	n, err := c.Models.CountTokens(ctx, "gpt-4o", genai.Text(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The same prompt through Anthropic's count_tokens: gpt-4o is not on an
	// Anthropic upstream, so both are the gateway's own count.
	an, err := g.anthropicClient().Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "gpt-4o", Messages: userText(text)})
	if err != nil {
		t.Fatal(err)
	}
	if n.TotalTokens <= 0 || int64(n.TotalTokens) != an.InputTokens {
		t.Fatalf("countTokens %d, count_tokens %d: want the same positive count", n.TotalTokens, an.InputTokens)
	}
	longer, err := c.Models.CountTokens(ctx, "gpt-4o", genai.Text(strings.Repeat(text+" ", 10)), nil)
	if err != nil || longer.TotalTokens <= n.TotalTokens*5 {
		t.Fatalf("ten times the text: %v %v, want well over %d", longer, err, n.TotalTokens*5)
	}
	if got := len(g.Up.Requests()); got != 0 {
		t.Fatalf("counting sent %d requests upstream", got)
	}

	_, err = c.Models.CountTokens(ctx, "no-such-model", genai.Text(text), nil)
	wantGenaiError(t, err, 404, "NOT_FOUND")
	_, err = g.genaiClient(t, "sk-not-a-key", "v1beta").Models.CountTokens(ctx, "gpt-4o", genai.Text(text), nil)
	wantGenaiError(t, err, 401, "UNAUTHENTICATED")

	// Google's other body form, and bad bodies.
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"generateContentRequest":{"model":"models/gpt-4o","contents":[{"role":"user","parts":[{"text":"hi"}]}]}}`, 200},
		{`{"contents":"hi"}`, 400},
		{`{"contents":[]}`, 400},
		{`{"generateContentRequest":[1]}`, 400},
		{`[1,2]`, 400},
		{`{"contents":[`, 400},
	} {
		resp := g.postGemini(t, "/v1beta/models/gpt-4o:countTokens?key="+g.Key, nil, tc.body)
		body := readAll(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.body, resp.StatusCode, body, tc.status)
			continue
		}
		if tc.status == 400 && !strings.Contains(body, `"INVALID_ARGUMENT"`) {
			t.Errorf("%s: %s, want Google's envelope", tc.body, body)
		}
		if tc.status == 200 && !strings.Contains(body, `"totalTokens":`) {
			t.Errorf("%s: %s", tc.body, body)
		}
	}
}

func TestAnthropicModelsListAndGetWithAnthropicVersion(t *testing.T) {
	g := startModelList(t)
	ctx := context.Background()
	want := openAIModelIDs(t, g)
	ac := g.anthropicClient()

	first, err := ac.Models.List(ctx, anthropic.ModelListParams{Limit: anthropic.Int(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Data) != 1 || !first.HasMore || first.FirstID != want[0] || first.LastID != want[0] {
		t.Fatalf("first page %+v, want %s and has_more", first, want[0])
	}
	m := first.Data[0]
	if m.Type != "model" || m.DisplayName == "" || m.CreatedAt.IsZero() {
		t.Fatalf("model %+v not in Anthropic's shape", m)
	}

	var got []string
	iter := ac.Models.ListAutoPaging(ctx, anthropic.ModelListParams{Limit: anthropic.Int(1)})
	for iter.Next() {
		got = append(got, iter.Current().ID)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("auto-paged %v, want %v", got, want)
	}
	// before_id pages back.
	back, err := ac.Models.List(ctx, anthropic.ModelListParams{BeforeID: anthropic.String(want[1]), Limit: anthropic.Int(5)})
	if err != nil || len(back.Data) != 1 || back.Data[0].ID != want[0] || back.HasMore {
		t.Fatalf("before_id: %+v %v", back, err)
	}

	info, err := ac.Models.Get(ctx, "gpt-4o", anthropic.ModelGetParams{})
	if err != nil || info.ID != "gpt-4o" || info.Type != "model" {
		t.Fatalf("get: %+v %v", info, err)
	}
	_, err = ac.Models.Get(ctx, "no-such-model", anthropic.ModelGetParams{})
	wantAnthropicError(t, err, 404, "not_found_error")
	_, err = ac.Models.List(ctx, anthropic.ModelListParams{AfterID: anthropic.String("no-such-model")})
	wantAnthropicError(t, err, 400, "invalid_request_error")
	_, err = g.anthropicClient(aoption.WithAPIKey("sk-not-a-key")).Models.List(ctx, anthropic.ModelListParams{})
	wantAnthropicError(t, err, 401, "authentication_error")

	// Without anthropic-version the same path is OpenAI's list (openAIModelIDs
	// checked it) and OpenAI's model.
	req, _ := http.NewRequest("GET", g.URL+"/v1/models/gpt-4o", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if !strings.Contains(body, `"object":"model"`) || strings.Contains(body, `"type":"model"`) {
		t.Fatalf("GET /v1/models/gpt-4o without anthropic-version: %s", body)
	}
}
