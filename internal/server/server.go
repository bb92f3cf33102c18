// Package server is the composition root: it builds every part of the
// gateway from a Config and mounts the HTTP routes. It holds no logic of
// its own beyond dispatch.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/billing"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/ledger"
	"github.com/switchyard-gw/switchyard/internal/metrics"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/relay"
	"github.com/switchyard-gw/switchyard/internal/routing"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Server is the assembled gateway.
type Server struct {
	metrics *metrics.Metrics
	// cur is the config in effect and everything built from it; see snapshot.
	cur      atomic.Pointer[snapshot]
	reloadMu sync.Mutex
	// Where the config came from, for ReloadFromSource.
	configPath string
	env        config.Env

	log       *slog.Logger
	now       func() time.Time
	transport http.RoundTripper
	created   int64 // the catalogue's "created", kept across reloads
	keys      *auth.Cache
	admin     *admin.API
	ledger    *ledger.Writer
	store     admin.Store
	acct      *billing.Accountant
	limits    *ratelimit.Limiter
	routes    map[string]handlerFunc // endpoints that do not depend on the config
	conns     *connCounter           // open client connections, for Listener's caps
}

// Options are what New needs besides the config.
type Options struct {
	Store admin.Store
	Log   *slog.Logger
	// Transport for network upstreams; nil means provider.NewTransport().
	Transport http.RoundTripper
	Now       func() time.Time
	Version   string
	// Estimator counts tokens when an upstream reports no usage; nil uses a
	// byte-length heuristic.
	Estimator relay.Estimator
	// LedgerInterval is the ledger writer's batch interval (default 200ms).
	LedgerInterval time.Duration
	// ConfigPath and Env are what cfg was loaded from; ReloadFromSource
	// loads them again. An empty ConfigPath means the environment alone.
	ConfigPath string
	Env        config.Env
}

// New builds the gateway. The key cache is loaded here, once; no model call
// reads the store (management writes do, to authorise against fresh rows).
func New(ctx context.Context, cfg *config.Config, o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Transport == nil {
		o.Transport = provider.NewTransport()
	}
	providers, err := buildProviders(cfg, o.Transport, o.Log)
	if err != nil {
		return nil, err
	}
	keys, err := auth.NewCache(ctx, o.Store, cfg.Server.AdminKey.Reveal())
	if err != nil {
		return nil, fmt.Errorf("loading keys: %w", err)
	}
	balances, usages, err := o.Store.LoadBalances(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading balances: %w", err)
	}
	acct := billing.NewAccountant(o.Now, balances, usages)
	accounts, err := o.Store.ListAccounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading accounts: %w", err)
	}
	m := metrics.New()
	limits, err := newLimiter(cfg, o, m, accounts)
	if err != nil {
		return nil, err
	}
	lw := ledger.New(o.Store, ledger.Options{Interval: o.LedgerInterval, Log: o.Log})
	s := &Server{
		configPath: o.ConfigPath,
		env:        o.Env,
		log:        o.Log,
		now:        o.Now,
		transport:  o.Transport,
		created:    o.Now().Unix(),
		keys:       keys,
		admin:      admin.New(o.Store, keys, acct, limits, lw, o.Now),
		ledger:     lw,
		store:      o.Store,
		acct:       acct,
		limits:     limits,
	}
	routeHealth := routing.NewHealth(routing.HealthConfig{MaxRoutes: cfg.Routing.MaxTrackedRoutes,
		AuthFailures: cfg.Routing.AuthFailures, AuthCooldown: cfg.Routing.AuthCooldown}, o.Now)
	m.Func("switchyard_ledger_queue_depth", "Generation records waiting to be written.", func() float64 { return float64(lw.QueueDepth()) })
	m.Func("switchyard_ledger_last_flush_seconds", "How long the last ledger batch took to commit.", func() float64 { return lw.Stats().LastFlush.Seconds() })
	m.Func("switchyard_ledger_dead_letters", "Records the store refused for good (logged in full).", func() float64 { return float64(lw.Stats().DeadLetters) })
	m.RouteStates(func() []metrics.RouteState {
		// Labelled by the configured route, which the config bounds: a
		// pattern route's breakers (one per model a client named) are
		// counted together.
		var out []metrics.RouteState
		at := map[metrics.RouteState]int{}
		for _, r := range routeHealth.Snapshot() {
			k := metrics.RouteState{Route: r.Route, State: string(r.State)}
			if i, ok := at[k]; ok {
				out[i].N++
				continue
			}
			at[k] = len(out)
			k.N = 1
			out = append(out, k)
		}
		return out
	})
	s.conns = newConnCounter()
	m.Func("switchyard_connections_open", "Client connections open (server.max_connections caps them).", func() float64 { return float64(s.conns.openConns()) })
	m.CounterFunc("switchyard_connections_refused_total", "Client connections refused at accept, by the limit that refused them.",
		map[string]string{"limit": "max_connections"}, func() float64 { return float64(s.conns.refusedTotal.Load()) })
	m.CounterFunc("switchyard_connections_refused_total", "Client connections refused at accept, by the limit that refused them.",
		map[string]string{"limit": "max_connections_per_ip"}, func() float64 { return float64(s.conns.refusedPerIP.Load()) })
	m.CounterFunc("switchyard_route_health_evictions_total", "Routes forgotten by the health tracker to stay within routing.max_tracked_routes.",
		nil, func() float64 { return float64(routeHealth.Evictions()) })
	s.metrics = m
	// Reload copies these deps into every later snapshot.
	s.cur.Store(newSnapshot(cfg, providers, relay.Deps{
		Keys: keys, Log: o.Log, Now: o.Now,
		NewID:    func() string { return newOrderedID("gen-", time.Now()) },
		Recorder: lw, Accountant: acct, Estimator: o.Estimator, RateLimits: limits,
		Health:  routeHealth,
		Metrics: m,
		Cooling: &relay.Cooling{},

		ResponseStore: o.Store,
	}, s.created))
	s.routes = map[string]handlerFunc{
		"POST /admin/reload": s.reload,
		"GET /keys":          s.admin.ListKeys,
		"POST /keys":         s.admin.CreateKey,
		"GET /key":           s.admin.Key,
		"GET /credits":       s.admin.Credits,
		"GET /generation":    s.admin.Generation,
		"GET /accounts":      s.admin.ListAccounts,
		"POST /accounts":     s.admin.CreateAccount,
		"GET /usage":         s.admin.Usage,
		"GET /metrics":       s.serveMetrics,
		"GET /providers":     s.providers,
		"GET /healthz":       health,
		"GET /":              s.index,
	}
	return s, nil
}

