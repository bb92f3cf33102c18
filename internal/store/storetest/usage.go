package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// usageDetail is what testUsageCountsErrorsLatencyAndApps checks of a
// usage row: -1 for a percentile with no samples.
type usageDetail struct {
	group, split                         string
	requests, errors                     int64
	latency50, latency95, ttft50, ttft95 int64
}

func detailOf(r store.UsageRow) usageDetail {
	q := func(h store.Histogram, p float64) int64 {
		if v, ok := h.Quantile(p); ok {
			return v
		}
		return -1
	}
	return usageDetail{r.Group, r.Split, r.Requests, r.Errors,
		q(r.Latency, 0.5), q(r.Latency, 0.95), q(r.TTFT, 0.5), q(r.TTFT, 0.95)}
}

func testUsageCountsErrorsLatencyAndApps(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	ctx := context.Background()
	d1 := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	with := func(g store.Generation, status int, code string, latency, ttft time.Duration, title, referer string) store.Generation {
		g.Status, g.ErrorCode, g.Latency, g.TimeToFirst, g.AppTitle, g.Origin = status, code, latency, ttft, title, referer
		g.Streamed = ttft > 0
		return g
	}
	g1 := with(gen("u1", f.keyA, acctPrepaid, "gpt", "openai", d1.Add(time.Hour), 10, 1, 100), 200, "", 100*time.Millisecond, 40*time.Millisecond, "Chat App", "https://chat.example/x")
	g2 := with(gen("u2", f.keyA, acctPrepaid, "gpt", "openai", d1.Add(2*time.Hour), 10, 1, 100), 500, "upstream_error", 200*time.Millisecond, 0, "", "https://x.example/page?a=1")
	g3 := with(gen("u3", f.keyA, acctPrepaid, "claude", "anthropic", d1.Add(3*time.Hour), 10, 1, 100), 200, "", time.Second, 0, "", "")
	g4 := with(gen("u4", f.keyA, acctPrepaid, "claude", "anthropic", d2.Add(time.Hour), 10, 1, 100), 429, "rate_limited", 5*time.Millisecond, 0, "Chat App", "")
	// g5 falls in g1's rollup row, written by a later batch: its histograms
	// and error count are merged into the stored ones.
	g5 := with(gen("u5", f.keyA, acctPrepaid, "gpt", "openai", d1.Add(4*time.Hour), 10, 1, 100), 200, "content_filter", 300*time.Millisecond, 120*time.Millisecond, "Chat App", "")
	for _, part := range [][]store.Generation{{g1, g2, g3}, {g4, g5}} {
		if err := db.WriteBatch(ctx, &store.Batch{Generations: part}); err != nil {
			t.Fatal(err)
		}
	}
	// Bucket midpoints: 5 → 5, 100 → 99, 200 → 199, 300 → 303, 1000 → 991,
	// 40 → 41, 120 → 123 (store.Histogram).
	tests := []struct {
		name string
		q    store.UsageQuery
		want []usageDetail
	}{
		{name: "by app", q: store.UsageQuery{GroupBy: "app"}, want: []usageDetail{
			{"", "", 1, 0, 991, 991, -1, -1},
			{"Chat App", "", 3, 2, 99, 303, 41, 123},
			{"https://x.example", "", 1, 1, 199, 199, -1, -1},
		}},
		{name: "by day", q: store.UsageQuery{GroupBy: "day"}, want: []usageDetail{
			{"2025-04-01", "", 4, 2, 199, 991, 41, 123},
			{"2025-04-02", "", 1, 1, 5, 5, -1, -1},
		}},
		{name: "by day split by model", q: store.UsageQuery{GroupBy: "day", Split: "model"}, want: []usageDetail{
			{"2025-04-01", "claude", 1, 0, 991, 991, -1, -1},
			{"2025-04-01", "gpt", 3, 2, 199, 303, 41, 123},
			{"2025-04-02", "claude", 1, 1, 5, 5, -1, -1},
		}},
		{name: "by model split by app", q: store.UsageQuery{GroupBy: "model", Split: "app", From: d1, To: d2}, want: []usageDetail{
			{"claude", "", 1, 0, 991, 991, -1, -1},
			{"gpt", "Chat App", 2, 1, 99, 303, 41, 123},
			{"gpt", "https://x.example", 1, 1, 199, 199, -1, -1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.Usage(ctx, tt.q)
			if err != nil {
				t.Fatalf("Usage: %v", err)
			}
			var got []usageDetail
			for _, r := range rows {
				got = append(got, detailOf(r))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Usage(%+v) =\n%+v\nwant\n%+v", tt.q, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("row %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	for _, q := range []store.UsageQuery{{GroupBy: "day", Split: "day"}, {GroupBy: "model", Split: "model"}, {Split: "colour"}} {
		if _, err := db.Usage(ctx, q); err == nil {
			t.Errorf("Usage(%+v) succeeded", q)
		}
	}
}

// testUsageReportsEqualTheirGenerations writes a few hundred varied
// generations (3 keys of 2 accounts, models, providers, apps, errors,
// latencies over twelve days; one batch written twice) and checks every
// report the API can ask for — each group_by, with and without each split,
// all accounts and each one, with and without a range of days — against
// the sums of the generations themselves: whichever rollups a backend
// reads (PostgreSQL keeps all accounts' usage, and usage per block of 8
// days, beside the per-key rollups: migration 0016), they add up to the
// same. The ranges start and end inside and at the edges of 8-day blocks
// (2025-06-01 is unix day 20240, a multiple of 8).
func testUsageReportsEqualTheirGenerations(t *testing.T, h *Harness) {
	db := h.open(t)
	f := newBillingFixture(t, db)
	ctx := context.Background()
	day0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	keys := []struct{ hash, account string }{{f.keyA, acctPrepaid}, {f.keyDaily, acctPrepaid}, {f.keyB, acctUnmetered}}
	models := []struct{ model, provider string }{{"gpt", "openai"}, {"claude", "anthropic"}, {"gpt", "azure"}}
	apps := []struct{ title, origin string }{{"", ""}, {"Chat App", ""}, {"", "https://x.example/page"}}
	rnd := rand.New(rand.NewPCG(1, 2))
	var gens []store.Generation
	for i := range 400 {
		k, m, a := keys[rnd.IntN(len(keys))], models[rnd.IntN(len(models))], apps[rnd.IntN(len(apps))]
		created := day0.Add(time.Duration(rnd.Int64N(int64(12 * 24 * time.Hour))))
		g := gen(fmt.Sprintf("r%03d", i), k.hash, k.account, m.model, m.provider, created, rnd.Int64N(1000), rnd.Int64N(1000), money.Nanos(rnd.Int64N(1_000_000)))
		g.AppTitle, g.Origin = a.title, a.origin
		g.Latency = time.Duration(rnd.Int64N(20_000)) * time.Millisecond
		if rnd.IntN(2) == 0 {
			g.TimeToFirst = time.Duration(1+rnd.Int64N(3_000)) * time.Millisecond
			g.Streamed = true
		}
		switch rnd.IntN(10) {
		case 0:
			g.Status = 502
		case 1:
			g.ErrorCode = "content_filter"
		}
		gens = append(gens, g)
	}
	for i := 0; i < len(gens); i += 70 {
		part := gens[i:min(i+70, len(gens))]
		if err := db.WriteBatch(ctx, &store.Batch{Generations: part}); err != nil {
			t.Fatal(err)
		}
		if i == 140 { // written again: counted once
			if err := db.WriteBatch(ctx, &store.Batch{Generations: part}); err != nil {
				t.Fatal(err)
			}
		}
	}
	value := func(g *store.Generation, dim string) string {
		switch dim {
		case "day":
			return store.DayString(store.UnixDay(g.CreatedAt.UnixNano()))
		case "model":
			return g.Model
		case "key":
			return g.KeyHash
		case "provider":
			return g.Provider
		case "app":
			return store.App(g)
		}
		return ""
	}
	trim := func(h store.Histogram) store.Histogram {
		for len(h) > 0 && h[len(h)-1] == 0 {
			h = h[:len(h)-1]
		}
		return h
	}
	dims := []string{"day", "model", "key", "provider", "app"}
	d := func(n int) time.Time { return day0.AddDate(0, 0, n) }
	ranges := []struct{ from, to time.Time }{{}, {d(1), d(3)}, {d(2), time.Time{}}, {time.Time{}, d(10)}, {d(0), d(8)},
		{d(0), d(10)}, {d(3), d(11)}, {d(-5), d(9)}, {d(8), time.Time{}}, {d(7), d(9)}}
	for _, group := range dims {
		for _, split := range append([]string{""}, dims[1:]...) {
			if split == group {
				continue
			}
			for _, account := range []string{"", acctPrepaid, acctUnmetered} {
				for _, r := range ranges {
					q := store.UsageQuery{GroupBy: group, Split: split, AccountID: account, From: r.from, To: r.to}
					var want store.UsageSummer
					for i := range gens {
						g := &gens[i]
						if account != "" && g.AccountID != account || !r.from.IsZero() && g.CreatedAt.Before(r.from) || !r.to.IsZero() && !g.CreatedAt.Before(r.to) {
							continue
						}
						row := store.RollupRow{Group: value(g, group), Split: value(g, split), Requests: 1,
							TokensPrompt: g.TokensPrompt, TokensCompletion: g.TokensCompletion, Cost: g.Cost}
						if store.IsError(g) {
							row.Errs = 1
						}
						row.Latency.Add(g.Latency.Milliseconds())
						if g.TimeToFirst > 0 {
							row.TTFT.Add(g.TimeToFirst.Milliseconds())
						}
						want.Add(&row)
					}
					got, err := db.Usage(ctx, q)
					if err != nil {
						t.Fatalf("%+v: %v", q, err)
					}
					wantRows := want.Rows()
					if len(got) != len(wantRows) {
						t.Fatalf("%+v: %d rows, want %d", q, len(got), len(wantRows))
					}
					for i, w := range wantRows {
						g := got[i]
						g.Latency, g.TTFT, w.Latency, w.TTFT = trim(g.Latency), trim(g.TTFT), trim(w.Latency), trim(w.TTFT)
						if !reflect.DeepEqual(g, w) {
							t.Fatalf("%+v: row %d\n got %+v\nwant %+v", q, i, g, w)
						}
					}
				}
			}
		}
	}
}
