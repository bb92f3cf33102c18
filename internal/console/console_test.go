package console_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/console"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// htmxSHA256 is the hash of assets/htmx.min.js recorded in assets/README.md.
const htmxSHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"

const testConfig = `
providers:
  - name: mock
    type: mock
models:
  - id: gpt-4o
    routes: [{ provider: mock }]
`

// clock is the gateway's time, moved by the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// gateway is a whole gateway (server.New on SQLite) served in-process.
type gateway struct {
	srv       *server.Server
	st        *sqlite.DB
	dbPath    string
	cfg       *config.Config
	adminKey  string
	demoKey   string
	clock     *clock
	remoteIP  string
	tlsOrigin bool
}

func newGateway(t testing.TB) *gateway {
	t.Helper()
	return newGatewayConfig(t, testConfig)
}

// newGatewayConfig is newGateway with the config file text yaml.
func newGatewayConfig(t testing.TB, yaml string) *gateway {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "console.yaml", config.MapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "console.db")
	st, err := sqlite.Open(ctx, "sqlite://"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	adminKey, demoKey, _, err := admin.Bootstrap(ctx, st, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	srv, err := server.New(ctx, cfg, server.Options{Store: st, Now: c.now, LedgerInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	return &gateway{srv: srv, st: st, dbPath: dbPath, cfg: cfg, adminKey: adminKey, demoKey: demoKey, clock: c, remoteIP: "192.0.2.1"}
}

// browser is one browser's cookie and the CSRF token of its last page.
type browser struct {
	g      *gateway
	cookie *http.Cookie
	csrf   string
	addr   string
}

func (g *gateway) browser() *browser { return &browser{g: g, addr: g.remoteIP} }

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// do sends one request as the browser would (same-origin, its cookie) and
// keeps the cookie it is given and the CSRF token of the page.
func (b *browser) do(t testing.TB, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "http://gw.test"+path, body)
	r.RemoteAddr = b.addr + ":40000"
	r.Header.Set("Accept", "text/html")
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "http://gw.test")
	}
	if b.g.tlsOrigin {
		r.TLS = &tls.ConnectionState{}
	}
	if b.cookie != nil {
		r.AddCookie(b.cookie)
	}
	w := httptest.NewRecorder()
	b.g.srv.ServeHTTP(w, r)
	resp := w.Result()
	for _, c := range resp.Cookies() {
		if c.Name == console.CookieName {
			if c.MaxAge < 0 {
				b.cookie = nil
			} else {
				b.cookie = c
			}
		}
	}
	page := w.Body.String()
	if m := csrfField.FindStringSubmatch(page); m != nil {
		b.csrf = m[1]
	}
	return resp, page
}

// post sends a form with the browser's CSRF token.
func (b *browser) post(t *testing.T, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	return b.do(t, http.MethodPost, path, form)
}

func (b *browser) signIn(t testing.TB, key string) {
	t.Helper()
	resp, page := b.do(t, http.MethodPost, "/console/signin", url.Values{"key": {key}})
	if resp.StatusCode != http.StatusSeeOther || b.cookie == nil {
		t.Fatalf("sign-in: %d, cookie %v\n%s", resp.StatusCode, b.cookie, page)
	}
	if _, page := b.do(t, http.MethodGet, "/console/keys", nil); b.csrf == "" {
		t.Fatalf("no CSRF token on the keys page:\n%s", page)
	}
}

// api calls the management API as a script would.
func (g *gateway) api(t *testing.T, method, path, key string, out any) int {
	t.Helper()
	r := httptest.NewRequest(method, "http://gw.test/api/v1"+path, nil)
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	g.srv.ServeHTTP(w, r)
	if out != nil && w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, w.Body)
		}
	}
	return w.Code
}

func (g *gateway) keys(t *testing.T) []admin.KeyObject {
	t.Helper()
	var list struct {
		Data []admin.KeyObject `json:"data"`
	}
	if c := g.api(t, http.MethodGet, "/keys", g.adminKey, &list); c != http.StatusOK {
		t.Fatalf("GET /keys: %d", c)
	}
	return list.Data
}

func (g *gateway) keyNamed(t *testing.T, name string) *admin.KeyObject {
	t.Helper()
	for _, k := range g.keys(t) {
		if k.Name == name {
			return &k
		}
	}
	return nil
}

func TestHTMXIsThePinnedRelease(t *testing.T) {
	b, err := os.ReadFile("assets/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != htmxSHA256 {
		t.Fatalf("assets/htmx.min.js has sha256 %s, assets/README.md records %s", got, htmxSHA256)
	}
	readme, err := os.ReadFile("assets/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), htmxSHA256) {
		t.Fatal("assets/README.md does not record the hash of htmx.min.js")
	}
}

