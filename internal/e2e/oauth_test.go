package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/oauth"
)

// pkcePair is a verifier and its S256 challenge.
func pkcePair(seed string) (verifier, challenge string) {
	verifier = strings.Repeat(seed, 64)[:64]
	return verifier, oauth.Challenge(verifier)
}

// grantCode asks POST /api/v1/auth/keys/code for a code with key.
func (g *gateway) grantCode(t *testing.T, key, body string) string {
	t.Helper()
	st, out := g.admin(t, "POST", "/api/v1/auth/keys/code", key, body)
	if st != 200 {
		t.Fatalf("auth/keys/code: %d %v", st, out)
	}
	d := out["data"].(map[string]any)
	if d["app_id"] != "app.example.com" || d["created_at"] == nil {
		t.Fatalf("code data = %v", d)
	}
	return d["id"].(string)
}

// exchange posts to POST /api/v1/auth/keys without a key; it returns the
// status and the decoded answer.
func (g *gateway) exchange(t *testing.T, body string) (int, map[string]any) {
	t.Helper()
	resp := g.post(t, "/api/v1/auth/keys", "", body)
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("exchange answer: %v", err)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("exchange answer without CORS: %v", resp.Header)
	}
	return resp.StatusCode, out
}

func exchangeBody(code, verifier string) string {
	return `{"code":"` + code + `","code_verifier":"` + verifier + `","code_challenge_method":"S256"}`
}

// wantRefusal checks an answer is status with code in the OpenAI envelope.
func wantRefusal(t *testing.T, what string, st int, out map[string]any, status int, code string) {
	t.Helper()
	e, _ := out["error"].(map[string]any)
	if st != status || e == nil || e["code"] != code || e["message"] == "" {
		t.Fatalf("%s: %d %v; want %d %s in the error envelope", what, st, out, status, code)
	}
}

func TestOAuthAPIFlowGrantsAKeyWithItsLimitOnce(t *testing.T) {
	g := start(t, opts{})
	acct, mgmt := g.newAccount(t, "null", `{"kind":"management"}`)
	verifier, challenge := pkcePair("v3rifier-")
	code := g.grantCode(t, mgmt, `{"callback_url":"https://app.example.com/cb","code_challenge":"`+challenge+`","code_challenge_method":"S256","limit":0.001}`)

	st, out := g.exchange(t, exchangeBody(code, verifier))
	if st != 200 || out["user_id"] != acct {
		t.Fatalf("exchange: %d %v", st, out)
	}
	key := out["key"].(string)
	if !strings.HasPrefix(key, "sk-sy-v1-") {
		t.Fatalf("key %q is not a checksummed key", key)
	}
	// The key is the app's, in the account, with the limit.
	_, kr := g.admin(t, "GET", "/api/v1/key", key, "")
	kd := kr["data"].(map[string]any)
	if kd["name"] != "app.example.com" || toJSON(kd["limit"]) != "0.001" {
		t.Fatalf("new key = %v", kd)
	}
	_, err := g.client(option.WithAPIKey(key)).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: userMsg("hi"), MaxTokens: openai.Int(20)})
	if err != nil {
		t.Fatalf("a request within the limit: %v", err)
	}
	wantAPIError(t, chatErr(g, key, "gpt-4o"), 402, "insufficient_quota")

	// Replayed: the code was used.
	st, out = g.exchange(t, exchangeBody(code, verifier))
	wantRefusal(t, "replayed code", st, out, 403, "invalid_code")
}

