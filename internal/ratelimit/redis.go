package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
)

// Redis keeps limits in a Redis server shared by every gateway instance.
// Each check and each settle is one Lua script, so the check of a key and
// its account and their charge are atomic. A subject's keys are
// PREFIX{ID}:r (requests TAT), :t (tokens TAT) and :c (a sorted set of
// the permits in flight, scored by when their lease ends); every key has a
// TTL, so an idle subject leaves nothing behind.
//
// Times in the scripts are microseconds since redisEpoch, as floats: Lua's
// numbers are doubles, and nanoseconds since 1970 would lose the small
// intervals of a large limit.
//
// A single Redis server (or a primary with replicas) is expected: a
// request's key and account hash to different slots, which Redis Cluster
// would refuse in one script.
type Redis struct {
	c      *redis.Client
	prefix string
	// lease bounds how long a permit holds a slot in flight if its
	// instance dies before releasing it.
	lease time.Duration
}

var quietRedis sync.Once

var redisEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultLease is how long a slot in flight is held in Redis when its
// release never comes (the instance died): longer than any request.
const DefaultLease = 15 * time.Minute

// NewRedis connects to the Redis at url (redis://, rediss:// or unix://)
// and keeps its keys under prefix. It does not dial: the first check does,
// and a Redis that is down at start is handled like one that fails later.
func NewRedis(url, prefix string) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("storage.redis: %w", err)
	}
	// Limits are checked on every model call: a slow Redis must fail fast
	// (and fall back to local limits) rather than hold requests.
	opt.DialTimeout = 250 * time.Millisecond
	opt.ReadTimeout = 250 * time.Millisecond
	opt.WriteTimeout = 250 * time.Millisecond
	opt.PoolTimeout = 250 * time.Millisecond
	opt.MaxRetries = 0
	opt.DialerRetries = 1
	opt.ContextTimeoutEnabled = true
	// go-redis prints every failed dial to stderr through a process-wide
	// logger; the Limiter logs each change of Redis's state itself, once.
	quietRedis.Do(func() { redis.SetLogger(&logging.VoidLogger{}) })
	return &Redis{c: redis.NewClient(opt), prefix: prefix, lease: DefaultLease}, nil
}

// Close closes the client.
func (r *Redis) Close() error { return r.c.Close() }

// Ping checks that the server answers.
func (r *Redis) Ping(ctx context.Context) error { return r.c.Ping(ctx).Err() }