// modelRoutes are the endpoints whose handlers are built from sn's config.
func modelRoutes(sn *snapshot) map[string]handlerFunc {
	return map[string]handlerFunc{
		"POST /chat/completions":      sn.relay.OpenAI(oa.OpChat),
		"POST /completions":           sn.relay.OpenAI(oa.OpCompletions),
		"POST /embeddings":            sn.relay.OpenAI(oa.OpEmbeddings),
		"POST /responses":             sn.relay.Responses,
		"POST /messages":              inDialect(sn.relay.Log, relay.IngressAnthropic, sn.relay.Messages),
		"POST /messages/count_tokens": inDialect(sn.relay.Log, relay.IngressAnthropic, sn.relay.CountTokens),
		"GET /models":                 checkKey(sn.relay, sn.catalogue.List),
	}
}

// Close writes every queued ledger record and closes the rate limiter's
// Redis client. Call it after the HTTP server has drained, so that no
// request records after it.
func (s *Server) Close(ctx context.Context) error {
	err := s.ledger.Close(ctx)
	_ = s.limits.Close()
	return err
}

// RateLimits is the rate limiter; its Healthy says whether limits are
// shared through Redis as configured (for /readyz).
func (s *Server) RateLimits() *ratelimit.Limiter { return s.limits }

// newLimiter builds the rate limiter: in Redis when storage.redis is set,
// else in memory; with the accounts' limits.
func newLimiter(cfg *config.Config, o Options, m *metrics.Metrics, accounts []store.Account) (*ratelimit.Limiter, error) {
	var r *ratelimit.Redis
	if cfg.Storage.Redis != "" {
		var err error
		if r, err = ratelimit.NewRedis(cfg.Storage.Redis, "switchyard:rl:"); err != nil {
			return nil, err
		}
	}
	l := ratelimit.New(ratelimit.Options{Now: o.Now, Log: o.Log, Metrics: m, Redis: r})
	l.SyncAccounts(accounts)
	if r != nil {
		m.Func("switchyard_ratelimit_redis_up", "1 while rate limits are shared through Redis; 0 while Redis fails and each instance limits locally.", func() float64 {
			if l.Healthy() {
				return 1
			}
			return 0
		})
	}
	return l, nil
}

// Refresh applies changes other processes (the CLI, other instances) made
// to keys and to accounts' credits, every interval until ctx ends.
func (s *Server) Refresh(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.keys.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("key refresh failed", slog.String("error", err.Error()))
		}
		if accts, err := s.store.ListAccounts(ctx); err == nil {
			s.acct.SyncAccounts(accts)
			s.limits.SyncAccounts(accts)
		} else if ctx.Err() == nil {
			s.log.Warn("account refresh failed", slog.String("error", err.Error()))
		}
	}
}

// Keys exposes the key cache (for its refresh loop).
func (s *Server) Keys() *auth.Cache { return s.keys }

