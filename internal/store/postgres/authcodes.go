package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	var limit *int64
	if c.Limit != nil {
		l := int64(*c.Limit)
		limit = &l
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO auth_codes
		(hash, account_id, challenge, method, callback_url, app_id, limit_nanos, granted_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.Hash, c.AccountID, c.Challenge, c.Method, c.CallbackURL, c.AppID, limit, c.GrantedBy, created, expires)
	if isCode(err, uniqueViolation) {
		return fmt.Errorf("put auth code: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("put auth code: %w", err)
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM auth_codes WHERE expires_at <= $1`, created); err != nil {
		return fmt.Errorf("prune auth codes: %w", err)
	}
	return nil
}

// TakeAuthCode deletes and returns the code with hash if it is live at
// now. Of concurrent DELETEs of one row, one deletes it; the others wait
// for its lock, then find the row gone.
func (db *DB) TakeAuthCode(ctx context.Context, hash string, now time.Time) (*store.AuthCode, error) {
	n, err := store.UnixNanos(now)
	if err != nil {
		return nil, fmt.Errorf("take auth code: %w", err)
	}
	var (
		c                store.AuthCode
		limit            *int64
		created, expires int64
	)
	err = db.pool.QueryRow(ctx, `DELETE FROM auth_codes WHERE hash = $1 AND expires_at > $2
		RETURNING hash, account_id, challenge, method, callback_url, app_id, limit_nanos, granted_by, created_at, expires_at`, hash, n).Scan(
		&c.Hash, &c.AccountID, &c.Challenge, &c.Method, &c.CallbackURL, &c.AppID, &limit, &c.GrantedBy, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("auth code: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("take auth code: %w", err)
	}
	if limit != nil {
		l := money.Nanos(*limit)
		c.Limit = &l
	}
	c.CreatedAt, c.ExpiresAt = store.FromUnixNanos(created), store.FromUnixNanos(expires)
	return &c, nil
}
