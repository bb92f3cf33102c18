package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/relay"
	"github.com/switchyard-gw/switchyard/internal/routing"
	"github.com/switchyard-gw/switchyard/internal/secretkey"
)

// snapshot is everything the gateway derives from one config: providers,
// routes, prices, the model list. It is immutable. A reload builds a new one
// and swaps the pointer; a request loads the pointer once, in ServeHTTP, and
// uses that snapshot to its end, so requests in flight finish on the config
// they started with while new ones get the new config.
//
// What outlives a reload (the key cache, the accountant, the ledger writer,
// the store, the management API, the upstream transport) lives on Server and
// reaches the relay through the relay.Deps each snapshot copies.
type snapshot struct {
	// cfg is the config in effect: file, the config as loaded from its
	// source, with the catalog's providers and models after its own.
	cfg  *config.Config
	file *config.Config
	ring *secretkey.Ring // nil: no secret key configured
	// catalogPrint fingerprints the catalog merged into cfg.
	catalogPrint string
	relay        *relay.Relay
	catalogue    *relay.Catalogue
	providers    int
	// router serves the route table with this snapshot's handlers.
	router *router
	// cors is server.cors (nil: off); proxies server.trusted_proxies.
	cors    *cors
	proxies []netip.Prefix
}

// current is the snapshot new requests use.
func (s *Server) current() *snapshot { return s.cur.Load() }

// buildProviders makes cfg's providers on the shared transport. It is the
// only step of building a snapshot that can fail.
func buildProviders(cfg *config.Config, transport http.RoundTripper, log *slog.Logger) (map[string]*provider.Provider, error) {
	providers, skipped, err := provider.Build(cfg, transport)
	if err != nil {
		return nil, err
	}
	for _, name := range skipped {
		log.Warn("provider from environment skipped: its type is not built into this version", slog.String("provider", name))
	}
	return providers, nil
}

// newSnapshot assembles a snapshot from cfg and its providers. deps carries
// the long-lived parts; its Resolver, Providers and Config are replaced.
func (s *Server) newSnapshot(cfg *config.Config, providers map[string]*provider.Provider, deps relay.Deps) *snapshot {
	s.admin.SetRegistration(registrationOf(cfg))
	res := routing.New(cfg)
	models := make(map[string][]string, len(providers))
	for name, p := range providers {
		models[name] = p.Models
	}
	deps.Resolver, deps.Providers, deps.Config = res, providers, cfg
	sn := &snapshot{
		cfg:       cfg,
		relay:     relay.New(deps),
		catalogue: relay.NewCatalogue(cfg, res, models, s.created),
		providers: len(providers),
		cors:      newCORS(&cfg.Server.CORS),
		proxies:   proxiesOf(&cfg.Server),
	}
	sn.router = s.newRouter(sn)
	return sn
}

// Reload puts cfg in effect for every request that starts after it returns;
// requests already in flight finish on the config they started with. cfg is
// a loaded config (config.Load or config.Parse). If cfg is invalid, changes
// a setting that only a restart can change, or names a provider that cannot
// be built, Reload returns why and the running config stays.
func (s *Server) Reload(ctx context.Context, cfg *config.Config) error {
	_, err := s.apply(ctx, cfg)
	return err
}

func (s *Server) apply(ctx context.Context, file *config.Config) (*snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := file.Validate(); err != nil {
		return nil, err
	}
	// One reload at a time: two (a SIGHUP and an API call) racing would each
	// check against the same running config and the second would win blind.
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	m, err := mergeCatalog(ctx, catalogOf(s.store), file, s.log)
	if err != nil {
		return nil, err
	}
	cfg := m.cfg
	old := s.current()
	if err := restartOnly(old.cfg, cfg); err != nil {
		return nil, err
	}
	providers, err := buildProviders(cfg, s.transport, s.log)
	if err != nil {
		return nil, err
	}
	sn := s.newSnapshot(cfg, providers, old.relay.Deps)
	sn.file, sn.ring, sn.catalogPrint = file, m.ring, m.print
	s.cur.Store(sn)
	return sn, nil
}

