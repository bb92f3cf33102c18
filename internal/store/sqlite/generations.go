package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// GetGeneration returns the generation id, or store.ErrNotFound (also once
// it was pruned). Durations come back in whole milliseconds, as stored.
func (db *DB) GetGeneration(ctx context.Context, id string) (*store.Generation, error) {
	g, err := scanGeneration(db.r.QueryRowContext(ctx, `SELECT `+generationColumns+` FROM generations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("generation %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get generation %s: %w", id, err)
	}
	return g, nil
}

// scanGeneration reads one row of generationColumns (a *sql.Row or *sql.Rows).
func scanGeneration(row interface{ Scan(...any) error }) (*store.Generation, error) {
	var (
		g                      store.Generation
		cost, latency, created int64
		ttft, genTime          sql.NullInt64
	)
	err := row.Scan(
		&g.ID, &g.RequestID, &g.KeyHash, &g.AccountID, &g.Model, &g.Provider, &g.UpstreamModel,
		&g.TokensPrompt, &g.TokensCompletion, &g.TokensCached, &g.TokensReasoning, &cost, &g.UsageEstimated,
		&g.Status, &g.ErrorCode, &g.FinishReason, &g.Streamed, &g.Cancelled, &latency, &ttft, &genTime,
		&g.Origin, &g.AppTitle, &g.Attempts, &created)
	if err != nil {
		return nil, err
	}
	g.Cost = money.Nanos(cost)
	g.Latency = time.Duration(latency) * time.Millisecond
	g.TimeToFirst = time.Duration(ttft.Int64) * time.Millisecond
	g.GenerationTime = time.Duration(genTime.Int64) * time.Millisecond
	g.CreatedAt = store.FromUnixNanos(created)
	return &g, nil
}

// defaultPruneChunk is how many generations one transaction of
// PruneGenerations deletes. Pruning months of records at once would hold the
// write lock for seconds, and the ledger writer waits for it; in chunks of a
// few milliseconds each, its batches interleave.
const defaultPruneChunk = 5000

// PruneGenerations deletes the generations created before before and
// returns how many. Usage rollups and ledger entries stay. It deletes in
// chunks, each its own transaction, so it may have deleted some when it
// returns an error (a cancelled ctx, say); calling it again resumes.
func (db *DB) PruneGenerations(ctx context.Context, before time.Time) (int64, error) {
	if !before.After(store.MinTime) {
		return 0, nil // no stored time is before it
	}
	query := `DELETE FROM generations WHERE rowid IN
		(SELECT rowid FROM generations WHERE created_at < ? LIMIT ?)`
	var cutoff int64
	if before.After(store.MaxTime) {
		// Every stored time is before it, even one of exactly math.MaxInt64.
		query = `DELETE FROM generations WHERE rowid IN
			(SELECT rowid FROM generations WHERE created_at <= ? LIMIT ?)`
		cutoff = math.MaxInt64
	} else {
		cutoff = before.UnixNano()
	}
	var total int64
	for {
		res, err := db.w.ExecContext(ctx, query, cutoff, db.pruneChunk)
		if err != nil {
			return total, fmt.Errorf("prune generations: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune generations: %w", err)
		}
		total += n
		if n < int64(db.pruneChunk) {
			return total, nil
		}
	}
}
