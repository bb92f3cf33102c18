package postgres

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/migration"
)

// migrate applies the migrations of fsys (migrationFiles outside tests)
// that the database lacks, each in its own transaction with its
// schema_migrations row. The whole run holds a session advisory lock keyed
// by the schema, so that gateways starting together on one database wait
// for each other instead of applying a migration twice; whoever comes
// second finds nothing left to do. It fails, before applying anything, if
// the database has a version this binary does not know.
func (db *DB) migrate(ctx context.Context, fsys fs.FS) error {
	ms, err := migration.Load(fsys)
	if err != nil {
		return err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// The lock belongs to this connection's session; the deferred unlock
	// runs before the connection goes back to the pool. Should the unlock
	// fail, the connection is closed, which releases it too.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('switchyard.migrate.' || current_schema()))`); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('switchyard.migrate.' || current_schema()))`); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at BIGINT  NOT NULL -- unix nanoseconds, UTC
	)`); err != nil {
		return err
	}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	versions, err := collectRows(rows, pgx.RowTo[int])
	if err != nil {
		return err
	}
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[v] = true
	}
	todo, err := migration.Pending(ms, applied)
	if err != nil {
		return err
	}
	for _, m := range todo {
		at, err := store.UnixNanos(db.now())
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// Simple protocol: a file holds several statements.
			if _, err := tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.Version, at)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}
