// Package billredis is the billing.Shared store in Redis: every gateway
// instance holds and charges credit through two atomic scripts, so a key's
// limit and an account's credits hold across instances.
//
// Layout under a prefix P: P:k:{hash} and P:a:{id} are hashes (period,
// total, period_start, reserved; spent, reserved), P:holds maps a hold id
// to "amount key-hash account-id" and P:exp orders holds by expiry. A hold
// whose instance died before releasing it expires after HoldTTL and gives
// its amount back. The scripts touch keys they compute, so this needs a
// standalone Redis (or one shard), not Redis Cluster.
//
// Amounts are integer nano-USD changed with HINCRBY (exact); comparisons
// run in Lua's doubles, exact to 2^53 nano-USD (about $9 million) and off
// by parts per quadrillion above.
package billredis

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-gw/switchyard/internal/billing"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// HoldTTL is how long a hold lives unreleased: longer than any request
// (the longest route timeout is 10 minutes by default).
const HoldTTL = 30 * time.Minute

// stateTTL forgets a key's or account's state after a month unused; the
// next hold seeds it again from the instance's view.
const stateTTL = 30 * 24 * time.Hour

// Store is a billing.Shared in Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// New uses rdb under prefix (e.g. "switchyard:bill").
func New(rdb redis.UniversalClient, prefix string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, prefix: prefix, now: now}
}

var _ billing.Shared = (*Store)(nil)

// expireHolds gives back the amounts of holds past their expiry (a bounded
// number per call). KEYS[1] holds, KEYS[2] exp; ARGV[1] now (ms).
const expireHolds = `
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 64)
for _, id in ipairs(stale) do
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    local amt, kk, ak = string.match(v, '^(%-?%d+) (%S+) (%S+)$')
    redis.call('HINCRBY', kk, 'reserved', -tonumber(amt))
    redis.call('HINCRBY', ak, 'reserved', -tonumber(amt))
    redis.call('HDEL', KEYS[1], id)
  end
  redis.call('ZREM', KEYS[2], id)
end
`

// holdScript: KEYS[1] holds, KEYS[2] exp, KEYS[3] key state, KEYS[4]
// account state. ARGV: 1 now ms, 2 hold id, 3 amount, 4 expiry ms,
// 5 limit (-1: none), 6 period start (0: none), 7 credits (-1: unmetered),
// 8 seed period, 9 seed total, 10 seed spent, 11 state ttl ms.
// Returns {1} or {0, "key"|"account", left}.
var holdScript = redis.NewScript(expireHolds + `
if redis.call('HSETNX', KEYS[3], 'seeded', 1) == 1 then
  redis.call('HSET', KEYS[3], 'period', ARGV[8], 'total', ARGV[9], 'period_start', ARGV[6], 'reserved', 0)
end
if redis.call('HSETNX', KEYS[4], 'seeded', 1) == 1 then
  redis.call('HSET', KEYS[4], 'spent', ARGV[10], 'reserved', 0)
end
redis.call('PEXPIRE', KEYS[3], ARGV[11])
redis.call('PEXPIRE', KEYS[4], ARGV[11])
local ps = tonumber(ARGV[6])
if ps > tonumber(redis.call('HGET', KEYS[3], 'period_start') or '0') then
  redis.call('HSET', KEYS[3], 'period', 0, 'period_start', ps)
end
local amount = tonumber(ARGV[3])
local limit = tonumber(ARGV[5])
if limit >= 0 then
  local left = limit - tonumber(redis.call('HGET', KEYS[3], 'period')) - tonumber(redis.call('HGET', KEYS[3], 'reserved'))
  if amount > left then return {0, 'key', tostring(left)} end
end
local credits = tonumber(ARGV[7])
if credits >= 0 then
  local left = credits - tonumber(redis.call('HGET', KEYS[4], 'spent')) - tonumber(redis.call('HGET', KEYS[4], 'reserved'))
  if amount > left then return {0, 'account', tostring(left)} end
end
redis.call('HINCRBY', KEYS[3], 'reserved', ARGV[3])
redis.call('HINCRBY', KEYS[4], 'reserved', ARGV[3])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3] .. ' ' .. KEYS[3] .. ' ' .. KEYS[4])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
return {1}
`)

// releaseScript: KEYS as holdScript. ARGV: 1 now ms, 2 hold id, 3 cost,
// 4 period start (0: none). A hold already expired (or never made, when
// the store was down at hold time) only adds the cost. Counters a state
// that was forgotten would be re-seeded by the next hold, so release adds
// to existing state only.
var releaseScript = redis.NewScript(expireHolds + `
local v = redis.call('HGET', KEYS[1], ARGV[2])
if v then
  local amt = string.match(v, '^(%-?%d+)')
  redis.call('HINCRBY', KEYS[3], 'reserved', -tonumber(amt))
  redis.call('HINCRBY', KEYS[4], 'reserved', -tonumber(amt))
  redis.call('HDEL', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
if ARGV[3] == '0' then return 1 end
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('HINCRBY', KEYS[4], 'spent', ARGV[3])
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'total', ARGV[3])
  local ps = tonumber(ARGV[4])
  local cur = tonumber(redis.call('HGET', KEYS[3], 'period_start') or '0')
  if ps == cur or ps == 0 then
    redis.call('HINCRBY', KEYS[3], 'period', ARGV[3])
  elseif ps > cur then
    redis.call('HSET', KEYS[3], 'period', ARGV[3], 'period_start', ps)
  end
end
return 1
`)

func (s *Store) keys(h *billing.Hold) []string {
	return []string{s.prefix + ":holds", s.prefix + ":exp", s.prefix + ":k:" + h.KeyHash, s.prefix + ":a:" + h.AccountID}
}

func optional(n *money.Nanos) int64 {
	if n == nil {
		return -1
	}
	return max(int64(*n), 0)
}

// Hold implements billing.Shared.
func (s *Store) Hold(ctx context.Context, h *billing.Hold) (bool, string, money.Nanos, error) {
	now := s.now()
	res, err := holdScript.Run(ctx, s.rdb, s.keys(h),
		now.UnixMilli(), h.ID, int64(h.Amount), now.Add(HoldTTL).UnixMilli(),
		optional(h.Limit), h.PeriodStart, optional(h.Credits),
		int64(h.SeedPeriod), int64(h.SeedTotal), int64(h.SeedSpent), stateTTL.Milliseconds()).Slice()
	if err != nil {
		return false, "", 0, err
	}
	if len(res) == 1 {
		return true, "", 0, nil
	}
	which, _ := res[1].(string)
	leftStr, _ := res[2].(string)
	left, _ := strconv.ParseFloat(leftStr, 64)
	return false, which, money.Nanos(left), nil
}

// Release implements billing.Shared.
func (s *Store) Release(ctx context.Context, h *billing.Hold, cost money.Nanos) error {
	return releaseScript.Run(ctx, s.rdb, s.keys(h), s.now().UnixMilli(), h.ID, int64(cost), h.PeriodStart).Err()
}
