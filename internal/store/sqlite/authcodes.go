package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

var _ store.AuthCodes = (*DB)(nil)

// PutAuthCode inserts c, then deletes the codes expired at c.CreatedAt.
func (db *DB) PutAuthCode(ctx context.Context, c *store.AuthCode) error {
	created, err := store.UnixNanos(c.CreatedAt)
	if err != nil {
		return fmt.Errorf("put auth code: created_at: %w", err)
	}
	expires, err := store.UnixNanos(c.ExpiresAt)
	if err != nil {
		return fmt.Errorf("put auth code: expires_at: %w", err)
	}
	var limit sql.NullInt64
	if c.Limit != nil {
		limit = sql.NullInt64{Int64: int64(*c.Limit), Valid: true}
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO auth_codes
		(hash, account_id, challenge, method, callback_url, app_id, limit_nanos, granted_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.AccountID, c.Challenge, c.Method, c.CallbackURL, c.AppID, limit, c.GrantedBy, created, expires)
	if err != nil {
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
			return fmt.Errorf("put auth code: %w", store.ErrConflict)
		}
		return fmt.Errorf("put auth code: %w", err)
	}
	if _, err := db.w.ExecContext(ctx, `DELETE FROM auth_codes WHERE expires_at <= ?`, created); err != nil {
		return fmt.Errorf("prune auth codes: %w", err)
	}
	return nil
}

// TakeAuthCode deletes and returns the code with hash if it is live at
// now. One DELETE … RETURNING on the one write connection: atomic.
func (db *DB) TakeAuthCode(ctx context.Context, hash string, now time.Time) (*store.AuthCode, error) {
	n, err := store.UnixNanos(now)
	if err != nil {
		return nil, fmt.Errorf("take auth code: %w", err)
	}
	var (
		c                store.AuthCode
		limit            sql.NullInt64
		created, expires int64
	)
	err = db.w.QueryRowContext(ctx, `DELETE FROM auth_codes WHERE hash = ? AND expires_at > ?
		RETURNING hash, account_id, challenge, method, callback_url, app_id, limit_nanos, granted_by, created_at, expires_at`, hash, n).Scan(
		&c.Hash, &c.AccountID, &c.Challenge, &c.Method, &c.CallbackURL, &c.AppID, &limit, &c.GrantedBy, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("auth code: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("take auth code: %w", err)
	}
	if limit.Valid {
		l := money.Nanos(limit.Int64)
		c.Limit = &l
	}
	c.CreatedAt, c.ExpiresAt = store.FromUnixNanos(created), store.FromUnixNanos(expires)
	return &c, nil
}
