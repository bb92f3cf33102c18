package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// An upstream that answers with a redirect must not make the gateway
// follow it: following would send the provider key to wherever the
// redirect points. The client gets a 502 naming the provider.
func TestUpstreamRedirectIsNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	var leakedKey atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		leakedKey.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusOK)
	}))
	defer other.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()

	g := startWith(t, opts{}, redirecting.URL)
	resp := g.post(t, "/v1/chat/completions", g.Key, `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	defer resp.Body.Close()
	body := readAll(t, resp.Body)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "upstream_error") {
		t.Fatalf("status %d body %s; want 502 upstream_error", resp.StatusCode, body)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the gateway followed the redirect (%d requests, Authorization %q)", n, leakedKey.Load())
	}
	if strings.Contains(body, upstreamKey) {
		t.Fatal("the provider key is in the error")
	}
}
