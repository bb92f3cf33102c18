package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store"
)

var _ store.Catalog = (*DB)(nil)

// CatalogEntries returns every API-managed provider and model.
func (db *DB) CatalogEntries(ctx context.Context) ([]store.CatalogEntry, error) {
	rows, err := db.pool.Query(ctx, `SELECT kind, id, spec, key_id, key_sealed, created_at, updated_at
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
	_, err = db.pool.Exec(ctx, `INSERT INTO catalog_entries (kind, id, spec, key_id, key_sealed, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, e.Kind, e.ID, string(e.Spec), e.Key.KeyID, e.Key.Sealed, now)
	if isCode(err, uniqueViolation) {
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
	err = db.pool.QueryRow(ctx, `UPDATE catalog_entries SET spec = $1, key_id = $2, key_sealed = $3, updated_at = GREATEST(updated_at, $4)
		WHERE kind = $5 AND id = $6 RETURNING created_at, updated_at`,
		string(e.Spec), e.Key.KeyID, e.Key.Sealed, now, e.Kind, e.ID).Scan(&created, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
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
	tag, err := db.pool.Exec(ctx, `DELETE FROM catalog_entries WHERE kind = $1 AND id = $2`, kind, id)
	if err != nil {
		return fmt.Errorf("delete %s: %w", kind, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete %s %s: %w", kind, id, store.ErrNotFound)
	}
	return nil
}

// ResealKeys re-seals every stored key in one transaction. The rows are
// locked, so two rotations at once run one after the other.
func (db *DB) ResealKeys(ctx context.Context, reseal func(kind, id string, k store.SealedKey) (store.SealedKey, error)) (int, error) {
	now, err := store.UnixNanos(db.now())
	if err != nil {
		return 0, fmt.Errorf("reseal keys: %w", err)
	}
	changed := 0
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT kind, id, key_id, key_sealed FROM catalog_entries WHERE key_sealed <> '' ORDER BY kind, id FOR UPDATE`)
		if err != nil {
			return err
		}
		var all []store.CatalogEntry
		for rows.Next() {
			var e store.CatalogEntry
			if err := rows.Scan(&e.Kind, &e.ID, &e.Key.KeyID, &e.Key.Sealed); err != nil {
				rows.Close()
				return err
			}
			all = append(all, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, e := range all {
			k, err := reseal(e.Kind, e.ID, e.Key)
			if err != nil {
				return fmt.Errorf("the key of %s %s: %w", e.Kind, e.ID, err)
			}
			if k == e.Key {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE catalog_entries SET key_id = $1, key_sealed = $2, updated_at = GREATEST(updated_at, $3)
				WHERE kind = $4 AND id = $5`, k.KeyID, k.Sealed, now, e.Kind, e.ID); err != nil {
				return err
			}
			changed++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reseal keys: %w", err)
	}
	return changed, nil
}
