// Package config turns a YAML file and the environment into a validated Config.
//
// The lifecycle is strict decode (unknown keys are errors) with ${VAR}
// interpolation → providers from the standard *_API_KEY variables (or the
// built-in mock when there are none at all) → defaults → Validate, which
// reports every problem at once with its path and line.
// The environment is read in exactly one place: the Env passed to Load.
package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// Config is the whole gateway configuration.
type Config struct {
	// Source names where the config came from: a file path, or "(defaults)".
	Source    string     `yaml:"-"`
	Server    Server     `yaml:"server"`
	Storage   Storage    `yaml:"storage"`
	Billing   Billing    `yaml:"billing"`
	Providers []Provider `yaml:"providers"`
	Models    []Model    `yaml:"models"`
	Routing   Routing    `yaml:"routing"`
	Security  Security   `yaml:"security"`
	Console   Console    `yaml:"console"`
}

// Console configures the web console (docs/configuration.md).
type Console struct {
	Registration Registration `yaml:"registration"`
	// Rankings is who sees the Rankings page: "public" (anyone, without
	// signing in: every account's traffic, as model and app names with
	// token totals), "members" (each signed-in account its own, the
	// admin all; the default) or "off".
	Rankings string `yaml:"rankings"`
}

// Values of Console.Rankings.
const (
	RankingsPublic  = "public"
	RankingsMembers = "members"
	RankingsOff     = "off"
)

// Registration is self-registration of console users
// (POST /api/v1/users/register, and the console's sign-up form).
type Registration struct {
	// Enabled lets anyone who can reach the gateway register; off by default.
	Enabled bool `yaml:"enabled"`
	// InvitationCodes, when any, are the codes one of which a registration
	// must give.
	InvitationCodes []Secret `yaml:"invitation_codes"`
	// StartingCredits are the credits (USD) of a registered user's new
	// account, which is metered; 0 by default: the operator tops it up.
	StartingCredits money.Nanos `yaml:"starting_credits"`
}

// Security holds settings of the gateway's own defences (docs/security.md).
type Security struct {
	SecretScanning SecretScanning `yaml:"secret_scanning"`
	// SecretKeyFile holds the secret key that seals provider keys stored
	// through the API (32 bytes in base64); $SWITCHYARD_SECRET_KEY is the
	// alternative. OldSecretKeyFile (or $SWITCHYARD_SECRET_KEY_OLD) is the
	// key being rotated away from: it still opens what it sealed.
	SecretKeyFile    string `yaml:"secret_key_file"`
	OldSecretKeyFile string `yaml:"old_secret_key_file"`
	// SecretKey and OldSecretKey are the environment's values.
	SecretKey    Secret `yaml:"-"`
	OldSecretKey Secret `yaml:"-"`
	OAuth        OAuth  `yaml:"oauth"`
}

// OAuth configures the PKCE flow by which apps get keys (docs/oauth.md).
type OAuth struct {
	// CodeTTL is how long an authorization code may be exchanged.
	CodeTTL time.Duration `yaml:"code_ttl"`
	// AllowPlain accepts code_challenge_method plain (the challenge is the
	// verifier itself); off, only S256 is accepted.
	AllowPlain bool `yaml:"allow_plain"`
}

// SecretScanning configures leak reports from GitHub secret scanning
// (POST /api/v1/secret-scanning/report). Without public keys every report
// is refused.
type SecretScanning struct {
	// PublicKeys are the keys GitHub signs reports with, as published at
	// https://api.github.com/meta/public_keys/secret_scanning
	// (key_identifier → id, key → pem).
	PublicKeys []SigningKey `yaml:"public_keys"`
}

// SigningKey is one ECDSA P-256 public key, named by the identifier a
// report's Github-Public-Key-Identifier header carries.
type SigningKey struct {
	ID  string `yaml:"id"`
	PEM string `yaml:"pem"`
}

// ECDSA parses k.PEM as an ECDSA P-256 public key ("PUBLIC KEY" block,
// PKIX form).
func (k SigningKey) ECDSA() (*ecdsa.PublicKey, error) {
	block, rest := pem.Decode([]byte(k.PEM))
	if block == nil {
		return nil, errors.New("no PEM block; paste the whole key, from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY-----")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("more than one PEM block; give each key its own entry")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("a %q PEM block; want a PUBLIC KEY block", block.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a public key: %v", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 public key (GitHub signs reports with P-256)")
	}
	return ec, nil
}

