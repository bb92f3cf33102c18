package relay

import (
	"errors"
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

// classifyStatus decides what the client sees for an upstream's error
// status, whatever the upstream's dialect (e carries its decoded message,
// type, code and param). An upstream's own 4xx (bad parameter, context too
// long, model not found) reaches the client with its status and message.
// Its 401/403 means the gateway's credential is wrong, which is the
// operator's problem, not the client's: that is a 502 that does not blame
// the client's key. 5xx are 502.
func classifyStatus(p *provider.Provider, st int, retryAfter string, e *llm.Error) *llm.Error {
	msg := p.Scrub(e.Message)
	if msg == "" {
		msg = http.StatusText(st)
	}
	switch {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return llm.UpstreamError("provider '"+p.Name+"' rejected the gateway's credentials (HTTP "+strconv.Itoa(st)+"); the operator must fix its api_key", errors.New(msg))
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
