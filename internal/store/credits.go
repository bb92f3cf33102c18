package store

import (
	"context"
	"errors"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// EntryRedeem is the ledger kind of a redeemed code (Credits.Redeem); amount
// is the code's value, memo its batch's memo.
const EntryRedeem = "redeem"

// LedgerEntry is one row of an account's money journal (ledger_entries).
type LedgerEntry struct {
	ID           int64
	AccountID    string
	KeyHash      string // "" when no key is involved (top-ups, adjustments, codes)
	Kind         string // EntryTopUp, EntryCharge, EntryAdjust or EntryRedeem
	Amount       money.Nanos
	Memo         string
	GenerationID string // a charge's generation, else ""
	CreatedAt    time.Time
}

// LedgerCursor is where a page of an account's ledger ends: the next page
// holds the entries strictly older, by (CreatedAt, ID).
type LedgerCursor struct {
	At time.Time
	ID int64
}

// RedeemBatch is a batch of redeem codes made together: each code is worth
// Value and can be redeemed until ExpiresAt (nil: never).
type RedeemBatch struct {
	ID        string // "rcb-…"
	Memo      string // the ledger memo of each redemption
	Value     money.Nanos
	ExpiresAt *time.Time
	CreatedAt time.Time
	Codes     []RedeemCode
}

// RedeemCode is a code as stored: never the code, only its SHA-256.
type RedeemCode struct {
	Hash       string // lowercase hex SHA-256 of the code; its id in URLs
	Label      string // masked form, e.g. "sy-rc-AB…yz"
	BatchID    string
	RedeemedBy string // the account credited; "" while unused
	RedeemedAt *time.Time
	VoidedAt   *time.Time
}

// Errors of Credits.Redeem for a code that exists but cannot be redeemed.
var (
	ErrCodeRedeemed = errors.New("redeem code already redeemed")
	ErrCodeExpired  = errors.New("redeem code expired")
	ErrCodeVoided   = errors.New("redeem code voided")
	// ErrUnmetered: the account has no balance to add to.
	ErrUnmetered = errors.New("account is unmetered")
)

// Credits is an account's ledger as the management API lists it, and redeem
// codes. Only the management API calls it.
type Credits interface {
	// ListLedger returns up to limit entries of accountID, newest first
	// (by created_at, then id), strictly older than before when not nil.
	ListLedger(ctx context.Context, accountID string, before *LedgerCursor, limit int) ([]LedgerEntry, error)
	// CreateRedeemBatch inserts b and its codes in one transaction;
	// ErrConflict if a code's hash exists.
	CreateRedeemBatch(ctx context.Context, b *RedeemBatch) error
	// ListRedeemBatches returns every batch with its codes, newest first.
	ListRedeemBatches(ctx context.Context) ([]RedeemBatch, error)
	// VoidRedeemCodes voids the unused codes of the batch id, or the code
	// whose hash is id, at at; returns how many it voided (0 when all were
	// used or void already). ErrNotFound when there is no such batch or code.
	VoidRedeemCodes(ctx context.Context, id string, at time.Time) (int64, error)
	// Redeem marks the code whose hash is hash redeemed by accountID and
	// adds its value to the account's credits with an EntryRedeem ledger
	// entry, in one transaction, at most once per code however many
	// callers race. It returns the account after and the code's batch.
	// ErrNotFound for an unknown code or account; ErrCodeVoided,
	// ErrCodeRedeemed, ErrCodeExpired; ErrUnmetered for an unmetered
	// account (the code stays unused).
	Redeem(ctx context.Context, hash, accountID string, at time.Time) (*Account, *RedeemBatch, error)
}

// RedeemBatchTimes validates b (an id, a positive value, 1 to 1000 codes
// with hashes) and returns its stored created_at (now when zero) and
// expires_at (nil: never).
func RedeemBatchTimes(b *RedeemBatch, now time.Time) (created int64, expires *int64, err error) {
	switch {
	case b.ID == "":
		return 0, nil, errors.New("a redeem batch needs an id")
	case b.Value <= 0:
		return 0, nil, errors.New("a redeem code's value must be positive")
	case len(b.Codes) == 0 || len(b.Codes) > MaxRedeemBatch:
		return 0, nil, errors.New("a redeem batch holds 1 to 1000 codes")
	}
	for _, c := range b.Codes {
		if c.Hash == "" {
			return 0, nil, errors.New("a redeem code needs a hash")
		}
	}
	if created, err = UnixNanos(OrNow(b.CreatedAt, now)); err != nil {
		return 0, nil, err
	}
	if b.ExpiresAt != nil {
		e, err := UnixNanos(*b.ExpiresAt)
		if err != nil {
			return 0, nil, err
		}
		expires = &e
	}
	return created, expires, nil
}

// MaxRedeemBatch is the most codes one batch holds.
const MaxRedeemBatch = 1000

// Redeemable says whether a code with these times can be redeemed at now:
// nil, ErrCodeVoided, ErrCodeRedeemed or ErrCodeExpired.
func Redeemable(redeemed, voided, expires *time.Time, now time.Time) error {
	switch {
	case voided != nil:
		return ErrCodeVoided
	case redeemed != nil:
		return ErrCodeRedeemed
	case expires != nil && !now.Before(*expires):
		return ErrCodeExpired
	}
	return nil
}
