package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

type auditPage struct {
	Data []struct {
		ID    string `json:"id"`
		Actor struct {
			Kind, ID, Label string
		} `json:"actor"`
		AccountID string          `json:"account_id"`
		Action    string          `json:"action"`
		Target    string          `json:"target"`
		Status    int             `json:"status"`
		RequestID string          `json:"request_id"`
		Source    string          `json:"source"`
		Before    json.RawMessage `json:"before"`
		After     json.RawMessage `json:"after"`
	} `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func (g *gateway) audit(t *testing.T, key, query string) auditPage {
	t.Helper()
	st, body := g.adminRaw(t, "GET", "/api/v1/audit"+query, key, "")
	if st != http.StatusOK {
		t.Fatalf("GET /api/v1/audit%s: %d %s", query, st, body)
	}
	var p auditPage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestManagementActionsAreAuditedWithBeforeAfterAndNoSecrets(t *testing.T) {
	g := start(t, opts{})
	acct, _ := g.newAccount(t, "5", `{"name":"ci"}`)

	// A management key of the new account, and actions by the admin and by it.
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"team","kind":"management","account_id":"`+acct+`"}`)
	if st != 201 {
		t.Fatalf("create management key: %d %v", st, out)
	}
	mgmt := out["key"].(string)
	st, out = g.admin(t, "POST", "/api/v1/keys", mgmt, `{"name":"bot","limit":2}`)
	if st != 201 {
		t.Fatalf("create by the management key: %d %v", st, out)
	}
	botKey, botHash := out["key"].(string), out["data"].(map[string]any)["hash"].(string)
	if st, out = g.admin(t, "PATCH", "/api/v1/keys/"+botHash, mgmt, `{"disabled":true}`); st != 200 {
		t.Fatalf("disable: %d %v", st, out)
	}
	if st, out = g.admin(t, "POST", "/api/v1/accounts/"+acct+"/credits", g.AdminKey, `{"amount":10,"memo":"invoice 7"}`); st != 200 {
		t.Fatalf("top up: %d %v", st, out)
	}
	// A refused action is recorded too: a management key may not top up.
	if st, _ = g.admin(t, "POST", "/api/v1/accounts/"+acct+"/credits", mgmt, `{"amount":1000}`); st != http.StatusForbidden {
		t.Fatalf("management top-up: %d, want 403", st)
	}
	// A bad key is not recorded (the failed-authentication limit counts it).
	if st, _ = g.admin(t, "DELETE", "/api/v1/keys/"+botHash, "sk-sy-wrong-"+strings.Repeat("z", 30), ""); st != http.StatusUnauthorized {
		t.Fatalf("bad key: %d", st)
	}

	all := g.audit(t, g.AdminKey, "")
	raw, _ := json.Marshal(all)
	for _, secret := range []string{botKey, mgmt, g.AdminKey} {
		if strings.Contains(string(raw), secret) {
			t.Fatalf("the audit log holds a key: %s", raw)
		}
	}
	var actions []string
	for _, e := range all.Data {
		actions = append(actions, e.Action+" "+e.Actor.Kind)
	}
	want := []string{
		"POST /api/v1/accounts/{id}/credits management",
		"POST /api/v1/accounts/{id}/credits admin",
		"PATCH /api/v1/keys/{hash} management",
		"POST /api/v1/keys management",
		"POST /api/v1/keys admin", // the management key
		"POST /api/v1/keys admin", // newAccount's key
		"POST /api/v1/accounts admin",
	}
	if strings.Join(actions, "\n") != strings.Join(want, "\n") {
		t.Fatalf("actions, newest first:\n%s\nwant\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
	refused, topUp, patch := all.Data[0], all.Data[1], all.Data[2]
	if refused.Status != http.StatusForbidden || refused.AccountID != acct || refused.Target != acct {
		t.Errorf("refused top-up: %+v", refused)
	}
	if topUp.Status != 200 || topUp.Target != acct || topUp.AccountID != acct || !strings.Contains(string(topUp.After), `"memo":"invoice 7"`) ||
		topUp.Source != "127.0.0.1" || topUp.RequestID == "" || topUp.Actor.Label == "" {
		t.Errorf("top-up: %+v", topUp)
	}
	if patch.Target != botHash || !strings.Contains(string(patch.Before), `"disabled":false`) || !strings.Contains(string(patch.After), `"disabled":true`) {
		t.Errorf("patch: target %s, before %s, after %s", patch.Target, patch.Before, patch.After)
	}
	if create := all.Data[3]; string(create.Before) != "null" || !strings.Contains(string(create.After), `"name":"bot"`) {
		t.Errorf("create: before %s, after %s", create.Before, create.After)
	}

	// The management key sees its own account's entries only.
	mine := g.audit(t, mgmt, "?account_id=acct-default")
	if len(mine.Data) != 7 {
		t.Fatalf("management key sees %d entries, want its account's 7", len(mine.Data))
	}
	for _, e := range mine.Data {
		if e.AccountID != acct {
			t.Errorf("management key sees another account's entry: %+v", e)
		}
	}
	// Filters and pages.
	if p := g.audit(t, g.AdminKey, "?action="+url.QueryEscape("PATCH /api/v1/keys")); len(p.Data) != 1 || p.Data[0].Target != botHash {
		t.Errorf("action filter: %+v", p.Data)
	}
	if p := g.audit(t, g.AdminKey, "?target="+botHash); len(p.Data) != 2 {
		t.Errorf("target filter: %d entries, want the create and the patch", len(p.Data))
	}
	var seen []string
	for cursor := ""; ; {
		q := "?limit=3"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		p := g.audit(t, g.AdminKey, q)
		for _, e := range p.Data {
			seen = append(seen, e.ID)
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if len(seen) != len(all.Data) {
		t.Fatalf("pages of 3 gave %d entries, want %d", len(seen), len(all.Data))
	}
	for _, q := range []string{"?limit=0", "?limit=501", "?limit=x", "?cursor=gen-1", "?from=yesterday"} {
		if st, body := g.adminRaw(t, "GET", "/api/v1/audit"+q, g.AdminKey, ""); st != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", q, st, body)
		}
	}
	// An API key cannot read the log.
	if st, _ := g.adminRaw(t, "GET", "/api/v1/audit", g.Key, ""); st != http.StatusForbidden && st != http.StatusUnauthorized {
		t.Errorf("API key read the audit log: %d", st)
	}
}

func TestSignInsAndLeakReportsAreAudited(t *testing.T) {
	gh, pubPEM := newSigningKey(t)
	g := start(t, opts{yaml: secretScanningConfig, env: map[string]string{"SS_PEM": pubPEM}})
	signIn := func(key string) int {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/console/signin", strings.NewReader(url.Values{"key": {key}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	wrong := "sk-sy-" + strings.Repeat("q", 40)
	if st := signIn(wrong); st != http.StatusUnauthorized {
		t.Fatalf("wrong key sign-in: %d", st)
	}
	if st := signIn(g.AdminKey); st != http.StatusSeeOther {
		t.Fatalf("admin sign-in: %d", st)
	}
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"leaky"}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	leaky, hash := out["key"].(string), out["data"].(map[string]any)["hash"].(string)
	if st, body := report(t, g, gh, "gh-1", `[{"token":"`+leaky+`","type":"switchyard_api_key","url":"https://github.com/o/r/blob/x/.env","source":"content"}]`); st != 200 {
		t.Fatalf("report: %d %s", st, body)
	}

	p := g.audit(t, g.AdminKey, "")
	raw, _ := json.Marshal(p)
	if strings.Contains(string(raw), leaky) || strings.Contains(string(raw), g.AdminKey) || strings.Contains(string(raw), wrong) {
		t.Fatalf("the audit log holds a key: %s", raw)
	}
	if len(p.Data) != 4 {
		t.Fatalf("%d entries, want the report, the create and two sign-ins: %s", len(p.Data), raw)
	}
	rep, ok, bad := p.Data[0], p.Data[2], p.Data[3]
	if rep.Action != "POST /api/v1/secret-scanning/report" || rep.Actor.Kind != "github" || rep.Actor.ID != "gh-1" ||
		!strings.Contains(string(rep.After), hash) || !strings.Contains(string(rep.After), "https://github.com/o/r/blob/x/.env") {
		t.Errorf("leak report entry: %+v (after %s)", rep, rep.After)
	}
	if ok.Action != "console sign-in" || ok.Actor.Kind != "admin" || ok.Status != 200 || ok.Actor.ID == "" {
		t.Errorf("sign-in entry: %+v", ok)
	}
	if bad.Action != "console sign-in" || bad.Status != http.StatusUnauthorized || bad.Actor.Kind != "unknown" || !strings.Contains(string(bad.After), "refused") {
		t.Errorf("refused sign-in entry: %+v (after %s)", bad, bad.After)
	}
}
