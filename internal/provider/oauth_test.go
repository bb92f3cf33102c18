package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testClientID     = "gateway-client"
	testClientSecret = "cs-very-secret-value"
)

// tokenEndpoint is a loopback OAuth 2.0 token endpoint (RFC 6749 §4.4). It
// checks the client's credentials and grant, and issues "tok-N" valid for
// ttl seconds. fail makes it answer 500 with a body that echoes what it was
// sent (the secret included); gate, when set, holds every answer until it
// is closed.
type tokenEndpoint struct {
	*httptest.Server
	ttl    atomic.Int64
	issued atomic.Int64
	fail   atomic.Bool
	gate   chan struct{}
}

func newTokenEndpoint(t *testing.T, ttl int64) *tokenEndpoint {
	te := &tokenEndpoint{}
	te.ttl.Store(ttl)
	te.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if te.gate != nil {
			<-te.gate
		}
		id, secret, _ := r.BasicAuth()
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
		if te.fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `{"error":"server_error: %s:%s","error_description":"got secret %s"}`, id, secret, secret)
			return
		}
		if id != testClientID || secret != testClientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"bad secret %s"}`, secret)
			return
		}
		if r.PostForm.Get("scope") != "llm.invoke" {
			http.Error(w, `{"error":"invalid_scope"}`, http.StatusBadRequest)
			return
		}
		n := te.issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":%d}`, n, te.ttl.Load())
	}))
	t.Cleanup(te.Close)
	return te
}

func (te *tokenEndpoint) source(secret string) *ClientCredentials {
	return &ClientCredentials{TokenURL: te.URL + "/token", ClientID: testClientID, ClientSecret: secret,
		Scopes: []string{"llm.invoke"}, Transport: http.DefaultTransport}
}

// fakeClock is a settable clock shared by the signer and the source.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func sign(t *testing.T, ctx context.Context, s Signer) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://upstream.invalid/v1/chat/completions", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sign(req, []byte(`{}`)); err != nil {
		return "", err
	}
	return req.Header.Get("Authorization"), nil
}

func TestBearerSignerFetchesOnceForConcurrentRequests(t *testing.T) {
	te := newTokenEndpoint(t, 3600)
	te.gate = make(chan struct{})
	s := &BearerSigner{Source: te.source(testClientSecret)}
	var wg sync.WaitGroup
	got := make([]string, 50)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := sign(t, context.Background(), s)
			if err != nil {
				t.Error(err)
			}
			got[i] = h
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them pile up on the one fetch
	close(te.gate)
	wg.Wait()
	for _, h := range got {
		if h != "Bearer tok-1" {
			t.Fatalf("Authorization %q, want Bearer tok-1", h)
		}
	}
	if n := te.issued.Load(); n != 1 {
		t.Fatalf("%d tokens fetched for 50 concurrent requests, want 1", n)
	}
	// Cached: no more fetches.
	if h, _ := sign(t, context.Background(), s); h != "Bearer tok-1" || te.issued.Load() != 1 {
		t.Fatalf("second round: %q after %d fetches", h, te.issued.Load())
	}
}

func TestBearerSignerRefreshesBeforeExpiry(t *testing.T) {
	te := newTokenEndpoint(t, 600)
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	src := te.source(testClientSecret)
	src.Now = clk.Now
	s := &BearerSigner{Source: src, Now: clk.Now, Early: time.Minute}
	if h, err := sign(t, context.Background(), s); err != nil || h != "Bearer tok-1" {
		t.Fatalf("first: %q, %v", h, err)
	}
	clk.Add(8 * time.Minute) // 2 min left: still fresh
	if h, _ := sign(t, context.Background(), s); h != "Bearer tok-1" || te.issued.Load() != 1 {
		t.Fatalf("fresh token: %q, %d fetches", h, te.issued.Load())
	}
	clk.Add(90 * time.Second) // 30 s left: due; this request still goes with tok-1
	if h, _ := sign(t, context.Background(), s); h != "Bearer tok-1" {
		t.Fatalf("during the early refresh: %q", h)
	}
	waitFor(t, func() bool { return te.issued.Load() == 2 })
	waitFor(t, func() bool { h, _ := sign(t, context.Background(), s); return h == "Bearer tok-2" })
	if n := te.issued.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (one refresh)", n)
	}
}