// Routing tunes route health (docs/routing.md). It is read when the
// gateway starts: health state outlives reloads, and so do these.
type Routing struct {
	// MaxTrackedRoutes caps the provider/model circuit breakers kept in
	// memory (clients can invent model names under a pattern route); past
	// it the least recently used healthy ones are forgotten first. Default 10000.
	MaxTrackedRoutes int `yaml:"max_tracked_routes"`
	// AuthFailures is how many consecutive credential refusals (401, or a
	// 403 the provider attributes to the key) disable a route. Default 3.
	AuthFailures int `yaml:"auth_failures"`
	// AuthCooldown is how long a disabled route waits before one probe
	// request tests the credential again. Default 5m.
	AuthCooldown time.Duration `yaml:"auth_cooldown"`
}

// Server is the HTTP front.
type Server struct {
	Listen string `yaml:"listen"` // default 127.0.0.1:8080
	// AdminKey, when set, is an admin key accepted in addition to the one
	// generated on first start.
	AdminKey     Secret `yaml:"admin_key"`
	MaxBodyBytes int64  `yaml:"max_body_bytes"` // default 32 MiB
	// EndpointMaxBodyBytes bounds the request body of the endpoints it
	// names (their path below /v1, one of BodyLimitEndpoints) in place of
	// MaxBodyBytes. The multipart endpoints have defaults
	// (DefaultEndpointMaxBodyBytes); every other endpoint takes
	// MaxBodyBytes unless listed.
	EndpointMaxBodyBytes map[string]int64 `yaml:"endpoint_max_body_bytes"`
	DrainTimeout         time.Duration    `yaml:"drain_timeout"` // default 30s
	// SSEKeepAlive is the longest upstream silence before the gateway sends a
	// ": keep-alive" comment to a streaming client. Default 15s.
	SSEKeepAlive time.Duration `yaml:"sse_keepalive"`
	// AccessLog is "on" (default: one JSON "generation" line per model
	// request on stderr) or "off" (the ledger still records every request).
	AccessLog string `yaml:"access_log"`
	// MaxJSONDepth bounds how deeply a client's JSON body may nest arrays
	// and objects (default 128); deeper bodies are a 400 before any parser
	// sees them.
	MaxJSONDepth int `yaml:"max_json_depth"`
	// MaxUpstreamBodyBytes bounds a whole (non-streamed) upstream answer
	// (default 64 MiB); a larger one is a 502.
	MaxUpstreamBodyBytes int64 `yaml:"max_upstream_body_bytes"`
	// MaxStreamBytes bounds the bytes read from one upstream stream (default
	// 256 MiB); past it the stream ends with an error chunk.
	MaxStreamBytes int64 `yaml:"max_stream_bytes"`
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// BodyReadTimeout and BodyMinRate bound reading a request body: it must
	// arrive within BodyReadTimeout plus its size at BodyMinRate bytes per
	// second, or the request gets 408 and the connection is closed, so a
	// client trickling bytes cannot hold a connection for ever. Defaults 30s
	// and 65536 (64 KiB/s).
	BodyReadTimeout time.Duration `yaml:"body_read_timeout"`
	BodyMinRate     int64         `yaml:"body_min_rate"`
	// StreamWriteTimeout bounds one write of a stream to a client that does
	// not read: past it the stream ends as cancelled and its upstream call
	// is released. Default 60s.
	StreamWriteTimeout time.Duration `yaml:"stream_write_timeout"`
	// MaxConnections and MaxConnectionsPerIP cap open client connections in
	// total and per source address (IPv6: per /64); a connection over
	// either is answered 503 and closed. Defaults 10000 and 256; -1 means
	// no limit.
	MaxConnections      int `yaml:"max_connections"`
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// TLS serves HTTPS with the certificate and key in these PEM files,
	// read again on SIGHUP (renewals need no restart). Both or neither.
	TLS TLS `yaml:"tls"`
	// CORS lets browser apps on other origins call the API with their own
	// keys. Off unless origins are listed.
	CORS CORS `yaml:"cors"`
	// TrustedProxies are the addresses (IPs or CIDRs) of load balancers in
	// front of the gateway: from them, the client's address is taken from
	// X-Forwarded-For (the last address not itself a trusted proxy). It is
	// the address per-address limits count (failed authentications,
	// console sign-ins). Empty: the connection's peer, always.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// AuthFailuresPerMinute is how many failed authentications (401s) one
	// client address may cause in a minute; past it every request from
	// that address is answered 429 until the minute ends, so a key cannot
	// be guessed at line rate. Default 60; -1 means no limit.
	AuthFailuresPerMinute int `yaml:"auth_failures_per_minute"`
}

