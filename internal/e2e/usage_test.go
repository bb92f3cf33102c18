package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// usageRows reads GET /api/v1/usage?query as rows keyed by group, or by
// group and split ("group|split").
func usageRows(t *testing.T, g *gateway, key, query string) map[string]map[string]any {
	t.Helper()
	st, out := g.admin(t, "GET", "/api/v1/usage?"+query, key, "")
	if st != 200 {
		t.Fatalf("usage?%s: %d %v", query, st, out)
	}
	rows := map[string]map[string]any{}
	for _, r := range out["data"].([]any) {
		row := r.(map[string]any)
		k := row["group"].(string)
		if s, ok := row["split"]; ok {
			k += "|" + s.(string)
		}
		rows[k] = row
	}
	return rows
}

func num(t *testing.T, row map[string]any, field string) float64 {
	t.Helper()
	v, ok := row[field].(float64)
	if !ok {
		t.Fatalf("%s = %v in %v, want a number", field, row[field], row)
	}
	return v
}

// TestUsageReportCountsErrorsAndLatency: requests through the gateway,
// some failing, some slow, with and without app headers, show up in
// GET /api/v1/usage by app and as a day × model series, with their errors
// and latency; the same report downloads as CSV.
func TestUsageReportCountsErrorsAndLatency(t *testing.T) {
	g := start(t, opts{})
	ctx := context.Background()
	const slow = 400 * time.Millisecond
	g.Up.Enqueue(
		fakeBehavior{FirstByteDelay: slow}, fakeBehavior{FirstByteDelay: slow}, // the app's two slow requests
		fakeBehavior{Status: 400, Message: "bad"}, // an upstream refusal, no app
		fakeBehavior{}, // the site's request
	)
	app := g.client(option.WithHeader("X-Title", "Usage App"))
	for range 2 {
		if _, err := app.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := chatErr(g, g.Key, "fake-a"); err == nil {
		t.Fatal("the upstream's 400 reached the client as a success")
	}
	site := g.client(option.WithHeader("HTTP-Referer", "https://site.example/some/page?x=1"))
	if _, err := site.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "fake-a", Messages: userMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	g.flush(t)

	byApp := usageRows(t, g, g.AdminKey, "group_by=app")
	if len(byApp) != 3 {
		t.Fatalf("usage by app = %v, want Usage App, https://site.example and \"\"", byApp)
	}
	a := byApp["Usage App"]
	if num(t, a, "requests") != 2 || num(t, a, "errors") != 0 || num(t, a, "latency_count") != 2 {
		t.Errorf("Usage App: %v", a)
	}
	// Latency is at least the upstream's delay; the report may read up to
	// 1/16 low (the bucket's middle).
	if p50 := num(t, a, "latency_p50_ms"); p50 < float64(slow.Milliseconds())*15/16 {
		t.Errorf("Usage App latency p50 = %v ms, the upstream alone took %v", p50, slow)
	}
	if num(t, a, "latency_p95_ms") < num(t, a, "latency_p50_ms") {
		t.Errorf("p95 below p50: %v", a)
	}
	if a["ttft_p50_ms"] != nil || num(t, a, "ttft_count") != 0 {
		t.Errorf("non-streamed requests have a time to first token: %v", a)
	}
	if s := byApp["https://site.example"]; num(t, s, "requests") != 1 || num(t, s, "errors") != 0 {
		t.Errorf("site: %v", s)
	}
	if n := byApp[""]; num(t, n, "requests") != 1 || num(t, n, "errors") != 1 {
		t.Errorf("no app (the failed request): %v", n)
	}

	today := time.Now().UTC().Format(time.DateOnly)
	series := usageRows(t, g, g.AdminKey, "group_by=day&split=model")
	if len(series) != 2 || num(t, series[today+"|gpt-4o"], "requests") != 2 ||
		num(t, series[today+"|fake-a"], "requests") != 2 || num(t, series[today+"|fake-a"], "errors") != 1 {
		t.Errorf("day × model series = %v", series)
	}

	// The same report as CSV.
	req, _ := http.NewRequest("GET", g.URL+"/api/v1/usage?group_by=app&format=csv&from="+today, nil)
	req.Header.Set("Authorization", "Bearer "+g.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="usage-app-`+today+`.csv"` {
		t.Fatalf("csv: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := "app,requests,tokens_prompt,tokens_completion,cost_usd,errors,latency_p50_ms,latency_p95_ms,ttft_p50_ms,ttft_p95_ms"
	if len(recs) != 4 || strings.Join(recs[0], ",") != want || recs[2][0] != "Usage App" || recs[2][1] != "2" ||
		recs[1][0] != "" || recs[1][5] != "1" || recs[2][8] != "" {
		t.Errorf("csv rows:\n%s", body)
	}
	if recs[2][6] != fmt.Sprint(num(t, a, "latency_p50_ms")) {
		t.Errorf("csv p50 %q, json %v", recs[2][6], a["latency_p50_ms"])
	}

	for _, q := range []string{"split=colour", "group_by=model&split=model", "format=xml", "group_by=hour"} {
		if st, out := g.admin(t, "GET", "/api/v1/usage?"+q, g.AdminKey, ""); st != 400 {
			t.Errorf("usage?%s: %d %v, want 400", q, st, out)
		}
	}
}

// TestUsagePercentilesAndErrorsOfKnownRecords: records with known latencies
// and statuses, written to the ledger directly, give exactly the
// percentiles and error counts the histograms promise, through the API;
// a management key sees only its own account.
func TestUsagePercentilesAndErrorsOfKnownRecords(t *testing.T) {
	g := start(t, opts{})
	ctx := context.Background()
	keys, err := g.Store.ListKeys(ctx)
	if err != nil || len(keys) == 0 {
		t.Fatal(keys, err)
	}
	var k store.Key
	for _, x := range keys {
		if x.Kind == store.KindAPI {
			k = x
		}
	}
	day := time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC)
	var b store.Batch
	for i := range 20 {
		gn := store.Generation{ID: fmt.Sprintf("gen-known-%02d", i), KeyHash: k.Hash, AccountID: k.AccountID,
			Model: "m", Provider: "fake", Status: 200, Attempts: "[]", CreatedAt: day.Add(time.Duration(i) * time.Second),
			Latency: 100 * time.Millisecond}
		switch {
		case i == 19:
			gn.Latency = 2 * time.Second // [1920, 2048 ms): p95's bucket, middle 1983
		case i >= 16:
			gn.Status, gn.ErrorCode = 502, "upstream_error"
		case i == 0:
			gn.ErrorCode = "content_filter" // an error with status 200
		}
		if i%2 == 0 {
			gn.Streamed, gn.TimeToFirst = true, 40*time.Millisecond // [40, 44 ms): 41
		}
		b.Generations = append(b.Generations, gn)
	}
	if err := g.Store.WriteBatch(ctx, &b); err != nil {
		t.Fatal(err)
	}
	rows := usageRows(t, g, g.AdminKey, "group_by=model&from=2020-01-01&to=2020-01-02")
	m := rows["m"]
	for field, want := range map[string]float64{
		"requests": 20, "errors": 3 + 1, "latency_count": 20,
		"latency_p50_ms": 99, // 100 ms is in [96, 104)
		"latency_p95_ms": 99, // rank 19 of 20 is still 100 ms
		"ttft_count":     10, "ttft_p50_ms": 41, "ttft_p95_ms": 41,
	} {
		if got := num(t, m, field); got != want {
			t.Errorf("%s = %v, want %v (%v)", field, got, want, m)
		}
	}
	// p95 of 20 is rank 19: add a second slow record and it is 2 s.
	slow := b.Generations[19]
	slow.ID = "gen-known-slow"
	if err := g.Store.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{slow}}); err != nil {
		t.Fatal(err)
	}
	m = usageRows(t, g, g.AdminKey, "group_by=model&from=2020-01-01&to=2020-01-02")["m"]
	if num(t, m, "latency_p95_ms") != 1983 || num(t, m, "latency_p50_ms") != 99 {
		t.Errorf("after a second slow record: %v", m)
	}

	// Another account's management key sees none of it.
	st, out := g.admin(t, "POST", "/api/v1/accounts", g.AdminKey, `{"name":"other"}`)
	if st != 201 {
		t.Fatal(st, out)
	}
	other := out["data"].(map[string]any)["id"].(string)
	st, out = g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"mk","kind":"management","account_id":"`+other+`"}`)
	if st != 201 {
		t.Fatal(st, out)
	}
	if rows := usageRows(t, g, out["key"].(string), "group_by=model&account_id="+k.AccountID); len(rows) != 0 {
		t.Errorf("another account's management key sees %v", rows)
	}
}
