package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/relay"
)

// servedPrefixes are the API prefixes a base URL may end in. A path under
// one of them reached the gateway with the right base URL, so a 404 there
// is about the endpoint, never the base URL.
var servedPrefixes = []string{"/api/v1", "/v1beta", "/v1"}

// underServedPrefix reports the served prefix path starts with, if any.
func underServedPrefix(path string) (string, bool) {
	for _, pre := range servedPrefixes {
		if path == pre || strings.HasPrefix(path, pre+"/") {
			return pre, true
		}
	}
	return "", false
}

// dialectOf is the client dialect whose error envelope a path's SDK parses:
// Google's under /v1beta, Anthropic's for /messages, else OpenAI's.
func dialectOf(p string) relay.Ingress {
	switch {
	case p == "/v1beta" || strings.HasPrefix(p, "/v1beta/"):
		return relay.IngressGemini
	case p == "/messages" || strings.HasPrefix(p, "/messages/"):
		return relay.IngressAnthropic
	}
	return relay.IngressOpenAI
}

// miss answers a request no route took: a 405 with Allow when the mux
// serves its path with other methods, else a 404; in the envelope of the
// dialect the path belongs to.
func (s *Server) miss(rt *router) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		in := dialectOf(stripPrefix(cleanPath(r.URL.Path)))
		if allow := rt.allowed(r); len(allow) > 0 {
			return inDialect(s.errs, in, notAllowed(allow...))(w, r)
		}
		return s.notFound(r, in)(w, r)
	}
}

// notAllowed answers a known path called with another method: 405 with the
// Allow header (RFC 9110 §15.5.6), the same shape on every path: methods
// sorted, the message naming them.
func notAllowed(methods ...string) handlerFunc {
	methods = slices.Sorted(slices.Values(methods))
	allow := strings.Join(methods, ", ")
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		return &llm.Error{Kind: llm.KindCaller, Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Code: "method_not_allowed",
			Message: r.Method + " is not allowed on " + r.URL.Path + "; it takes " + allow}
	}
}

// notFound answers a path that names no endpoint, in the envelope of in,
// the dialect the path belongs to. Under a served prefix the base URL is right
// and the endpoint is what is missing (POST /v1/responses, Gemini
// :countTokens): the answer says so and lists what is served. Only a path
// outside every prefix gets advice about the base URL.
func (s *Server) notFound(r *http.Request, in relay.Ingress) handlerFunc {
	clean := cleanPath(r.URL.Path)
	pre, ok := underServedPrefix(clean)
	var msg string
	switch {
	case !ok:
		msg = "Unknown route " + r.Method + " " + r.URL.Path + ". This gateway serves the OpenAI API: set the base URL to http://HOST:PORT/v1 " +
			"(also accepted: /v1/ with a trailing slash, /api/v1, or full paths such as /v1/chat/completions and /v1/models for curl). " +
			"Anthropic SDKs: base URL http://HOST:PORT (POST /v1/messages). Google Gen AI SDKs: base URL http://HOST:PORT (POST /v1beta/models/MODEL:generateContent)."
	case pre != "/v1beta" && stripPrefix(stripPrefix(clean)) != stripPrefix(clean):
		// "/v1/v1/chat/completions": a base URL ending in /v1 and a client
		// that appends /v1/… itself.
		msg = "Unknown route " + r.Method + " " + r.URL.Path + ": the path has the API prefix twice. " +
			"Set the base URL to http://HOST:PORT (this client adds " + pre + " itself), not http://HOST:PORT" + pre + "."
	default:
		msg = r.Method + " " + r.URL.Path + " is not an endpoint this gateway serves (the base URL is right). " + servedEndpoints(pre)
	}
	e := llm.NotFound(msg)
	return inDialect(s.errs, in, func(http.ResponseWriter, *http.Request) error { return e })
}
