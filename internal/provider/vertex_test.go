package provider

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"golang.org/x/oauth2"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// testAccount is one service account for the tests of this package: an
// RSA key takes a while to make.
var testAccount = sync.OnceValue(fakeupstream.NewServiceAccount)

// vertexFixture is a fake Vertex AI with its token endpoint (tokens valid
// for lifetime on clock), and the config of a vertex provider pointed at
// it with the service account's key file.
func vertexFixture(t *testing.T, lifetime time.Duration, clock *fakeClock) (*fakeupstream.Server, *config.Provider) {
	t.Helper()
	o := fakeupstream.Options{ServiceAccount: testAccount(), TokenLifetime: lifetime}
	if clock != nil {
		o.Now = clock.Now
	}
	up := fakeupstream.New(o)
	t.Cleanup(up.Close)
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, testAccount().JSON(up.TokenURL()), 0o600); err != nil {
		t.Fatal(err)
	}
	return up, &config.Provider{Name: "vx", Type: "vertex", BaseURL: up.URL, Project: "my-proj", Location: "us-central1",
		CredentialsFile: file, AnthropicModels: config.DefaultVertexAnthropicModels}
}

// clockedVertex is a vertex provider on the fake whose tokens live ten
// minutes of the returned clock, which its signer and the fake share.
func clockedVertex(t *testing.T) (*fakeupstream.Server, *Provider, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Now()}
	up, cfg := vertexFixture(t, 10*time.Minute, clock)
	p, err := newVertex(cfg, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	p.Signer.(*BearerSigner).Now = clock.Now
	return up, p, clock
}

