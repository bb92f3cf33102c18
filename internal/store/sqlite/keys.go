package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

const keyColumns = `hash, label, name, kind, account_id, limit_nanos, limit_reset,
	expires_at, disabled, allowed_models, created_at, updated_at, deleted_at,
	rate_rpm, rate_tpm, rate_concurrency, leak_report`

// CreateKey inserts k. It returns store.ErrConflict if a key with k.Hash
// exists, even deleted, and an error wrapping store.ErrNotFound if
// k.AccountID names no account. An empty AccountID means
// store.DefaultAccountID; a zero CreatedAt or UpdatedAt means now. On
// success k holds the stored AccountID, CreatedAt and UpdatedAt.
//
// An UpdatedAt left zero is also made later than that of every key already
// stored, so that a KeysChangedSince poller never misses a change committed
// after its last read. An explicit UpdatedAt (imports, tests) is stored as
// given.
func (db *DB) CreateKey(ctx context.Context, k *store.Key) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	accountID := k.AccountID
	if accountID == "" {
		accountID = store.DefaultAccountID
	}
	limit, expires, modelsJSON, err := mutableKeyValues(k)
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	leak, err := store.LeakColumn(k.Leak)
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	now := db.now()
	created, err := store.UnixNanos(store.OrNow(k.CreatedAt, now))
	if err != nil {
		return fmt.Errorf("create key: created_at: %w", err)
	}
	updated, err := store.UnixNanos(store.OrNow(k.UpdatedAt, now))
	if err != nil {
		return fmt.Errorf("create key: updated_at: %w", err)
	}

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE hash = ?`, k.Hash).Scan(&n); err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("create key %s: %w", k.Hash, store.ErrConflict)
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE id = ?`, accountID).Scan(&n); err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("create key: account %q: %w", accountID, store.ErrNotFound)
	}
	if k.UpdatedAt.IsZero() {
		if updated, err = nextUpdatedAt(ctx, tx, updated); err != nil {
			return fmt.Errorf("create key: %w", err)
		}
	}
	rpm, tpm, conc := k.RateLimits.Columns()
	_, err = tx.ExecContext(ctx, `INSERT INTO api_keys (`+keyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)`,
		k.Hash, k.Label, k.Name, string(k.Kind), accountID, limit, k.LimitReset,
		expires, k.Disabled, modelsJSON, created, updated, rpm, tpm, conc, leak)
	if err != nil {
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
			return fmt.Errorf("create key %s: %w", k.Hash, store.ErrConflict)
		}
		return fmt.Errorf("create key: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	k.AccountID = accountID
	k.CreatedAt = store.FromUnixNanos(created)
	k.UpdatedAt = store.FromUnixNanos(updated)
	return nil
}

// ListKeys returns every key not deleted, oldest first.
func (db *DB) ListKeys(ctx context.Context) ([]store.Key, error) {
	keys, err := db.queryKeys(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE deleted_at IS NULL ORDER BY created_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// GetKey returns the live key with this hash, or store.ErrNotFound if it is
// absent or deleted.
func (db *DB) GetKey(ctx context.Context, hash string) (*store.Key, error) {
	keys, err := db.queryKeys(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE hash = ? AND deleted_at IS NULL`, hash)
	if err != nil {
		return nil, fmt.Errorf("get key: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("key %s: %w", hash, store.ErrNotFound)
	}
	return &keys[0], nil
}

// KeysChangedSince returns every key, deleted ones included, whose UpdatedAt
// is after t, in UpdatedAt order. A poller should pass the largest UpdatedAt
// it has seen (not its own clock): changes are stamped later than every key
// already stored, so none committed after a read is missed.
func (db *DB) KeysChangedSince(ctx context.Context, t time.Time) ([]store.Key, error) {
	if t.After(store.MaxTime) {
		return nil, nil
	}
	query := `SELECT ` + keyColumns + ` FROM api_keys WHERE updated_at > ? ORDER BY updated_at, rowid`
	since := int64(math.MinInt64)
	if t.Before(store.MinTime) {
		// Every stored time is after t, even one of exactly math.MinInt64.
		query = `SELECT ` + keyColumns + ` FROM api_keys WHERE updated_at >= ? ORDER BY updated_at, rowid`
	} else {
		since = t.UnixNano()
	}
	keys, err := db.queryKeys(ctx, query, since)
	if err != nil {
		return nil, fmt.Errorf("keys changed since %s: %w", t.Format(time.RFC3339Nano), err)
	}
	return keys, nil
}