func TestRootServesTheConsoleToBrowsersAndJSONToOthers(t *testing.T) {
	g := newGateway(t)
	for _, c := range []struct {
		name, path, accept string
		wantStatus         int
		wantType, wantLoc  string
	}{
		{name: "curl", path: "/", accept: "*/*", wantStatus: 200, wantType: "application/json"},
		{name: "no accept", path: "/", wantStatus: 200, wantType: "application/json"},
		{name: "browser at root", path: "/", accept: "text/html,application/xhtml+xml", wantStatus: 303, wantLoc: "/console/signin"},
		{name: "browser at /v1", path: "/v1", accept: "text/html", wantStatus: 200, wantType: "application/json"},
		{name: "console alias", path: "/console/", accept: "text/html", wantStatus: 303, wantLoc: "/console/signin"},
		{name: "console", path: "/console", wantStatus: 303, wantLoc: "/console/signin"},
		{name: "htmx", path: "/console/assets/htmx.min.js", wantStatus: 200, wantType: "text/javascript; charset=utf-8"},
		{name: "unknown page", path: "/console/nope", accept: "text/html", wantStatus: 404, wantType: "text/html; charset=utf-8"},
		{name: "keys before sign-in", path: "/console/keys", wantStatus: 303, wantLoc: "/console/signin"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://gw.test"+c.path, nil)
			if c.accept != "" {
				r.Header.Set("Accept", c.accept)
			}
			w := httptest.NewRecorder()
			g.srv.ServeHTTP(w, r)
			if w.Code != c.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, c.wantStatus, w.Body)
			}
			if c.wantType != "" && w.Header().Get("Content-Type") != c.wantType {
				t.Errorf("Content-Type %q, want %q", w.Header().Get("Content-Type"), c.wantType)
			}
			if w.Header().Get("Location") != c.wantLoc {
				t.Errorf("Location %q, want %q", w.Header().Get("Location"), c.wantLoc)
			}
		})
	}
}

func TestSignInSetsAnHttpOnlyLaxCookieAndKeepsTheKeyOffThePage(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[secure], func(t *testing.T) {
			g := newGateway(t)
			g.tlsOrigin = secure
			b := g.browser()
			resp, signin := b.do(t, http.MethodPost, "/console/signin", url.Values{"key": {g.adminKey}})
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/keys" {
				t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if strings.Contains(signin, g.adminKey) || strings.Contains(resp.Header.Get("Location"), g.adminKey) {
				t.Fatal("the key is in the sign-in answer")
			}
			c := b.cookie
			if c == nil {
				t.Fatal("no session cookie")
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != secure {
				t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/, Secure=%v", c, secure)
			}
			if len(c.Value) < 40 || strings.Contains(c.Value, g.adminKey) {
				t.Errorf("session id %q: want a long random id, not the key", c.Value)
			}
			keysResp, page := b.do(t, http.MethodGet, "/console/keys", nil)
			if !strings.Contains(page, `id="create-key"`) {
				t.Fatalf("keys page:\n%s", page)
			}
			for h, want := range map[string]string{
				"Cache-Control":   "no-store",
				"X-Frame-Options": "DENY",
				"Referrer-Policy": "no-referrer",
			} {
				if got := keysResp.Header.Get(h); got != want {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
			if csp := keysResp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			_, connect := b.do(t, http.MethodGet, "/console/connect", nil)
			for _, p := range []string{page, connect} {
				if strings.Contains(p, g.adminKey) {
					t.Fatal("the signed-in key is on a page")
				}
			}
			scheme := map[bool]string{false: "http", true: "https"}[secure]
			if !strings.Contains(connect, `base_url="`+scheme+`://gw.test/v1"`) || !strings.Contains(connect, "curl "+scheme+"://gw.test/v1/chat/completions") {
				t.Errorf("connect page lacks the gateway's base URL:\n%s", connect)
			}
		})
	}
}

func TestSignInRefusesKeysThatCannotManage(t *testing.T) {
	g := newGateway(t)
	for _, c := range []struct{ name, key, want string }{
		{name: "api key", key: g.demoKey, want: "is an API key"},
		{name: "unknown key", key: "sk-sy-" + strings.Repeat("a", 40), want: "Sign-in refused"},
		{name: "empty", key: "", want: "Enter the admin key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g.remoteIP = "198.51.100." + map[string]string{"api key": "1", "unknown key": "2", "empty": "3"}[c.name]
			b := g.browser()
			resp, page := b.do(t, http.MethodPost, "/console/signin", url.Values{"key": {c.key}})
			if resp.StatusCode < 400 || resp.StatusCode >= 500 || b.cookie != nil {
				t.Fatalf("status %d, cookie %v", resp.StatusCode, b.cookie)
			}
			if !strings.Contains(page, c.want) {
				t.Errorf("page lacks %q:\n%s", c.want, page)
			}
		})
	}
}

