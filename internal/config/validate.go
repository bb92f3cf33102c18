package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/apikey"
	"github.com/switchyard-gw/switchyard/internal/secretkey"
	"github.com/switchyard-gw/switchyard/internal/wildcard"
)

// providerName is what a provider may be called: ':' and '/' split
// "PROVIDER:MODEL" and "PROVIDER/MODEL", so they cannot appear in it.
var providerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Validate checks the whole config and reports every problem it finds, each
// with its path and a fix. It returns a *ValidationError, or nil.
// It does not apply defaults: Load and Parse do that before calling it.
func (c *Config) Validate() error {
	v := &validator{}
	v.server(&c.Server)
	v.storage(&c.Storage)
	v.billing(&c.Billing)
	names := v.providers(c.Providers)
	v.models(c.Models, names)
	v.routing(&c.Routing)
	v.security(&c.Security)
	v.console(&c.Console)
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Source: c.Source, Problems: c.scrub(v.problems)}
}

// scrub replaces every secret of c that occurs in a message. Messages quote
// values to be useful (a listen address, a scheme), and a value may have
// come from a ${VAR} that also feeds a credential.
func (c *Config) scrub(ps []Problem) []Problem {
	var secrets []string
	add := func(s Secret) {
		// Shorter values are not real credentials, and replacing them would
		// garble messages.
		if len(s) >= 4 {
			secrets = append(secrets, s.Reveal())
		}
	}
	add(c.Server.AdminKey)
	add(c.Security.SecretKey)
	add(c.Security.OldSecretKey)
	for _, code := range c.Console.Registration.InvitationCodes {
		add(code)
	}
	for i := range c.Providers {
		add(c.Providers[i].APIKey)
	}
	for i := range ps {
		for _, s := range secrets {
			ps[i].Message = strings.ReplaceAll(ps[i].Message, s, "[redacted]")
		}
	}
	return ps
}

