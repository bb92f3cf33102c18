// Package provider holds the upstreams the gateway sends requests to: one
// Provider per configured provider, built by the registry from its type.
//
// A Provider knows its base URL, credential scheme and transport; it does not
// know the request pipeline (package relay) or translation (the codecs).
package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/wildcard"
)

// Format is the wire format an upstream speaks.
type Format uint8

const (
	FormatOpenAI Format = iota + 1
	FormatAnthropic
	FormatGemini
	// FormatResponses is OpenAI's Responses API ({base_url}/responses),
	// which an OpenAI provider may speak beside chat (config responses).
	FormatResponses
	// FormatBedrock is Amazon Bedrock's Converse API
	// (/model/{modelId}/converse, AWS event-stream framing for streams).
	FormatBedrock
)

// String names the format as users know it.
func (f Format) String() string {
	switch f {
	case FormatOpenAI:
		return "OpenAI"
	case FormatAnthropic:
		return "Anthropic Messages"
	case FormatGemini:
		return "Gemini"
	case FormatResponses:
		return "OpenAI Responses"
	case FormatBedrock:
		return "Bedrock Converse"
	}
	return "unknown"
}

// Provider is one upstream at one base URL with one credential.
type Provider struct {
	Name    string
	Type    string
	Format  Format
	BaseURL string // without a trailing slash
	Timeout time.Duration
	// FirstByteTimeout and IdleTimeout: see config.Provider.
	FirstByteTimeout time.Duration
	IdleTimeout      time.Duration
	Models           []string // exposed by name in GET /models
	// Responses: the provider also speaks FormatResponses.
	Responses bool
	// ModelFormats are the upstream models (patterns) the provider serves
	// in a format other than Format, first match wins: an OpenAI
	// provider's Responses-only models (FormatResponses), Vertex AI's
	// Claude models (FormatAnthropic beside its Gemini).
	ModelFormats []ModelFormat

	// rt sends requests. It is used directly, not through an http.Client:
	// redirects are never followed (one would resend the credential to
	// wherever the upstream points) and there are no cookies, so a Client
	// would only add its per-request header copies and URL clones.
	// Signer puts the credential on each request, once per attempt
	// (NewRequest); every builder picks one, Unsigned{} for a provider
	// without a credential.
	Signer Signer

	rt      http.RoundTripper
	secret  string
	headers http.Header
	// path maps an operation's path ("/chat/completions") and the upstream
	// model to the path below BaseURL; nil means the path as given.
	path func(op, model string) string
	// quirks are the adjustments of the provider's preset, if any.
	quirks quirks
	// envelope, if set, makes the provider's own changes to a request
	// built for path (after Path) in its format: the path and body a
	// service wants that differ from the format's own (Vertex AI's Claude:
	// the streaming method in the path, the API version in the body).
	// nil: none.
	envelope func(path string, body []byte, stream bool) (string, []byte, error)
	// streamAccept is the Accept of a streamed request when the format's
	// streams are not SSE (Bedrock's AWS event stream); nil: SSE.
	streamAccept []string
}

// ModelFormat is a set of upstream models (patterns with '*') and the
// format a provider serves them in.
type ModelFormat struct {
	Models []string
	Format Format
}

// Path is the path below the base URL for an operation on model: the
// operation's own path for most providers, a deployment URL for Azure.
func (p *Provider) Path(op, model string) string {
	if p.path == nil {
		return op
	}
	return p.path(op, model)
}

// FormatFor is the format an attempt on upstream model should be
// translated to: the provider's own, or that of the first ModelFormats
// entry that names the model (the Responses API for a model that speaks
// nothing else, Anthropic Messages for Claude on Vertex AI).
func (p *Provider) FormatFor(model string) Format {
	for i := range p.ModelFormats {
		for _, pat := range p.ModelFormats[i].Models {
			if wildcard.Match(pat, model) {
				return p.ModelFormats[i].Format
			}
		}
	}
	return p.Format
}

// Speaks reports whether a request in format f for upstream model can go
// to this provider as it is (passthrough): f is the provider's format and
// the model is not Responses-only, or f is the Responses API and the
// provider speaks it.
func (p *Provider) Speaks(f Format, model string) bool {
	if f == FormatResponses {
		return p.Responses
	}
	return f != 0 && f == p.FormatFor(model)
}

// Builder makes a Provider from its config and the shared transport.
type Builder func(cfg *config.Provider, shared http.RoundTripper) (*Provider, error)

// Registry maps a provider type to its builder. It is the one place that
// lists the built-in types; adding a provider is one package plus one line.
func Registry() map[string]Builder {
	return map[string]Builder{
		"openai":    newOpenAI,
		"anthropic": newAnthropic,
		"gemini":    newGemini,
		"azure":     newAzure,
		"vertex":    newVertex,
		"bedrock":   newBedrock,
		"mock":      newMock,
	}
}

