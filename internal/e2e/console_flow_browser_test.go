package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// flowShotDir is where TestConsoleFullFlowInABrowser's screenshots go:
// docs/console/ when SWITCHYARD_SCREENSHOTS=1 (to be committed), else a
// temporary directory, so a test run leaves the tree clean.
func flowShotDir(t *testing.T) string {
	t.Helper()
	if os.Getenv("SWITCHYARD_SCREENSHOTS") != "1" {
		return t.TempDir()
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "docs", "console"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// flowRun is what flow.mjs prints, every phase's fields together.
type flowRun struct {
	Error         string              `json:"error"`
	Steps         []string            `json:"steps"`
	ConsoleErrors []string            `json:"consoleErrors"`
	WrongKeyError string              `json:"wrongKeyError"`
	WrongKeyPath  string              `json:"wrongKeyPath"`
	NewKey        string              `json:"newKey"`
	UsageBefore   usageSeen           `json:"usageBefore"`
	ProviderDone  string              `json:"providerDone"`
	ProviderRow   string              `json:"providerRow"`
	FileRow       string              `json:"fileRow"`
	FileDeletable int                 `json:"fileDeletable"`
	KeyInPage     bool                `json:"keyInPage"`
	ModelRow      string              `json:"modelRow"`
	DeleteRefused string              `json:"deleteRefused"`
	EditedRow     string              `json:"editedRow"`
	Generations   []string            `json:"generations"`
	UsageAfter    usageSeen           `json:"usageAfter"`
	KeyStatus     string              `json:"keyStatus"`
	Overflow      map[string]int      `json:"overflow"`
	Wide          map[string][]string `json:"wide"`
	UserWho       string              `json:"userWho"`
}

// TestConsoleFullFlowInABrowser is issue 15's "done when" in chromium: a
// wrong key is refused and the admin key signs in; a key made on Keys
// works through the OpenAI Go SDK, its request is in Generations and the
// Usage chart data moves; disabled on Keys, the SDK gets 403
// key_disabled; a provider added on Providers (pointing at a second fake
// upstream) with a model routed to it gets the SDK's request; a user signs
// in with email and password; and every page is shot at desktop and
// phone width without sideways overflow. Top-up and redeem codes are
// TestConsoleAccountsTopUpAndRedeemInABrowser's; the management key's
// sign-in is TestConsoleAccountsTopUpAndRedeemInABrowser's too. The
// Playground is shot after one answer; that it streams word by word is
// TestConsolePlaygroundAndRankingsInABrowser's.
func TestConsoleFullFlowInABrowser(t *testing.T) {
	node, chromium := browserTools(t)
	y := baseConfig + "console:\n  registration:\n    enabled: true\n"
	g := start(t, opts{yaml: y, env: map[string]string{"SWITCHYARD_SECRET_KEY": testSecretKey}})
	const secondKey = "sk-second-upstream-SECRET-5151"
	second := fakeupstream.New(fakeupstream.Options{APIKey: secondKey})
	t.Cleanup(second.Close)
	shots := flowShotDir(t)
	base := []string{"SWITCHYARD_URL=" + g.URL, "SWITCHYARD_ADMIN_KEY=" + g.AdminKey, "CHROMIUM=" + chromium, "SHOTS=" + shots}
	phase := func(name string, extra ...string) flowRun {
		t.Helper()
		var run flowRun
		runNodeScript(t, node, "flow.mjs", append(append([]string{"PHASE=" + name}, base...), extra...), &run)
		t.Logf("%s: steps %v", name, run.Steps)
		if run.Error != "" {
			t.Fatalf("in the browser (%s), after steps %v: %s", name, run.Steps, run.Error)
		}
		for _, e := range run.ConsoleErrors {
			// Refusals come as pages with their 4xx status, which the
			// browser logs; anything else is a fault.
			if !strings.Contains(e, "status of 4") {
				t.Errorf("the browser logged an error (%s): %q", name, e)
			}
		}
		return run
	}

	setup := phase("setup", "SECOND_URL="+second.URL, "SECOND_KEY="+secondKey)
	if setup.WrongKeyPath != "/console/signin" || setup.WrongKeyError == "" {
		t.Errorf("a wrong key: at %s, error %q", setup.WrongKeyPath, setup.WrongKeyError)
	}
	if !strings.HasPrefix(setup.NewKey, "sk-") {
		t.Fatalf("the Keys page showed %q as the new key", setup.NewKey)
	}
	if setup.ProviderDone != "Provider second added." || !strings.Contains(setup.ProviderRow, "API") ||
		!strings.Contains(setup.ProviderRow, second.URL+"/v1") || !strings.Contains(setup.ProviderRow, "set") ||
		!strings.Contains(setup.ProviderRow, "$0.50 · $1.50") || setup.KeyInPage {
		t.Errorf("after adding: %q; row %q; the key in the page %v", setup.ProviderDone, setup.ProviderRow, setup.KeyInPage)
	}
	if !strings.Contains(setup.FileRow, "read-only") || setup.FileDeletable != 0 {
		t.Errorf("the file's provider: %q with %d buttons", setup.FileRow, setup.FileDeletable)
	}
	if !strings.Contains(setup.ModelRow, "second/upstream-second") || !strings.Contains(setup.DeleteRefused, "409") && !strings.Contains(setup.DeleteRefused, "route") {
		t.Errorf("model row %q; deleting the routed provider said %q", setup.ModelRow, setup.DeleteRefused)
	}
	if !strings.Contains(setup.EditedRow, "$0.50 · $2.00") || !strings.Contains(setup.EditedRow, "set") {
		t.Errorf("after editing the price, without a key typed: %q", setup.EditedRow)
	}

	// The new key through the OpenAI SDK: the file's model, and the model
	// routed to the provider added in the browser.
	ctx := context.Background()
	// X-Title names the app on Rankings (in the screenshots).
	c := g.client(option.WithAPIKey(setup.NewKey), option.WithHeader("X-Title", "Flow Test App"))
	for _, model := range []string{"gpt-4o", "second-model"} {
		if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello from the flow")}}); err != nil {
			t.Fatalf("the SDK with the console's key, %s: %v", model, err)
		}
	}
	reqs := second.Requests()
	if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "Bearer "+secondKey || !strings.Contains(string(reqs[0].Body), `"upstream-second"`) {
		t.Fatalf("the second upstream got %d requests: %+v", len(reqs), reqs)
	}

	after := phase("after")
	joined := strings.Join(after.Generations, "\n")
	if len(after.Generations) < 2 || !strings.Contains(joined, "second-model") || !strings.Contains(joined, "gpt-4o") {
		t.Errorf("Generations lists %q", after.Generations)
	}
	if setup.UsageBefore.Data != "" || !strings.Contains(setup.UsageBefore.Totals, "Requests0") ||
		!strings.Contains(after.UsageAfter.Totals, "Requests2") || !usageHasRequests(t, after.UsageAfter.Data) {
		t.Errorf("the Usage chart data did not move: before %s, after %s", setup.UsageBefore, after.UsageAfter)
	}
	if after.KeyStatus != "disabled" {
		t.Errorf("the key's status after Disable: %q", after.KeyStatus)
	}
	_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("still there?")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.Code != "key_disabled" {
		t.Errorf("the SDK with the disabled key: %v", err)
	}

	// A user, for the password sign-in and the Password page.
	acct, _ := g.newAccount(t, "0", "")
	const email, pw = "flow-user@example.com", "correct horse battery staple"
	if st, out := g.admin(t, "POST", "/api/v1/users", g.AdminKey, `{"email":"`+email+`","password":"`+pw+`","account_id":"`+acct+`","role":"owner"}`); st != 201 {
		t.Fatalf("creating a user: %d %v", st, out)
	}
	authURL := g.URL + "/auth?" + url.Values{"callback_url": {"http://127.0.0.1:9/cb"}, "code_challenge": {strings.Repeat("A", 43)},
		"code_challenge_method": {"S256"}}.Encode()
	shotsRun := phase("shots", "USER_EMAIL="+email, "USER_PASSWORD="+pw, "AUTH_URL="+authURL, "PLAYGROUND_KEY="+g.Key)
	if !strings.Contains(shotsRun.UserWho, email) {
		t.Errorf("signed in with a password, the header says %q", shotsRun.UserWho)
	}
	pages := []string{"signin", "register", "connect", "keys", "usage", "generations", "generation", "models", "providers", "accounts", "users", "rankings", "playground", "consent", "password"}
	for _, p := range pages {
		if o, ok := shotsRun.Overflow[p]; !ok || o > 0 {
			t.Errorf("%s at 390 px: %d px wider than the window (measured %v): %q", p, o, ok, shotsRun.Wide[p])
		}
		for _, size := range []string{"desktop", "phone"} {
			if st, err := os.Stat(filepath.Join(shots, p+"-"+size+".png")); err != nil || st.Size() < 1000 {
				t.Errorf("screenshot %s-%s: %v", p, size, err)
			}
		}
	}
}

// usageSeen is the Usage page's totals as text and its charts' data.
type usageSeen struct{ Totals, Data string }

// usageHasRequests says whether the Usage page's chart data counts any
// request.
func usageHasRequests(t *testing.T, data string) bool {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		t.Logf("the chart data %q: %v", data, err)
		return false
	}
	return strings.Contains(data, "second-model") || strings.Contains(data, "gpt-4o")
}
