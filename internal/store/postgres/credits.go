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

var _ store.Credits = (*DB)(nil)

// ListLedger implements store.Credits; the index on (account_id,
// created_at, id) (0011) serves the order and the cursor.
func (db *DB) ListLedger(ctx context.Context, accountID string, before *store.LedgerCursor, limit int) ([]store.LedgerEntry, error) {
	q := `SELECT id, account_id, coalesce(key_hash, ''), kind, amount_nanos, memo, coalesce(generation_id, ''), created_at
		FROM ledger_entries WHERE account_id = $1`
	args := []any{accountID, limit}
	if before != nil {
		at, err := store.UnixNanos(before.At)
		if err != nil {
			return nil, fmt.Errorf("list ledger: %w", err)
		}
		q += ` AND (created_at, id) < ($3, $4)`
		args = append(args, at, before.ID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT $2`
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	out, err := collectRows(rows, func(row pgx.CollectableRow) (store.LedgerEntry, error) {
		var (
			e          store.LedgerEntry
			amount, at int64
		)
		err := row.Scan(&e.ID, &e.AccountID, &e.KeyHash, &e.Kind, &amount, &e.Memo, &e.GenerationID, &at)
		e.Amount, e.CreatedAt = money.Nanos(amount), store.FromUnixNanos(at)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	return out, nil
}

// CreateRedeemBatch implements store.Credits.
func (db *DB) CreateRedeemBatch(ctx context.Context, b *store.RedeemBatch) error {
	created, expires, err := store.RedeemBatchTimes(b, db.now())
	if err != nil {
		return fmt.Errorf("create redeem batch: %w", err)
	}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO redeem_batches (id, memo, value_nanos, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
			b.ID, b.Memo, int64(b.Value), expires, created); err != nil {
			return err
		}
		hashes, labels := make([]string, len(b.Codes)), make([]string, len(b.Codes))
		for i := range b.Codes {
			b.Codes[i].BatchID = b.ID
			hashes[i], labels[i] = b.Codes[i].Hash, b.Codes[i].Label
		}
		_, err := tx.Exec(ctx, `INSERT INTO redeem_codes (hash, label, batch_id)
			SELECT h, l, $3 FROM unnest($1::text[], $2::text[]) AS t (h, l)`, hashes, labels, b.ID)
		return err
	})
	if isCode(err, uniqueViolation) {
		return fmt.Errorf("create redeem batch %s: %w", b.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create redeem batch %s: %w", b.ID, err)
	}
	b.CreatedAt = store.FromUnixNanos(created)
	return nil
}

// ListRedeemBatches implements store.Credits.
func (db *DB) ListRedeemBatches(ctx context.Context) ([]store.RedeemBatch, error) {
	rows, err := db.pool.Query(ctx, `SELECT b.id, b.memo, b.value_nanos, b.expires_at, b.created_at,
		c.hash, c.label, coalesce(c.redeemed_by, ''), c.redeemed_at, c.voided_at
		FROM redeem_batches b LEFT JOIN redeem_codes c ON c.batch_id = b.id
		ORDER BY b.created_at DESC, b.id DESC, c.label, c.hash`)
	if err != nil {
		return nil, fmt.Errorf("list redeem batches: %w", err)
	}
	defer rows.Close()
	var out []store.RedeemBatch
	for rows.Next() {
		var (
			b                         store.RedeemBatch
			expires, redeemed, voided *int64
			created, value            int64
			hash, label, by           *string
		)
		if err := rows.Scan(&b.ID, &b.Memo, &value, &expires, &created, &hash, &label, &by, &redeemed, &voided); err != nil {
			return nil, fmt.Errorf("list redeem batches: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != b.ID {
			b.Value, b.ExpiresAt, b.CreatedAt = money.Nanos(value), timeOrNil(expires), store.FromUnixNanos(created)
			out = append(out, b)
		}
		if hash != nil {
			last := &out[len(out)-1]
			last.Codes = append(last.Codes, store.RedeemCode{Hash: *hash, Label: *label, BatchID: b.ID,
				RedeemedBy: *by, RedeemedAt: timeOrNil(redeemed), VoidedAt: timeOrNil(voided)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list redeem batches: %w", err)
	}
	return out, nil
}

// VoidRedeemCodes implements store.Credits.
func (db *DB) VoidRedeemCodes(ctx context.Context, id string, at time.Time) (int64, error) {
	ts, err := store.UnixNanos(store.OrNow(at, db.now()))
	if err != nil {
		return 0, fmt.Errorf("void redeem codes: %w", err)
	}
	var n int64
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM redeem_batches WHERE id = $1)
			OR EXISTS (SELECT 1 FROM redeem_codes WHERE hash = $1)`, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return store.ErrNotFound
		}
		tag, err := tx.Exec(ctx, `UPDATE redeem_codes SET voided_at = $1
			WHERE (batch_id = $2 OR hash = $2) AND redeemed_at IS NULL AND voided_at IS NULL`, ts, id)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("void redeem codes %s: %w", id, err)
	}
	return n, nil
}

