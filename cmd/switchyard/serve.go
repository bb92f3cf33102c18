package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/switchyard-gw/switchyard/internal/audit"
	"github.com/switchyard-gw/switchyard/internal/store"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/billing/billredis"
	"github.com/switchyard-gw/switchyard/internal/cluster"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/ledger"
	"github.com/switchyard-gw/switchyard/internal/logbuf"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/store/postgres"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

func loadConfig(path string, env func(string) (string, bool)) (*config.Config, error) {
	return config.Load(path, config.Env(env))
}

// openStore opens the backend that storage.database names by its scheme:
// postgres:// or postgresql:// is PostgreSQL, anything else SQLite.
func openStore(ctx context.Context, cfg *config.Config) (admin.Store, error) {
	dsn := cfg.Storage.Database
	if isPostgres(dsn) {
		// postgres.Open's errors never hold the password.
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("opening database: %w", err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", dsn, err)
	}
	return st, nil
}

// openRedis connects to the shared Redis (storage.redis). It does not wait
// for it: an unreachable Redis degrades the gateway, it does not stop it.
func openRedis(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	return redis.NewClient(opt), nil
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// displayDatabase is storage.database as logs show it: without a password.
func displayDatabase(dsn string) string {
	if isPostgres(dsn) {
		return postgres.Redact(dsn)
	}
	return dsn
}

// gcPercent is the collector's target for serve unless $GOGC is set: a
// gateway's live heap is small (a few MiB: keys, routes, the console) and
// each request allocates a few KiB that die with it, so at Go's default
// of 100 it collected every few hundred requests, marking the whole live
// heap each time. At 200 it collects half as often for a few MiB more
// heap; the load benchmark's CPU per stream fell by about 7%
// (docs/benchmarks.md).
const gcPercent = 200

// setGCPercent applies gcPercent, unless the operator chose with $GOGC.
func setGCPercent(env func(string) (string, bool)) {
	if _, ok := env("GOGC"); !ok {
		debug.SetGCPercent(gcPercent)
	}
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config file (YAML); default: embedded defaults")
	listen := fs.String("listen", "", "listen address, overrides $SWITCHYARD_LISTEN and server.listen")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, env)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Server.Listen = *listen
	}
	setGCPercent(env)
	// Info lines (one per request) are written in batches every 100 ms;
	// warnings and errors at once. The deferred Close writes the rest.
	lw := logbuf.New(stderr, 100*time.Millisecond, 64<<10)
	defer lw.Close()
	log := slog.New(logbuf.Handler{Handler: slog.NewJSONHandler(lw, nil), W: lw})

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	// Listen before creating the first keys: keys made by a start that then
	// fails would be stored but never shown.
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (set another address with --listen or $SWITCHYARD_LISTEN)", cfg.Server.Listen, err)
	}
	defer ln.Close()
	adminKey, demoKey, created, err := admin.Bootstrap(ctx, st, time.Now())
	if err != nil {
		return fmt.Errorf("creating the first keys: %w", err)
	}
	var spool *ledger.Spool
	if cfg.Storage.LedgerSpool != "off" {
		if spool, err = ledger.OpenSpool(cfg.Storage.LedgerSpool, cfg.Storage.LedgerSpoolMaxBytes); err != nil {
			return fmt.Errorf("%w (set storage.ledger_spool to a writable file, or to off)", err)
		}
		defer spool.Close()
	}
	srv, err := server.New(ctx, cfg, server.Options{Store: st, Log: log, AccessLog: lw, Version: version, Estimator: tokens.New(),
		ConfigPath: *cfgPath, Env: withListen(config.Env(env), *listen), LedgerSpool: spool})
	if err != nil {
		return err
	}
	var certs *server.Certificates
	scheme := "http"
	if cfg.Server.TLS.Enabled() {
		if certs, err = server.LoadCertificates(cfg.Server.TLS); err != nil {
			return fmt.Errorf("%s: server.tls: %w", cfg.Source, err)
		}
		scheme = "https"
	}
	base := scheme + "://" + displayAddr(ln.Addr().String()) + "/v1"
	if created {
		printWelcome(stdout, base, adminKey, demoKey)
	}
	providerNames := make([]string, 0, len(cfg.Providers))
	for _, p := range cfg.Providers {
		providerNames = append(providerNames, p.Name+" ("+p.Type+")")
	}
	log.Info("switchyard listening", slog.String("base_url", base), slog.String("config", cfg.Source),
		slog.String("database", displayDatabase(cfg.Storage.Database)), slog.String("providers", strings.Join(providerNames, ", ")), slog.String("version", version))

	logFileLimit(log, cfg.Server.MaxConnections)
	hs := srv.HTTPServer(slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	// Requests run on a context of their own, which the end of the drain
	// cancels: a stream still running then is ended by the relay like one
	// whose client went away, so its handler records and bills what it
	// delivered (relay's deferred finish) before the ledger closes.
	reqCtx, cancelRequests := context.WithCancel(context.Background())
	defer cancelRequests()
	running := newHandlerCount()
	hs.Handler = running.wrap(hs.Handler)
	hs.BaseContext = func(net.Listener) context.Context { return reqCtx }
	runCtx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Background loops use the store; wait for them before it closes.
	var bg sync.WaitGroup
	defer bg.Wait()
	bg.Go(func() { srv.Refresh(runCtx, 5*time.Second) })
	if cfg.Storage.Redis != "" {
		rdb, err := openRedis(cfg.Storage.Redis)
		if err != nil {
			return fmt.Errorf("%s: storage.redis: %w", cfg.Source, err)
		}
		defer rdb.Close()
		bus := cluster.New(rdb, "switchyard:changes", log)
		srv.JoinCluster(bus)
		srv.ShareCredits(billredis.New(rdb, "switchyard:bill", nil))
		srv.SetRedisHealth(func(ctx context.Context) bool { return rdb.Ping(ctx).Err() == nil })
		bg.Go(func() { bus.Run(runCtx, srv.Apply) })
	}
	bg.Go(func() { ledger.Prune(runCtx, st, cfg.Storage.RetentionDays, time.Hour, time.Now, log) })
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	bg.Go(func() { reloadOnHangup(runCtx, hup, srv, certs, log) })

	errc := make(chan error, 1)
	if certs != nil {
		hs.TLSConfig = certs.TLSConfig()
		go func() { errc <- hs.ServeTLS(srv.Listener(ln), "", "") }()
	} else {
		go func() { errc <- hs.Serve(srv.Listener(ln)) }()
	}
	select {
	case err := <-errc:
		stop() // end the background loops, or the deferred Wait blocks forever
		return err
	case <-runCtx.Done():
	}
	log.Info("shutting down: draining in-flight requests", slog.Duration("drain_timeout", cfg.Server.DrainTimeout))
	drainCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.DrainTimeout)
	defer cancel()
	if err := hs.Shutdown(drainCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("drain timeout reached; cancelling the requests still running and closing their connections",
			slog.Int("requests", running.count()), slog.String("error", err.Error()))
		cancelRequests()
		// Closing the connections also ends a handler blocked writing to a
		// client that does not read.
		_ = hs.Close()
		if !running.wait(finishGrace) {
			log.Error("requests still running after the drain; their generations are not recorded",
				slog.Int("requests", running.count()), slog.Duration("waited", finishGrace))
		}
	}
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelFlush()
	if err := srv.Close(flushCtx); err != nil {
		return fmt.Errorf("writing the last ledger records: %w", err)
	}
	log.Info("stopped")
	return nil
}

