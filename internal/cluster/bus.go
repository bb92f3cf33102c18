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
)

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
			switch topic {
			case Keys, Accounts, Reload, Catalog:
				handle(ctx, topic)
			}
		}
	}
}
