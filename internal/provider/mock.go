package provider

import (
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/provider/mock"
)

// newMock builds the built-in simulated model. It speaks the OpenAI wire
// format through an in-process transport, so requests to it take exactly the
// path a real OpenAI-compatible upstream's would, minus the socket.
func newMock(cfg *config.Provider, _ http.RoundTripper) (*Provider, error) {
	models := cfg.Models
	if len(models) == 0 {
		models = DemoModels
	}
	h := mock.NewHandler(mock.Options{
		Latency:    cfg.Mock.Latency,
		ChunkDelay: cfg.Mock.ChunkDelay,
		Words:      cfg.Mock.Words,
		Models:     models,
	})
	return &Provider{
		Name:             cfg.Name,
		Type:             cfg.Type,
		Format:           FormatOpenAI,
		BaseURL:          "http://mock.invalid/v1",
		Timeout:          cfg.Timeout,
		FirstByteTimeout: cfg.FirstByteTimeout,
		IdleTimeout:      cfg.IdleTimeout,
		Models:           models,
		rt:               mock.NewTransport(h),
		Signer:           Unsigned{},
		headers:          headersOf(cfg),
	}, nil
}

// DemoModels are the names the zero-config mock lists in GET /models, so a
// new user's first `curl /v1/models` shows familiar ids. Any name works.
var DemoModels = []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash", "deepseek-chat", "glm-5", "mock-1"}