// DeletePrefix deletes every key under prefix (tests clean up with it).
func (r *Redis) DeletePrefix(ctx context.Context, prefix string) error {
	iter := r.c.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		if err := r.c.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

func micros(t time.Time) float64 { return float64(t.Sub(redisEpoch).Nanoseconds()) / 1e3 }

// takeScript: KEYS are three per subject (requests TAT, tokens TAT, in
// flight); ARGV now, window, tokens, permit id, lease, then per subject
// rpm, tpm, concurrency. Returns {allowed, retry (µs), refused dimension
// (1 requests, 2 tokens, 3 concurrency), refused subject (1-based), then
// per subject requests and tokens µs ahead of now}.
var takeScript = redis.NewScript(`
local now, window, tokens, id, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local n = #KEYS / 3
local retry, dim, who = 0, 0, 0
local nr, nt, ahead = {}, {}, {}
local function refuse(d, i, r)
  if dim == 0 then dim, who = d, i end
  if r > retry then retry = r end
end
for i = 1, n do
  local k, a = (i - 1) * 3, 5 + (i - 1) * 3
  local rpm, tpm, conc = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local r = math.max(tonumber(redis.call('GET', KEYS[k + 1]) or 0), now)
  local t = math.max(tonumber(redis.call('GET', KEYS[k + 2]) or 0), now)
  ahead[i] = {r - now, t - now}
  nr[i], nt[i] = r, t
  if rpm > 0 then
    nr[i] = r + window / rpm
    if nr[i] - now > window then refuse(1, i, nr[i] - now - window) end
  end
  if tpm > 0 then
    nt[i] = t + math.min(tokens, tpm) * window / tpm
    if nt[i] - now > window then refuse(2, i, nt[i] - now - window) end
  end
  if conc > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 3], '-inf', now)
    if redis.call('ZCARD', KEYS[k + 3]) >= conc then refuse(3, i, 1e6) end
  end
end
local out = {0, tostring(retry), dim, who}
if dim == 0 then
  out[1] = 1
  for i = 1, n do
    local k, a = (i - 1) * 3, 5 + (i - 1) * 3
    local rpm, tpm, conc = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
    if rpm > 0 then
      redis.call('SET', KEYS[k + 1], string.format('%.17g', nr[i]), 'PX', math.ceil((nr[i] - now) / 1000) + 1000)
      ahead[i][1] = nr[i] - now
    end
    if tpm > 0 and nt[i] > now then
      redis.call('SET', KEYS[k + 2], string.format('%.17g', nt[i]), 'PX', math.ceil((nt[i] - now) / 1000) + 1000)
      ahead[i][2] = nt[i] - now
    end
    if conc > 0 then
      redis.call('ZADD', KEYS[k + 3], now + lease, id)
      redis.call('PEXPIRE', KEYS[k + 3], math.ceil(lease / 1000))
    end
  end
end
for i = 1, n do
  out[#out + 1] = string.format('%.17g', ahead[i][1])
  out[#out + 1] = string.format('%.17g', ahead[i][2])
end
return out
`)

// settleScript: KEYS as takeScript's; ARGV now, window, reserved, actual,
// permit id, then per subject rpm, tpm, concurrency. Corrects the token
// TAT by the tokens used and removes the permit from the in-flight set.
var settleScript = redis.NewScript(`
local now, window, reserved, actual, id = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local n = #KEYS / 3
for i = 1, n do
  local k, a = (i - 1) * 3, 5 + (i - 1) * 3
  local tpm, conc = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  if tpm > 0 then
    local d = math.max(actual, 0) - math.min(math.max(reserved, 0), tpm)
    d = math.min(math.max(d, -2 * tpm), 2 * tpm)
    if d ~= 0 then
      local t = math.max(tonumber(redis.call('GET', KEYS[k + 2]) or 0), now) + d * window / tpm
      t = math.min(math.max(t, now), now + 2 * window)
      if t > now then
        redis.call('SET', KEYS[k + 2], string.format('%.17g', t), 'PX', math.ceil((t - now) / 1000) + 1000)
      else
        redis.call('DEL', KEYS[k + 2])
      end
    end
  end
  if conc > 0 then redis.call('ZREM', KEYS[k + 3], id) end
end
return 1
`)

// keysAndArgs builds a script's KEYS and the per-subject tail of its ARGV
// after head.
func (r *Redis) keysAndArgs(subs []Subject, head ...any) ([]string, []any) {
	keys := make([]string, 0, 3*len(subs))
	args := append(make([]any, 0, len(head)+3*len(subs)), head...)
	for _, s := range subs {
		base := r.prefix + "{" + s.ID + "}:"
		keys = append(keys, base+"r", base+"t", base+"c")
		args = append(args, s.Limits.RPM, s.Limits.TPM, s.Limits.Concurrency)
	}
	return keys, args
}

var windowMicros = float64(Window.Microseconds())

func (r *Redis) take(ctx context.Context, now time.Time, subs []Subject, tokens int64, id string) (Decision, error) {
	keys, args := r.keysAndArgs(subs, micros(now), windowMicros, max(tokens, 0), id, float64(r.lease.Microseconds()))
	v, err := takeScript.Run(ctx, r.c, keys, args...).Slice()
	if err != nil {
		return Decision{}, err
	}
	if len(v) != 4+2*len(subs) {
		return Decision{}, fmt.Errorf("rate limit script returned %d values, want %d", len(v), 4+2*len(subs))
	}
	var d Decision
	d.Allowed = toInt(v[0]) == 1
	if !d.Allowed {
		d.RetryAfter = time.Duration(toFloat(v[1]) * 1e3)
		who := int(toInt(v[3])) - 1
		if who >= 0 && who < len(subs) {
			s := subs[who]
			d.Scope = s.Scope
			switch toInt(v[2]) {
			case 1:
				d.Limit, d.LimitValue = LimitRequests, s.Limits.RPM
			case 2:
				d.Limit, d.LimitValue = LimitTokens, s.Limits.TPM
			case 3:
				d.Limit, d.LimitValue = LimitConcurrency, s.Limits.Concurrency
			}
		}
	}
	var st [2]subjectState
	for i := range subs {
		st[i] = subjectState{reqAhead: toFloat(v[4+2*i]) * 1e3, tokAhead: toFloat(v[5+2*i]) * 1e3}
	}
	return decision(subs, st[:len(subs)], d), nil
}

func (r *Redis) settle(ctx context.Context, now time.Time, subs []Subject, reserved, actual int64, id string) error {
	keys, args := r.keysAndArgs(subs, micros(now), windowMicros, max(reserved, 0), max(actual, 0), id)
	return settleScript.Run(ctx, r.c, keys, args...).Err()
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}
