package relay

import (
	"context"
	"errors"
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

// maxUpstreamBody bounds a non-streamed upstream answer.
const maxUpstreamBody = 64 << 20

// transportError classifies a failure to get a response at all.
func transportError(p *provider.Provider, err error) *llm.Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return llm.UpstreamTimeout("provider '"+p.Name+"' did not answer within "+p.Timeout.String(), err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return llm.UpstreamTimeout("provider '"+p.Name+"' did not answer in time", err)
	}
	return llm.UpstreamError("could not reach provider '"+p.Name+"'", err)
}

// statusError turns an upstream error response into the client's error.
// An upstream's own 4xx (bad parameter, context too long, model not found)
// reaches the client with its status and message. Its 401/403 means the
// gateway's credential is wrong, which is the operator's problem, not the
// client's: that is a 502 that does not blame the client's key. 5xx are 502.
func statusError(p *provider.Provider, resp *http.Response) *llm.Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamError))
	msg, typ, code, param := oa.ParseUpstreamError(body)
	msg = p.Scrub(msg)
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	st := resp.StatusCode
	switch {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return llm.UpstreamError("provider '"+p.Name+"' rejected the gateway's credentials (HTTP "+strconv.Itoa(st)+"); the operator must fix its api_key", errors.New(msg))
	case st == http.StatusTooManyRequests:
		e := &llm.Error{Kind: llm.KindProvider, Status: 429, Type: nonEmpty(typ, "rate_limit_error"), Code: nonEmpty(code, "rate_limit_exceeded"),
			Message: "provider '" + p.Name + "' is rate limiting: " + msg, RetryAfter: resp.Header.Get("Retry-After")}
		return e
	case st >= 400 && st < 500:
		return &llm.Error{Kind: llm.KindProvider, Status: st, Type: nonEmpty(typ, "invalid_request_error"), Code: code, Param: param, Message: msg}
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