// ReloadResult describes the config a reload put in effect.
type ReloadResult struct {
	Reloaded  bool   `json:"reloaded"`
	Source    string `json:"source"`    // the file read, or "(defaults)"
	Providers int    `json:"providers"` // providers built
	Models    int    `json:"models"`    // entries in the config's models section
}

// ReloadFromSource re-reads the config the server was started from (the
// file of Options.ConfigPath, or the environment alone when there was
// none) and puts it in effect as Reload does. It serves SIGHUP and
// POST /admin/reload.
func (s *Server) ReloadFromSource(ctx context.Context) (*ReloadResult, error) {
	cfg, err := config.Load(s.configPath, s.env)
	if err != nil {
		return nil, err
	}
	sn, err := s.apply(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &ReloadResult{Reloaded: true, Source: sn.cfg.Source, Providers: sn.providers, Models: len(sn.cfg.Models)}, nil
}

// restartOnly rejects a new config that changes a setting bound once at
// start: the listener, the store, the background loops' settings, the key
// cache's admin key and the shutdown drain. Applying the rest and quietly
// ignoring these would leave the file saying one thing and the gateway doing
// another.
func restartOnly(running, next *config.Config) error {
	fixed := []struct {
		path    string
		changed bool
	}{
		{"server.listen", running.Server.Listen != next.Server.Listen},
		{"server.admin_key", running.Server.AdminKey != next.Server.AdminKey},
		{"server.drain_timeout", running.Server.DrainTimeout != next.Server.DrainTimeout},
		{"server.read_header_timeout", running.Server.ReadHeaderTimeout != next.Server.ReadHeaderTimeout},
		// SIGHUP reads the same files again; other files, or turning TLS
		// on or off, change the listener.
		{"server.tls", running.Server.TLS != next.Server.TLS},
		{"storage.database", running.Storage.Database != next.Storage.Database},
		{"storage.redis", running.Storage.Redis != next.Storage.Redis},
		{"storage.retention_days", running.Storage.RetentionDays != next.Storage.RetentionDays},
	}
	var msgs []string
	for _, f := range fixed {
		if f.changed {
			// No values: a database URL or an admin key is a credential.
			msgs = append(msgs, f.path+" cannot change on reload; restart to change it")
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s", next.Source, strings.Join(msgs, "; "))
}

// reload serves POST /admin/reload, for the admin key only: reloading is an
// operator's act, and management keys belong to one account.
func (s *Server) reload(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminOnly(r); err != nil {
		return err
	}
	reqID := w.Header().Get("X-Request-Id")
	// A client that hangs up does not abandon a reload half way (it is one
	// pointer swap at the end anyway), nor turn it into a config error.
	res, err := s.ReloadFromSource(context.WithoutCancel(r.Context()))
	if err != nil {
		s.log.Warn("config reload rejected; the running config stays", slog.String("request_id", reqID), slog.String("error", err.Error()))
		return invalidConfig(err)
	}
	s.log.Info("config reloaded", slog.String("request_id", reqID), slog.String("config", res.Source), slog.Int("providers", res.Providers), slog.Int("models", res.Models))
	s.announceReload(context.WithoutCancel(r.Context()))
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(struct {
		Data *ReloadResult `json:"data"`
	}{res})
}

// invalidConfig is a rejected reload. The message is the whole reason (a
// config.ValidationError lists every problem with its path); only the admin
// key sees it, and the config package has already redacted credentials.
func invalidConfig(err error) *llm.Error {
	return &llm.Error{Kind: llm.KindCaller, Status: http.StatusBadRequest, Type: "invalid_request_error",
		Code: "invalid_config", Message: "config not reloaded; the running config stays: " + err.Error()}
}
