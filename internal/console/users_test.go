package console_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/server"
)

// send calls the API with a JSON body as a script would (key "" sends
// none) and decodes a 2xx answer into out.
func (g *gateway) send(t *testing.T, method, path, key, body string, out any) (int, string) {
	t.Helper()
	r := httptest.NewRequest(method, "http://gw.test/api/v1"+path, strings.NewReader(body))
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	g.srv.ServeHTTP(w, r)
	if out != nil && w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, w.Body)
		}
	}
	return w.Code, w.Body.String()
}

// team is a second account with a management key and an API key.
type team struct {
	id, mgmt, apiKey string
}

func (g *gateway) team(t *testing.T, name string) team {
	t.Helper()
	var acct struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if c, b := g.send(t, "POST", "/accounts", g.adminKey, `{"name":"`+name+`"}`, &acct); c != http.StatusCreated {
		t.Fatalf("create account: %d %s", c, b)
	}
	var k struct {
		Key string `json:"key"`
	}
	tm := team{id: acct.Data.ID}
	if c, b := g.send(t, "POST", "/keys", g.adminKey, `{"name":"`+name+`-manager","kind":"management","account_id":"`+tm.id+`"}`, &k); c != http.StatusCreated {
		t.Fatalf("create management key: %d %s", c, b)
	}
	tm.mgmt = k.Key
	if c, b := g.send(t, "POST", "/keys", g.adminKey, `{"name":"`+name+`-app","account_id":"`+tm.id+`"}`, &k); c != http.StatusCreated {
		t.Fatalf("create API key: %d %s", c, b)
	}
	tm.apiKey = k.Key
	return tm
}

type userAnswer struct {
	Data     admin.UserObject `json:"data"`
	Password string           `json:"password"`
}

func (g *gateway) createUser(t *testing.T, key, body string) userAnswer {
	t.Helper()
	var u userAnswer
	if c, b := g.send(t, "POST", "/users", key, body, &u); c != http.StatusCreated {
		t.Fatalf("POST /users %s: %d %s", body, c, b)
	}
	return u
}

// signInUser signs the browser in with an email and a password.
func (b *browser) signInUser(t *testing.T, email, pw string) (*http.Response, string) {
	t.Helper()
	return b.do(t, http.MethodPost, "/console/signin", url.Values{"email": {email}, "password": {pw}})
}