type validator struct {
	problems []Problem
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) server(s *Server) {
	if k := s.AdminKey.Reveal(); strings.HasPrefix(k, apikey.Prefix) {
		// Such a key is checked against its checksum before any lookup,
		// so a made-up one would be refused at every request.
		if err := apikey.Check(k); err != nil {
			v.add("server.admin_key", "starts with %s but is not a valid key of that format (%v); use a key the gateway generated, or one that does not start with %s", apikey.Prefix, err, apikey.Prefix)
		}
	}
	host, port, err := net.SplitHostPort(s.Listen)
	switch {
	case err != nil:
		v.add("server.listen", "%q is not host:port; write e.g. \"127.0.0.1:8080\", \":8080\" or \"[::1]:8080\"", s.Listen)
	case !validPort(port):
		v.add("server.listen", "port %q is not a number from 0 to 65535; write e.g. \"%s:8080\"", port, host)
	}
	if s.MaxBodyBytes <= 0 {
		v.add("server.max_body_bytes", "must be a positive number of bytes, got %d; leave it out for the default %d (32 MiB)", s.MaxBodyBytes, DefaultMaxBodyBytes)
	}
	for k, n := range s.EndpointMaxBodyBytes {
		switch {
		case !slices.Contains(BodyLimitEndpoints, k):
			v.add("server.endpoint_max_body_bytes."+k, "is not an endpoint with a body limit; name one of %s", strings.Join(BodyLimitEndpoints, ", "))
		case n <= 0:
			v.add("server.endpoint_max_body_bytes."+k, "must be a positive number of bytes, got %d", n)
		}
	}
	if s.DrainTimeout < 0 {
		v.add("server.drain_timeout", "cannot be negative (%s); leave it out for the default %s", s.DrainTimeout, DefaultDrainTimeout)
	}
	if s.SSEKeepAlive < 0 {
		v.add("server.sse_keepalive", "cannot be negative (%s); leave it out for the default %s", s.SSEKeepAlive, DefaultSSEKeepAlive)
	}
	if s.AccessLog != "on" && s.AccessLog != "off" {
		v.add("server.access_log", "must be on or off, not %q", s.AccessLog)
	}
	if s.MaxJSONDepth < 0 || s.MaxJSONDepth > maxJSONDepth {
		v.add("server.max_json_depth", "must be from 1 to 10000 levels, got %d; leave it out for the default %d", s.MaxJSONDepth, DefaultMaxJSONDepth)
	}
	if s.MaxUpstreamBodyBytes < 0 {
		v.add("server.max_upstream_body_bytes", "must be a positive number of bytes, got %d; leave it out for the default %d (64 MiB)", s.MaxUpstreamBodyBytes, DefaultMaxUpstreamBodyBytes)
	}
	if s.MaxStreamBytes < 0 {
		v.add("server.max_stream_bytes", "must be a positive number of bytes, got %d; leave it out for the default %d (256 MiB)", s.MaxStreamBytes, DefaultMaxStreamBytes)
	}
	for _, d := range []struct {
		path     string
		val, def time.Duration
	}{
		{"server.read_header_timeout", s.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"server.body_read_timeout", s.BodyReadTimeout, DefaultBodyReadTimeout},
		{"server.stream_write_timeout", s.StreamWriteTimeout, DefaultStreamWriteTimeout},
	} {
		if d.val < 0 {
			v.add(d.path, "must be a positive duration, got %s; leave it out for the default %s", d.val, d.def)
		}
	}
	if s.BodyMinRate < 0 {
		v.add("server.body_min_rate", "must be a positive number of bytes per second, got %d; leave it out for the default %d (64 KiB/s)", s.BodyMinRate, DefaultBodyMinRate)
	}
	if s.MaxConnections < -1 {
		v.add("server.max_connections", "must be a positive number of connections or -1 for no limit, got %d; leave it out for the default %d", s.MaxConnections, DefaultMaxConnections)
	}
	if s.MaxConnectionsPerIP < -1 {
		v.add("server.max_connections_per_ip", "must be a positive number of connections or -1 for no limit, got %d; leave it out for the default %d", s.MaxConnectionsPerIP, DefaultMaxConnectionsPerIP)
	}
	if s.AuthFailuresPerMinute < -1 {
		v.add("server.auth_failures_per_minute", "must be a positive count or -1 for no limit, got %d; leave it out for the default %d", s.AuthFailuresPerMinute, DefaultAuthFailuresPerMinute)
	}
	v.tls(&s.TLS)
	for i, o := range s.CORS.AllowedOrigins {
		if err := checkOrigin(o); err != "" {
			v.add(fmt.Sprintf("server.cors.allowed_origins[%d]", i), "%q %s; write an origin such as \"https://app.example.com\" or \"http://localhost:3000\" (scheme, host and port only), or \"*\" for every origin", o, err)
		}
	}
	if s.CORS.MaxAge < 0 {
		v.add("server.cors.max_age", "cannot be negative (%s); leave it out for the default %s", s.CORS.MaxAge, DefaultCORSMaxAge)
	}
	for i, p := range s.TrustedProxies {
		if _, err := ParseProxy(p); err != nil {
			v.add(fmt.Sprintf("server.trusted_proxies[%d]", i), "%q is not an IP address or CIDR block; write e.g. \"10.0.0.0/8\" or \"127.0.0.1\"", p)
		}
	}
}

// tls checks that the certificate and key files exist and make a pair, so
// that a typo is a startup error rather than every handshake failing.
func (v *validator) tls(t *TLS) {
	switch {
	case !t.Enabled():
		return
	case t.CertFile == "":
		v.add("server.tls.cert_file", "is missing: server.tls needs both cert_file (the certificate chain, PEM) and key_file (its private key, PEM)")
		return
	case t.KeyFile == "":
		v.add("server.tls.key_file", "is missing: server.tls needs both cert_file (the certificate chain, PEM) and key_file (its private key, PEM)")
		return
	}
	if _, err := t.Load(); err != nil {
		v.add("server.tls", "%v", err)
	}
}

// checkOrigin returns what is wrong with a CORS origin, or "".
func checkOrigin(o string) string {
	if o == "*" {
		return ""
	}
	u, err := url.Parse(o)
	switch {
	case err != nil || u.Host == "":
		return "is not an origin"
	case u.Scheme != "http" && u.Scheme != "https":
		return "needs the scheme http:// or https://"
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "has more than scheme, host and port"
	}
	return ""
}

