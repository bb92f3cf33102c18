package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// mediaConfig adds per-unit priced models to the base catalogue.
var mediaConfig = strings.Replace(baseConfig, `  - id: "fake-*"`, `  - id: dall-e-3
    pricing: { per_request: 0.001, images: { "1024x1024": 0.04, "1792x1024/hd": 0.12, "1792x1024": 0.08, default: 0.5 } }
    routes: [{ provider: fake }]
  - id: gpt-image-1
    pricing: { prompt: 5.00, completion: 40.00 }
    routes: [{ provider: fake }]
  - id: omni-moderation-latest
    pricing: { per_request: 0.0001 }
    routes: [{ provider: fake }]
  - id: jina-reranker
    pricing: { search_unit: 0.002, prompt: 0.02 }
    routes: [{ provider: fake }]
  - id: tts-1
    pricing: { characters: 15.00, per_request: 0.0005 }
    routes: [{ provider: fake }]
  - id: "fake-*"`, 1)

// storedGeneration flushes the ledger and reads generation id.
func storedGeneration(t *testing.T, g *gateway, id string) *store.Generation {
	t.Helper()
	if id == "" {
		t.Fatal("no X-Generation-Id")
	}
	g.flush(t)
	gen, err := g.Store.GetGeneration(context.Background(), id)
	if err != nil {
		t.Fatalf("generation %s: %v", id, err)
	}
	return gen
}

