package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// GetGeneration returns the generation id, or store.ErrNotFound (also once
// it was pruned). Durations come back in whole milliseconds, as stored.
func (db *DB) GetGeneration(ctx context.Context, id string) (*store.Generation, error) {
	g, err := scanGeneration(db.pool.QueryRow(ctx, `SELECT `+generationColumns+` FROM generations WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("generation %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get generation %s: %w", id, err)
	}
	return g, nil
}

// scanGeneration reads one row of generationColumns.
func scanGeneration(row pgx.Row) (*store.Generation, error) {
	var (
		g                      store.Generation
		status                 int32
		cost, latency, created int64
		ttft, genTime          *int64
	)
	err := row.Scan(
		&g.ID, &g.RequestID, &g.KeyHash, &g.AccountID, &g.Model, &g.Provider, &g.UpstreamModel,
		&g.TokensPrompt, &g.TokensCompletion, &g.TokensCached, &g.TokensReasoning, &cost, &g.UsageEstimated,
		&status, &g.ErrorCode, &g.FinishReason, &g.Streamed, &g.Cancelled, &latency, &ttft, &genTime,
		&g.Origin, &g.AppTitle, &g.Attempts, &created)
	if err != nil {
		return nil, err
	}
	g.Status = int(status)
	g.Cost = money.Nanos(cost)
	g.Latency = time.Duration(latency) * time.Millisecond
	if ttft != nil {
		g.TimeToFirst = time.Duration(*ttft) * time.Millisecond
	}
	if genTime != nil {
		g.GenerationTime = time.Duration(*genTime) * time.Millisecond
	}
	g.CreatedAt = store.FromUnixNanos(created)
	return &g, nil
}

// PruneGenerations deletes the generations created before before, in
// chunks of their own transactions, and returns how many. Usage rollups
// and ledger entries stay. Calling it again after an error resumes.
func (db *DB) PruneGenerations(ctx context.Context, before time.Time) (int64, error) {
	if !before.After(store.MinTime) {
		return 0, nil // no stored time is before it
	}
	query := `DELETE FROM generations WHERE id IN
		(SELECT id FROM generations WHERE created_at < $1 LIMIT $2)`
	var cutoff int64
	if before.After(store.MaxTime) {
		// Every stored time is before it, even one of exactly math.MaxInt64.
		query = `DELETE FROM generations WHERE id IN
			(SELECT id FROM generations WHERE created_at <= $1 LIMIT $2)`
		cutoff = math.MaxInt64
	} else {
		cutoff = before.UnixNano()
	}
	n, err := db.pruneChunks(ctx, query, cutoff)
	if err != nil {
		return n, fmt.Errorf("prune generations: %w", err)
	}
	return n, nil
}
