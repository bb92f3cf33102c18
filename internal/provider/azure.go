package provider

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// newAzure builds an Azure OpenAI provider. Azure speaks the OpenAI wire
// format at a deployment URL: {base}/openai/deployments/{deployment}/
// chat/completions?api-version=…, with the key in an api-key header. The
// route's upstream model is the deployment name.
func newAzure(cfg *config.Provider, shared http.RoundTripper) (*Provider, error) {
	version := url.QueryEscape(cfg.APIVersion)
	base := strings.TrimRight(cfg.BaseURL, "/")
	// Accept a base URL pasted with the /openai suffix too.
	base = strings.TrimSuffix(base, "/openai")
	return &Provider{
		Name:             cfg.Name,
		Type:             cfg.Type,
		Format:           FormatOpenAI,
		BaseURL:          base,
		Timeout:          cfg.Timeout,
		FirstByteTimeout: cfg.FirstByteTimeout,
		IdleTimeout:      cfg.IdleTimeout,
		Models:           cfg.Models,
		rt:               transportFor(cfg, shared),
		secret:           cfg.APIKey.Reveal(),
		Signer:           StaticHeader("Api-Key", "", cfg.APIKey.Reveal()),
		headers:          headersOf(cfg),
		path: func(op, model string) string {
			return "/openai/deployments/" + url.PathEscape(model) + op + "?api-version=" + version
		},
	}, nil
}
