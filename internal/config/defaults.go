package config

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultEndpointMaxBodyBytes are the body limits of the multipart
// endpoints: OpenAI's own file limits (25 MB of audio; 50 MB of images
// for an edit) plus 1 MiB for the other fields and the multipart framing.
var DefaultEndpointMaxBodyBytes = map[string]int64{
	"/audio/transcriptions": 26 << 20,
	"/audio/translations":   26 << 20,
	"/images/edits":         51 << 20,
}

// Defaults for values the file leaves out. A zero value means "left out":
// writing 0 for a number or duration that has a default gets the default.
const (
	DefaultListen       = "127.0.0.1:8080"
	DefaultMaxBodyBytes = 32 << 20
	DefaultDrainTimeout = 30 * time.Second
	// DefaultAzureAPIVersion is used when an azure provider names none.
	DefaultAzureAPIVersion = "2024-10-21"
	DefaultSSEKeepAlive    = 15 * time.Second
	DefaultTimeout         = 600 * time.Second
	DefaultUnpriced        = "free"
	DefaultMockWords       = 12
	// DefaultMaxJSONDepth bounds client JSON nesting.
	DefaultMaxJSONDepth         = 128
	DefaultMaxUpstreamBodyBytes = 64 << 20
	DefaultMaxStreamBytes       = 256 << 20
	// Transport bounds of the HTTP server (docs/security.md).
	DefaultReadHeaderTimeout   = 10 * time.Second
	DefaultBodyReadTimeout     = 30 * time.Second
	DefaultBodyMinRate         = 64 << 10 // bytes per second
	DefaultStreamWriteTimeout  = 60 * time.Second
	DefaultMaxConnections      = 10000
	DefaultMaxConnectionsPerIP = 256
	// DefaultAuthFailuresPerMinute is server.auth_failures_per_minute's default.
	DefaultAuthFailuresPerMinute = 60
	// DefaultCORSMaxAge is server.cors.max_age's default.
	DefaultCORSMaxAge = 10 * time.Minute
	// Routing health (config.Routing).
	DefaultMaxTrackedRoutes = 10000
	DefaultAuthFailures     = 3
	DefaultAuthCooldown     = 5 * time.Minute
	// DefaultLedgerSpoolMaxBytes bounds the ledger spool.
	DefaultLedgerSpoolMaxBytes = 256 << 20
	// DefaultResponsesRetentionDays keeps stored Responses API answers.
	DefaultResponsesRetentionDays = 30
	// DefaultOAuthCodeTTL is how long an OAuth authorization code lives;
	// MaxOAuthCodeTTL bounds security.oauth.code_ttl.
	DefaultOAuthCodeTTL = 10 * time.Minute
	MaxOAuthCodeTTL     = time.Hour
)

// defaultBaseURLs are the public endpoints of the provider types that have
// one; azure has none (each resource has its own) and mock needs none.
var defaultBaseURLs = map[string]string{
	"openai":    "https://api.openai.com/v1",
	"anthropic": "https://api.anthropic.com",
	"gemini":    "https://generativelanguage.googleapis.com",
}

// DefaultVertexAnthropicModels are the models a vertex provider serves
// from the anthropic publisher when anthropic_models is absent: Claude,
// whose Vertex ids all start with "claude-" (claude-sonnet-4-5@20250929).
var DefaultVertexAnthropicModels = []string{"claude-*"}

// VertexBaseURL is the regional Vertex AI endpoint of location, and the
// global one for "global".
func VertexBaseURL(location string) string {
	if location == "global" {
		return "https://aiplatform.googleapis.com"
	}
	return "https://" + location + "-aiplatform.googleapis.com"
}

// DefaultResponsesOnlyModels are the OpenAI models served only by the
// Responses API (OpenAI's model pages list no Chat Completions endpoint for
// them): the default responses_only_models of a provider at api.openai.com.
var DefaultResponsesOnlyModels = []string{
	"o1-pro*", "o3-pro*", "o3-deep-research*", "o4-mini-deep-research*",
	"codex-mini*", "*-codex*", "computer-use-preview*",
}

// isOpenAIItself: OpenAI's own API serves the Responses API; an
// OpenAI-compatible server elsewhere may not, so it must say so.
func isOpenAIItself(p *Provider) bool {
	if p.Type != "openai" {
		return false
	}
	u, err := url.Parse(p.BaseURL)
	return err == nil && strings.EqualFold(u.Hostname(), "api.openai.com")
}