func TestOAuthExchangeRefusals(t *testing.T) {
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	g := start(t, opts{now: func() time.Time { return time.Unix(0, clock.Load()) }})
	verifier, challenge := pkcePair("abc123-_.~")
	grant := func() string {
		return g.grantCode(t, g.AdminKey, `{"callback_url":"https://app.example.com/cb?state=1","code_challenge":"`+challenge+`","code_challenge_method":"S256"}`)
	}

	code := grant()
	other, _ := pkcePair("other-verifier")
	st, out := g.exchange(t, exchangeBody(code, other))
	wantRefusal(t, "wrong verifier", st, out, 403, "invalid_code_verifier")
	st, out = g.exchange(t, exchangeBody(code, verifier))
	wantRefusal(t, "the right verifier after a wrong one", st, out, 403, "invalid_code")

	code = grant()
	st, out = g.exchange(t, `{"code":"`+code+`","code_verifier":"`+verifier+`","code_challenge_method":"plain"}`)
	wantRefusal(t, "another method than the code's", st, out, 403, "invalid_code_verifier")

	code = grant()
	clock.Add(int64(10*time.Minute + time.Second))
	st, out = g.exchange(t, exchangeBody(code, verifier))
	wantRefusal(t, "expired code", st, out, 403, "invalid_code")

	st, out = g.exchange(t, `{"code_verifier":"`+verifier+`"}`)
	wantRefusal(t, "no code", st, out, 400, "invalid_request_error")
	st, out = g.exchange(t, `not json`)
	if st != 400 || out["error"] == nil {
		t.Fatalf("malformed body: %d %v", st, out)
	}

	// Ten failures a minute from one address, then 429 even for a good code.
	for i := 0; i < 10; i++ {
		g.exchange(t, exchangeBody("no-such-code", verifier))
	}
	code = grant()
	st, out = g.exchange(t, exchangeBody(code, verifier))
	wantRefusal(t, "after 10 failures", st, out, 429, "rate_limit_exceeded")
	clock.Add(int64(time.Minute))
	st, out = g.exchange(t, exchangeBody(code, verifier))
	if st != 200 {
		t.Fatalf("a minute later: %d %v", st, out)
	}
}

func TestOAuthCodeRequestRefusals(t *testing.T) {
	g := start(t, opts{})
	_, challenge := pkcePair("v3rifier-")
	plain := strings.Repeat("p", 50)
	for _, tt := range []struct {
		name, body, param string
	}{
		{"plain refused by default", `{"callback_url":"https://app.example.com/cb","code_challenge":"` + plain + `","code_challenge_method":"plain"}`, "code_challenge_method"},
		{"no method is plain", `{"callback_url":"https://app.example.com/cb","code_challenge":"` + plain + `"}`, "code_challenge_method"},
		{"no challenge", `{"callback_url":"https://app.example.com/cb","code_challenge_method":"S256"}`, "code_challenge"},
		{"malformed S256 challenge", `{"callback_url":"https://app.example.com/cb","code_challenge":"short","code_challenge_method":"S256"}`, "code_challenge"},
		{"http callback elsewhere than loopback", `{"callback_url":"http://app.example.com/cb","code_challenge":"` + challenge + `","code_challenge_method":"S256"}`, "callback_url"},
		{"javascript callback", `{"callback_url":"javascript:alert(1)","code_challenge":"` + challenge + `","code_challenge_method":"S256"}`, "callback_url"},
		{"relative callback", `{"callback_url":"/cb","code_challenge":"` + challenge + `","code_challenge_method":"S256"}`, "callback_url"},
		{"callback with user info", `{"callback_url":"https://app.example.com@evil.example/cb","code_challenge":"` + challenge + `","code_challenge_method":"S256"}`, "callback_url"},
		{"no callback", `{"code_challenge":"` + challenge + `","code_challenge_method":"S256"}`, "callback_url"},
		{"negative limit", `{"callback_url":"https://app.example.com/cb","code_challenge":"` + challenge + `","code_challenge_method":"S256","limit":-1}`, "limit"},
		{"unknown account", `{"callback_url":"https://app.example.com/cb","code_challenge":"` + challenge + `","code_challenge_method":"S256","account_id":"acct-nope"}`, "account_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, out := g.admin(t, "POST", "/api/v1/auth/keys/code", g.AdminKey, tt.body)
			e, _ := out["error"].(map[string]any)
			if st != 400 || e == nil || e["param"] != tt.param {
				t.Fatalf("%d %v; want 400 naming %s", st, out, tt.param)
			}
		})
	}
	// An API key may not grant; nor may no key.
	body := `{"callback_url":"https://app.example.com/cb","code_challenge":"` + challenge + `","code_challenge_method":"S256"}`
	if st, out := g.admin(t, "POST", "/api/v1/auth/keys/code", g.Key, body); st != 403 {
		t.Fatalf("API key: %d %v", st, out)
	}
	if st, out := g.admin(t, "POST", "/api/v1/auth/keys/code", "", body); st != 401 {
		t.Fatalf("no key: %d %v", st, out)
	}
	// A management key grants in its own account only.
	_, mgmt := g.newAccount(t, "null", `{"kind":"management"}`)
	if st, out := g.admin(t, "POST", "/api/v1/auth/keys/code", mgmt, strings.Replace(body, "{", `{"account_id":"acct-default",`, 1)); st != 403 {
		t.Fatalf("management key, other account: %d %v", st, out)
	}
}

