package server

import (
	"crypto/ecdsa"
	"net/http"
	"slices"
	"strings"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/relay"
	"github.com/switchyard-gw/switchyard/internal/secretscan"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// route is one endpoint: a method, a path in http.ServeMux pattern syntax
// (without the API prefix), where it is mounted, and how to build its handler
// for a snapshot. The table below is the only list of served routes: the mux,
// the Allow header of a 405, the endpoints a 404 lists and the check that
// docs/api.md documents every route all read it.
type route struct {
	method string
	path   string
	mount  mount
	group  group
	// tail is what the path's last wildcard must end in, for the listings,
	// when the mux cannot say it: a ServeMux wildcard is a whole segment,
	// so "{model}:generateContent" is "{model...}" and its handler parses
	// the suffix.
	tail  string
	build func(s *Server, sn *snapshot) handlerFunc
}

// mount says under which prefixes a route is served.
type mount uint8

const (
	// underAPI: at /v1, /api/v1 and without a prefix (some clients are
	// configured with the bare host as base URL).
	underAPI mount = iota
	// atRoot: at the path as written, only.
	atRoot
)

// apiPrefixes are where an underAPI route is mounted.
var apiPrefixes = []string{"", "/v1", "/api/v1"}

// group orders the endpoints a 404 lists, and says who calls them.
type group uint8

const (
	groupModel group = iota
	groupGemini
	groupKey
	groupManagement
	groupOps
	groupConsole
)

// geminiMethods are the methods served on …/models/{model}:METHOD
// (relay.ParseGeminiMethod), as the listings name them.
const geminiMethods = ":generateContent, :streamGenerateContent, :countTokens, :embedContent or :batchEmbedContents"

// routes is the table of served endpoints. Adding one is one line here.
// (A function, not a variable: the handlers refer back to the listings
// made from it.)
func routes() []route {
	return []route{
		{method: "POST", path: "/chat/completions", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return sn.relay.OpenAI(oa.OpChat) }},
		{method: "POST", path: "/completions", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return sn.relay.OpenAI(oa.OpCompletions) }},
		{method: "POST", path: "/embeddings", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return sn.relay.OpenAI(oa.OpEmbeddings) }},
		{method: "POST", path: "/images/generations", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return sn.relay.OpenAI(oa.OpImages) }},
		{method: "POST", path: "/moderations", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return sn.relay.OpenAI(oa.OpModerations) }},
		{method: "POST", path: "/audio/speech", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return sn.relay.OpenAI(oa.OpSpeech) }},
		{method: "POST", path: "/images/edits", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return sn.relay.OpenAI(oa.OpImageEdits) }},
		{method: "POST", path: "/audio/transcriptions", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return sn.relay.OpenAI(oa.OpTranscriptions) }},
		{method: "POST", path: "/audio/translations", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return sn.relay.OpenAI(oa.OpTranslations) }},
		{method: "POST", path: "/rerank", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return sn.relay.OpenAI(oa.OpRerank) }},
		{method: "POST", path: "/responses", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return sn.relay.Responses }},
		// A stored response (POST /responses stores it), for any key of its account.
		{method: "GET", path: "/responses/{id}", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return withValue("id", sn.relay.GetResponse) }},
		{method: "DELETE", path: "/responses/{id}", group: groupModel, build: func(_ *Server, sn *snapshot) handlerFunc { return withValue("id", sn.relay.DeleteResponse) }},
		{method: "POST", path: "/messages", group: groupModel, build: func(s *Server, sn *snapshot) handlerFunc {
			return inDialect(s.errs, relay.IngressAnthropic, sn.relay.Messages)
		}},
		{method: "POST", path: "/messages/count_tokens", group: groupModel, build: func(s *Server, sn *snapshot) handlerFunc {
			return inDialect(s.errs, relay.IngressAnthropic, sn.relay.CountTokens)
		}},
		{method: "GET", path: "/models", group: groupModel, build: (*Server).listModelsPublic},
		// Model ids may contain '/' and ':', hence "{model...}".
		{method: "GET", path: "/models/{model...}", group: groupModel, build: (*Server).getModel},
		// Gemini: /v1beta/models/MODEL:generateContent, and /v1/models/…, which
		// newer Google SDKs call.
		{method: "POST", path: "/v1beta/models/{model...}", mount: atRoot, group: groupGemini, tail: geminiMethods, build: (*Server).gemini},
		{method: "POST", path: "/models/{model...}", group: groupGemini, tail: geminiMethods, build: (*Server).gemini},
		// Gemini's model list and model, in Google's shape (with a key).
		{method: "GET", path: "/v1beta/models", mount: atRoot, group: groupGemini, build: (*Server).geminiModels},
		{method: "GET", path: "/v1beta/models/{model...}", mount: atRoot, group: groupGemini, build: (*Server).geminiModel},

		{method: "GET", path: "/key", group: groupKey, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.Key }},
		{method: "GET", path: "/credits", group: groupKey, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.Credits }},
		{method: "GET", path: "/generation", group: groupKey, tail: "?id=", build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.Generation }},

		{method: "GET", path: "/keys", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.ListKeys }},
		{method: "POST", path: "/keys", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.CreateKey }},
		{method: "GET", path: "/keys/{hash}", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("hash", s.admin.GetKey) }},
		{method: "PATCH", path: "/keys/{hash}", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("hash", s.admin.PatchKey) }},
		{method: "DELETE", path: "/keys/{hash}", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("hash", s.admin.DeleteKey) }},
		{method: "GET", path: "/accounts", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.ListAccounts }},
		{method: "POST", path: "/accounts", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.CreateAccount }},
		{method: "GET", path: "/accounts/{id}", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("id", s.admin.GetAccount) }},
		{method: "PATCH", path: "/accounts/{id}", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("id", s.admin.PatchAccount) }},
		{method: "POST", path: "/accounts/{id}/credits", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("id", s.admin.TopUp) }},
		{method: "GET", path: "/generations", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.ListGenerations }},
		{method: "GET", path: "/accounts/{id}/ledger", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("id", s.admin.Ledger) }},
		{method: "POST", path: "/redeem-codes", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.CreateRedeemCodes }},
		{method: "GET", path: "/redeem-codes", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.ListRedeemCodes }},
		{method: "DELETE", path: "/redeem-codes/{id}", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("id", s.admin.VoidRedeemCodes) }},
		{method: "POST", path: "/credits/redeem", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.Redeem }},
		{method: "GET", path: "/usage", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.Usage }},
		{method: "GET", path: "/audit", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.Audit }},
		// Console users (internal/admin/users.go).
		{method: "GET", path: "/users", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.ListUsers }},
		{method: "POST", path: "/users", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.CreateUser }},
		{method: "POST", path: "/register", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return s.admin.Register }},
		{method: "GET", path: "/users/{id}", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("id", s.admin.GetUser) }},
		{method: "PATCH", path: "/users/{id}", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("id", s.admin.PatchUser) }},
		{method: "DELETE", path: "/users/{id}", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("id", s.admin.DeleteUser) }},
		{method: "POST", path: "/users/{id}/password", group: groupManagement, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("id", s.admin.ChangePassword) }},
		// OAuth PKCE for apps (docs/oauth.md): a key grants an app a code;
		// the app exchanges it with its verifier, without a key, from a
		// browser too (CORS open on that one path).
		{method: "POST", path: "/auth/keys/code", group: groupManagement, build: func(s *Server, sn *snapshot) handlerFunc { return s.admin.CreateAuthCode(oauthPolicy(sn)) }},
		{method: "POST", path: "/auth/keys", group: groupManagement, build: func(s *Server, sn *snapshot) handlerFunc { return withCORS(s.admin.ExchangeAuthCode(oauthPolicy(sn))) }},
		{method: "OPTIONS", path: "/auth/keys", group: groupManagement, build: func(*Server, *snapshot) handlerFunc { return corsPreflight }},
		// GitHub secret scanning's leak reports: signed, no key (docs/security.md).
		{method: "POST", path: "/secret-scanning/report", group: groupOps, build: (*Server).secretScanning},

		{method: "GET", path: "/providers", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return s.providers }},
		// Providers and models added through the API (docs/configuration.md,
		// "Providers and models through the API"). Models are managed under
		// /catalog/models: GET /models/{id} is the public model list and
		// POST /models/{id} is Gemini's.
		{method: "POST", path: "/providers", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return s.createEntry(store.EntryProvider, "name") }},
		{method: "GET", path: "/providers/{route...}", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc {
			return withValue("route", s.getEntry(store.EntryProvider, "name"))
		}},
		{method: "PATCH", path: "/providers/{route...}", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc {
			return withValue("route", s.patchEntry(store.EntryProvider, "name"))
		}},
		{method: "DELETE", path: "/providers/{route...}", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc {
			return withValue("route", s.deleteEntry(store.EntryProvider, "name"))
		}},
		{method: "GET", path: "/catalog/models", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return s.listModels }},
		{method: "POST", path: "/catalog/models", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return s.createEntry(store.EntryModel, "id") }},
		{method: "GET", path: "/catalog/models/{id...}", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("id", s.getEntry(store.EntryModel, "id")) }},
		{method: "PATCH", path: "/catalog/models/{id...}", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return withValue("id", s.patchEntry(store.EntryModel, "id")) }},
		{method: "DELETE", path: "/catalog/models/{id...}", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc {
			return withValue("id", s.deleteEntry(store.EntryModel, "id"))
		}},
		// Route ids are "provider/model" and models may hold '/': the handler
		// takes "/enable" off the end.
		{method: "POST", path: "/providers/{route...}", group: groupOps, tail: "/enable", build: (*Server).enable},
		{method: "POST", path: "/admin/reload", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return s.reload }},
		{method: "GET", path: "/metrics", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return s.serveMetrics }},
		{method: "GET", path: "/healthz", group: groupOps, build: func(*Server, *snapshot) handlerFunc { return health }},
		{method: "GET", path: "/readyz", mount: atRoot, group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return s.ready }},
		{method: "GET", path: "/debug/pprof", mount: atRoot, group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return s.debugPprof }},
		{method: "GET", path: "/debug/pprof/{profile...}", mount: atRoot, group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return s.debugPprof }},
		{method: "GET", path: "/", group: groupOps, build: func(s *Server, _ *snapshot) handlerFunc { return s.index }},

		// The web console (internal/console): pages, assets, sign-in and its forms.
		{method: "GET", path: "/console", mount: atRoot, group: groupConsole, build: func(s *Server, _ *snapshot) handlerFunc { return s.serveConsole }},
		{method: "GET", path: "/console/{path...}", mount: atRoot, group: groupConsole, build: func(s *Server, _ *snapshot) handlerFunc { return s.serveConsole }},
		{method: "POST", path: "/console/{path...}", mount: atRoot, group: groupConsole, build: func(s *Server, _ *snapshot) handlerFunc { return s.serveConsole }},
		// OAuth consent (docs/oauth.md): an app sends the browser here; the
		// console asks its signed-in user, and the form posts back here.
		{method: "GET", path: "/auth", mount: atRoot, group: groupConsole, build: func(s *Server, _ *snapshot) handlerFunc { return s.serveConsole }},
		{method: "POST", path: "/auth", mount: atRoot, group: groupConsole, build: func(s *Server, _ *snapshot) handlerFunc { return s.serveConsole }},
	}
}

