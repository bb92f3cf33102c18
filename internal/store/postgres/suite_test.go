package postgres

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store/postgres/pgtest"
	"github.com/switchyard-gw/switchyard/internal/store/storetest"
)

// openTest opens a database in a fresh schema, closed when tb ends.
func openTest(tb testing.TB) *DB {
	tb.Helper()
	dsn := pgtest.DSN(tb)
	db, err := Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// placeholders turns the suite's ? placeholders into $1, $2, ….
func placeholders(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var harness = storetest.Harness{
	Open:          func(tb testing.TB) storetest.DB { return openTest(tb) },
	SetClock:      func(db storetest.DB, now func() time.Time) { db.(*DB).now = now },
	SetPruneChunk: func(db storetest.DB, n int) { db.(*DB).pruneChunk = n },
	QueryRow: func(db storetest.DB, query string, args ...any) storetest.Row {
		return db.(*DB).pool.QueryRow(context.Background(), placeholders(query), args...)
	},
}

func TestStore(t *testing.T) {
	storetest.Run(t, harness)
}

// BenchmarkWriteBatch writes ledger batches to a database in a fresh schema:
//
//	go test -run '^$' -bench WriteBatch -benchtime 40x ./internal/store/postgres/
func BenchmarkWriteBatch(b *testing.B) {
	storetest.BenchmarkWriteBatch(b, harness)
}
