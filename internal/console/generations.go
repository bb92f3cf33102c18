package console

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// genFilters are the Generations page's filters, as typed in its form;
// every one is passed to GET /api/v1/generations as it is, except the
// dates (To is inclusive here, exclusive there).
type genFilters struct {
	Key, Model, Provider, Status, App, From, To, Account string
	Limit                                                string // page size; "" is the API's default
}

// generationsView is what the Generations page shows.
type generationsView struct {
	Filters genFilters
	Keys    []admin.KeyObject // for the key filter
	Rows    []admin.GenerationObject
	// Next is the URL of the next page ("" on the last); First that of
	// the first page with the same filters.
	Next, First template.URL
	Paged       bool // this is not the first page
	Admin       bool
}

// generations serves GET /console/generations: the ledger, newest first,
// a page at a time (GET /api/v1/generations, and GET /api/v1/keys for the
// key filter's names).
func (c *Console) generations(w http.ResponseWriter, r *http.Request, s *session) {
	in := r.URL.Query()
	v := &generationsView{Admin: s.who.Kind == "admin", Filters: genFilters{
		Key: in.Get("key"), Model: strings.TrimSpace(in.Get("model")), Provider: strings.TrimSpace(in.Get("provider")),
		Status: strings.TrimSpace(in.Get("status")), App: strings.TrimSpace(in.Get("app")),
		From: in.Get("from"), To: in.Get("to"), Account: strings.TrimSpace(in.Get("account_id")), Limit: in.Get("limit"),
	}}
	p := &page{Title: "Generations", Nav: "generations", Who: &s.who, CSRF: s.csrf, View: v}
	status := http.StatusOK
	q, msg := v.Filters.apiQuery()
	if msg != "" {
		p.Error, status = msg, http.StatusBadRequest
		c.render(w, r, status, "generations", p)
		return
	}
	v.First = template.URL("/console/generations?" + v.Filters.pageQuery().Encode())
	if cur := in.Get("cursor"); cur != "" {
		q.Set("cursor", cur)
		v.Paged = true
	}
	var list admin.GenerationsPage
	if err := c.call(r, s, http.MethodGet, "/generations?"+q.Encode(), nil, &list); err != nil {
		p.Error, status = "Listing generations failed: "+err.Error(), statusOf(err)
	}
	v.Rows = list.Data
	if list.NextCursor != nil {
		next := v.Filters.pageQuery()
		next.Set("cursor", *list.NextCursor)
		v.Next = template.URL("/console/generations?" + next.Encode())
	}
	var keys struct {
		Data []admin.KeyObject `json:"data"`
	}
	if err := c.call(r, s, http.MethodGet, "/keys", nil, &keys); err == nil {
		for _, k := range keys.Data {
			if k.Kind == "api" || k.Kind == "admin" {
				v.Keys = append(v.Keys, k)
			}
		}
	}
	c.render(w, r, status, "generations", p)
}

// pageQuery is the console URL query of f (the filters as typed).
func (f genFilters) pageQuery() url.Values {
	q := url.Values{}
	for name, val := range map[string]string{"key": f.Key, "model": f.Model, "provider": f.Provider, "status": f.Status,
		"app": f.App, "from": f.From, "to": f.To, "account_id": f.Account, "limit": f.Limit} {
		if val != "" {
			q.Set(name, val)
		}
	}
	return q
}

// apiQuery is the API query of f, or a message saying which field is wrong.
// The form's "to" date is the last day shown; the API's is exclusive.
func (f genFilters) apiQuery() (url.Values, string) {
	q := f.pageQuery()
	if f.From != "" {
		if _, err := time.Parse("2006-01-02", f.From); err != nil {
			return nil, "The start date must be a date, YYYY-MM-DD."
		}
	}
	if f.To != "" {
		t, err := time.Parse("2006-01-02", f.To)
		if err != nil {
			return nil, "The end date must be a date, YYYY-MM-DD."
		}
		q.Set("to", t.AddDate(0, 0, 1).Format("2006-01-02"))
	}
	return q, ""
}

// attempt is one routing attempt as the relay records it.
type attempt struct {
	Provider   string `json:"provider"`
	Model      string `json:"model"`
	Outcome    string `json:"outcome"`
	Status     int    `json:"status"`
	Error      string `json:"error"`
	DurationMs int64  `json:"duration_ms"`
}

// generationView is what a generation's page shows.
type generationView struct {
	G        admin.GenerationObject
	Attempts []attempt
	// AttemptsRaw is shown when the stored attempts are not the relay's shape.
	AttemptsRaw string
}

// generation serves GET /console/generations/{id}: one record and every
// routing attempt (GET /api/v1/generation?id=).
func (c *Console) generation(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	p := &page{Title: "Generation " + id, Nav: "generations", Who: &s.who, CSRF: s.csrf}
	var got struct {
		Data admin.GenerationObject `json:"data"`
	}
	if err := c.call(r, s, http.MethodGet, "/generation?id="+url.QueryEscape(id), nil, &got); err != nil {
		p.Error = "Reading generation " + id + " failed: " + err.Error()
		c.render(w, r, statusOf(err), "generation", p)
		return
	}
	v := &generationView{G: got.Data}
	if err := json.Unmarshal(got.Data.Attempts, &v.Attempts); err != nil {
		v.AttemptsRaw = string(got.Data.Attempts)
	}
	p.View = v
	c.render(w, r, http.StatusOK, "generation", p)
}

// Formatting for the pages: amounts with thousands separators.

// usdGrouped renders n as "$1,234.50": thousands separated, at least
// cents, and every further digit a small amount has ($0.00000075).
func usdGrouped(n money.Nanos) string {
	s := n.String()
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < 2 {
		frac += "0"
	}
	return sign + "$" + grouped(whole) + "." + frac
}

// grouped puts a comma between each three digits of a run of digits.
func grouped(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// count renders an integer with thousands separators.
func count(n int64) string {
	if n < 0 {
		return "-" + grouped(strconv.FormatInt(-n, 10))
	}
	return grouped(strconv.FormatInt(n, 10))
}

// millis renders a duration in milliseconds, "1,234 ms"; nil is "–".
func millis(v any) string {
	switch n := v.(type) {
	case int64:
		return count(n) + " ms"
	case *int64:
		if n == nil {
			return "–"
		}
		return count(*n) + " ms"
	case float64:
		return count(int64(n+0.5)) + " ms"
	}
	return "–"
}