func TestUsersAPIScopesAndValidates(t *testing.T) {
	g := newGateway(t)
	tm := g.team(t, "team")
	other := g.team(t, "other")

	// The admin creates a user of any account; the email is stored lower case.
	ann := g.createUser(t, g.adminKey, `{"email":"Ann@Example.com","password":"ann-password-1","account_id":"`+tm.id+`","role":"owner"}`)
	if ann.Data.Email != "ann@example.com" || ann.Data.Role != "owner" || ann.Data.AccountID != tm.id || ann.Password != "" || !strings.HasPrefix(ann.Data.ID, "user-") {
		t.Fatalf("created %+v", ann)
	}
	// Without a password the gateway generates one, shown this once.
	bob := g.createUser(t, tm.mgmt, `{"email":"bob@example.com"}`)
	if bob.Data.Role != "member" || bob.Data.AccountID != tm.id || len(bob.Password) != 20 {
		t.Fatalf("created %+v: want a member of the management key's account and a generated password", bob)
	}
	if c, _ := g.browser().signInUser(t, "bob@example.com", bob.Password); c.StatusCode != http.StatusSeeOther {
		t.Fatalf("the generated password does not sign in: %d", c.StatusCode)
	}
	carol := g.createUser(t, g.adminKey, `{"email":"carol@example.com","password":"carol-password","account_id":"`+other.id+`"}`)

	for _, c := range []struct {
		name, method, path, key, body string
		want                          int
		says                          string
	}{
		{"duplicate email, any case", "POST", "/users", g.adminKey, `{"email":"ANN@example.com","password":"another-pass","account_id":"` + other.id + `"}`, 409, "already exists"},
		{"bad email", "POST", "/users", g.adminKey, `{"email":"not an email","password":"0123456789","account_id":"` + tm.id + `"}`, 400, "'email'"},
		{"no email", "POST", "/users", g.adminKey, `{"password":"0123456789","account_id":"` + tm.id + `"}`, 400, "'email'"},
		{"short password", "POST", "/users", g.adminKey, `{"email":"d@example.com","password":"short","account_id":"` + tm.id + `"}`, 400, "at least 10"},
		{"long password", "POST", "/users", g.adminKey, `{"email":"d@example.com","password":"` + strings.Repeat("p", 129) + `","account_id":"` + tm.id + `"}`, 400, "at most 128"},
		{"bad role", "POST", "/users", g.adminKey, `{"email":"d@example.com","role":"god","account_id":"` + tm.id + `"}`, 400, "'role'"},
		{"unknown account", "POST", "/users", g.adminKey, `{"email":"d@example.com","account_id":"acct-none"}`, 400, "no account"},
		{"admin without account", "POST", "/users", g.adminKey, `{"email":"d@example.com"}`, 400, "account_id"},
		{"malformed JSON", "POST", "/users", g.adminKey, `{"email":`, 400, "invalid request body"},
		{"wrong type", "POST", "/users", g.adminKey, `{"email":7}`, 400, "invalid request body"},
		{"unknown field", "PATCH", "/users/" + ann.Data.ID, g.adminKey, `{"mail":"x@example.com"}`, 400, "unknown field"},
		{"API key", "GET", "/users", tm.apiKey, ``, 403, "API key"},
		{"no key", "GET", "/users", "", ``, 401, ""},
		{"management key, other account", "POST", "/users", tm.mgmt, `{"email":"d@example.com","account_id":"` + other.id + `"}`, 403, "its own account"},
		{"management key, other account's list", "GET", "/users?account_id=" + other.id, tm.mgmt, ``, 403, "its own account"},
		{"management key, other account's user", "GET", "/users/" + carol.Data.ID, tm.mgmt, ``, 404, "no user"},
		{"management key, patch other account's user", "PATCH", "/users/" + carol.Data.ID, tm.mgmt, `{"disabled":true}`, 404, "no user"},
		{"management key, delete other account's user", "DELETE", "/users/" + carol.Data.ID, tm.mgmt, ``, 404, "no user"},
		{"unknown user", "GET", "/users/user-none", g.adminKey, ``, 404, "no user"},
		{"patch to a taken email", "PATCH", "/users/" + bob.Data.ID, tm.mgmt, `{"email":"ann@example.com"}`, 409, "already exists"},
		{"patch an empty role", "PATCH", "/users/" + bob.Data.ID, tm.mgmt, `{"role":""}`, 400, "'role'"},
		{"a key changes no password here", "POST", "/users/" + ann.Data.ID + "/password", g.adminKey, `{"current_password":"ann-password-1","password":"0123456789"}`, 403, "PATCH"},
		{"registration is off", "POST", "/register", "", `{"email":"e@example.com","password":"0123456789"}`, 403, "off"},
	} {
		code, body := g.send(t, c.method, c.path, c.key, c.body, nil)
		if code != c.want || !strings.Contains(body, c.says) || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s; want %d saying %q", c.name, code, body, c.want, c.says)
		}
	}
	if c, _ := g.send(t, "PATCH", "/users/"+carol.Data.ID, tm.mgmt, `{"disabled":true}`, nil); c == http.StatusOK {
		t.Fatal("a management key disabled another account's user")
	}

	// Lists: the admin sees all, a management key its own account's.
	var list struct {
		Data []admin.UserObject `json:"data"`
	}
	if c, _ := g.send(t, "GET", "/users", g.adminKey, "", &list); c != 200 || len(list.Data) != 3 {
		t.Fatalf("admin list: %d %+v", c, list.Data)
	}
	if c, _ := g.send(t, "GET", "/users", tm.mgmt, "", &list); c != 200 || len(list.Data) != 2 || list.Data[0].Email+list.Data[1].Email != "ann@example.combob@example.com" && list.Data[0].Email+list.Data[1].Email != "bob@example.comann@example.com" {
		t.Fatalf("management key's list: %d %+v", c, list.Data)
	}
	if strings.Contains(fmt.Sprint(list), "argon2") {
		t.Fatal("the list shows password hashes")
	}
	// PATCH: role, email, password; DELETE.
	var got struct {
		Data admin.UserObject `json:"data"`
	}
	if c, b := g.send(t, "PATCH", "/users/"+bob.Data.ID, tm.mgmt, `{"role":"owner","email":"Robert@example.com","password":"new-bob-password"}`, &got); c != 200 ||
		got.Data.Role != "owner" || got.Data.Email != "robert@example.com" {
		t.Fatalf("PATCH: %d %s", c, b)
	}
	if c, _ := g.browser().signInUser(t, "robert@example.com", "new-bob-password"); c.StatusCode != http.StatusSeeOther {
		t.Fatalf("the patched password does not sign in: %d", c.StatusCode)
	}
	if c, b := g.send(t, "DELETE", "/users/"+bob.Data.ID, tm.mgmt, "", nil); c != 200 {
		t.Fatalf("DELETE: %d %s", c, b)
	}
	if c, _ := g.send(t, "GET", "/users/"+bob.Data.ID, g.adminKey, "", nil); c != 404 {
		t.Fatalf("GET a deleted user: %d", c)
	}
}

