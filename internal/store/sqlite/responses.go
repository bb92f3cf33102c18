package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/switchyard-gw/switchyard/internal/store"
)

var _ store.Responses = (*DB)(nil)

// PutResponse inserts r; store.ErrConflict if its id exists. A zero
// CreatedAt means now.
func (db *DB) PutResponse(ctx context.Context, r *store.StoredResponse) error {
	if r.ID == "" || r.AccountID == "" {
		return errors.New("put response: id and account are required")
	}
	created, err := store.UnixNanos(store.OrNow(r.CreatedAt, db.now()))
	if err != nil {
		return fmt.Errorf("put response: created_at: %w", err)
	}
	var expires sql.NullInt64
	if r.ExpiresAt != nil {
		if expires.Int64, err = store.UnixNanos(*r.ExpiresAt); err != nil {
			return fmt.Errorf("put response: expires_at: %w", err)
		}
		expires.Valid = true
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO responses
		(id, account_id, key_hash, model, conversation, output, response, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.AccountID, r.KeyHash, r.Model, string(r.Conversation), string(r.Output), string(r.Response), created, expires)
	if err != nil {
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
			return fmt.Errorf("put response %s: %w", r.ID, store.ErrConflict)
		}
		return fmt.Errorf("put response: %w", err)
	}
	r.CreatedAt = store.FromUnixNanos(created)
	return nil
}

// GetResponse returns the response id of accountID; store.ErrNotFound if
// it does not exist, belongs to another account or has expired.
func (db *DB) GetResponse(ctx context.Context, accountID, id string) (*store.StoredResponse, error) {
	now, err := store.UnixNanos(db.now())
	if err != nil {
		return nil, fmt.Errorf("get response: %w", err)
	}
	var (
		r                      store.StoredResponse
		conv, output, response string
		created                int64
		expires                sql.NullInt64
	)
	err = db.r.QueryRowContext(ctx, `SELECT id, account_id, key_hash, model, conversation, output, response, created_at, expires_at
		FROM responses WHERE id = ? AND account_id = ? AND (expires_at IS NULL OR expires_at > ?)`, id, accountID, now).Scan(
		&r.ID, &r.AccountID, &r.KeyHash, &r.Model, &conv, &output, &response, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("response %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get response %s: %w", id, err)
	}
	r.Conversation, r.Output, r.Response = []byte(conv), []byte(output), []byte(response)
	r.CreatedAt = store.FromUnixNanos(created)
	r.ExpiresAt = nullTime(expires)
	return &r, nil
}

// DeleteResponse deletes the response id of accountID; store.ErrNotFound
// if there is none to delete (another account's, or expired).
func (db *DB) DeleteResponse(ctx context.Context, accountID, id string) error {
	now, err := store.UnixNanos(db.now())
	if err != nil {
		return fmt.Errorf("delete response: %w", err)
	}
	res, err := db.w.ExecContext(ctx, `DELETE FROM responses
		WHERE id = ? AND account_id = ? AND (expires_at IS NULL OR expires_at > ?)`, id, accountID, now)
	if err != nil {
		return fmt.Errorf("delete response %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete response %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("response %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// PruneResponses deletes the responses expired at now, in chunks of its
// own transactions as PruneGenerations does, and returns how many.
func (db *DB) PruneResponses(ctx context.Context, now time.Time) (int64, error) {
	cutoff, err := store.UnixNanos(now)
	if err != nil {
		return 0, fmt.Errorf("prune responses: %w", err)
	}
	var total int64
	for {
		res, err := db.w.ExecContext(ctx, `DELETE FROM responses WHERE rowid IN
			(SELECT rowid FROM responses WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)`, cutoff, db.pruneChunk)
		if err != nil {
			return total, fmt.Errorf("prune responses: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune responses: %w", err)
		}
		total += n
		if n < int64(db.pruneChunk) {
			return total, nil
		}
	}
}
