package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/auth"
)

// consoleDir is the Node project that drives the browser (browser.mjs); its
// node_modules come from `npm ci --prefix internal/e2e/testdata/console`.
const consoleDir = "testdata/console"

// browserTools returns node and chromium, or skips (fails under CI=true)
// when one of them or playwright-core is missing.
func browserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	chromium = os.Getenv("SWITCHYARD_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	missing := ""
	node, err := exec.LookPath("node")
	switch {
	case err != nil:
		missing = "node is not on PATH: install Node.js 20 or later"
	case fileMissing(chromium):
		missing = chromium + " is missing: install it with `apt-get install -y chromium` (or set SWITCHYARD_CHROMIUM)"
	case fileMissing(filepath.Join(consoleDir, "node_modules", "playwright-core", "package.json")):
		missing = "playwright-core is not installed: run `npm ci --prefix internal/e2e/testdata/console`"
	}
	if missing != "" {
		msg := missing + " (.ci/run installs what is missing)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node, chromium
}

func fileMissing(p string) bool {
	_, err := os.Stat(p)
	return err != nil
}

// browserRun is what browser.mjs saw.
type browserRun struct {
	Error         string   `json:"error"`
	Steps         []string `json:"steps"`
	ConsoleErrors []string `json:"consoleErrors"`
	SigninURL     string   `json:"signinURL"`
	HTMX          string   `json:"htmx"`
	DocCookie     string   `json:"documentCookie"`
	WebStorage    string   `json:"webStorage"`
	KeyInPage     bool     `json:"keyInPage"`
	Cookie        []struct {
		Name     string `json:"name"`
		HTTPOnly bool   `json:"httpOnly"`
		SameSite string `json:"sameSite"`
		Secure   bool   `json:"secure"`
	} `json:"cookie"`
	Key           string `json:"key"`
	CopyButton    string `json:"copyButton"`
	Clipboard     string `json:"clipboard"`
	KeyShownAgain bool   `json:"keyShownAgain"`
	Status        string `json:"status"`
	PythonSnippet string `json:"pythonSnippet"`
}

// TestConsoleInABrowserCreatesAndDisablesAKey: in chromium, the admin signs
// in, creates a key, reads it once, copies it and disables it; the
// management API then has that very key, disabled, and a model call with it
// is refused.
func TestConsoleInABrowserCreatesAndDisablesAKey(t *testing.T) {
	node, chromium := browserTools(t)
	g := start(t, opts{})
	shots := os.Getenv("SWITCHYARD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	const name = "browser-made"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "browser.mjs")
	cmd.Dir = consoleDir
	cmd.Env = append(os.Environ(), "SWITCHYARD_URL="+g.URL, "SWITCHYARD_ADMIN_KEY="+g.AdminKey,
		"CHROMIUM="+chromium, "KEY_NAME="+name, "SHOTS="+shots)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node browser.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var run browserRun
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &run); err != nil {
		t.Fatalf("browser.mjs printed %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	t.Logf("screenshots in %s; steps %v", shots, run.Steps)
	if run.Error != "" {
		t.Fatalf("in the browser, after steps %v: %s", run.Steps, run.Error)
	}
	if len(run.ConsoleErrors) > 0 {
		t.Errorf("the browser logged errors (a CSP violation, a script error): %q", run.ConsoleErrors)
	}
	if run.SigninURL != "/console/signin" || run.HTMX == "" {
		t.Errorf("the root sent the browser to %q; htmx %q", run.SigninURL, run.HTMX)
	}
	if len(run.Cookie) != 1 || !run.Cookie[0].HTTPOnly || run.Cookie[0].SameSite != "Lax" || run.Cookie[0].Secure {
		t.Errorf("cookies %+v: want one HttpOnly SameSite=Lax cookie (not Secure over plain HTTP)", run.Cookie)
	}
	if run.DocCookie != "" || strings.Contains(run.WebStorage, "sk-sy-") || run.KeyInPage {
		t.Errorf("a page script can reach: document.cookie %q, web storage %q, the key in the page %v", run.DocCookie, run.WebStorage, run.KeyInPage)
	}
	if run.Clipboard != run.Key || run.CopyButton != "Copied" {
		t.Errorf("copy button %q put %q on the clipboard, want the key", run.CopyButton, run.Clipboard)
	}
	if run.KeyShownAgain {
		t.Error("the new key was shown again on the next visit to Keys")
	}
	if run.Status != "disabled" {
		t.Errorf("the row's status after Disable is %q", run.Status)
	}
	if !strings.Contains(run.PythonSnippet, `base_url="`+g.URL+`/v1"`) {
		t.Errorf("the Python snippet does not name this gateway:\n%s", run.PythonSnippet)
	}
	for _, f := range []string{"1-key-created.png", "2-key-disabled.png", "3-connect.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}

	// The API's view: the key the browser was shown exists, as made, disabled.
	if !strings.HasPrefix(run.Key, "sk-sy-") {
		t.Fatalf("the page showed %q as the key", run.Key)
	}
	req, _ := http.NewRequest(http.MethodGet, g.URL+"/api/v1/keys/"+auth.Hash(run.Key), nil)
	req.Header.Set("Authorization", "Bearer "+g.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/keys/{hash of the shown key}: %d %s", resp.StatusCode, body)
	}
	var got struct {
		Data admin.KeyObject `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	k := got.Data
	if k.Name != name || !k.Disabled || k.Limit == nil || k.Limit.String() != "2.5" || k.LimitReset == nil || *k.LimitReset != "monthly" ||
		strings.Join(k.AllowedModels, ",") != "gpt-4o" {
		t.Errorf("the key as stored: %+v", k)
	}
	chat := g.post(t, "/v1/chat/completions", run.Key, `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	chatBody := readAll(t, chat.Body)
	chat.Body.Close()
	if chat.StatusCode != http.StatusForbidden || !strings.Contains(chatBody, "key_disabled") {
		t.Errorf("a model call with the disabled key: %d %s", chat.StatusCode, chatBody)
	}
}