// patterns are the ServeMux paths rt is registered at.
func (rt route) patterns() []string {
	if rt.mount != underAPI {
		return []string{rt.path}
	}
	out := make([]string, 0, len(apiPrefixes))
	for _, pre := range apiPrefixes {
		switch {
		case rt.path != "/":
			out = append(out, pre+rt.path)
		case pre == "":
			out = append(out, "/{$}") // "/" alone would match every path
		default:
			out = append(out, pre)
		}
	}
	return out
}

// shown is how a listing names rt under prefix pre: "{model...}" as
// "{model}", and the tail the handler requires.
func (rt route) shown(pre string) string {
	p := rt.path
	if rt.mount == atRoot {
		pre = ""
	}
	if p == "/" && pre != "" {
		p = ""
	}
	return rt.method + " " + pre + strings.ReplaceAll(p, "...}", "}") + rt.tail
}

// withValue adapts a handler that takes one path parameter.
func withValue(name string, h func(http.ResponseWriter, *http.Request, string) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return h(w, r, r.PathValue(name)) }
}

// getModel serves GET /models/{model...}: one model of the catalogue. A
// Gemini method there (GET …/models/M:generateContent) is a Gemini client
// with the wrong method: only POST serves it.
func (s *Server) getModel(sn *snapshot) handlerFunc {
	notGet := inDialect(s.errs, relay.IngressGemini, notAllowed(http.MethodPost))
	anthropicGet := inDialect(s.errs, relay.IngressAnthropic, checkKey(sn.relay, withValue("model", sn.catalogue.AnthropicGet)))
	return anthropicShape(anthropicGet, checkKey(sn.relay, func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("model")
		if _, _, gemini := relay.ParseGeminiMethod(id); gemini {
			return notGet(w, r)
		}
		return sn.catalogue.Get(w, r, id)
	}))
}

