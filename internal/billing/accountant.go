package billing

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Accountant holds every balance in memory, so that reserving and settling
// credit never waits on the database. The ledger writer persists the
// resulting charges in batches (write-behind); on start, balances are
// loaded from what was persisted.
//
// Locks are per key and per account: requests of different keys contend
// only when they share an account, and then only for a few instructions.
type Accountant struct {
	now      func() time.Time
	accounts sync.Map // id -> *account
	keys     sync.Map // hash -> *keyState
	// failClosed: see FailClosed.
	failClosed atomic.Pointer[func() bool]
	// shared: see ShareWith; nil: one instance.
	shared *sharedState
}

type account struct {
	mu       sync.Mutex
	credits  *money.Nanos // nil: unmetered
	spent    money.Nanos
	reserved money.Nanos
}

type keyState struct {
	mu          sync.Mutex
	periodStart time.Time // zero when the key has no limit_reset
	period      money.Nanos
	total       money.Nanos
	reserved    money.Nanos
}

// NewAccountant starts from persisted balances.
func NewAccountant(now func() time.Time, accounts []store.AccountBalance, keys []store.KeyUsage) *Accountant {
	a := &Accountant{now: now}
	for _, b := range accounts {
		a.accounts.Store(b.ID, &account{credits: clone(b.Credits), spent: b.Spent})
	}
	for _, k := range keys {
		ks := &keyState{period: k.PeriodUsage, total: k.TotalUsage}
		if k.PeriodStart != nil {
			ks.periodStart = k.PeriodStart.UTC()
		}
		a.keys.Store(k.Hash, ks)
	}
	return a
}

func clone(n *money.Nanos) *money.Nanos {
	if n == nil {
		return nil
	}
	v := *n
	return &v
}

func (a *Accountant) account(id string) *account {
	if v, ok := a.accounts.Load(id); ok {
		return v.(*account)
	}
	// An account created elsewhere (the CLI, another instance) that this
	// process has not seen yet: treated as prepaid with nothing left until
	// SyncAccounts learns its credits (within seconds). Failing closed means
	// a new customer waits a moment; failing open would let it spend freely.
	zero := money.Nanos(0)
	v, _ := a.accounts.LoadOrStore(id, &account{credits: &zero})
	return v.(*account)
}

func (a *Accountant) key(hash string) *keyState {
	if v, ok := a.keys.Load(hash); ok {
		return v.(*keyState)
	}
	v, _ := a.keys.LoadOrStore(hash, &keyState{})
	return v.(*keyState)
}

// SetAccount records an account's credits (nil: unmetered) after the store
// changed them (creation, top-up, switch between prepaid and unmetered).
func (a *Accountant) SetAccount(id string, credits *money.Nanos) {
	ac := a.account(id)
	ac.mu.Lock()
	ac.credits = clone(credits)
	ac.mu.Unlock()
}

// SyncAccounts applies the credits stored for every account. Credits change
// only by top-ups and edits (the ledger writer changes spent, which this
// process owns), so the stored value is the truth for them.
func (a *Accountant) SyncAccounts(list []store.Account) {
	for i := range list {
		a.SetAccount(list[i].ID, list[i].Credits)
	}
}

