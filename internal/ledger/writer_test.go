package ledger

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), "sqlite://"+t.TempDir()+"/l.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// testKey is a key the test database holds, as every real record's key is.
const testKey = "0000000000000000000000000000000000000000000000000000000000000001"

func openDBWithKey(t *testing.T) *sqlite.DB {
	db := openDB(t)
	if err := db.CreateKey(context.Background(), &store.Key{Hash: testKey, Label: "sk-sy-te…st", Kind: store.KindAPI}); err != nil {
		t.Fatal(err)
	}
	return db
}

func gen(i int, at time.Time) *store.Generation {
	return &store.Generation{ID: fmt.Sprintf("gen-%04d", i), KeyHash: testKey, AccountID: store.DefaultAccountID, Model: "m", Provider: "p",
		Cost: 10, Status: 200, Attempts: "[]", CreatedAt: at}
}

func TestCloseWritesEverythingQueued(t *testing.T) {
	db := openDBWithKey(t)
	w := New(db, Options{Interval: time.Hour}) // only Close can flush
	now := time.Now().UTC()
	var wg sync.WaitGroup
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := gen(i, now)
			w.Record(g, &store.Charge{GenerationID: g.ID, AccountID: g.AccountID, KeyHash: testKey, Amount: g.Cost, At: now})
		}()
	}
	wg.Wait()
	if _, ok := w.Pending("gen-0007"); !ok {
		t.Fatal("a queued record should be readable before it is written")
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"gen-0000", "gen-0499"} {
		if _, err := db.GetGeneration(context.Background(), id); err != nil {
			t.Fatalf("%s not written: %v", id, err)
		}
	}
	bals, _, _ := db.LoadBalances(context.Background())
	for _, b := range bals {
		if b.ID == store.DefaultAccountID && b.Spent != 500*10 {
			t.Fatalf("spent %d, want %d", b.Spent, 500*10)
		}
	}
	if _, ok := w.Pending("gen-0007"); ok {
		t.Fatal("written records must leave the pending set")
	}
	// A record after Close is still written, not lost.
	w.Record(gen(999, now), nil)
	if _, err := db.GetGeneration(context.Background(), "gen-0999"); err != nil {
		t.Fatal(err)
	}
}

func TestIntervalFlushes(t *testing.T) {
	db := openDBWithKey(t)
	w := New(db, Options{Interval: 10 * time.Millisecond})
	defer w.Close(context.Background())
	w.Record(gen(1, time.Now()), nil)
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := db.GetGeneration(context.Background(), "gen-0001"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("record not written by the interval flush")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPruneKeepsRollups(t *testing.T) {
	db := openDBWithKey(t)
	old := time.Now().AddDate(0, 0, -40).UTC()
	w := New(db, Options{})
	w.Record(gen(1, old), nil)
	w.Record(gen(2, time.Now().UTC()), nil)
	_ = w.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	Prune(ctx, db, 30, time.Hour, time.Now, nilLogger()) // one pass, then waits out ctx
	if _, err := db.GetGeneration(context.Background(), "gen-0001"); err == nil {
		t.Fatal("a 40-day-old record survived a 30-day retention")
	}
	if _, err := db.GetGeneration(context.Background(), "gen-0002"); err != nil {
		t.Fatal("a fresh record was pruned")
	}
	rows, _ := db.Usage(context.Background(), store.UsageQuery{GroupBy: "model"})
	if len(rows) != 1 || rows[0].Requests != 2 {
		t.Fatalf("rollups = %+v, want both requests kept", rows)
	}
}

func TestUnwritableRecordDoesNotStallTheLedger(t *testing.T) {
	db := openDBWithKey(t)
	w := New(db, Options{Interval: time.Hour})
	now := time.Now().UTC()
	bad := gen(1, now)
	bad.AccountID = "acct-does-not-exist" // breaks a foreign key: never writable
	w.Record(gen(0, now), nil)
	w.Record(bad, nil)
	w.Record(gen(2, now), nil)
	_ = w.Close(context.Background())
	// A bad record alone in its batch must not look like a store outage.
	w = New(db, Options{Interval: time.Hour})
	bad2 := gen(3, now)
	bad2.AccountID = "acct-does-not-exist"
	w.Record(bad2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v (an unwritable record stalled the writer)", err)
	}
	for _, id := range []string{"gen-0000", "gen-0002"} {
		if _, err := db.GetGeneration(context.Background(), id); err != nil {
			t.Fatalf("%s was not written: %v", id, err)
		}
	}
	if st := w.Stats(); st.DeadLetters != 1 {
		t.Fatalf("dead letters = %d, want 1 (the lone bad record)", st.DeadLetters)
	}
}

// prunerFunc records what Prune asked for and ends the loop after one pass.
type prunerFunc struct {
	generations []time.Time
	responses   []time.Time
	stop        context.CancelFunc
}

func (p *prunerFunc) PruneGenerations(_ context.Context, before time.Time) (int64, error) {
	p.generations = append(p.generations, before)
	return 0, nil
}

func (p *prunerFunc) PruneResponses(_ context.Context, now time.Time) (int64, error) {
	p.responses = append(p.responses, now)
	p.stop()
	return 1, nil
}

func TestPruneRemovesExpiredResponsesEvenWhenGenerationsAreKeptForever(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &prunerFunc{stop: cancel}
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	Prune(ctx, p, 0, time.Hour, func() time.Time { return now }, nilLogger())
	if len(p.generations) != 0 {
		t.Fatalf("generations pruned with retention_days 0: %v", p.generations)
	}
	if len(p.responses) != 1 || !p.responses[0].Equal(now) {
		t.Fatalf("responses pruned at %v, want once at %v", p.responses, now)
	}
}
