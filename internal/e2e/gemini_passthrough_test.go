package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestGeminiToGeminiPassesTheBodyThrough: a Gemini client in front of a
// Gemini upstream used to be translated through the canonical form, which
// dropped safetySettings, cachedContent and responseLogprobs. Now the body
// goes up byte for byte and the answer comes back as the upstream sent it,
// metered from its usageMetadata.
func TestGeminiToGeminiPassesTheBodyThrough(t *testing.T) {
	g := start(t, opts{yaml: geminiUpConfig})
	body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],` +
		`"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}],` +
		`"cachedContent":"cachedContents/abc123","generationConfig":{"responseLogprobs":true,"maxOutputTokens":64}}`
	for _, stream := range []bool{false, true} {
		path := "/v1beta/models/gemini-2.5-flash:generateContent"
		if stream {
			path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
		}
		resp := g.postGemini(t, path, googKey(g.Key), body)
		out := readAll(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream=%v: %d %s", stream, resp.StatusCode, out)
		}
		if got := string(g.Up.Last().Body); got != body {
			t.Fatalf("stream=%v: the upstream got\n%s\nwant the client's bytes\n%s", stream, got, body)
		}
		if !strings.Contains(out, "usageMetadata") {
			t.Fatalf("stream=%v: the upstream's answer was not passed through: %s", stream, out)
		}
		genID := resp.Header.Get("X-Generation-Id")
		st, gen := g.admin(t, "GET", "/api/v1/generation?id="+genID, g.Key, "")
		if st != 200 {
			t.Fatalf("generation: %d %v", st, gen)
		}
		data := gen["data"].(map[string]any)
		if data["tokens_completion"].(float64) <= 0 || toJSON(data["total_cost"]) == "0" {
			t.Fatalf("stream=%v: not metered: %s", stream, toJSON(data))
		}
	}
	// What the fake answered is valid Gemini JSON the client can read.
	resp := g.postGemini(t, "/v1beta/models/gemini-2.5-flash:generateContent", googKey(g.Key), body)
	defer resp.Body.Close()
	var v struct {
		Candidates []struct {
			Content struct{ Parts []struct{ Text string } }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || len(v.Candidates) == 0 || v.Candidates[0].Content.Parts[0].Text == "" {
		t.Fatalf("answer: %+v %v", v, err)
	}
}