// logFileLimit raises the open-file limit as far as the process may and
// logs it once, with a warning when it cannot hold server.max_connections
// (maxConns, -1 for none) plus the upstream connections and files.
func logFileLimit(log *slog.Logger, maxConns int) {
	n, err := raiseFileLimit()
	switch {
	case err != nil:
		log.Warn("could not raise the open-file limit", slog.String("error", err.Error()))
	case n == 0:
	case maxConns < 0 || uint64(maxConns) > n/2:
		log.Warn("the open-file limit is low for server.max_connections: each client connection is a file, and so is each upstream connection; raise the hard limit (ulimit -Hn, LimitNOFILE=) or lower server.max_connections",
			slog.Uint64("open_file_limit", n), slog.Int("max_connections", maxConns))
	default:
		log.Info("open-file limit", slog.Uint64("open_file_limit", n))
	}
}

// finishGrace bounds the wait, after the drain timeout has cancelled the
// requests still running, for their handlers to record and settle them.
// Cancelled handlers return within milliseconds; the bound is for one stuck
// on something no context reaches.
const finishGrace = 5 * time.Second

// handlerCount counts the requests whose handlers are running, so that
// shutdown can wait for them after http.Server.Shutdown has given up (it
// does not wait for handlers once its context ends).
type handlerCount struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n is 0
}

