package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// generationsRun is what generations.mjs saw.
type generationsRun struct {
	Error         string              `json:"error"`
	Steps         []string            `json:"steps"`
	ConsoleErrors []string            `json:"consoleErrors"`
	All           []map[string]string `json:"all"`
	FirstRowCells []string            `json:"firstRowCells"`
	Page1         []map[string]string `json:"page1"`
	Page2         []map[string]string `json:"page2"`
	NextOnLast    bool                `json:"nextOnLastPage"`
	ModelKept     string              `json:"modelKept"`
	Attempts      [][]string          `json:"attempts"`
	DetailCost    string              `json:"detailCost"`
	Models        []struct {
		ID    string   `json:"id"`
		Cells []string `json:"cells"`
	} `json:"models"`
	Providers []struct {
		ID    string   `json:"id"`
		Cells []string `json:"cells"`
	} `json:"providers"`
	Overflow map[string]int `json:"overflow"`
}

// TestConsoleGenerationsModelsProviders: requests made with the OpenAI SDK
// show in the Generations page; in chromium the admin filters them by
// model, pages through them, opens the failed-over one and sees both its
// attempts, then reads the Models and Providers pages, also at phone width.
func TestConsoleGenerationsModelsProviders(t *testing.T) {
	node, chromium := browserTools(t)
	g, a := startGenerations(t)
	chat := func(model string) {
		t.Helper()
		if _, err := g.client(option.WithHeader("X-Title", "BrowserApp")).Chat.Completions.New(context.Background(),
			openai.ChatCompletionNewParams{Model: model, Messages: userMsg("hi")}); err != nil {
			t.Fatal(err)
		}
	}
	for range 11 {
		chat("solo")
	}
	a.Enqueue(fakeBehavior{Status: 503})
	chat("duo")
	g.waitListed(t, 12)

	shots := os.Getenv("SWITCHYARD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "generations.mjs")
	cmd.Dir = consoleDir
	cmd.Env = append(os.Environ(), "SWITCHYARD_URL="+g.URL, "SWITCHYARD_ADMIN_KEY="+g.AdminKey, "CHROMIUM="+chromium, "SHOTS="+shots)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node generations.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var run generationsRun
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &run); err != nil {
		t.Fatalf("generations.mjs printed %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	t.Logf("screenshots in %s; steps %v", shots, run.Steps)
	if run.Error != "" {
		t.Fatalf("in the browser, after steps %v: %s", run.Steps, run.Error)
	}
	if len(run.ConsoleErrors) > 0 {
		t.Errorf("the browser logged errors (a CSP violation, a script error): %q", run.ConsoleErrors)
	}
	if len(run.All) != 12 || run.All[0]["model"] != "duo" {
		t.Errorf("the Generations page lists %v, want 12, the duo request first", run.All)
	}
	// Time, key, model, provider, status, cost, tokens, latency, app.
	if c := run.FirstRowCells; len(c) < 9 || !strings.Contains(c[1], "sk-sy-") || c[2] != "duo" || c[3] != "b" || c[4] != "200" ||
		!strings.HasPrefix(c[5], "$") || !strings.HasSuffix(c[7], " ms") || c[8] != "BrowserApp" {
		t.Errorf("the duo row's cells: %q", c)
	}
	models := func(rows []map[string]string) (n int, other bool) {
		for _, r := range rows {
			other = other || r["model"] != "solo"
			n++
		}
		return n, other
	}
	if n, other := models(run.Page1); n != 10 || other {
		t.Errorf("filtered by model, page 1: %v, want 10 solo rows", run.Page1)
	}
	if n, other := models(run.Page2); n != 1 || other || run.NextOnLast || run.ModelKept != "solo" {
		t.Errorf("page 2: %v (an Older link: %v, the model filter %q), want the 11th solo row and no further page", run.Page2, run.NextOnLast, run.ModelKept)
	}
	for _, r := range run.Page2 {
		for _, p := range run.Page1 {
			if r["id"] == p["id"] {
				t.Errorf("%s is on both pages", r["id"])
			}
		}
	}
	// #, provider, model, outcome, status, time, error.
	if at := run.Attempts; len(at) != 2 || at[0][1] != "a" || at[0][3] != "error" || at[0][4] != "503" || at[1][1] != "b" || at[1][3] != "ok" {
		t.Errorf("the duo request's attempts: %q", at)
	}
	if !strings.HasPrefix(run.DetailCost, "$") {
		t.Errorf("the detail's cost: %q", run.DetailCost)
	}
	// Model, owned by, prompt, completion, context, max output, routes.
	var duo []string
	for _, m := range run.Models {
		if m.ID == "duo" {
			duo = m.Cells
		}
	}
	if len(duo) < 7 || duo[2] != "$1,500.00" || duo[3] != "$3,000.00" || duo[4] != "64,000" || !strings.Contains(duo[6], "a/up-duo") || !strings.Contains(duo[6], "b/up-duo") {
		t.Errorf("the Models page's duo row: %q (all: %+v)", duo, run.Models)
	}
	routes := map[string][]string{}
	for _, p := range run.Providers {
		routes[p.ID] = p.Cells
	}
	if c := routes["b/up-duo"]; len(c) < 7 || c[1] != "closed" || !strings.HasSuffix(c[3], "ms") {
		t.Errorf("the Providers page: %+v", run.Providers)
	}
	if c := routes["a/up-solo"]; len(c) < 7 || !strings.HasPrefix(c[6], "11 ") {
		t.Errorf("a/up-solo's requests on the Providers page: %q", c)
	}
	for page, px := range run.Overflow {
		if px > 0 {
			t.Errorf("the %s page scrolls sideways by %d px at 390 px", page, px)
		}
	}
	for _, f := range []string{"generations.png", "generation-detail.png", "models.png", "providers.png", "generations-phone.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
}
