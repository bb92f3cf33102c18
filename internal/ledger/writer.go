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
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// Options tune the writer.
type Options struct {
	Interval time.Duration // longest a record waits before its batch is written; default 200ms
	MaxBatch int           // records per transaction at most; default 2000
	Queue    int           // records that may wait; default 65536. A full queue blocks Record (backpressure) rather than drop a record.
	// Spool, when set, takes the batches the store cannot (it is down):
	// requests keep flowing and the spool drains when the store is back.
	// nil: a store that is down holds batches in memory and, once the
	// queue is full, blocks Record.
	Spool *Spool
	// DrainInterval is how often a non-empty spool is tried; default 1s.
	DrainInterval time.Duration
	Log           *slog.Logger
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

	// full: the store is down and the spool has no room, so records wait
	// in memory (see Blocked).
	full atomic.Bool
	// schemaWarned: the schema-mismatch error has been logged once.
	schemaWarned atomic.Bool
	stopDrain    chan struct{}
	drained      chan struct{}
	drainMu      sync.Mutex // one Drain at a time
}

// Stats are counters for metrics and tests.
type Stats struct {
	Written, Batches, Failures, DeadLetters int64
	// Spooled counts records written to the spool, Unspooled those
	// drained from it into the store.
	Spooled, Unspooled int64
	LastFlush          time.Duration
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
	if o.DrainInterval <= 0 {
		o.DrainInterval = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{st: st, o: o, in: make(chan item, o.Queue), done: make(chan struct{}), pending: map[string]*store.Generation{},
		stopDrain: make(chan struct{}), drained: make(chan struct{})}
	go w.run()
	if o.Spool != nil {
		go w.drainLoop()
	} else {
		close(w.drained)
	}
	return w
}

// Blocked reports that records cannot be kept anywhere durable right now:
// the store is down and the spool (if any) is full. Metered requests are
// refused meanwhile (billing fails closed): their charges could not be
// recorded.
func (w *Writer) Blocked() bool { return w.full.Load() }

// Spooled is how many bytes of records wait in the spool (0 without one).
func (w *Writer) Spooled() int64 {
	if w.o.Spool == nil {
		return 0
	}
	return w.o.Spool.Waiting()
}

// drainLoop writes spooled batches to the store whenever it takes them.
func (w *Writer) drainLoop() {
	defer close(w.drained)
	t := time.NewTicker(w.o.DrainInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stopDrain:
			return
		case <-t.C:
			w.Drain(context.Background())
		}
	}
}

// Drain writes what the spool holds to the store; it returns an error when
// the store is down (what is left stays spooled). Records the store refuses
// for good become dead letters, as in a normal flush. The server calls it
// once at start, before it loads balances, so they count every spooled
// charge.
func (w *Writer) Drain(ctx context.Context) error {
	if w.o.Spool == nil || w.o.Spool.Waiting() == 0 {
		return nil
	}
	w.drainMu.Lock()
	defer w.drainMu.Unlock()
	_, err := w.o.Spool.Drain(ctx, func(b *store.Batch) error {
		items := itemsOf(b)
		if w.commit(items, 1) {
			return errStoreDown
		}
		w.mu.Lock()
		w.stats.Unspooled += int64(len(items))
		w.mu.Unlock()
		return nil
	}, func(line []byte, err error) {
		w.o.Log.Error("ledger spool: a line is not a whole batch and is skipped (a write torn by a crash, or corruption)",
			slog.String("spool", w.o.Spool.Path()), slog.Int("bytes", len(line)), slog.String("error", err.Error()))
	})
	if err == nil {
		w.o.Log.Info("ledger spool drained into the store", slog.String("spool", w.o.Spool.Path()))
	}
	return err
}

var errStoreDown = errors.New("the store is unreachable")

