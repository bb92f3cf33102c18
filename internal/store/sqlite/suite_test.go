package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store/storetest"
)

// harness opens a fresh database per test: a file (WAL, a write and a read
// pool) or an in-memory one (one connection).
func harness(file bool) storetest.Harness {
	return storetest.Harness{
		Open: func(tb testing.TB) storetest.DB {
			if file {
				return openTest(tb, filepath.Join(tb.TempDir(), "switchyard.db"))
			}
			return openTest(tb, ":memory:")
		},
		SetClock:      func(db storetest.DB, now func() time.Time) { db.(*DB).now = now },
		SetPruneChunk: func(db storetest.DB, n int) { db.(*DB).pruneChunk = n },
		QueryRow: func(db storetest.DB, query string, args ...any) storetest.Row {
			return db.(*DB).r.QueryRow(query, args...)
		},
	}
}

func TestStore(t *testing.T) {
	t.Run("file", func(t *testing.T) { storetest.Run(t, harness(true)) })
	t.Run("memory", func(t *testing.T) { storetest.Run(t, harness(false)) })
}

// BenchmarkWriteBatch writes ledger batches to a file database:
//
//	go test -run '^$' -bench WriteBatch -benchtime 40x ./internal/store/sqlite/
func BenchmarkWriteBatch(b *testing.B) {
	storetest.BenchmarkWriteBatch(b, harness(true))
}
