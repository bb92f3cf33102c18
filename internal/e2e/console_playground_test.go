package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// playgroundRun is what playground.mjs saw.
type playgroundRun struct {
	Error           string     `json:"error"`
	Steps           []string   `json:"steps"`
	ConsoleErrors   []string   `json:"consoleErrors"`
	BadKeyError     string     `json:"badKeyError"`
	Models          []string   `json:"models"`
	Typed           string     `json:"typed"`
	States          []string   `json:"states"`
	Answer          string     `json:"answer"`
	Stats           string     `json:"stats"`
	Error1          string     `json:"error1"`
	Stopped         string     `json:"stopped"`
	Storage         string     `json:"storage"`
	RankModels      string     `json:"rankModels"`
	RankApps        string     `json:"rankApps"`
	RankAppsDay     string     `json:"rankAppsDay"`
	PhonePlayground phoneWidth `json:"phonePlayground"`
	PhoneRankings   phoneWidth `json:"phoneRankings"`
}

type phoneWidth struct {
	ScrollWidth float64 `json:"scrollWidth"`
	InnerWidth  float64 `json:"innerWidth"`
}

// playgroundReply is what the fake upstream streams, a word per chunk.
const playgroundReply = "Streaming from the fake upstream, one word at a time, for the playground."

// TestConsolePlaygroundAndRankingsInABrowser: the admin signs in, opens
// the Playground, gives an API key (a wrong one first: its error is
// shown), picks gpt-4o, sends with Enter and sees the answer grow word by
// word into the fake's full reply, with tokens, cost, latency and time to
// first token; a second turn carries the first; Stop cuts a third short.
// Then Rankings shows gpt-4o and the app named by X-Title. Nothing scrolls
// sideways at 390 px.
func TestConsolePlaygroundAndRankingsInABrowser(t *testing.T) {
	node, chromium := browserTools(t)
	// The chunk delay makes the stream's steps visible to the page (it is
	// not measured): the answer must show while it grows.
	g := start(t, opts{up: fakeOpts{Default: fakeBehavior{Reply: playgroundReply, ChunkDelay: 150 * time.Millisecond}}})
	ctx := context.Background()
	c := g.client(option.WithHeader("X-Title", "Rankings Browser App"))
	for range 2 {
		if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; ; i++ {
		if r, ok := usageRows(t, g, g.AdminKey, "group_by=app")["Rankings Browser App"]; ok && num(t, r, "requests") == 2 {
			break
		}
		if i == 1000 {
			t.Fatal("the ledger never recorded the 2 requests")
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := len(g.Up.Requests())

	shots := os.Getenv("SWITCHYARD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, node, "playground.mjs")
	cmd.Dir = consoleDir
	cmd.Env = append(os.Environ(), "SWITCHYARD_URL="+g.URL, "SWITCHYARD_ADMIN_KEY="+g.AdminKey, "SWITCHYARD_KEY="+g.Key,
		"CHROMIUM="+chromium, "SHOTS="+shots, "MODEL=gpt-4o")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node playground.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var run playgroundRun
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &run); err != nil {
		t.Fatalf("playground.mjs printed %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	t.Logf("screenshots in %s; steps %v", shots, run.Steps)
	if run.Error != "" {
		t.Fatalf("in the browser, after steps %v: %s", run.Steps, run.Error)
	}
	// The wrong key's 401 is logged by chromium as a failed resource load;
	// anything else (a CSP violation, a script error) is a failure.
	for _, e := range run.ConsoleErrors {
		if !strings.Contains(e, "401") {
			t.Errorf("the browser logged an error: %q", e)
		}
	}
	if !strings.Contains(run.BadKeyError, "Loading models failed") || !strings.Contains(run.BadKeyError, "(401)") {
		t.Errorf("a wrong key showed %q", run.BadKeyError)
	}
	if !strings.Contains(strings.Join(run.Models, " "), "gpt-4o") {
		t.Errorf("models %q", run.Models)
	}
	if run.Typed != "Hello\nthere" {
		t.Errorf("Shift+Enter typed %q, want a new line", run.Typed)
	}
	// Streamed: the answer showed at least two partial texts, each a
	// prefix of the full one, before it equalled the fake's whole reply.
	partial := 0
	for _, s := range run.States {
		if s != "" && s != playgroundReply && strings.HasPrefix(playgroundReply, s) {
			partial++
		}
	}
	if partial < 2 || run.Answer != playgroundReply {
		t.Errorf("answer %q after states %q: want %q, shown as it grew", run.Answer, run.States, playgroundReply)
	}
	stats := regexp.MustCompile(`^[\d,]+ prompt \+ [\d,]+ completion tokens · \$0\.\d*[1-9]\d* · latency [\d,]+ ms · first token [\d,]+ ms$`)
	if !stats.MatchString(run.Stats) || run.Error1 != "" {
		t.Errorf("stats %q (error %q): want tokens, a non-zero cost, latency and time to first token", run.Stats, run.Error1)
	}
	if !strings.Contains(run.Stopped, "Stopped.") {
		t.Errorf("the stopped answer's line: %q", run.Stopped)
	}
	if strings.Contains(run.Storage, g.Key) || strings.Contains(run.Storage, "sk-") {
		t.Errorf("web storage or cookies hold a key: %s", run.Storage)
	}
	// The upstream got the system prompt, stream with usage, and in the
	// second turn the first turn's question and answer.
	reqs := g.Up.Requests()[before:]
	if len(reqs) < 2 {
		t.Fatalf("the upstream got %d requests from the playground", len(reqs))
	}
	var second struct {
		Stream   bool `json:"stream"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(reqs[1].Body, &second); err != nil {
		t.Fatal(err)
	}
	roles := []string{}
	for _, m := range second.Messages {
		roles = append(roles, m.Role)
	}
	if !second.Stream || strings.Join(roles, ",") != "system,user,assistant,user" ||
		second.Messages[1].Content != "Hello\nthere" || second.Messages[2].Content != playgroundReply || second.Messages[3].Content != "And again" {
		t.Errorf("second turn sent %s", reqs[1].Body)
	}
	if !strings.Contains(run.RankModels, "gpt-4o") || !strings.Contains(run.RankApps, "Rankings Browser App") || !strings.Contains(run.RankAppsDay, "Rankings Browser App") {
		t.Errorf("rankings: models %q, apps %q, today %q", run.RankModels, run.RankApps, run.RankAppsDay)
	}
	for name, p := range map[string]phoneWidth{"playground": run.PhonePlayground, "rankings": run.PhoneRankings} {
		if p.InnerWidth != 390 || p.ScrollWidth > p.InnerWidth {
			t.Errorf("%s at 390 px: %+v (it scrolls sideways)", name, p)
		}
	}
}