// TLS names the PEM files of the server's certificate (with its chain) and
// private key.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled says whether the server speaks HTTPS.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// CORS configures cross-origin requests to the API (not the console).
type CORS struct {
	// AllowedOrigins are origins ("https://app.example.com") whose pages
	// may call the API; "*" allows every origin. Empty: CORS off (no
	// Access-Control-* headers, preflights refused).
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxAge is how long a browser may cache a preflight's answer.
	// Default 10m.
	MaxAge time.Duration `yaml:"max_age"`
}

// Storage says where state lives.
type Storage struct {
	// Database is sqlite://PATH or postgres://... Default sqlite://$SWITCHYARD_DATA/switchyard.db,
	// or sqlite://./switchyard.db.
	Database string `yaml:"database"`
	Redis    string `yaml:"redis"`
	// RetentionDays keeps raw generation records this many days; 0 keeps
	// them forever. Usage rollups and ledger entries are always kept.
	RetentionDays int `yaml:"retention_days"`
	// ResponsesRetentionDays keeps a stored Responses API answer (store:
	// true, the default) this many days for GET /responses/{id} and
	// previous_response_id; default 30, -1 keeps them until deleted.
	ResponsesRetentionDays int `yaml:"responses_retention_days"`
	// LedgerSpool is the file that keeps generation records and charges
	// while the database is unreachable, drained when it is back. Default
	// $SWITCHYARD_DATA/switchyard.ledger-spool (or ./switchyard.ledger-spool);
	// "off" disables it (records then wait in memory and, once the queue
	// is full, requests wait).
	LedgerSpool string `yaml:"ledger_spool"`
	// LedgerSpoolMaxBytes bounds the spool; default 256 MiB. When it is
	// full and the database still down, metered requests are refused (503
	// ledger_unavailable).
	LedgerSpoolMaxBytes int64 `yaml:"ledger_spool_max_bytes"`
}

// Billing holds gateway-wide pricing policy.
type Billing struct {
	// Unpriced is "free" (default) or "reject": what to do with a model that has no price.
	Unpriced string `yaml:"unpriced"`
}

