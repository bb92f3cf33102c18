// Package relay is the request pipeline, and the only package that knows its
// order: decode the client's dialect → authenticate → resolve the route →
// encode for the upstream → send → relay the answer → meter → record.
// Every step it calls does one thing and knows nothing of the others.
package relay

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/wildcard"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/billing"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/metrics"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/routing"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Recorder receives every finished generation with its charge (nil when
// nothing was charged). It must not wait on a database.
type Recorder interface {
	Record(g *store.Generation, c *store.Charge)
}

// Estimator counts tokens when an upstream reports no usage.
type Estimator interface {
	ChatPrompt(model string, body []byte) int
	// ChatPromptBound counts like ChatPrompt but with images and files at
	// a stated upper bound: what a reservation may rely on.
	ChatPromptBound(model string, body []byte) int
	Prompt(model string, raw []byte) int
	Count(model, text string) int
}

// Deps are what the relay is built from.
type Deps struct {
	Keys       *auth.Cache
	Resolver   *routing.Resolver
	Providers  map[string]*provider.Provider
	Config     *config.Config
	Recorder   Recorder            // may be nil
	Accountant *billing.Accountant // may be nil: nothing is reserved or charged
	Estimator  Estimator           // may be nil: a byte-length heuristic is used
	// Health tracks routes (circuit breakers, latency); shared across
	// config reloads. May be nil: every route is always tried.
	Health *routing.Health
	// Cooling holds routes skipped after a 429 with Retry-After; shared
	// across config reloads like Health. May be nil.
	Cooling *Cooling
	// RateLimits enforces keys' and accounts' rate limits; may be nil:
	// nothing is limited.
	RateLimits *ratelimit.Limiter
	// Metrics records per-request series; may be nil.
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// AccessLog receives the access log's lines (server.access_log), one
	// JSON object per model request as slog's JSON handler writes it, one
	// Write each; nil: they are logged through Log.
	AccessLog io.Writer
	Now       func() time.Time
	NewID     func() string // generation ids, "gen-…"

	// ResponseStore keeps the Responses API answers clients store; may be
	// nil: nothing is stored and previous_response_id finds nothing.
	ResponseStore ResponseStore
}

// Relay serves the client-facing model endpoints.
type Relay struct {
	Deps
	maxDepth  int
	keepAlive time.Duration
	accessLog bool
}

// New builds a relay.
func New(d Deps) *Relay {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Cooling == nil {
		d.Cooling = &Cooling{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Relay{Deps: d, maxDepth: d.Config.Server.MaxJSONDepth, keepAlive: d.Config.Server.SSEKeepAlive,
		accessLog: d.Config.Server.AccessLog != "off"}
}

// Authenticate finds the calling key for a model call.
func (rl *Relay) Authenticate(r *http.Request) (*store.Key, error) {
	k, err := rl.Keys.Caller(auth.Credential(r), rl.Now())
	if err != nil {
		return nil, err // not a typed nil: Caller's error is a *llm.Error
	}
	return k, nil
}

// readBody reads at most the configured limit; more is a 413.
func (rl *Relay) readBody(r *http.Request) ([]byte, error) {
	limit, ep := rl.bodyLimit(r)
	if r.ContentLength > limit {
		return nil, tooLarge(limit, ep)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		return nil, bodyError(err, limit, ep)
	}
	return body, nil
}

// bodyError is the client's error for a failure to read its body: over
// the limit (413), the server's body deadline (its 408), else a 400.
func bodyError(err error, limit int64, ep string) error {
	var mbe *http.MaxBytesError
	if asMaxBytes(err, &mbe) {
		return tooLarge(limit, ep)
	}
	var e *llm.Error
	if errors.As(err, &e) {
		return e // the server's body deadline: a 408
	}
	return llm.BadRequest("", "could not read the request body: %v", err)
}

// bodyLimit is the body limit of r's endpoint (server.max_body_bytes, or
// the endpoint's own in server.endpoint_max_body_bytes), and the endpoint
// when it has its own.
func (rl *Relay) bodyLimit(r *http.Request) (int64, string) {
	ep := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api"), "/v1")
	if n, ok := rl.Config.Server.EndpointMaxBodyBytes[ep]; ok {
		return n, ep
	}
	return rl.Config.Server.MaxBodyBytes, ""
}

// tooLarge is the 413 for a body over limit, naming the setting.
func tooLarge(limit int64, ep string) *llm.Error {
	e := llm.TooLarge(limit)
	if ep != "" {
		e.Message = fmt.Sprintf("request body is larger than the gateway's limit of %d bytes for %s (server.endpoint_max_body_bytes)", limit, ep)
	}
	return e
}

// readJSON reads the body (readBody) and checks it (oa.CheckBody) before
// any parser sees it: every client body of every dialect comes this way.
func (rl *Relay) readJSON(r *http.Request) ([]byte, error) {
	body, err := rl.readBody(r)
	if err != nil {
		return nil, err
	}
	if err := oa.CheckBody(body, rl.maxDepth); err != nil {
		return nil, err
	}
	return body, nil
}

// allowed checks a key's model allow-list (names or patterns); a refusal
// names param (the request field that asked for the model, "" for none).
func allowed(k *store.Key, res *routing.Resolution, param string) error {
	if len(k.AllowedModels) == 0 {
		return nil
	}
	for _, m := range k.AllowedModels {
		if wildcard.Match(m, res.Requested) || (res.Entry != nil && wildcard.Match(m, res.Entry.ID)) {
			return nil
		}
	}
	e := llm.Forbidden("model_not_allowed", "key "+k.Label+" may not use model '"+res.Requested+"'; it may use: "+strings.Join(k.AllowedModels, ", "))
	e.Param = param
	return e
}

// clientGone reports whether the client cancelled (as opposed to our timeout).
func clientGone(r *http.Request) bool { return r.Context().Err() != nil }
