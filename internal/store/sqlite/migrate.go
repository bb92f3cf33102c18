package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/migration"
)

// migrationFiles holds the schema, one file per version: NNNN_name.sql
// (package migration), with the same versions as store/postgres.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate applies to w the migrations of fsys (migrationFiles outside tests)
// that it has not applied yet, each
// in its own transaction together with its schema_migrations row. It fails,
// before applying anything, if the database has a version this binary does
// not know: it was migrated by a newer release.
//
// Migrations run with foreign keys on, inside a transaction (where PRAGMA
// foreign_keys cannot change); one that rebuilds a referenced table should use
// PRAGMA defer_foreign_keys.
func migrate(ctx context.Context, w *sql.DB, fsys fs.FS, now func() time.Time) error {
	ms, err := migration.Load(fsys)
	if err != nil {
		return err
	}
	if _, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL -- unix nanoseconds, UTC
	)`); err != nil {
		return err
	}
	applied, err := appliedVersions(ctx, w)
	if err != nil {
		return err
	}
	todo, err := migration.Pending(ms, applied)
	if err != nil {
		return err
	}
	for _, m := range todo {
		if err := applyMigration(ctx, w, m, now); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, w *sql.DB) (map[int]bool, error) {
	rows, err := w.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

func applyMigration(ctx context.Context, w *sql.DB, m migration.Migration, now func() time.Time) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Another process may have applied it since appliedVersions; the write
	// lock taken at BEGIN makes this check final.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	at, err := store.UnixNanos(now())
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.Version, at); err != nil {
		return err
	}
	return tx.Commit()
}