// vertexCall sends one generateContent (or Messages) request through p and
// returns the status and the token it carried.
func vertexCall(t *testing.T, p *Provider, model string) (int, string) {
	t.Helper()
	op, body := "/v1beta/models/"+model+":generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	if p.FormatFor(model) == FormatAnthropic {
		op, body = "/v1/messages", `{"model":"`+model+`","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	}
	req, err := p.NewRequest(context.Background(), p.Path(op, model), []byte(body), false, "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
}

// TestVertexRoutesEachPublisher: Gemini models go to publishers/google in
// the Gemini format, Claude models to publishers/anthropic's rawPredict
// (streamRawPredict for a stream) with the body in Vertex AI's envelope.
func TestVertexRoutesEachPublisher(t *testing.T) {
	up, cfg := vertexFixture(t, time.Hour, nil)
	p, err := newVertex(cfg, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "/v1/projects/my-proj/locations/us-central1/publishers/"
	tests := []struct {
		model, op string
		stream    bool
		format    Format
		path      string
	}{
		{"gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:generateContent", false, FormatGemini, prefix + "google/models/gemini-2.5-flash:generateContent"},
		{"gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", true, FormatGemini, prefix + "google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"},
		{"claude-sonnet-4-5@20250929", "/v1/messages", false, FormatAnthropic, prefix + "anthropic/models/claude-sonnet-4-5@20250929:rawPredict"},
		{"claude-sonnet-4-5@20250929", "/v1/messages", true, FormatAnthropic, prefix + "anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"},
	}
	for _, tt := range tests {
		if got := p.FormatFor(tt.model); got != tt.format {
			t.Errorf("%s: FormatFor = %v, want %v", tt.model, got, tt.format)
		}
		if !p.Speaks(tt.format, tt.model) || p.Speaks(FormatOpenAI, tt.model) {
			t.Errorf("%s: should speak %v and not OpenAI", tt.model, tt.format)
		}
		body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
		if tt.format == FormatAnthropic {
			body = `{"model":"` + tt.model + `","max_tokens":16,"stream":` + map[bool]string{true: "true", false: "false"}[tt.stream] +
				`,"messages":[{"role":"user","content":"hi"}]}`
		}
		req, err := p.NewRequest(context.Background(), p.Path(tt.op, tt.model), []byte(body), tt.stream, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := req.URL.RequestURI(); got != tt.path {
			t.Errorf("%s stream=%v: path %s, want %s", tt.model, tt.stream, got, tt.path)
		}
		resp, err := p.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s stream=%v: HTTP %d %s", tt.model, tt.stream, resp.StatusCode, raw)
		}
		sent := up.Last().Body
		if tt.format == FormatAnthropic {
			if gjson.GetBytes(sent, "model").Exists() || gjson.GetBytes(sent, "anthropic_version").String() != "vertex-2023-10-16" {
				t.Errorf("Claude body %s: want no model and anthropic_version vertex-2023-10-16", sent)
			}
		} else if string(sent) != body {
			t.Errorf("Gemini body changed: %s", sent)
		}
	}
	// A model a client names cannot leave the project's publisher path.
	for _, tt := range []struct{ op, model string }{
		{"/v1beta/models/../../../../../p2/locations/l/publishers/google/models/g:generateContent", "../../../../../p2/locations/l/publishers/google/models/g"},
		{"/v1/messages", "../../../../../p2/locations/l/publishers/anthropic/models/c?x=1"},
	} {
		got := p.Path(tt.op, tt.model)
		if !strings.HasPrefix(got, prefix) || strings.Contains(got[len(prefix):], "/models/../") || strings.Count(got[len(prefix):], "/") != 2 || strings.Contains(got, "?x") {
			t.Errorf("model %q: path %s", tt.model, got)
		}
	}

	// anthropic_models decides which models are Claude.
	cfg.AnthropicModels = []string{"my-tuned-*"}
	p, err = newVertex(cfg, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	if p.FormatFor("my-tuned-claude") != FormatAnthropic || p.FormatFor("claude-3") != FormatGemini {
		t.Error("anthropic_models is not what decides the publisher")
	}
}

// TestVertexRefreshesTheTokenBeforeItExpires: with tokens valid for ten
// minutes, a request in the last minute goes on with the current token
// while one new token is fetched; from then on the new one is sent, and
// it is still accepted after the first has expired (which the fake
// refuses).
func TestVertexRefreshesTheTokenBeforeItExpires(t *testing.T) {
	up, p, clock := clockedVertex(t)
	st, first := vertexCall(t, p, "gemini-2.5-flash")
	if st != 200 || up.TokensMinted() != 1 {
		t.Fatalf("first call: HTTP %d, %d tokens minted", st, up.TokensMinted())
	}
	clock.Add(5 * time.Minute)
	if st, tok := vertexCall(t, p, "gemini-2.5-flash"); st != 200 || tok != first || up.TokensMinted() != 1 {
		t.Fatalf("mid-life: HTTP %d, same token %v, %d minted; want the cached token", st, tok == first, up.TokensMinted())
	}
	clock.Add(4*time.Minute + 30*time.Second) // 30 s left: inside the early-refresh minute
	if st, tok := vertexCall(t, p, "claude-sonnet-4-5"); st != 200 || tok != first {
		t.Fatalf("refresh due: HTTP %d, same token %v; want the still-valid token while the new one is fetched", st, tok == first)
	}
	// The refresh runs in the background: wait for the signer to hold
	// its token (signing sends nothing and starts no second fetch).
	signer := p.Signer.(*BearerSigner)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if tok, err := sign(t, context.Background(), signer); err != nil || tok != "Bearer "+first {
			break
		}
	}
	st, second := vertexCall(t, p, "gemini-2.5-flash")
	if st != 200 || second == first || up.TokensMinted() != 2 {
		t.Fatalf("after the refresh: HTTP %d, new token %v, %d minted", st, second != first, up.TokensMinted())
	}
	clock.Add(time.Minute) // the first token has expired
	if st, tok := vertexCall(t, p, "gemini-2.5-flash"); st != 200 || tok != second {
		t.Fatalf("after the first expired: HTTP %d, second token %v", st, tok == second)
	}
	// The fake does refuse the expired one.
	req, _ := http.NewRequest(http.MethodPost, up.URL+"/v1/projects/my-proj/locations/us-central1/publishers/google/models/g:generateContent",
		strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`))
	req.Header.Set("Authorization", "Bearer "+first)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired token: HTTP %d, want 401", resp.StatusCode)
	}
}

