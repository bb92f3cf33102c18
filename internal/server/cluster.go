package server

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/switchyard-gw/switchyard/internal/billing"
	"github.com/switchyard-gw/switchyard/internal/cluster"
)

// JoinCluster makes this instance tell the others, through bus, of every
// key and account write and admin reload it makes, and apply theirs (Run
// the bus with s.Apply). The periodic Refresh stays as the safety net.
//
// Failed authentications are counted across the instances too: an address
// past server.auth_failures_per_minute on all of them together is refused
// by each (cluster.AuthBlock).
func (s *Server) JoinCluster(bus *cluster.Bus) {
	s.bus = bus
	s.admin.OnChange(bus.Publish)
	s.guard.share(bus, s.log, s.stop)
}

// ShareCredits makes key limits and account credits hold across every
// instance through sh (Redis); this instance's own limits stay as the
// fallback when sh is unreachable.
func (s *Server) ShareCredits(sh billing.Shared) { s.acct.ShareWith(sh, s.log) }

// Apply brings this instance up to date with a change another instance
// announced: topic is one of cluster.Keys, Accounts, Reload, Catalog or Resync,
// or an AuthBlock notice.
func (s *Server) Apply(ctx context.Context, topic string) {
	if addr, until, ok := cluster.ParseAuthBlock(topic); ok {
		if a, err := netip.ParseAddr(addr); err == nil {
			s.guard.blockUntil(a, until)
		}
		return
	}
	switch topic {
	case cluster.Keys:
		s.refreshKeys(ctx)
	case cluster.Accounts:
		s.refreshAccounts(ctx)
	case cluster.Resync:
		s.refreshKeys(ctx)
		s.refreshAccounts(ctx)
		s.refreshCatalog(ctx)
	case cluster.Catalog:
		// Providers or models changed through the API: this instance's
		// own file config, with the store's catalog as it is now.
		if err := s.reloadCatalog(ctx); err != nil {
			s.log.Error("providers and models changed through the API on another instance could not be applied here; the running config stays", slog.String("error", err.Error()))
			return
		}
		s.log.Info("providers and models reloaded, announced by another instance")
	case cluster.Reload:
		// Each instance reads its own config source: a reload broadcast
		// says "the shared config changed", not what it now says.
		res, err := s.ReloadFromSource(ctx)
		if err != nil {
			s.log.Error("config reload announced by another instance rejected here; the running config stays", slog.String("error", err.Error()))
			return
		}
		s.log.Info("config reloaded, announced by another instance", slog.String("config", res.Source))
	}
}

func (s *Server) refreshKeys(ctx context.Context) {
	if err := s.keys.Refresh(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("key refresh failed", slog.String("error", err.Error()))
	}
}

func (s *Server) refreshAccounts(ctx context.Context) {
	if accts, err := s.store.ListAccounts(ctx); err == nil {
		s.acct.SyncAccounts(accts)
		s.limits.SyncAccounts(accts)
	} else if ctx.Err() == nil {
		s.log.Warn("account refresh failed", slog.String("error", err.Error()))
	}
}

// announceReload tells the other instances to reload too.
func (s *Server) announceReload(ctx context.Context) {
	if s.bus != nil {
		s.bus.Publish(ctx, cluster.Reload)
	}
}

// SetRedisHealth gives /readyz its Redis check (ping answers within the
// readiness timeout).
func (s *Server) SetRedisHealth(ping func(ctx context.Context) bool) { s.redisHealthy = ping }
