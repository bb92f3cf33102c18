package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// The Keys page's rate limits, its edit view (/console/keys/{hash}) and
// the admin's account filter, shared with the Users page.

// limitsForm is a key's rate limits as typed: each a whole number, empty
// for none.
type limitsForm struct{ RPM, TPM, Concurrency string }

func limitsFormOf(r *http.Request) limitsForm {
	return limitsForm{
		RPM:         strings.TrimSpace(r.PostFormValue("rpm")),
		TPM:         strings.TrimSpace(r.PostFormValue("tpm")),
		Concurrency: strings.TrimSpace(r.PostFormValue("concurrency")),
	}
}

func limitsFormFrom(l *admin.RateLimits) limitsForm {
	var f limitsForm
	if l == nil {
		return f
	}
	show := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	return limitsForm{RPM: show(l.RPM), TPM: show(l.TPM), Concurrency: show(l.Concurrency)}
}

// body is the "rate_limits" the form describes: nil when every field is
// empty (no limits), or a message saying which field is not a whole
// number. Ranges (negative, too large) are the API's to refuse.
func (f limitsForm) body() (map[string]int64, string) {
	out := map[string]int64{}
	for _, v := range []struct{ name, label, s string }{
		{"rpm", "requests per minute", f.RPM}, {"tpm", "tokens per minute", f.TPM}, {"concurrency", "concurrent requests", f.Concurrency},
	} {
		if v.s == "" {
			continue
		}
		n, err := strconv.ParseInt(strings.ReplaceAll(v.s, ",", ""), 10, 64)
		if err != nil {
			return nil, "The limit on " + v.label + " must be a whole number (empty for none)."
		}
		out[v.name] = n
	}
	if len(out) == 0 {
		return nil, ""
	}
	return out, ""
}

// accountFilter is the admin's choice of account on the Keys and Users
// pages (?account=acct-…), with the accounts to choose from.
type accountFilter struct {
	Selected string
	Options  []admin.AccountObject
}

// filterOf reads the admin's account filter; nil for anyone else (the API
// shows them their own account only).
func (c *Console) filterOf(r *http.Request, s *session, p *page) *accountFilter {
	if s.who.Kind != "admin" {
		return nil
	}
	f := &accountFilter{Selected: r.FormValue("account")}
	var list struct {
		Data []admin.AccountObject `json:"data"`
	}
	if err := c.call(r, s, http.MethodGet, "/accounts", nil, &list); err != nil {
		p.Error = joinErr(p.Error, "Listing accounts failed: "+err.Error())
	}
	f.Options = list.Data
	return f
}

// withAccount is path with the admin's account filter kept.
func withAccount(path, account string) string {
	if account == "" {
		return path
	}
	return path + "?account=" + url.QueryEscape(account)
}

// keyEdit is the edit view's data.
type keyEdit struct {
	Key  keyRow
	Form keyEditForm
	// Saved: the page follows a successful save.
	Saved bool
}

// keyEditForm is the edit form's fields as typed (or as the key is).
type keyEditForm struct {
	Name, Limit, Reset, Expires, ExpiresWas, Models string
	Limits                                          limitsForm
}

func editFormOf(k admin.KeyObject) keyEditForm {
	f := keyEditForm{Name: k.Name, Models: strings.Join(k.AllowedModels, ", "), Limits: limitsFormFrom(k.RateLimits)}
	if k.Limit != nil {
		f.Limit = k.Limit.String()
	}
	if k.LimitReset != nil {
		f.Reset = *k.LimitReset
	}
	if k.ExpiresAt != nil {
		f.Expires = k.ExpiresAt.UTC().Format("2006-01-02")
	}
	f.ExpiresWas = f.Expires
	return f
}

// keyPage serves GET /console/keys/{hash}: one key, its leak report, and
// (for anyone but a member) the form that edits it.
func (c *Console) keyPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderKey(w, r, s, http.StatusOK, &page{}, nil)
}