// gemini serves POST …/models/{model...}: MODEL:generateContent,
// MODEL:streamGenerateContent and MODEL:countTokens. Other Gemini methods
// (:embedContent, :predict…) are not served: a 404 in Google's envelope.
func (s *Server) gemini(sn *snapshot) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		model, method, ok := relay.ParseGeminiMethod(r.PathValue("model"))
		switch {
		case !ok:
			return s.notFound(r, relay.IngressGemini)(w, r)
		case method == relay.GeminiCountTokens:
			return inDialect(s.errs, relay.IngressGemini, sn.relay.GeminiCountTokens(model))(w, r)
		case method == relay.GeminiEmbed, method == relay.GeminiBatchEmbed:
			return inDialect(s.errs, relay.IngressGeminiEmbed, sn.relay.GeminiEmbed(model, method == relay.GeminiBatchEmbed))(w, r)
		}
		return inDialect(s.errs, relay.IngressGemini, sn.relay.Gemini(model, method == relay.GeminiStream))(w, r)
	}
}

// listModelsPublic serves GET /models: OpenAI's list, or Anthropic's when
// the request carries anthropic-version (Anthropic's SDKs always send it).
func (s *Server) listModelsPublic(sn *snapshot) handlerFunc {
	return anthropicShape(inDialect(s.errs, relay.IngressAnthropic, checkKey(sn.relay, sn.catalogue.AnthropicList)), checkKey(sn.relay, sn.catalogue.List))
}

