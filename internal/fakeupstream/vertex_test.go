package fakeupstream

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

var testSA = sync.OnceValue(NewServiceAccount)

// assertion is a JWT signed with key carrying claims.
func assertion(t *testing.T, key *rsa.PrivateKey, alg string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	d := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func goodClaims(s *Server) map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iss": testSA().Email, "aud": s.TokenURL(), "scope": "https://www.googleapis.com/auth/cloud-platform",
		"iat": now - 10, "exp": now + 3590}
}

// exchange posts an assertion to the token endpoint.
func exchange(t *testing.T, s *Server, grant, jwt string) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.TokenURL(), url.Values{"grant_type": {grant}, "assertion": {jwt}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

const jwtGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// TestTokenEndpointChecksTheAssertion: only an RS256 assertion signed
// with the account's key, for this endpoint, the cloud-platform scope and
// a current hour, gets a token.
func TestTokenEndpointChecksTheAssertion(t *testing.T) {
	s := New(Options{ServiceAccount: testSA(), TokenLifetime: 90 * time.Second})
	defer s.Close()
	st, ans := exchange(t, s, jwtGrant, assertion(t, testSA().Key, "RS256", goodClaims(s)))
	if st != 200 || !strings.HasPrefix(ans["access_token"].(string), "ya29.fake-") || ans["expires_in"] != float64(90) || ans["token_type"] != "Bearer" {
		t.Fatalf("HTTP %d %v", st, ans)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	with := func(k string, v any) map[string]any { c := goodClaims(s); c[k] = v; return c }
	bad := map[string]struct {
		grant, jwt string
	}{
		"other key":     {jwtGrant, assertion(t, other, "RS256", goodClaims(s))},
		"alg none":      {jwtGrant, assertion(t, testSA().Key, "none", goodClaims(s))},
		"other account": {jwtGrant, assertion(t, testSA().Key, "RS256", with("iss", "x@y.iam.gserviceaccount.com"))},
		"other aud":     {jwtGrant, assertion(t, testSA().Key, "RS256", with("aud", "https://oauth2.googleapis.com/token"))},
		"no scope":      {jwtGrant, assertion(t, testSA().Key, "RS256", with("scope", "https://www.googleapis.com/auth/drive"))},
		"expired":       {jwtGrant, assertion(t, testSA().Key, "RS256", with("exp", time.Now().Unix()-5))},
		"too long":      {jwtGrant, assertion(t, testSA().Key, "RS256", with("exp", time.Now().Unix()+7200))},
		"garbage":       {jwtGrant, "a.b.c"},
		"client creds":  {"client_credentials", assertion(t, testSA().Key, "RS256", goodClaims(s))},
	}
	for name, b := range bad {
		if st, ans := exchange(t, s, b.grant, b.jwt); st != 400 || ans["error"] == "" {
			t.Errorf("%s: HTTP %d %v, want 400 with an error code", name, st, ans)
		}
	}
	if s.TokensMinted() != 1 {
		t.Fatalf("%d tokens minted, want 1", s.TokensMinted())
	}
	if len(s.Requests()) != 0 {
		t.Fatal("token requests are recorded as model calls")
	}
}

// vertexPost sends body to a publisher model method with token.
func vertexPost(t *testing.T, s *Server, pubModelMethod, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/projects/p1/locations/us-east5/publishers/"+pubModelMethod, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestVertexDialect: a minted token opens the publisher endpoints until
// it expires on the fake's clock; a Claude body must be in Vertex AI's
// envelope; the fault modes apply.
func TestVertexDialect(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := New(Options{ServiceAccount: testSA(), TokenLifetime: time.Minute, Now: clock, APIKey: "not-for-vertex", Default: Behavior{Reply: "hi there"}})
	defer s.Close()
	_, ans := exchange(t, s, jwtGrant, assertion(t, testSA().Key, "RS256", goodClaims(s)))
	tok := ans["access_token"].(string)
	const gem = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	const claude = `{"anthropic_version":"vertex-2023-10-16","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`

	if st, b := vertexPost(t, s, "google/models/gemini-2.5-flash:generateContent", tok, gem); st != 200 || !strings.Contains(b, "hi there") {
		t.Fatalf("Gemini: HTTP %d %s", st, b)
	}
	if st, b := vertexPost(t, s, "anthropic/models/claude-sonnet-4-5@20250929:rawPredict", tok, claude); st != 200 || !strings.Contains(b, `"model":"claude-sonnet-4-5@20250929"`) {
		t.Fatalf("Claude: HTTP %d %s", st, b)
	}
	st, b := vertexPost(t, s, "anthropic/models/claude-x:streamRawPredict", tok, strings.Replace(claude, "{", `{"stream":true,`, 1))
	if st != 200 || !strings.Contains(b, "event: message_stop") {
		t.Fatalf("Claude stream: HTTP %d %s", st, b)
	}
	for name, body := range map[string]string{
		"model in body":  strings.Replace(claude, "{", `{"model":"claude-x",`, 1),
		"no version":     strings.Replace(claude, `"anthropic_version":"vertex-2023-10-16",`, "", 1),
		"stream on rawP": strings.Replace(claude, "{", `{"stream":true,`, 1),
	} {
		if st, b := vertexPost(t, s, "anthropic/models/claude-x:rawPredict", tok, body); st != 400 || !strings.Contains(b, "INVALID_ARGUMENT") {
			t.Errorf("%s: HTTP %d %s", name, st, b)
		}
	}
	if st, _ := vertexPost(t, s, "meta/models/llama:rawPredict", tok, claude); st != 404 {
		t.Errorf("unknown publisher: HTTP %d", st)
	}

	s.Enqueue(Behavior{Status: 429, RetryAfter: "7"})
	if st, b := vertexPost(t, s, "google/models/g:generateContent", tok, gem); st != 429 || !strings.Contains(b, "RESOURCE_EXHAUSTED") {
		t.Fatalf("fault: HTTP %d %s", st, b)
	}
	s.Enqueue(Behavior{Status: 500, EchoKeyIn: []string{"message"}})
	if st, b := vertexPost(t, s, "google/models/g:generateContent", tok, gem); st != 500 || !strings.Contains(b, tok) {
		t.Fatalf("key echo: HTTP %d %s", st, b)
	}

	for name, token := range map[string]string{"none": "", "unknown": "ya29.made-up", "api key": "not-for-vertex"} {
		if st, b := vertexPost(t, s, "google/models/g:generateContent", token, gem); st != 401 || !strings.Contains(b, "UNAUTHENTICATED") {
			t.Errorf("%s token: HTTP %d %s", name, st, b)
		}
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if st, _ := vertexPost(t, s, "google/models/g:generateContent", tok, gem); st != 401 {
		t.Fatalf("expired token: HTTP %d, want 401", st)
	}
}