// Build makes every configured provider. A type the config language knows
// but this binary has no adapter for is an error for a provider from the
// file, and is skipped (reported in skipped) for one derived from the environment.
func Build(cfg *config.Config, shared http.RoundTripper) (ps map[string]*Provider, skipped []string, err error) {
	reg := Registry()
	ps = make(map[string]*Provider, len(cfg.Providers))
	for i := range cfg.Providers {
		pc := &cfg.Providers[i]
		b, ok := reg[pc.Type]
		if !ok {
			if pc.FromEnv {
				skipped = append(skipped, pc.Name)
				continue
			}
			types := make([]string, 0, len(reg))
			for t := range reg {
				types = append(types, t)
			}
			sort.Strings(types)
			return nil, nil, fmt.Errorf("%s: providers[%d] (%s): type %q is not built into this version of switchyard; use one of %s",
				cfg.Source, i, pc.Name, pc.Type, strings.Join(types, ", "))
		}
		p, err := b(pc, shared)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: providers[%d] (%s): %w", cfg.Source, i, pc.Name, err)
		}
		ps[pc.Name] = p
	}
	return ps, skipped, nil
}

// NewTransport is the transport shared by every network upstream: pooled
// keep-alive connections sized for a gateway, HTTP/2 where offered.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2048,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// NewRequest builds a POST of body to path below the base URL, with the
// provider's configured headers and nothing from the client, and signs it
// (the provider's Signer, once). A signing failure is a *SignError. The
// body first gets the request adjustments of the provider's preset.
func (p *Provider) NewRequest(ctx context.Context, path string, body []byte, stream bool, requestID string) (*http.Request, error) {
	body = p.quirks.adjust(body)
	if p.envelope != nil {
		var err error
		if path, body, err = p.envelope(path, body, stream); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	accept := hvJSON
	if stream {
		accept = hvEventStream
		if p.streamAccept != nil {
			accept = p.streamAccept
		}
	}
	p.setHeaders(req.Header, hvJSON, accept, requestID)
	if err := p.sign(req, body); err != nil {
		return nil, err
	}
	return req, nil
}

// NewStreamRequest builds a POST of path whose body streams from body (a
// multipart upload, of contentType) as the upstream reads it. It is signed
// like NewRequest's but without the body: the OpenAI-format signers (a
// header) do not read it. The body quirks of a preset do not apply (they
// edit JSON).
func (p *Provider) NewStreamRequest(ctx context.Context, path string, body io.Reader, contentType, requestID string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	p.setHeaders(req.Header, []string{contentType}, hvAny, requestID)
	if err := p.sign(req, nil); err != nil {
		return nil, err
	}
	return req, nil
}

// setHeaders sets the provider's headers and the request's own on h.
func (p *Provider) setHeaders(h http.Header, contentType, accept []string, requestID string) {
	for k, v := range p.headers {
		h[k] = v
	}
	// Shared, never-mutated value slices: Header.Set would allocate one
	// per header per request.
	h["Content-Type"] = contentType
	h["Accept"] = accept
	h["User-Agent"] = hvUserAgent
	if requestID != "" {
		h["X-Request-Id"] = []string{requestID}
	}
}

// sign signs req with the provider's signer; a failure is a *SignError.
func (p *Provider) sign(req *http.Request, body []byte) error {
	if p.Signer == nil {
		return &SignError{Err: errNoSigner}
	}
	if err := p.Signer.Sign(req, body); err != nil {
		return &SignError{Err: err}
	}
	return nil
}

var errNoSigner = errors.New("the provider has no signer (a bug in its builder)")

var (
	hvJSON        = []string{"application/json"}
	hvEventStream = []string{"text/event-stream"}
	hvAny         = []string{"*/*"}
	hvUserAgent   = []string{"switchyard"}
)

// Get builds a GET of path below the base URL, signed like NewRequest's.
func (p *Provider) Get(ctx context.Context, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.BaseURL+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range p.headers {
		req.Header[k] = v
	}
	if err := p.sign(req, nil); err != nil {
		return nil, err
	}
	return req, nil
}

// Do sends req with the provider's transport.
func (p *Provider) Do(req *http.Request) (*http.Response, error) { return p.rt.RoundTrip(req) }

// Scrub removes the provider's credential from text that came back from the
// upstream (an error message), so it can never be echoed to a client.
func (p *Provider) Scrub(s string) string {
	if sc, ok := p.Signer.(scrubber); ok {
		s = sc.Scrub(s)
	}
	if p.secret == "" || len(p.secret) < 4 {
		return s
	}
	return strings.ReplaceAll(s, p.secret, "[redacted]")
}

// scrubber is a Signer whose credential changes (a token): Scrub redacts
// the current one.
type scrubber interface{ Scrub(string) string }

func headersOf(cfg *config.Provider) http.Header {
	h := make(http.Header, len(cfg.Headers))
	for k, v := range cfg.Headers {
		h.Set(k, v)
	}
	return h
}
