package provider

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// vertexAnthropicVersion is the Messages API version Claude on Vertex AI
// takes, in the body ("anthropic_version") rather than a header.
const vertexAnthropicVersion = "vertex-2023-10-16"

// newVertex builds a Google Vertex AI provider. One provider serves two
// publishers of the project's location, chosen by the upstream model:
//
//   - Google's Gemini models in the Gemini format, at
//     /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent
//     (:streamGenerateContent?alt=sse for a stream);
//   - the models matching anthropic_models (default claude-*) in the
//     Anthropic Messages format, at …/publishers/anthropic/models/{m}:rawPredict
//     (:streamRawPredict), with the body's "model" removed (the path names
//     it) and "anthropic_version": "vertex-2023-10-16" in its place.
//
// Requests carry "Authorization: Bearer" with an OAuth token of the
// configured credentials (credentials_file, else Application Default
// Credentials), refreshed before it expires (BearerSigner).
func newVertex(cfg *config.Provider, shared http.RoundTripper) (*Provider, error) {
	if cfg.Project == "" || cfg.Location == "" {
		return nil, errors.New("type vertex needs project and location")
	}
	signer, err := googleSigner(cfg, shared)
	if err != nil {
		return nil, err
	}
	prefix := "/v1/projects/" + url.PathEscape(cfg.Project) + "/locations/" + url.PathEscape(cfg.Location) + "/publishers/"
	base := strings.TrimRight(cfg.BaseURL, "/")
	base = strings.TrimSuffix(base, "/v1")
	return &Provider{
		Name:             cfg.Name,
		Type:             cfg.Type,
		Format:           FormatGemini,
		ModelFormats:     []ModelFormat{{Models: cfg.AnthropicModels, Format: FormatAnthropic}},
		BaseURL:          base,
		Timeout:          cfg.Timeout,
		FirstByteTimeout: cfg.FirstByteTimeout,
		IdleTimeout:      cfg.IdleTimeout,
		Models:           cfg.Models,
		rt:               transportFor(cfg, shared),
		Signer:           signer,
		headers:          headersOf(cfg),
		path:             func(op, model string) string { return vertexPath(prefix, op, model) },
		envelope:         vertexEnvelope,
	}, nil
}

// vertexPath maps an operation's path in the publisher's own API to its
// place on Vertex AI: a Gemini method (/v1beta/models/{m}:{method}) to
// publishers/google, the Messages API to publishers/anthropic's rawPredict
// (vertexEnvelope makes it streamRawPredict for a stream). Any other path
// stays as it is (and is not found upstream).
//
// The model is escaped as one path segment: a client may name any model
// as vertex/MODEL, and "../../projects/another/…" must not leave the
// configured project.
func vertexPath(prefix, op, model string) string {
	for _, v := range [...]string{"/v1beta/models/", "/v1/models/"} {
		if call, ok := strings.CutPrefix(op, v); ok {
			if method, ok := strings.CutPrefix(call, model+":"); ok && model != "" {
				return prefix + "google/models/" + url.PathEscape(model) + ":" + method
			}
			return prefix + "google/models/" + call
		}
	}
	if op == "/v1/messages" {
		return prefix + "anthropic/models/" + url.PathEscape(model) + rawPredict
	}
	return op
}

const (
	rawPredict       = ":rawPredict"
	streamRawPredict = ":streamRawPredict"
)

// vertexEnvelope puts a Messages request into Vertex AI's envelope: the
// streaming method for a stream, the model out of the body (the path
// names it) and the API version in (replacing any the client sent). A Gemini request needs nothing.
func vertexEnvelope(path string, body []byte, stream bool) (string, []byte, error) {
	if !strings.HasSuffix(path, rawPredict) || !strings.Contains(path, "/publishers/anthropic/") {
		return path, body, nil
	}
	if stream {
		path = strings.TrimSuffix(path, rawPredict) + streamRawPredict
	}
	var err error
	if gjson.GetBytes(body, "model").Exists() {
		if body, err = sjson.DeleteBytes(body, "model"); err != nil {
			return "", nil, errors.New("the request body is not a JSON object")
		}
	}
	// The one version Vertex AI takes, whatever a client's body says.
	if body, err = sjson.SetBytes(body, "anthropic_version", vertexAnthropicVersion); err != nil {
		return "", nil, errors.New("the request body is not a JSON object")
	}
	return path, body, nil
}
