package provider

import (
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// anthropicVersion is the Messages API version the codec speaks
// (https://docs.anthropic.com/en/api/versioning).
const anthropicVersion = "2023-06-01"

// newAnthropic builds an Anthropic Messages API provider: the key goes in
// x-api-key and every request names the API version.
func newAnthropic(cfg *config.Provider, shared http.RoundTripper) (*Provider, error) {
	h := headersOf(cfg)
	if h.Get("Anthropic-Version") == "" {
		h.Set("Anthropic-Version", anthropicVersion)
	}
	return &Provider{
		Name:             cfg.Name,
		Type:             cfg.Type,
		Format:           FormatAnthropic,
		BaseURL:          trimVersion(cfg.BaseURL, "/v1"),
		Timeout:          cfg.Timeout,
		FirstByteTimeout: cfg.FirstByteTimeout,
		IdleTimeout:      cfg.IdleTimeout,
		Models:           cfg.Models,
		rt:               transportFor(cfg, shared),
		secret:           cfg.APIKey.Reveal(),
		Signer:           StaticHeader("X-Api-Key", "", cfg.APIKey.Reveal()),
		headers:          h,
	}, nil
}
