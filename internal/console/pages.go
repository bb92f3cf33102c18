package console

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/money"
)

var funcs = template.FuncMap{
	"usd":   func(n money.Nanos) string { return "$" + n.String() },
	"deref": func(n *money.Nanos) money.Nanos { return *n },
	// Generations, Models, Providers: thousands separators.
	"money":     usdGrouped,
	"count":     count,
	"ms":        millis,
	"percent":   percent,
	"inc":       func(i int) int { return i + 1 },
	"int64":     func(i int) int64 { return int64(i) },
	"pageSizes": func() []string { return []string{"10", "25", "50", "100", "200"} },
}

// connect serves GET /console/connect: base URLs and snippets filled in
// with the address the browser reached the gateway at.
func (c *Console) connect(w http.ResponseWriter, r *http.Request, s *session) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	origin := (&url.URL{Scheme: scheme, Host: r.Host}).String()
	c.render(w, r, http.StatusOK, "connect", &page{Title: "Connect", Nav: "connect", Who: &s.who, CSRF: s.csrf, Origin: origin})
}

// keyRow is a key as the Keys page lists it.
type keyRow struct {
	admin.KeyObject
	Status string
	// Used is the spend of the current limit period, and Percent that
	// spend against the limit (0–100), when the key has a limit.
	Used    money.Nanos
	Percent int
}

func rowOf(k admin.KeyObject, now time.Time) keyRow {
	row := keyRow{KeyObject: k, Status: "active"}
	switch {
	case k.Disabled:
		row.Status = "disabled"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		row.Status = "expired"
	}
	if k.Limit != nil && k.LimitRemaining != nil {
		row.Used = money.Sub(*k.Limit, *k.LimitRemaining)
		if *k.Limit > 0 {
			row.Percent = int(min(100, max(0, int64(row.Used)*100/int64(*k.Limit))))
		} else {
			row.Percent = 100
		}
	}
	return row
}

// keyForm is the create form's fields as typed, to show again after an error.
type keyForm struct {
	Name, Limit, Reset, Expires, Models string
	Limits                              limitsForm
}

// keys serves GET /console/keys.
func (c *Console) keys(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderKeys(w, r, s, http.StatusOK, &page{})
}

// renderKeys renders the Keys page over p (a message, a new key, the form
// as typed) with the keys the session's key may see.
func (c *Console) renderKeys(w http.ResponseWriter, r *http.Request, s *session, status int, p *page) {
	var list struct {
		Data []admin.KeyObject `json:"data"`
	}
	// The admin's choice of account is the API's account_id filter.
	p.Filter = c.filterOf(r, s, p)
	path := "/keys"
	if p.Filter != nil && p.Filter.Selected != "" {
		path += "?" + url.Values{"account_id": {p.Filter.Selected}}.Encode()
	}
	if err := c.call(r, s, http.MethodGet, path, nil, &list); err != nil {
		p.Error = joinErr(p.Error, "Listing keys failed: "+err.Error())
		status = statusOf(err)
	}
	now := c.now()
	for _, k := range list.Data {
		p.Keys = append(p.Keys, rowOf(k, now))
	}
	p.Title, p.Nav, p.Who, p.CSRF = "Keys", "keys", &s.who, s.csrf
	c.render(w, r, status, "keys", p)
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

func statusOf(err error) int {
	var e *apiError
	if errors.As(err, &e) {
		return e.status
	}
	return http.StatusInternalServerError
}

// createKey serves POST /console/keys: POST /api/v1/keys with the form's
// fields; the new key is on the page this once.
func (c *Console) createKey(w http.ResponseWriter, r *http.Request, s *session) {
	f := keyForm{
		Name:    strings.TrimSpace(r.PostFormValue("name")),
		Limit:   strings.TrimSpace(r.PostFormValue("limit")),
		Reset:   r.PostFormValue("limit_reset"),
		Expires: strings.TrimSpace(r.PostFormValue("expires")),
		Models:  r.PostFormValue("allowed_models"),
		Limits:  limitsFormOf(r),
	}
	req, msg := f.request()
	if s.who.Kind == "admin" {
		// The admin creates the key in the account the page is filtered to.
		req.AccountID = r.PostFormValue("account")
	}
	if msg != "" {
		c.renderKeys(w, r, s, http.StatusBadRequest, &page{Error: msg, Form: f})
		return
	}
	var created struct {
		Data admin.KeyObject `json:"data"`
		Key  string          `json:"key"`
	}
	if err := c.call(r, s, http.MethodPost, "/keys", req, &created); err != nil {
		c.renderKeys(w, r, s, statusOf(err), &page{Error: "Creating the key failed: " + err.Error(), Form: f})
		return
	}
	c.renderKeys(w, r, s, http.StatusCreated, &page{NewKey: created.Key, NewName: created.Data.Name})
}

// request is the API request the form describes, or a message saying
// which field is wrong. Values the API validates (the reset period, the
// limit's sign) are left to it.
func (f keyForm) request() (admin.CreateKeyRequest, string) {
	req := admin.CreateKeyRequest{Name: f.Name, LimitReset: f.Reset}
	if f.Limit != "" {
		n, err := money.ParseUSD(f.Limit)
		if err != nil {
			return req, "The credit limit must be an amount of USD, such as 5 or 0.25."
		}
		req.Limit = &n
	}
	if f.Expires != "" {
		t, err := time.Parse("2006-01-02", f.Expires)
		if err != nil {
			return req, "The expiry must be a date, YYYY-MM-DD."
		}
		req.ExpiresAt = &t
	}
	if ms := splitModels(f.Models); len(ms) > 0 {
		req.AllowedModels = ms
	}
	limits, msg := f.Limits.body()
	if msg != "" {
		return req, msg
	}
	if limits != nil {
		req.RateLimits = &admin.RateLimits{RPM: limits["rpm"], TPM: limits["tpm"], Concurrency: limits["concurrency"]}
	}
	return req, ""
}

// keyAction serves POST /console/keys/{hash}/{disable,enable,delete}.
func (c *Console) keyAction(w http.ResponseWriter, r *http.Request, s *session) {
	hash := r.PathValue("hash")
	path := "/keys/" + url.PathEscape(hash)
	var err error
	switch r.PathValue("action") {
	case "disable":
		err = c.call(r, s, http.MethodPatch, path, map[string]bool{"disabled": true}, nil)
	case "enable":
		err = c.call(r, s, http.MethodPatch, path, map[string]bool{"disabled": false}, nil)
	case "delete":
		err = c.call(r, s, http.MethodDelete, path, nil, nil)
	default:
		c.notFound(w, r)
		return
	}
	if err != nil {
		c.renderKeys(w, r, s, statusOf(err), &page{Error: err.Error()})
		return
	}
	http.Redirect(w, r, withAccount("/console/keys", r.PostFormValue("account")), http.StatusSeeOther)
}
