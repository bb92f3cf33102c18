package relay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/metrics"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// TestAFailingTokenSourceIsAnUnreachableUpstream: a provider whose signer
// cannot get a token (its OAuth endpoint answers 500, echoing the client
// secret) fails the attempt the way a failed connection does: a 502 that
// fails over and counts against the route, naming neither the secret nor
// anything the endpoint said besides its status. Nothing is sent upstream.
func TestAFailingTokenSourceIsAnUnreachableUpstream(t *testing.T) {
	const secret = "cs-oauth-client-secret-1234"
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, s, _ := r.BasicAuth()
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"error":"%s","error_description":"%s"}`, s, s)
	}))
	defer tokens.Close()
	upstreamHit := false
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { upstreamHit = true }))
	defer up.Close()

	p := &provider.Provider{Name: "oauth-up", BaseURL: up.URL, Signer: &provider.BearerSigner{Source: &provider.ClientCredentials{
		TokenURL: tokens.URL, ClientID: "gw", ClientSecret: secret, Transport: http.DefaultTransport}}}
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	at := newAttemptCtx(r.Context(), clocks{total: 10 * time.Second, totalName: "timeout"}, time.Now)
	defer at.cancel()
	rl := &Relay{}
	resp, status, err := rl.send(r, &call{}, p, at, "/v1/chat/completions", []byte(`{}`), false, decodeOpenAIError)
	var e *llm.Error
	errors.As(err, &e)
	if resp != nil || e == nil {
		t.Fatalf("send succeeded without a credential (resp %v)", resp)
	}
	if upstreamHit {
		t.Fatal("the request went upstream unsigned")
	}
	if e.Status != http.StatusBadGateway || e.Code != "upstream_error" || e.Kind != llm.KindProvider {
		t.Fatalf("error %+v, want a 502 upstream_error", e)
	}
	v := judge(e, status)
	if !v.failover || v.kind != metrics.KindConnect {
		t.Fatalf("verdict %+v, want failover as a connect failure", v)
	}
	full := e.Message + " | " + e.Error()
	for err := error(e); err != nil; err = errors.Unwrap(err) {
		full += " | " + err.Error()
	}
	if strings.Contains(full, secret) {
		t.Fatalf("the secret leaked: %s", full)
	}
	if !strings.Contains(e.Message, "oauth-up") || !strings.Contains(full, "HTTP 500") {
		t.Fatalf("the error does not say what failed: %s", full)
	}
}

// TestATokenFetchOutlastingTheAttemptIsATimeout: a token endpoint that
// does not answer within the attempt's clock is that clock firing.
func TestATokenFetchOutlastingTheAttemptIsATimeout(t *testing.T) {
	release := make(chan struct{})
	tokens := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer tokens.Close()
	defer close(release)
	p := &provider.Provider{Name: "slow-oauth", BaseURL: "http://127.0.0.1:1", Signer: &provider.BearerSigner{Source: &provider.ClientCredentials{
		TokenURL: tokens.URL, ClientID: "gw", ClientSecret: "s", Transport: http.DefaultTransport}}}
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	at := newAttemptCtx(context.Background(), clocks{total: 50 * time.Millisecond, totalName: "timeout"}, time.Now)
	defer at.cancel()
	_, _, err := (&Relay{}).send(r, &call{}, p, at, "/x", nil, false, decodeOpenAIError)
	var e *llm.Error
	errors.As(err, &e)
	if e == nil || e.Code != "upstream_timeout" {
		t.Fatalf("error %+v, want upstream_timeout", e)
	}
}