// TestVertexFetchesOneTokenForManyRequests: concurrent requests with no
// token, and again with the token expired, cause one fetch each time.
func TestVertexFetchesOneTokenForManyRequests(t *testing.T) {
	up, p, clock := clockedVertex(t)
	burst := func() {
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if st, _ := vertexCall(t, p, "gemini-2.5-flash"); st != 200 {
					t.Errorf("HTTP %d", st)
				}
			}()
		}
		wg.Wait()
	}
	burst()
	if n := up.TokensMinted(); n != 1 {
		t.Fatalf("40 concurrent first requests minted %d tokens, want 1", n)
	}
	clock.Add(11 * time.Minute)
	burst()
	if n := up.TokensMinted(); n != 2 {
		t.Fatalf("40 concurrent requests after expiry: %d tokens minted in all, want 2", n)
	}
}

// TestVertexCredentialErrors: a credentials file the gateway cannot use is
// an error when the provider is built (the gateway's start), naming the
// file and the fix; a key the token endpoint refuses fails the request
// with the endpoint's status. No error carries the private key.
func TestVertexCredentialErrors(t *testing.T) {
	up, cfg := vertexFixture(t, time.Hour, nil)
	good, err := os.ReadFile(cfg.CredentialsFile)
	if err != nil {
		t.Fatal(err)
	}
	key := gjson.GetBytes(good, "private_key").String()
	keyBody := strings.Split(key, "\n")[1] // a line of the key's base64
	dir := t.TempDir()
	write := func(name, content string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	broken := strings.Replace(string(good), keyBody, strings.Repeat("A", len(keyBody)), 1)
	tests := []struct {
		name, file string
		want       []string
	}{
		{"missing", filepath.Join(dir, "nope.json"), []string{"credentials_file", "no such file", "service-account JSON key"}},
		{"not JSON", write("x.json", "PRIVATE "+key), []string{"is not a JSON credential", "service-account JSON key"}},
		{"other type", write("t.json", `{"type":"api_key","key":"`+keyBody+`"}`), []string{`has type "api_key"`, `"type": "service_account"`}},
		{"bad key", write("k.json", broken), []string{"private_key is not a PEM-encoded RSA private key", "download a new JSON key"}},
		{"no email", write("e.json", strings.Replace(string(good), testAccount().Email, "", 1)), []string{"has no client_email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *cfg
			c.CredentialsFile = tt.file
			_, err := newVertex(&c, http.DefaultTransport)
			if err == nil {
				t.Fatal("built a provider")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), keyBody) || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error quotes the key: %s", err)
			}
		})
	}

	// A well-formed key of another account: the token endpoint refuses
	// the assertion's signature.
	other := fakeupstream.NewServiceAccount()
	other.Email = testAccount().Email
	c := *cfg
	c.CredentialsFile = write("other.json", string(other.JSON(up.TokenURL())))
	p, err := newVertex(&c, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.NewRequest(context.Background(), p.Path("/v1/messages", "claude-x"), []byte(`{"model":"claude-x"}`), false, "")
	var se *SignError
	if err == nil || !strings.Contains(err.Error(), "HTTP 400 (invalid_grant)") || !errors.As(err, &se) {
		t.Fatalf("err = %v, want a SignError with the endpoint's 400 invalid_grant", err)
	}
	otherKey := string(other.JSON(up.TokenURL()))
	otherBody := strings.Split(gjson.Get(otherKey, "private_key").String(), "\n")[1]
	if strings.Contains(err.Error(), otherBody) || strings.Contains(err.Error(), "eyJ") {
		t.Fatalf("error carries the key or the assertion: %s", err)
	}
	if up.TokensMinted() != 0 || len(up.Requests()) != 0 {
		t.Fatal("a token was minted or a request sent without a valid credential")
	}
}

