// Package postgres is the PostgreSQL backend of store.Store and
// store.Billing, on github.com/jackc/pgx/v5 (pgxpool).
//
// # Storage conventions
//
// The schema is store/sqlite's, version for version (migrations/*.sql, the
// same numbers, package migration), in PostgreSQL's dialect. As on SQLite,
// every time is a BIGINT of unix nanoseconds, UTC (nanoseconds keep
// KeysChangedSince exact, where timestamptz holds microseconds), and every
// amount of money a BIGINT of nano-USD.
//
// # Concurrency
//
// Several gateway instances may share one database. Migrations run at Open
// under a session advisory lock, so instances starting together apply each
// once. Key writes take a transaction advisory lock so that updated_at grows
// in commit order (what KeysChangedSince pollers rely on). The ledger
// writer's balance updates touch accounts and keys in a fixed order (by id),
// so two instances' batches cannot deadlock on each other.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// DB is a store.Store and store.Billing on a PostgreSQL database. It is safe
// for concurrent use.
type DB struct {
	pool cleanPool // every statement's strings cleaned: see cleanPool
	// now is the clock for timestamps the caller did not supply.
	now func() time.Time
	// pruneChunk is how many rows one statement of PruneGenerations and
	// PruneResponses deletes.
	pruneChunk int
	// rewrites counts the batches WriteBatch wrote again with INSERTs
	// after their COPY met a stored row (see batchWrite).
	rewrites atomic.Int64
}

var (
	_ store.Store   = (*DB)(nil)
	_ store.Billing = (*DB)(nil)
)

// defaultPruneChunk is how many rows one prune statement deletes: each is
// its own transaction, short enough not to hold up the ledger writer.
const defaultPruneChunk = 5000

// migrationFiles holds the schema, one file per version: NNNN_name.sql
// (package migration), with the same versions as store/sqlite.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Open connects to the database at dsn (postgres://USER:PASSWORD@HOST:PORT/DB
// or postgresql://…, with any libpq parameter pgx supports, such as sslmode,
// search_path, and pgxpool's pool_max_conns) and applies the embedded
// migrations it lacks. Errors never contain the password.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors can quote the URL, password included.
		return nil, fmt.Errorf("postgres database %s: not a valid connection URL", Redact(dsn))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres database %s: %w", Redact(dsn), err)
	}
	db := &DB{pool: cleanPool{pool}, now: time.Now, pruneChunk: defaultPruneChunk}
	if err := db.migrate(ctx, migrationFiles); err != nil {
		pool.Close()
		if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
			// pgx names the user and database, never the password.
			return nil, fmt.Errorf("postgres database %s: cannot connect; check storage.database (host, port, user, password, database) and that the server is running: %w", Redact(dsn), err)
		}
		return nil, fmt.Errorf("migrate postgres database %s: %w", Redact(dsn), err)
	}
	return db, nil
}

// Close closes the pool's connections.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Redact returns dsn with its password, in the user info or the password
// parameter, replaced by "xxxxx", for messages and logs.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable database URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Errors of PostgreSQL (SQLSTATE) the store turns into store errors.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

func isCode(err error, code string) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == code
}

// inTx runs f in a transaction and commits it if f succeeds.
func (db *DB) inTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return f(cleanTx{tx}) })
}

// collectRows is pgx.CollectRows, but returns nil rather than an empty
// slice for no rows, as store/sqlite does.
func collectRows[T any](rows pgx.Rows, fn pgx.RowToFunc[T]) ([]T, error) {
	out, err := pgx.CollectRows(rows, fn)
	if len(out) == 0 {
		return nil, err
	}
	return out, err
}

// Ping implements store.Billing: one round trip on a pooled connection.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }
