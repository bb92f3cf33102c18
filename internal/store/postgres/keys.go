package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

const keyColumns = `hash, label, name, kind, account_id, limit_nanos, limit_reset,
	expires_at, disabled, allowed_models, created_at, updated_at, deleted_at,
	rate_rpm, rate_tpm, rate_concurrency, leak_report`

// lockKeyStamps serialises the transactions that stamp api_keys.updated_at
// (CreateKey, UpdateKey, DeleteKey) until they commit, so that stamps grow
// in commit order; see nextUpdatedAt.
const lockKeyStamps = `SELECT pg_advisory_xact_lock(hashtext('switchyard.api_keys.' || current_schema()))`

// CreateKey inserts k, with the semantics of store/sqlite's CreateKey:
// store.ErrConflict if the hash exists (even deleted), an error wrapping
// store.ErrNotFound if the account does not exist, zero times mean now, and
// a zero UpdatedAt is stamped later than every stored key's.
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
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if k.UpdatedAt.IsZero() {
			if updated, err = nextUpdatedAt(ctx, tx, updated); err != nil {
				return err
			}
		}
		rpm, tpm, conc := k.RateLimits.Columns()
		_, err := tx.Exec(ctx, `INSERT INTO api_keys (`+keyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14, $15, $16)`,
			k.Hash, k.Label, k.Name, string(k.Kind), accountID, limit, k.LimitReset,
			expires, k.Disabled, modelsJSON, created, updated, rpm, tpm, conc, leak)
		return err
	})
	switch {
	case isCode(err, uniqueViolation):
		return fmt.Errorf("create key %s: %w", k.Hash, store.ErrConflict)
	case isCode(err, foreignKeyViolation):
		return fmt.Errorf("create key: account %q: %w", accountID, store.ErrNotFound)
	case err != nil:
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
		WHERE deleted_at IS NULL ORDER BY created_at, seq`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// GetKey returns the live key with this hash, or store.ErrNotFound.
func (db *DB) GetKey(ctx context.Context, hash string) (*store.Key, error) {
	keys, err := db.queryKeys(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE hash = $1 AND deleted_at IS NULL`, hash)
	if err != nil {
		return nil, fmt.Errorf("get key: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("key %s: %w", hash, store.ErrNotFound)
	}
	return &keys[0], nil
}

// KeysChangedSince returns every key, deleted ones included, whose UpdatedAt
// is after t, in UpdatedAt order.
func (db *DB) KeysChangedSince(ctx context.Context, t time.Time) ([]store.Key, error) {
	if t.After(store.MaxTime) {
		return nil, nil
	}
	query := `SELECT ` + keyColumns + ` FROM api_keys WHERE updated_at > $1 ORDER BY updated_at, seq`
	since := int64(math.MinInt64)
	if t.Before(store.MinTime) {
		query = `SELECT ` + keyColumns + ` FROM api_keys WHERE updated_at >= $1 ORDER BY updated_at, seq`
	} else {
		since = t.UnixNano()
	}
	keys, err := db.queryKeys(ctx, query, since)
	if err != nil {
		return nil, fmt.Errorf("keys changed since %s: %w", t.Format(time.RFC3339Nano), err)
	}
	return keys, nil
}

// DeleteKey marks the key deleted at at (now if zero), stamped as a change;
// store.ErrNotFound if it is absent or deleted.
func (db *DB) DeleteKey(ctx context.Context, hash string, at time.Time) error {
	deleted, err := store.UnixNanos(store.OrNow(at, db.now()))
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		updated, err := nextUpdatedAt(ctx, tx, deleted)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET deleted_at = $1, updated_at = $2
			WHERE hash = $3 AND deleted_at IS NULL`, deleted, updated, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("delete key %s: %w", hash, store.ErrNotFound)
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete key: %w", err)
	}
	return err
}

