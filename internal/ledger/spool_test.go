package ledger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// outage is the real store with a switch that makes every write fail, as
// an unreachable database does.
type outage struct {
	store.Billing
	down   atomic.Bool
	writes atomic.Int64 // attempts while down
}

func (o *outage) WriteBatch(ctx context.Context, b *store.Batch) error {
	if o.down.Load() {
		o.writes.Add(1)
		return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	return o.Billing.WriteBatch(ctx, b)
}

func (o *outage) Ping(ctx context.Context) error {
	if o.down.Load() {
		return errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	return o.Billing.Ping(ctx)
}

func charged(i int, now time.Time) (*store.Generation, *store.Charge) {
	g := gen(i, now)
	return g, &store.Charge{GenerationID: g.ID, AccountID: g.AccountID, KeyHash: testKey, Amount: g.Cost, At: now}
}

func spent(t *testing.T, db store.Billing) int64 {
	t.Helper()
	bals, _, err := db.LoadBalances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bals {
		if b.ID == store.DefaultAccountID {
			return int64(b.Spent)
		}
	}
	return 0
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// While the store is down, records go to the spool at once (Record never
// blocks, Close returns); when it is back, the spool drains and every
// generation and charge is in the store exactly once.
func TestSpoolKeepsRecordsThroughAnOutage(t *testing.T) {
	db := &outage{Billing: openDBWithKey(t)}
	sp, err := OpenSpool(filepath.Join(t.TempDir(), "spool"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	w := New(db, Options{Interval: 5 * time.Millisecond, Queue: 8, Spool: sp, DrainInterval: 10 * time.Millisecond})
	now := time.Now().UTC()
	db.down.Store(true)
	// More records than the queue holds: without the spool, Record would block.
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			w.Record(charged(i, now))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked while the store was down and the spool had room")
	}
	waitFor(t, "records spooled", func() bool { return w.Stats().Spooled == 100 })
	if sp.Waiting() == 0 || w.Blocked() {
		t.Fatalf("spool waiting %d bytes, blocked %v; want records spooled and not blocked", sp.Waiting(), w.Blocked())
	}
	if got := spent(t, db.Billing); got != 0 {
		t.Fatalf("spent %d while the store was down", got)
	}
	db.down.Store(false)
	waitFor(t, "spool drained", func() bool { return sp.Waiting() == 0 })
	if got := spent(t, db.Billing); got != 100*10 {
		t.Fatalf("spent %d after the drain, want %d (every charge exactly once)", got, 100*10)
	}
	for _, id := range []string{"gen-0000", "gen-0099"} {
		if _, err := db.Billing.(interface {
			GetGeneration(context.Context, string) (*store.Generation, error)
		}).GetGeneration(context.Background(), id); err != nil {
			t.Fatalf("%s not in the store after the drain: %v", id, err)
		}
	}
	if st, _ := os.Stat(sp.Path()); st.Size() != 0 {
		t.Fatalf("spool file holds %d bytes after a full drain, want it emptied", st.Size())
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A full spool with the store down blocks metered requests (Blocked), and
// Blocked clears once the store takes writes again; nothing is lost.
func TestFullSpoolBlocksUntilTheStoreIsBack(t *testing.T) {
	db := &outage{Billing: openDBWithKey(t)}
	sp, err := OpenSpool(filepath.Join(t.TempDir(), "spool"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	w := New(db, Options{Interval: 5 * time.Millisecond, Spool: sp, DrainInterval: 10 * time.Millisecond})
	now := time.Now().UTC()
	db.down.Store(true)
	for i := range 40 { // ~600 bytes a record: more than 4096 bytes
		w.Record(charged(i, now))
	}
	waitFor(t, "the spool to fill", w.Blocked)
	db.down.Store(false)
	waitFor(t, "unblocked", func() bool { return !w.Blocked() })
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := spent(t, db.Billing); got != 40*10 {
		t.Fatalf("spent %d, want %d: records lost or doubled across a full spool", got, 40*10)
	}
}

// Batches a crashed run left in the spool are drained by the next run's
// Drain (the server calls it before loading balances); a torn last line
// is skipped and reported, not fatal.
func TestSpoolSurvivesARestartAndATornWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool")
	sp, err := OpenSpool(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i := range 3 {
		g, c := charged(i, now)
		if err := sp.Append(&store.Batch{Generations: []store.Generation{*g}, Charges: []store.Charge{*c}}); err != nil {
			t.Fatal(err)
		}
	}
	sp.Close()
	// A crash in the middle of a fourth append.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`v1 0badc0de {"Generations":[{"ID":"gen-0003"`)
	f.Close()

	db := openDBWithKey(t)
	sp, err = OpenSpool(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	var bad int
	n, err := sp.Drain(context.Background(), func(b *store.Batch) error { return db.WriteBatch(context.Background(), b) },
		func([]byte, error) { bad++ })
	if err != nil || n != 3 || bad != 1 {
		t.Fatalf("drained %d batches, %d bad, err %v; want 3 batches and the torn line reported", n, bad, err)
	}
	if got := spent(t, db); got != 3*10 {
		t.Fatalf("spent %d, want %d", got, 3*10)
	}
	if sp.Waiting() != 0 {
		t.Fatalf("%d bytes still waiting", sp.Waiting())
	}
}

// A drain that fails part way resumes after the batches it wrote, and a
// batch appended during a drain is kept for the next one.
func TestSpoolDrainResumes(t *testing.T) {
	sp, err := OpenSpool(filepath.Join(t.TempDir(), "spool"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	now := time.Now().UTC()
	for i := range 4 {
		g, _ := charged(i, now)
		if err := sp.Append(&store.Batch{Generations: []store.Generation{*g}}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	fail := errors.New("down")
	n, err := sp.Drain(context.Background(), func(b *store.Batch) error {
		if len(seen) == 2 {
			return fail
		}
		seen = append(seen, b.Generations[0].ID)
		return nil
	}, func([]byte, error) { t.Error("no line is bad") })
	if !errors.Is(err, fail) || n != 2 {
		t.Fatalf("n %d err %v", n, err)
	}
	n, err = sp.Drain(context.Background(), func(b *store.Batch) error {
		seen = append(seen, b.Generations[0].ID)
		if b.Generations[0].ID == "gen-0002" {
			g, _ := charged(9, now)
			if err := sp.Append(&store.Batch{Generations: []store.Generation{*g}}); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	}, nil)
	if err != nil || n != 2 {
		t.Fatalf("n %d err %v", n, err)
	}
	if sp.Waiting() == 0 {
		t.Fatal("the batch appended during the drain was dropped")
	}
	if _, err := sp.Drain(context.Background(), func(b *store.Batch) error { seen = append(seen, b.Generations[0].ID); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"gen-0000", "gen-0001", "gen-0002", "gen-0003", "gen-0009"}
	if len(seen) != len(want) {
		t.Fatalf("drained %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("drained %v, want %v", seen, want)
		}
	}
	if sp.Waiting() != 0 {
		t.Fatal("spool not empty after the last drain")
	}
}

func TestSpoolRefusesWhatDoesNotFit(t *testing.T) {
	sp, err := OpenSpool(filepath.Join(t.TempDir(), "spool"), 200)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	g, c := charged(1, time.Now())
	if err := sp.Append(&store.Batch{Generations: []store.Generation{*g}, Charges: []store.Charge{*c}}); !errors.Is(err, ErrSpoolFull) {
		t.Fatalf("err = %v, want ErrSpoolFull", err)
	}
	if sp.Waiting() != 0 {
		t.Fatal("a refused batch was partly written")
	}
}

// TestSpoolCreatesItsDirectory: the default spool is in $SWITCHYARD_DATA,
// which nothing else creates when the database is PostgreSQL; a gateway
// must not refuse to start for want of it.
func TestSpoolCreatesItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "switchyard")
	sp, err := OpenSpool(filepath.Join(dir, "switchyard.ledger-spool"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	g, c := charged(1, time.Now())
	if err := sp.Append(&store.Batch{Generations: []store.Generation{*g}, Charges: []store.Charge{*c}}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o750 {
		t.Fatalf("spool directory: %v %v, want mode 0750", fi, err)
	}
}

// migratedAway is a store a newer release migrated: it answers pings but
// refuses every write for its schema, until fixed (the instance replaced).
type migratedAway struct {
	store.Billing
	refusing atomic.Bool
}

func (m *migratedAway) WriteBatch(ctx context.Context, b *store.Batch) error {
	if m.refusing.Load() {
		return fmt.Errorf("write batch: %w: ERROR: function hist_add(bigint[], bigint[]) does not exist (SQLSTATE 42883)", store.ErrSchema)
	}
	return m.Billing.WriteBatch(ctx, b)
}

// A schema refusal is the store's fault, not the records': they are
// spooled (no dead letters), and written once the store takes them.
func TestSchemaRefusalSpoolsInsteadOfDroppingRecords(t *testing.T) {
	db := &migratedAway{Billing: openDBWithKey(t)}
	db.refusing.Store(true)
	sp, err := OpenSpool(filepath.Join(t.TempDir(), "spool"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	w := New(db, Options{Interval: 5 * time.Millisecond, Queue: 8, Spool: sp, DrainInterval: 10 * time.Millisecond})
	now := time.Now().UTC()
	for i := range 20 {
		w.Record(charged(i, now))
	}
	waitFor(t, "records spooled", func() bool { return w.Stats().Spooled == 20 })
	if st := w.Stats(); st.DeadLetters != 0 {
		t.Fatalf("dead letters = %d: records were dropped for the store's schema", st.DeadLetters)
	}
	db.refusing.Store(false)
	waitFor(t, "spool drained", func() bool { return sp.Waiting() == 0 })
	if got := spent(t, db.Billing); got != 20*10 {
		t.Fatalf("spent %d after the drain, want %d", got, 20*10)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