// Provider is one upstream account at one base URL.
type Provider struct {
	Name    string `yaml:"name"`
	Type    string `yaml:"type"` // openai | anthropic | gemini | azure | vertex | bedrock | mock
	BaseURL string `yaml:"base_url"`
	APIKey  Secret `yaml:"api_key"`
	// Preset names an OpenAI-compatible service (Presets: deepseek, groq,
	// ollama...): type openai, its base URL, default patterns and quirk
	// handling. type and base_url may still be given (a regional endpoint).
	Preset string `yaml:"preset"`
	// Timeout bounds a whole upstream call. Default 600s.
	Timeout time.Duration `yaml:"timeout"`
	// ConnectTimeout bounds dialing the upstream (default 10s).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// FirstByteTimeout bounds the wait for the answer to start: response
	// headers, and for streams the first event. 0: only Timeout applies.
	// Past it the request fails over to the next route.
	FirstByteTimeout time.Duration `yaml:"first_byte_timeout"`
	// IdleTimeout bounds the silence between two stream events. 0: none.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// Headers are extra headers sent with every upstream request (OpenRouter's
	// HTTP-Referer, an org id). Values may use ${VAR}.
	Headers map[string]string `yaml:"headers"`
	// Models are upstream model ids this provider exposes by name in GET /models
	// (as "NAME/MODEL"), in addition to the catalogue.
	Models []string `yaml:"models"`
	// APIVersion is Azure's api-version query parameter.
	APIVersion string `yaml:"api_version"`
	// Region is the AWS region of a bedrock provider ("us-east-1"): its
	// default base_url and the region requests are signed for.
	Region string `yaml:"region"`
	// AccessKeyID, SecretAccessKey and SessionToken are a bedrock
	// provider's AWS credentials, signed with SigV4. Absent (and no
	// api_key, a Bedrock API key): the standard AWS credential chain
	// (environment, shared config and credentials files, SSO, web
	// identity, container and instance roles).
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey Secret `yaml:"secret_access_key"`
	SessionToken    Secret `yaml:"session_token"`
	// Responses says the provider also serves OpenAI's Responses API
	// ({base_url}/responses), so Responses clients are served by
	// passthrough and built-in tools reach it. Type openai only; absent:
	// true when base_url is OpenAI's own (api.openai.com), else false.
	Responses *bool `yaml:"responses"`
	// ResponsesOnlyModels are upstream model ids (patterns with '*') that
	// the provider serves only through the Responses API: every client
	// dialect reaches them translated to it. Needs responses; absent on
	// OpenAI's own base URL: DefaultResponsesOnlyModels.
	ResponsesOnlyModels []string `yaml:"responses_only_models"`
	// Project and Location are the Google Cloud project and region
	// ("us-central1", or "global") of a vertex provider: its requests go to
	// /v1/projects/{project}/locations/{location}/publishers/…, and its
	// default base_url is https://{location}-aiplatform.googleapis.com
	// (https://aiplatform.googleapis.com for global). Type vertex only.
	Project  string `yaml:"project"`
	Location string `yaml:"location"`
	// CredentialsFile is a Google service-account JSON key (or another
	// Google credential file: authorized_user, external_account) that a
	// vertex provider gets its OAuth tokens with; absent: Application
	// Default Credentials. Type vertex only.
	CredentialsFile string `yaml:"credentials_file"`
	// AnthropicModels are the upstream model ids (patterns with '*') a
	// vertex provider serves from the anthropic publisher (Claude, in the
	// Anthropic Messages format through rawPredict); every other model is
	// Google's (Gemini, generateContent). Type vertex only; absent:
	// DefaultVertexAnthropicModels.
	AnthropicModels []string `yaml:"anthropic_models"`
	// Mock tunes the built-in simulated model (type mock only).
	Mock MockOptions `yaml:"mock"`
	// Pricing is the default price of models served by this provider that
	// have no catalogue price of their own (PROVIDER/MODEL names, patterns).
	Pricing *Pricing `yaml:"pricing"`
	// FromEnv is true for providers created from *_API_KEY variables.
	FromEnv bool `yaml:"-"`
}

// MockOptions tunes the simulated model.
type MockOptions struct {
	Latency    time.Duration `yaml:"latency"`     // delay before the first byte
	ChunkDelay time.Duration `yaml:"chunk_delay"` // delay between stream chunks
	Words      int           `yaml:"words"`       // words in an answer when max_tokens is not smaller; default 12
}

// Model is one public catalogue entry. ID may be a pattern with '*' ("gpt-*", "*").
type Model struct {
	ID              string   `yaml:"id"`
	Aliases         []string `yaml:"aliases"`
	OwnedBy         string   `yaml:"owned_by"`
	ContextLength   int      `yaml:"context_length"`
	MaxOutputTokens int      `yaml:"max_output_tokens"`
	Pricing         *Pricing `yaml:"pricing"`
	Routes          []Route  `yaml:"routes"`
	Fallbacks       []string `yaml:"fallbacks"`
	// Strategy picks among routes of equal priority: weighted (default),
	// least-latency (EWMA of time to first byte) or least-busy (in flight).
	Strategy string `yaml:"strategy"`
}