// UpdateKey writes the mutable fields of k, stamped as a change, and sets
// k.UpdatedAt; store.ErrNotFound if the key is absent or deleted.
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
	var updated int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if updated, err = nextUpdatedAt(ctx, tx, now); err != nil {
			return err
		}
		rpm, tpm, conc := k.RateLimits.Columns()
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET name = $1, limit_nanos = $2, limit_reset = $3,
			expires_at = $4, disabled = $5, allowed_models = $6, updated_at = $7,
			rate_rpm = $9, rate_tpm = $10, rate_concurrency = $11, leak_report = $12
			WHERE hash = $8 AND deleted_at IS NULL`,
			k.Name, limit, k.LimitReset, expires, k.Disabled, modelsJSON, updated, k.Hash, rpm, tpm, conc, leak)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("update key %s: %w", k.Hash, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		return fmt.Errorf("update key: %w", err)
	}
	k.UpdatedAt = store.FromUnixNanos(updated)
	return nil
}

// mutableKeyValues returns the stored form of limit_nanos, expires_at and
// allowed_models.
func mutableKeyValues(k *store.Key) (limit, expires *int64, modelsJSON string, err error) {
	if k.Limit != nil {
		l := int64(*k.Limit)
		limit = &l
	}
	if k.ExpiresAt != nil {
		n, err := store.UnixNanos(*k.ExpiresAt)
		if err != nil {
			return nil, nil, "", fmt.Errorf("expires_at: %w", err)
		}
		expires = &n
	}
	models := k.AllowedModels
	if models == nil {
		models = []string{}
	}
	b, err := json.Marshal(models)
	if err != nil {
		return nil, nil, "", err
	}
	return limit, expires, string(b), nil
}

// nextUpdatedAt takes the key-stamp lock and returns the updated_at to
// stamp a change with: at, or later if some key already has an updated_at
// at or after at. Stamps therefore grow in commit order, across gateway
// instances too, whatever their clocks do.
func nextUpdatedAt(ctx context.Context, tx pgx.Tx, at int64) (int64, error) {
	if _, err := tx.Exec(ctx, lockKeyStamps); err != nil {
		return 0, err
	}
	var last *int64
	if err := tx.QueryRow(ctx, `SELECT max(updated_at) FROM api_keys`).Scan(&last); err != nil {
		return 0, err
	}
	if last != nil && *last >= at && *last < math.MaxInt64 {
		return *last + 1, nil
	}
	return at, nil
}

func (db *DB) queryKeys(ctx context.Context, query string, args ...any) ([]store.Key, error) {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collectRows(rows, scanKey)
}

// scanKey reads a row of keyColumns.
func scanKey(row pgx.CollectableRow) (store.Key, error) {
	var (
		k                         store.Key
		kind, models              string
		limit, expires, deletedAt *int64
		created, updated          int64
		rl                        store.RateLimits
		leak                      string
	)
	err := row.Scan(&k.Hash, &k.Label, &k.Name, &kind, &k.AccountID, &limit, &k.LimitReset,
		&expires, &k.Disabled, &models, &created, &updated, &deletedAt, &rl.RPM, &rl.TPM, &rl.Concurrency, &leak)
	if err != nil {
		return store.Key{}, err
	}
	k.Kind = store.KeyKind(kind)
	k.Limit = nanosOrNil(limit)
	k.ExpiresAt = timeOrNil(expires)
	if err := json.Unmarshal([]byte(models), &k.AllowedModels); err != nil {
		return store.Key{}, fmt.Errorf("key %s: allowed_models: %w", k.Hash, err)
	}
	if len(k.AllowedModels) == 0 {
		k.AllowedModels = nil
	}
	k.CreatedAt = store.FromUnixNanos(created)
	k.UpdatedAt = store.FromUnixNanos(updated)
	k.DeletedAt = timeOrNil(deletedAt)
	k.RateLimits = rl.Normalize()
	if k.Leak, err = store.ParseLeakColumn(leak); err != nil {
		return store.Key{}, fmt.Errorf("key %s: %w", k.Hash, err)
	}
	return k, nil
}

// timeOrNil reads a nullable stored time.
func timeOrNil(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := store.FromUnixNanos(*n)
	return &t
}

// nanosOrNil reads a nullable stored amount.
func nanosOrNil(n *int64) *money.Nanos {
	if n == nil {
		return nil
	}
	v := money.Nanos(*n)
	return &v
}

// nullNanos is the stored form of an optional amount.
func nullNanos(n *money.Nanos) *int64 {
	if n == nil {
		return nil
	}
	v := int64(*n)
	return &v
}