// itemsOf pairs a spooled batch's charges with their generations.
func itemsOf(b *store.Batch) []item {
	charges := make(map[string]*store.Charge, len(b.Charges))
	for i := range b.Charges {
		charges[b.Charges[i].GenerationID] = &b.Charges[i]
	}
	items := make([]item, len(b.Generations))
	for i := range b.Generations {
		g := &b.Generations[i]
		items[i] = item{g: g, c: charges[g.ID]}
		delete(charges, g.ID)
	}
	for _, c := range charges {
		// A charge without its generation cannot happen (they are queued
		// together); keep it rather than drop money.
		items = append(items, item{g: &store.Generation{ID: c.GenerationID, AccountID: c.AccountID, KeyHash: c.KeyHash, CreatedAt: c.At}, c: c})
	}
	return items
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

// QueueCap is how many records may wait before Record blocks.
func (w *Writer) QueueCap() int { return cap(w.in) }

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
	close(w.stopDrain)
	select {
	case <-w.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-w.drained:
	case <-ctx.Done():
		return ctx.Err()
	}
	// One last try: a store that is back takes the spool now rather than
	// at the next start.
	if err := w.Drain(ctx); err != nil {
		w.o.Log.Warn("ledger spool left for the next start", slog.String("spool", w.o.Spool.Path()), slog.Int64("bytes", w.Spooled()))
	}
	return nil
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
// While the store is down the batch goes to the spool when there is one
// and it has room; otherwise it is retried until the store comes back:
// requests wait on a full queue meanwhile and nothing is dropped.
func (w *Writer) flush(items []item) {
	if len(items) == 0 {
		return
	}
	pause := 100 * time.Millisecond
	for w.commit(items, 3) {
		if w.o.Spool != nil {
			err := w.o.Spool.Append(batchOf(items))
			if err == nil {
				w.full.Store(false)
				w.mu.Lock()
				w.stats.Spooled += int64(len(items))
				for _, it := range items {
					delete(w.pending, it.g.ID)
				}
				w.mu.Unlock()
				return
			}
			if !w.full.Swap(true) {
				w.o.Log.Error("ledger: the store is down and the spool cannot take more; metered requests are refused until the store is back",
					slog.String("spool", w.o.Spool.Path()), slog.String("error", err.Error()))
			}
		}
		time.Sleep(pause)
		pause = min(pause*2, 5*time.Second)
	}
	w.full.Store(false)
}

// commit writes items, or reports that the store is down. A batch that
// keeps failing is tried record by record: records the store refuses
// while it is up break a constraint and never will be written, so each is
// logged in full as a dead letter, to be replayed by hand, and dropped, so
// it cannot stall every record behind it. When the database does not
// answer a Ping (before the records are tried one by one, or after every
// one failed), the store is down: nothing is dropped and commit returns
// true.
//
// A refusal for the schema (store.ErrSchema: a newer release migrated the
// database under this instance) is the store's, not the records': it
// counts as down too, so the records are spooled or wait, never dropped.
func (w *Writer) commit(items []item, tries int) (down bool) {
	err := w.write(items, tries)
	if err == nil {
		return false
	}
	if w.schemaMismatch(err) || w.st.Ping(context.Background()) != nil {
		return true // not the records: the store
	}
	var failed []item
	for i := range items {
		if err := w.write(items[i:i+1], 1); err != nil {
			if w.schemaMismatch(err) {
				return true
			}
			failed = append(failed, items[i])
		}
	}
	if len(failed) == len(items) && w.st.Ping(context.Background()) != nil {
		return true
	}
	for _, it := range failed {
		w.o.Log.Error("ledger dead letter: record could not be written",
			slog.Any("generation", *it.g), slog.Any("charge", it.c))
		w.mu.Lock()
		w.stats.DeadLetters++
		delete(w.pending, it.g.ID)
		w.mu.Unlock()
	}
	return false
}

// schemaMismatch reports a store.ErrSchema, saying once what it means.
func (w *Writer) schemaMismatch(err error) bool {
	if !errors.Is(err, store.ErrSchema) {
		return false
	}
	if !w.schemaWarned.Swap(true) {
		w.o.Log.Error("ledger: the database refuses this release's writes for its schema (a newer release migrated it?); records are kept in the spool, not dropped: replace this instance with the release that migrated",
			slog.String("error", err.Error()))
	}
	return true
}

// write tries a batch up to tries times with backoff; nil means written.
func (w *Writer) write(items []item, tries int) error {
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
			return nil
		}
		w.stats.Failures++
		w.mu.Unlock()
		w.o.Log.Error("ledger batch failed", slog.Int("records", len(items)), slog.Int("try", try), slog.String("error", err.Error()))
		if try == tries || errors.Is(err, store.ErrSchema) {
			return err
		}
		time.Sleep(backoff)
		backoff = min(backoff*2, 2*time.Second)
	}
}
