package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Meta returns the value named name, or "" if it is unset.
func (db *DB) Meta(ctx context.Context, name string) (string, error) {
	var v string
	err := db.pool.QueryRow(ctx, `SELECT value FROM meta WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read meta %q: %w", name, err)
	}
	return v, nil
}

// SetMeta sets the value named name, replacing any previous one.
func (db *DB) SetMeta(ctx context.Context, name, value string) error {
	if name == "" {
		return errors.New("set meta: empty name")
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO meta (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	if err != nil {
		return fmt.Errorf("set meta %q: %w", name, err)
	}
	return nil
}
