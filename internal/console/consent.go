package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/oauth"
)

// consent is what the OAuth consent page shows and posts back.
type consent struct {
	App       string // the callback's host
	Callback  string
	Challenge string
	Method    string
	AccountID string
	Account   string // the account's name, when the key may read it
	Limit     string // as typed, on a refusal
}

// consentCSP is the console's policy with the app's origin added to
// form-action: browsers apply form-action to where a form's answer
// redirects, and Approve and Deny redirect to the app.
func consentCSP(cb *url.URL) string {
	origin := strings.ToLower(cb.Scheme) + "://" + strings.ToLower(cb.Host)
	return strings.Replace(csp, "form-action 'self'", "form-action 'self' "+origin, 1)
}

// authorize serves GET /auth: the OAuth consent page (docs/oauth.md). A
// browser without a session is sent to sign in first, and back here.
func (c *Console) authorize(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := consent{Callback: q.Get("callback_url"), Challenge: q.Get("code_challenge"), Method: q.Get("code_challenge_method")}
	c.renderConsent(w, r, s, http.StatusOK, &f, "")
}

// renderConsent shows the consent page for f, or, when its callback URL
// is not one an app may use, an error page (never a redirect to it).
func (c *Console) renderConsent(w http.ResponseWriter, r *http.Request, s *session, status int, f *consent, msg string) {
	cb, err := oauth.Callback(f.Callback)
	if err != nil {
		c.render(w, r, http.StatusBadRequest, "notfound", &page{Title: "Cannot authorize this app", Who: &s.who, CSRF: s.csrf,
			Error: "The app sent you here with a callback address the gateway refuses: " + err.Error() + "."})
		return
	}
	if msg == "" {
		if f.Challenge == "" {
			msg = "The app sent no code_challenge; it cannot be authorized. Ask its developer to use PKCE with S256."
			status = http.StatusBadRequest
		} else if err := oauth.CheckChallenge(orPlain(f.Method), f.Challenge); err != nil {
			msg = "The app's request is malformed: " + err.Error() + "."
			status = http.StatusBadRequest
		}
	}
	f.App = oauth.AppID(cb)
	f.AccountID = s.who.AccountID
	var acct struct {
		Data struct {
			Name string `json:"name"`
		} `json:"data"`
	}
	if c.call(r, s, http.MethodGet, "/accounts/"+url.PathEscape(f.AccountID), nil, &acct) == nil {
		f.Account = acct.Data.Name
	}
	w.Header().Set("Content-Security-Policy", consentCSP(cb))
	c.render(w, r, status, "consent", &page{Title: "Authorize " + f.App, Who: &s.who, CSRF: s.csrf, Error: msg, Consent: f})
}

// orPlain is a request's challenge method: none means plain (RFC 7636
// section 4.3).
func orPlain(method string) string {
	if method == "" {
		return oauth.MethodPlain
	}
	return method
}

// decide serves POST /auth, the consent form: approve asks the management
// API for a code with the session's key and sends the browser to the app
// with it; deny sends it back with error=access_denied.
func (c *Console) decide(w http.ResponseWriter, r *http.Request, s *session) {
	f := consent{Callback: r.PostFormValue("callback_url"), Challenge: r.PostFormValue("code_challenge"),
		Method: r.PostFormValue("code_challenge_method"), Limit: strings.TrimSpace(r.PostFormValue("limit"))}
	cb, err := oauth.Callback(f.Callback)
	if err != nil {
		c.renderConsent(w, r, s, http.StatusBadRequest, &f, "")
		return
	}
	switch r.PostFormValue("action") {
	case "deny":
		c.log.Info("oauth consent denied", "app", oauth.AppID(cb), "key", s.who.Label)
		http.Redirect(w, r, oauth.WithParam(cb, "error", "access_denied"), http.StatusSeeOther)
		return
	case "approve":
	default:
		c.renderConsent(w, r, s, http.StatusBadRequest, &f, "Choose Approve or Deny.")
		return
	}
	req := map[string]any{"callback_url": f.Callback, "code_challenge": f.Challenge, "code_challenge_method": f.Method,
		"account_id": s.who.AccountID}
	if f.Limit != "" {
		n, err := money.ParseUSD(f.Limit)
		if err != nil || n < 0 {
			c.renderConsent(w, r, s, http.StatusBadRequest, &f, "The credit limit must be an amount of USD, such as 5 or 0.25, or empty for none.")
			return
		}
		req["limit"] = n
	}
	var out struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := c.call(r, s, http.MethodPost, "/auth/keys/code", req, &out); err != nil {
		status, msg := http.StatusBadGateway, "The gateway could not grant the key: "+err.Error()
		if e, ok := err.(*apiError); ok {
			status = e.status
		}
		c.renderConsent(w, r, s, status, &f, msg)
		return
	}
	c.log.Info("oauth consent approved", "app", oauth.AppID(cb), "key", s.who.Label, "account", s.who.AccountID)
	http.Redirect(w, r, oauth.WithParam(cb, "code", out.Data.ID), http.StatusSeeOther)
}

// afterSignIn is where sign-in sends the browser: next when it is a
// console page or the consent page (a relative path only, so no link can
// send a fresh session elsewhere), else the keys page.
func afterSignIn(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/console/keys"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.Contains(u.Path, "..") {
		return "/console/keys"
	}
	if u.Path == "/auth" || strings.HasPrefix(u.Path, "/console/") {
		return u.RequestURI()
	}
	return "/console/keys"
}

// signInURL is the sign-in page; from the consent page, to come back to
// it, with the app's query, after.
func signInURL(r *http.Request) string {
	if r.URL.Path != "/auth" {
		return "/console/signin"
	}
	return "/console/signin?next=" + url.QueryEscape(r.URL.RequestURI())
}
