package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/benchseed"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// BenchmarkListGenerationsAtScale seeds $SWITCHYARD_BENCH_ROWS generations
// (internal/benchseed: 200 keys in 20 accounts, each calling 2 of 6 models,
// over 90 days) into a fresh database file and times ListGenerations, p50
// and p95 in ms:
//
//	SWITCHYARD_BENCH_ROWS=1000000 go test -run '^$' -bench ListGenerationsAtScale -benchtime 50x ./internal/store/sqlite/
//
// The model listings run twice: with generations_model_created (0017) and
// after dropping it, as they were before.
func BenchmarkListGenerationsAtScale(b *testing.B) {
	n := benchseed.Rows(b)
	path := filepath.Join(b.TempDir(), "bench.db")
	db := openTest(b, path)
	ctx := context.Background()
	const accounts, nkeys = 20, 200
	keys, err := benchseed.CreateKeys(ctx, db, accounts, nkeys)
	if err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	if err := benchseed.SQLite(ctx, path, n, keys, 90, time.Now()); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d generations in %s", n, time.Since(began).Round(time.Second))
	list := func(q store.GenerationQuery, want int) error {
		q.Limit = 50
		gs, err := db.ListGenerations(ctx, q)
		if err == nil && len(gs) != want {
			err = fmt.Errorf("listed %d generations, want %d", len(gs), want)
		}
		return err
	}
	model := func(i int) error {
		return list(store.GenerationQuery{Model: fmt.Sprintf("model-%d", i%benchseed.Models)}, min(50, n/benchseed.Models))
	}
	absent := func(int) error { return list(store.GenerationQuery{Model: "model-none"}, 0) }
	benchseed.Time(b, "key-listing", func(i int) error { return list(store.GenerationQuery{KeyHash: keys[i%nkeys].Hash}, min(50, n/nkeys)) })
	benchseed.Time(b, "account-listing", func(i int) error {
		return list(store.GenerationQuery{AccountID: fmt.Sprintf("acct-%02d", i%accounts)}, min(50, n/accounts))
	})
	benchseed.Time(b, "all-listing", func(int) error { return list(store.GenerationQuery{}, min(50, n)) })
	benchseed.Time(b, "model-listing", model)
	benchseed.Time(b, "model-listing/absent", absent)
	if _, err := db.w.ExecContext(ctx, `DROP INDEX generations_model_created`); err != nil {
		b.Fatal(err)
	}
	benchseed.Time(b, "model-listing/without-0017", model)
	benchseed.Time(b, "model-listing/absent/without-0017", absent)
}
