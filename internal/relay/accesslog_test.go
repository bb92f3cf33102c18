package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// FuzzAccessLineIsSlogs: the access line written directly is the line
// slog's JSON handler writes for the same record, whatever its strings
// (quotes, control bytes, invalid UTF-8, U+2028) and numbers.
func FuzzAccessLineIsSlogs(f *testing.F) {
	f.Add("req-1", "gen-1", "gpt-4o", "openai", "gpt-4o-2024-08-06", "", 200, true, false, int64(17), int64(20), false, int64(242500), int64(1079714), int64(1796610419123456789))
	f.Add("r\"\\\n\t\x00\x1f", "<g&>", "\xff\xfe model", "p\u2028\u2029", "三", "upstream_error", 502, false, true, int64(-1), int64(1<<62), true, int64(-7), int64(-1), int64(0))
	f.Add("", "", "", "", "", "timeout", 0, false, false, int64(0), int64(0), false, int64(0), int64(0), int64(1e9))
	f.Fuzz(func(t *testing.T, reqID, id, model, prov, upModel, errCode string, status int, stream, cancelled bool,
		prompt, completion int64, estimated bool, cost, latency, unixNano int64) {
		now := time.Unix(0, unixNano).UTC()
		if now.Year() >= 10000 {
			t.Skip("slog refuses years past 9999")
		}
		g := &store.Generation{RequestID: reqID, ID: id, Model: model, Provider: prov, UpstreamModel: upModel,
			Status: status, ErrorCode: errCode, Streamed: stream, Cancelled: cancelled, Latency: time.Duration(latency)}
		u := llm.Usage{PromptTokens: prompt, CompletionTokens: completion, Estimated: estimated}
		if cost == -1<<63 {
			cost++ // money.Nanos cannot negate the most negative value; no charge comes near it
		}
		var want bytes.Buffer
		r := slog.NewRecord(now, slog.LevelInfo, "generation", 0)
		r.AddAttrs(accessAttrs(g, u, money.Nanos(cost))...)
		if err := slog.NewJSONHandler(&want, nil).Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if got := appendAccessLine(nil, now, g, u, money.Nanos(cost)); string(got) != want.String() {
			t.Fatalf("\n got %s\nwant %s", got, want.String())
		}
	})
}

// TestAccessLogGoesToItsWriter: with Deps.AccessLog set, the line goes
// there, once per request, and not through Log.
func TestAccessLogGoesToItsWriter(t *testing.T) {
	var lines, logs bytes.Buffer
	now := time.Date(2026, 12, 7, 3, 0, 0, 5, time.UTC)
	rl := &Relay{Deps: Deps{Log: slog.New(slog.NewJSONHandler(&logs, nil)), AccessLog: &lines, Now: func() time.Time { return now }}}
	g := &store.Generation{RequestID: "req-1", ID: "gen-1", Model: "m", Status: 200}
	rl.logAccess(context.Background(), g, llm.Usage{PromptTokens: 3}, 1500)
	want := `{"time":"2026-12-07T03:00:00.000000005Z","level":"INFO","msg":"generation","request_id":"req-1","id":"gen-1","model":"m","provider":"","upstream_model":"","status":200,"error":"","stream":false,"cancelled":false,"prompt_tokens":3,"completion_tokens":0,"estimated":false,"cost":"0.0000015","latency":0}` + "\n"
	if lines.String() != want || logs.Len() != 0 {
		t.Fatalf("access log %q, other log %q; want %q", lines.String(), logs.String(), want)
	}
}

// FuzzAttemptsJSONIsMarshals: the attempts column reads back as the
// records it was written from, as encoding/json's Marshal would have
// written them.
func FuzzAttemptsJSONIsMarshals(f *testing.F) {
	f.Add("openai", "gpt-4o", "error", 429, "rate limited <&>", int64(12), "b\xff\u2028", "m\"\\", "ok", 0, "", int64(-1))
	f.Fuzz(func(t *testing.T, p1, m1, o1 string, s1 int, e1 string, d1 int64, p2, m2, o2 string, s2 int, e2 string, d2 int64) {
		recs := []attemptRecord{{p1, m1, o1, s1, e1, d1}, {p2, m2, o2, s2, e2, d2}}
		for n := range 3 {
			got := attemptsJSON(recs[:n])
			want, _ := json.Marshal(recs[:n])
			if n == 0 {
				want = []byte("[]")
			}
			var a, b any
			if err := json.Unmarshal([]byte(got), &a); err != nil {
				t.Fatalf("attempts %q: not JSON: %v", got, err)
			}
			_ = json.Unmarshal(want, &b)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("\n got %s\nwant %s", got, want)
			}
		}
	})
}