// anthropicShape picks the Anthropic handler for a request that carries
// anthropic-version.
func anthropicShape(anthropic, other handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Header.Get("Anthropic-Version") != "" {
			return anthropic(w, r)
		}
		return other(w, r)
	}
}

// geminiModels serves GET /v1beta/models: the catalogue in Google's
// shape, paged with pageSize and pageToken.
func (s *Server) geminiModels(sn *snapshot) handlerFunc {
	return inDialect(s.errs, relay.IngressGemini, func(w http.ResponseWriter, r *http.Request) error {
		if _, err := sn.relay.GeminiKey(r); err != nil {
			return err
		}
		return sn.catalogue.GeminiList(w, r)
	})
}

// geminiModel serves GET /v1beta/models/{model...}: one model in Google's
// shape; GET on a method (…/M:generateContent) is a 405.
func (s *Server) geminiModel(sn *snapshot) handlerFunc {
	notGet := notAllowed(http.MethodPost)
	return inDialect(s.errs, relay.IngressGemini, func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("model")
		if _, _, method := relay.ParseGeminiMethod(id); method {
			return notGet(w, r)
		}
		if _, err := sn.relay.GeminiKey(r); err != nil {
			return err
		}
		return sn.catalogue.GeminiGet(w, r, id)
	})
}

// servedEndpoints names the served endpoints, grouped, from the route
// table, with the underAPI ones under pre (the prefix the client used) so
// that the list can be pasted; management routes are named under /api/v1.
func servedEndpoints(pre string) string {
	if pre == "/v1beta" {
		pre = "/v1"
	}
	labels := [...]string{
		groupModel:      "Model endpoints",
		groupGemini:     "Gemini",
		groupKey:        "the calling key",
		groupManagement: "management (admin or management key)",
		groupOps:        "operations (admin key)",
		groupConsole:    "web console (browsers)",
	}
	var lists [len(labels)][]string
	for _, rt := range routes() {
		p := pre
		if rt.group == groupManagement {
			p = "/api/v1"
		}
		lists[rt.group] = append(lists[rt.group], rt.shown(p))
	}
	var b strings.Builder
	for g, l := range lists {
		if g > 0 {
			b.WriteString("; ")
		}
		b.WriteString(labels[g] + ": " + strings.Join(l, ", "))
	}
	b.WriteString(". The API reference is docs/api.md.")
	return b.String()
}

// router is one snapshot's routes on an http.ServeMux, plus an index of
// the mux's static routes.
type router struct {
	mux *http.ServeMux
	// static holds, by method then path, the handler of every pattern
	// without a wildcard: exactly what the mux would pick for that method
	// and path (a literal pattern with a method is the most specific there
	// is), found in two map lookups instead of the mux's clean-up and
	// segment walk. POST /v1/chat/completions is routed here; see
	// BenchmarkRouter and docs/benchmarks.md.
	static map[string]map[string]endpoint
	// served maps every registered pattern ("POST /v1/chat/completions")
	// to its entry in routes. The patterns that answer 404 or 405 are not
	// in it.
	served map[string]int
	// methods are the methods the table serves, sorted: a request with
	// another one (HEAD, OPTIONS, PUT…) goes straight to 404 or 405.
	methods []string
	miss    endpoint
}