func TestUserSignInActsAsTheirAccountOwnerWritesMemberReads(t *testing.T) {
	g := newGateway(t)
	tm := g.team(t, "team")
	g.createUser(t, g.adminKey, `{"email":"owner@example.com","password":"owner-password","account_id":"`+tm.id+`","role":"owner"}`)
	g.createUser(t, g.adminKey, `{"email":"member@example.com","password":"member-password","account_id":"`+tm.id+`","role":"member"}`)

	// A wrong password and an unknown email get the same refusal.
	for i, creds := range [][2]string{{"owner@example.com", "wrong-password"}, {"nobody@example.com", "owner-password"}} {
		b := g.browser()
		b.addr = fmt.Sprintf("198.51.100.%d", 10+i)
		resp, page := b.signInUser(t, creds[0], creds[1])
		if resp.StatusCode != http.StatusUnauthorized || b.cookie != nil || !strings.Contains(page, "wrong email or password") {
			t.Fatalf("%v: %d, cookie %v\n%s", creds, resp.StatusCode, b.cookie, page)
		}
	}

	owner := g.browser()
	owner.addr = "198.51.100.20"
	if resp, page := owner.signInUser(t, "OWNER@example.com", "owner-password"); resp.StatusCode != http.StatusSeeOther || owner.cookie == nil {
		t.Fatalf("owner sign-in: %d\n%s", resp.StatusCode, page)
	}
	_, page := owner.do(t, http.MethodGet, "/console/keys", nil)
	if !strings.Contains(page, `data-name="team-app"`) || strings.Contains(page, `data-name="demo"`) || !strings.Contains(page, "owner@example.com") {
		t.Fatalf("the owner's keys page does not list their account's keys only:\n%s", page)
	}
	if resp, page := owner.post(t, "/console/keys", url.Values{"name": {"owner-made"}}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("the owner cannot create a key: %d\n%s", resp.StatusCode, page)
	}
	if k := g.keyNamed(t, "owner-made"); k == nil || k.AccountID != tm.id || k.Kind != "api" {
		t.Fatalf("the owner's key: %+v", k)
	}

	member := g.browser()
	member.addr = "198.51.100.21"
	if resp, _ := member.signInUser(t, "member@example.com", "member-password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("member sign-in: %d", resp.StatusCode)
	}
	if _, page := member.do(t, http.MethodGet, "/console/keys", nil); !strings.Contains(page, `data-name="owner-made"`) || strings.Contains(page, `data-name="demo"`) {
		t.Fatalf("the member's keys page:\n%s", page)
	}
	resp, page := member.post(t, "/console/keys", url.Values{"name": {"member-made"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "members can look") || g.keyNamed(t, "member-made") != nil {
		t.Fatalf("a member created a key: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := member.post(t, "/console/keys/"+g.keyNamed(t, "owner-made").Hash+"/delete", nil); resp.StatusCode != http.StatusForbidden || g.keyNamed(t, "owner-made") == nil {
		t.Fatalf("a member deleted a key: %d", resp.StatusCode)
	}
}

func TestFailedPasswordSignInsAreLimitedPerEmailFromAnyAddress(t *testing.T) {
	g := newGateway(t)
	tm := g.team(t, "team")
	g.createUser(t, g.adminKey, `{"email":"ann@example.com","password":"ann-password-1","account_id":"`+tm.id+`"}`)
	for i := range 10 {
		b := g.browser()
		b.addr = fmt.Sprintf("203.0.113.%d", i+1) // a new address each time: the per-address limit never trips
		if resp, _ := b.signInUser(t, "ann@example.com", "guess-"+fmt.Sprint(i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	b := g.browser()
	b.addr = "203.0.113.100"
	resp, page := b.signInUser(t, "ANN@example.com", "ann-password-1")
	if resp.StatusCode != http.StatusTooManyRequests || b.cookie != nil || resp.Header.Get("Retry-After") == "" || !strings.Contains(page, "for this email") {
		t.Fatalf("after 10 failures: %d, cookie %v, Retry-After %q\n%s", resp.StatusCode, b.cookie, resp.Header.Get("Retry-After"), page)
	}
	// Another user is not affected, and the window ends.
	g.createUser(t, g.adminKey, `{"email":"bob@example.com","password":"bob-password","account_id":"`+tm.id+`"}`)
	if resp, _ := b.signInUser(t, "bob@example.com", "bob-password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another user: %d", resp.StatusCode)
	}
	g.clock.advance(15 * time.Minute)
	if resp, _ := g.browser().signInUser(t, "ann@example.com", "ann-password-1"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d", resp.StatusCode)
	}
}

func TestUserSessionsEndWhenDisabledDeletedOrPasswordChanged(t *testing.T) {
	g := newGateway(t)
	tm := g.team(t, "team")
	ann := g.createUser(t, g.adminKey, `{"email":"ann@example.com","password":"ann-password-1","account_id":"`+tm.id+`","role":"owner"}`)
	signedIn := func(addr, pw string) *browser {
		t.Helper()
		b := g.browser()
		b.addr = addr
		if resp, page := b.signInUser(t, "ann@example.com", pw); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d\n%s", resp.StatusCode, page)
		}
		b.do(t, http.MethodGet, "/console/password", nil) // the CSRF token
		return b
	}
	works := func(b *browser) bool {
		resp, _ := b.do(t, http.MethodGet, "/console/keys", nil)
		return resp.StatusCode == http.StatusOK
	}

	// Changing the password in the console keeps this browser signed in
	// and signs out the others.
	here, there := signedIn("192.0.2.10", "ann-password-1"), signedIn("192.0.2.11", "ann-password-1")
	resp, page := here.post(t, "/console/password", url.Values{"current_password": {"wrong-one-here"}, "password": {"ann-password-2"}, "password_again": {"ann-password-2"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "current password is wrong") {
		t.Fatalf("a wrong current password: %d\n%s", resp.StatusCode, page)
	}
	resp, page = here.post(t, "/console/password", url.Values{"current_password": {"ann-password-1"}, "password": {"ann-password-2"}, "password_again": {"ann-password-2"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change password: %d\n%s", resp.StatusCode, page)
	}
	if !works(here) || works(there) {
		t.Fatalf("after a password change: this browser works %v (want true), the other %v (want false)", works(here), works(there))
	}
	if resp, _ := g.browser().signInUser(t, "ann@example.com", "ann-password-1"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the old password still signs in: %d", resp.StatusCode)
	}

	// Disabling ends every session; so does deleting.
	if c, b := g.send(t, "PATCH", "/users/"+ann.Data.ID, tm.mgmt, `{"disabled":true}`, nil); c != 200 {
		t.Fatalf("disable: %d %s", c, b)
	}
	if works(here) {
		t.Fatal("a disabled user's session still works")
	}
	if resp, _ := g.browser().signInUser(t, "ann@example.com", "ann-password-2"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a disabled user signs in: %d", resp.StatusCode)
	}
	g.send(t, "PATCH", "/users/"+ann.Data.ID, tm.mgmt, `{"disabled":false}`, nil)
	again := signedIn("192.0.2.12", "ann-password-2")
	if c, _ := g.send(t, "DELETE", "/users/"+ann.Data.ID, g.adminKey, "", nil); c != 200 {
		t.Fatalf("delete: %d", c)
	}
	if works(again) {
		t.Fatal("a deleted user's session still works")
	}
}

func TestSessionsSurviveARestartAndAreSharedByInstances(t *testing.T) {
	g := newGateway(t)
	tm := g.team(t, "team")
	g.createUser(t, g.adminKey, `{"email":"ann@example.com","password":"ann-password-1","account_id":"`+tm.id+`"}`)
	user, key := g.browser(), g.browser()
	if resp, _ := user.signInUser(t, "ann@example.com", "ann-password-1"); resp.StatusCode != http.StatusSeeOther {
		t.Fatal("sign-in")
	}
	key.signIn(t, tm.mgmt)

	// A second gateway on the same database: another instance, or this
	// one after a restart.
	srv2, err := server.New(context.Background(), g.cfg, server.Options{Store: g.st, Now: g.clock.now, LedgerInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv2.Close(context.Background()) })
	g.srv = srv2
	for name, b := range map[string]*browser{"user": user, "key": key} {
		if resp, page := b.do(t, http.MethodGet, "/console/keys", nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-name="team-app"`) {
			t.Errorf("%s session on the second instance: %d\n%s", name, resp.StatusCode, page)
		}
	}
	// The database holds neither the session id nor the key.
	db, err := sql.Open("sqlite", g.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows int
	if err := db.QueryRow(`SELECT count(*) FROM console_sessions`).Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("console_sessions: %d rows, %v; want the 2 sessions", rows, err)
	}
	for _, secret := range []string{user.cookie.Value, key.cookie.Value, tm.mgmt} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM console_sessions WHERE id_hash = ? OR key_hash = ? OR csrf = ?`, secret, secret, secret).Scan(&n); err != nil || n != 0 {
			t.Errorf("a secret is stored in console_sessions: %d rows, %v", n, err)
		}
	}
}

func TestSelfRegistrationNeedsAnInvitationAndMakesAnOwnerWithStartingCredits(t *testing.T) {
	g := newGatewayConfig(t, testConfig+`
console:
  registration:
    enabled: true
    invitation_codes: ["welcome-2026-abc"]
    starting_credits: 1.5
`)
	body := func(code string) string {
		return `{"email":"New@Example.com","password":"new-user-pass","invitation_code":"` + code + `","account_name":"New Co"}`
	}
	if c, b := g.send(t, "POST", "/register", "", body("wrong-code-123"), nil); c != http.StatusForbidden || !strings.Contains(b, "invitation_code") {
		t.Fatalf("a wrong code: %d %s", c, b)
	}
	if c, b := g.send(t, "POST", "/register", "", `{"email":"x@example.com","password":"short","invitation_code":"welcome-2026-abc"}`, nil); c != http.StatusBadRequest {
		t.Fatalf("a short password: %d %s", c, b)
	}
	var u struct {
		Data admin.UserObject `json:"data"`
	}
	if c, b := g.send(t, "POST", "/register", "", body("welcome-2026-abc"), &u); c != http.StatusCreated || u.Data.Role != "owner" || u.Data.Email != "new@example.com" {
		t.Fatalf("register: %d %s", c, b)
	}
	if c, b := g.send(t, "POST", "/register", "", body("welcome-2026-abc"), nil); c != http.StatusConflict {
		t.Fatalf("registering twice: %d %s", c, b)
	}
	var acct struct {
		Data admin.AccountObject `json:"data"`
	}
	if c, b := g.send(t, "GET", "/accounts/"+u.Data.AccountID, g.adminKey, "", &acct); c != 200 || acct.Data.Name != "New Co" ||
		acct.Data.Credits == nil || acct.Data.Credits.String() != "1.5" {
		t.Fatalf("the new account: %d %s", c, b)
	}
	b := g.browser()
	if resp, _ := b.signInUser(t, "new@example.com", "new-user-pass"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the registered user cannot sign in: %d", resp.StatusCode)
	}
	b.do(t, http.MethodGet, "/console/keys", nil)
	if resp, page := b.post(t, "/console/keys", url.Values{"name": {"first"}}); resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusCreated {
		t.Fatalf("the registered owner cannot create a key: %d\n%s", resp.StatusCode, page)
	}
}

// POST /api/v1/register has the sign-in limit per address: after 5
// refusals (wrong invitation codes, here) in a minute, that address gets
// 429 with Retry-After, even with the right code; another address is not
// held; after the minute the first may register again.
func TestRegistrationRefusalsAreLimitedPerAddress(t *testing.T) {
	g := newGatewayConfig(t, testConfig+`
console:
  registration:
    enabled: true
    invitation_codes: ["welcome-2026-abc"]
`)
	register := func(addr, email, code string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "http://gw.test/api/v1/register", strings.NewReader(
			`{"email":"`+email+`","password":"a-long-password","invitation_code":"`+code+`"}`))
		r.RemoteAddr = addr + ":40000"
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		g.srv.ServeHTTP(w, r)
		return w
	}
	for i := range 5 {
		if w := register("203.0.113.7", "guess@example.com", fmt.Sprint("guess-", i)); w.Code != http.StatusForbidden {
			t.Fatalf("guess %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := register("203.0.113.7", "right@example.com", "welcome-2026-abc")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "registrations") {
		t.Fatalf("the 6th try from the address: %d, Retry-After %q, %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if w := register("203.0.113.8", "other@example.com", "welcome-2026-abc"); w.Code != http.StatusCreated {
		t.Fatalf("another address: %d %s", w.Code, w.Body)
	}
	g.clock.advance(time.Minute)
	if w := register("203.0.113.7", "right@example.com", "welcome-2026-abc"); w.Code != http.StatusCreated {
		t.Fatalf("after the window: %d %s", w.Code, w.Body)
	}
}

// Behind a trusted proxy the console's API calls carry the browser's
// address: refusals from one browser do not hold another's registration
// at the API's per-address limit.
func TestConsoleRegistrationCountsTheBrowserBehindAProxy(t *testing.T) {
	g := newGatewayConfig(t, testConfig+`
server:
  trusted_proxies: ["192.0.2.0/24"]
console:
  registration:
    enabled: true
    invitation_codes: ["welcome-2026-abc"]
`)
	register := func(client, email, code string) int {
		form := url.Values{"email": {email}, "password": {"a-long-password"}, "password_again": {"a-long-password"}, "invitation_code": {code}}
		r := httptest.NewRequest(http.MethodPost, "http://gw.test/console/register", strings.NewReader(form.Encode()))
		r.RemoteAddr = "192.0.2.1:40000"
		r.Header.Set("X-Forwarded-For", client)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "http://gw.test")
		w := httptest.NewRecorder()
		g.srv.ServeHTTP(w, r)
		return w.Code
	}
	for i := range 5 {
		if c := register("203.0.113.1", "guess@example.com", fmt.Sprint("guess-", i)); c != http.StatusForbidden {
			t.Fatalf("guess %d: %d", i, c)
		}
	}
	if c := register("203.0.113.1", "guess@example.com", "welcome-2026-abc"); c != http.StatusTooManyRequests {
		t.Fatalf("the guessing browser's 6th try: %d", c)
	}
	if c := register("203.0.113.2", "other@example.com", "welcome-2026-abc"); c != http.StatusSeeOther {
		t.Fatalf("another browser behind the same proxy: %d, want 303 (registered and signed in)", c)
	}
}

func TestConsoleRegistrationFormSignsTheNewOwnerIn(t *testing.T) {
	closed := newGateway(t)
	if resp, _ := closed.browser().do(t, http.MethodGet, "/console/register", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /console/register with registration off: %d", resp.StatusCode)
	}
	if _, page := closed.browser().do(t, http.MethodGet, "/console/signin", nil); strings.Contains(page, "/console/register") {
		t.Error("the sign-in page offers registration while it is off")
	}

	g := newGatewayConfig(t, testConfig+`
console:
  registration:
    enabled: true
    invitation_codes: ["welcome-2026-abc"]
`)
	b := g.browser()
	if _, page := b.do(t, http.MethodGet, "/console/signin", nil); !strings.Contains(page, `href="/console/register"`) {
		t.Errorf("the sign-in page does not offer registration:\n%s", page)
	}
	form := url.Values{"email": {"zoe@example.com"}, "password": {"zoe-password"}, "password_again": {"zoe-password"},
		"account_name": {"Zoe Ltd"}, "invitation_code": {"wrong-code-0"}}
	resp, page := b.do(t, http.MethodPost, "/console/register", form)
	if resp.StatusCode != http.StatusForbidden || b.cookie != nil || !strings.Contains(page, "invitation_code") || !strings.Contains(page, `value="Zoe Ltd"`) {
		t.Fatalf("a wrong code: %d, cookie %v\n%s", resp.StatusCode, b.cookie, page)
	}
	form.Set("invitation_code", "welcome-2026-abc")
	if resp, page := b.do(t, http.MethodPost, "/console/register", form); resp.StatusCode != http.StatusSeeOther || b.cookie == nil {
		t.Fatalf("register: %d\n%s", resp.StatusCode, page)
	}
	if _, page := b.do(t, http.MethodGet, "/console/keys", nil); !strings.Contains(page, "zoe@example.com · owner") {
		t.Fatalf("after registering, the keys page:\n%s", page)
	}
}

// users lists an account's users through the API as the admin.
func (g *gateway) users(t *testing.T, account string) []admin.UserObject {
	t.Helper()
	var list struct {
		Data []admin.UserObject `json:"data"`
	}
	if c, b := g.send(t, "GET", "/users?account_id="+account, g.adminKey, "", &list); c != http.StatusOK {
		t.Fatalf("GET /users: %d %s", c, b)
	}
	return list.Data
}

// user is one of an account's users, or the zero user when absent.
func (g *gateway) user(t *testing.T, account, id string) admin.UserObject {
	t.Helper()
	for _, u := range g.users(t, account) {
		if u.ID == id {
			return u
		}
	}
	return admin.UserObject{}
}

// GET /api/v1/keys?account_id= is one account's keys for the admin; a
// management key sees its own account's whatever it asks, and asking for
// another account is a 403.
func TestListKeysFiltersByAccount(t *testing.T) {
	g := newGateway(t)
	a, b := g.team(t, "alpha"), g.team(t, "beta")
	names := func(key, query string) (int, []string) {
		var list struct {
			Data []admin.KeyObject `json:"data"`
		}
		c, _ := g.send(t, "GET", "/keys"+query, key, "", &list)
		var out []string
		for _, k := range list.Data {
			out = append(out, k.Name)
		}
		return c, out
	}
	if c, got := names(g.adminKey, "?account_id="+a.id); c != 200 || strings.Join(got, ",") != "alpha-manager,alpha-app" && strings.Join(got, ",") != "alpha-app,alpha-manager" {
		t.Errorf("the admin's listing of alpha: %d %q", c, got)
	}
	if c, got := names(g.adminKey, ""); c != 200 || len(got) < 4 {
		t.Errorf("the admin's whole listing: %d %q", c, got)
	}
	if c, got := names(b.mgmt, ""); c != 200 || len(got) != 2 || !strings.HasPrefix(got[0], "beta-") || !strings.HasPrefix(got[1], "beta-") {
		t.Errorf("beta's management key: %d %q", c, got)
	}
	if c, got := names(b.mgmt, "?account_id="+b.id); c != 200 || len(got) != 2 {
		t.Errorf("beta's management key naming its own account: %d %q", c, got)
	}
	if c, b := g.send(t, "GET", "/keys?account_id="+a.id, b.mgmt, "", nil); c != http.StatusForbidden {
		t.Errorf("beta's management key asking for alpha's keys: %d %s", c, b)
	}
}