func TestOAuthPlainAllowedByConfig(t *testing.T) {
	g := start(t, opts{yaml: baseConfig + "security: {oauth: {allow_plain: true}}\n"})
	verifier := strings.Repeat("p", 50)
	code := g.grantCode(t, g.AdminKey, `{"callback_url":"https://app.example.com/cb","code_challenge":"`+verifier+`","code_challenge_method":"plain"}`)
	st, out := g.exchange(t, `{"code":"`+code+`","code_verifier":"`+verifier+`","code_challenge_method":"plain"}`)
	if st != 200 || out["user_id"] != "acct-default" {
		t.Fatalf("plain exchange: %d %v", st, out)
	}
}

func TestOAuthConcurrentExchangesHaveOneWinner(t *testing.T) {
	g := start(t, opts{})
	verifier, challenge := pkcePair("race-")
	code := g.grantCode(t, g.AdminKey, `{"callback_url":"https://app.example.com/cb","code_challenge":"`+challenge+`","code_challenge_method":"S256"}`)
	const n = 8
	var (
		wg       sync.WaitGroup
		wins     atomic.Int32
		statuses = make([]int, n)
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", g.URL+"/api/v1/auth/keys", strings.NewReader(exchangeBody(code, verifier)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
			if resp.StatusCode == 200 {
				wins.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("statuses %v: want exactly one 200", statuses)
	}
	for _, s := range statuses {
		if s != 200 && s != 403 {
			t.Fatalf("statuses %v: the losers should get 403", statuses)
		}
	}
}

func TestOAuthExchangePreflight(t *testing.T) {
	g := start(t, opts{})
	req, _ := http.NewRequest("OPTIONS", g.URL+"/api/v1/auth/keys", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "content-type") || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, h)
	}
	// Other paths still answer no preflight.
	req, _ = http.NewRequest("OPTIONS", g.URL+"/api/v1/keys", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("OPTIONS /api/v1/keys: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestOAuthExchangeFailuresCountTheClientBehindATrustedProxy(t *testing.T) {
	g := start(t, opts{yaml: strings.Replace(baseConfig, "server:\n", "server:\n  trusted_proxies: [\"127.0.0.1\", \"::1\"]\n", 1)})
	verifier, challenge := pkcePair("proxy")
	from := func(addr, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/v1/auth/keys", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", addr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	for i := 0; i < 10; i++ {
		from("203.0.113.5", exchangeBody("no-such-code", verifier))
	}
	code := g.grantCode(t, g.AdminKey, `{"callback_url":"https://app.example.com/cb","code_challenge":"`+challenge+`","code_challenge_method":"S256"}`)
	st, out := from("203.0.113.5", exchangeBody(code, verifier))
	wantRefusal(t, "the failing client", st, out, 429, "rate_limit_exceeded")
	// Another client behind the same proxy is not blocked by it.
	if st, out = from("198.51.100.8", exchangeBody(code, verifier)); st != 200 {
		t.Fatalf("another client behind the proxy: %d %v", st, out)
	}
}
