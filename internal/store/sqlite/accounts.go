package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

const accountColumns = `id, name, credits_nanos, created_at, updated_at, rate_rpm, rate_tpm, rate_concurrency`

// CreateAccount inserts a. It returns store.ErrConflict if the id exists.
// A zero CreatedAt means now, a zero UpdatedAt means CreatedAt; on success a
// holds the stored times. Initial credits are recorded in the ledger as an
// "adjust" entry, so that an account's ledger always sums to its balance.
func (db *DB) CreateAccount(ctx context.Context, a *store.Account) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	created, err := store.UnixNanos(store.OrNow(a.CreatedAt, db.now()))
	if err != nil {
		return fmt.Errorf("create account: created_at: %w", err)
	}
	updated := created
	if !a.UpdatedAt.IsZero() {
		if updated, err = store.UnixNanos(a.UpdatedAt); err != nil {
			return fmt.Errorf("create account: updated_at: %w", err)
		}
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	defer tx.Rollback()
	rpm, tpm, conc := a.RateLimits.Columns()
	_, err = tx.ExecContext(ctx, `INSERT INTO accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Name, nullNanos(a.Credits), created, updated, rpm, tpm, conc)
	if err != nil {
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
			return fmt.Errorf("create account %s: %w", a.ID, store.ErrConflict)
		}
		return fmt.Errorf("create account: %w", err)
	}
	if a.Credits != nil && *a.Credits != 0 {
		if err := insertEntry(ctx, tx, a.ID, store.EntryAdjust, *a.Credits, "initial credits", created); err != nil {
			return fmt.Errorf("create account: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	a.CreatedAt = store.FromUnixNanos(created)
	a.UpdatedAt = store.FromUnixNanos(updated)
	return nil
}

// ListAccounts returns every account, oldest first.
func (db *DB) ListAccounts(ctx context.Context) ([]store.Account, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var accounts []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		accounts = append(accounts, *a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return accounts, nil
}

// GetAccount returns the account id, or store.ErrNotFound.
func (db *DB) GetAccount(ctx context.Context, id string) (*store.Account, error) {
	a, err := scanAccount(db.r.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("account %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get account %s: %w", id, err)
	}
	return a, nil
}

// UpdateAccount sets the name, credits and rate limits of the account a.ID (nil credits:
// unmetered) and bumps its UpdatedAt; on success a holds the stored
// CreatedAt and UpdatedAt. It returns store.ErrNotFound for an unknown
// account. A change of credits is recorded in the ledger as an "adjust"
// entry of the difference (an unmetered account counting as 0), so that an
// account's ledger always sums to its balance.
func (db *DB) UpdateAccount(ctx context.Context, a *store.Account) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	now, err := store.UnixNanos(db.now())
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	defer tx.Rollback()
	old, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, a.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("update account %s: %w", a.ID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	var updated int64
	rpm, tpm, conc := a.RateLimits.Columns()
	err = tx.QueryRowContext(ctx, `UPDATE accounts SET name = ?, credits_nanos = ?, updated_at = max(updated_at, ?),
		rate_rpm = ?, rate_tpm = ?, rate_concurrency = ?
		WHERE id = ? RETURNING updated_at`, a.Name, nullNanos(a.Credits), now, rpm, tpm, conc, a.ID).Scan(&updated)
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	if change := valueOrZero(a.Credits) - valueOrZero(old.Credits); change != 0 || (a.Credits == nil) != (old.Credits == nil) {
		memo := "credits set to $" + valueOrZero(a.Credits).String()
		if a.Credits == nil {
			memo = "credits set to unmetered"
		}
		if err := insertEntry(ctx, tx, a.ID, store.EntryAdjust, change, memo, now); err != nil {
			return fmt.Errorf("update account: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	a.CreatedAt = old.CreatedAt
	a.UpdatedAt = store.FromUnixNanos(updated)
	return nil
}

// TopUp adds amount (> 0) to the credits of the account accountID, an
// unmetered account becoming prepaid with credits = amount, and records a
// "topup" ledger entry with memo, at at (now if zero), in one transaction.
// It returns the account after, or store.ErrNotFound.
func (db *DB) TopUp(ctx context.Context, accountID string, amount money.Nanos, memo string, at time.Time) (*store.Account, error) {
	if amount <= 0 {
		return nil, fmt.Errorf("top up account %s: amount $%s is not positive", accountID, amount)
	}
	ts, err := store.UnixNanos(store.OrNow(at, db.now()))
	if err != nil {
		return nil, fmt.Errorf("top up account %s: %w", accountID, err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("top up account %s: %w", accountID, err)
	}
	defer tx.Rollback()
	a, err := addCredits(ctx, tx, accountID, amount, store.EntryTopUp, memo, ts)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return nil, fmt.Errorf("top up account %s: %w", accountID, err)
	}
	return a, nil
}

// addCredits adds amount to the credits of the account accountID in tx, an
// unmetered account becoming prepaid with credits = amount, and records a
// ledger entry of kind with memo at ts. It returns the account after, or an
// error wrapping store.ErrNotFound.
func addCredits(ctx context.Context, tx *sql.Tx, accountID string, amount money.Nanos, kind, memo string, ts int64) (*store.Account, error) {
	a, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	// Checked here because SQLite turns an integer overflow into a REAL.
	credits := valueOrZero(a.Credits)
	if credits > math.MaxInt64-amount {
		return nil, fmt.Errorf("account %s: %w", accountID, store.ErrCreditsOverflow)
	}
	credits += amount
	var updated int64
	err = tx.QueryRowContext(ctx, `UPDATE accounts SET credits_nanos = ?, updated_at = max(updated_at, ?)
		WHERE id = ? RETURNING updated_at`, int64(credits), ts, accountID).Scan(&updated)
	if err != nil {
		return nil, err
	}
	if err := insertEntry(ctx, tx, accountID, kind, amount, memo, ts); err != nil {
		return nil, err
	}
	a.Credits = &credits
	a.UpdatedAt = store.FromUnixNanos(updated)
	return a, nil
}

// insertEntry appends an account's ledger entry that belongs to no key or
// generation.
func insertEntry(ctx context.Context, tx *sql.Tx, accountID, kind string, amount money.Nanos, memo string, at int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO ledger_entries (account_id, kind, amount_nanos, memo, created_at)
		VALUES (?, ?, ?, ?, ?)`, accountID, kind, int64(amount), memo, at)
	return err
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanAccount reads a row of accountColumns.
func scanAccount(row rowScanner) (*store.Account, error) {
	var (
		a                store.Account
		credits          sql.NullInt64
		created, updated int64
		rl               store.RateLimits
	)
	if err := row.Scan(&a.ID, &a.Name, &credits, &created, &updated, &rl.RPM, &rl.TPM, &rl.Concurrency); err != nil {
		return nil, err
	}
	a.RateLimits = rl.Normalize()
	a.Credits = nanosOrNil(credits)
	a.CreatedAt = store.FromUnixNanos(created)
	a.UpdatedAt = store.FromUnixNanos(updated)
	return &a, nil
}

// nullNanos is the stored form of an optional amount.
func nullNanos(n *money.Nanos) sql.NullInt64 {
	if n == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*n), Valid: true}
}

// nanosOrNil reads an optional amount back.
func nanosOrNil(n sql.NullInt64) *money.Nanos {
	if !n.Valid {
		return nil
	}
	v := money.Nanos(n.Int64)
	return &v
}

func valueOrZero(n *money.Nanos) money.Nanos {
	if n == nil {
		return 0
	}
	return *n
}
