package console_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

// chatAs makes one chat request with key for the app title.
func (g *gateway) chatAs(t *testing.T, key, title string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://gw.test/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Title", title)
	w := httptest.NewRecorder()
	g.srv.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("chat as %s: %d %s", title, w.Code, w.Body)
	}
}

// twoAccounts has the demo account's key chat as "Console Test" and a
// second account's as "Other App", and answers the second account's
// management key.
func twoAccounts(t *testing.T, g *gateway) (otherMgmt string) {
	t.Helper()
	var acct struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if c := g.apiBody(t, http.MethodPost, "/accounts", g.adminKey, `{"name":"other"}`, &acct); c != 201 {
		t.Fatalf("POST /accounts: %d", c)
	}
	var mgmt, api struct {
		Key string `json:"key"`
	}
	if c := g.apiBody(t, http.MethodPost, "/keys", g.adminKey, `{"name":"other-mgmt","kind":"management","account_id":"`+acct.Data.ID+`"}`, &mgmt); c != 201 {
		t.Fatalf("management key: %d", c)
	}
	if c := g.apiBody(t, http.MethodPost, "/keys", g.adminKey, `{"name":"other-api","account_id":"`+acct.Data.ID+`"}`, &api); c != 201 {
		t.Fatalf("api key: %d", c)
	}
	g.chatAs(t, g.demoKey, "Console Test")
	g.chatAs(t, api.Key, "Other App")
	g.waitForUsage(t, 2)
	return mgmt.Key
}

var rankSection = regexp.MustCompile(`(?s)<section id="rank-apps">.*?</section>`)

func appsOf(page string) string { return html.UnescapeString(rankSection.FindString(page)) }

func TestRankingsMembersSeeTheirOwnAccount(t *testing.T) {
	g := newGateway(t) // console.rankings defaults to members
	other := twoAccounts(t, g)

	// Without a session: sign in first.
	resp, _ := g.browser().do(t, http.MethodGet, "/console/rankings", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/signin") {
		t.Fatalf("anonymous rankings: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	admin := g.browser()
	admin.signIn(t, g.adminKey)
	resp, page := admin.do(t, http.MethodGet, "/console/rankings", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("rankings: %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{`aria-current="page">Rankings`, `<span class="rank-name">gpt-4o</span>`, "Every account", `href="/console/rankings?period=day"`} {
		if !strings.Contains(page, want) {
			t.Errorf("admin's rankings lack %q", want)
		}
	}
	if apps := appsOf(page); !strings.Contains(apps, "Console Test") || !strings.Contains(apps, "Other App") {
		t.Errorf("admin's top apps: %s", apps)
	}

	mb := g.browser()
	mb.signIn(t, other)
	_, page = mb.do(t, http.MethodGet, "/console/rankings?period=month", nil)
	if apps := appsOf(page); !strings.Contains(apps, "Other App") || strings.Contains(apps, "Console Test") {
		t.Errorf("the other account's top apps (want its own only): %s", apps)
	}
	if !strings.Contains(page, `period=month" aria-current="true"`) || !strings.Contains(page, "Your account") {
		t.Errorf("the month period is not the current one")
	}
}

func TestRankingsPublicNeedNoSessionAndShowOnlyNamesAndTokens(t *testing.T) {
	g := newGatewayConfig(t, testConfig+"console:\n  rankings: public\n")
	other := twoAccounts(t, g)

	resp, page := g.browser().do(t, http.MethodGet, "/console/rankings?period=day", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("public rankings: %d\n%s", resp.StatusCode, page)
	}
	if apps := appsOf(page); !strings.Contains(apps, "Console Test") || !strings.Contains(apps, "Other App") {
		t.Errorf("public top apps: %s", apps)
	}
	if !strings.Contains(page, `<span class="rank-name">gpt-4o</span>`) || !strings.Contains(page, `href="/console/signin"`) {
		t.Errorf("public rankings lack the model or the sign-in link:\n%s", page)
	}
	// Nothing of an account or a key: no key hash, no account id, no
	// session's CSRF token, no spend.
	for _, k := range g.keys(t) {
		if strings.Contains(page, k.Hash) || strings.Contains(page, k.AccountID) {
			t.Errorf("the public page shows key %s or its account", k.Name)
		}
	}
	if strings.Contains(page, `name="csrf"`) || strings.Contains(page, "$") {
		t.Errorf("the public page shows a CSRF token or money:\n%s", page)
	}
	// Signed in, the page keeps the nav.
	b := g.browser()
	b.signIn(t, other)
	if _, page := b.do(t, http.MethodGet, "/console/rankings", nil); !strings.Contains(page, `href="/console/keys"`) || !strings.Contains(appsOf(page), "Other App") {
		t.Errorf("signed in, the public page:\n%s", page)
	}
}

func TestRankingsOffIsNotServedNorLinked(t *testing.T) {
	g := newGatewayConfig(t, testConfig+"console:\n  rankings: off\n")
	b := g.browser()
	b.signIn(t, g.adminKey)
	resp, page := b.do(t, http.MethodGet, "/console/rankings", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("rankings off: %d", resp.StatusCode)
	}
	if strings.Contains(page, `href="/console/rankings"`) {
		t.Errorf("the nav links to rankings while they are off")
	}
	if _, page := b.do(t, http.MethodGet, "/console/keys", nil); strings.Contains(page, `href="/console/rankings"`) || !strings.Contains(page, `href="/console/playground"`) {
		t.Errorf("nav with rankings off:\n%s", page)
	}
}

func TestPlaygroundPageAsksForAKeyAndLoadsItsOwnScript(t *testing.T) {
	g := newGateway(t)
	resp, _ := g.browser().do(t, http.MethodGet, "/console/playground", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("anonymous playground: %d", resp.StatusCode)
	}
	b := g.browser()
	b.signIn(t, g.adminKey)
	resp, page := b.do(t, http.MethodGet, "/console/playground", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("playground: %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{`aria-current="page">Playground`, `<input type="password" id="pg-key"`, `<script src="/console/assets/playground.js"></script>`,
		`id="pg-model"`, `id="pg-system"`, `id="pg-stop"`, "Enter sends"} {
		if !strings.Contains(page, want) {
			t.Errorf("playground lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]|style="`).MatchString(page) {
		t.Errorf("the page has an inline script or style")
	}
	// Connect links here.
	if _, page := b.do(t, http.MethodGet, "/console/connect", nil); !strings.Contains(page, `<a href="/console/playground">Playground</a>`) {
		t.Errorf("Connect does not link to the Playground")
	}
	// The script streams, and keeps the key out of web storage and cookies.
	js, err := os.ReadFile("assets/playground.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`stream: true`, `include_usage: true`, `getReader()`, `new AbortController()`, `"/v1/models"`, `usage.cost`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("playground.js lacks %s", want)
		}
	}
	for _, bad := range []string{"localStorage", "sessionStorage", "document.cookie", "indexedDB"} {
		if strings.Contains(string(js), bad) {
			t.Errorf("playground.js mentions %s", bad)
		}
	}
	if resp, _ := b.do(t, http.MethodGet, "/console/assets/playground.js", nil); resp.StatusCode != 200 {
		t.Errorf("playground.js: %d", resp.StatusCode)
	}
}