// route picks the handler for a request from sn, the snapshot it runs on,
// and the config-independent routes. A path that names no endpoint gets a
// 404 (notFound) or, when another method is served there, a 405 with Allow.
func (s *Server) route(sn *snapshot, r *http.Request) handlerFunc {
	p := stripPrefix(cleanPath(r.URL.Path))
	if h, ok := sn.routes[r.Method+" "+p]; ok {
		return h
	}
	if h, ok := s.routes[r.Method+" "+p]; ok {
		return h
	}
	if strings.HasPrefix(r.URL.Path, "/debug/pprof/") && r.Method == http.MethodGet {
		return s.debugPprof
	}
	// Routes with a parameter. Model ids may contain '/' and ':'.
	switch {
	case strings.HasPrefix(p, "/v1beta/models/") || strings.HasPrefix(p, "/models/"):
		// Gemini: /v1beta/models/MODEL:generateContent, and /v1/models/…
		// (whose /v1 stripPrefix has removed), which newer Google SDKs call.
		rest := p[strings.Index(p, "/models/")+len("/models/"):]
		model, stream, gemini := relay.ParseGeminiPath(rest)
		switch {
		case gemini && r.Method == http.MethodPost:
			return inDialect(s.log, relay.IngressGemini, sn.relay.Gemini(model, stream))
		case gemini:
			return inDialect(s.log, relay.IngressGemini, notAllowed(http.MethodPost))
		case r.Method == http.MethodGet && strings.HasPrefix(p, "/models/"):
			return checkKey(sn.relay, func(w http.ResponseWriter, r *http.Request) error { return sn.catalogue.Get(w, r, rest) })
		case r.Method == http.MethodPost || strings.HasPrefix(p, "/v1beta/"):
			// Another Gemini method (:countTokens, :embedContent, models.get).
			return s.notFound(sn, r, relay.IngressGemini)
		}
		return notAllowed(http.MethodGet)
	case strings.HasPrefix(p, "/responses/") && !strings.Contains(p[len("/responses/"):], "/"):
		// A stored response (POST /responses stores it), for any key of
		// its account.
		id := p[len("/responses/"):]
		switch r.Method {
		case http.MethodGet:
			return func(w http.ResponseWriter, r *http.Request) error { return sn.relay.GetResponse(w, r, id) }
		case http.MethodDelete:
			return func(w http.ResponseWriter, r *http.Request) error { return sn.relay.DeleteResponse(w, r, id) }
		}
		return notAllowed(http.MethodGet, http.MethodDelete)
	case strings.HasPrefix(p, "/keys/"):
		hash := p[len("/keys/"):]
		switch r.Method {
		case http.MethodGet:
			return func(w http.ResponseWriter, r *http.Request) error { return s.admin.GetKey(w, r, hash) }
		case http.MethodPatch:
			return func(w http.ResponseWriter, r *http.Request) error { return s.admin.PatchKey(w, r, hash) }
		case http.MethodDelete:
			return func(w http.ResponseWriter, r *http.Request) error { return s.admin.DeleteKey(w, r, hash) }
		}
		return notAllowed(http.MethodGet, http.MethodPatch, http.MethodDelete)
	case strings.HasPrefix(p, "/providers/") && strings.HasSuffix(p, "/enable"):
		if r.Method != http.MethodPost {
			return notAllowed(http.MethodPost)
		}
		id := strings.TrimSuffix(p[len("/providers/"):], "/enable")
		return func(w http.ResponseWriter, r *http.Request) error { return s.enableRoute(w, r, id) }
	case strings.HasPrefix(p, "/accounts/"):
		id, sub, _ := strings.Cut(p[len("/accounts/"):], "/")
		switch {
		case sub == "credits" && r.Method == http.MethodPost:
			return func(w http.ResponseWriter, r *http.Request) error { return s.admin.TopUp(w, r, id) }
		case sub == "credits":
			return notAllowed(http.MethodPost)
		case sub == "" && r.Method == http.MethodGet:
			return func(w http.ResponseWriter, r *http.Request) error { return s.admin.GetAccount(w, r, id) }
		case sub == "" && r.Method == http.MethodPatch:
			return func(w http.ResponseWriter, r *http.Request) error { return s.admin.PatchAccount(w, r, id) }
		case sub == "":
			return notAllowed(http.MethodGet, http.MethodPatch)
		}
	}
	if allow := allowedMethods(p, sn.routes, s.routes); len(allow) > 0 {
		return inDialect(s.log, dialectOf(p), notAllowed(allow...))
	}
	return s.notFound(sn, r, dialectOf(p))
}

// checkKey lets the model list be read without a key (it is public, like
// OpenRouter's), but a key that is sent must be valid: "curl /v1/models" with
// the key is how users test their setup, and a bad key must fail there.
func checkKey(rl *relay.Relay, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Header.Get("Authorization") != "" || r.Header.Get("X-Api-Key") != "" {
			if _, err := rl.Authenticate(r); err != nil {
				return err
			}
		}
		return h(w, r)
	}
}

func health(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}`))
	return nil
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"name":"switchyard","api_base":"/v1","docs":"GET /v1/models lists models; POST /v1/chat/completions with Authorization: Bearer sk-sy-..."}`))
	return nil
}