// DeleteKey marks the key deleted at at (now if zero) and makes its
// UpdatedAt later than that of every other key, so that KeysChangedSince
// reports the delete. It returns store.ErrNotFound if the key is absent or
// already deleted.
func (db *DB) DeleteKey(ctx context.Context, hash string, at time.Time) error {
	deleted, err := store.UnixNanos(store.OrNow(at, db.now()))
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	defer tx.Rollback()
	updated, err := nextUpdatedAt(ctx, tx, deleted)
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE api_keys SET deleted_at = ?, updated_at = ?
		WHERE hash = ? AND deleted_at IS NULL`, deleted, updated, hash)
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("delete key %s: %w", hash, store.ErrNotFound)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	return nil
}

// UpdateKey writes the mutable fields of k (name, limit, limit_reset,
// expires_at, disabled, allowed_models, rate_limits, leak) and, like DeleteKey, stamps it with
// an UpdatedAt later than that of every other key, so that KeysChangedSince
// reports the change; k.UpdatedAt is set to it. It returns store.ErrNotFound
// if the key is absent or deleted. The key's usage is left alone: the
// accountant moves a key into a new limit period by itself.
func (db *DB) UpdateKey(ctx context.Context, k *store.Key) error {
	if !store.IsKeyHash(k.Hash) {
		return fmt.Errorf("update key: hash is not a lowercase hex SHA-256")
	}
	if err := store.ValidateLimitReset(k.LimitReset); err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	if err := k.RateLimits.Validate(); err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	limit, expires, modelsJSON, err := mutableKeyValues(k)
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	leak, err := store.LeakColumn(k.Leak)
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	now, err := store.UnixNanos(db.now())
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	defer tx.Rollback()
	updated, err := nextUpdatedAt(ctx, tx, now)
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	rpm, tpm, conc := k.RateLimits.Columns()
	res, err := tx.ExecContext(ctx, `UPDATE api_keys SET name = ?, limit_nanos = ?, limit_reset = ?,
		expires_at = ?, disabled = ?, allowed_models = ?, updated_at = ?,
		rate_rpm = ?, rate_tpm = ?, rate_concurrency = ?, leak_report = ?
		WHERE hash = ? AND deleted_at IS NULL`,
		k.Name, limit, k.LimitReset, expires, k.Disabled, modelsJSON, updated, rpm, tpm, conc, leak, k.Hash)
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("update key %s: %w", k.Hash, store.ErrNotFound)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	k.UpdatedAt = store.FromUnixNanos(updated)
	return nil
}

// mutableKeyValues returns the stored form of the columns UpdateKey writes
// that need converting: limit_nanos, expires_at and allowed_models.
func mutableKeyValues(k *store.Key) (limit, expires sql.NullInt64, modelsJSON string, err error) {
	limit = nullNanos(k.Limit)
	if k.ExpiresAt != nil {
		n, err := store.UnixNanos(*k.ExpiresAt)
		if err != nil {
			return limit, expires, "", fmt.Errorf("expires_at: %w", err)
		}
		expires = sql.NullInt64{Int64: n, Valid: true}
	}
	models := k.AllowedModels
	if models == nil {
		models = []string{}
	}
	b, err := json.Marshal(models)
	if err != nil {
		return limit, expires, "", err
	}
	return limit, expires, string(b), nil
}

// nextUpdatedAt returns the updated_at to stamp a change with: at, or later
// if some key already has an updated_at at or after at. Run in a write
// transaction, it makes updated_at grow in commit order, across processes
// too (SQLite has one writer), whatever the clocks do.
func nextUpdatedAt(ctx context.Context, tx *sql.Tx, at int64) (int64, error) {
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(updated_at) FROM api_keys`).Scan(&last); err != nil {
		return 0, err
	}
	if last.Valid && last.Int64 >= at && last.Int64 < math.MaxInt64 {
		return last.Int64 + 1, nil
	}
	return at, nil
}

func (db *DB) queryKeys(ctx context.Context, query string, args ...any) ([]store.Key, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []store.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// scanKey reads a row of keyColumns.
func scanKey(rows *sql.Rows) (store.Key, error) {
	var (
		k                         store.Key
		kind, models              string
		limit, expires, deletedAt sql.NullInt64
		created, updated          int64
		rl                        store.RateLimits
		leak                      string
	)
	err := rows.Scan(&k.Hash, &k.Label, &k.Name, &kind, &k.AccountID, &limit, &k.LimitReset,
		&expires, &k.Disabled, &models, &created, &updated, &deletedAt, &rl.RPM, &rl.TPM, &rl.Concurrency, &leak)
	if err != nil {
		return store.Key{}, err
	}
	k.Kind = store.KeyKind(kind)
	if limit.Valid {
		l := money.Nanos(limit.Int64)
		k.Limit = &l
	}
	k.ExpiresAt = nullTime(expires)
	if err := json.Unmarshal([]byte(models), &k.AllowedModels); err != nil {
		return store.Key{}, fmt.Errorf("key %s: allowed_models: %w", k.Hash, err)
	}
	if len(k.AllowedModels) == 0 {
		k.AllowedModels = nil
	}
	k.CreatedAt = store.FromUnixNanos(created)
	k.UpdatedAt = store.FromUnixNanos(updated)
	k.DeletedAt = nullTime(deletedAt)
	k.RateLimits = rl.Normalize()
	if k.Leak, err = store.ParseLeakColumn(leak); err != nil {
		return store.Key{}, fmt.Errorf("key %s: %w", k.Hash, err)
	}
	return k, nil
}

// isConstraint reports whether err is SQLite's extended result code code.
func isConstraint(err error, code int) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == code
}