// TestImagesGeneratePricedPerImage: the SDK's Images.Generate through the
// gateway reaches the fake with the upstream body, and the ledger charges
// per image at the size/quality price plus the per-request price.
func TestImagesGeneratePricedPerImage(t *testing.T) {
	g := start(t, opts{yaml: mediaConfig})
	var hr *http.Response
	resp, err := g.client(option.WithResponseInto(&hr)).Images.Generate(context.Background(), openai.ImageGenerateParams{
		Prompt: "a lighthouse at dusk", Model: "dall-e-3", N: openai.Int(2),
		Size: "1792x1024", Quality: "hd", // as strings: the SDK marks these DALL·E values deprecated
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 2 || resp.Data[0].B64JSON == "" {
		t.Fatalf("data = %+v", resp.Data)
	}
	up := g.Up.Last()
	if up.Path != "/v1/images/generations" || !strings.Contains(string(up.Body), `"size":"1792x1024"`) {
		t.Fatalf("upstream got %s %s", up.Path, up.Body)
	}
	gen := storedGeneration(t, g, hr.Header.Get("X-Generation-Id"))
	want := money.Nanos(2*120_000_000 + 1_000_000) // 2 × $0.12 + $0.001
	if gen.Cost != want || gen.Model != "dall-e-3" || gen.Provider != "fake" || gen.Status != 200 {
		t.Fatalf("generation: cost %s (want %s), %+v", gen.Cost, want, gen)
	}
}

// TestImagesGeneratePricedByTokens: a gpt-image model reports usage; it is
// charged at the token prices and usage.cost says so.
func TestImagesGeneratePricedByTokens(t *testing.T) {
	g := start(t, opts{yaml: mediaConfig})
	var hr *http.Response
	resp, err := g.client(option.WithResponseInto(&hr)).Images.Generate(context.Background(), openai.ImageGenerateParams{
		Prompt: "three red apples", Model: "gpt-image-1", N: openai.Int(3), Quality: openai.ImageGenerateParamsQualityHigh,
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.InputTokens != 3 || resp.Usage.OutputTokens != 3*fakeupstream.FakeImageOutputTokens {
		t.Fatalf("usage = %+v", resp.Usage)
	}
	// $5 / $40 per 1M tokens = 5000 / 40000 nano-dollars per token.
	want := money.Nanos(resp.Usage.InputTokens*5000 + resp.Usage.OutputTokens*40000)
	if got := sdkCost(t, resp.RawJSON()); got != want {
		t.Fatalf("usage.cost = %s, want %s", got, want)
	}
	if gen := storedGeneration(t, g, hr.Header.Get("X-Generation-Id")); gen.Cost != want || gen.TokensCompletion != resp.Usage.OutputTokens {
		t.Fatalf("generation: cost %s (want %s), %+v", gen.Cost, want, gen)
	}
}

// TestModerationsPricedPerRequest: Moderations.New through the gateway.
func TestModerationsPricedPerRequest(t *testing.T) {
	g := start(t, opts{yaml: mediaConfig})
	var hr *http.Response
	resp, err := g.client(option.WithResponseInto(&hr)).Moderations.New(context.Background(), openai.ModerationNewParams{
		Model: "omni-moderation-latest",
		Input: openai.ModerationNewParamsInputUnion{OfStringArray: []string{"hello there", "I will kill the process"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != 2 || resp.Results[0].Flagged || !resp.Results[1].Flagged || !resp.Results[1].Categories.Violence {
		t.Fatalf("results = %+v", resp.Results)
	}
	gen := storedGeneration(t, g, hr.Header.Get("X-Generation-Id"))
	if gen.Cost != 100_000 || gen.Model != "omni-moderation-latest" || gen.Status != 200 {
		t.Fatalf("generation: cost %s, %+v", gen.Cost, gen)
	}
}

// TestRerank: the Cohere/Jina shape through the gateway, priced per
// search unit plus reported tokens.
func TestRerank(t *testing.T) {
	g := start(t, opts{yaml: mediaConfig})
	docs := make([]string, 150)
	for i := range docs {
		docs[i] = "filler text"
	}
	docs[42] = "the gateway routes rerank requests"
	body, _ := json.Marshal(map[string]any{"model": "jina-reranker", "query": "gateway rerank", "documents": docs, "top_n": 3})
	resp := g.post(t, "/v1/rerank", g.Key, string(body))
	defer resp.Body.Close()
	raw := readAll(t, resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("rerank: %d %s", resp.StatusCode, raw)
	}
	var out struct {
		Results []struct {
			Index          int     `json:"index"`
			RelevanceScore float64 `json:"relevance_score"`
		} `json:"results"`
		Usage struct {
			TotalTokens int64       `json:"total_tokens"`
			Cost        money.Nanos `json:"cost"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 3 || out.Results[0].Index != 42 || out.Results[0].RelevanceScore != 1 {
		t.Fatalf("results = %+v", out.Results)
	}
	// 150 documents: 2 search units × $0.002, plus tokens × $0.02/1M (20 nanos).
	want := money.Nanos(2*2_000_000 + out.Usage.TotalTokens*20)
	if out.Usage.TotalTokens == 0 || out.Usage.Cost != want {
		t.Fatalf("usage = %+v, want cost %s", out.Usage, want)
	}
	if gen := storedGeneration(t, g, resp.Header.Get("X-Generation-Id")); gen.Cost != want || gen.Model != "jina-reranker" {
		t.Fatalf("generation: cost %s (want %s), %+v", gen.Cost, want, gen)
	}
}

// TestMediaBadInputAndFaults: malformed requests are 400s in the OpenAI
// envelope, never reaching the upstream; an upstream failure is charged
// nothing.
func TestMediaBadInputAndFaults(t *testing.T) {
	g := start(t, opts{yaml: mediaConfig})
	for _, c := range []struct{ path, body, param string }{
		{"/v1/images/generations", `{"model":"dall-e-3","prompt":"x","n":11}`, "n"},
		{"/v1/images/generations", `{"model":"dall-e-3"}`, "prompt"},
		{"/v1/images/generations", `{"model":"dall-e-3","prompt":"x","size":7}`, "size"},
		{"/v1/images/generations", `{"model":"dall-e-3","prompt":"x","stream":true}`, "stream"},
		{"/v1/moderations", `{"model":"omni-moderation-latest"}`, "input"},
		{"/v1/rerank", `{"model":"jina-reranker","documents":["a"]}`, "query"},
		{"/v1/rerank", `{"model":"jina-reranker","query":"q","documents":[]}`, "documents"},
		{"/v1/rerank", `{"model":"jina-reranker","query":"q","documents":[1]}`, "documents"},
		{"/v1/rerank", `{"model":"jina-reranker","query":"q","documents":["a"],"top_n":-1}`, "top_n"},
		{"/v1/audio/speech", `{"model":"tts-1","voice":"alloy"}`, "input"},
		{"/v1/audio/speech", `{"model":"tts-1","voice":"alloy","input":"` + strings.Repeat("é", 4097) + `"}`, "input"},
	} {
		resp := g.post(t, c.path, g.Key, c.body)
		raw := readAll(t, resp.Body)
		resp.Body.Close()
		var env struct {
			Error struct {
				Param string `json:"param"`
				Type  string `json:"type"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(raw), &env); err != nil || resp.StatusCode != 400 || env.Error.Param != c.param {
			t.Errorf("%s %s: %d %s, want 400 on %q", c.path, c.body, resp.StatusCode, raw, c.param)
		}
	}
	if n := len(g.Up.Requests()); n != 0 {
		t.Fatalf("%d bad requests reached the upstream", n)
	}
	g.Up.Enqueue(fakeBehavior{Status: 400, Message: "content policy"})
	var hr *http.Response
	_, err := g.client(option.WithResponseInto(&hr)).Images.Generate(context.Background(), openai.ImageGenerateParams{Prompt: "x", Model: "dall-e-3"})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "content policy") {
		t.Fatalf("err = %v, want the upstream's refusal", err)
	}
	if gen := storedGeneration(t, g, hr.Header.Get("X-Generation-Id")); gen.Cost != 0 || gen.Status != 400 {
		t.Fatalf("failed generation: %s", fmt.Sprint(gen.Cost, " ", gen.Status))
	}
}

// TestImagesReserveWorstCase: the n images are held against a key's limit
// before the upstream is called: a key whose limit covers one image but
// not three is refused three, without an upstream call, and served one.
func TestImagesReserveWorstCase(t *testing.T) {
	g := start(t, opts{yaml: mediaConfig})
	_, key := g.newAccount(t, "null", `{"limit": 0.1}`) // 1024x1024 costs $0.041 each
	c := g.client(option.WithAPIKey(key))
	_, err := c.Images.Generate(context.Background(), openai.ImageGenerateParams{Prompt: "x", Model: "dall-e-3", N: openai.Int(3), Size: openai.ImageGenerateParamsSize1024x1024})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 402 {
		t.Fatalf("three images on a $0.10 limit: %v, want 402", err)
	}
	if n := len(g.Up.Requests()); n != 0 {
		t.Fatalf("the refused request reached the upstream (%d calls)", n)
	}
	if _, err := c.Images.Generate(context.Background(), openai.ImageGenerateParams{Prompt: "x", Model: "dall-e-3", N: openai.Int(2), Size: openai.ImageGenerateParamsSize1024x1024}); err != nil {
		t.Fatalf("two images on a $0.10 limit: %v", err)
	}
}

// TestMediaUnknownModel: without a catch-all route, an unknown model is a
// 404 as on chat.
func TestMediaUnknownModel(t *testing.T) {
	y := strings.Replace(mediaConfig, "  - id: \"*\"\n    routes: [{ provider: fake }]\n", "", 1)
	if y == mediaConfig {
		t.Fatal("the catch-all route was not removed from the config")
	}
	g := start(t, opts{yaml: y})
	for _, c := range []struct{ path, body string }{
		{"/v1/images/generations", `{"model":"no-such-model","prompt":"x"}`},
		{"/v1/moderations", `{"model":"no-such-model","input":"x"}`},
		{"/v1/rerank", `{"model":"no-such-model","query":"q","documents":["a"]}`},
	} {
		resp := g.post(t, c.path, g.Key, c.body)
		raw := readAll(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.Contains(raw, `"error"`) {
			t.Errorf("%s: %d %s, want 404", c.path, resp.StatusCode, raw)
		}
	}
}

// TestSpeechStreamsAudioPricedPerCharacter: Audio.Speech.New through the
// gateway gets the fake's audio bytes with their type, charged per
// character; audio cut off mid-way is charged nothing.
func TestSpeechStreamsAudioPricedPerCharacter(t *testing.T) {
	g := start(t, opts{yaml: mediaConfig})
	const input = "héllo from the gateway"
	resp, err := g.client().Audio.Speech.New(context.Background(), openai.AudioSpeechNewParams{
		Model: "tts-1", Input: input, Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")},
	})
	if err != nil {
		t.Fatal(err)
	}
	audio := readAll(t, resp.Body)
	resp.Body.Close()
	if audio != "ID3 héllo\n\nID3 from\n\nID3 the\n\nID3 gateway\n\n" || resp.Header.Get("Content-Type") != "audio/mpeg" {
		t.Fatalf("audio %q of type %q", audio, resp.Header.Get("Content-Type"))
	}
	// 22 characters (not bytes) × $15/1M + $0.0005.
	want := money.Nanos(22*15_000 + 500_000)
	gen := storedGeneration(t, g, resp.Header.Get("X-Generation-Id"))
	if gen.Cost != want || gen.Model != "tts-1" || gen.Status != 200 {
		t.Fatalf("generation: cost %s (want %s), %+v", gen.Cost, want, gen)
	}

	g2 := start(t, opts{yaml: mediaConfig})
	g2.Up.Enqueue(fakeBehavior{DropAfterChunks: 2})
	resp, err = g2.client().Audio.Speech.New(context.Background(), openai.AudioSpeechNewParams{
		Model: "tts-1", Input: input, Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")},
	})
	if err != nil {
		t.Fatal(err)
	}
	cut, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || !strings.HasPrefix(string(cut), "ID3 héllo") || strings.Contains(string(cut), "gateway") {
		t.Fatalf("cut audio %q read with error %v, want a broken body", cut, err)
	}
	gen = storedGeneration(t, g2, resp.Header.Get("X-Generation-Id"))
	if gen.Cost != 0 || gen.ErrorCode == "" {
		t.Fatalf("cut generation: cost %s, error %q", gen.Cost, gen.ErrorCode)
	}
}
