package provider

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// newOpenAI builds an OpenAI-compatible provider: OpenAI itself, DeepSeek,
// GLM, Kimi, Doubao, OpenRouter, vLLM, Ollama — anything that serves
// /chat/completions under its base URL with a Bearer key; with responses
// set (OpenAI's own API by default) also /responses.
func newOpenAI(cfg *config.Provider, shared http.RoundTripper) (*Provider, error) {
	responses := cfg.Responses != nil && *cfg.Responses
	var mf []ModelFormat
	if responses && len(cfg.ResponsesOnlyModels) > 0 {
		mf = []ModelFormat{{Models: cfg.ResponsesOnlyModels, Format: FormatResponses}}
	}
	return &Provider{
		Name:             cfg.Name,
		Type:             cfg.Type,
		Format:           FormatOpenAI,
		BaseURL:          strings.TrimRight(cfg.BaseURL, "/"),
		Timeout:          cfg.Timeout,
		FirstByteTimeout: cfg.FirstByteTimeout,
		IdleTimeout:      cfg.IdleTimeout,
		Models:           cfg.Models,
		Responses:        responses,
		ModelFormats:     mf,
		rt:               transportFor(cfg, shared),
		secret:           cfg.APIKey.Reveal(),
		Signer:           StaticHeader("Authorization", "Bearer ", cfg.APIKey.Reveal()),
		headers:          headersOf(cfg),
		quirks:           quirksOf(cfg),
	}, nil
}

// transportFor is the shared transport, or for a provider with its own
// connect_timeout a clone of it that dials with that timeout.
func transportFor(cfg *config.Provider, shared http.RoundTripper) http.RoundTripper {
	t, ok := shared.(*http.Transport)
	if cfg.ConnectTimeout <= 0 || !ok {
		return shared
	}
	c := t.Clone()
	c.DialContext = (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	return c
}