func (v *validator) security(s *Security) {
	if s.SecretKey != "" && s.SecretKeyFile != "" {
		v.add("security.secret_key_file", "the secret key is given twice, by $SWITCHYARD_SECRET_KEY and by this file; keep one")
	}
	if s.OldSecretKey != "" && s.OldSecretKeyFile != "" {
		v.add("security.old_secret_key_file", "the old secret key is given twice, by $SWITCHYARD_SECRET_KEY_OLD and by this file; keep one")
	}
	if s.SecretKey != "" {
		if _, err := secretkey.Parse(s.SecretKey.Reveal()); err != nil {
			v.add("security.secret_key_file", "$SWITCHYARD_SECRET_KEY: %v", err)
		}
	}
	if s.OldSecretKey != "" {
		if _, err := secretkey.Parse(s.OldSecretKey.Reveal()); err != nil {
			v.add("security.old_secret_key_file", "$SWITCHYARD_SECRET_KEY_OLD: %v", err)
		}
	}
	if s.OAuth.CodeTTL < 0 || s.OAuth.CodeTTL > MaxOAuthCodeTTL {
		v.add("security.oauth.code_ttl", "must be between 1s and %s, got %s; leave it out for the default %s", MaxOAuthCodeTTL, s.OAuth.CodeTTL, DefaultOAuthCodeTTL)
	}
	seen := map[string]int{}
	for i, k := range s.SecretScanning.PublicKeys {
		at := fmt.Sprintf("security.secret_scanning.public_keys[%d]", i)
		switch j, dup := seen[k.ID]; {
		case strings.TrimSpace(k.ID) == "":
			v.add(at+".id", "a public key needs an id: the key_identifier GitHub publishes with it")
		case dup:
			v.add(at+".id", "duplicate id %q (also public_keys[%d]); give each key its own id", k.ID, j)
		default:
			seen[k.ID] = i
		}
		if _, err := k.ECDSA(); err != nil {
			v.add(at+".pem", "%v", err)
		}
	}
}

func (v *validator) console(c *Console) {
	switch c.Rankings {
	case RankingsPublic, RankingsMembers, RankingsOff:
	default:
		v.add("console.rankings", "must be public, members or off, got %q", c.Rankings)
	}
	r := &c.Registration
	for i, code := range r.InvitationCodes {
		if len(code) < 8 {
			v.add(fmt.Sprintf("console.registration.invitation_codes[%d]", i), "an invitation code must have at least 8 characters, to be hard to guess")
		}
	}
	if r.StartingCredits < 0 {
		v.add("console.registration.starting_credits", "must be a non-negative amount of USD")
	}
}

func (v *validator) routing(r *Routing) {
	if r.MaxTrackedRoutes < 0 {
		v.add("routing.max_tracked_routes", "must be a positive number of routes, got %d; leave it out for the default %d", r.MaxTrackedRoutes, DefaultMaxTrackedRoutes)
	}
	if r.AuthFailures < 0 {
		v.add("routing.auth_failures", "must be a positive count, got %d; leave it out for the default %d", r.AuthFailures, DefaultAuthFailures)
	}
	if r.AuthCooldown < 0 {
		v.add("routing.auth_cooldown", "cannot be negative (%s); leave it out for the default %s", r.AuthCooldown, DefaultAuthCooldown)
	}
}

// maxJSONDepth is the deepest server.max_json_depth may be: the bound the
// codecs apply on their own (openai.MaxDepth; config imports no codec).
const maxJSONDepth = 10000

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535 && p == strconv.Itoa(n)
}

