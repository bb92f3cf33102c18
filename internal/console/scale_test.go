package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/benchseed"
)

// BenchmarkConsolePagesAtScale seeds $SWITCHYARD_BENCH_ROWS generations
// (internal/benchseed: 200 keys in 20 accounts, 6 models, 90 days, with
// their usage rollups) into the console's SQLite database and times the
// server-side render of the Usage and Generations pages for the signed-in
// admin (the whole request: session, the in-process API calls, the
// template), p50 and p95 in ms:
//
//	SWITCHYARD_BENCH_ROWS=1000000 go test -run '^$' -bench ConsolePagesAtScale -benchtime 50x ./internal/console/
func BenchmarkConsolePagesAtScale(b *testing.B) {
	n := benchseed.Rows(b)
	g := newGateway(b)
	ctx := context.Background()
	keys, err := benchseed.CreateKeys(ctx, g.st, 20, 200)
	if err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	if err := benchseed.SQLite(ctx, g.dbPath, n, keys, 90, time.Now()); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d generations in %s", n, time.Since(began).Round(time.Second))
	br := g.browser()
	br.signIn(b, g.adminKey)
	from90 := time.Now().UTC().AddDate(0, 0, -89).Format(time.DateOnly)
	for _, p := range []struct{ name, path, want string }{
		{"usage", "/console/usage", "usage-data"},
		{"usage/90-days-by-key", "/console/usage?split=key&from=" + from90, "usage-data"},
		{"usage/one-account", "/console/usage?account_id=acct-03", "usage-data"},
		{"generations", "/console/generations", "data-id="},
		{"generations/one-model", "/console/generations?model=model-3", "data-id="},
		{"generations/one-account", "/console/generations?account_id=acct-03", "data-id="},
	} {
		benchseed.Time(b, p.name, func(int) error {
			resp, page := br.do(b, http.MethodGet, p.path, nil)
			if resp.StatusCode != http.StatusOK || !strings.Contains(page, p.want) {
				b.Fatalf("GET %s: %d\n%.2000s", p.path, resp.StatusCode, page)
			}
			return nil
		})
	}
}
