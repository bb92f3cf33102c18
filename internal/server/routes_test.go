package server

import (
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// route reports the entry of the table the mux picks for method and path
// (cleaned as a request's would be), or -1.
func (rt *router) route(method, path string) int {
	path = cleanPath(path)
	if !canonical(path) {
		return -1
	}
	r := httptest.NewRequest(method, path, nil)
	_, pat := rt.mux.Handler(r)
	if i, ok := rt.served[pat]; ok {
		return i
	}
	return -1
}

// testRouter registers table with handlers that answer 200 and the
// route's index, and a miss that answers 299 (so that any 3xx, 404 or 405
// comes from the mux itself).
func testRouter(table []route) *router {
	idx := map[string]int{}
	for i, e := range table {
		idx[e.method+" "+e.path] = i
	}
	return newRouter(table, func(e route) endpoint {
		i := idx[e.method+" "+e.path]
		return endpoint{h: func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("X-Route", strings.Repeat("x", i)) // index, without strconv
			return nil
		}}
	}, endpoint{h: func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(299)
		return nil
	}})
}

// docPatterns are the `METHOD /path` spans in the first cell of the route
// tables of docs/api.md.
func docPatterns(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	span := regexp.MustCompile("`((?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /[^`]*)`")
	var out []string
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell, _, _ := strings.Cut(line[1:], "|")
		for _, m := range span.FindAllStringSubmatch(cell, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestAPIDocsListEveryRouteAndNoOther: every route of the table is in
// docs/api.md, and every route there is one the mux serves.
func TestAPIDocsListEveryRouteAndNoOther(t *testing.T) {
	table := routes()
	rt := testRouter(table)
	placeholder := regexp.MustCompile(`\{([a-z_]+)\}`)
	documented := make([]bool, len(table))
	docs := docPatterns(t)
	for _, d := range docs {
		method, path, _ := strings.Cut(d, " ")
		path, _, _ = strings.Cut(path, "?")
		path = placeholder.ReplaceAllString(path, "$1")
		i := rt.route(method, path)
		if i < 0 {
			t.Errorf("docs/api.md lists %q, which no route serves", d)
			continue
		}
		documented[i] = true
	}
	for i, ok := range documented {
		if !ok {
			t.Errorf("route %s %s is not in docs/api.md", table[i].method, table[i].path)
		}
	}
}

// TestStaticIndexAgreesWithTheMux: a route found in the index is the one
// the mux would pick.
func TestStaticIndexAgreesWithTheMux(t *testing.T) {
	rt := testRouter(routes())
	n := 0
	for method, paths := range rt.static {
		for p := range paths {
			_, pat := rt.mux.Handler(httptest.NewRequest(method, p, nil))
			if pat != method+" "+p {
				t.Errorf("%s %s: the mux picks %q", method, p, pat)
			}
			n++
		}
	}
	if n < 40 {
		t.Fatalf("only %d static routes indexed", n)
	}
}

// TestRouterCleansPathsAndNeverAnswersItself: whatever the method and
// path, a request reaches a route's handler or the gateway's miss handler;
// never the mux's own redirect, 404 or 405.
func TestRouterCleansPathsAndNeverAnswersItself(t *testing.T) {
	table := routes()
	rt := testRouter(table)
	entry := func(method, path string) int {
		for i, e := range table {
			if e.method == method && e.path == path {
				return i
			}
		}
		t.Fatalf("no route %s %s", method, path)
		return -1
	}
	chat := entry("POST", "/chat/completions")
	for _, c := range []struct {
		method, target string
		want           int // the route's index, or -1 for the miss handler
	}{
		{"POST", "/v1/chat/completions", chat},
		{"POST", "/v1//chat/completions", chat},
		{"POST", "/v1/chat/completions/", chat},
		{"POST", "//v1///chat/completions//", chat},
		{"POST", "/api/v1/chat/completions", chat},
		{"POST", "/chat/completions", chat},
		{"POST", "/v1/chat%2Fcompletions", chat},
		{"GET", "/v1/models", entry("GET", "/models")},
		{"GET", "/v1/models/openai/gpt-4o", entry("GET", "/models/{model...}")},
		{"GET", "/v1/models/openai%2Fgpt-4o", entry("GET", "/models/{model...}")},
		{"POST", "/v1beta/models/gemini-x:generateContent", entry("POST", "/v1beta/models/{model...}")},
		{"POST", "/v1/models/gemini-x:streamGenerateContent?alt=sse", entry("POST", "/models/{model...}")},
		{"GET", "/api/v1/responses/resp-1/", entry("GET", "/responses/{id}")},
		{"POST", "/api/v1/providers/p/m/enable", entry("POST", "/providers/{route...}")},
		{"POST", "/api/v1/accounts/a/credits", entry("POST", "/accounts/{id}/credits")},
		{"GET", "/", entry("GET", "/")},
		{"GET", "/v1/", entry("GET", "/")},
		{"GET", "/debug/pprof/", entry("GET", "/debug/pprof")},
		{"GET", "/debug/pprof/heap", entry("GET", "/debug/pprof/{profile...}")},
		// The miss handler: wrong method, unknown path, a path the mux
		// would redirect (dot segments, a "{x...}" route's parent), and
		// methods the table does not serve (HEAD is not GET's here).
		{"GET", "/v1/chat/completions", -1},
		{"HEAD", "/v1/models", -1},
		{"OPTIONS", "/v1/chat/completions", -1},
		{"CONNECT", "/v1/models", -1},
		{"POST", "/v1/models", -1},
		{"POST", "/v1beta/models", -1},
		{"POST", "/v1beta/models/", -1},
		{"GET", "/debug/pprof/../../v1/models", -1},
		{"POST", "/v1/./chat/completions", -1},
		{"POST", "/v1/x/../chat/completions", -1},
		{"GET", "/api/v1/providers", entry("GET", "/providers")},
		{"POST", "/api/v1/providers", entry("POST", "/providers")},
		{"PATCH", "/api/v1/providers/acme", entry("PATCH", "/providers/{route...}")},
		{"DELETE", "/api/v1/catalog/models/acme/m-1", entry("DELETE", "/catalog/models/{id...}")},
		{"PUT", "/api/v1/providers", -1},
		{"GET", "/v1/batches", -1},
		{"GET", "/v1beta", -1},
		{"GET", "/debug", -1},
		{"GET", "/api/v1/debug/pprof/heap", -1},
		{"GET", "/v1/responses/a/b", -1},
	} {
		t.Run(c.method+" "+c.target, func(t *testing.T) {
			w := httptest.NewRecorder()
			rt.serve(w, httptest.NewRequest(c.method, c.target, nil))
			switch {
			case c.want < 0 && w.Code != 299:
				t.Fatalf("%d %q (Location %q), want the miss handler", w.Code, w.Body, w.Header().Get("Location"))
			case c.want >= 0 && (w.Code != 200 || len(w.Header().Get("X-Route")) != c.want):
				t.Fatalf("%d route %d %q, want route %d (%s %s)", w.Code, len(w.Header().Get("X-Route")), w.Body, c.want, table[c.want].method, table[c.want].path)
			}
		})
	}
	// "*" (OPTIONS *) and an empty path never reach the mux.
	for _, p := range []string{"*", ""} {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = p
		w := httptest.NewRecorder()
		rt.serve(w, r)
		if w.Code != 299 {
			t.Errorf("path %q: %d, want the miss handler", p, w.Code)
		}
	}
}

// TestAllowComesFromTheTable: the methods a 405 names are those the mux
// serves at the path, so a route added to the table is in Allow with no
// other edit.
func TestAllowComesFromTheTable(t *testing.T) {
	allow := func(rt *router, method, target string) []string {
		return rt.allowed(cleanRequest(httptest.NewRequest(method, target, nil)))
	}
	rt := testRouter(routes())
	for _, c := range []struct {
		method, target string
		want           []string
	}{
		{"PUT", "/v1/keys/abc", []string{"DELETE", "GET", "PATCH"}},
		{"HEAD", "/api/v1/keys", []string{"GET", "POST"}},
		{"DELETE", "/api/v1/accounts/a", []string{"GET", "PATCH"}},
		{"GET", "/api/v1/accounts/a/credits", []string{"POST"}},
		{"DELETE", "/v1beta/models/m:generateContent", []string{"GET", "POST"}},
		{"DELETE", "/v1/models/m", []string{"GET", "POST"}},
		{"POST", "/v1/models/", []string{"GET"}},
		{"GET", "/v1/batches", nil},
		{"POST", "/v1beta/models", []string{"GET"}},
		{"GET", "/v1beta/tunedModels", nil},
		{"GET", "/v1/./models", nil},
	} {
		if got := allow(rt, c.method, c.target); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.target, got, c.want)
		}
	}
	more := append(routes(), route{method: "PUT", path: "/keys/{hash}"})
	if got, want := allow(testRouter(more), "OPTIONS", "/api/v1/keys/abc"), []string{"DELETE", "GET", "PATCH", "PUT"}; !slices.Equal(got, want) {
		t.Errorf("with PUT /keys/{hash} added: Allow %q, want %q", got, want)
	}
}

// TestNotFoundListsTheTable: the endpoints a 404 names are the table's,
// under the prefix the client used.
func TestNotFoundListsTheTable(t *testing.T) {
	for _, pre := range []string{"/v1", "/api/v1"} {
		msg := servedEndpoints(pre)
		for _, e := range routes() {
			p := pre
			if e.group == groupManagement {
				p = "/api/v1"
			}
			if want := e.shown(p); !strings.Contains(msg, want) {
				t.Errorf("under %s the list lacks %q: %s", pre, want, msg)
			}
		}
	}
	msg := servedEndpoints("/v1")
	for _, want := range []string{"POST /v1/chat/completions", "GET /v1/models/{model}", "POST /v1beta/models/{model}:generateContent, :streamGenerateContent, :countTokens, :embedContent or :batchEmbedContents", "GET /v1beta/models/{model}",
		"GET /v1/generation?id=", "POST /api/v1/keys", "POST /v1/providers/{route}/enable"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the list lacks %q: %s", want, msg)
		}
	}
}

// cleanRequest is r as the router hands it to the mux.
func cleanRequest(r *http.Request) *http.Request { return withPath(r, cleanPath(r.URL.Path)) }
