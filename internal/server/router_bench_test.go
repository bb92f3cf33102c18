package server

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// legacyRoute is the hand-written dispatch the mux replaced (main at
// 80d4b14, Server.route), kept here only so that BenchmarkRouter can
// compare the two in one run: the same clean-up, prefix strip and
// "METHOD /path" map lookups, then the parameter routes by prefix.
func legacyRoute(model, other map[string]handlerFunc, r *http.Request, param, miss handlerFunc) handlerFunc {
	p := stripPrefix(cleanPath(r.URL.Path))
	if h, ok := model[r.Method+" "+p]; ok {
		return h
	}
	if h, ok := other[r.Method+" "+p]; ok {
		return h
	}
	if strings.HasPrefix(r.URL.Path, "/debug/pprof/") && r.Method == http.MethodGet {
		return param
	}
	switch {
	case strings.HasPrefix(p, "/v1beta/models/") || strings.HasPrefix(p, "/models/"):
		return param
	case strings.HasPrefix(p, "/responses/") && !strings.Contains(p[len("/responses/"):], "/"):
		id := p[len("/responses/"):]
		if r.Method == http.MethodGet {
			return func(w http.ResponseWriter, r *http.Request) error { _ = id; return param(w, r) }
		}
	case strings.HasPrefix(p, "/keys/"), strings.HasPrefix(p, "/providers/"), strings.HasPrefix(p, "/accounts/"):
		return param
	}
	for _, t := range []map[string]handlerFunc{model, other} {
		for k := range t {
			if m, path, _ := strings.Cut(k, " "); path == p && !slices.Contains([]string{}, m) {
				return miss
			}
		}
	}
	return miss
}

// BenchmarkRouter compares, for the same requests, the old hand-written
// dispatch with the ServeMux router (the pre-step clean-up included in
// both), and the mux alone without the router's static index. Handlers do
// nothing. Results: docs/benchmarks.md.
func BenchmarkRouter(b *testing.B) {
	nop := func(http.ResponseWriter, *http.Request) error { return nil }
	model, other := map[string]handlerFunc{}, map[string]handlerFunc{}
	for _, e := range routes() {
		if strings.Contains(e.path, "{") || e.mount != underAPI {
			continue
		}
		if e.group == groupModel {
			model[e.method+" "+e.path] = nop
		} else {
			other[e.method+" "+e.path] = nop
		}
	}
	rt := newRouter(routes(), func(route) endpoint { return endpoint{h: nop} }, endpoint{h: nop})
	w := httptest.NewRecorder()
	for _, c := range []struct{ name, method, target string }{
		{"chat", "POST", "/v1/chat/completions"},
		{"chat_trailing_slash", "POST", "/v1/chat/completions/"},
		{"responses_id", "GET", "/v1/responses/resp-0123456789"},
		{"gemini", "POST", "/v1beta/models/gemini-2.5-flash:generateContent"},
	} {
		r := httptest.NewRequest(c.method, c.target, nil)
		b.Run("route="+c.name+"/router=old", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = legacyRoute(model, other, r, nop, nop)(w, r)
			}
		})
		b.Run("route="+c.name+"/router=mux", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rt.serve(w, r)
			}
		})
		b.Run("route="+c.name+"/router=mux_without_index", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rt.mux.ServeHTTP(w, cleanRequest(r))
			}
		})
	}
}

// BenchmarkNewRouter is the routing part of a config reload: the table
// registered on a new mux.
func BenchmarkNewRouter(b *testing.B) {
	nop := endpoint{h: func(http.ResponseWriter, *http.Request) error { return nil }}
	b.ReportAllocs()
	for b.Loop() {
		newRouter(routes(), func(route) endpoint { return nop }, nop)
	}
}