// storage never echoes a URL: it may hold a database password.
func (v *validator) storage(s *Storage) {
	if s.RetentionDays < 0 {
		v.add("storage.retention_days", "must be a number of days ≥ 0 (0 keeps generation records forever), got %d", s.RetentionDays)
	}
	if s.LedgerSpoolMaxBytes < 4096 {
		v.add("storage.ledger_spool_max_bytes", "must be at least 4096 bytes (default 268435456, 256 MiB), got %d; to run without a spool set storage.ledger_spool: off", s.LedgerSpoolMaxBytes)
	}
	if s.ResponsesRetentionDays < -1 {
		v.add("storage.responses_retention_days", "must be a number of days ≥ 1, or -1 to keep stored responses until deleted, got %d", s.ResponsesRetentionDays)
	}
	scheme, rest, ok := strings.Cut(s.Database, "://")
	switch {
	case !ok:
		v.add("storage.database", "not a database URL; write sqlite://PATH (e.g. sqlite://./switchyard.db) or postgres://USER:PASSWORD@HOST:5432/DB")
	case scheme != "sqlite" && scheme != "postgres" && scheme != "postgresql":
		v.add("storage.database", "unsupported database scheme %q; use sqlite://PATH or postgres://USER:PASSWORD@HOST:5432/DB", scheme)
	case rest == "" || rest == "/":
		if scheme == "sqlite" {
			v.add("storage.database", "sqlite:// needs a file path; write e.g. sqlite://./switchyard.db")
		} else {
			v.add("storage.database", "%s:// needs a host and database; write e.g. postgres://USER:PASSWORD@HOST:5432/DB", scheme)
		}
	case scheme != "sqlite":
		v.postgresURL(scheme, s.Database)
	}
	if s.Redis != "" {
		u, err := url.Parse(s.Redis)
		switch {
		case err != nil:
			v.add("storage.redis", "not a valid URL; write e.g. redis://127.0.0.1:6379/0, or leave it empty for no Redis")
		case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix":
			v.add("storage.redis", "unsupported scheme %q; write redis://HOST:6379/0 (rediss:// for TLS), or leave it empty for no Redis", u.Scheme)
		case u.Scheme != "unix" && u.Host == "":
			v.add("storage.redis", "has no host; write e.g. redis://127.0.0.1:6379/0")
		}
	}
}

// postgresURL checks a postgres:// or postgresql:// URL. Like storage, it
// never echoes the URL or url.Parse's error, which quotes it: either may
// hold the password.
func (v *validator) postgresURL(scheme, dsn string) {
	const example = "postgres://USER:PASSWORD@HOST:5432/DB?sslmode=require"
	u, err := url.Parse(dsn)
	if err != nil {
		v.add("storage.database", "is not a valid %s:// URL (a password with characters such as @, :, / or %% must be percent-encoded); write e.g. %s", scheme, example)
		return
	}
	q := u.Query()
	if u.Host == "" && q.Get("host") == "" {
		v.add("storage.database", "%s:// URL has no host; write e.g. %s", scheme, example)
	}
	if strings.Trim(u.Path, "/") == "" && q.Get("dbname") == "" {
		v.add("storage.database", "%s:// URL names no database; write e.g. %s", scheme, example)
	}
	if port := u.Port(); port != "" && !validPort(port) {
		v.add("storage.database", "%s:// URL has port %q, not a number from 0 to 65535", scheme, port)
	}
}

func (v *validator) billing(b *Billing) {
	if b.Unpriced != "free" && b.Unpriced != "reject" {
		v.add("billing.unpriced", "must be \"free\" (serve unpriced models at no charge) or \"reject\" (refuse them), got %q", b.Unpriced)
	}
}

// providers checks each provider and returns the set of names defined.
func (v *validator) providers(ps []Provider) map[string]bool {
	first := map[string]int{}
	for i := range ps {
		p := &ps[i]
		at := fmt.Sprintf("providers[%d]", i)
		switch {
		case p.Name == "":
			v.add(at+".name", "a provider needs a name (it is PROVIDER in \"PROVIDER/model\"); add e.g. name: %s", suggestName(p.Type))
		case !providerName.MatchString(p.Name):
			v.add(at+".name", "provider name %q may hold only letters, digits, '.', '_' and '-', starting with a letter or digit ('/' and ':' separate provider from model in requests); rename it, e.g. %q", p.Name, suggestName(p.Name))
		default:
			if j, dup := first[p.Name]; dup {
				v.add(at+".name", "duplicate provider name %q (also providers[%d].name); give each provider its own name", p.Name, j)
			} else {
				first[p.Name] = i
			}
		}
		v.provider(p, at)
	}
	names := make(map[string]bool, len(first))
	for n := range first {
		names[n] = true
	}
	return names
}