func TestBearerSignerNeverSendsAnExpiredToken(t *testing.T) {
	te := newTokenEndpoint(t, 600)
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	src := te.source(testClientSecret)
	src.Now = clk.Now
	s := &BearerSigner{Source: src, Now: clk.Now}
	if h, err := sign(t, context.Background(), s); err != nil || h != "Bearer tok-1" {
		t.Fatalf("first: %q, %v", h, err)
	}
	te.fail.Store(true)
	clk.Add(10 * time.Minute) // tok-1 expires now; the endpoint is down
	h, err := sign(t, context.Background(), s)
	if err == nil || h != "" {
		t.Fatalf("expired token, failing source: signed with %q", h)
	}
	if strings.Contains(err.Error(), testClientSecret) {
		t.Fatalf("the error carries the client secret: %v", err)
	}
	if !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("the error does not say what failed: %v", err)
	}
	// Within RetryAfter of the failure, requests fail at once without
	// asking the endpoint again; after it, the next request fetches anew.
	te.fail.Store(false)
	if _, err := sign(t, context.Background(), s); err == nil || te.issued.Load() != 1 {
		t.Fatalf("right after a failure: err %v, %d tokens issued; want the failure again and no new fetch", err, te.issued.Load())
	}
	clk.Add(time.Second)
	if h, err := sign(t, context.Background(), s); err != nil || h != "Bearer tok-2" {
		t.Fatalf("after recovery: %q, %v", h, err)
	}
}

func TestBearerSignerWaiterHonoursItsContext(t *testing.T) {
	te := newTokenEndpoint(t, 600)
	te.gate = make(chan struct{})
	defer close(te.gate)
	s := &BearerSigner{Source: te.source(testClientSecret)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := sign(t, ctx, s); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the request's deadline", err)
	}
}

func TestClientCredentialsErrorsCarryNoSecret(t *testing.T) {
	te := newTokenEndpoint(t, 600)
	tests := []struct {
		name   string
		secret string
		fail   bool
		want   string
	}{
		{name: "refused client", secret: "cs-wrong-secret-value", want: "HTTP 401 (invalid_client)"},
		{name: "server error echoing the request", secret: testClientSecret, fail: true, want: "HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te.fail.Store(tt.fail)
			_, err := te.source(tt.secret).Token(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), tt.secret) {
				t.Fatalf("the error carries the secret: %v", err)
			}
		})
	}
}

func TestClientCredentialsExpiry(t *testing.T) {
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	answers := map[string]struct {
		body    string
		wantErr bool
		expiry  time.Time
	}{
		"seconds":          {body: `{"access_token":"a","token_type":"bearer","expires_in":3600}`, expiry: issued.Add(time.Hour)},
		"string seconds":   {body: `{"access_token":"a","token_type":"Bearer","expires_in":"60"}`, expiry: issued.Add(time.Minute)},
		"no expiry":        {body: `{"access_token":"a","token_type":"Bearer"}`},
		"negative":         {body: `{"access_token":"a","token_type":"Bearer","expires_in":-5}`, wantErr: true},
		"not a number":     {body: `{"access_token":"a","token_type":"Bearer","expires_in":"soon"}`, wantErr: true},
		"no token":         {body: `{"token_type":"Bearer","expires_in":60}`, wantErr: true},
		"not bearer":       {body: `{"access_token":"a","token_type":"mac","expires_in":60}`, wantErr: true},
		"not json":         {body: `<html>`, wantErr: true},
		"token is a table": {body: `{"access_token":{},"token_type":"Bearer"}`, wantErr: true},
	}
	for name, a := range answers {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, a.body) }))
			defer srv.Close()
			cc := &ClientCredentials{TokenURL: srv.URL, ClientID: "c", ClientSecret: "s", Transport: http.DefaultTransport, Now: func() time.Time { return issued }}
			tok, err := cc.Token(context.Background())
			if (err != nil) != a.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, a.wantErr)
			}
			if err == nil && (tok.Value != "a" || !tok.Expiry.Equal(a.expiry)) {
				t.Fatalf("token %+v, want expiry %v", tok, a.expiry)
			}
		})
	}
}

func TestBearerTokenIsScrubbed(t *testing.T) {
	te := newTokenEndpoint(t, 600)
	s := &BearerSigner{Source: te.source(testClientSecret)}
	p := &Provider{Name: "p", Signer: s}
	if _, err := sign(t, context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := p.Scrub("bad header Bearer tok-1"); strings.Contains(got, "tok-1") {
		t.Fatalf("Scrub left the token: %q", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
