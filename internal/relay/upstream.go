package relay

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

func asMaxBytes(err error, target **http.MaxBytesError) bool { return errors.As(err, target) }

// maxUpstreamError bounds how much of an upstream error body is read.
const maxUpstreamError = 64 << 10

// maxUpstreamBody bounds a non-streamed upstream answer.
const maxUpstreamBody = 64 << 20

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

// statusError turns an OpenAI-format upstream error response into the
// client's error.
func statusError(p *provider.Provider, resp *http.Response) *llm.Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamError))
	return classifyStatus(p, resp.StatusCode, resp.Header.Get("Retry-After"), decodeOpenAIError(resp.StatusCode, body))
}

// errCredential marks (in an *llm.Error's cause) an upstream refusing the
// gateway's credential: the route's health counts it as an AuthFailure.
var errCredential = errors.New("the upstream refused the gateway's credential")

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
	msg := p.Scrub(e.Message)
	if msg == "" {
		msg = http.StatusText(st)
	}
	switch {
	case credentialRefused(st, e):
		return llm.UpstreamError("provider '"+p.Name+"' rejected the gateway's credentials (HTTP "+strconv.Itoa(st)+"); the operator must fix its api_key", fmt.Errorf("%w: %s", errCredential, msg))
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
