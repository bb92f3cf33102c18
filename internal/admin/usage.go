package admin

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// UsageRow is one row of GET /usage.
type UsageRow struct {
	Group string `json:"group"`
	// Split is the split's value, present only when the query has a split.
	Split            *string     `json:"split,omitempty"`
	Requests         int64       `json:"requests"`
	TokensPrompt     int64       `json:"tokens_prompt"`
	TokensCompletion int64       `json:"tokens_completion"`
	Cost             money.Nanos `json:"cost"`
	Errors           int64       `json:"errors"`
	// LatencyCount is how many requests have a latency in the report (all
	// those recorded since migration 0008), TTFTCount how many of them sent
	// a first token; the percentiles are null without any.
	LatencyCount int64  `json:"latency_count"`
	LatencyP50   *int64 `json:"latency_p50_ms"`
	LatencyP95   *int64 `json:"latency_p95_ms"`
	TTFTCount    int64  `json:"ttft_count"`
	TTFTP50      *int64 `json:"ttft_p50_ms"`
	TTFTP95      *int64 `json:"ttft_p95_ms"`
}

func quantile(h store.Histogram, q float64) *int64 {
	if v, ok := h.Quantile(q); ok {
		return &v
	}
	return nil
}

// Usage serves GET /usage?from=&to=&group_by=&split=&account_id=&format=
// (admin: all accounts, or ?account_id=; management key: its account).
// format=csv answers the same report as a CSV download.
func (a *API) Usage(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	q := store.UsageQuery{GroupBy: v.Get("group_by"), Split: v.Get("split"), AccountID: v.Get("account_id")}
	if q.GroupBy == "" {
		q.GroupBy = "day"
	}
	switch q.GroupBy {
	case "day", "model", "key", "provider", "app":
	default:
		return llm.BadRequest("group_by", "'group_by' must be day, model, key, provider or app")
	}
	switch q.Split {
	case "", "model", "key", "provider", "app":
	default:
		return llm.BadRequest("split", "'split' must be model, key, provider or app")
	}
	if q.Split == q.GroupBy {
		return llm.BadRequest("split", "'split' must differ from 'group_by'")
	}
	format := v.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return llm.BadRequest("format", "'format' must be json or csv")
	}
	if err := parseRange(v, &q.From, &q.To); err != nil {
		return err
	}
	if caller.Kind == store.KindManagement {
		q.AccountID = caller.AccountID
	}
	rows, err := a.st.Usage(r.Context(), q)
	if err != nil {
		return err
	}
	out := make([]UsageRow, 0, len(rows))
	for _, x := range rows {
		row := UsageRow{Group: x.Group, Requests: x.Requests, TokensPrompt: x.TokensPrompt,
			TokensCompletion: x.TokensCompletion, Cost: x.Cost, Errors: x.Errors,
			LatencyCount: x.Latency.Count(), LatencyP50: quantile(x.Latency, 0.5), LatencyP95: quantile(x.Latency, 0.95),
			TTFTCount: x.TTFT.Count(), TTFTP50: quantile(x.TTFT, 0.5), TTFTP95: quantile(x.TTFT, 0.95)}
		if q.Split != "" {
			row.Split = &x.Split
		}
		out = append(out, row)
	}
	if format == "csv" {
		return writeUsageCSV(w, &q, v.Get("from"), v.Get("to"), out)
	}
	return writeJSON(w, http.StatusOK, dataOf(out))
}

// writeUsageCSV writes a usage report as a CSV download: a header row
// naming the group (and split) dimension, then one line per row, cost in
// USD, empty cells for percentiles without samples.
func writeUsageCSV(w http.ResponseWriter, q *store.UsageQuery, from, to string, rows []UsageRow) error {
	name := "usage-" + q.GroupBy
	if q.Split != "" {
		name += "-by-" + q.Split
	}
	for _, d := range []string{from, to} {
		if d != "" {
			name += "-" + safeFileName(d)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	header := []string{q.GroupBy}
	if q.Split != "" {
		header = append(header, q.Split)
	}
	header = append(header, "requests", "tokens_prompt", "tokens_completion", "cost_usd", "errors",
		"latency_p50_ms", "latency_p95_ms", "ttft_p50_ms", "ttft_p95_ms")
	_ = cw.Write(header)
	num := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	for _, r := range rows {
		line := []string{cell(r.Group)}
		if r.Split != nil {
			line = append(line, cell(*r.Split))
		}
		line = append(line, strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.TokensPrompt, 10),
			strconv.FormatInt(r.TokensCompletion, 10), r.Cost.String(), strconv.FormatInt(r.Errors, 10),
			num(r.LatencyP50), num(r.LatencyP95), num(r.TTFTP50), num(r.TTFTP95))
		_ = cw.Write(line)
	}
	cw.Flush()
	return nil
}

// cell keeps a text value (an app's title is the client's to choose) from
// being read as a formula by a spreadsheet: a leading =, +, -, @, tab or
// carriage return gets a ' in front.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// safeFileName keeps the letters, digits and - of a date for a file name.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' {
			return r
		}
		return -1
	}, s)
}