// Redeem implements store.Credits. The account's row is locked first, then
// the code's by the UPDATE that claims it: of concurrent redemptions of
// one code, the first to update it wins, and the others, waiting on its
// row lock, find it redeemed when they go on (the UPDATE's condition is
// checked again against the committed row) and change nothing.
func (db *DB) Redeem(ctx context.Context, hash, accountID string, at time.Time) (*store.Account, *store.RedeemBatch, error) {
	ts, err := store.UnixNanos(store.OrNow(at, db.now()))
	if err != nil {
		return nil, nil, fmt.Errorf("redeem: %w", err)
	}
	var (
		a *store.Account
		b store.RedeemBatch
	)
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var (
			expires, redeemed, voided *int64
			created, value            int64
		)
		err := tx.QueryRow(ctx, `SELECT b.id, b.memo, b.value_nanos, b.expires_at, b.created_at, c.redeemed_at, c.voided_at
			FROM redeem_codes c JOIN redeem_batches b ON b.id = c.batch_id WHERE c.hash = $1`, hash).
			Scan(&b.ID, &b.Memo, &value, &expires, &created, &redeemed, &voided)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		b.Value, b.ExpiresAt, b.CreatedAt = money.Nanos(value), timeOrNil(expires), store.FromUnixNanos(created)
		if err := store.Redeemable(timeOrNil(redeemed), timeOrNil(voided), b.ExpiresAt, store.FromUnixNanos(ts)); err != nil {
			return err
		}
		acct, err := lockAccount(ctx, tx, accountID)
		if err != nil {
			return fmt.Errorf("account %s: %w", accountID, err)
		}
		if acct.Credits == nil {
			return fmt.Errorf("account %s: %w", accountID, store.ErrUnmetered)
		}
		err = tx.QueryRow(ctx, `UPDATE redeem_codes SET redeemed_by = $1, redeemed_at = $2
			WHERE hash = $3 AND redeemed_at IS NULL AND voided_at IS NULL
			RETURNING NULL`, accountID, ts, hash).Scan(new(any))
		if errors.Is(err, pgx.ErrNoRows) {
			// Claimed or voided since the read above: tell which.
			if err := tx.QueryRow(ctx, `SELECT redeemed_at, voided_at FROM redeem_codes WHERE hash = $1`, hash).Scan(&redeemed, &voided); err != nil {
				return err
			}
			if voided != nil {
				return store.ErrCodeVoided
			}
			return store.ErrCodeRedeemed
		}
		if err != nil {
			return err
		}
		a, err = addCredits(ctx, tx, accountID, b.Value, store.EntryRedeem, b.Memo, ts)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("redeem: %w", err)
	}
	return a, &b, nil
}
