package ratelimit_test

import (
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/ratelimit/ratelimittest"
)

// benchCheckSettle measures what a limited request adds to the hot path:
// one Take and one Settle, for a key with all three limits in an account
// with limits, spread over 1000 keys (limits high enough never to refuse).
func benchCheckSettle(b *testing.B, l *ratelimit.Limiter) {
	var subs [1000]ratelimit.Subjects
	for i := range subs {
		subs[i].Add(ratelimit.Subject{ID: "k:bench" + strconv.Itoa(i), Scope: ratelimit.ScopeKey,
			Limits: ratelimit.Limits{RPM: ratelimit.MaxLimit, TPM: ratelimit.MaxLimit, Concurrency: ratelimit.MaxLimit}})
		subs[i].Add(ratelimit.Subject{ID: "a:bench" + strconv.Itoa(i%10), Scope: ratelimit.ScopeAccount,
			Limits: ratelimit.Limits{RPM: ratelimit.MaxLimit, TPM: ratelimit.MaxLimit}})
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			d, p := l.Take(ctx, subs[i%int64(len(subs))], 1200)
			if !d.Allowed {
				b.Errorf("refused: %+v", d)
				return
			}
			p.Settle(300)
		}
	})
}

func BenchmarkCheckSettleMemory(b *testing.B) {
	benchCheckSettle(b, ratelimit.New(ratelimit.Options{}))
}

func BenchmarkCheckSettleRedis(b *testing.B) {
	url, prefix := ratelimittest.Redis(b)
	r, err := ratelimit.NewRedis(url, prefix)
	if err != nil {
		b.Fatal(err)
	}
	l := ratelimit.New(ratelimit.Options{Redis: r})
	defer l.Close()
	benchCheckSettle(b, l)
	if !l.Healthy() {
		b.Fatal("fell back to memory: the figure is not Redis's")
	}
}
