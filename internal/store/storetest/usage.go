package storetest

import (
	"context"
	"testing"
	"time"

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