func TestFailedSignInsAreLimitedPerAddress(t *testing.T) {
	g := newGateway(t)
	bad := url.Values{"key": {"sk-sy-" + strings.Repeat("b", 40)}}
	b := g.browser()
	for i := range 5 {
		if resp, _ := b.do(t, http.MethodPost, "/console/signin", bad); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, resp.StatusCode)
		}
	}
	// The sixth attempt is refused before the key is looked at, even the right one.
	resp, page := b.do(t, http.MethodPost, "/console/signin", url.Values{"key": {g.adminKey}})
	if resp.StatusCode != http.StatusTooManyRequests || b.cookie != nil {
		t.Fatalf("status %d, cookie %v:\n%s", resp.StatusCode, b.cookie, page)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "60" {
		t.Errorf("Retry-After %q, want 60", ra)
	}
	// Another address is not affected.
	other := g.browser()
	other.addr = "192.0.2.99"
	other.signIn(t, g.adminKey)
	// A minute later the first address may try again.
	g.clock.advance(time.Minute)
	b.signIn(t, g.adminKey)
}

// otherFirst is s with another first character (a token that is wrong
// whatever s's first character was).
func otherFirst(s string) string {
	if s[0] == 'x' {
		return "y" + s[1:]
	}
	return "x" + s[1:]
}

