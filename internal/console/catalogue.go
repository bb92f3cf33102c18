package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// modelObject is GET /v1/models' item, the fields the page shows.
type modelObject struct {
	ID            string `json:"id"`
	OwnedBy       string `json:"owned_by"`
	ContextLength int    `json:"context_length"`
	MaxOutput     int    `json:"max_output_tokens"`
	Pricing       *struct {
		Prompt     string `json:"prompt"`
		Completion string `json:"completion"`
	} `json:"pricing"`
}

// routeStatus is GET /api/v1/providers' item (routeStatus).
type routeStatus struct {
	ID           string    `json:"id"`
	Route        string    `json:"route"`
	State        string    `json:"state"`
	Since        time.Time `json:"since"`
	ErrorRate    float64   `json:"error_rate"`
	LatencyP50Ms float64   `json:"latency_p50_ms"`
	LatencyP95Ms float64   `json:"latency_p95_ms"`
	TTFBEWMAMs   float64   `json:"ttfb_ewma_ms"`
	InFlight     int64     `json:"in_flight"`
	Requests     int64     `json:"requests"`
	Failures     int64     `json:"failures"`
	LastError    string    `json:"last_error"`
}

// modelRow is a catalogue entry as the Models page lists it.
type modelRow struct {
	modelObject
	// Prompt and Completion are USD per million tokens ("" when unpriced).
	Prompt, Completion string
	// Routes are the entry's configured routes (admin only), with their
	// health where the gateway has used them.
	Routes []routeCell
}

// routeCell is one route of a model: its id and breaker state ("" when
// not used yet).
type routeCell struct{ ID, State string }

// modelsView is what the Models page shows.
type modelsView struct {
	Models []modelRow
	// RoutesShown: the session's key may read route health (the admin).
	RoutesShown bool
}

// models serves GET /console/models: the catalogue (GET /api/v1/models,
// which any valid key may read) and, for the admin, each model's routes
// from GET /api/v1/providers.
func (c *Console) models(w http.ResponseWriter, r *http.Request, s *session) {
	v := &modelsView{}
	p := &page{Title: "Models", Nav: "models", Who: &s.who, CSRF: s.csrf, View: v}
	status := http.StatusOK
	var list struct {
		Data []modelObject `json:"data"`
	}
	if err := c.call(r, s, http.MethodGet, "/models", nil, &list); err != nil {
		p.Error, status = "Listing models failed: "+err.Error(), statusOf(err)
	}
	var health struct {
		Data   []routeStatus       `json:"data"`
		Models map[string][]string `json:"models"`
	}
	if s.who.Kind == "admin" {
		v.RoutesShown = c.call(r, s, http.MethodGet, "/providers", nil, &health) == nil
	}
	state := map[string]string{}
	for _, rt := range health.Data {
		state[rt.Route] = worse(state[rt.Route], rt.State)
	}
	for _, m := range list.Data {
		row := modelRow{modelObject: m}
		if m.Pricing != nil {
			row.Prompt, row.Completion = perMillion(m.Pricing.Prompt), perMillion(m.Pricing.Completion)
		}
		for _, id := range health.Models[m.ID] {
			row.Routes = append(row.Routes, routeCell{ID: id, State: state[id]})
		}
		v.Models = append(v.Models, row)
	}
	c.render(w, r, status, "models", p)
}

// worse is the state to show for a route of which a pattern route's
// models are in states a and b: the least healthy.
func worse(a, b string) string {
	rank := map[string]int{"": 0, "closed": 1, "half_open": 2, "open": 3, "disabled": 4}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// perMillion turns a price in USD per token (a decimal string, as
// /v1/models gives it, with as many decimals as it needs) into USD per
// million tokens, "$2.50": the decimal point moves six places, exactly.
func perMillion(perToken string) string {
	whole, frac, _ := strings.Cut(perToken, ".")
	if whole == "" || !isDecimalDigits(whole) || (frac != "" && !isDecimalDigits(frac)) {
		return perToken + " per token"
	}
	frac += "000000"
	whole, frac = strings.TrimLeft(whole+frac[:6], "0"), strings.TrimRight(frac[6:], "0")
	if whole == "" {
		whole = "0"
	}
	for len(frac) < 2 {
		frac += "0"
	}
	return "$" + grouped(whole) + "." + frac
}

func isDecimalDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// providersView is what the Providers page shows.
type providersView struct {
	Routes []routeStatus
	// NeedsAdmin: the session's key is a management key, which may not
	// read route health.
	NeedsAdmin bool
	// Editing is the add / edit / delete section (providereditor.go).
	Editing *providerEditing
}

// providers serves GET /console/providers: every route's health (GET
// /api/v1/providers, admin only). A management key's session gets a page
// that says so rather than an error.
func (c *Console) providers(w http.ResponseWriter, r *http.Request, s *session) {
	e := &providerEditing{}
	if f, ok := doneMessages[r.URL.Query().Get("done")]; ok {
		e.Done = fmt.Sprintf(f, r.URL.Query().Get("name"))
	}
	c.renderProviders(w, r, s, http.StatusOK, "", e)
}

// renderProviders renders the Providers page with status and error, and
// the editing section's forms as typed in e.
func (c *Console) renderProviders(w http.ResponseWriter, r *http.Request, s *session, status int, msg string, e *providerEditing) {
	v := &providersView{NeedsAdmin: s.who.Kind != "admin"}
	p := &page{Title: "Providers", Nav: "providers", Who: &s.who, CSRF: s.csrf, View: v, Error: msg}
	if !v.NeedsAdmin {
		var health struct {
			Data      []routeStatus `json:"data"`
			Providers []string      `json:"providers"`
		}
		if err := c.call(r, s, http.MethodGet, "/providers", nil, &health); err != nil {
			p.Error, status = joinErr(p.Error, "Reading provider health failed: "+err.Error()), statusOf(err)
		} else if err := c.loadProviderEditing(r, s, health.Providers, e); err != nil {
			p.Error, status = joinErr(p.Error, "Reading the providers failed: "+err.Error()), statusOf(err)
		}
		v.Routes = health.Data
		v.Editing = e
	}
	c.render(w, r, status, "providers", p)
}

// percent renders a share (0–1) as "12.5%".
func percent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}
