package store

import (
	"context"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// Generation is one authenticated request as the ledger records it (SPEC §5).
type Generation struct {
	ID               string // "gen-…", also the response id
	RequestID        string
	KeyHash          string
	AccountID        string
	Model            string // as requested
	Provider         string
	UpstreamModel    string
	TokensPrompt     int64
	TokensCompletion int64
	TokensCached     int64
	TokensReasoning  int64
	Cost             money.Nanos
	UsageEstimated   bool
	Status           int    // HTTP status given to the client (499: client went away first)
	ErrorCode        string // "" on success
	FinishReason     string
	Streamed         bool
	Cancelled        bool
	Latency          time.Duration
	TimeToFirst      time.Duration // 0 when not streamed or nothing was sent
	GenerationTime   time.Duration // from the first byte to the end
	Origin           string        // HTTP-Referer
	AppTitle         string        // X-Title
	Attempts         string        // JSON array; "[]" until routing records attempts
	CreatedAt        time.Time
}

// Ledger entry kinds (ledger_entries.kind in every backend). An entry's
// amount is signed from the account's side, so an account's entries sum to
// its credits minus its spent credits.
const (
	EntryTopUp  = "topup"  // Billing.TopUp; amount > 0
	EntryCharge = "charge" // Billing.WriteBatch; amount = -cost
	EntryAdjust = "adjust" // Billing.CreateAccount, UpdateAccount; amount = change of credits
)

// Charge is one settled cost, applied in the same transaction as its
// generation so that spent credits always equal the sum of recorded costs.
type Charge struct {
	GenerationID string
	AccountID    string
	KeyHash      string
	Amount       money.Nanos // > 0
	// KeyPeriodStart is the start of the key's current limit period (nil when
	// the key has no limit_reset). If the stored period differs, the key's
	// period usage restarts from this charge.
	KeyPeriodStart *time.Time
	At             time.Time
}

// Batch is what the ledger writer persists in one transaction.
type Batch struct {
	Generations []Generation
	Charges     []Charge
}

// AccountBalance is an account's money as the accountant loads it at start.
type AccountBalance struct {
	ID      string
	Credits *money.Nanos // nil: unmetered
	Spent   money.Nanos
}

// KeyUsage is a key's spend as the accountant loads it at start.
type KeyUsage struct {
	Hash        string
	PeriodUsage money.Nanos // spend in the current limit period (all time when no reset)
	PeriodStart *time.Time
	TotalUsage  money.Nanos // all time
}

// UsageQuery selects usage rollups. Zero From/To mean unbounded.
type UsageQuery struct {
	From, To  time.Time // day granularity, UTC; To exclusive
	AccountID string    // "" = all accounts
	GroupBy   string    // day | model | key | provider | app
	// Split, when set, splits each group by a second dimension (model,
	// key, provider or app): one row per group and split value.
	Split string
}

// UsageRow is one group of a usage report.
type UsageRow struct {
	Group            string // the day (YYYY-MM-DD), model, key hash, provider or app
	Split            string // the split's value when the query has one
	Requests         int64
	TokensPrompt     int64
	TokensCompletion int64
	Cost             money.Nanos
	// Errors counts generations with status ≥ 400 or an error code;
	// Latency and TTFT are histograms of their durations (TTFT of those
	// that sent a first token). Rollups written before migration 0008
	// count none of these.
	Errors        int64
	Latency, TTFT Histogram
}

// Billing is the persistence the billing and ledger packages need. Only the
// ledger writer and the management API call it, never the request path.
type Billing interface {
	CreateAccount(ctx context.Context, a *Account) error // ErrConflict on a duplicate id
	ListAccounts(ctx context.Context) ([]Account, error)
	GetAccount(ctx context.Context, id string) (*Account, error) // ErrNotFound
	// UpdateAccount sets name and credits (nil credits = unmetered).
	UpdateAccount(ctx context.Context, a *Account) error
	// TopUp adds amount to a prepaid account's credits and records a ledger
	// entry (kind "topup") in one transaction; returns the account after.
	// ErrNotFound for an unknown account; an unmetered account becomes prepaid
	// with credits = amount.
	TopUp(ctx context.Context, accountID string, amount money.Nanos, memo string, at time.Time) (*Account, error)
	// UpdateKey writes the mutable fields of k (name, limit, limit_reset,
	// expires_at, disabled, allowed_models, rate limits, leak report) and bumps updated_at; k.UpdatedAt
	// is set to the stored value. ErrNotFound if absent or deleted.
	UpdateKey(ctx context.Context, k *Key) error

	LoadBalances(ctx context.Context) ([]AccountBalance, []KeyUsage, error)
	// WriteBatch inserts the generations, applies the charges (accounts.spent,
	// the key's period and total usage, a "charge" ledger entry each) and
	// updates the usage rollups, all in one transaction. It first cleans the
	// batch's text in place (Batch.CleanText): a NUL or invalid UTF-8 in a
	// record is written as U+FFFD, never a refused batch.
	WriteBatch(ctx context.Context, b *Batch) error
	// Ping reports whether the database answers (a round trip to it); the
	// ledger writer asks it to tell an outage from records the database
	// refuses.
	Ping(ctx context.Context) error
	GetGeneration(ctx context.Context, id string) (*Generation, error) // ErrNotFound
	Usage(ctx context.Context, q UsageQuery) ([]UsageRow, error)
	// PruneGenerations deletes raw generation rows created before t (rollups
	// and ledger entries stay); returns how many.
	PruneGenerations(ctx context.Context, before time.Time) (int64, error)
}