// Pricing is USD per 1M tokens, held exactly.
type Pricing struct {
	Prompt       money.Nanos `yaml:"prompt"`
	Completion   money.Nanos `yaml:"completion"`
	CachedPrompt money.Nanos `yaml:"cached_prompt"`
	CacheWrite   money.Nanos `yaml:"cache_write"`
	// The per-unit prices of the endpoints that are not priced by tokens
	// alone (images, moderations, rerank), in USD per unit; added to the
	// tokens' price when the upstream reports usage.
	//
	// PerRequest is charged once per successful request.
	PerRequest money.Nanos `yaml:"per_request"`
	// Images is the price of one generated image, keyed "SIZE/QUALITY"
	// ("1024x1024/hd"), "SIZE" ("1024x1024") or "default", tried in that
	// order.
	Images map[string]money.Nanos `yaml:"images"`
	// SearchUnit is the price of one rerank search unit: one query over
	// up to 100 documents.
	SearchUnit money.Nanos `yaml:"search_unit"`
	// Characters is the price of 1M characters of text to speak
	// (POST /audio/speech), as OpenAI prices tts-1.
	Characters money.Nanos `yaml:"characters"`
	// PerMinute is the price of one minute of audio transcribed or
	// translated (POST /audio/transcriptions and /audio/translations), as
	// OpenAI prices whisper-1; charged by the second, rounded up.
	PerMinute money.Nanos `yaml:"per_minute"`
}

// ImagePrice is the price of one image of size and quality: the most
// specific key of Images that is set. ok is false when none is.
func (p *Pricing) ImagePrice(size, quality string) (money.Nanos, bool) {
	if p == nil || len(p.Images) == 0 {
		return 0, false
	}
	for _, k := range [...]string{size + "/" + quality, size, "default"} {
		if v, ok := p.Images[k]; ok {
			return v, true
		}
	}
	return 0, false
}

// MaxImagePrice is the highest image price in Images (0 if none): the
// worst case of a request whose size or quality the upstream chooses.
func (p *Pricing) MaxImagePrice() money.Nanos {
	var m money.Nanos
	if p != nil {
		for _, v := range p.Images {
			m = max(m, v)
		}
	}
	return m
}

// BodyLimit is the most bytes a request body to endpoint (a path below
// /v1, such as "/audio/transcriptions") may hold.
func (s *Server) BodyLimit(endpoint string) int64 {
	if n, ok := s.EndpointMaxBodyBytes[endpoint]; ok {
		return n
	}
	return s.MaxBodyBytes
}

// BodyLimitEndpoints are the endpoints server.endpoint_max_body_bytes may
// name: every model endpoint that reads a body, by its path below /v1.
// (Gemini's …/models/MODEL:METHOD take server.max_body_bytes.)
var BodyLimitEndpoints = []string{
	"/chat/completions", "/completions", "/embeddings", "/images/generations", "/images/edits",
	"/moderations", "/rerank", "/audio/speech", "/audio/transcriptions", "/audio/translations",
	"/responses", "/messages", "/messages/count_tokens",
}

// Route sends a catalogue model to one provider.
type Route struct {
	Provider string `yaml:"provider"`
	// Model is the upstream model id; empty means the requested name.
	Model    string        `yaml:"model"`
	Weight   int           `yaml:"weight"`   // default 1
	Priority int           `yaml:"priority"` // lower first; default 0
	Timeout  time.Duration `yaml:"timeout"`
	// FirstByteTimeout and IdleTimeout override the provider's for this route.
	FirstByteTimeout time.Duration `yaml:"first_byte_timeout"`
	IdleTimeout      time.Duration `yaml:"idle_timeout"`
}

// Secret is a credential. It prints redacted so it cannot leak through logs,
// errors or %v; Reveal returns the value for the one place that sends it.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String redacts.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON redacts.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalYAML redacts, so a config dumped back to YAML carries no credential.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// LogValue redacts for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Format redacts under every verb (%s, %q, %x, %d...), not only the ones
// that consult String and GoString.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		io.WriteString(f, strconv.Quote(s.String()))
		return
	}
	io.WriteString(f, s.String())
}

// IsPattern reports whether the entry's id is a pattern ("gpt-*", "*") that
// routes every matching name rather than one exact name.
func (m *Model) IsPattern() bool { return strings.Contains(m.ID, "*") }

// Provider returns the provider called name.
func (c *Config) Provider(name string) (*Provider, bool) {
	for i := range c.Providers {
		if c.Providers[i].Name == name {
			return &c.Providers[i], true
		}
	}
	return nil, false
}

// ProviderTypes lists the provider types the config language knows.
var ProviderTypes = []string{"openai", "anthropic", "gemini", "azure", "vertex", "bedrock", "mock"}
