package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// Shared holds credit across gateway instances (Redis when configured):
// the local accountant enforces what this instance holds and spends; a
// Shared store enforces what all instances hold and spend together, so a
// key's limit and an account's credits hold across N instances as they do
// in one.
type Shared interface {
	// Hold reserves h.Amount against the key's limit and the account's
	// credits as every instance sees them. ok false: which ("key" or
	// "account") is short, and what it has left. err: the store is
	// unreachable (the caller goes on with local limits).
	Hold(ctx context.Context, h *Hold) (ok bool, which string, left money.Nanos, err error)
	// Release ends hold h and charges cost (≥ 0) to the key and account.
	Release(ctx context.Context, h *Hold, cost money.Nanos) error
}

// Hold is one request's reservation in a Shared store, with what this
// instance knows of the key and account to seed a store that has never
// seen them (or lost them).
type Hold struct {
	ID          string
	KeyHash     string
	AccountID   string
	Amount      money.Nanos
	Limit       *money.Nanos // the key's limit; nil: none
	Credits     *money.Nanos // the account's credits; nil: unmetered
	PeriodStart int64        // the key's current limit period, unix seconds; 0: no reset
	// Seeds: this instance's view when the hold was made.
	SeedPeriod, SeedTotal, SeedSpent money.Nanos
}

// sharedTimeout bounds one call to the shared store on the request path.
const sharedTimeout = 300 * time.Millisecond

// ShareWith makes Reserve and Settle also go through s. A failing s is
// logged once per outage and the accountant goes on with local limits.
func (a *Accountant) ShareWith(s Shared, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a.shared = &sharedState{s: s, log: log}
}

type sharedState struct {
	s    Shared
	log  *slog.Logger
	down atomic.Bool
	// retryAt: after a failure the store is not asked again before this
	// (unix nanos), so an unreachable Redis costs one timeout a second,
	// not one per request.
	retryAt atomic.Int64
}

// sharedRetry is how long a failed shared store is left alone.
const sharedRetry = time.Second

func (st *sharedState) usable(now time.Time) bool { return now.UnixNano() >= st.retryAt.Load() }

func (st *sharedState) failed(err error, now time.Time) {
	st.retryAt.Store(now.Add(sharedRetry).UnixNano())
	if !st.down.Swap(true) {
		st.log.Warn("shared credit store unreachable: limits and credits are enforced per instance until it is back",
			slog.String("error", err.Error()))
	}
}

func (st *sharedState) ok() {
	if st.down.Swap(false) {
		st.log.Info("shared credit store reachable again: limits and credits are shared across instances")
	}
}

func (st *sharedState) release(h *Hold, cost money.Nanos, now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	if err := st.s.Release(ctx, h, cost); err != nil {
		// The hold expires on its own; the charge is in the ledger and in
		// this instance's view, not yet in the others'.
		st.failed(err, now)
	}
}

// Degraded reports that the shared store failed on its last call.
func (a *Accountant) Degraded() bool { return a.shared != nil && a.shared.down.Load() }

func holdID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