func newHandlerCount() *handlerCount {
	c := &handlerCount{idle: make(chan struct{})}
	close(c.idle)
	return c
}

func (c *handlerCount) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.add(1)
		defer c.add(-1)
		h.ServeHTTP(w, r)
	})
}

func (c *handlerCount) add(d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.idle = make(chan struct{})
	}
	c.n += d
	if c.n == 0 {
		close(c.idle)
	}
}

func (c *handlerCount) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// wait reports whether no handler is running, waiting up to timeout for
// the running ones to return.
func (c *handlerCount) wait(timeout time.Duration) bool {
	c.mu.Lock()
	idle := c.idle
	c.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-idle:
		return true
	case <-t.C:
		return false
	}
}

// reloadOnHangup reloads the config, and the TLS certificate when certs is
// not nil, on every SIGHUP until ctx ends. A bad config or certificate is
// logged and the running one stays.
func reloadOnHangup(ctx context.Context, hup <-chan os.Signal, srv *server.Server, certs *server.Certificates, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		if certs != nil {
			if err := certs.Reload(); err != nil {
				log.Error("TLS certificate reload on SIGHUP failed; the certificate in use stays", slog.String("error", err.Error()))
			} else {
				log.Info("TLS certificate reloaded on SIGHUP")
			}
		}
		res, err := srv.ReloadFromSource(ctx)
		entry := store.AuditEntry{ActorKind: "system", Actor: "SIGHUP", Action: "config reload", Status: http.StatusOK}
		if err != nil {
			entry.Status = http.StatusBadRequest
			entry.After = audit.Redact(map[string]string{"refused": err.Error()})
			srv.Record(ctx, entry)
			log.Error("config reload on SIGHUP rejected; the running config stays", slog.String("error", err.Error()))
			continue
		}
		entry.After = audit.Redact(res)
		srv.Record(ctx, entry)
		log.Info("config reloaded on SIGHUP", slog.String("config", res.Source),
			slog.Int("providers", res.Providers), slog.Int("models", res.Models))
	}
}

// withListen is env as a reload sees it. --listen outranks the file and
// $SWITCHYARD_LISTEN; a reload reads both again and must see the flag too,
// or the address would read as a change of server.listen and be refused.
func withListen(env config.Env, listen string) config.Env {
	if listen == "" {
		return env
	}
	return func(name string) (string, bool) {
		if name == "SWITCHYARD_LISTEN" {
			return listen, true
		}
		if env == nil {
			return "", false
		}
		return env(name)
	}
}

func displayAddr(a string) string {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return a
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func printWelcome(w io.Writer, base, adminKey, demoKey string) {
	fmt.Fprintf(w, `
Switchyard is ready. These keys are shown once; only their hashes are stored.

  admin key (management API):  %s
  demo API key:                %s

Try it:

  curl %s/chat/completions \
    -H "Authorization: Bearer %s" \
    -H "Content-Type: application/json" \
    -d '{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}'

OpenAI SDKs: base_url=%q, api_key=the demo key.

`, adminKey, demoKey, base, demoKey, base)
}
