package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// mgmtKeyOf creates a management key of acct.
func (g *gateway) mgmtKeyOf(t *testing.T, acct string) string {
	t.Helper()
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"kind":"management","account_id":"`+acct+`"}`)
	if st != 201 {
		t.Fatalf("create management key: %d %v", st, out)
	}
	return out["key"].(string)
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// TestRedeemCodeCreditsTheAccountOnceAndTheRequestPathSeesIt: a prepaid
// account at $0 is refused (402), redeems a code with its management key,
// and its next request passes; the code cannot be redeemed again, by it or
// another account; the ledger shows the redemption and the charge.
func TestRedeemCodeCreditsTheAccountOnceAndTheRequestPathSeesIt(t *testing.T) {
	g := start(t, opts{})
	acctA, keyA := g.newAccount(t, "0", "")
	acctB, _ := g.newAccount(t, "0", "")
	mA, mB := g.mgmtKeyOf(t, acctA), g.mgmtKeyOf(t, acctB)

	wantAPIError(t, chatErr(g, keyA, "gpt-4o"), 402, "insufficient_quota")

	st, out := g.admin(t, "POST", "/api/v1/redeem-codes", g.AdminKey, `{"count": 2, "value": 5, "memo": "spring promo", "expires_at": "2200-01-01T00:00:00Z"}`)
	if st != 201 {
		t.Fatalf("generate codes: %d %v", st, out)
	}
	codes := out["codes"].([]any)
	batch := out["data"].(map[string]any)
	if len(codes) != 2 || batch["count"] != 2.0 || toJSON(batch["value"]) != "5" || batch["memo"] != "spring promo" {
		t.Fatalf("batch %v codes %v", batch, codes)
	}
	code0, code1 := codes[0].(string), codes[1].(string)
	if !strings.HasPrefix(code0, "sy-rc-") || len(code0) != 30 || code0 == code1 {
		t.Fatalf("codes %q %q", code0, code1)
	}
	if strings.Contains(toJSON(batch), code0) {
		t.Fatal("the batch object holds a code")
	}

	// Only the admin generates and lists codes, and a management key
	// redeems.
	if st, out := g.admin(t, "POST", "/api/v1/redeem-codes", mA, `{"count": 1, "value": 5}`); st != 403 {
		t.Errorf("a management key generated codes: %d %v", st, out)
	}
	if st, out := g.admin(t, "GET", "/api/v1/redeem-codes", mA, ""); st != 403 {
		t.Errorf("a management key listed codes: %d %v", st, out)
	}
	if st, out := g.admin(t, "POST", "/api/v1/credits/redeem", g.AdminKey, `{"code":"`+code0+`"}`); st != 403 {
		t.Errorf("the admin key redeemed: %d %v", st, out)
	}
	if st, out := g.admin(t, "POST", "/api/v1/credits/redeem", keyA, `{"code":"`+code0+`"}`); st != 403 {
		t.Errorf("an API key redeemed: %d %v", st, out)
	}

	st, out = g.admin(t, "POST", "/api/v1/credits/redeem", mA, `{"code":" `+code0+` "}`)
	if st != 200 || toJSON(out["redeemed"]) != "5" || out["memo"] != "spring promo" {
		t.Fatalf("redeem: %d %v", st, out)
	}
	if d := out["data"].(map[string]any); d["id"] != acctA || toJSON(d["credits"]) != "5" || toJSON(d["balance"]) != "5" {
		t.Fatalf("account after redeem: %v", d)
	}
	// The request path sees the new balance at once.
	if err := chatErr(g, keyA, "gpt-4o"); err != nil {
		t.Fatalf("after redeeming, a request is still refused: %v", err)
	}

	// Used once: neither account can redeem it again.
	for _, k := range []string{mA, mB} {
		if st, out := g.admin(t, "POST", "/api/v1/credits/redeem", k, `{"code":"`+code0+`"}`); st != 409 || errCode(out) != "redeem_code_redeemed" {
			t.Errorf("redeemed twice: %d %v", st, out)
		}
	}
	// A guess, well formed or not, is "not a valid code" and nothing more.
	near := code0[:29] + "x"
	if code0[29] == 'x' {
		near = code0[:29] + "y"
	}
	for _, guess := range []string{"sy-rc-" + strings.Repeat("A", 24), near, "hello", ""} {
		if st, out := g.admin(t, "POST", "/api/v1/credits/redeem", mB, `{"code":"`+guess+`"}`); st != 400 || errCode(out) != "redeem_code_invalid" {
			t.Errorf("guess %q: %d %v", guess, st, out)
		}
	}
	for _, body := range []string{`{"code": 5}`, `[]`, `{"code":"x","extra":1}`} {
		if st, out := g.admin(t, "POST", "/api/v1/credits/redeem", mB, body); st != 400 {
			t.Errorf("body %s: %d %v", body, st, out)
		}
	}

	// Voiding the batch voids the code left.
	st, out = g.admin(t, "DELETE", "/api/v1/redeem-codes/"+batch["id"].(string), g.AdminKey, "")
	if st != 200 || out["data"].(map[string]any)["voided"] != 1.0 {
		t.Fatalf("void: %d %v", st, out)
	}
	if st, out := g.admin(t, "POST", "/api/v1/credits/redeem", mB, `{"code":"`+code1+`"}`); st != 400 || errCode(out) != "redeem_code_voided" {
		t.Errorf("a voided code: %d %v", st, out)
	}
	if st, _ := g.admin(t, "DELETE", "/api/v1/redeem-codes/rcb-none", g.AdminKey, ""); st != 404 {
		t.Errorf("void an unknown batch: %d", st)
	}
	st, out = g.admin(t, "GET", "/api/v1/redeem-codes", g.AdminKey, "")
	if st != 200 {
		t.Fatalf("list codes: %d %v", st, out)
	}
	listed := out["data"].([]any)[0].(map[string]any)
	statuses := map[string]string{}
	for _, c := range listed["codes"].([]any) {
		c := c.(map[string]any)
		statuses[c["status"].(string)] = fmt.Sprint(c["redeemed_by"])
	}
	if len(statuses) != 2 || statuses["redeemed"] != acctA || statuses["voided"] != "<nil>" || listed["redeemed"] != 1.0 {
		t.Errorf("codes as listed: %v", listed)
	}
	if strings.Contains(toJSON(out), code0) || strings.Contains(toJSON(out), code1) {
		t.Error("the listing holds a code")
	}

	// The ledger: A's own, newest first, in pages; B's is not A's to read.
	g.flush(t)
	st, out = g.admin(t, "GET", "/api/v1/accounts/"+acctA+"/ledger", mA, "")
	if st != 200 {
		t.Fatalf("ledger: %d %v", st, out)
	}
	var kinds []string
	for _, e := range out["data"].([]any) {
		e := e.(map[string]any)
		kinds = append(kinds, e["kind"].(string))
		if e["kind"] == "redeem" && (e["memo"] != "spring promo" || toJSON(e["amount"]) != "5") {
			t.Errorf("redeem entry %v", e)
		}
	}
	if strings.Join(kinds, ",") != "charge,redeem" || out["next"] != nil {
		t.Errorf("ledger of A: kinds %v, next %v", kinds, out["next"])
	}
	st, out = g.admin(t, "GET", "/api/v1/accounts/"+acctA+"/ledger?limit=1", g.AdminKey, "")
	next, _ := out["next"].(string)
	if st != 200 || len(out["data"].([]any)) != 1 || next == "" {
		t.Fatalf("first page of 1: %d %v", st, out)
	}
	st, out = g.admin(t, "GET", "/api/v1/accounts/"+acctA+"/ledger?limit=1&before="+next, g.AdminKey, "")
	if st != 200 || len(out["data"].([]any)) != 1 || out["data"].([]any)[0].(map[string]any)["kind"] != "redeem" || out["next"] != nil {
		t.Fatalf("second page: %d %v", st, out)
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "before=nonsense", "before=1-"} {
		if st, out := g.admin(t, "GET", "/api/v1/accounts/"+acctA+"/ledger?"+q, g.AdminKey, ""); st != 400 {
			t.Errorf("ledger?%s: %d %v", q, st, out)
		}
	}
	if st, _ := g.admin(t, "GET", "/api/v1/accounts/"+acctB+"/ledger", mA, ""); st != 404 {
		t.Errorf("A's management key read B's ledger: %d", st)
	}
	if st, _ := g.admin(t, "GET", "/api/v1/accounts/acct-none/ledger", g.AdminKey, ""); st != 404 {
		t.Errorf("ledger of an unknown account: %d", st)
	}
}

// TestRedeemRefusals: bad batches are 400s; an unmetered account keeps the
// code unused; failed attempts are rate-limited per account.
func TestRedeemRefusals(t *testing.T) {
	g := start(t, opts{})
	for _, body := range []string{`{"count": 0, "value": 1}`, `{"count": 1001, "value": 1}`, `{"count": 1, "value": 0}`,
		`{"count": 1}`, `{"count": 1, "value": "abc"}`, `{"count": 1, "value": 1, "expires_at": "2001-01-01T00:00:00Z"}`,
		`{"count": 1, "value": 1e30}`, `{"count": "2", "value": 1}`} {
		if st, out := g.admin(t, "POST", "/api/v1/redeem-codes", g.AdminKey, body); st != 400 {
			t.Errorf("batch %s: %d %v", body, st, out)
		}
	}
	st, out := g.admin(t, "POST", "/api/v1/accounts", g.AdminKey, `{"name":"internal"}`)
	if st != 201 {
		t.Fatal(st, out)
	}
	unmetered := out["data"].(map[string]any)["id"].(string)
	mU := g.mgmtKeyOf(t, unmetered)
	_, out = g.admin(t, "POST", "/api/v1/redeem-codes", g.AdminKey, `{"count": 1, "value": 1}`)
	code := out["codes"].([]any)[0].(string)
	if st, out := g.admin(t, "POST", "/api/v1/credits/redeem", mU, `{"code":"`+code+`"}`); st != 409 || errCode(out) != "account_unmetered" {
		t.Errorf("unmetered account: %d %v", st, out)
	}
	if _, out := g.admin(t, "GET", "/api/v1/accounts/"+unmetered, g.AdminKey, ""); out["data"].(map[string]any)["credits"] != nil {
		t.Errorf("the unmetered account changed: %v", out)
	}

	acct, _ := g.newAccount(t, "0", "")
	m := g.mgmtKeyOf(t, acct)
	bad := `{"code":"sy-rc-` + strings.Repeat("b", 24) + `"}`
	for i := range 10 {
		if st, out := g.admin(t, "POST", "/api/v1/credits/redeem", m, bad); st != 400 {
			t.Fatalf("failed attempt %d: %d %v", i+1, st, out)
		}
	}
	req, _ := http.NewRequest("POST", g.URL+"/api/v1/credits/redeem", strings.NewReader(`{"code":"`+code+`"}`))
	req.Header.Set("Authorization", "Bearer "+m)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "rate_limit_exceeded") {
		t.Errorf("after 10 failures, a good code: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

// TestCreditsPastTheLargestAmountAre400: a top-up or a redemption that
// would take an account's credits past $9223372036.854775807 is the
// caller's error (400 naming it), not a 500, and changes nothing: the
// credits stay, and the code stays unused.
func TestCreditsPastTheLargestAmountAre400(t *testing.T) {
	g := start(t, opts{})
	acct, _ := g.newAccount(t, "9000000000", "")
	st, out := g.admin(t, "POST", "/api/v1/accounts/"+acct+"/credits", g.AdminKey, `{"amount": 9000000000}`)
	if e, _ := out["error"].(map[string]any); st != 400 || e["param"] != "amount" || !strings.Contains(e["message"].(string), "past $9223372036.854775807") {
		t.Fatalf("top-up past the largest amount: %d %v", st, out)
	}
	st, out = g.admin(t, "POST", "/api/v1/redeem-codes", g.AdminKey, `{"count": 1, "value": 9000000000}`)
	if st != 201 {
		t.Fatalf("generate a code: %d %v", st, out)
	}
	code := out["codes"].([]any)[0].(string)
	m := g.mgmtKeyOf(t, acct)
	if st, out := g.admin(t, "POST", "/api/v1/credits/redeem", m, `{"code":"`+code+`"}`); st != 400 || errCode(out) != "invalid_request_error" {
		t.Fatalf("redeem past the largest amount: %d %v", st, out)
	}
	if _, out := g.admin(t, "GET", "/api/v1/accounts/"+acct, g.AdminKey, ""); toJSON(out["data"].(map[string]any)["credits"]) != "9000000000" {
		t.Fatalf("credits changed: %v", out)
	}
	// The code was not spent: an account with room redeems it.
	other, _ := g.newAccount(t, "0", "")
	if st, out := g.admin(t, "POST", "/api/v1/credits/redeem", g.mgmtKeyOf(t, other), `{"code":"`+code+`"}`); st != 200 {
		t.Fatalf("the code after the refused redemption: %d %v", st, out)
	}
}