// envProviders are the providers the standard *_API_KEY variables create,
// in the order their pattern entries join the catalogue: the native types,
// then every preset with a variable prefix (Presets, ending with
// openrouter, whose catch-all "*" comes last so every more specific
// pattern is tried first).
var envProviders = func() []envProvider {
	out := []envProvider{
		{"openai", "openai", "OPENAI", "", "", []string{"gpt-*", "chatgpt-*", "o1*", "o3*", "o4*", "text-embedding-*"}},
		{"anthropic", "anthropic", "ANTHROPIC", "", "", []string{"claude-*"}},
		{"gemini", "gemini", "GEMINI", "", "", []string{"gemini-*"}},
	}
	for _, p := range Presets {
		if p.Env != "" {
			out = append(out, envProvider{p.Name, "openai", p.Env, p.BaseURL, p.Name, p.Patterns})
		}
	}
	return out
}()

type envProvider struct {
	name, typ, prefix, baseURL, preset string
	patterns                           []string
}

// envPrefix returns the variable prefix (OPENAI for OPENAI_API_KEY) of an
// environment-derived provider.
func envPrefix(name string) string {
	for _, e := range envProviders {
		if e.name == name {
			return e.prefix
		}
	}
	return strings.ToUpper(name)
}

// complete adds what the file did not say: providers from the environment,
// the zero-config mock, and defaults. It reports whether $SWITCHYARD_LISTEN
// replaced server.listen. This and Parse's ${VAR} expansion are the only
// readers of env.
func (c *Config) complete(env Env) (listenFromEnv bool) {
	for i := range c.Providers {
		c.Providers[i].applyPreset()
	}
	routed := c.presetsToRoute()
	c.addPresetPatterns(routed, false)
	c.addEnvProviders(env)
	c.addPresetPatterns(routed, true)
	if len(c.Providers) == 0 {
		// Nothing configured at all: serve every model name from the
		// simulated provider so a bare `switchyard serve` answers requests.
		c.Providers = append(c.Providers, Provider{Name: "mock", Type: "mock"})
		c.addPattern("*", "mock")
	}

	s := &c.Server
	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if v, ok := env("SWITCHYARD_SECRET_KEY"); ok && v != "" {
		c.Security.SecretKey = Secret(v)
	}
	if v, ok := env("SWITCHYARD_SECRET_KEY_OLD"); ok && v != "" {
		c.Security.OldSecretKey = Secret(v)
	}
	if v, ok := env("SWITCHYARD_LISTEN"); ok && v != "" {
		s.Listen, listenFromEnv = v, true
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	for k, n := range DefaultEndpointMaxBodyBytes {
		if _, ok := s.EndpointMaxBodyBytes[k]; !ok {
			if s.EndpointMaxBodyBytes == nil {
				s.EndpointMaxBodyBytes = make(map[string]int64, len(DefaultEndpointMaxBodyBytes))
			}
			s.EndpointMaxBodyBytes[k] = n
		}
	}
	if s.DrainTimeout == 0 {
		s.DrainTimeout = DefaultDrainTimeout
	}
	if s.SSEKeepAlive == 0 {
		s.SSEKeepAlive = DefaultSSEKeepAlive
	}
	if s.AccessLog == "" {
		s.AccessLog = "on"
	}
	if s.MaxJSONDepth == 0 {
		s.MaxJSONDepth = DefaultMaxJSONDepth
	}
	if s.MaxUpstreamBodyBytes == 0 {
		s.MaxUpstreamBodyBytes = DefaultMaxUpstreamBodyBytes
	}
	if s.MaxStreamBytes == 0 {
		s.MaxStreamBytes = DefaultMaxStreamBytes
	}
	if s.ReadHeaderTimeout == 0 {
		s.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if s.BodyReadTimeout == 0 {
		s.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if s.BodyMinRate == 0 {
		s.BodyMinRate = DefaultBodyMinRate
	}
	if s.StreamWriteTimeout == 0 {
		s.StreamWriteTimeout = DefaultStreamWriteTimeout
	}
	if s.MaxConnections == 0 {
		s.MaxConnections = DefaultMaxConnections
	}
	if s.MaxConnectionsPerIP == 0 {
		s.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
	if s.AuthFailuresPerMinute == 0 {
		s.AuthFailuresPerMinute = DefaultAuthFailuresPerMinute
	}
	if s.CORS.MaxAge == 0 {
		s.CORS.MaxAge = DefaultCORSMaxAge
	}
	dataDir := "."
	if v, ok := env("SWITCHYARD_DATA"); ok && v != "" {
		dataDir = strings.TrimRight(v, "/")
	}
	if c.Storage.Database == "" {
		c.Storage.Database = "sqlite://" + dataDir + "/switchyard.db"
	}
	if c.Storage.LedgerSpool == "" {
		c.Storage.LedgerSpool = dataDir + "/switchyard.ledger-spool"
	}
	if c.Storage.LedgerSpoolMaxBytes == 0 {
		c.Storage.LedgerSpoolMaxBytes = DefaultLedgerSpoolMaxBytes
	}
	if c.Storage.ResponsesRetentionDays == 0 {
		c.Storage.ResponsesRetentionDays = DefaultResponsesRetentionDays
	}
	if c.Billing.Unpriced == "" {
		c.Billing.Unpriced = DefaultUnpriced
	}
	if c.Routing.MaxTrackedRoutes == 0 {
		c.Routing.MaxTrackedRoutes = DefaultMaxTrackedRoutes
	}
	if c.Routing.AuthFailures == 0 {
		c.Routing.AuthFailures = DefaultAuthFailures
	}
	if c.Routing.AuthCooldown == 0 {
		c.Routing.AuthCooldown = DefaultAuthCooldown
	}
	if c.Console.Rankings == "" {
		c.Console.Rankings = RankingsMembers
	}
	if c.Security.OAuth.CodeTTL == 0 {
		c.Security.OAuth.CodeTTL = DefaultOAuthCodeTTL
	}
	for i := range c.Providers {
		c.Providers[i].complete()
	}
	for i := range c.Models {
		c.Models[i].complete()
	}
	return listenFromEnv
}

// addEnvProviders adds a provider for each standard *_API_KEY variable whose
// name the file does not already use, with pattern entries for its model
// families unless the catalogue already routes to it.
func (c *Config) addEnvProviders(env Env) {
	for _, e := range envProviders {
		key, _ := env(e.prefix + "_API_KEY")
		if key == "" {
			continue
		}
		if _, exists := c.Provider(e.name); exists {
			continue
		}
		base := e.baseURL
		if v, _ := env(e.prefix + "_BASE_URL"); v != "" {
			base = v
		}
		c.Providers = append(c.Providers, Provider{Name: e.name, Type: e.typ, Preset: e.preset, BaseURL: base, APIKey: Secret(key), FromEnv: true})
		if c.routesTo(e.name) {
			continue
		}
		for _, id := range e.patterns {
			c.addPattern(id, e.name)
		}
	}
}

func (c *Config) routesTo(provider string) bool {
	for _, m := range c.Models {
		for _, r := range m.Routes {
			if r.Provider == provider {
				return true
			}
		}
	}
	return false
}

// addPattern appends a catalogue entry routing id to provider, unless the
// catalogue already has that name (the file's entry wins).
func (c *Config) addPattern(id, provider string) {
	for _, m := range c.Models {
		if m.ID == id {
			return
		}
		for _, a := range m.Aliases {
			if a == id {
				return
			}
		}
	}
	c.Models = append(c.Models, Model{ID: id, Routes: []Route{{Provider: provider, Weight: 1}}})
}

// complete fills p's defaults (the file's providers and the API's alike).
func (p *Provider) complete() {
	p.applyPreset()
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	if p.BaseURL == "" {
		p.BaseURL = defaultBaseURLs[p.Type]
	}
	if p.Type == "vertex" {
		if p.BaseURL == "" && validLocation(p.Location) {
			p.BaseURL = VertexBaseURL(p.Location)
		}
		if p.AnthropicModels == nil {
			p.AnthropicModels = slices.Clone(DefaultVertexAnthropicModels)
		}
	}
	if p.Type == "bedrock" && p.BaseURL == "" && validRegion(p.Region) {
		p.BaseURL = "https://bedrock-runtime." + p.Region + ".amazonaws.com"
	}
	if isOpenAIItself(p) {
		if p.Responses == nil {
			on := true
			p.Responses = &on
		}
		if *p.Responses && p.ResponsesOnlyModels == nil {
			p.ResponsesOnlyModels = slices.Clone(DefaultResponsesOnlyModels)
		}
	}
	if p.Type == "azure" && p.APIVersion == "" {
		// Azure OpenAI's current GA data-plane version; SPEC §1's example omits it.
		p.APIVersion = DefaultAzureAPIVersion
	}
	if p.Type == "mock" && p.Mock.Words == 0 {
		p.Mock.Words = DefaultMockWords
	}
}

// complete fills m's defaults.
func (m *Model) complete() {
	for j := range m.Routes {
		if r := &m.Routes[j]; r.Weight == 0 {
			r.Weight = 1
		}
	}
}
