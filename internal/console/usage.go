package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// The Usage page: charts of a date range's usage per day, split by one
// dimension, and a table of the range by that dimension. Its data comes
// from GET /api/v1/usage (a day × split series and a by-split report),
// plus the accounts (admin) or keys (split by key) to name things.

// usageSplits are the dimensions the page can split by, in menu order.
var usageSplits = []struct{ Value, Label string }{
	{"model", "Model"}, {"key", "Key"}, {"provider", "Provider"}, {"app", "App"},
}

// maxSeries is how many groups the charts draw (those with the most
// requests); the table lists them all.
const maxSeries = 8

// defaultDays is the range the page opens with: the last 30 days.
const defaultDays = 30

// usageForm is the page's query: From and To are dates, both included.
type usageForm struct {
	From, To, Split, Account string
}

// usagePage is what templates/usage.html renders.
type usagePage struct {
	Form     usageForm
	Splits   []struct{ Value, Label string }
	Accounts []admin.AccountObject // admin only
	Rows     []usageRow
	Total    usageTotal
	// Data is the charts' data; JSON, its encoding, is written into the
	// page (an attribute: htmx drops script elements from the pages it
	// swaps in) for assets/usage.js.
	Data    chartData
	JSON    string
	Omitted int // groups not charted
	CSV     string
}

// usageRow is one group of the table.
type usageRow struct {
	admin.UsageRow
	Name      string
	ErrorRate string
}

type usageTotal struct {
	Requests, Tokens, Errors, Measured int64
	Cost                               money.Nanos
	ErrorRate                          string
}

// chartSeries is one split value's daily values, aligned with the days.
type chartSeries struct {
	Name     string   `json:"name"`
	Cost     []any    `json:"cost"` // USD as a float, for the chart only
	Requests []int64  `json:"requests"`
	Tokens   []int64  `json:"tokens"`
	Errors   []any    `json:"error_rate"` // percent; null without measured requests
	Lat50    []*int64 `json:"latency_p50"`
	Lat95    []*int64 `json:"latency_p95"`
	TTFT50   []*int64 `json:"ttft_p50"`
	TTFT95   []*int64 `json:"ttft_p95"`
}

type chartData struct {
	Days   []int64       `json:"days"` // unix seconds of each day's start, UTC
	Series []chartSeries `json:"series"`
}

// readUsageForm reads the query, falling back to the defaults for what is
// missing; msg says what was wrong.
func readUsageForm(r *http.Request, now time.Time) (f usageForm, from, to time.Time, msg string) {
	q := r.URL.Query()
	f = usageForm{From: q.Get("from"), To: q.Get("to"), Split: q.Get("split"), Account: q.Get("account_id")}
	today := now.UTC().Truncate(24 * time.Hour)
	to, from = today, today.AddDate(0, 0, 1-defaultDays)
	if f.To != "" {
		t, err := time.Parse(time.DateOnly, f.To)
		if err != nil {
			msg = "The end date must be a date, YYYY-MM-DD."
		} else {
			to = t
		}
	}
	if f.From != "" {
		t, err := time.Parse(time.DateOnly, f.From)
		if err != nil {
			msg = "The start date must be a date, YYYY-MM-DD."
		} else {
			from = t
		}
	}
	if to.Before(from) {
		from, to, msg = to, from, "The start date was after the end date; they are swapped."
	}
	if to.Sub(from) > 366*24*time.Hour {
		from, msg = to.AddDate(-1, 0, 0), "The range is limited to a year."
	}
	if !slices.ContainsFunc(usageSplits, func(s struct{ Value, Label string }) bool { return s.Value == f.Split }) {
		f.Split = "model"
	}
	f.From, f.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
	return f, from, to, msg
}

// apiQuery is the API query of f: to is exclusive there.
func (f usageForm) apiQuery(to time.Time) url.Values {
	v := url.Values{"from": {f.From}, "to": {to.AddDate(0, 0, 1).Format(time.DateOnly)}}
	if f.Account != "" {
		v.Set("account_id", f.Account)
	}
	return v
}

