package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

// Memory keeps limits in this process: sharded maps of per-subject state,
// bounded in size, with idle entries dropped.
type Memory struct {
	seed        maphash.Seed
	maxPerShard int
	shards      [memShards]memShard
}

const memShards = 64

// DefaultMaxEntries bounds a Memory's subjects when the caller does not.
const DefaultMaxEntries = 1 << 20

type memShard struct {
	mu        sync.Mutex
	m         map[string]*memEntry
	lastSweep int64
}

// memEntry is one subject's state: TATs in Unix nanoseconds and requests in
// flight. An entry with both TATs at or before now and nothing in flight is
// the same as no entry.
type memEntry struct {
	req, tok int64
	inflight int64
}

func (e *memEntry) idle(now int64) bool { return e.req <= now && e.tok <= now && e.inflight == 0 }

// NewMemory returns a limiter state holding at most about maxEntries
// subjects (DefaultMaxEntries if ≤ 0). Past the bound, idle subjects are
// dropped first, then arbitrary ones with nothing in flight (which forgets
// their recent use: a looser limit, never a stricter one).
func NewMemory(maxEntries int) *Memory {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	m := &Memory{seed: maphash.MakeSeed(), maxPerShard: max(maxEntries/memShards, 1)}
	for i := range m.shards {
		m.shards[i].m = map[string]*memEntry{}
	}
	return m
}

// Len is how many subjects are held.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

func (m *Memory) shard(id string) int { return int(maphash.String(m.seed, id) % memShards) }

// lock locks the shards of subs in index order (no deadlock between two
// requests that name the same shards) and returns the unlock.
func (m *Memory) lock(subs []Subject) func() {
	var idx [2]int
	n := 0
	for _, s := range subs {
		i := m.shard(s.ID)
		if n == 1 && idx[0] == i {
			continue
		}
		idx[n] = i
		n++
	}
	if n == 2 && idx[1] < idx[0] {
		idx[0], idx[1] = idx[1], idx[0]
	}
	for _, i := range idx[:n] {
		m.shards[i].mu.Lock()
	}
	return func() {
		for _, i := range idx[:n] {
			m.shards[i].mu.Unlock()
		}
	}
}

// take checks subs at now and, when every one passes, charges them one
// request and tokens and takes a slot in flight.
func (m *Memory) take(now time.Time, subs []Subject, tokens int64) Decision {
	t := now.UnixNano()
	defer m.lock(subs)()
	var (
		st      [2]subjectState
		newReq  [2]int64
		newTok  [2]int64
		d       Decision
		refused bool
	)
	refuse := func(limit, scope string, value int64, retry time.Duration) {
		if !refused {
			d.Limit, d.Scope, d.LimitValue = limit, scope, value
			refused = true
		}
		d.RetryAfter = max(d.RetryAfter, retry)
	}
	for i, sub := range subs {
		e := m.shards[m.shard(sub.ID)].m[sub.ID]
		var cur memEntry
		if e != nil {
			cur = *e
		}
		newReq[i], newTok[i] = max(cur.req, t), max(cur.tok, t)
		if l := sub.Limits.RPM; l > 0 {
			newReq[i] += interval(l)
			if over := newReq[i] - t - int64(Window); over > 0 {
				refuse(LimitRequests, sub.Scope, l, time.Duration(over))
			}
		}
		if l := sub.Limits.TPM; l > 0 {
			newTok[i] += charged(tokens, l) * interval(l)
			if over := newTok[i] - t - int64(Window); over > 0 {
				refuse(LimitTokens, sub.Scope, l, time.Duration(over))
			}
		}
		if l := sub.Limits.Concurrency; l > 0 && cur.inflight >= l {
			refuse(LimitConcurrency, sub.Scope, l, concurrencyRetry)
		}
		st[i] = subjectState{reqAhead: float64(max(cur.req-t, 0)), tokAhead: float64(max(cur.tok-t, 0))}
	}
	if refused {
		return decision(subs, st[:len(subs)], d)
	}
	for i, sub := range subs {
		e := m.entry(sub.ID, t)
		if sub.Limits.RPM > 0 {
			e.req = newReq[i]
		}
		if sub.Limits.TPM > 0 {
			e.tok = newTok[i]
		}
		if sub.Limits.Concurrency > 0 {
			e.inflight++
		}
		st[i] = subjectState{reqAhead: float64(e.req - t), tokAhead: float64(max(e.tok-t, 0))}
	}
	d.Allowed = true
	return decision(subs, st[:len(subs)], d)
}

// entry returns id's entry, creating it (within the bound) if absent. The
// caller holds its shard's lock.
func (m *Memory) entry(id string, now int64) *memEntry {
	s := &m.shards[m.shard(id)]
	if e, ok := s.m[id]; ok {
		return e
	}
	if len(s.m) >= m.maxPerShard || now-s.lastSweep > int64(Window) {
		s.sweep(now, m.maxPerShard)
	}
	e := &memEntry{}
	s.m[id] = e
	return e
}

// sweep drops idle entries, then, while the shard is still full, entries
// with nothing in flight.
func (s *memShard) sweep(now int64, limit int) {
	s.lastSweep = now
	for id, e := range s.m {
		if e.idle(now) {
			delete(s.m, id)
		}
	}
	for id, e := range s.m {
		if len(s.m) < limit {
			break
		}
		if e.inflight == 0 {
			delete(s.m, id)
		}
	}
}

// settle corrects the tokens charged for a request (reserved) to those it
// used (actual) and, with release, frees its slot in flight.
func (m *Memory) settle(now time.Time, subs []Subject, reserved, actual int64, release bool) {
	t := now.UnixNano()
	defer m.lock(subs)()
	for _, sub := range subs {
		e := m.shards[m.shard(sub.ID)].m[sub.ID]
		if e == nil {
			continue // dropped: nothing left to correct
		}
		if l := sub.Limits.TPM; l > 0 {
			if d := correction(reserved, actual, l); d != 0 {
				e.tok = min(max(max(e.tok, t)+d*interval(l), t), t+2*int64(Window))
			}
		}
		if release && sub.Limits.Concurrency > 0 && e.inflight > 0 {
			e.inflight--
		}
	}
}
