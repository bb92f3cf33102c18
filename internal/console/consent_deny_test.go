package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestConsentDenySendsTheAppBackWithAccessDenied(t *testing.T) {
	g := newGateway(t)
	b := g.browser()
	b.signIn(t, g.adminKey)
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 appendix B
	q := url.Values{"callback_url": {"https://app.example.com/cb?state=xyz"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	resp, page := b.do(t, http.MethodGet, "/auth?"+q.Encode(), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "app.example.com") {
		t.Fatalf("consent page: %d\n%s", resp.StatusCode, page)
	}
	form := url.Values{"callback_url": {q.Get("callback_url")}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "action": {"deny"}}
	// Without the session's CSRF token nothing happens.
	if resp, _ := b.do(t, http.MethodPost, "/auth", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("deny without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, _ = b.post(t, "/auth", form)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || loc != "https://app.example.com/cb?error=access_denied&state=xyz" && loc != "https://app.example.com/cb?state=xyz&error=access_denied" {
		t.Fatalf("deny: %d to %q", resp.StatusCode, loc)
	}
	if strings.Contains(loc, "code=") {
		t.Fatalf("a denied consent carries a code: %s", loc)
	}
}
