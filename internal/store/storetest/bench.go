package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// BenchmarkWriteBatch writes ledger batches of 500 charged generations to a
// file database that already holds 200,000, with random ids and with ids
// that begin with their creation time. With random ids every insert
// dirties another leaf of the primary-key index, and each commit writes
// those pages to the WAL; ordered ids append to the same few pages.
//
//	go test -run '^$' -bench WriteBatch -benchtime 40x ./internal/store/sqlite/
func benchWriteBatch(b *testing.B, h *Harness) {
	for _, kind := range []string{"random", "time-ordered"} {
		b.Run(kind, func(b *testing.B) {
			db := h.open(b)
			f := newBillingFixture(b, db)
			ctx := context.Background()
			seq := 0
			id := func() string {
				seq++
				if kind == "random" {
					return fmt.Sprintf("gen-%024x", rand.Uint64())
				}
				return fmt.Sprintf("gen-%012x%012x", seq, rand.Uint32())
			}
			batch := func() *store.Batch {
				bt := &store.Batch{}
				for range 500 {
					g := store.Generation{ID: id(), KeyHash: f.keyA, AccountID: acctPrepaid, Model: "gpt-4o", Provider: "openai",
						UpstreamModel: "gpt-4o", TokensPrompt: 25, TokensCompletion: 100, Cost: 1000, Status: 200,
						Latency: time.Millisecond, Attempts: `[{"provider":"openai","model":"gpt-4o","outcome":"ok","status":200,"duration_ms":1}]`,
						CreatedAt: time.Now()}
					bt.Generations = append(bt.Generations, g)
					bt.Charges = append(bt.Charges, store.Charge{GenerationID: g.ID, AccountID: acctPrepaid, KeyHash: f.keyA, Amount: money.Nanos(1000), At: g.CreatedAt})
				}
				return bt
			}
			for range 400 {
				if err := db.WriteBatch(ctx, batch()); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				bt := batch()
				b.StartTimer()
				if err := db.WriteBatch(ctx, bt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/generation")
		})
	}
}
