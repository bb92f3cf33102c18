package server

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/relay"
)

// handlerFunc is every endpoint's shape: it returns an error and one adapter
// (writeError) renders it, so no handler writes an error body itself.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// endpoint serves a handlerFunc, rendering its error in the OpenAI
// envelope (a handler for another dialect renders its own; see inDialect).
type endpoint struct {
	h   handlerFunc
	out errorWriter
}

func (e endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := e.h(w, r); err != nil {
		e.out.write(w, r, relay.IngressOpenAI, llm.AsError(err))
	}
}

// errorWriter renders a handler's error: the one place every error answer
// passes, so it is also where failed authentications are counted.
type errorWriter struct {
	log   *slog.Logger
	guard *authGuard // nil: failures not counted
}

// ServeHTTP is the front door: request id, panic safety, path
// normalisation, dispatch (the snapshot's router), error rendering.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := requestID(r.Header.Get("X-Request-Id"))
	w.Header().Set("X-Request-Id", reqID)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic", slog.String("request_id", reqID), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			s.errs.write(w, r, relay.IngressOpenAI, llm.AsError(nil))
		}
	}()
	// One load per request: the request runs on this snapshot to its end,
	// whatever reloads happen meanwhile.
	sn := s.current()
	if !s.edges(sn, w, r) {
		return
	}
	if b := withBodyDeadline(w, r, &sn.cfg.Server); b != nil {
		// The server reads what the handler left of its own body type.
		defer func() { r.Body = b.ReadCloser }()
	}
	// A stream earlier on this connection may have left a write deadline
	// (relay's clientStream): lift it for this request's answer, and after
	// it bound the server's last flush, which a client that stopped reading
	// would otherwise hold for ever.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	defer func() { _ = rc.SetWriteDeadline(time.Now().Add(sn.cfg.Server.StreamWriteTimeout)) }()
	sn.router.serve(w, r)
}

// withPath is r with path p (cleanPath of its path) and no RawPath, or r
// itself when that is what it has. The mux matches the escaped path:
// dropping RawPath makes "%2F" a '/' to it, as it has always been to this
// gateway (a model id "openai%2Fgpt-4o" is "openai/gpt-4o").
func withPath(r *http.Request, p string) *http.Request {
	if p == r.URL.Path && r.URL.RawPath == "" {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = p, ""
	r2.URL = &u
	return r2
}

// inDialect renders h's errors in the envelope of the client's dialect
// (Anthropic's for /v1/messages, Google's for Gemini routes), which its SDK
// parses.
func inDialect(out errorWriter, in relay.Ingress, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h(w, r); err != nil {
			out.write(w, r, in, llm.AsError(err))
		}
		return nil
	}
}

func (o errorWriter) write(w http.ResponseWriter, r *http.Request, in relay.Ingress, e *llm.Error) {
	reqID := w.Header().Get("X-Request-Id")
	if e.Kind == llm.KindGateway && e.Cause != nil {
		o.log.Error("gateway error", slog.String("request_id", reqID), slog.String("error", e.Cause.Error()))
	}
	if e.Status == http.StatusUnauthorized && o.guard != nil {
		o.guard.fail(r)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter != "" {
		h.Set("Retry-After", e.RetryAfter)
	}
	// OpenAI SDKs read this header to decide whether to retry; the gateway
	// says no for errors a retry cannot fix (llm.Error.Retryable).
	if !e.Retryable() {
		h.Set("X-Should-Retry", "false")
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(in.EncodeError(e, reqID))
}

// cleanPath collapses repeated slashes and drops a trailing one, so that
// base URLs written as ".../v1/" (giving "/v1//chat/completions") work.
func cleanPath(p string) string {
	if !strings.Contains(p, "//") && (len(p) <= 1 || p[len(p)-1] != '/') {
		return p
	}
	b := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && len(b) > 0 && b[len(b)-1] == '/' {
			continue
		}
		b = append(b, p[i])
	}
	if len(b) > 1 && b[len(b)-1] == '/' {
		b = b[:len(b)-1]
	}
	return string(b)
}

// stripPrefix removes the API prefix (/api/v1 or /v1). Paths without one are
// served too: some clients are configured with the bare host as base URL.
func stripPrefix(p string) string {
	for _, pre := range []string{"/api/v1", "/v1"} {
		if p == pre {
			return "/"
		}
		if strings.HasPrefix(p, pre+"/") {
			return p[len(pre):]
		}
	}
	return p
}

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// newID returns prefix + 24 random base36 characters.
func newID(prefix string) string {
	var buf [24]byte
	_, _ = rand.Read(buf[:])
	b := make([]byte, len(prefix), len(prefix)+len(buf))
	copy(b, prefix)
	for _, c := range buf {
		b = append(b, idAlphabet[int(c)%len(idAlphabet)])
	}
	return string(b)
}

// newOrderedID returns prefix + 24 base36 characters: the time in
// milliseconds (9 characters, in order until the year 5188), then 15
// random ones (77 bits). Ids that grow with time are appended to the
// ledger's primary-key indexes instead of landing on a random page each:
// a ledger batch on a 200,000-row SQLite file wrote 6.7x faster
// (BenchmarkWriteBatch in internal/store/sqlite).
func newOrderedID(prefix string, now time.Time) string {
	var rnd [15]byte
	_, _ = rand.Read(rnd[:])
	b := make([]byte, 0, len(prefix)+24)
	b = append(b, prefix...)
	ms := uint64(now.UnixMilli())
	var ts [9]byte
	for i := len(ts) - 1; i >= 0; i-- {
		ts[i] = idAlphabet[ms%36]
		ms /= 36
	}
	b = append(b, ts[:]...)
	for _, c := range rnd {
		b = append(b, idAlphabet[int(c)%len(idAlphabet)])
	}
	return string(b)
}

// requestID keeps a client's X-Request-Id when it is sane, else makes one.
func requestID(client string) string {
	if n := len(client); n > 0 && n <= 128 {
		ok := true
		for i := 0; i < n; i++ {
			if c := client[i]; c <= ' ' || c > '~' {
				ok = false
				break
			}
		}
		if ok {
			return client
		}
	}
	return newID("req-")
}