// preset checks p's preset and reports whether it makes api_key optional.
func (v *validator) preset(p *Provider, at string) (keyOptional bool) {
	if p.Preset == "" {
		return false
	}
	pr, ok := LookupPreset(p.Preset)
	if !ok {
		names := PresetNames()
		msg := fmt.Sprintf("unknown preset %q; use one of %s", p.Preset, strings.Join(names, ", "))
		if s := closest(p.Preset, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		v.add(at+".preset", "%s", msg)
		return false
	}
	if p.Type != "openai" {
		v.add(at+".preset", "preset %s is an OpenAI-compatible service; remove type %s (a preset implies type openai)", pr.Name, p.Type)
	}
	return pr.KeyOptional
}

func (v *validator) provider(p *Provider, at string) {
	v.pricing(at, p.Pricing)
	known := false
	for _, t := range ProviderTypes {
		known = known || p.Type == t
	}
	switch {
	case p.Type == "" && p.Preset != "":
		// An unknown preset, reported below.
	case p.Type == "":
		v.add(at+".type", "a provider needs a type; use one of %s", strings.Join(ProviderTypes, ", "))
	case !known:
		msg := fmt.Sprintf("unknown provider type %q; use one of %s", p.Type, strings.Join(ProviderTypes, ", "))
		if s := closest(p.Type, ProviderTypes); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		v.add(at+".type", "%s", msg)
	}
	keyOptional := v.preset(p, at)
	fromEnv := ""
	if p.FromEnv {
		fromEnv = fmt.Sprintf(" (the value comes from $%s_BASE_URL)", envPrefix(p.Name))
	}

	var host string
	if p.Type != "mock" {
		if p.BaseURL == "" {
			if p.Type == "bedrock" {
				// Reported with region below: base_url follows from it.
			} else if p.Type == "azure" {
				v.add(at+".base_url", "type azure needs base_url, the resource endpoint; add e.g. base_url: \"https://my-resource.openai.azure.com\"")
			} else if p.Type == "vertex" {
				// No location to make it from: reported with location.
			} else if known {
				v.add(at+".base_url", "type %s needs base_url; add e.g. base_url: \"https://api.example.com/v1\"", p.Type)
			}
		} else if h, msg := checkBaseURL(p.BaseURL); msg != "" {
			v.add(at+".base_url", "%s%s", msg, fromEnv)
		} else {
			host = h
		}
	}

	v.vertex(p, at, known)
	if p.APIKey == "" {
		keyVar := envVarName(p.Name) + "_API_KEY"
		switch p.Type {
		case "anthropic", "gemini", "azure":
			v.add(at+".api_key", "type %s needs api_key; add api_key: \"${%s}\" and export %s", p.Type, keyVar, keyVar)
		case "openai":
			if !isLocalHost(host) && host != "" && !keyOptional {
				v.add(at+".api_key", "type openai needs api_key unless base_url is a local server (localhost); add api_key: \"${%s}\" and export %s", keyVar, keyVar)
			}
		}
	}
	v.bedrock(p, at, known)
	if p.Timeout < 0 {
		v.add(at+".timeout", "cannot be negative (%s); leave it out for the default %s", p.Timeout, DefaultTimeout)
	}
	speaks := p.Responses != nil && *p.Responses
	if speaks && known && p.Type != "openai" {
		v.add(at+".responses", "type %s does not speak the OpenAI Responses API; remove responses (only type openai can)", p.Type)
	}
	if len(p.ResponsesOnlyModels) > 0 && !speaks {
		v.add(at+".responses_only_models", "a provider serves Responses-only models only if it speaks the Responses API; add responses: true or remove responses_only_models")
	}
	for j, m := range p.ResponsesOnlyModels {
		if strings.TrimSpace(m) == "" {
			v.add(fmt.Sprintf("%s.responses_only_models[%d]", at, j), "empty pattern; remove it or write a model id such as \"o3-pro*\"")
		}
	}
	for _, k := range sortedKeys(p.Headers) {
		hp := at + ".headers" + mapKeyPath(k)
		if !isToken(k) {
			v.add(hp, "%q is not a valid HTTP header name; use letters, digits and '-'", k)
		}
		if strings.ContainsAny(p.Headers[k], "\r\n\x00") {
			v.add(hp, "header value contains a line break or NUL; remove it (check the variable it comes from)")
		}
	}
	for j, m := range p.Models {
		if strings.TrimSpace(m) == "" {
			v.add(fmt.Sprintf("%s.models[%d]", at, j), "empty model id; remove it or write the upstream model id")
		}
	}
	if p.Type == "mock" {
		mp := at + ".mock"
		if p.Mock.Latency < 0 {
			v.add(mp+".latency", "cannot be negative (%s)", p.Mock.Latency)
		}
		if p.Mock.ChunkDelay < 0 {
			v.add(mp+".chunk_delay", "cannot be negative (%s)", p.Mock.ChunkDelay)
		}
		if p.Mock.Words < 0 {
			v.add(mp+".words", "cannot be negative (%d); leave it out for the default %d", p.Mock.Words, DefaultMockWords)
		}
	} else if known && p.Mock != (MockOptions{}) {
		v.add(at+".mock", "mock options only apply to type mock; remove them")
	}
}

// vertex checks the settings of a vertex provider, and that no other type
// has them.
func (v *validator) vertex(p *Provider, at string, known bool) {
	if p.Type != "vertex" {
		if !known {
			return
		}
		for _, f := range []struct{ name, value string }{{"project", p.Project}, {"location", p.Location}, {"credentials_file", p.CredentialsFile}} {
			if f.value != "" {
				v.add(at+"."+f.name, "%s only applies to type vertex (Google Vertex AI); remove it", f.name)
			}
		}
		if len(p.AnthropicModels) > 0 {
			v.add(at+".anthropic_models", "anthropic_models only applies to type vertex (Google Vertex AI); remove it")
		}
		return
	}
	switch {
	case p.Project == "":
		v.add(at+".project", "type vertex needs project, the Google Cloud project id; add e.g. project: \"my-project\"")
	case !validProject(p.Project):
		v.add(at+".project", "%q is not a Google Cloud project id (6 to 30 lower-case letters, digits and '-', or a project number); write the id shown by `gcloud projects list`", p.Project)
	}
	switch {
	case p.Location == "":
		v.add(at+".location", "type vertex needs location, the region its models run in; add e.g. location: us-central1 (or global)")
	case !validLocation(p.Location):
		v.add(at+".location", "%q is not a Google Cloud location; write a region such as us-central1 or europe-west4, or global", p.Location)
	}
	if p.APIKey != "" {
		v.add(at+".api_key", "type vertex authenticates with Google OAuth tokens, not an API key; remove api_key and set credentials_file to a service-account JSON key (or leave it out to use Application Default Credentials)")
	}
	if strings.ContainsAny(p.CredentialsFile, "\r\n\x00") {
		v.add(at+".credentials_file", "the path contains a line break or NUL; write the path of the service-account JSON key")
	}
	for j, m := range p.AnthropicModels {
		if strings.TrimSpace(m) == "" {
			v.add(fmt.Sprintf("%s.anthropic_models[%d]", at, j), "empty pattern; remove it or write a model id such as \"claude-*\"")
		}
	}
}

// validProject: a project id (6-30 of [a-z0-9-], starting with a letter)
// or a project number; either goes into the request path as it is.
func validProject(s string) bool { return lowerDashed(s, 30) }

// validLocation: a Google Cloud location name ("us-central1", "global"),
// which also names the regional host.
func validLocation(s string) bool { return len(s) >= 2 && lowerDashed(s, 40) }

// lowerDashed reports whether s is 1 to max of [a-z0-9-], not starting or
// ending with '-': safe in a URL path and a host name as it is.
func lowerDashed(s string, max int) bool {
	if len(s) < 1 || len(s) > max || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkBaseURL returns the host of an absolute http(s) URL, or a message
// saying what is wrong. It never quotes the URL, which may carry userinfo.
func checkBaseURL(s string) (host, msg string) {
	const fix = "; write an absolute URL like \"https://api.example.com/v1\""
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", "not a valid URL" + fix
	case u.Scheme != "http" && u.Scheme != "https":
		if u.Scheme == "" {
			return "", "has no scheme" + fix
		}
		return "", fmt.Sprintf("scheme %q is not http or https%s", u.Scheme, fix)
	case u.Hostname() == "":
		return "", "has no host" + fix
	case u.RawQuery != "" || u.Fragment != "":
		return "", "must not have a query or fragment (paths are appended to it)" + fix
	}
	return u.Hostname(), ""
}

// isLocalHost reports whether host is this machine: where Ollama, vLLM or
// llama.cpp servers run without a key.
func isLocalHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// envVarName turns a provider name into the stem of its variables:
// "azure-east" → "AZURE_EAST".
func envVarName(name string) string {
	if name == "" {
		return "PROVIDER"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
}

// suggestName makes a valid provider name out of s.
func suggestName(s string) string {
	out := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, s)
	out = strings.TrimLeft(out, "._-")
	if out == "" {
		return "my-provider"
	}
	return out
}

func (v *validator) models(ms []Model, providers map[string]bool) {
	defined := sortedKeys(providers)
	listDefined := "none are defined; add one under providers"
	if len(defined) > 0 {
		listDefined = "defined providers: " + strings.Join(defined, ", ")
	}

	// Every id and alias names one entry: the first to use a name owns it.
	owner := map[string]string{}
	var patterns []string
	claim := func(name, path string) {
		if prev, dup := owner[name]; dup {
			kind := "model id"
			if strings.Contains(path, ".aliases[") {
				kind = "alias"
			}
			v.add(path, "duplicate %s %q (already used by %s); remove one or rename it", kind, name, prev)
			return
		}
		owner[name] = path
	}
	for i := range ms {
		m := &ms[i]
		at := fmt.Sprintf("models[%d]", i)
		switch {
		case m.ID == "":
			v.add(at+".id", "a catalogue entry needs an id, the model name clients send; add e.g. id: gpt-4o")
		case strings.ContainsAny(m.ID, " \t\r\n"):
			v.add(at+".id", "model id %q contains whitespace; remove it", m.ID)
		default:
			claim(m.ID, at+".id")
			if m.IsPattern() {
				patterns = append(patterns, m.ID)
			}
		}
		for j, a := range m.Aliases {
			ap := fmt.Sprintf("%s.aliases[%d]", at, j)
			switch {
			case a == "":
				v.add(ap, "empty alias; remove it")
			case strings.Contains(a, "*"):
				v.add(ap, "alias %q is a pattern; aliases are exact names, so make a separate entry with id: %q", a, a)
			default:
				claim(a, ap)
			}
		}
	}

	resolvable := func(name string) bool {
		for _, n := range []string{name, strings.TrimSuffix(strings.TrimSuffix(name, ":nitro"), ":floor")} {
			if _, ok := owner[n]; ok {
				return true
			}
			if i := strings.IndexAny(n, "/:"); i > 0 && providers[n[:i]] {
				return true
			}
			for _, p := range patterns {
				if wildcard.Match(p, n) {
					return true
				}
			}
		}
		return false
	}

	for i := range ms {
		m := &ms[i]
		at := fmt.Sprintf("models[%d]", i)
		if m.ContextLength < 0 {
			v.add(at+".context_length", "cannot be negative (%d); leave it out if unknown", m.ContextLength)
		}
		if m.MaxOutputTokens < 0 {
			v.add(at+".max_output_tokens", "cannot be negative (%d); leave it out if unknown", m.MaxOutputTokens)
		}
		if len(m.Routes) == 0 && !m.IsPattern() && m.ID != "" {
			v.add(at+".routes", "model %q has no routes; add at least one, e.g. routes: [{provider: NAME, model: UPSTREAM_ID}]", m.ID)
		}
		for j := range m.Routes {
			r := &m.Routes[j]
			rp := fmt.Sprintf("%s.routes[%d]", at, j)
			switch {
			case r.Provider == "":
				v.add(rp+".provider", "a route needs a provider; %s", listDefined)
			case !providers[r.Provider]:
				msg := fmt.Sprintf("unknown provider %q; define it under providers, or use one of the %s", r.Provider, listDefined)
				if len(defined) == 0 {
					msg = fmt.Sprintf("unknown provider %q; %s", r.Provider, listDefined)
				}
				if s := closest(r.Provider, defined); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				v.add(rp+".provider", "%s", msg)
			}
			if r.Weight < 0 {
				v.add(rp+".weight", "cannot be negative (%d); use a positive share of traffic (default 1)", r.Weight)
			}
			if r.Priority < 0 {
				v.add(rp+".priority", "cannot be negative (%d); 0 is tried first, then 1, 2...", r.Priority)
			}
			if r.Timeout < 0 {
				v.add(rp+".timeout", "cannot be negative (%s); leave it out to use the provider's timeout", r.Timeout)
			}
		}
		for j, f := range m.Fallbacks {
			fp := fmt.Sprintf("%s.fallbacks[%d]", at, j)
			switch {
			case f == "":
				v.add(fp, "empty fallback; remove it")
			case f == m.ID || contains(m.Aliases, f):
				v.add(fp, "model %q falls back to itself; name a different model", f)
			case !resolvable(f):
				v.add(fp, "fallback %q is not a model in the catalogue; use a model id or alias defined under models, or PROVIDER/MODEL", f)
			}
		}
		v.pricing(at, m.Pricing)
		switch m.Strategy {
		case "", "weighted", "least-latency", "least-busy":
		default:
			v.add(at+".strategy", "unknown strategy %q; use weighted, least-latency or least-busy", m.Strategy)
		}
	}
}

// pricing checks a price block at path at (nil is fine: unpriced).
func (v *validator) pricing(at string, pr *Pricing) {
	if pr == nil {
		return
	}
	for _, f := range []struct {
		name string
		val  int64
	}{{"prompt", int64(pr.Prompt)}, {"completion", int64(pr.Completion)}, {"cached_prompt", int64(pr.CachedPrompt)}, {"cache_write", int64(pr.CacheWrite)}} {
		if f.val < 0 {
			v.add(at+".pricing."+f.name, "a price cannot be negative; write US dollars per 1M tokens, e.g. 2.50")
		}
	}
	if pr.PerRequest < 0 {
		v.add(at+".pricing.per_request", "a price cannot be negative; write US dollars per request, e.g. 0.001")
	}
	if pr.Characters < 0 {
		v.add(at+".pricing.characters", "a price cannot be negative; write US dollars per 1M characters, e.g. 15.00")
	}
	if pr.PerMinute < 0 {
		v.add(at+".pricing.per_minute", "a price cannot be negative; write US dollars per minute of audio, e.g. 0.006")
	}
	if pr.SearchUnit < 0 {
		v.add(at+".pricing.search_unit", "a price cannot be negative; write US dollars per search unit, e.g. 0.002")
	}
	for k, p := range pr.Images {
		size, _, _ := strings.Cut(k, "/")
		if k != "default" && !validImageSize(size) {
			v.add(at+".pricing.images."+k, "an image price is keyed \"SIZE\", \"SIZE/QUALITY\" or \"default\", such as \"1024x1024\" or \"1024x1024/hd\"")
		}
		if p < 0 {
			v.add(at+".pricing.images."+k, "a price cannot be negative; write US dollars per image, e.g. 0.04")
		}
	}
}

// validImageSize reports whether s reads WIDTHxHEIGHT or is "auto".
func validImageSize(s string) bool {
	if s == "auto" {
		return true
	}
	w, h, ok := strings.Cut(s, "x")
	return ok && w != "" && h != "" && allDigits(w) && allDigits(h)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// bedrock checks a bedrock provider's region and AWS credentials, and that
// no other type carries them.
func (v *validator) bedrock(p *Provider, at string, known bool) {
	aws := p.Region != "" || p.AccessKeyID != "" || p.SecretAccessKey != "" || p.SessionToken != ""
	if p.Type != "bedrock" {
		if aws && known {
			v.add(at+".region", "region, access_key_id, secret_access_key and session_token are settings of type bedrock; remove them")
		}
		return
	}
	switch {
	case p.Region == "":
		v.add(at+".region", "type bedrock needs region, the AWS region its requests are signed for; add e.g. region: us-east-1")
	case !validRegion(p.Region):
		v.add(at+".region", "%q is not an AWS region name; write it like us-east-1", p.Region)
	}
	if (p.AccessKeyID == "") != (p.SecretAccessKey == "") {
		v.add(at+".secret_access_key", "access_key_id and secret_access_key go together; give both, or neither to use the AWS default credential chain")
	}
	if p.SessionToken != "" && p.AccessKeyID == "" {
		v.add(at+".session_token", "session_token needs access_key_id and secret_access_key")
	}
	if p.APIKey != "" && p.AccessKeyID != "" {
		v.add(at+".api_key", "give either api_key (a Bedrock API key) or access_key_id and secret_access_key, not both")
	}
}

// validRegion reports whether s looks like an AWS region name
// (us-east-1, eu-central-2, us-gov-west-1): it becomes part of a host name.
func validRegion(s string) bool {
	if len(s) < 4 || len(s) > 32 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
