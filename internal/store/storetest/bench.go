package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
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
	b.Run("throughput", func(b *testing.B) { benchThroughput(b, h) })
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

// benchThroughput reports how many generations per second the ledger
// writer's batches store, at the batch sizes it writes (MaxBatch is 2000),
// back to back into one database that already holds 100,000: the
// gateway's ids (time-ordered), each generation charged, spread over 20
// keys of 2 accounts and 4 models as live traffic is.
//
//	go test -run '^$' -bench 'WriteBatch/throughput' -benchtime 20x ./internal/store/sqlite/
func benchThroughput(b *testing.B, h *Harness) {
	db := h.open(b)
	ctx := context.Background()
	accounts := []string{acctPrepaid, acctUnmetered}
	for _, a := range accounts {
		if err := db.CreateAccount(ctx, &store.Account{ID: a, Name: a}); err != nil {
			b.Fatal(err)
		}
	}
	var keys []*store.Key
	for i := range 20 {
		k := newKey(fmt.Sprintf("sk-sy-bench-%d", i))
		k.AccountID = accounts[i%len(accounts)]
		if err := db.CreateKey(ctx, k); err != nil {
			b.Fatal(err)
		}
		keys = append(keys, k)
	}
	models := []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-flash"}
	seq := 0
	batch := func(n int) *store.Batch {
		bt := &store.Batch{Generations: make([]store.Generation, 0, n), Charges: make([]store.Charge, 0, n)}
		now := time.Now()
		for range n {
			seq++
			k := keys[rand.IntN(len(keys))]
			m := models[rand.IntN(len(models))]
			g := store.Generation{ID: fmt.Sprintf("gen-%012x%012x", seq, rand.Uint32()), KeyHash: k.Hash, AccountID: k.AccountID,
				Model: m, Provider: "openai", UpstreamModel: m, TokensPrompt: 25, TokensCompletion: 100, Cost: 1000, Status: 200,
				Latency: time.Millisecond, Attempts: `[{"provider":"openai","model":"gpt-4o","outcome":"ok","status":200,"duration_ms":1}]`,
				CreatedAt: now}
			bt.Generations = append(bt.Generations, g)
			bt.Charges = append(bt.Charges, store.Charge{GenerationID: g.ID, AccountID: k.AccountID, KeyHash: k.Hash, Amount: money.Nanos(1000), At: now})
		}
		return bt
	}
	for range 50 {
		if err := db.WriteBatch(ctx, batch(2000)); err != nil {
			b.Fatal(err)
		}
	}
	for _, size := range []int{500, 2000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			bts := make([]*store.Batch, b.N)
			for i := range bts {
				bts[i] = batch(size)
			}
			var server map[int]time.Duration
			if h.ServerCPU != nil {
				server = h.ServerCPU(b, db.DB)
			}
			client := processCPU(b)
			b.ResetTimer()
			for i := range b.N {
				if err := db.WriteBatch(ctx, bts[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			gens := float64(b.N * size)
			b.ReportMetric(gens/b.Elapsed().Seconds(), "generations/s")
			b.ReportMetric(0, "ns/op")
			// CPU time per generation, which the machine's other load
			// does not stretch as it does wall time: this process's (the
			// ledger writer's side, with the benchmark's own small share),
			// and the database server's when it has one.
			b.ReportMetric(float64((processCPU(b)-client).Microseconds())/gens, "client-cpu-µs/gen")
			if h.ServerCPU != nil {
				var used time.Duration
				for pid, t := range h.ServerCPU(b, db.DB) {
					used += t - server[pid]
				}
				b.ReportMetric(float64(used.Microseconds())/gens, "server-cpu-µs/gen")
			}
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
