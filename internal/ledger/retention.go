package ledger

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// Prune deletes raw generation records older than days, every interval,
// until ctx ends. Rollups (usage reports) and ledger entries (money) stay.
func Prune(ctx context.Context, st store.Billing, days int, every time.Duration, now func() time.Time, log *slog.Logger) {
	if days <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		cutoff := now().AddDate(0, 0, -days)
		if n, err := st.PruneGenerations(ctx, cutoff); err != nil {
			if ctx.Err() == nil {
				log.Warn("pruning old generation records failed", slog.String("error", err.Error()))
			}
		} else if n > 0 {
			log.Info("pruned old generation records", slog.Int64("records", n), slog.Time("before", cutoff))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func nilLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
