package ratelimit

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/metrics"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Limiter checks requests against the limits of their key and account:
// in Redis when one is configured and answering, else in memory.
type Limiter struct {
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics.Metrics
	mem     *Memory
	redis   *Redis // nil: memory only

	accounts sync.Map // account id -> *Limits (never nil)

	down     atomic.Bool  // Redis failed and has not answered since
	retryAt  atomic.Int64 // while down, Redis is not tried before this (Unix ns)
	seq      atomic.Uint64
	instance string // prefix of permit ids, unique per process
}

// redisRetry is how long the limiter serves from memory after a Redis
// error before it tries Redis again: an unreachable Redis costs one failed
// call per interval, not one per request.
const redisRetry = time.Second

// Options configure a Limiter.
type Options struct {
	Now     func() time.Time // default time.Now
	Log     *slog.Logger     // default discards
	Metrics *metrics.Metrics // may be nil
	// Redis shares limits among instances; nil keeps them in memory.
	Redis *Redis
	// MaxEntries bounds the subjects held in memory (DefaultMaxEntries).
	MaxEntries int
}

// New builds a Limiter.
func New(o Options) *Limiter {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Limiter{now: o.Now, log: o.Log, metrics: o.Metrics, mem: NewMemory(o.MaxEntries), redis: o.Redis,
		instance: strconv.FormatInt(time.Now().UnixNano(), 36) + "-"}
}

// SetAccount records an account's limits (nil: none) after the store
// changed them.
func (l *Limiter) SetAccount(id string, r *Limits) {
	if r = r.Normalize(); r == nil {
		l.accounts.Delete(id)
		return
	}
	v := *r
	l.accounts.Store(id, &v)
}

// SyncAccounts applies the stored limits of every account (other
// instances and the CLI change them).
func (l *Limiter) SyncAccounts(list []store.Account) {
	for i := range list {
		l.SetAccount(list[i].ID, list[i].RateLimits)
	}
}

// Account returns an account's limits, nil if none.
func (l *Limiter) Account(id string) *Limits {
	if v, ok := l.accounts.Load(id); ok {
		return v.(*Limits)
	}
	return nil
}

// For returns the subjects limiting a call by k: the key's own limits and
// its account's.
func (l *Limiter) For(k *store.Key) Subjects {
	var s Subjects
	if k.RateLimits != nil {
		s.Add(Subject{ID: "k:" + k.Hash, Scope: ScopeKey, Limits: *k.RateLimits})
	}
	if a := l.Account(k.AccountID); a != nil {
		s.Add(Subject{ID: "a:" + k.AccountID, Scope: ScopeAccount, Limits: *a})
	}
	return s
}

// Healthy reports whether limits are shared as configured: false while
// Redis is configured but failing (limits are then local to each instance).
func (l *Limiter) Healthy() bool { return l.redis == nil || !l.down.Load() }

// Close closes the Redis client, if any.
func (l *Limiter) Close() error {
	if l.redis == nil {
		return nil
	}
	return l.redis.Close()
}

// Permit is an admitted request's hold on its limits. Settle it exactly
// once, on every path (a nil Permit settles as a no-op).
type Permit struct {
	l        *Limiter
	remote   bool // taken in Redis
	subs     Subjects
	reserved int64
	id       string
	done     atomic.Bool
}

// Take checks a request that may use up to tokens tokens against subs and,
// when every subject passes, charges it and returns its Permit. A refusal
// charges nothing and returns a nil Permit.
func (l *Limiter) Take(ctx context.Context, subs Subjects, tokens int64) (Decision, *Permit) {
	now := l.now()
	list := subs.list()
	var id string
	if l.redis != nil && hasConcurrency(list) {
		id = l.instance + strconv.FormatUint(l.seq.Add(1), 36)
	}
	var d Decision
	remote := false
	if l.useRedis(now) {
		var err error
		d, err = l.redis.take(context.WithoutCancel(ctx), now, list, tokens, id)
		if err == nil {
			l.redisOK()
			remote = true
		} else {
			l.redisFailed(now, err)
			// The failed call took time (up to its timeout): the local
			// limits count from now, not from before it. A time from
			// before it, behind a request that fell back sooner, would be
			// refused for a slot that is free.
			now = l.now()
		}
	}
	if !remote {
		d = l.mem.take(now, list, tokens)
	}
	if !d.Allowed {
		l.metrics.RateLimited(d.Scope, d.Limit)
		return d, nil
	}
	return d, &Permit{l: l, remote: remote, subs: subs, reserved: tokens, id: id}
}

func hasConcurrency(subs []Subject) bool {
	for _, s := range subs {
		if s.Limits.Concurrency > 0 {
			return true
		}
	}
	return false
}

// Settle corrects the request's token charge to actual (the tokens it
// used; 0 for a request that produced nothing) and frees its slot in
// flight. Only the first call counts.
func (p *Permit) Settle(actual int64) {
	if p == nil || !p.done.CompareAndSwap(false, true) {
		return
	}
	l := p.l
	now := l.now()
	if p.remote {
		// Not the request's context: a client that went away must still
		// free its slot.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := l.redis.settle(ctx, now, p.subs.list(), p.reserved, actual, p.id); err != nil {
			// The slot stays held in Redis until its lease runs out.
			l.redisFailed(now, err)
		}
		return
	}
	l.mem.settle(now, p.subs.list(), p.reserved, actual, true)
}

// useRedis reports whether to ask Redis now: configured, and not within
// redisRetry of its last failure.
func (l *Limiter) useRedis(now time.Time) bool {
	return l.redis != nil && (!l.down.Load() || now.UnixNano() >= l.retryAt.Load())
}

func (l *Limiter) redisFailed(now time.Time, err error) {
	l.metrics.RateLimitRedisError()
	l.retryAt.Store(now.Add(redisRetry).UnixNano())
	if l.down.CompareAndSwap(false, true) {
		l.log.Error("rate limits: Redis failed; each instance now enforces the limits locally until Redis answers again",
			slog.String("error", err.Error()))
	}
}

func (l *Limiter) redisOK() {
	if l.down.CompareAndSwap(true, false) {
		l.log.Info("rate limits: Redis answers again; limits are shared across instances")
	}
}
