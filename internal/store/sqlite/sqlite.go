// Package sqlite is the SQLite backend of store.Store, on the pure-Go driver
// modernc.org/sqlite (no cgo).
//
// # Storage conventions
//
// Every time is stored as an INTEGER of unix nanoseconds, UTC, and read back
// as a time.Time in UTC; nanoseconds keep comparisons such as
// KeysChangedSince exact. Times outside what an int64 of nanoseconds holds
// (years 1678 to 2262) are rejected. Every amount of money is an INTEGER of
// nano-USD (money.Nanos). The schema lives in migrations/*.sql, embedded in
// the binary and applied by Open.
//
// # Connections
//
// SQLite allows one writer at a time. A DB therefore holds two pools on the
// same file: a write pool of exactly one connection, whose transactions begin
// IMMEDIATE, and a read pool of several read-only connections. Writers of
// this process wait in database/sql for the one write connection, which is
// handed over the moment it is free, instead of polling SQLite's lock through
// the busy handler (which sleeps, is unfair, and fails with SQLITE_BUSY after
// busy_timeout under load); and, the database being in WAL mode, readers
// never wait for the writer. busy_timeout still matters for the lock shared
// with other processes, such as the CLI writing to the database of a running
// gateway. Write transactions must therefore stay short: while one is open,
// every other write of the process waits.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// DB is a store.Store on a SQLite database. It is safe for concurrent use.
type DB struct {
	w *sql.DB // the one write connection; transactions begin IMMEDIATE
	r *sql.DB // read-only connections; the same pool as w for ":memory:"

	// now is the clock for timestamps the caller did not supply.
	now func() time.Time
	// pruneChunk is how many generations one transaction of
	// PruneGenerations deletes.
	pruneChunk int
}

var (
	_ store.Store   = (*DB)(nil)
	_ store.Billing = (*DB)(nil)
)

const (
	// busyTimeoutMS is how long a connection waits for another process's
	// lock before failing with SQLITE_BUSY.
	busyTimeoutMS = 5000
	// readConns bounds the read pool. Reads are rare off the request path
	// (cache refreshes, management API, reports); a few suffice.
	readConns = 4
)

// Open opens (creating if needed) the database at dsn and applies the
// embedded migrations that it lacks. dsn is "sqlite://./x.db" (relative),
// "sqlite:///abs/x.db" (absolute) or a plain path; ":memory:" (or
// "sqlite://:memory:") opens a private in-memory database, for tests.
//
// A new database file is created with mode 0600, and its directory if
// missing: it holds billing data. Open fails if the database was migrated by
// a newer binary.
func Open(ctx context.Context, dsn string) (*DB, error) {
	path, memory, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	db := &DB{now: time.Now, pruneChunk: defaultPruneChunk}
	if memory {
		// Every connection to ":memory:" is a database of its own, so one
		// connection serves reads and writes alike and must never be closed.
		db.w, err = openPool(pragmaDSN(":memory:", true, false), 1)
		if err != nil {
			return nil, err
		}
		db.w.SetConnMaxLifetime(0)
		db.w.SetConnMaxIdleTime(0)
		db.r = db.w
	} else {
		if err := createFile(path); err != nil {
			return nil, err
		}
		if db.w, err = openPool(pragmaDSN(path, true, true), 1); err != nil {
			return nil, err
		}
	}
	// The write connection is opened first: it switches the file to WAL
	// before any reader connects.
	if err := db.w.PingContext(ctx); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("open sqlite database %s: %w", dsn, err)
	}
	if err := migrate(ctx, db.w, migrationFiles, db.now); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("migrate sqlite database %s: %w", dsn, err)
	}
	if !memory {
		if db.r, err = openPool(pragmaDSN(path, false, true), readConns); err != nil {
			db.w.Close()
			return nil, err
		}
		if err := db.r.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open sqlite database %s: %w", dsn, err)
		}
	}
	return db, nil
}

// Close closes the database. In WAL mode the last connection to close
// checkpoints the WAL into the database file.
func (db *DB) Close() error {
	if db.r == db.w {
		return db.w.Close()
	}
	return errors.Join(db.r.Close(), db.w.Close())
}

// parseDSN returns the file path that dsn names, or memory for ":memory:".
func parseDSN(dsn string) (path string, memory bool, err error) {
	path, _ = strings.CutPrefix(dsn, "sqlite://")
	switch {
	case path == ":memory:":
		return "", true, nil
	case path == "":
		return "", false, fmt.Errorf("sqlite dsn %q: no database path", dsn)
	case strings.ContainsRune(path, '?'):
		// The driver takes everything after '?' as its own parameters.
		return "", false, fmt.Errorf("sqlite dsn %q: query parameters are not supported", dsn)
	case strings.HasPrefix(path, "file:"):
		// The driver would pass it on as a SQLite URI; one form is enough.
		return "", false, fmt.Errorf("sqlite dsn %q: use a plain path, not a file: URI", dsn)
	}
	return path, false, nil
}

// pragmaDSN returns the driver's DSN for path. The settings are _pragma
// parameters so that the driver applies them to every connection it opens,
// including the ones database/sql opens later to replace closed ones.
func pragmaDSN(path string, write, file bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	if write {
		q.Add("_pragma", "foreign_keys(1)")
		// Statement journals (a multi-row INSERT keeps one to undo itself
		// if a row fails) and temporary b-trees live in memory, not in
		// temporary files: no file writes for them.
		q.Add("_pragma", "temp_store(MEMORY)")
		if file {
			// journal_mode is persistent in the file; synchronous=NORMAL is
			// durable across application crashes in WAL mode and loses at
			// most the last transactions on power loss, without an fsync
			// per commit.
			q.Add("_pragma", "journal_mode(WAL)")
			q.Add("_pragma", "synchronous(NORMAL)")
		}
		// Take the write lock at BEGIN: a deferred transaction that reads
		// and then writes can fail with SQLITE_BUSY_SNAPSHOT, which the busy
		// handler cannot wait out.
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_query_only", "1")
	}
	return path + "?" + q.Encode()
}

func openPool(dsn string, conns int) (*sql.DB, error) {
	p, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	p.SetMaxOpenConns(conns)
	p.SetMaxIdleConns(conns)
	return p, nil
}

// createFile creates the database file, and its directory, if missing, so
// that the file gets mode 0600 rather than SQLite's 0644. SQLite gives its
// -wal and -shm files the mode of the database file.
func createFile(path string) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("create sqlite database directory: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create sqlite database: %w", err)
	}
	return f.Close()
}

// nullTime converts a nullable stored time back.
func nullTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := store.FromUnixNanos(n.Int64)
	return &t
}

// Ping implements store.Billing: the write connection answers.
func (db *DB) Ping(ctx context.Context) error { return db.w.PingContext(ctx) }
