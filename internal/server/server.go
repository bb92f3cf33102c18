// Package server is the composition root: it builds every part of the
// gateway from a Config and mounts the HTTP routes. It holds no logic of
// its own beyond dispatch.
package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/billing"
	"github.com/switchyard-gw/switchyard/internal/clientaddr"
	"github.com/switchyard-gw/switchyard/internal/cluster"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/console"
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
	// catalogMu orders writes to the providers and models of the API.
	catalogMu sync.Mutex
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
	conns     *connCounter // open client connections, for Listener's caps

	readiness   readiness
	ledgerSpool bool // a spool takes records while the database is down
	// redisHealthy reports whether the shared Redis answers; nil: none configured.
	redisHealthy func(ctx context.Context) bool
	bus          *cluster.Bus // nil: a single instance (JoinCluster)
	console      *console.Console
	// guard refuses client addresses with too many failed authentications;
	// errs renders every error answer (and counts those failures).
	guard *authGuard
	// stop ends the server's own goroutines (the guard's shared tally) at
	// Close.
	stop     chan struct{}
	stopOnce sync.Once
	errs     errorWriter
}

// Options are what New needs besides the config.
type Options struct {
	Store admin.Store
	Log   *slog.Logger
	// AccessLog receives the access log's lines (relay.Deps.AccessLog);
	// nil: they are logged through Log.
	AccessLog io.Writer
	// Transport for network upstreams; nil means provider.NewTransport().
	Transport http.RoundTripper
	Now       func() time.Time
	Version   string
	// Estimator counts tokens when an upstream reports no usage; nil uses a
	// byte-length heuristic.
	Estimator relay.Estimator
	// LedgerInterval is the ledger writer's batch interval (default 200ms).
	LedgerInterval time.Duration
	// LedgerSpool keeps records while the store is down (storage.ledger_spool);
	// nil: none. What a previous run left in it is drained before balances
	// are loaded. The caller closes it after Close.
	LedgerSpool *ledger.Spool
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
	// cfg is the file's config; the providers and models added through
	// the API join it here and at every reload.
	file := cfg
	withCatalog, err := mergeCatalog(ctx, catalogOf(o.Store), file, o.Log)
	if err != nil {
		return nil, err
	}
	cfg = withCatalog.cfg
	providers, err := buildProviders(cfg, o.Transport, o.Log)
	if err != nil {
		return nil, err
	}
	keys, err := auth.NewCache(ctx, o.Store, cfg.Server.AdminKey.Reveal())
	if err != nil {
		return nil, fmt.Errorf("loading keys: %w", err)
	}
	lw := ledger.New(o.Store, ledger.Options{Interval: o.LedgerInterval, Log: o.Log, Spool: o.LedgerSpool})
	// Charges a previous run spooled count in the balances loaded next.
	if err := lw.Drain(ctx); err != nil {
		lw.Close(ctx)
		return nil, fmt.Errorf("writing the ledger spool %s into the database: %w", o.LedgerSpool.Path(), err)
	}
	balances, usages, err := o.Store.LoadBalances(ctx)
	if err != nil {
		lw.Close(ctx)
		return nil, fmt.Errorf("loading balances: %w", err)
	}
	acct := billing.NewAccountant(o.Now, balances, usages)
	acct.FailClosed(lw.Blocked)
	accounts, err := o.Store.ListAccounts(ctx)
	if err != nil {
		lw.Close(ctx)
		return nil, fmt.Errorf("loading accounts: %w", err)
	}
	m := metrics.New()
	limits, err := newLimiter(cfg, o, m, accounts)
	if err != nil {
		lw.Close(ctx)
		return nil, err
	}
	s := &Server{
		configPath:  o.ConfigPath,
		env:         o.Env,
		log:         o.Log,
		now:         o.Now,
		transport:   o.Transport,
		created:     o.Now().Unix(),
		keys:        keys,
		admin:       admin.New(o.Store, keys, acct, limits, lw, o.Now),
		ledger:      lw,
		store:       o.Store,
		acct:        acct,
		limits:      limits,
		ledgerSpool: o.LedgerSpool != nil,
		stop:        make(chan struct{}),
	}
	s.guard = newAuthGuard(o.Now, func() (int, []netip.Prefix) {
		sn := s.current()
		return sn.cfg.Server.AuthFailuresPerMinute, sn.proxies
	})
	s.errs = errorWriter{log: o.Log, guard: s.guard}
	s.admin.SetClientAddr(func(r *http.Request) string { return clientaddr.Of(r, s.current().proxies).String() })
	routeHealth := routing.NewHealth(routing.HealthConfig{MaxRoutes: cfg.Routing.MaxTrackedRoutes,
		AuthFailures: cfg.Routing.AuthFailures, AuthCooldown: cfg.Routing.AuthCooldown}, o.Now)
	m.Func("switchyard_ledger_queue_depth", "Generation records waiting to be written.", func() float64 { return float64(lw.QueueDepth()) })
	m.Func("switchyard_ledger_last_flush_seconds", "How long the last ledger batch took to commit.", func() float64 { return lw.Stats().LastFlush.Seconds() })
	m.Func("switchyard_ledger_spool_bytes", "Bytes of generation records spooled to disk while the database is unreachable.", func() float64 { return float64(lw.Spooled()) })
	m.Func("switchyard_ledger_blocked", "1 while the database is unreachable and the spool is full: metered requests are refused.", func() float64 {
		if lw.Blocked() {
			return 1
		}
		return 0
	})
	m.Func("switchyard_shared_credits_degraded", "1 while the shared credit store (Redis) is unreachable: limits and credits are enforced per instance.", func() float64 {
		if acct.Degraded() {
			return 1
		}
		return 0
	})
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
	s.console = console.New(console.Options{API: s, Verify: s.consoleIdentity, SignIn: s.consoleSignIn, Resolve: s.consolePrincipal,
		Sessions: o.Store, RegistrationOpen: s.admin.RegistrationOpen, Now: o.Now, Log: o.Log,
		ClientAddr: func(r *http.Request) string { return clientaddr.Of(r, s.current().proxies).String() },
		SignedIn:   s.auditSignIn, RankingsMode: s.rankingsMode, TopUsage: s.topUsage})
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
	sn := s.newSnapshot(cfg, providers, relay.Deps{
		Keys: keys, Log: o.Log, AccessLog: o.AccessLog, Now: o.Now,
		NewID:    func() string { return newOrderedID("gen-", time.Now()) },
		Recorder: lw, Accountant: acct, Estimator: o.Estimator, RateLimits: limits,
		Health:  routeHealth,
		Metrics: m,
		Cooling: &relay.Cooling{},

		ResponseStore: o.Store,
	})
	sn.file, sn.ring, sn.catalogPrint = file, withCatalog.ring, withCatalog.print
	s.cur.Store(sn)
	return s, nil
}

// Close writes every queued ledger record and closes the rate limiter's
// Redis client. Call it after the HTTP server has drained, so that no
// request records after it.
func (s *Server) Close(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
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
		s.refreshKeys(ctx)
		s.refreshAccounts(ctx)
		s.refreshCatalog(ctx)
	}
}

// Keys exposes the key cache (for its refresh loop).
func (s *Server) Keys() *auth.Cache { return s.keys }

// checkKey lets the model list be read without a key (it is public, like
// OpenRouter's), but a key that is sent must be valid: "curl /v1/models" with
// the key is how users test their setup, and a bad key must fail there. A
// management or admin key may read it too (the console's Models page does):
// reading the public list is not calling a model.
func checkKey(rl *relay.Relay, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Header.Get("Authorization") != "" || r.Header.Get("X-Api-Key") != "" {
			k, err := rl.Keys.Identify(auth.Credential(r))
			if err != nil {
				return err
			}
			if err := auth.Usable(k, rl.Now()); err != nil {
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

// index serves GET /: the console for a browser (Accept: text/html), and
// a JSON pointer to the API for every other client (curl, SDKs). /v1 and
// /api/v1 always answer the JSON.
func (s *Server) index(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Path == "/" && strings.Contains(r.Header.Get("Accept"), "text/html") {
		s.console.ServeHTTP(w, r)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"name":"switchyard","api_base":"/v1","docs":"GET /v1/models lists models; POST /v1/chat/completions with Authorization: Bearer sk-sy-..."}`))
	return nil
}

// consoleIdentity says whether key may sign in to the console: an admin
// or management key that is usable now.
func (s *Server) consoleIdentity(key string) (console.Identity, error) {
	k, err := s.keys.Admin(key, s.now())
	if err != nil {
		return console.Identity{}, err
	}
	return console.Identity{Kind: string(k.Kind), AccountID: k.AccountID, Label: k.Label, KeyHash: k.Hash}, nil
}

// serveConsole serves the web console's pages under /console.
func (s *Server) serveConsole(w http.ResponseWriter, r *http.Request) error {
	s.console.ServeHTTP(w, r)
	return nil
}
