package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// The hostile-input suite: what an attacker with a valid key (or a broken
// upstream) sends, and what the gateway must answer. Each case is a 4xx in
// the client's envelope or a clean upstream error: never a crash, a 5xx of
// the gateway's own, an overspend or a leak.

// bigBodyConfig is baseConfig with the production default body limit, so
// that bodies big enough to have crashed a recursive parser get through.
var bigBodyConfig = strings.Replace(baseConfig, "max_body_bytes: 1048576", "max_body_bytes: 33554432", 1)

// modelPaths are the model endpoints with a minimal valid body each; %s is
// where a hostile member goes.
var modelPaths = []struct{ path, body string }{
	{"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]%s}`},
	{"/v1/completions", `{"model":"gpt-4o","prompt":"hi"%s}`},
	{"/v1/embeddings", `{"model":"gpt-4o","input":"hi"%s}`},
	{"/v1/messages", `{"model":"gpt-4o","max_tokens":16,"messages":[{"role":"user","content":"hi"}]%s}`},
	{"/v1/messages/count_tokens", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]%s}`},
	{"/v1beta/models/gpt-4o:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]%s}`},
	{"/v1/responses", `{"model":"gpt-4o","input":"hi"%s}`},
}

func postKey(t *testing.T, g *gateway, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.Key)
	req.Header.Set("x-api-key", g.Key)
	req.Header.Set("x-goog-api-key", g.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v (did the gateway crash?)", path, err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(t, resp.Body)
}

