package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/ledger"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// downStore is the real store with a switch that makes it unreachable for
// what readiness and the ledger use, as a database behind a cut network is.
type downStore struct {
	admin.Store
	down atomic.Bool
}

var errDown = errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")

func (d *downStore) Meta(ctx context.Context, name string) (string, error) {
	if d.down.Load() {
		return "", errDown
	}
	return d.Store.Meta(ctx, name)
}

func (d *downStore) WriteBatch(ctx context.Context, b *store.Batch) error {
	if d.down.Load() {
		return errDown
	}
	return d.Store.WriteBatch(ctx, b)
}

func (d *downStore) Ping(ctx context.Context) error {
	if d.down.Load() {
		return errDown
	}
	return d.Store.Ping(ctx)
}

func readyz(t *testing.T, g *testGateway) (int, string) {
	t.Helper()
	resp, err := http.Get(g.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// /readyz says whether this instance can serve: 200 ready; with the
// database down and a spool taking records, 200 degraded while requests
// go on; without a spool, 503. Its answer is at most a second old.
func TestReadyz(t *testing.T) {
	for _, withSpool := range []bool{true, false} {
		t.Run(map[bool]string{true: "spool", false: "no spool"}[withSpool], func(t *testing.T) {
			var o server.Options
			if withSpool {
				sp, err := ledger.OpenSpool(filepath.Join(t.TempDir(), "spool"), 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { sp.Close() })
				o.LedgerSpool = sp
			}
			var ds *downStore
			var genID string
			g := startServerWrapped(t, parse(t, simConfig("1", "2", "0s")), o, func(st admin.Store) admin.Store { ds = &downStore{Store: st}; return ds })
			if code, body := readyz(t, g); code != 200 || gjson.Get(body, "status").String() != "ready" {
				t.Fatalf("healthy: %d %s", code, body)
			}
			ds.down.Store(true)
			time.Sleep(1100 * time.Millisecond) // past the cached answer
			code, body := readyz(t, g)
			if withSpool {
				if code != 200 || gjson.Get(body, "status").String() != "degraded" || gjson.Get(body, "checks.store.status").String() != "degraded" {
					t.Fatalf("database down, spool: %d %s; want 200 degraded", code, body)
				}
				// Requests go on meanwhile (the demo key's account is unmetered).
				status, body := g.chat(t, "chat-a")
				if status != 200 {
					t.Fatalf("chat while the database is down: %d %s", status, body)
				}
				genID = gjson.Get(body, "id").String()
			} else if code != 503 || gjson.Get(body, "checks.store.status").String() != "failing" {
				t.Fatalf("database down, no spool: %d %s; want 503 with the store failing", code, body)
			}
			ds.down.Store(false)
			deadline := time.Now().Add(10 * time.Second)
			for {
				code, body = readyz(t, g)
				if code == 200 && gjson.Get(body, "status").String() == "ready" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after recovery: %d %s", code, body)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if genID != "" {
				// The generation served during the outage reached the
				// database through the spool.
				for {
					if _, err := ds.Store.GetGeneration(context.Background(), genID); err == nil {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("generation %s served during the outage never reached the database", genID)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
}
