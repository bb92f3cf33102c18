package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Meta returns the value named name, or "" if it is unset.
func (db *DB) Meta(ctx context.Context, name string) (string, error) {
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
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
	_, err := db.w.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	if err != nil {
		return fmt.Errorf("set meta %q: %w", name, err)
	}
	return nil
}