// TestMillionsOfNestedArraysAre400NotAStackOverflow: 5M levels of '[' in a
// 10 MB body used to kill the process (a recursive validator overflows the
// goroutine stack, which recover cannot catch), on every endpoint.
func TestMillionsOfNestedArraysAre400NotAStackOverflow(t *testing.T) {
	g := start(t, opts{yaml: bigBodyConfig})
	const levels = 5_000_000
	deep := `,"x":` + strings.Repeat("[", levels) + strings.Repeat("]", levels)
	for _, ep := range modelPaths {
		t.Run(ep.path, func(t *testing.T) {
			st, body := postKey(t, g, ep.path, fmt.Sprintf(ep.body, deep))
			if st != http.StatusBadRequest || !strings.Contains(body, "levels deep") {
				t.Fatalf("%d %.300s", st, body)
			}
		})
	}
	// Just over the default bound (128) is refused too; a deep but sane
	// body (a nested tool schema) is served.
	at := func(n int) string { return `,"x":` + strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	if st, body := postKey(t, g, "/v1/chat/completions", fmt.Sprintf(modelPaths[0].body, at(128))); st != 400 {
		t.Fatalf("129 levels: %d %.300s", st, body)
	}
	if st, body := postKey(t, g, "/v1/chat/completions", fmt.Sprintf(modelPaths[0].body, at(60))); st != 200 {
		t.Fatalf("61 levels: %d %.300s", st, body)
	}
}

// TestDuplicateKeysAre400: the gateway would meter the first max_tokens
// and an upstream obey the last.
func TestDuplicateKeysAre400(t *testing.T) {
	g := start(t, opts{})
	for _, tc := range []struct{ path, body, key string }{
		{"/v1/chat/completions", `{"model":"gpt-4o","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"max_tokens":100000}`, "max_tokens"},
		{"/v1/chat/completions", `{"model":"gpt-4o","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"max\u005ftokens":100000}`, "max_tokens"},
		{"/v1/messages", `{"model":"gpt-4o","max_tokens":1,"max_tokens":9999,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens"},
		{"/v1beta/models/gpt-4o:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":1,"maxOutputTokens":9999}}`, "maxOutputTokens"},
	} {
		st, body := postKey(t, g, tc.path, tc.body)
		if st != 400 || !strings.Contains(body, tc.key) || !strings.Contains(body, "twice") {
			t.Errorf("%s: %d %.300s", tc.path, st, body)
		}
	}
}

// TestHugeMaxTokensCannotSpendBeyondTheBalance: max_tokens 922337204 at
// $10/M used to wrap the worst-case cost negative, so the reservation
// passed and even credited concurrent requests. On every dialect the
// request is now refused and the balance never goes below zero.
func TestHugeMaxTokensCannotSpendBeyondTheBalance(t *testing.T) {
	g := start(t, opts{})
	acct, key := g.newAccount(t, "0.001", "")
	bodies := []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"gpt-4o","max_tokens":%d,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/messages", `{"model":"gpt-4o","max_tokens":%d,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1beta/models/gpt-4o:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":%d}}`},
	}
	var wg sync.WaitGroup
	for _, b := range bodies {
		for _, mt := range []int64{922337204, 9223372036854775, 1 << 62} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, g.URL+b.path, strings.NewReader(fmt.Sprintf(b.body, mt)))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("x-goog-api-key", key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusPaymentRequired {
					t.Errorf("%s max_tokens=%d: %d %s", b.path, mt, resp.StatusCode, readAll(t, resp.Body))
				}
			}()
		}
	}
	wg.Wait()
	waitNothingHeld(t, g, acct)
	_, out := g.admin(t, "GET", "/api/v1/accounts/"+acct, g.AdminKey, "")
	var a struct{ Balance money.Nanos }
	_ = json.Unmarshal([]byte(toJSON(out["data"])), &a)
	if a.Balance < 0 {
		t.Fatalf("balance went to %s", a.Balance)
	}
}

// TestNIsPartOfTheWorstCase: n answers may each run to max_tokens.
func TestNIsPartOfTheWorstCase(t *testing.T) {
	g := start(t, opts{})
	// $0.001 buys 100 output tokens of gpt-4o ($10/M) and some prompt.
	_, key := g.newAccount(t, "0.001", "")
	one := `{"model":"gpt-4o","max_tokens":60,"messages":[{"role":"user","content":"hi"}]%s}`
	if st, body := postWith(t, g, key, "/v1/chat/completions", fmt.Sprintf(one, "")); st != 200 {
		t.Fatalf("n=1: %d %.300s", st, body)
	}
	if st, body := postWith(t, g, key, "/v1/chat/completions", fmt.Sprintf(one, `,"n":20`)); st != 402 {
		t.Fatalf("n=20 (1200 output tokens): %d %.300s", st, body)
	}
	if st, body := postWith(t, g, key, "/v1/chat/completions", fmt.Sprintf(one, `,"n":-1`)); st != 400 {
		t.Fatalf("n=-1: %d %.300s", st, body)
	}
}

func postWith(t *testing.T, g *gateway, key, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(t, resp.Body)
}

// lyingUpstream answers every chat request with usage far beyond the
// request's max_tokens, as a buggy or hostile provider might.
func lyingUpstream(t *testing.T, completion int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":%d,"total_tokens":%d}}`, completion, completion+5)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestOutputBeyondMaxTokensIsNotCharged: an upstream that reports more
// output than max_tokens allowed is recorded as it reported, but the client
// pays only for max_tokens, so 200 concurrent requests on a $0.01 account
// cannot take it below zero by more than... nothing at all.
func TestOutputBeyondMaxTokensIsNotCharged(t *testing.T) {
	up := lyingUpstream(t, 1_000_000)
	g := startWith(t, opts{}, up.URL)
	acct, key := g.newAccount(t, "0.01", "")
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			postWith(t, g, key, "/v1/chat/completions", `{"model":"gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
		}()
	}
	wg.Wait()
	waitNothingHeld(t, g, acct)
	_, out := g.admin(t, "GET", "/api/v1/accounts/"+acct, g.AdminKey, "")
	var a struct{ Balance, Usage money.Nanos }
	_ = json.Unmarshal([]byte(toJSON(out["data"])), &a)
	if a.Balance < 0 {
		t.Fatalf("balance %s after a lying upstream (usage %s)", a.Balance, a.Usage)
	}
	// One request's charge: 5 prompt tokens at $2.50/M + 10 output at $10/M.
	st, body := postWith(t, g, g.Key, "/v1/chat/completions", `{"model":"gpt-4o","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
	if st != 200 || !strings.Contains(body, `"cost":0.0001125`) || !strings.Contains(body, `"completion_tokens":1000000`) {
		t.Fatalf("usage shown: %d %s", st, body)
	}
	if !strings.Contains(g.Logs.String(), "more output than the request allowed") {
		t.Fatal("the overrun was not flagged in the log")
	}
}

// reflectingUpstream puts the credential it received into every field of
// its error envelope, as a careless (or hostile) provider might.
func reflectingUpstream(t *testing.T, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"key %s refused","type":"%s","code":"%s","param":"%s"}}`, k, k, k, "Bearer "+k)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestUpstreamErrorFieldsNeverCarryTheProviderKey: only "message" used to
// be scrubbed; "code" and "param" reached the client, the ledger, GET
// /generation and the access log.
func TestUpstreamErrorFieldsNeverCarryTheProviderKey(t *testing.T) {
	for _, status := range []int{400, 404, 429, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			up := reflectingUpstream(t, status)
			g := startWith(t, opts{}, up.URL)
			var seen strings.Builder
			for _, ep := range modelPaths[:4] {
				st, body := postKey(t, g, ep.path, fmt.Sprintf(ep.body, ""))
				if st < 400 {
					t.Fatalf("%s: %d", ep.path, st)
				}
				seen.WriteString(body)
			}
			g.flush(t)
			seen.WriteString(g.Logs.String())
			seen.WriteString(dbText(t, g.DBPath))
			if strings.Contains(seen.String(), upstreamKey) {
				i := strings.Index(seen.String(), upstreamKey)
				t.Fatalf("the provider key leaked: …%s…", seen.String()[max(0, i-200):i+40])
			}
			if !strings.Contains(seen.String(), "[redacted]") {
				t.Fatal("the scrubbed message should still say something was redacted")
			}
		})
	}
}

// TestHostileUpstreamAnswersAreCleanErrors: an upstream answering JSON
// nested millions deep, or more bytes than the bound, gets a 502, and the
// gateway lives on.
func TestHostileUpstreamAnswersAreCleanErrors(t *testing.T) {
	deep := strings.Repeat("[", 5_000_000) + strings.Repeat("]", 5_000_000)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "messages") || strings.Contains(r.URL.Path, "generateContent") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.Header.Get("Accept"), "event-stream") || strings.Contains(readAllReq(r), `"stream":true`) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: %s\n\n", `{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":`+deep[:3_000_000]+deep[len(deep)-3_000_000:]+`}}]}`)
			return
		}
		fmt.Fprintf(w, `{"id":"x","choices":%s}`, deep)
	}))
	t.Cleanup(up.Close)
	g := startWith(t, opts{}, up.URL)
	for _, body := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
	} {
		st, out := postKey(t, g, "/v1/chat/completions", body)
		if st != http.StatusBadGateway {
			t.Fatalf("%s: %d %.300s", body, st, out)
		}
	}
	// Anthropic client, OpenAI upstream: the translated path decodes too.
	st, out := postKey(t, g, "/v1/messages", `{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)
	if st != http.StatusBadGateway {
		t.Fatalf("translated: %d %.300s", st, out)
	}
}

func readAllReq(r *http.Request) string {
	b := make([]byte, 64<<10)
	n, _ := r.Body.Read(b)
	return string(b[:n])
}

// dbText is the SQLite file and its WAL as text, for grepping.
func dbText(t *testing.T, path string) string {
	t.Helper()
	var sb strings.Builder
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(path + suffix)
		sb.Write(b)
	}
	if sb.Len() == 0 {
		t.Fatal("no database file to grep")
	}
	return sb.String()
}

// TestStreamPastMaxTokensIsCutWithLength: an upstream that ignores
// max_tokens and streams on has its stream closed with finish_reason
// "length" soon after the allowance, and the client is charged for no more
// than max_tokens.
func TestStreamPastMaxTokensIsCutWithLength(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 5000 {
			fmt.Fprintf(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"word%d \"}}]}\n\n", i)
			if r.Context().Err() != nil {
				return
			}
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(up.Close)
	g := startWith(t, opts{}, up.URL)
	for _, tc := range []struct{ path, body, wantEnd string }{
		{"/v1/chat/completions", `{"model":"gpt-4o","stream":true,"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, `"finish_reason":"length"`},
		{"/v1/messages", `{"model":"gpt-4o","stream":true,"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, `"stop_reason":"max_tokens"`},
	} {
		st, body := postKey(t, g, tc.path, tc.body)
		if st != 200 || !strings.Contains(body, tc.wantEnd) {
			t.Fatalf("%s: %d, no %s in %d bytes: …%s", tc.path, st, tc.wantEnd, len(body), body[max(0, len(body)-400):])
		}
		if n := strings.Count(body, "word"); n > 10*16/6+2 {
			t.Fatalf("%s: %d words delivered for max_tokens 10", tc.path, n)
		}
	}
}

// TestUpstreamAnswersHTMLOrNeverEndsIsA502: a proxy's HTML error page with
// status 200, and a body that never ends, are clean 502s; the second is cut
// at server.max_upstream_body_bytes instead of filling memory.
func TestUpstreamAnswersHTMLOrNeverEndsIsA502(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(readAllReq(r), `"never-ends"`) {
			w.Header().Set("Content-Type", "application/json")
			chunk := []byte(strings.Repeat(`{"a":"bbbbbbbbbbbbbbbb"},`, 1024))
			w.Write([]byte(`{"id":"x","choices":[`))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	}))
	t.Cleanup(up.Close)
	g := startWith(t, opts{yaml: strings.Replace(baseConfig, "access_log:", "max_upstream_body_bytes: 1048576\n  access_log:", 1)}, up.URL)
	for _, model := range []string{"html", "never-ends"} {
		st, body := postKey(t, g, "/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
		if st != http.StatusBadGateway || !strings.Contains(body, "upstream_error") {
			t.Fatalf("%s: %d %.300s", model, st, body)
		}
		if model == "never-ends" && !strings.Contains(body, "max_upstream_body_bytes") {
			t.Fatalf("the message should name the bound: %s", body)
		}
	}
}

// TestConfiguredDepthAboveTheDefaultHoldsThroughTranslation: an operator
// who raises server.max_json_depth gets it on every path; the decoders'
// own bound is the configurable maximum, not the default.
func TestConfiguredDepthAboveTheDefaultHoldsThroughTranslation(t *testing.T) {
	g := start(t, opts{yaml: "server: {max_json_depth: 300}\n" + claudeConfig})
	deep := `,"metadata":{"x":` + strings.Repeat(`[`, 200) + strings.Repeat(`]`, 200) + `}`
	for _, path := range []string{"/v1/chat/completions", "/v1/responses"} {
		body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}],"input":"hi"%s}`, deep)
		if st, out := postKey(t, g, path, body); st != 200 {
			t.Fatalf("%s, 201 levels under a bound of 300: %d %.300s", path, st, out)
		}
	}
}