// renderKey renders the edit view over p, with form as typed (nil: the
// key as it is).
func (c *Console) renderKey(w http.ResponseWriter, r *http.Request, s *session, status int, p *page, form *keyEditForm) {
	hash := r.PathValue("hash")
	var got struct {
		Data admin.KeyObject `json:"data"`
	}
	p.Title, p.Nav, p.Who, p.CSRF = "Key", "keys", &s.who, s.csrf
	if err := c.call(r, s, http.MethodGet, "/keys/"+url.PathEscape(hash), nil, &got); err != nil {
		p.Title, p.Error = "Key not found", joinErr(p.Error, "Reading the key failed: "+err.Error())
		c.render(w, r, statusOf(err), "notfound", p)
		return
	}
	e := &keyEdit{Key: rowOf(got.Data, c.now()), Form: editFormOf(got.Data),
		Saved: r.Method == http.MethodGet && r.URL.Query().Get("saved") != ""}
	if form != nil {
		e.Form = *form
	}
	p.Title = "Key " + got.Data.Name
	p.View = e
	c.render(w, r, status, "key", p)
}

// editKey serves POST /console/keys/{hash}: PATCH /api/v1/keys/{hash}
// with every field of the form; an empty field clears its setting (null).
func (c *Console) editKey(w http.ResponseWriter, r *http.Request, s *session) {
	hash := r.PathValue("hash")
	f := keyEditForm{
		Name:       strings.TrimSpace(r.PostFormValue("name")),
		Limit:      strings.TrimSpace(r.PostFormValue("limit")),
		Reset:      r.PostFormValue("limit_reset"),
		Expires:    strings.TrimSpace(r.PostFormValue("expires")),
		ExpiresWas: r.PostFormValue("expires_was"),
		Models:     r.PostFormValue("allowed_models"),
		Limits:     limitsFormOf(r),
	}
	body, msg := f.patch()
	if msg != "" {
		c.renderKey(w, r, s, http.StatusBadRequest, &page{Error: msg}, &f)
		return
	}
	if err := c.call(r, s, http.MethodPatch, "/keys/"+url.PathEscape(hash), body, nil); err != nil {
		c.renderKey(w, r, s, statusOf(err), &page{Error: "Saving the key failed: " + err.Error()}, &f)
		return
	}
	http.Redirect(w, r, "/console/keys/"+url.PathEscape(hash)+"?saved=1", http.StatusSeeOther)
}

// patch is the PATCH body the edit form describes, or a message saying
// which field is wrong. The expiry is sent only when changed, so that
// saving another field keeps an expiry that is not at midnight.
func (f keyEditForm) patch() (map[string]any, string) {
	body := map[string]any{"name": f.Name, "limit": nil, "limit_reset": nil, "rate_limits": nil}
	if f.Limit != "" {
		n, err := money.ParseUSD(f.Limit)
		if err != nil {
			return nil, "The credit limit must be an amount of USD, such as 5 or 0.25 (empty for none)."
		}
		body["limit"] = n
	}
	if f.Reset != "" {
		body["limit_reset"] = f.Reset
	}
	if f.Expires != f.ExpiresWas {
		body["expires_at"] = nil
		if f.Expires != "" {
			t, err := time.Parse("2006-01-02", f.Expires)
			if err != nil {
				return nil, "The expiry must be a date, YYYY-MM-DD (empty for never)."
			}
			body["expires_at"] = t
		}
	}
	body["allowed_models"] = splitModels(f.Models)
	limits, msg := f.Limits.body()
	if msg != "" {
		return nil, msg
	}
	if limits != nil {
		body["rate_limits"] = limits
	}
	return body, ""
}

// splitModels splits a list of models typed with commas, spaces or lines.
func splitModels(s string) []string {
	out := []string{}
	for m := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\r' || r == '\t' }) {
		out = append(out, m)
	}
	return out
}