// PeriodStart is the start of the limit period containing t for a reset
// schedule: midnight UTC of the day, of the Monday, or of the 1st of the
// month. The zero time for no reset.
func PeriodStart(reset string, t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch reset {
	case "daily":
		return day
	case "weekly":
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		return day.AddDate(0, 0, -back)
	case "monthly":
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// roll moves a key into the current limit period; callers hold ks.mu.
func (ks *keyState) roll(reset string, now time.Time) {
	if start := PeriodStart(reset, now); !start.Equal(ks.periodStart) {
		ks.periodStart = start
		ks.period = 0
	}
}

// Estimate is the worst case of one request, for the reservation.
type Estimate struct {
	Amount       money.Nanos // prompt cost + completion cost at MaxTokens
	PromptCost   money.Nanos
	PerMOutput   money.Nanos // completion price per 1M tokens
	PromptTokens int64
	MaxTokens    int64
}

// FailClosed makes Reserve refuse metered requests (a key with a limit, or
// an account with credits) while blocked reports true: the ledger cannot
// record their charges. Unmetered requests go on.
func (a *Accountant) FailClosed(blocked func() bool) { a.failClosed.Store(&blocked) }

func (a *Accountant) blocked() bool {
	f := a.failClosed.Load()
	return f != nil && (*f)()
}

// Reservation is credit held for one request. Exactly one Settle or Release
// ends it; later calls do nothing.
type Reservation struct {
	a       *Accountant
	keyHash string
	acct    string
	reset   string
	amount  money.Nanos
	done    atomic.Bool
	hold    *Hold // in the shared store; nil: none
}

// Reserve holds e.Amount against the key's limit and the account's credits,
// atomically with respect to every other reservation of the same key and
// account. It fails with 402 insufficient_quota naming which limit is short,
// what remains, and how many output tokens remain affordable.
func (a *Accountant) Reserve(k *store.Key, e Estimate) (*Reservation, error) {
	r, h, err := a.reserveLocal(k, e)
	if err != nil || h == nil {
		return r, err
	}
	// Held here; now across every instance. The hold stays with the
	// reservation even when the store cannot be reached: its Settle still
	// reports the spend there.
	r.hold = h
	if !a.shared.usable(a.now()) {
		return r, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	ok, which, left, err := a.shared.s.Hold(ctx, h)
	cancel()
	if err != nil {
		a.shared.failed(err, a.now())
		return r, nil
	}
	a.shared.ok()
	if !ok {
		r.hold = nil
		r.Release()
		if which == "key" {
			return nil, short("key "+k.Label+" has $"+nonNeg(left).String()+" left of its $"+k.Limit.String()+" limit"+resetNote(k.LimitReset), left, e)
		}
		return nil, short("account "+k.AccountID+" has $"+nonNeg(left).String()+" of credits left", left, e)
	}
	return r, nil
}

// reserveLocal holds e against this instance's view. With a shared store
// it also returns the hold to make there (nil when the request is
// unmetered: nothing to enforce).
func (a *Accountant) reserveLocal(k *store.Key, e Estimate) (*Reservation, *Hold, error) {
	if e.Amount < 0 || e.PromptCost < 0 || e.PromptTokens < 0 || e.MaxTokens < 0 {
		// Estimates are saturating sums of non-negative terms: a negative
		// one is a bug upstream of here, and holding it would hand its
		// amount to every concurrent request as phantom credit.
		return nil, nil, llm.BadRequest("max_tokens", "this request's cost cannot be estimated; lower max_tokens")
	}
	now := a.now()
	ks := a.key(k.Hash)
	ac := a.account(k.AccountID)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.roll(k.LimitReset, now)
	if k.Limit != nil {
		if left := money.Sub(money.Sub(*k.Limit, ks.period), ks.reserved); e.Amount > left {
			return nil, nil, short("key "+k.Label+" has $"+nonNeg(left).String()+" left of its $"+k.Limit.String()+" limit"+resetNote(k.LimitReset), left, e)
		}
	}
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if (k.Limit != nil || ac.credits != nil) && a.blocked() {
		return nil, nil, llm.LedgerUnavailable("the gateway cannot record charges right now (its database is unreachable and the ledger spool is full), so requests on metered keys and accounts are refused until it recovers; retry shortly")
	}
	if ac.credits != nil {
		if left := money.Sub(money.Sub(*ac.credits, ac.spent), ac.reserved); e.Amount > left {
			return nil, nil, short("account "+k.AccountID+" has $"+nonNeg(left).String()+" of credits left", left, e)
		}
	}
	ks.reserved = money.Add(ks.reserved, e.Amount)
	ac.reserved = money.Add(ac.reserved, e.Amount)
	r := &Reservation{a: a, keyHash: k.Hash, acct: k.AccountID, reset: k.LimitReset, amount: e.Amount}
	if a.shared == nil || (k.Limit == nil && ac.credits == nil) {
		return r, nil, nil
	}
	h := &Hold{ID: holdID(), KeyHash: k.Hash, AccountID: k.AccountID, Amount: e.Amount, Limit: k.Limit,
		SeedPeriod: ks.period, SeedTotal: ks.total, SeedSpent: ac.spent}
	if ac.credits != nil {
		c := *ac.credits
		h.Credits = &c
	}
	if !ks.periodStart.IsZero() {
		h.PeriodStart = ks.periodStart.Unix()
	}
	return r, h, nil
}

func nonNeg(n money.Nanos) money.Nanos { return max(n, 0) }

func resetNote(reset string) string {
	if reset == "" {
		return ""
	}
	return " (it resets " + reset + " at midnight UTC)"
}

func short(what string, left money.Nanos, e Estimate) error {
	msg := what + "; this request may cost up to $" + e.Amount.String()
	if e.MaxTokens > 0 {
		msg += " (about " + strconv.FormatInt(e.PromptTokens, 10) + " prompt tokens and up to " + strconv.FormatInt(e.MaxTokens, 10) + " output tokens)"
	}
	if e.PerMOutput > 0 {
		afford := money.TokensFor(money.Sub(left, e.PromptCost), e.PerMOutput)
		if afford > 0 {
			msg += ". The balance can afford " + strconv.FormatInt(afford, 10) + " output tokens: set max_tokens to at most that"
		}
	}
	return llm.InsufficientQuota(msg + ", or add credits.")
}

// Settle charges cost (the real cost; it may exceed the reservation) and
// releases the rest. It returns the charge to persist, or nil when cost is
// zero or the reservation was already ended.
func (r *Reservation) Settle(cost money.Nanos, generationID string) *store.Charge {
	if r == nil || !r.done.CompareAndSwap(false, true) {
		return nil
	}
	now := r.a.now()
	ks := r.a.key(r.keyHash)
	ac := r.a.account(r.acct)
	ks.mu.Lock()
	ks.reserved = money.Sub(ks.reserved, r.amount)
	var period *time.Time
	if cost > 0 {
		ks.roll(r.reset, now)
		ks.period = money.Add(ks.period, cost)
		ks.total = money.Add(ks.total, cost)
		if !ks.periodStart.IsZero() {
			p := ks.periodStart
			period = &p
		}
	}
	ks.mu.Unlock()
	ac.mu.Lock()
	ac.reserved = money.Sub(ac.reserved, r.amount)
	ac.spent = money.Add(ac.spent, cost)
	ac.mu.Unlock()
	if r.hold != nil && r.a.shared.usable(now) {
		// Off the request path: until it lands, the others see the hold
		// (the worst case) instead of the cost, which errs on the safe side.
		go r.a.shared.release(r.hold, max(cost, 0), now)
	}
	if cost <= 0 {
		return nil
	}
	return &store.Charge{GenerationID: generationID, AccountID: r.acct, KeyHash: r.keyHash, Amount: cost, KeyPeriodStart: period, At: now}
}

// Release ends the reservation without a charge.
func (r *Reservation) Release() { r.Settle(0, "") }

// KeyStatus is a key's spend as GET /key shows it.
type KeyStatus struct {
	PeriodUsage, TotalUsage, Reserved money.Nanos
}

// Key reports a key's spend (in memory, so it includes charges not yet persisted).
func (a *Accountant) Key(k *store.Key) KeyStatus {
	ks := a.key(k.Hash)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.roll(k.LimitReset, a.now())
	return KeyStatus{PeriodUsage: ks.period, TotalUsage: ks.total, Reserved: ks.reserved}
}

// AccountStatus is an account's money.
type AccountStatus struct {
	Credits         *money.Nanos
	Spent, Reserved money.Nanos
}

// Account reports an account's money.
func (a *Accountant) Account(id string) AccountStatus {
	ac := a.account(id)
	ac.mu.Lock()
	defer ac.mu.Unlock()
	return AccountStatus{Credits: clone(ac.credits), Spent: ac.spent, Reserved: ac.reserved}
}
