package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

const accountColumns = `id, name, credits_nanos, created_at, updated_at, rate_rpm, rate_tpm, rate_concurrency`

// CreateAccount inserts a; store.ErrConflict if the id exists. Initial
// credits are recorded as an "adjust" ledger entry.
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
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		rpm, tpm, conc := a.RateLimits.Columns()
		_, err := tx.Exec(ctx, `INSERT INTO accounts (`+accountColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			a.ID, a.Name, nullNanos(a.Credits), created, updated, rpm, tpm, conc)
		if err != nil {
			return err
		}
		if a.Credits != nil && *a.Credits != 0 {
			return insertEntry(ctx, tx, a.ID, store.EntryAdjust, *a.Credits, "initial credits", created)
		}
		return nil
	})
	if isCode(err, uniqueViolation) {
		return fmt.Errorf("create account %s: %w", a.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create account: %w", err)
	}
	a.CreatedAt = store.FromUnixNanos(created)
	a.UpdatedAt = store.FromUnixNanos(updated)
	return nil
}

// ListAccounts returns every account, oldest first.
func (db *DB) ListAccounts(ctx context.Context) ([]store.Account, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	accounts, err := collectRows(rows, func(row pgx.CollectableRow) (store.Account, error) {
		a, err := scanAccount(row)
		if err != nil {
			return store.Account{}, err
		}
		return *a, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return accounts, nil
}

// GetAccount returns the account id, or store.ErrNotFound.
func (db *DB) GetAccount(ctx context.Context, id string) (*store.Account, error) {
	a, err := scanAccount(db.pool.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("account %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get account %s: %w", id, err)
	}
	return a, nil
}

// UpdateAccount sets the name and credits of the account a.ID and bumps its
// UpdatedAt; a change of credits is an "adjust" ledger entry of the
// difference. store.ErrNotFound for an unknown account.
func (db *DB) UpdateAccount(ctx context.Context, a *store.Account) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	now, err := store.UnixNanos(db.now())
	if err != nil {
		return fmt.Errorf("update account: %w", err)
	}
	var (
		old     *store.Account
		updated int64
	)
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		// FOR UPDATE: a concurrent TopUp or UpdateAccount waits, so the
		// adjust entry is the difference from what this one replaces.
		if old, err = lockAccount(ctx, tx, a.ID); err != nil {
			return err
		}
		rpm, tpm, conc := a.RateLimits.Columns()
		err := tx.QueryRow(ctx, `UPDATE accounts SET name = $1, credits_nanos = $2, updated_at = greatest(updated_at, $3),
			rate_rpm = $5, rate_tpm = $6, rate_concurrency = $7
			WHERE id = $4 RETURNING updated_at`, a.Name, nullNanos(a.Credits), now, a.ID, rpm, tpm, conc).Scan(&updated)
		if err != nil {
			return err
		}
		if change := valueOrZero(a.Credits) - valueOrZero(old.Credits); change != 0 || (a.Credits == nil) != (old.Credits == nil) {
			memo := "credits set to $" + valueOrZero(a.Credits).String()
			if a.Credits == nil {
				memo = "credits set to unmetered"
			}
			return insertEntry(ctx, tx, a.ID, store.EntryAdjust, change, memo, now)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("update account %s: %w", a.ID, err)
		}
		return fmt.Errorf("update account: %w", err)
	}
	a.CreatedAt = old.CreatedAt
	a.UpdatedAt = store.FromUnixNanos(updated)
	return nil
}

// TopUp adds amount (> 0) to the account's credits (an unmetered account
// becoming prepaid) and records a "topup" ledger entry, in one transaction.
func (db *DB) TopUp(ctx context.Context, accountID string, amount money.Nanos, memo string, at time.Time) (*store.Account, error) {
	if amount <= 0 {
		return nil, fmt.Errorf("top up account %s: amount $%s is not positive", accountID, amount)
	}
	ts, err := store.UnixNanos(store.OrNow(at, db.now()))
	if err != nil {
		return nil, fmt.Errorf("top up account %s: %w", accountID, err)
	}
	var a *store.Account
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		a, err = addCredits(ctx, tx, accountID, amount, store.EntryTopUp, memo, ts)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("top up account %s: %w", accountID, err)
	}
	return a, nil
}

// addCredits adds amount to the credits of the account accountID in tx
// (locking its row), an unmetered account becoming prepaid with credits =
// amount, and records a ledger entry of kind with memo at ts. It returns
// the account after, or an error wrapping store.ErrNotFound.
func addCredits(ctx context.Context, tx pgx.Tx, accountID string, amount money.Nanos, kind, memo string, ts int64) (*store.Account, error) {
	a, err := lockAccount(ctx, tx, accountID)
	if err != nil {
		return nil, err
	}
	credits := valueOrZero(a.Credits)
	if credits > math.MaxInt64-amount {
		return nil, fmt.Errorf("account %s: %w", accountID, store.ErrCreditsOverflow)
	}
	credits += amount
	var updated int64
	err = tx.QueryRow(ctx, `UPDATE accounts SET credits_nanos = $1, updated_at = greatest(updated_at, $2)
		WHERE id = $3 RETURNING updated_at`, int64(credits), ts, accountID).Scan(&updated)
	if err != nil {
		return nil, err
	}
	a.Credits = &credits
	a.UpdatedAt = store.FromUnixNanos(updated)
	return a, insertEntry(ctx, tx, accountID, kind, amount, memo, ts)
}

// lockAccount reads the account id and locks its row until the
// transaction ends; an error wrapping store.ErrNotFound if there is none.
func lockAccount(ctx context.Context, tx pgx.Tx, id string) (*store.Account, error) {
	a, err := scanAccount(tx.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return a, err
}

// insertEntry appends an account's ledger entry that belongs to no key or
// generation.
func insertEntry(ctx context.Context, tx pgx.Tx, accountID, kind string, amount money.Nanos, memo string, at int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO ledger_entries (account_id, kind, amount_nanos, memo, created_at)
		VALUES ($1, $2, $3, $4, $5)`, accountID, kind, int64(amount), memo, at)
	return err
}

// scanAccount reads a row of accountColumns.
func scanAccount(row pgx.Row) (*store.Account, error) {
	var (
		a                store.Account
		credits          *int64
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

func valueOrZero(n *money.Nanos) money.Nanos {
	if n == nil {
		return 0
	}
	return *n
}
