package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestProviderEditingRefusalsAreShown: a bad price is refused by the page
// before any call; the API's refusals (no secret key to store a provider
// key with, a file provider's read-only 409) are shown with their status;
// a mock provider (no key) is added and listed with its prices; a management key's
// session is refused by the API.
func TestProviderEditingRefusalsAreShown(t *testing.T) {
	g := newGateway(t)
	b := g.browser()
	b.signIn(t, g.adminKey)

	resp, page := b.post(t, "/console/providers/add", url.Values{"name": {"acme"}, "type": {"openai"}, "prompt": {"cheap"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "The prompt price must be an amount of USD") {
		t.Errorf("a bad price: %d", resp.StatusCode)
	}
	const secret = "sk-upstream-never-echoed-1234"
	resp, page = b.post(t, "/console/providers/add", url.Values{"name": {"acme"}, "type": {"openai"},
		"base_url": {"https://acme.example/v1"}, "api_key": {secret}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "secret key") || strings.Contains(page, secret) {
		t.Errorf("a key without a secret key to seal it: %d", resp.StatusCode)
	}
	resp, page = b.post(t, "/console/providers/add", url.Values{"name": {"acme"}, "type": {"mock"},
		"prompt": {"2.5"}, "completion": {"10"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding acme: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.do(t, http.MethodGet, resp.Header.Get("Location"), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Provider acme added.") || !strings.Contains(page, `data-provider="acme" data-source="api"`) ||
		!strings.Contains(page, "$2.50 · $10.00") {
		t.Errorf("adding acme: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.post(t, "/console/providers/delete", url.Values{"name": {"mock"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "read-only") && !strings.Contains(page, "cannot change it") {
		t.Errorf("deleting the file's provider: %d", resp.StatusCode)
	}

	var mgmt struct {
		Key string `json:"key"`
	}
	g.serve(t, "POST", "/api/v1/keys", g.adminKey, `{"name":"m","kind":"management","account_id":"acct-default"}`, &mgmt)
	m := g.browser()
	m.signIn(t, mgmt.Key)
	if resp, _ := m.post(t, "/console/providers/add", url.Values{"name": {"evil"}, "type": {"openai"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a management key adding a provider: %d", resp.StatusCode)
	}
}