// newRouter registers table on a new mux, each route's handler made by
// handler, and miss (which answers 404 or 405) wherever no route matches.
func newRouter(table []route, handler func(route) endpoint, miss endpoint) *router {
	rt := &router{mux: http.NewServeMux(), static: map[string]map[string]endpoint{}, served: map[string]int{}, miss: miss}
	var paths []string
	for i, e := range table {
		h := handler(e)
		for _, p := range e.patterns() {
			pat := e.method + " " + p
			rt.mux.Handle(pat, h)
			rt.served[pat] = i
			if !strings.Contains(p, "{") {
				if rt.static[e.method] == nil {
					rt.static[e.method] = map[string]endpoint{}
				}
				rt.static[e.method][p] = h
			}
			if !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
		if !slices.Contains(rt.methods, e.method) {
			rt.methods = append(rt.methods, e.method)
		}
	}
	slices.Sort(rt.methods)
	// Every served path answers any other method through miss (a 405), and
	// so does the parent of a "{x...}" path: without it the mux would
	// redirect ".../models" to ".../models/" for a method that
	// ".../models/{model...}" serves, and the path clean-up would strip
	// the slash again.
	for _, p := range paths {
		rt.mux.Handle(p, miss)
		if parent, ok := multiParent(p); ok && !slices.Contains(paths, parent) {
			paths = append(paths, parent)
			rt.mux.Handle(parent, miss)
		}
	}
	rt.mux.Handle("/", miss)
	return rt
}

// multiParent is "/a" for "/a/{x...}".
func multiParent(p string) (string, bool) {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 || !strings.HasSuffix(p, "...}") || p[i+1] != '{' {
		return "", false
	}
	return p[:i], true
}

// serve dispatches r. Its path is cleaned first (cleanPath: repeated and
// trailing slashes), and the mux sees the clean path.
func (rt *router) serve(w http.ResponseWriter, r *http.Request) {
	p := cleanPath(r.URL.Path)
	if h, ok := rt.static[r.Method][p]; ok {
		// A static route reads no path value: r goes as it came, with
		// no copy for the clean path.
		h.ServeHTTP(w, r)
		return
	}
	r = withPath(r, p)
	if !canonical(r.URL.Path) || !slices.Contains(rt.methods, r.Method) {
		// The mux would redirect a path with dot segments to its clean
		// form, and serve HEAD from a GET route; neither is what this
		// gateway has ever done.
		rt.miss.ServeHTTP(w, r)
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// canonical reports whether the mux takes p as it is (it redirects any
// other path): rooted, no dot segments, no repeated or trailing slash.
func canonical(p string) bool {
	if p == "/" {
		return true
	}
	if p == "" || p[0] != '/' || p[len(p)-1] == '/' || strings.Contains(p, "//") {
		return false
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// allowed lists, sorted, the methods served at r's path: for each method
// of the table, whether the mux picks a route for it there. It runs only
// for a request no route took.
func (rt *router) allowed(r *http.Request) []string {
	if !canonical(r.URL.Path) {
		return nil
	}
	probe := *r
	var out []string
	for _, m := range rt.methods {
		probe.Method = m
		if _, pat := rt.mux.Handler(&probe); pat != "" {
			if _, ok := rt.served[pat]; ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// newRouter builds sn's router: the route table's handlers on sn, and
// the 404/405 answer everywhere else.
func (s *Server) newRouter(sn *snapshot) *router {
	var rt *router
	miss := endpoint{out: s.errs, h: func(w http.ResponseWriter, r *http.Request) error { return s.miss(rt)(w, r) }}
	rt = newRouter(routes(), func(e route) endpoint {
		h := e.build(s, sn)
		if e.audited() {
			h = s.audit(e, h)
		}
		return endpoint{h: h, out: s.errs}
	}, miss)
	return rt
}

// enable serves POST /providers/{route...}/enable.
func (s *Server) enable(*snapshot) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, ok := strings.CutSuffix(r.PathValue("route"), "/enable")
		if !ok {
			return s.notFound(r, relay.IngressOpenAI)(w, r)
		}
		return s.enableRoute(w, r, id)
	}
}

// secretScanning serves GitHub's leak reports, trusting the snapshot's
// configured public keys (config validation parsed each already).
func (s *Server) secretScanning(sn *snapshot) handlerFunc {
	keys := make(map[string]*ecdsa.PublicKey, len(sn.cfg.Security.SecretScanning.PublicKeys))
	for _, k := range sn.cfg.Security.SecretScanning.PublicKeys {
		if pub, err := k.ECDSA(); err == nil {
			keys[k.ID] = pub
		}
	}
	return s.admin.ReportLeaks(secretscan.NewVerifier(keys))
}
