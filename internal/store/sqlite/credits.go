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

var _ store.Credits = (*DB)(nil)

// ListLedger implements store.Credits; the index on (account_id,
// created_at), which ends with the rowid, serves the order and the cursor.
func (db *DB) ListLedger(ctx context.Context, accountID string, before *store.LedgerCursor, limit int) ([]store.LedgerEntry, error) {
	q := `SELECT id, account_id, coalesce(key_hash, ''), kind, amount_nanos, memo, coalesce(generation_id, ''), created_at
		FROM ledger_entries WHERE account_id = ?`
	args := []any{accountID}
	if before != nil {
		at, err := store.UnixNanos(before.At)
		if err != nil {
			return nil, fmt.Errorf("list ledger: %w", err)
		}
		q += ` AND (created_at, id) < (?, ?)`
		args = append(args, at, before.ID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	rows, err := db.r.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list ledger: %w", err)
	}
	defer rows.Close()
	var out []store.LedgerEntry
	for rows.Next() {
		var (
			e          store.LedgerEntry
			amount, at int64
		)
		if err := rows.Scan(&e.ID, &e.AccountID, &e.KeyHash, &e.Kind, &amount, &e.Memo, &e.GenerationID, &at); err != nil {
			return nil, fmt.Errorf("list ledger: %w", err)
		}
		e.Amount = money.Nanos(amount)
		e.CreatedAt = store.FromUnixNanos(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
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
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create redeem batch: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO redeem_batches (id, memo, value_nanos, expires_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		b.ID, b.Memo, int64(b.Value), expires, created); err != nil {
		return db.batchErr(b, err)
	}
	for i := range b.Codes {
		c := &b.Codes[i]
		c.BatchID = b.ID
		if _, err := tx.ExecContext(ctx, `INSERT INTO redeem_codes (hash, label, batch_id) VALUES (?, ?, ?)`, c.Hash, c.Label, b.ID); err != nil {
			return db.batchErr(b, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create redeem batch: %w", err)
	}
	b.CreatedAt = store.FromUnixNanos(created)
	return nil
}

func (db *DB) batchErr(b *store.RedeemBatch, err error) error {
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return fmt.Errorf("create redeem batch %s: %w", b.ID, store.ErrConflict)
	}
	return fmt.Errorf("create redeem batch %s: %w", b.ID, err)
}

// ListRedeemBatches implements store.Credits.
func (db *DB) ListRedeemBatches(ctx context.Context) ([]store.RedeemBatch, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT b.id, b.memo, b.value_nanos, b.expires_at, b.created_at,
		c.hash, c.label, coalesce(c.redeemed_by, ''), c.redeemed_at, c.voided_at
		FROM redeem_batches b LEFT JOIN redeem_codes c ON c.batch_id = b.id
		ORDER BY b.created_at DESC, b.id DESC, c.rowid`)
	if err != nil {
		return nil, fmt.Errorf("list redeem batches: %w", err)
	}
	defer rows.Close()
	var out []store.RedeemBatch
	for rows.Next() {
		var (
			b                         store.RedeemBatch
			expires, redeemed, voided sql.NullInt64
			created, value            int64
			hash, label, by           sql.NullString
		)
		if err := rows.Scan(&b.ID, &b.Memo, &value, &expires, &created, &hash, &label, &by, &redeemed, &voided); err != nil {
			return nil, fmt.Errorf("list redeem batches: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != b.ID {
			b.Value, b.ExpiresAt, b.CreatedAt = money.Nanos(value), nullTime(expires), store.FromUnixNanos(created)
			out = append(out, b)
		}
		if hash.Valid {
			last := &out[len(out)-1]
			last.Codes = append(last.Codes, store.RedeemCode{Hash: hash.String, Label: label.String, BatchID: b.ID,
				RedeemedBy: by.String, RedeemedAt: nullTime(redeemed), VoidedAt: nullTime(voided)})
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
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("void redeem codes: %w", err)
	}
	defer tx.Rollback()
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM redeem_codes WHERE batch_id = ? OR hash = ?`, id, id).Scan(&exists); err != nil {
		return 0, fmt.Errorf("void redeem codes: %w", err)
	}
	if exists == 0 {
		var batches int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM redeem_batches WHERE id = ?`, id).Scan(&batches); err != nil {
			return 0, fmt.Errorf("void redeem codes: %w", err)
		}
		if batches == 0 {
			return 0, fmt.Errorf("void redeem codes %s: %w", id, store.ErrNotFound)
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE redeem_codes SET voided_at = ?
		WHERE (batch_id = ? OR hash = ?) AND redeemed_at IS NULL AND voided_at IS NULL`, ts, id, id)
	if err != nil {
		return 0, fmt.Errorf("void redeem codes: %w", err)
	}
	n, err := res.RowsAffected()
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return 0, fmt.Errorf("void redeem codes: %w", err)
	}
	return n, nil
}

// Redeem implements store.Credits. The transaction holds SQLite's one
// write lock (BEGIN IMMEDIATE) from its first statement, so concurrent
// redemptions of a code run one after the other and the second sees the
// code used.
func (db *DB) Redeem(ctx context.Context, hash, accountID string, at time.Time) (*store.Account, *store.RedeemBatch, error) {
	ts, err := store.UnixNanos(store.OrNow(at, db.now()))
	if err != nil {
		return nil, nil, fmt.Errorf("redeem: %w", err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("redeem: %w", err)
	}
	defer tx.Rollback()
	var (
		b                         store.RedeemBatch
		expires, redeemed, voided sql.NullInt64
		created, value            int64
	)
	err = tx.QueryRowContext(ctx, `SELECT b.id, b.memo, b.value_nanos, b.expires_at, b.created_at, c.redeemed_at, c.voided_at
		FROM redeem_codes c JOIN redeem_batches b ON b.id = c.batch_id WHERE c.hash = ?`, hash).
		Scan(&b.ID, &b.Memo, &value, &expires, &created, &redeemed, &voided)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("redeem: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("redeem: %w", err)
	}
	b.Value, b.ExpiresAt, b.CreatedAt = money.Nanos(value), nullTime(expires), store.FromUnixNanos(created)
	if err := store.Redeemable(nullTime(redeemed), nullTime(voided), b.ExpiresAt, store.FromUnixNanos(ts)); err != nil {
		return nil, nil, fmt.Errorf("redeem: %w", err)
	}
	acct, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, accountID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil, fmt.Errorf("redeem: account %s: %w", accountID, store.ErrNotFound)
	case err != nil:
		return nil, nil, fmt.Errorf("redeem: %w", err)
	case acct.Credits == nil:
		return nil, nil, fmt.Errorf("redeem: account %s: %w", accountID, store.ErrUnmetered)
	}
	res, err := tx.ExecContext(ctx, `UPDATE redeem_codes SET redeemed_by = ?, redeemed_at = ?
		WHERE hash = ? AND redeemed_at IS NULL AND voided_at IS NULL`, accountID, ts, hash)
	if err != nil {
		return nil, nil, fmt.Errorf("redeem: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, nil, fmt.Errorf("redeem: %w", store.ErrCodeRedeemed)
	}
	a, err := addCredits(ctx, tx, accountID, b.Value, store.EntryRedeem, b.Memo, ts)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("redeem: %w", err)
	}
	return a, &b, nil
}
