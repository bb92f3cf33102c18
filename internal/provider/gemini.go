package provider

import (
	"net/http"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// newGemini builds a Google Gemini (Generative Language API) provider: the
// key goes in x-goog-api-key (never in the URL, where proxies log it), and
// requests go to /v1beta/models/{model}:generateContent below the base URL.
func newGemini(cfg *config.Provider, shared http.RoundTripper) (*Provider, error) {
	return &Provider{
		Name:             cfg.Name,
		Type:             cfg.Type,
		Format:           FormatGemini,
		BaseURL:          trimVersion(cfg.BaseURL, "/v1beta", "/v1"),
		Timeout:          cfg.Timeout,
		FirstByteTimeout: cfg.FirstByteTimeout,
		IdleTimeout:      cfg.IdleTimeout,
		Models:           cfg.Models,
		rt:               transportFor(cfg, shared),
		secret:           cfg.APIKey.Reveal(),
		Signer:           StaticHeader("X-Goog-Api-Key", "", cfg.APIKey.Reveal()),
		headers:          headersOf(cfg),
	}, nil
}

// trimVersion drops a trailing slash and a trailing API version from a base
// URL: the codecs' paths name the version themselves, and operators often
// paste the URL with it ("https://api.anthropic.com/v1").
func trimVersion(base string, versions ...string) string {
	base = strings.TrimRight(base, "/")
	for _, v := range versions {
		if strings.HasSuffix(base, v) {
			return base[:len(base)-len(v)]
		}
	}
	return base
}
