package postgres

import (
	"bytes"
	"context"
	"fmt"
	"os"
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
	ServerCPU: serverCPU,
}

// serverCPU is the CPU time used so far by the server processes of db's
// pooled connections, read from /proc (the server runs on this machine).
func serverCPU(tb testing.TB, db storetest.DB) map[int]time.Duration {
	conns := db.(*DB).pool.AcquireAllIdle(context.Background())
	out := make(map[int]time.Duration, len(conns))
	for _, c := range conns {
		pid := int(c.Conn().PgConn().PID())
		c.Release()
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			tb.Skipf("server CPU: %v (the server is not on this machine?)", err)
		}
		// Fields after the command's closing parenthesis: state is the
		// 3rd of stat, utime and stime the 14th and 15th.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		out[pid] = time.Duration(utime+stime) * time.Second / clockTicks
	}
	return out
}

// clockTicks is Linux's USER_HZ, the unit of /proc's CPU times.
const clockTicks = 100

func TestStore(t *testing.T) {
	storetest.Run(t, harness)
}

// BenchmarkWriteBatch writes ledger batches to a database in a fresh schema:
//
//	go test -run '^$' -bench WriteBatch -benchtime 40x ./internal/store/postgres/
func BenchmarkWriteBatch(b *testing.B) {
	storetest.BenchmarkWriteBatch(b, harness)
}
