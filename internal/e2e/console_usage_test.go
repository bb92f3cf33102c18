package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// usageBrowserRun is what usage.mjs saw.
type usageBrowserRun struct {
	Error         string   `json:"error"`
	Steps         []string `json:"steps"`
	ConsoleErrors []string `json:"consoleErrors"`
	Charts        int      `json:"charts"`
	Legend        string   `json:"legend"`
	Totals        string   `json:"totals"`
	FromAfter     string   `json:"fromAfter"`
	LegendAfter   string   `json:"legendAfter"`
	Days          int      `json:"days"`
	CSVName       string   `json:"csvName"`
	CSV           string   `json:"csv"`
	Phone         struct {
		ScrollWidth float64 `json:"scrollWidth"`
		InnerWidth  float64 `json:"innerWidth"`
		Widest      float64 `json:"widest"`
	} `json:"phone"`
}

// TestConsoleUsageInABrowser: after requests through the gateway (two
// models, one request failing, one app), the admin opens Usage in chromium
// and sees the charts drawn with the models in their legends, changes the
// range and split, downloads the CSV, and at phone width nothing scrolls
// sideways.
func TestConsoleUsageInABrowser(t *testing.T) {
	node, chromium := browserTools(t)
	g := start(t, opts{})
	ctx := context.Background()
	g.Up.Enqueue(fakeBehavior{}, fakeBehavior{}, fakeBehavior{Status: 400, Message: "refused"}, fakeBehavior{})
	c := g.client(option.WithHeader("X-Title", "Browser App"))
	for _, m := range []string{"gpt-4o", "gpt-4o", "fake-usage", "fake-usage"} {
		_, _ = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: m, Messages: userMsg("hi")})
	}
	// The ledger writes every 20 ms; wait for the four records.
	for i := 0; ; i++ {
		rows := usageRows(t, g, g.AdminKey, "group_by=provider")
		if r, ok := rows["fake"]; ok && num(t, r, "requests") == 4 {
			break
		}
		if i == 1000 {
			t.Fatalf("the ledger never recorded the 4 requests: %v", rows)
		}
		time.Sleep(10 * time.Millisecond)
	}

	shots := os.Getenv("SWITCHYARD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	from := time.Now().UTC().AddDate(0, 0, -6).Format(time.DateOnly)
	runCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, node, "usage.mjs")
	cmd.Dir = consoleDir
	cmd.Env = append(os.Environ(), "SWITCHYARD_URL="+g.URL, "SWITCHYARD_ADMIN_KEY="+g.AdminKey,
		"CHROMIUM="+chromium, "SHOTS="+shots, "FROM="+from)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node usage.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var run usageBrowserRun
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &run); err != nil {
		t.Fatalf("usage.mjs printed %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	t.Logf("screenshots in %s; steps %v", shots, run.Steps)
	if run.Error != "" {
		t.Fatalf("in the browser, after steps %v: %s", run.Steps, run.Error)
	}
	if len(run.ConsoleErrors) > 0 {
		t.Errorf("the browser logged errors (a CSP violation, a script error): %q", run.ConsoleErrors)
	}
	if run.Charts != 8 || !strings.Contains(run.Legend, "gpt-4o") || !strings.Contains(run.Legend, "fake-usage") {
		t.Errorf("%d charts, legend %q: want 8, naming gpt-4o and fake-usage", run.Charts, run.Legend)
	}
	// 4 requests, 1 failed: 25.0%.
	if !strings.Contains(run.Totals, "4") || !strings.Contains(run.Totals, "25.0%") {
		t.Errorf("totals %q", run.Totals)
	}
	if run.FromAfter != from || run.Days != 7 || !strings.Contains(run.LegendAfter, "Browser App") {
		t.Errorf("after changing the range: from %q, %d days, legend %q", run.FromAfter, run.Days, run.LegendAfter)
	}
	if !strings.HasPrefix(run.CSVName, "usage-day-by-app-"+from) || !strings.HasPrefix(run.CSV, "day,app,requests,") ||
		!strings.Contains(run.CSV, ",Browser App,4,") {
		t.Errorf("CSV %q:\n%s", run.CSVName, run.CSV)
	}
	if run.Phone.InnerWidth != 390 || run.Phone.ScrollWidth > run.Phone.InnerWidth || run.Phone.Widest > run.Phone.InnerWidth {
		t.Errorf("at 390 px: %+v (the page or a chart is wider than the screen)", run.Phone)
	}
}

// TestConsoleUsageChartDaysAreUTCInABrowser: the ledger's days are UTC
// days, so in a browser in Los Angeles (UTC−8/−7, where a UTC midnight is
// the afternoon before) the Usage chart still has a tick at today's UTC
// midnight, labelled with today's UTC date, not yesterday's.
func TestConsoleUsageChartDaysAreUTCInABrowser(t *testing.T) {
	node, chromium := browserTools(t)
	g := start(t, opts{})
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if _, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if r, ok := usageRows(t, g, g.AdminKey, "group_by=provider")["fake"]; ok && num(t, r, "requests") == 1 {
			break
		}
		if i == 1000 {
			t.Fatal("the ledger never recorded the request")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var run struct {
		Error         string   `json:"error"`
		Steps         []string `json:"steps"`
		ConsoleErrors []string `json:"consoleErrors"`
		TimeZone      string   `json:"timeZone"`
		Ticks         [][2]any `json:"ticks"`
	}
	runNodeScript(t, node, "usage_tz.mjs", []string{"SWITCHYARD_URL=" + g.URL, "SWITCHYARD_ADMIN_KEY=" + g.AdminKey,
		"CHROMIUM=" + chromium, "TZ_ID=America/Los_Angeles",
		"FROM=" + today.AddDate(0, 0, -2).Format(time.DateOnly), "TO=" + today.AddDate(0, 0, 1).Format(time.DateOnly)}, &run)
	if run.Error != "" || len(run.ConsoleErrors) > 0 {
		t.Fatalf("in the browser, after steps %v: %s %q", run.Steps, run.Error, run.ConsoleErrors)
	}
	if run.TimeZone != "America/Los_Angeles" {
		t.Fatalf("the browser's time zone is %q, not the one asked for", run.TimeZone)
	}
	want := today.Format("Jan 2")
	found := false
	for _, tk := range run.Ticks {
		ts, _ := tk[0].(float64)
		if int64(ts) == today.Unix() {
			found = tk[1] == want
		}
	}
	if !found {
		t.Errorf("ticks %v: want one at %d (today, UTC midnight) labelled %q", run.Ticks, today.Unix(), want)
	}
}
