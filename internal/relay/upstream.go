package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

func asMaxBytes(err error, target **http.MaxBytesError) bool { return errors.As(err, target) }

// maxUpstreamError bounds how much of an upstream error body is read.
const maxUpstreamError = 64 << 10

// errTooLarge: an upstream answer or stream went past its bound.
var errTooLarge = errors.New("over the gateway's size bound")

// readAnswer reads a whole (non-streamed) upstream answer, at most
// server.max_upstream_body_bytes: a larger one is an error, never a silent
// cut that would read as malformed JSON. A nil answer with a nil error means
// the client went away (recorded as cancelled).
func (rl *Relay) readAnswer(r *http.Request, resp *http.Response, p *provider.Provider, c *call, at *attemptCtx) ([]byte, error) {
	limit := rl.Config.Server.MaxUpstreamBodyBytes
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil && clientGone(r):
		c.gen.Cancelled = true
		return nil, nil
	case err != nil:
		return nil, at.explain(p, transportError(p, err))
	case int64(len(raw)) > limit:
		return nil, llm.UpstreamError("provider '"+p.Name+"' answered more than "+strconv.FormatInt(limit, 10)+" bytes (server.max_upstream_body_bytes)", errTooLarge)
	}
	return raw, nil
}

// limitedBody ends a stream's body with errTooLarge past n bytes.
type limitedBody struct {
	r io.Reader
	n int64
}

func (l *limitedBody) Read(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.r.Read(b)
	l.n -= int64(n)
	return n, err
}

// transportError classifies a failure to get a response at all.
func transportError(p *provider.Provider, err error) *llm.Error {
	// Which clock fired is known to the attempt (attemptCtx.explain names
	// it); the provider's timeout is not the only one, so none is named here.
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return llm.UpstreamTimeout("provider '"+p.Name+"' did not answer in time", err)
	}
	return llm.UpstreamError("could not reach provider '"+p.Name+"'", err)
}

// buildError classifies a failure to build a request: a signer that could
// not get its credential (a token endpoint down) is the upstream being
// unreachable, as a transport failure is. The message names the provider,
// never the credential; the cause is the signer's error, which carries no
// secret (provider.Signer).
func buildError(p *provider.Provider, err error) *llm.Error {
	var se *provider.SignError
	if errors.As(err, &se) {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return llm.UpstreamTimeout("could not get a credential for provider '"+p.Name+"' in time", err)
		}
		return llm.UpstreamError("could not get a credential for provider '"+p.Name+"'", err)
	}
	return llm.UpstreamError("could not build the request for provider '"+p.Name+"'", err)
}

// send makes one upstream call, the same sequence for every path: build
// the request, send it, and classify a failure to get an answer (naming the
// attempt's clock that fired) or an error status (its body decoded in the
// upstream's format by decodeError). It returns the response only for a 2xx;
// the caller closes its body. With no response, the attempt is over: the
// error, or nil when the client went away (recorded as cancelled).
func (rl *Relay) send(r *http.Request, c *call, p *provider.Provider, at *attemptCtx, path string, body []byte, stream bool,
	decodeError func(status int, body []byte) *llm.Error) (*http.Response, int, error) {
	return rl.sendRequest(r, c, p, at, func() (*http.Request, error) {
		return p.NewRequest(at.ctx, path, body, stream, c.gen.RequestID) // signed here, once per attempt
	}, decodeError)
}

// sendRequest is send for a request that build makes (a streamed body).
func (rl *Relay) sendRequest(r *http.Request, c *call, p *provider.Provider, at *attemptCtx, build func() (*http.Request, error),
	decodeError func(status int, body []byte) *llm.Error) (*http.Response, int, error) {
	ureq, err := build()
	if err != nil {
		if clientGone(r) {
			c.gen.Cancelled = true
			return nil, 0, nil
		}
		return nil, 0, at.explain(p, buildError(p, err))
	}
	resp, err := p.Do(ureq)
	if err != nil {
		if clientGone(r) {
			c.gen.Cancelled = true
			return nil, 0, nil
		}
		return nil, 0, at.explain(p, transportError(p, err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamError))
		return nil, resp.StatusCode, classifyStatus(p, resp.StatusCode, resp.Header.Get("Retry-After"), decodeError(resp.StatusCode, raw))
	}
	return resp, resp.StatusCode, nil
}

