// Package routing turns a requested model name into the routes that can serve
// it, following SPEC §2: catalogue id or alias, then PROVIDER:MODEL or
// PROVIDER/MODEL, then catalogue patterns, else model_not_found.
package routing

import (
	"sort"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/wildcard"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Variant is an OpenRouter-style suffix that changes route preference.
type Variant uint8

const (
	VariantNone  Variant = iota
	VariantNitro         // ":nitro": prefer the fastest route
	VariantFloor         // ":floor": prefer the cheapest route
)

// Target is one way to serve a request: a provider and its model id.
type Target struct {
	// ID names the configured route for health and stickiness (see RouteID).
	ID string
	// Key is the route's health key, provider/upstream model (RouteID),
	// computed once when the name is resolved.
	Key      string
	Provider string
	Model    string // upstream model id
	Weight   int
	Priority int
	Route    *config.Route // nil for PROVIDER:MODEL names
}

// Resolution is the outcome of resolving one name.
type Resolution struct {
	Requested string        // as the client sent it
	Entry     *config.Model // catalogue entry, nil for PROVIDER:MODEL names
	Variant   Variant
	Targets   []Target // sorted by priority, lowest first
}

// Resolver is immutable after New; safe for concurrent use.
type Resolver struct {
	exact     map[string]*config.Model // ids and aliases
	patterns  []*config.Model          // in config order, a lone "*" last
	providers map[string]bool
}

// New builds a resolver over a validated config.
func New(cfg *config.Config) *Resolver {
	r := &Resolver{exact: map[string]*config.Model{}, providers: map[string]bool{}}
	for i := range cfg.Providers {
		r.providers[cfg.Providers[i].Name] = true
	}
	var catchAll []*config.Model
	for i := range cfg.Models {
		m := &cfg.Models[i]
		switch {
		case m.ID == "*":
			catchAll = append(catchAll, m)
		case strings.Contains(m.ID, "*"):
			r.patterns = append(r.patterns, m)
		default:
			r.exact[m.ID] = m
		}
		for _, a := range m.Aliases {
			r.exact[a] = m
		}
	}
	r.patterns = append(r.patterns, catchAll...)
	return r
}

// Resolve finds the routes for name. A catalogue id that itself ends in a
// suffix (":free", even ":nitro") wins; otherwise a trailing ":nitro" or
// ":floor" is split off before any other rule, so that neither the
// PROVIDER:MODEL split nor a catch-all pattern swallows it.
func (r *Resolver) Resolve(name string) (*Resolution, error) {
	if m, ok := r.exact[name]; ok {
		return fromEntry(name, m, name), nil
	}
	base, v := splitVariant(name)
	if res := r.resolve(base); res != nil {
		res.Requested, res.Variant = name, v
		return res, nil
	}
	return nil, llm.ModelNotFound("The model '" + name + "' does not exist on this gateway. " +
		"List the models you can use with GET /v1/models; a provider's model can also be named as PROVIDER/MODEL.")
}

func (r *Resolver) resolve(name string) *Resolution {
	if name == "" {
		return nil
	}
	// 1. Catalogue id or alias.
	if m, ok := r.exact[name]; ok {
		return fromEntry(name, m, name)
	}
	// 2. PROVIDER:MODEL or PROVIDER/MODEL: only the first separator splits,
	// and only when its left side is a configured provider. Because the
	// first separator is taken, a ':' split never has a '/' on its left.
	if i := strings.IndexAny(name, "/:"); i > 0 && i < len(name)-1 {
		if p := name[:i]; r.providers[p] {
			return &Resolution{Requested: name, Targets: []Target{{ID: p + "/*", Key: p + "/" + name[i+1:], Provider: p, Model: name[i+1:], Weight: 1}}}
		}
	}
	// 3. Patterns.
	for _, m := range r.patterns {
		if wildcard.Match(m.ID, name) {
			return fromEntry(name, m, name)
		}
	}
	return nil
}

func fromEntry(requested string, m *config.Model, name string) *Resolution {
	res := &Resolution{Requested: requested, Entry: m, Targets: make([]Target, 0, len(m.Routes))}
	for i := range m.Routes {
		rt := &m.Routes[i]
		model := rt.Model
		if model == "" {
			model = name
			if !strings.Contains(m.ID, "*") && name != m.ID {
				// An alias without a route model reaches the upstream by the entry's id.
				model = m.ID
			}
		}
		w := rt.Weight
		if w <= 0 {
			w = 1
		}
		id := rt.Model
		if id == "" {
			id = m.ID // the entry's id or pattern: bounded by the config
		}
		tid := rt.Provider + "/" + id
		key := tid
		if model != id {
			key = rt.Provider + "/" + model
		}
		res.Targets = append(res.Targets, Target{ID: tid, Key: key, Provider: rt.Provider, Model: model, Weight: w, Priority: rt.Priority, Route: rt})
	}
	sort.SliceStable(res.Targets, func(i, j int) bool { return res.Targets[i].Priority < res.Targets[j].Priority })
	return res
}

func splitVariant(name string) (string, Variant) {
	switch {
	case strings.HasSuffix(name, ":nitro"):
		return name[:len(name)-len(":nitro")], VariantNitro
	case strings.HasSuffix(name, ":floor"):
		return name[:len(name)-len(":floor")], VariantFloor
	}
	return name, VariantNone
}
