package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
)

// generationLines returns the JSON "generation" lines in g's logs.
func generationLines(t *testing.T, g *gateway) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(g.Logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if m["msg"] == "generation" {
			out = append(out, m)
		}
	}
	return out
}

func TestAccessLogHasOneLinePerModelRequest(t *testing.T) {
	g := start(t, opts{})
	c := g.client()
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(`{"model":`))
	req.Header.Set("Authorization", "Bearer "+g.Key)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 400 {
		t.Fatalf("malformed body: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	lines := generationLines(t, g)
	if len(lines) != 2 {
		t.Fatalf("%d generation lines, want 2:\n%s", len(lines), g.Logs.String())
	}
	ok := lines[0]
	if ok["id"] != resp.ID || ok["model"] != "gpt-4o" || ok["provider"] != "fake" || ok["status"] != float64(200) || ok["request_id"] == "" {
		t.Fatalf("line for the answered request: %v", ok)
	}
	if lines[1]["status"] != float64(400) || lines[1]["error"] == "" {
		t.Fatalf("line for the malformed request: %v", lines[1])
	}
}

func TestAccessLogOffKeepsTheLedger(t *testing.T) {
	g := start(t, opts{env: map[string]string{"ACCESS_LOG": "off"}})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if lines := generationLines(t, g); len(lines) != 0 {
		t.Fatalf("access_log: off still logged %d generation lines", len(lines))
	}
	g.flush(t)
	if _, err := g.Store.GetGeneration(context.Background(), resp.ID); err != nil {
		t.Fatalf("generation %s not in the ledger: %v", resp.ID, err)
	}
}