// credentialErrors are the error types or codes by which an OpenAI-format
// upstream attributes a 403 to the key: OpenAI's invalid_api_key, and
// authentication_error / permission_error as Anthropic-style proxies spell
// it. Any other 403 is about the request (OpenRouter answers 403 for
// moderation-flagged input; OpenAI for an unsupported region), so it goes
// to the client and takes no route out.
var credentialErrors = map[string]bool{"invalid_api_key": true, "authentication_error": true, "permission_error": true}

// credentialRefused reports whether an upstream error status means the
// provider refused the gateway's credential. A 401 always does. The
// Anthropic and Gemini codecs have already judged their dialect (every
// Anthropic 401/403 is authentication_error/permission_error on the key;
// Gemini's 401/403 and its 400 API_KEY_INVALID), answering a 502 for a 4xx
// status. An OpenAI-format 403 counts only with a key-error type or code.
func credentialRefused(st int, e *llm.Error) bool {
	switch {
	case st == http.StatusUnauthorized:
		return true
	case st >= 400 && st < 500 && e.Status == http.StatusBadGateway && e.Code == "upstream_error":
		return true
	case st == http.StatusForbidden:
		return credentialErrors[e.Type] || credentialErrors[e.Code]
	}
	return false
}

// classifyStatus decides what the client sees for an upstream's error
// status, whatever the upstream's dialect (e carries its decoded message,
// type, code and param). An upstream's own 4xx (bad parameter, context too
// long, model not found, a 403 about the request) reaches the client with
// its status and message. A refused credential (credentialRefused) is the
// operator's problem, not the client's: that is a 502 that does not blame
// the client's key. 5xx are 502.
func classifyStatus(p *provider.Provider, st int, retryAfter string, e *llm.Error) *llm.Error {
	e = scrubUpstream(p, e)
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(st)
	}
	switch {
	case credentialRefused(st, e):
		return llm.UpstreamError("provider '"+p.Name+"' rejected the gateway's credentials (HTTP "+strconv.Itoa(st)+"); the operator must fix its api_key", fmt.Errorf("%w: %s", llm.ErrCredential, msg))
	case st == http.StatusTooManyRequests:
		return &llm.Error{Kind: llm.KindProvider, Status: 429, Type: nonEmpty(e.Type, "rate_limit_error"), Code: nonEmpty(e.Code, "rate_limit_exceeded"),
			Message: "provider '" + p.Name + "' is rate limiting: " + msg, RetryAfter: nonEmpty(retryAfter, e.RetryAfter)}
	case st >= 400 && st < 500:
		return &llm.Error{Kind: llm.KindProvider, Status: st, Type: nonEmpty(e.Type, "invalid_request_error"), Code: e.Code, Param: e.Param, Message: msg}
	case st == http.StatusGatewayTimeout:
		return llm.UpstreamTimeout("provider '"+p.Name+"' timed out: "+msg, nil)
	default:
		return llm.UpstreamError("provider '"+p.Name+"' failed (HTTP "+strconv.Itoa(st)+"): "+msg, nil)
	}
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// scrubUpstream cleans every string of an upstream's decoded error before
// anything renders, stores or logs it: the provider's credential is
// redacted from all of them, the message is bounded, and the type, code and
// param are kept only if they look like what they are (identifiers, a
// parameter path). An upstream that reflects the request's headers into
// "code" or "param" cannot leak the key that way.
func scrubUpstream(p *provider.Provider, e *llm.Error) *llm.Error {
	c := *e
	c.Message = oa.Clip(p.Scrub(e.Message), maxUpstreamMessage)
	c.Type = ident(p.Scrub(e.Type), false)
	c.Code = ident(p.Scrub(e.Code), false)
	c.Param = ident(p.Scrub(e.Param), true)
	c.RetryAfter = ident(e.RetryAfter, false)
	return &c
}

// maxUpstreamMessage bounds an upstream error message shown to a client.
const maxUpstreamMessage = 2048

// ident returns s if it is a short identifier ([A-Za-z0-9_.-], with
// brackets for a parameter path when path is set), else "".
func ident(s string, path bool) string {
	if len(s) > 128 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		case path && (c == '[' || c == ']'):
		default:
			return ""
		}
	}
	return s
}
