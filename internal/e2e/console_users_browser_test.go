package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// adminCall calls the management API with the admin key and decodes a 2xx
// answer into out.
func (g *gateway) adminCall(t *testing.T, method, path, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, g.URL+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode > 299 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConsoleUserSignsInWithEmailAndPasswordInABrowser: in chromium, a
// wrong password is refused, and the right one signs the user in to their
// own account's keys, and no other account's.
func TestConsoleUserSignsInWithEmailAndPasswordInABrowser(t *testing.T) {
	node, chromium := browserTools(t)
	g := start(t, opts{})
	shots := os.Getenv("SWITCHYARD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	var acct struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	g.adminCall(t, "POST", "/accounts", `{"name":"Team"}`, &acct)
	g.adminCall(t, "POST", "/keys", `{"name":"team-app","account_id":"`+acct.Data.ID+`"}`, nil)
	g.adminCall(t, "POST", "/keys", `{"name":"default-app"}`, nil)
	const email, pw = "ann@example.com", "ann-browser-pass"
	g.adminCall(t, "POST", "/users", `{"email":"`+email+`","password":"`+pw+`","account_id":"`+acct.Data.ID+`","role":"owner"}`, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "users.mjs")
	cmd.Dir = consoleDir
	cmd.Env = append(os.Environ(), "SWITCHYARD_URL="+g.URL, "CHROMIUM="+chromium, "USER_EMAIL="+email, "USER_PASSWORD="+pw, "SHOTS="+shots)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node users.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var run struct {
		Error          string   `json:"error"`
		Steps          []string `json:"steps"`
		ConsoleErrors  []string `json:"consoleErrors"`
		WrongError     string   `json:"wrongError"`
		WrongPath      string   `json:"wrongPath"`
		WrongCookies   int      `json:"wrongCookies"`
		EmailKept      string   `json:"emailKept"`
		Path           string   `json:"path"`
		Who            string   `json:"who"`
		Keys           []string `json:"keys"`
		DocCookie      string   `json:"documentCookie"`
		PasswordInPage bool     `json:"passwordInPage"`
		PhoneOverflow  bool     `json:"phoneOverflow"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &run); err != nil {
		t.Fatalf("users.mjs printed %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	t.Logf("screenshots in %s; steps %v", shots, run.Steps)
	if run.Error != "" {
		t.Fatalf("in the browser, after steps %v: %s", run.Steps, run.Error)
	}
	// The refused sign-in is a 401 page, which chromium logs; anything
	// else (a CSP violation, a script error) is a fault.
	errs := slices.DeleteFunc(run.ConsoleErrors, func(e string) bool { return strings.Contains(e, "status of 401") })
	if len(errs) != 0 || len(run.ConsoleErrors) > 1 {
		t.Errorf("the browser logged errors: %q", run.ConsoleErrors)
	}
	if !strings.Contains(run.WrongError, "wrong email or password") || run.WrongPath != "/console/signin" || run.WrongCookies != 0 || run.EmailKept != email {
		t.Errorf("a wrong password: error %q at %s, %d cookies, email kept %q", run.WrongError, run.WrongPath, run.WrongCookies, run.EmailKept)
	}
	if run.Path != "/console/keys" || !strings.Contains(run.Who, email) || !strings.Contains(run.Who, acct.Data.ID) {
		t.Errorf("signed in at %s as %q", run.Path, run.Who)
	}
	if !slices.Contains(run.Keys, "team-app") || slices.Contains(run.Keys, "default-app") || slices.Contains(run.Keys, "demo") {
		t.Errorf("the user's keys page lists %v: want their account's keys only", run.Keys)
	}
	if run.DocCookie != "" || run.PasswordInPage || run.PhoneOverflow {
		t.Errorf("document.cookie %q, password in the page %v, overflow at 390 px %v", run.DocCookie, run.PasswordInPage, run.PhoneOverflow)
	}
	for _, f := range []string{"users-1-wrong-password.png", "users-2-keys.png", "users-3-password-phone.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
}
