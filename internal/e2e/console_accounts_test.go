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
)

// screenshotDir is $SWITCHYARD_SCREENSHOTS (made if missing), or a
// temporary directory.
func screenshotDir(t *testing.T) string {
	t.Helper()
	shots := os.Getenv("SWITCHYARD_SCREENSHOTS")
	if shots == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return shots
}

// runNodeScript runs script of testdata/console with env and decodes the
// JSON line it prints into out.
func runNodeScript(t *testing.T, node, script string, env []string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = consoleDir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s", script, err, stdout.String(), stderr.String())
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), out); err != nil {
		t.Fatalf("%s printed %q: %v\nstderr:\n%s", script, stdout.String(), err, stderr.String())
	}
}

// TestConsoleAccountsTopUpAndRedeemInABrowser: in chromium, the admin tops
// up an account with a memo and sees it in the history, generates two
// codes (copied, downloaded as CSV, shown once); the account's management
// key signs in, sees only its account, redeems a code and sees the balance
// rise; the API agrees.
func TestConsoleAccountsTopUpAndRedeemInABrowser(t *testing.T) {
	node, chromium := browserTools(t)
	g := start(t, opts{})
	shots := screenshotDir(t)
	acct, _ := g.newAccount(t, "0", "")
	mgmt := g.mgmtKeyOf(t, acct)
	var run struct {
		Error           string   `json:"error"`
		Steps           []string `json:"steps"`
		ConsoleErrors   []string `json:"consoleErrors"`
		TopUpRow        string   `json:"topUpRow"`
		AdminBalance    string   `json:"adminBalance"`
		Codes           []string `json:"codes"`
		Clipboard       string   `json:"clipboard"`
		CSV             string   `json:"csv"`
		BatchRows       int      `json:"batchRows"`
		CodesShownAgain bool     `json:"codesShownAgain"`
		MgmtAccounts    int      `json:"mgmtAccounts"`
		MgmtTopUpForm   int      `json:"mgmtTopUpForm"`
		BalanceBefore   string   `json:"balanceBefore"`
		BalanceAfter    string   `json:"balanceAfter"`
		Redeemed        string   `json:"redeemed"`
		RedeemRow       string   `json:"redeemRow"`
		Again           string   `json:"again"`
		PhoneOverflow   int      `json:"phoneOverflow"`
	}
	runNodeScript(t, node, "accounts.mjs", []string{"SWITCHYARD_URL=" + g.URL, "SWITCHYARD_ADMIN_KEY=" + g.AdminKey,
		"MGMT_KEY=" + mgmt, "ACCOUNT_ID=" + acct, "CHROMIUM=" + chromium, "SHOTS=" + shots}, &run)
	t.Logf("screenshots in %s; steps %v", shots, run.Steps)
	if run.Error != "" {
		t.Fatalf("in the browser, after steps %v: %s", run.Steps, run.Error)
	}
	// The second redemption's page comes with the API's 409, which the
	// browser logs; anything else is a fault.
	for _, e := range run.ConsoleErrors {
		if !strings.Contains(e, "status of 409") {
			t.Errorf("the browser logged an error (a CSP violation, a script error): %q", e)
		}
	}
	if !strings.Contains(run.TopUpRow, "topup") || !strings.Contains(run.TopUpRow, "$7.50") || !strings.Contains(run.TopUpRow, "invoice 77") || run.AdminBalance != "$7.50" {
		t.Errorf("after the top-up: history row %q, balance %q", run.TopUpRow, run.AdminBalance)
	}
	if len(run.Codes) != 2 || !strings.HasPrefix(run.Codes[0], "sy-rc-") || run.Clipboard != strings.Join(run.Codes, "\n") {
		t.Fatalf("codes %q, clipboard %q", run.Codes, run.Clipboard)
	}
	lines := strings.Split(strings.TrimSpace(run.CSV), "\r\n")
	if len(lines) != 3 || lines[0] != "code,value_usd,expires_at,memo,batch" || !strings.HasPrefix(lines[1], run.Codes[0]+",5,,browser promo,rcb-") {
		t.Errorf("CSV download:\n%s", run.CSV)
	}
	if run.BatchRows != 1 || run.CodesShownAgain {
		t.Errorf("batches listed %d; codes shown again %v", run.BatchRows, run.CodesShownAgain)
	}
	if run.MgmtAccounts != 1 || run.MgmtTopUpForm != 0 {
		t.Errorf("the management key sees %d accounts and %d top-up forms", run.MgmtAccounts, run.MgmtTopUpForm)
	}
	if run.BalanceBefore != "$7.50" || run.BalanceAfter != "$12.50" || !strings.Contains(run.Redeemed, "$5.00") ||
		!strings.Contains(run.RedeemRow, "browser promo") || !strings.Contains(run.RedeemRow, "$5.00") {
		t.Errorf("redeem: balance %q → %q, message %q, history row %q", run.BalanceBefore, run.BalanceAfter, run.Redeemed, run.RedeemRow)
	}
	if !strings.Contains(run.Again, "already been redeemed") {
		t.Errorf("redeeming again said %q", run.Again)
	}
	if run.PhoneOverflow > 0 {
		t.Errorf("at 390 px the page's content is %d px wider than the window", run.PhoneOverflow)
	}
	for _, f := range []string{"accounts-1-topped-up.png", "accounts-2-codes.png", "accounts-3-redeemed.png", "accounts-4-phone.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}

	// The API's view.
	_, out := g.admin(t, "GET", "/api/v1/accounts/"+acct, g.AdminKey, "")
	if d := out["data"].(map[string]any); toJSON(d["credits"]) != "12.5" {
		t.Errorf("account after: %v", d)
	}
	_, out = g.admin(t, "GET", "/api/v1/redeem-codes", g.AdminKey, "")
	b := out["data"].([]any)[0].(map[string]any)
	if b["redeemed"] != 1.0 || b["unused"] != 1.0 || b["memo"] != "browser promo" {
		t.Errorf("batch after: %v", b)
	}
}
