package provider

import (
	"net/http"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// newOpenAI builds an OpenAI-compatible provider: OpenAI itself, DeepSeek,
// GLM, Kimi, Doubao, OpenRouter, vLLM, Ollama — anything that serves
// /chat/completions under its base URL with a Bearer key.
func newOpenAI(cfg *config.Provider, shared http.RoundTripper) (*Provider, error) {
	return &Provider{
		Name:    cfg.Name,
		Type:    cfg.Type,
		Format:  FormatOpenAI,
		BaseURL: strings.TrimRight(cfg.BaseURL, "/"),
		Timeout: cfg.Timeout,
		Models:  cfg.Models,
		client:  &http.Client{Transport: shared, CheckRedirect: noRedirect},
		secret:  cfg.APIKey.Reveal(),
		auth:    func(h http.Header, s string) { h.Set("Authorization", "Bearer "+s) },
		headers: headersOf(cfg),
	}, nil
}

// noRedirect stops the client from following redirects: a redirect would
// resend the provider's credential to wherever the upstream points.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
