package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/switchyard-gw/switchyard/internal/store"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ store.Catalog = (*DB)(nil)

// CatalogEntries returns every API-managed provider and model.
func (db *DB) CatalogEntries(ctx context.Context) ([]store.CatalogEntry, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT kind, id, spec, key_id, key_sealed, created_at, updated_at
		FROM catalog_entries ORDER BY kind = 'model', created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("catalog entries: %w", err)
	}
	defer rows.Close()
	var out []store.CatalogEntry
	for rows.Next() {
		var (
			e                store.CatalogEntry
			spec             string
			created, updated int64
		)
		if err := rows.Scan(&e.Kind, &e.ID, &spec, &e.Key.KeyID, &e.Key.Sealed, &created, &updated); err != nil {
			return nil, fmt.Errorf("catalog entries: %w", err)
		}
		e.Spec, e.CreatedAt, e.UpdatedAt = []byte(spec), store.FromUnixNanos(created), store.FromUnixNanos(updated)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog entries: %w", err)
	}
	return out, nil
}

// CreateCatalogEntry inserts e; store.ErrConflict if it exists.
func (db *DB) CreateCatalogEntry(ctx context.Context, e *store.CatalogEntry) error {
	now, err := store.UnixNanos(db.now())
	if err != nil {
		return fmt.Errorf("create %s: %w", e.Kind, err)
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO catalog_entries (kind, id, spec, key_id, key_sealed, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Kind, e.ID, string(e.Spec), e.Key.KeyID, e.Key.Sealed, now, now)
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return fmt.Errorf("create %s %s: %w", e.Kind, e.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", e.Kind, err)
	}
	e.CreatedAt, e.UpdatedAt = store.FromUnixNanos(now), store.FromUnixNanos(now)
	return nil
}

// UpdateCatalogEntry replaces e's spec and key; store.ErrNotFound if absent.
func (db *DB) UpdateCatalogEntry(ctx context.Context, e *store.CatalogEntry) error {
	now, err := store.UnixNanos(db.now())
	if err != nil {
		return fmt.Errorf("update %s: %w", e.Kind, err)
	}
	var created, updated int64
	err = db.w.QueryRowContext(ctx, `UPDATE catalog_entries SET spec = ?, key_id = ?, key_sealed = ?, updated_at = max(updated_at, ?)
		WHERE kind = ? AND id = ? RETURNING created_at, updated_at`,
		string(e.Spec), e.Key.KeyID, e.Key.Sealed, now, e.Kind, e.ID).Scan(&created, &updated)
	if err == sql.ErrNoRows {
		return fmt.Errorf("update %s %s: %w", e.Kind, e.ID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update %s: %w", e.Kind, err)
	}
	e.CreatedAt, e.UpdatedAt = store.FromUnixNanos(created), store.FromUnixNanos(updated)
	return nil
}

// DeleteCatalogEntry removes an entry; store.ErrNotFound if absent.
func (db *DB) DeleteCatalogEntry(ctx context.Context, kind, id string) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM catalog_entries WHERE kind = ? AND id = ?`, kind, id)
	if err != nil {
		return fmt.Errorf("delete %s: %w", kind, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("delete %s %s: %w", kind, id, store.ErrNotFound)
	}
	return nil
}

// ResealKeys re-seals every stored key in one transaction.
func (db *DB) ResealKeys(ctx context.Context, reseal func(kind, id string, k store.SealedKey) (store.SealedKey, error)) (int, error) {
	now, err := store.UnixNanos(db.now())
	if err != nil {
		return 0, fmt.Errorf("reseal keys: %w", err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("reseal keys: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT kind, id, key_id, key_sealed FROM catalog_entries WHERE key_sealed <> '' ORDER BY kind, id`)
	if err != nil {
		return 0, fmt.Errorf("reseal keys: %w", err)
	}
	var all []store.CatalogEntry
	for rows.Next() {
		var e store.CatalogEntry
		if err := rows.Scan(&e.Kind, &e.ID, &e.Key.KeyID, &e.Key.Sealed); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reseal keys: %w", err)
		}
		all = append(all, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reseal keys: %w", err)
	}
	changed := 0
	for _, e := range all {
		k, err := reseal(e.Kind, e.ID, e.Key)
		if err != nil {
			return 0, fmt.Errorf("reseal the key of %s %s: %w", e.Kind, e.ID, err)
		}
		if k == e.Key {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE catalog_entries SET key_id = ?, key_sealed = ?, updated_at = max(updated_at, ?)
			WHERE kind = ? AND id = ?`, k.KeyID, k.Sealed, now, e.Kind, e.ID); err != nil {
			return 0, fmt.Errorf("reseal keys: %w", err)
		}
		changed++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("reseal keys: %w", err)
	}
	return changed, nil
}
