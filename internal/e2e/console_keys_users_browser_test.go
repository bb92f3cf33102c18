package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestConsoleKeysAndUsersInABrowser: in chromium, the admin creates a key
// with rate limits in an account and edits its credit limit (a refused
// value shows the API's message); a member of the account sees its keys
// and users with no control to change them; an owner creates a user on
// the Users page and is shown the one-time password once, which signs in.
func TestConsoleKeysAndUsersInABrowser(t *testing.T) {
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
	const ownerEmail, ownerPW = "owner@example.com", "owner-browser-pass"
	const memberEmail, memberPW = "member@example.com", "member-browser-pass"
	const newEmail = "new@example.com"
	g.adminCall(t, "POST", "/users", `{"email":"`+ownerEmail+`","password":"`+ownerPW+`","account_id":"`+acct.Data.ID+`","role":"owner"}`, nil)
	g.adminCall(t, "POST", "/users", `{"email":"`+memberEmail+`","password":"`+memberPW+`","account_id":"`+acct.Data.ID+`","role":"member"}`, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "keys_users.mjs")
	cmd.Dir = consoleDir
	cmd.Env = append(os.Environ(), "SWITCHYARD_URL="+g.URL, "CHROMIUM="+chromium, "ADMIN_KEY="+g.AdminKey, "ACCOUNT="+acct.Data.ID,
		"OWNER_EMAIL="+ownerEmail, "OWNER_PASSWORD="+ownerPW, "MEMBER_EMAIL="+memberEmail, "MEMBER_PASSWORD="+memberPW, "NEW_EMAIL="+newEmail, "SHOTS="+shots)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node keys_users.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var run struct {
		Error              string          `json:"error"`
		Steps              []string        `json:"steps"`
		ConsoleErrors      []string        `json:"consoleErrors"`
		Overflow           map[string]bool `json:"overflow"`
		Wide               []string        `json:"wide"`
		RowLimits          string          `json:"rowLimits"`
		FilteredKeys       []string        `json:"filteredKeys"`
		EditRPM            string          `json:"editRPM"`
		EditError          string          `json:"editError"`
		EditedLimit        string          `json:"editedLimit"`
		MemberKeys         []string        `json:"memberKeys"`
		MemberControls     int             `json:"memberControls"`
		MemberLinks        []string        `json:"memberLinks"`
		MemberUserControls int             `json:"memberUserControls"`
		OneTimePassword    string          `json:"oneTimePassword"`
		NewUsers           []string        `json:"newUsers"`
		PasswordShownAgain bool            `json:"passwordShownAgain"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &run); err != nil {
		t.Fatalf("keys_users.mjs printed %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	t.Logf("screenshots in %s; steps %v", shots, run.Steps)
	if run.Error != "" {
		t.Fatalf("in the browser, after steps %v: %s", run.Steps, run.Error)
	}
	// The refused edit is a 400 page, which chromium logs; anything else is a fault.
	if errs := slices.DeleteFunc(run.ConsoleErrors, func(e string) bool { return strings.Contains(e, "status of 400") }); len(errs) != 0 {
		t.Errorf("the browser logged errors: %q", run.ConsoleErrors)
	}
	if run.RowLimits != "30 rpm 5,000 tpm 2 at once" || !slices.Contains(run.FilteredKeys, "team-app") || slices.Contains(run.FilteredKeys, "demo") {
		t.Errorf("the key's row shows limits %q; the filtered page lists %v", run.RowLimits, run.FilteredKeys)
	}
	if run.EditRPM != "30" || !strings.Contains(run.EditError, "'limit' must be a non-negative") || !strings.Contains(run.EditedLimit, "$12.50") {
		t.Errorf("edit view: rpm %q, refusal %q, limit after saving %q", run.EditRPM, run.EditError, run.EditedLimit)
	}
	// The API has what the browser did.
	var keys struct {
		Data []struct {
			Name       string `json:"name"`
			AccountID  string `json:"account_id"`
			Limit      *json.Number
			RateLimits *struct{ RPM, TPM, Concurrency int64 } `json:"rate_limits"`
		} `json:"data"`
	}
	g.adminCall(t, "GET", "/keys", "", &keys)
	found := false
	for _, k := range keys.Data {
		if k.Name == "browser-limited" {
			found = true
			if k.AccountID != acct.Data.ID || k.Limit == nil || k.Limit.String() != "12.5" || k.RateLimits == nil || k.RateLimits.RPM != 30 || k.RateLimits.TPM != 5000 || k.RateLimits.Concurrency != 2 {
				t.Errorf("the key in the API: %+v (limit %v, limits %+v)", k, k.Limit, k.RateLimits)
			}
		}
	}
	if !found {
		t.Error("the API has no key browser-limited")
	}
	if !slices.Contains(run.MemberKeys, "browser-limited") || run.MemberControls != 0 || run.MemberUserControls != 0 || len(run.MemberLinks) == 0 || slices.ContainsFunc(run.MemberLinks, func(s string) bool { return !strings.HasPrefix(s, "Details") }) {
		t.Errorf("the member sees keys %v, %d key controls, %d user controls, links %q", run.MemberKeys, run.MemberControls, run.MemberUserControls, run.MemberLinks)
	}
	if len(run.OneTimePassword) != 20 || !slices.Contains(run.NewUsers, newEmail) || run.PasswordShownAgain {
		t.Errorf("one-time password %q, users %v, shown again %v", run.OneTimePassword, run.NewUsers, run.PasswordShownAgain)
	}
	// The one-time password signs the new user in.
	form := url.Values{"email": {newEmail}, "password": {run.OneTimePassword}}
	req, _ := http.NewRequest("POST", g.URL+"/console/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the one-time password signs in: %d", resp.StatusCode)
	}
	for name, over := range run.Overflow {
		if over {
			t.Errorf("the %s page scrolls sideways at 390 px: %q", name, run.Wide)
		}
	}
	if len(run.Overflow) != 3 {
		t.Errorf("phone checks: %v", run.Overflow)
	}
	for _, f := range []string{"keys-users-1-created.png", "keys-users-2-edited.png", "keys-users-3-member-users.png", "keys-users-4-one-time-password.png", "keys-users-users-phone.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
}
