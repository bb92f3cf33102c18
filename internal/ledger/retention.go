package ledger

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// Pruner is the store Prune deletes from.
type Pruner interface {
	PruneGenerations(ctx context.Context, before time.Time) (int64, error)
	PruneResponses(ctx context.Context, now time.Time) (int64, error)
}

var _ Pruner = (interface {
	store.Billing
	store.Responses
})(nil)

// Prune deletes, every interval until ctx ends, raw generation records
// older than days (0: none; rollups and ledger entries always stay) and
// stored responses past their expiry (set when stored, from
// storage.responses_retention_days).
func Prune(ctx context.Context, st Pruner, days int, every time.Duration, now func() time.Time, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if days > 0 {
			cutoff := now().AddDate(0, 0, -days)
			if n, err := st.PruneGenerations(ctx, cutoff); err != nil {
				if ctx.Err() == nil {
					log.Warn("pruning old generation records failed", slog.String("error", err.Error()))
				}
			} else if n > 0 {
				log.Info("pruned old generation records", slog.Int64("records", n), slog.Time("before", cutoff))
			}
		}
		if n, err := st.PruneResponses(ctx, now()); err != nil {
			if ctx.Err() == nil {
				log.Warn("pruning expired stored responses failed", slog.String("error", err.Error()))
			}
		} else if n > 0 {
			log.Info("pruned expired stored responses", slog.Int64("responses", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func nilLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