// usage serves GET /console/usage.
func (c *Console) usage(w http.ResponseWriter, r *http.Request, s *session) {
	f, from, to, msg := readUsageForm(r, c.now())
	if s.who.Kind != "admin" {
		f.Account = ""
	}
	p := &page{Title: "Usage", Nav: "usage", Who: &s.who, CSRF: s.csrf, Error: msg}
	u := &usagePage{Form: f, Splits: usageSplits}
	p.Usage = u
	status := http.StatusOK
	fail := func(what string, err error) {
		p.Error = joinErr(p.Error, what+" failed: "+err.Error())
		status = statusOf(err)
	}
	v := f.apiQuery(to)
	csv := url.Values{"from": v["from"], "to": v["to"], "split": {f.Split}}
	if f.Account != "" {
		csv.Set("account_id", f.Account)
	}
	u.CSV = "/console/usage.csv?" + csv.Encode()

	var series, table struct {
		Data []admin.UsageRow `json:"data"`
	}
	v.Set("group_by", "day")
	v.Set("split", f.Split)
	if err := c.call(r, s, http.MethodGet, "/usage?"+v.Encode(), nil, &series); err != nil {
		fail("Reading usage", err)
	}
	v.Set("group_by", f.Split)
	v.Del("split")
	if err := c.call(r, s, http.MethodGet, "/usage?"+v.Encode(), nil, &table); err != nil && status == http.StatusOK {
		fail("Reading usage", err)
	}
	names := map[string]string{}
	if s.who.Kind == "admin" {
		var accounts struct {
			Data []admin.AccountObject `json:"data"`
		}
		if err := c.call(r, s, http.MethodGet, "/accounts", nil, &accounts); err == nil {
			u.Accounts = accounts.Data
		}
	}
	if f.Split == "key" {
		var keys struct {
			Data []admin.KeyObject `json:"data"`
		}
		if err := c.call(r, s, http.MethodGet, "/keys", nil, &keys); err == nil {
			for _, k := range keys.Data {
				names[k.Hash] = k.Name + " (" + k.Label + ")"
			}
		}
	}
	name := func(g string) string {
		if n, ok := names[g]; ok {
			return n
		}
		if g == "" {
			if f.Split == "app" {
				return "(no app)"
			}
			return "(none)"
		}
		return g
	}
	for _, x := range table.Data {
		u.Rows = append(u.Rows, usageRow{UsageRow: x, Name: name(x.Group), ErrorRate: rate(x.Errors, x.LatencyCount)})
		u.Total.Requests += x.Requests
		u.Total.Tokens += x.TokensPrompt + x.TokensCompletion
		u.Total.Errors += x.Errors
		u.Total.Measured += x.LatencyCount
		u.Total.Cost = money.Add(u.Total.Cost, x.Cost)
	}
	u.Total.ErrorRate = rate(u.Total.Errors, u.Total.Measured)
	slices.SortStableFunc(u.Rows, func(a, b usageRow) int { return int(min(max(b.Requests-a.Requests, -1), 1)) })
	data, omitted := chartOf(from, to, series.Data, u.Rows, name)
	u.Data, u.Omitted = data, omitted
	b, err := json.Marshal(data)
	if err != nil {
		fail("Charting usage", err)
	}
	u.JSON = string(b)
	c.render(w, r, status, "usage", p)
}

// rate is errors as a percentage of measured requests, "–" without any.
func rate(errors, measured int64) string {
	if measured <= 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(errors)*100/float64(measured), 'f', 1, 64) + "%"
}

// chartOf lays the day × split rows out as one series per split value
// (the maxSeries of rows with the most requests), a value per day.
func chartOf(from, to time.Time, rows []admin.UsageRow, top []usageRow, name func(string) string) (chartData, int) {
	var d chartData
	day := map[string]int{}
	for t := from; !t.After(to); t = t.AddDate(0, 0, 1) {
		day[t.Format(time.DateOnly)] = len(d.Days)
		d.Days = append(d.Days, t.Unix())
	}
	n := len(d.Days)
	index := map[string]int{}
	for i, r := range top {
		if i == maxSeries {
			break
		}
		index[r.Group] = i
		d.Series = append(d.Series, chartSeries{Name: name(r.Group),
			Cost: make([]any, n), Requests: make([]int64, n), Tokens: make([]int64, n), Errors: make([]any, n),
			Lat50: make([]*int64, n), Lat95: make([]*int64, n), TTFT50: make([]*int64, n), TTFT95: make([]*int64, n)})
	}
	for i := range d.Series {
		for j := range n {
			d.Series[i].Cost[j] = 0
		}
	}
	for _, r := range rows {
		j, ok := day[r.Group]
		if !ok || r.Split == nil {
			continue
		}
		i, ok := index[*r.Split]
		if !ok {
			continue
		}
		s := &d.Series[i]
		cost, _ := strconv.ParseFloat(r.Cost.String(), 64)
		s.Cost[j] = cost
		s.Requests[j] = r.Requests
		s.Tokens[j] = r.TokensPrompt + r.TokensCompletion
		if r.LatencyCount > 0 {
			s.Errors[j] = float64(r.Errors) * 100 / float64(r.LatencyCount)
		}
		s.Lat50[j], s.Lat95[j], s.TTFT50[j], s.TTFT95[j] = r.LatencyP50, r.LatencyP95, r.TTFTP50, r.TTFTP95
	}
	return d, max(len(top)-maxSeries, 0)
}

// usageCSV serves GET /console/usage.csv: GET /api/v1/usage?format=csv
// with the page's range and split, as a download.
func (c *Console) usageCSV(w http.ResponseWriter, r *http.Request, s *session) {
	f, _, to, _ := readUsageForm(r, c.now())
	if s.who.Kind != "admin" {
		f.Account = ""
	}
	v := f.apiQuery(to)
	v.Set("group_by", "day")
	v.Set("split", f.Split)
	v.Set("format", "csv")
	rec, err := c.roundTrip(r, s, http.MethodGet, "/usage?"+v.Encode(), nil)
	if err != nil {
		http.Error(w, "The usage report failed: "+err.Error(), statusOf(err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", rec.header.Get("Content-Type"))
	h.Set("Content-Disposition", rec.header.Get("Content-Disposition"))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rec.body.Bytes())
}