func TestStateChangesNeedTheSessionsCSRFToken(t *testing.T) {
	g := newGateway(t)
	b := g.browser()
	b.signIn(t, g.adminKey)
	form := func(name, csrf string) url.Values {
		return url.Values{"name": {name}, "csrf": {csrf}}
	}
	for _, c := range []struct{ name, csrf string }{
		{name: "no-token", csrf: ""},
		{name: "wrong-token", csrf: otherFirst(b.csrf)},
	} {
		resp, _ := b.post(t, "/console/keys", form(c.name, c.csrf))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", c.name, resp.StatusCode)
		}
		if g.keyNamed(t, c.name) != nil {
			t.Errorf("%s: the key was created", c.name)
		}
	}
	// Another session's token is no good either.
	other := g.browser()
	other.addr = "192.0.2.50"
	other.signIn(t, g.adminKey)
	if resp, _ := b.post(t, "/console/keys", form("foreign-token", other.csrf)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another session's token: status %d, want 403", resp.StatusCode)
	}
	// A form posted from another site is refused, sign-in included.
	r := httptest.NewRequest(http.MethodPost, "http://gw.test/console/signin", strings.NewReader(url.Values{"key": {g.adminKey}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", "https://evil.example")
	w := httptest.NewRecorder()
	g.srv.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || w.Header().Get("Set-Cookie") != "" {
		t.Errorf("cross-site sign-in: status %d, Set-Cookie %q", w.Code, w.Header().Get("Set-Cookie"))
	}
	// With the token, the same form works.
	if resp, page := b.post(t, "/console/keys", url.Values{"name": {"with-token"}}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("with the token: status %d\n%s", resp.StatusCode, page)
	}
	if g.keyNamed(t, "with-token") == nil {
		t.Error("the key was not created")
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	g := newGateway(t)
	b := g.browser()
	b.signIn(t, g.adminKey)
	old, csrf := *b.cookie, b.csrf
	resp, _ := b.post(t, "/console/signout", nil)
	if resp.StatusCode != http.StatusSeeOther || b.cookie != nil {
		t.Fatalf("sign-out: status %d, cookie %v (want it cleared)", resp.StatusCode, b.cookie)
	}
	// The old cookie, replayed, opens nothing.
	b.cookie, b.csrf = &old, csrf
	if resp, _ := b.do(t, http.MethodGet, "/console/keys", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/signin" {
		t.Errorf("GET after sign-out: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.post(t, "/console/keys", url.Values{"name": {"after-signout"}, "csrf": {csrf}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST after sign-out: %d", resp.StatusCode)
	}
	if g.keyNamed(t, "after-signout") != nil {
		t.Error("a revoked session created a key")
	}
}

func TestSessionsExpireWhenIdleAndAfterTheirLifetime(t *testing.T) {
	g := newGateway(t)
	idle := g.browser()
	idle.signIn(t, g.adminKey)
	busy := g.browser()
	busy.signIn(t, g.adminKey)
	for range 12 { // 12 × 59 min: never idle for an hour, under 12 hours in all
		g.clock.advance(59 * time.Minute)
		if resp, _ := busy.do(t, http.MethodGet, "/console/keys", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("a session in use ended early: %d", resp.StatusCode)
		}
	}
	if resp, _ := idle.do(t, http.MethodGet, "/console/keys", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("an idle session still works: %d", resp.StatusCode)
	}
	g.clock.advance(59 * time.Minute)
	if resp, _ := busy.do(t, http.MethodGet, "/console/keys", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a session past its 12 hours still works: %d", resp.StatusCode)
	}
}

func TestConsoleActsThroughTheAPIWithTheSessionsKey(t *testing.T) {
	g := newGateway(t)
	// A management key of a second account: it sees only that account.
	var acct struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	post := func(path, body string, out any) {
		r := httptest.NewRequest(http.MethodPost, "http://gw.test/api/v1"+path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+g.adminKey)
		w := httptest.NewRecorder()
		g.srv.ServeHTTP(w, r)
		if w.Code != http.StatusCreated && w.Code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
		}
		_ = json.Unmarshal(w.Body.Bytes(), out)
	}
	post("/accounts", `{"name":"team"}`, &acct)
	var mgmt struct {
		Key string `json:"key"`
	}
	post("/keys", `{"name":"team-manager","kind":"management","account_id":"`+acct.Data.ID+`"}`, &mgmt)

	b := g.browser()
	b.signIn(t, mgmt.Key)
	_, page := b.do(t, http.MethodGet, "/console/keys", nil)
	if strings.Contains(page, `data-name="demo"`) || strings.Contains(page, `data-name="admin"`) {
		t.Errorf("a management key's console lists another account's keys:\n%s", page)
	}
	resp, page := b.post(t, "/console/keys", url.Values{"name": {"team-app"}, "limit": {"5"}, "limit_reset": {"monthly"},
		"expires": {"2099-01-31"}, "allowed_models": {"gpt-4o, openai/gpt-4o-mini"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d\n%s", resp.StatusCode, page)
	}
	plain := regexp.MustCompile(`<code id="new-key">([^<]+)</code>`).FindStringSubmatch(page)
	if plain == nil {
		t.Fatalf("the new key is not shown:\n%s", page)
	}
	k := g.keyNamed(t, "team-app")
	if k == nil || k.Hash != auth.Hash(plain[1]) {
		t.Fatalf("the key shown is not the key stored: %+v", k)
	}
	if k.AccountID != acct.Data.ID || k.Limit == nil || k.Limit.String() != "5" || k.LimitReset == nil || *k.LimitReset != "monthly" ||
		k.ExpiresAt == nil || !k.ExpiresAt.Equal(time.Date(2099, 1, 31, 0, 0, 0, 0, time.UTC)) || strings.Join(k.AllowedModels, ",") != "gpt-4o,openai/gpt-4o-mini" {
		t.Errorf("stored key %+v", k)
	}
	// Shown once: the list shows its label, never the key again.
	_, page = b.do(t, http.MethodGet, "/console/keys", nil)
	if strings.Contains(page, plain[1]) || !strings.Contains(page, k.Label) {
		t.Errorf("keys page after creation shows the key again, or not its label")
	}
	// Bad input is the API's answer, shown on the page, with the form kept.
	resp, page = b.post(t, "/console/keys", url.Values{"name": {"bad"}, "limit": {"-1"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "non-negative") || !strings.Contains(page, `value="bad"`) {
		t.Errorf("negative limit: %d\n%s", resp.StatusCode, page)
	}
	// Disable, enable, delete.
	for _, step := range []struct {
		action       string
		wantDisabled bool
	}{{"disable", true}, {"enable", false}} {
		if resp, page := b.post(t, "/console/keys/"+k.Hash+"/"+step.action, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%s", step.action, resp.StatusCode, page)
		}
		if got := g.keyNamed(t, "team-app"); got == nil || got.Disabled != step.wantDisabled {
			t.Fatalf("after %s: %+v", step.action, got)
		}
	}
	// The management key may not touch the admin's keys: the API's 404.
	demo := auth.Hash(g.demoKey)
	if resp, _ := b.post(t, "/console/keys/"+demo+"/disable", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("disabling another account's key: %d", resp.StatusCode)
	}
	if resp, _ := b.post(t, "/console/keys/"+k.Hash+"/delete", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if g.keyNamed(t, "team-app") != nil {
		t.Error("the key is still there after delete")
	}
	// Disabling the management key itself ends its console session.
	r := httptest.NewRequest(http.MethodPatch, "http://gw.test/api/v1/keys/"+auth.Hash(mgmt.Key), strings.NewReader(`{"disabled":true}`))
	r.Header.Set("Authorization", "Bearer "+g.adminKey)
	w := httptest.NewRecorder()
	g.srv.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("disable the management key: %d %s", w.Code, w.Body)
	}
	if resp, _ := b.do(t, http.MethodGet, "/console/keys", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a disabled key's session still works: %d", resp.StatusCode)
	}
}