// TestVertexApplicationDefaultCredentials: without credentials_file the
// key file GOOGLE_APPLICATION_CREDENTIALS names is used.
func TestVertexApplicationDefaultCredentials(t *testing.T) {
	up, cfg := vertexFixture(t, time.Hour, nil)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", cfg.CredentialsFile)
	cfg.CredentialsFile = ""
	p, err := newVertex(cfg, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	if st, tok := vertexCall(t, p, "gemini-2.5-pro"); st != 200 || !strings.HasPrefix(tok, "ya29.fake-") || up.TokensMinted() != 1 {
		t.Fatalf("HTTP %d, token %q, %d minted", st, tok, up.TokensMinted())
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"type":"service_account","client_email":"a@b","private_key":"nope"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", bad)
	if _, err := newVertex(cfg, http.DefaultTransport); err == nil || !strings.Contains(err.Error(), bad+" (GOOGLE_APPLICATION_CREDENTIALS)") ||
		!strings.Contains(err.Error(), "private_key is not a PEM-encoded RSA private key") {
		t.Fatalf("err = %v", err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "gone.json"))
	if _, err := newVertex(cfg, http.DefaultTransport); err == nil || !strings.Contains(err.Error(), "no credentials_file and no Application Default Credentials") ||
		!strings.Contains(err.Error(), "set credentials_file") {
		t.Fatalf("err = %v", err)
	}
}

// TestVertexAuthorizedUserCredentials: a user's credential file (gcloud
// auth application-default login) gets its tokens with the refresh token,
// through the oauth2 package's own source; a wrong refresh token fails the
// request with the endpoint's status and code only.
func TestVertexAuthorizedUserCredentials(t *testing.T) {
	user := &fakeupstream.AuthorizedUser{ClientID: "cid.apps.googleusercontent.com", ClientSecret: "d-FL95Q19q7MQmFpd7hHD0Ty", RefreshToken: "1//0refresh-SECRET"}
	up := fakeupstream.New(fakeupstream.Options{ServiceAccount: testAccount(), AuthorizedUser: user})
	t.Cleanup(up.Close)
	file := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(file, user.JSON(up.TokenURL()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Provider{Name: "vx", Type: "vertex", BaseURL: up.URL, Project: "p1", Location: "global", CredentialsFile: file}
	p, err := newVertex(cfg, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Signer.(*BearerSigner); s.Early != libraryEarly {
		t.Fatalf("Early = %s, want %s for a source the oauth2 package caches", s.Early, libraryEarly)
	}
	for range 3 {
		if st, tok := vertexCall(t, p, "gemini-2.5-pro"); st != 200 || !strings.HasPrefix(tok, "ya29.fake-") {
			t.Fatalf("HTTP %d, token %q", st, tok)
		}
	}
	if up.TokensMinted() != 1 {
		t.Fatalf("%d tokens minted, want 1", up.TokensMinted())
	}

	bad := *user
	bad.RefreshToken = "1//0revoked-SECRET"
	if err := os.WriteFile(file, bad.JSON(up.TokenURL()), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err = newVertex(cfg, http.DefaultTransport); err != nil {
		t.Fatal(err)
	}
	_, err = p.NewRequest(context.Background(), p.Path("/v1beta/models/g:generateContent", "g"), []byte(`{}`), false, "")
	if err == nil || !strings.Contains(err.Error(), "HTTP 400 (invalid_grant)") || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), user.ClientSecret) {
		t.Fatalf("err = %v", err)
	}
}

// TestGoogleSourceTokenLifetime: the expiry is put on the signer's clock
// (the oauth2 package dates it by time.Now), and a token whose answer said
// nothing of its lifetime is still refreshed, not used for ever.
func TestGoogleSourceTokenLifetime(t *testing.T) {
	clock := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	var expiry time.Time
	src := &googleSource{now: clock.Now, fetch: func(context.Context) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: "ya29.x", Expiry: expiry}, nil
	}}
	expiry = time.Now().Add(time.Hour)
	tok, err := src.Token(context.Background())
	if err != nil || tok.Expiry.Before(clock.t.Add(59*time.Minute)) || tok.Expiry.After(clock.t.Add(time.Hour)) {
		t.Fatalf("token %+v, %v: want an hour from the signer's clock", tok, err)
	}
	expiry = time.Time{}
	if tok, err = src.Token(context.Background()); err != nil || !tok.Expiry.Equal(clock.t.Add(unknownLifetime)) {
		t.Fatalf("token %+v, %v: want %s from the signer's clock", tok, err, unknownLifetime)
	}
}
