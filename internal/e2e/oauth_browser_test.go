package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// oauthRun is what oauth.mjs saw.
type oauthRun struct {
	Error            string   `json:"error"`
	Steps            []string `json:"steps"`
	ConsoleErrors    []string `json:"consoleErrors"`
	SigninPath       string   `json:"signinPath"`
	SigninNext       string   `json:"signinNext"`
	ConsentPath      string   `json:"consentPath"`
	ConsentText      string   `json:"consentText"`
	HorizontalScroll bool     `json:"horizontalScroll"`
	TooWide          []string `json:"tooWide"`
	CallbackURL      string   `json:"callbackURL"`
	CallbackText     string   `json:"callbackText"`
}

// TestOAuthInABrowserSignsInApprovesAndTheKeyHoldsItsLimit: an app sends
// the browser to /auth with an S256 challenge and a loopback callback; in
// chromium the user signs in to the console, lands on the consent page,
// approves with a $0.001 limit and arrives at the app's callback with a
// code (its own query kept). The app exchanges the code with its verifier
// for a key that calls a model through the gateway, and the limit holds.
func TestOAuthInABrowserSignsInApprovesAndTheKeyHoldsItsLimit(t *testing.T) {
	node, chromium := browserTools(t)
	g := start(t, opts{})
	shots := os.Getenv("SWITCHYARD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// The app: a callback server on loopback that records what it got.
	var (
		mu  sync.Mutex
		got url.Values
	)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cb" {
			w.WriteHeader(http.StatusNoContent) // the browser's /favicon.ico
			return
		}
		mu.Lock()
		got = r.URL.Query()
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>app</title><p>connected</p>"))
	}))
	defer app.Close()
	verifier, challenge := pkcePair("browser-verifier-")
	authURL := g.URL + "/auth?" + url.Values{"callback_url": {app.URL + "/cb?state=s1"}, "code_challenge": {challenge},
		"code_challenge_method": {"S256"}}.Encode()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "oauth.mjs")
	cmd.Dir = consoleDir
	cmd.Env = append(os.Environ(), "AUTH_URL="+authURL, "SWITCHYARD_ADMIN_KEY="+g.AdminKey, "CALLBACK_ORIGIN="+app.URL,
		"LIMIT=0.001", "CHROMIUM="+chromium, "SHOTS="+shots)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node oauth.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var run oauthRun
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &run); err != nil {
		t.Fatalf("oauth.mjs printed %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	t.Logf("screenshots in %s; steps %v", shots, run.Steps)
	if run.Error != "" {
		t.Fatalf("in the browser, after steps %v: %s", run.Steps, run.Error)
	}
	if len(run.ConsoleErrors) > 0 {
		t.Errorf("the browser logged errors (a CSP violation, a script error): %q", run.ConsoleErrors)
	}
	if run.SigninPath != "/console/signin" || !strings.HasPrefix(run.SigninNext, "/auth?") || run.ConsentPath != "/auth" {
		t.Errorf("sign-in at %q with next %q, then %q; want sign-in, then back to /auth", run.SigninPath, run.SigninNext, run.ConsentPath)
	}
	appHost := strings.TrimPrefix(app.URL, "http://")
	if !strings.Contains(run.ConsentText, appHost) || !strings.Contains(run.ConsentText, "acct-default") {
		t.Errorf("the consent page does not name the app %s and the account:\n%s", appHost, run.ConsentText)
	}
	if run.HorizontalScroll {
		t.Errorf("the consent page scrolls sideways at 390 px: %v", run.TooWide)
	}
	if !strings.HasPrefix(run.CallbackURL, app.URL+"/cb?") || !strings.Contains(run.CallbackText, "connected") {
		t.Fatalf("the browser ended at %q (%q); want the app's callback", run.CallbackURL, run.CallbackText)
	}
	mu.Lock()
	q := got
	mu.Unlock()
	code := q.Get("code")
	if code == "" || q.Get("state") != "s1" || q.Get("error") != "" {
		t.Fatalf("the callback got %v; want a code and state=s1", q)
	}

	// The app exchanges the code, and the key works within its limit only.
	st, out := g.exchange(t, exchangeBody(code, verifier))
	if st != 200 || out["user_id"] != "acct-default" {
		t.Fatalf("exchange: %d %v", st, out)
	}
	key := out["key"].(string)
	c := g.client(option.WithAPIKey(key))
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: userMsg("hi"), MaxTokens: openai.Int(20)})
	if err != nil || len(resp.Choices) == 0 {
		t.Fatalf("a chat completion with the app's key: %v", err)
	}
	// Past the limit: up to 4096 output tokens at $10/M cannot fit $0.001.
	err = chatErr(g, key, "gpt-4o")
	wantAPIError(t, err, 402, "insufficient_quota")
	if msg := apiMessage(err); !strings.Contains(msg, "limit") {
		t.Fatalf("refusal past the limit: %v", err)
	}
	_, kr := g.admin(t, "GET", "/api/v1/key", key, "")
	if kd := kr["data"].(map[string]any); kd["name"] != appHost || toJSON(kd["limit"]) != "0.001" {
		t.Fatalf("the app's key: %v", kd)
	}
}
