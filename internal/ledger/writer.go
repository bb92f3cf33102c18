// Package ledger writes generation records and their charges to the store in
// batches, off the request path.
//
// Durability: a record is durable once the batch holding it commits, at most
// Interval after the request finished. A graceful shutdown (Close) writes
// everything queued; a crash (SIGKILL, power loss) loses at most the records
// of the last Interval — and loses their charges with them, because a
// generation and its charge are written in the same transaction, so spent
// credits always equal the sum of recorded costs.
package ledger

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// Options tune the writer.
type Options struct {
	Interval time.Duration // longest a record waits before its batch is written; default 200ms
	MaxBatch int           // records per transaction at most; default 2000
	Queue    int           // records that may wait; default 65536. A full queue blocks Record (backpressure) rather than drop a record.
	Log      *slog.Logger
}

type item struct {
	g *store.Generation
	c *store.Charge
}

// Writer batches records into the store.
type Writer struct {
	st   store.Billing
	o    Options
	in   chan item
	done chan struct{}

	// sendMu keeps Close from closing the queue while a Record sends on it.
	sendMu sync.RWMutex
	closed bool

	mu      sync.Mutex
	pending map[string]*store.Generation // queued or being written, by id

	stats Stats
}

// Stats are counters for metrics and tests.
type Stats struct {
	Written, Batches, Failures, DeadLetters int64
	LastFlush                               time.Duration
}

// New starts a writer; Close stops it.
func New(st store.Billing, o Options) *Writer {
	if o.Interval <= 0 {
		o.Interval = 200 * time.Millisecond
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 2000
	}
	if o.Queue <= 0 {
		o.Queue = 65536
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{st: st, o: o, in: make(chan item, o.Queue), done: make(chan struct{}), pending: map[string]*store.Generation{}}
	go w.run()
	return w
}

// Record queues a generation and its charge (nil when nothing was charged).
// It returns at once unless the queue is full.
func (w *Writer) Record(g *store.Generation, c *store.Charge) {
	w.sendMu.RLock()
	defer w.sendMu.RUnlock()
	if w.closed {
		// Only possible if a request outlives the drain; write it directly
		// rather than lose it.
		if err := w.st.WriteBatch(context.Background(), batchOf([]item{{g, c}})); err != nil {
			w.o.Log.Error("ledger write after close failed", slog.String("generation", g.ID), slog.String("error", err.Error()))
		}
		return
	}
	w.mu.Lock()
	w.pending[g.ID] = g
	w.mu.Unlock()
	w.in <- item{g, c}
}

// Pending returns a generation that is queued but not yet written.
func (w *Writer) Pending(id string) (*store.Generation, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	g, ok := w.pending[id]
	return g, ok
}

// Stats returns the writer's counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// QueueDepth is how many records wait.
func (w *Writer) QueueDepth() int { return len(w.in) }

// Close writes everything queued and stops. Call it after the HTTP server
// has drained, so no request records after it.
func (w *Writer) Close(ctx context.Context) error {
	w.sendMu.Lock()
	if w.closed {
		w.sendMu.Unlock()
		return nil
	}
	w.closed = true
	close(w.in)
	w.sendMu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]item, 0, w.o.MaxBatch)
	t := time.NewTimer(w.o.Interval)
	defer t.Stop()
	for {
		select {
		case it, ok := <-w.in:
			if !ok {
				w.flush(batch)
				return
			}
			batch = append(batch, it)
			if len(batch) >= w.o.MaxBatch {
				w.flush(batch)
				batch = batch[:0]
			}
		case <-t.C:
			if len(batch) > 0 {
				w.flush(batch)
				batch = batch[:0]
			}
			t.Reset(w.o.Interval)
		}
	}
}

func batchOf(items []item) *store.Batch {
	b := &store.Batch{Generations: make([]store.Generation, 0, len(items))}
	for _, it := range items {
		b.Generations = append(b.Generations, *it.g)
		if it.c != nil {
			b.Charges = append(b.Charges, *it.c)
		}
	}
	return b
}

// flush writes one batch. Writes are idempotent (a generation or charge
// already stored is skipped), so retrying after an unclear failure is safe.
//
// A batch that keeps failing is tried record by record. If the store itself
// is down (an empty batch cannot commit either), the whole batch is retried
// until it comes back: requests wait on a full queue meanwhile and nothing is
// dropped. Records the store refuses while it is up break a constraint and
// never will be written: each is logged in full as a dead letter, to be
// replayed by hand, and dropped, so it cannot stall every record behind it.
func (w *Writer) flush(items []item) {
	if len(items) == 0 {
		return
	}
	pause := 100 * time.Millisecond
	for !w.write(items, 3) {
		var failed []item
		for i := range items {
			if !w.write(items[i:i+1], 1) {
				failed = append(failed, items[i])
			}
		}
		// Every record failed: a store that is down, or records that are
		// all bad? An empty batch commits only if the store is up.
		if len(failed) < len(items) || w.st.WriteBatch(context.Background(), &store.Batch{}) == nil {
			for _, it := range failed {
				w.o.Log.Error("ledger dead letter: record could not be written",
					slog.Any("generation", *it.g), slog.Any("charge", it.c))
				w.mu.Lock()
				w.stats.DeadLetters++
				delete(w.pending, it.g.ID)
				w.mu.Unlock()
			}
			return
		}
		time.Sleep(pause)
		pause = min(pause*2, 5*time.Second)
	}
}

// write tries a batch up to tries times with backoff.
func (w *Writer) write(items []item, tries int) bool {
	b := batchOf(items)
	backoff := 50 * time.Millisecond
	for try := 1; ; try++ {
		start := time.Now()
		err := w.st.WriteBatch(context.Background(), b)
		w.mu.Lock()
		if err == nil {
			w.stats.Written += int64(len(items))
			w.stats.Batches++
			w.stats.LastFlush = time.Since(start)
			for _, it := range items {
				delete(w.pending, it.g.ID)
			}
			w.mu.Unlock()
			return true
		}
		w.stats.Failures++
		w.mu.Unlock()
		w.o.Log.Error("ledger batch failed", slog.Int("records", len(items)), slog.Int("try", try), slog.String("error", err.Error()))
		if try == tries {
			return false
		}
		time.Sleep(backoff)
		backoff = min(backoff*2, 2*time.Second)
	}
}
