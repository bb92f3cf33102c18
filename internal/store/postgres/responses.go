package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	var expires *int64
	if r.ExpiresAt != nil {
		n, err := store.UnixNanos(*r.ExpiresAt)
		if err != nil {
			return fmt.Errorf("put response: expires_at: %w", err)
		}
		expires = &n
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO responses
		(id, account_id, key_hash, model, conversation, output, response, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		r.ID, r.AccountID, r.KeyHash, r.Model, string(r.Conversation), string(r.Output), string(r.Response), created, expires)
	if isCode(err, uniqueViolation) {
		return fmt.Errorf("put response %s: %w", r.ID, store.ErrConflict)
	}
	if err != nil {
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
		expires                *int64
	)
	err = db.pool.QueryRow(ctx, `SELECT id, account_id, key_hash, model, conversation, output, response, created_at, expires_at
		FROM responses WHERE id = $1 AND account_id = $2 AND (expires_at IS NULL OR expires_at > $3)`, id, accountID, now).Scan(
		&r.ID, &r.AccountID, &r.KeyHash, &r.Model, &conv, &output, &response, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("response %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get response %s: %w", id, err)
	}
	r.Conversation, r.Output, r.Response = []byte(conv), []byte(output), []byte(response)
	r.CreatedAt = store.FromUnixNanos(created)
	r.ExpiresAt = timeOrNil(expires)
	return &r, nil
}

// DeleteResponse deletes the response id of accountID; store.ErrNotFound
// if there is none to delete (another account's, or expired).
func (db *DB) DeleteResponse(ctx context.Context, accountID, id string) error {
	now, err := store.UnixNanos(db.now())
	if err != nil {
		return fmt.Errorf("delete response: %w", err)
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM responses
		WHERE id = $1 AND account_id = $2 AND (expires_at IS NULL OR expires_at > $3)`, id, accountID, now)
	if err != nil {
		return fmt.Errorf("delete response %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("response %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// PruneResponses deletes the responses expired at now, in chunks, and
// returns how many.
func (db *DB) PruneResponses(ctx context.Context, now time.Time) (int64, error) {
	cutoff, err := store.UnixNanos(now)
	if err != nil {
		return 0, fmt.Errorf("prune responses: %w", err)
	}
	n, err := db.pruneChunks(ctx, `DELETE FROM responses WHERE id IN
		(SELECT id FROM responses WHERE expires_at IS NOT NULL AND expires_at <= $1 LIMIT $2)`, cutoff)
	if err != nil {
		return n, fmt.Errorf("prune responses: %w", err)
	}
	return n, nil
}

// pruneChunks runs a DELETE of at most $2 rows older than $1 until it
// deletes fewer, each its own transaction, and returns how many it deleted.
func (db *DB) pruneChunks(ctx context.Context, query string, cutoff int64) (int64, error) {
	var total int64
	for {
		tag, err := db.pool.Exec(ctx, query, cutoff, db.pruneChunk)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < int64(db.pruneChunk) {
			return total, nil
		}
	}
}
