package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/store"
)

var _ store.Generations = (*DB)(nil)

// ListGenerations returns the generations q selects, newest first. With a
// key, generations_key_created yields that key's rows in time order; with
// an account and no key, generations_account_created (0009); with a
// model and neither, generations_model_created (0017); with none of them,
// generations_created. The other filters are checked on the rows
// the index yields.
func (db *DB) ListGenerations(ctx context.Context, q store.GenerationQuery) ([]store.Generation, error) {
	if q.Limit <= 0 {
		return nil, errors.New("list generations: limit must be positive")
	}
	where, args, err := q.Where(func(n int) string { return "$" + strconv.Itoa(n) })
	if err != nil {
		return nil, fmt.Errorf("list generations: %w", err)
	}
	args = append(args, q.Limit)
	rows, err := db.pool.Query(ctx, `SELECT `+generationColumns+` FROM generations WHERE `+where+
		` ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list generations: %w", err)
	}
	defer rows.Close()
	out := make([]store.Generation, 0, min(q.Limit, 256))
	for rows.Next() {
		g, err := scanGeneration(rows)
		if err != nil {
			return nil, fmt.Errorf("list generations: %w", err)
		}
		out = append(out, *g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list generations: %w", err)
	}
	return out, nil
}
