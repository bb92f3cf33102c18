// Package cluster lets gateway instances that share a database tell each
// other what changed, over Redis pub/sub, so that a key created, disabled
// or deleted, an account topped up or a config reloaded on one instance
// takes effect on every other within a second instead of at the next
// periodic resync (which stays as the safety net for a lost message).
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Topics: what changed. Resync is delivered locally, never published: the
// subscription was (re)established and messages may have been missed.
const (
	Keys     = "keys"
	Accounts = "accounts"
	Reload   = "reload"
	// Catalog: providers or models were changed through the API.
	Catalog = "catalog"
	Resync  = "resync"
	// AuthBlock: an address passed server.auth_failures_per_minute across
	// the instances. Its notice carries arguments: "authblock ADDR UNTIL"
	// (UNTIL in Unix nanoseconds); see AuthBlockNotice.
	AuthBlock = "authblock"
)

// AuthBlockNotice is the topic that tells every instance to refuse addr
// until until.
func AuthBlockNotice(addr string, until time.Time) string {
	return AuthBlock + " " + addr + " " + strconv.FormatInt(until.UnixNano(), 10)
}

// ParseAuthBlock reads an AuthBlockNotice topic.
func ParseAuthBlock(topic string) (addr string, until time.Time, ok bool) {
	rest, ok := strings.CutPrefix(topic, AuthBlock+" ")
	if !ok {
		return "", time.Time{}, false
	}
	addr, ns, ok := strings.Cut(rest, " ")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || addr == "" {
		return "", time.Time{}, false
	}
	return addr, time.Unix(0, n), true
}

// Count adds one to the counter key, which expires ttl after its first
// count, and returns its new value: a tally every instance shares (failed
// authentications of one address in one minute).
func (b *Bus) Count(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	var incr *redis.IntCmd
	_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, key)
		p.ExpireNX(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return incr.Val(), nil
}

// Bus publishes and receives change notices on one Redis channel.
type Bus struct {
	rdb     redis.UniversalClient
	channel string
	self    string // this instance's id: its own notices are not handled again
	log     *slog.Logger
}

// New makes a bus on channel (instances that work together use the same
// one, e.g. "switchyard:changes").
func New(rdb redis.UniversalClient, channel string, log *slog.Logger) *Bus {
	var id [8]byte
	_, _ = rand.Read(id[:])
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bus{rdb: rdb, channel: channel, self: hex.EncodeToString(id[:]), log: log}
}

// Publish tells the other instances that topic changed. It does not wait
// long: a notice that cannot be sent is logged and left to the periodic
// resync.
func (b *Bus) Publish(ctx context.Context, topic string) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := b.rdb.Publish(ctx, b.channel, b.self+" "+topic).Err(); err != nil {
		b.log.Warn("cluster: change notice not sent; other instances pick it up at their next resync",
			slog.String("topic", topic), slog.String("error", err.Error()))
	}
}

// Run delivers the other instances' notices to handle until ctx ends. The
// subscription survives lost connections (it is re-established on its
// own), and each time it is (re)established handle(Resync) runs, so
// nothing missed while disconnected stays missed. handle runs on Run's
// goroutine, one notice at a time.
func (b *Bus) Run(ctx context.Context, handle func(ctx context.Context, topic string)) {
	sub := b.rdb.Subscribe(ctx, b.channel)
	defer sub.Close()
	backoff, failing := 100*time.Millisecond, false
	for {
		msg, err := sub.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				failing = true
				b.log.Warn("cluster: change notices interrupted; other instances' changes arrive at the periodic resync until Redis is back",
					slog.String("error", err.Error()))
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				if failing {
					b.log.Info("cluster: change notices resumed")
				}
				failing, backoff = false, 100*time.Millisecond
				handle(ctx, Resync)
			}
		case *redis.Message:
			from, topic, ok := strings.Cut(m.Payload, " ")
			if !ok || from == b.self {
				continue
			}
			switch name, _, _ := strings.Cut(topic, " "); name {
			case Keys, Accounts, Reload, Catalog, AuthBlock:
				handle(ctx, topic)
			}
		}
	}
}
