package e2e

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/ratelimit/ratelimittest"
)

// limitedKey creates an API key (in account acct, "" for the default)
// with the given rate_limits JSON and returns its plaintext.
func (g *gateway) limitedKey(t *testing.T, acct, limits string) string {
	t.Helper()
	body := `{"rate_limits":` + limits
	if acct != "" {
		body += `,"account_id":"` + acct + `"`
	}
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, body+"}")
	if st != 201 {
		t.Fatalf("create key with rate_limits %s: %d %v", limits, st, out)
	}
	return out["key"].(string)
}

// chatResp makes one chat call with key and returns the HTTP response
// (of the answer or of the error) and the error.
func chatResp(g *gateway, key string, maxTokens int64) (*http.Response, error) {
	var resp *http.Response
	p := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")}
	if maxTokens > 0 {
		p.MaxTokens = openai.Int(maxTokens)
	}
	_, err := g.client(option.WithAPIKey(key), option.WithResponseInto(&resp)).Chat.Completions.New(context.Background(), p)
	var e *openai.Error
	if errors.As(err, &e) {
		resp = e.Response
	}
	return resp, err
}

// want429 checks a refusal: the SDK's error, the code, a Retry-After of
// whole seconds in [1, maxRetry], and the message naming what refused.
func want429(t *testing.T, resp *http.Response, err error, maxRetry int, mention string) {
	t.Helper()
	wantAPIError(t, err, 429, "rate_limit_exceeded")
	ra, perr := strconv.Atoi(resp.Header.Get("Retry-After"))
	if perr != nil || ra < 1 || ra > maxRetry {
		t.Fatalf("Retry-After = %q, want whole seconds in [1, %d]", resp.Header.Get("Retry-After"), maxRetry)
	}
	if !strings.Contains(apiMessage(err), mention) {
		t.Fatalf("429 message %q does not mention %q", apiMessage(err), mention)
	}
}

func wantHeaders(t *testing.T, resp *http.Response, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestKeyRequestsPerMinuteLimitAnswers429WithOpenAIHeaders(t *testing.T) {
	g := start(t, opts{})
	key := g.limitedKey(t, "", `{"rpm": 2}`)
	for i, remaining := range []string{"1", "0"} {
		resp, err := chatResp(g, key, 0)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		wantHeaders(t, resp, map[string]string{"X-Ratelimit-Limit-Requests": "2", "X-Ratelimit-Remaining-Requests": remaining})
		if r := resp.Header.Get("X-Ratelimit-Reset-Requests"); !strings.HasSuffix(r, "s") {
			t.Errorf("reset %q is not a duration such as 30s", r)
		}
		if resp.Header.Get("X-Ratelimit-Limit-Tokens") != "" {
			t.Error("token headers on a key without a token limit")
		}
	}
	resp, err := chatResp(g, key, 0)
	want429(t, resp, err, 30, "2 requests per minute")
	wantHeaders(t, resp, map[string]string{"X-Ratelimit-Limit-Requests": "2", "X-Ratelimit-Remaining-Requests": "0"})
	if resp.Header.Get("X-Should-Retry") == "false" {
		t.Error("a 429 tells SDKs not to retry")
	}
	if n := len(g.Up.Requests()); n != 2 {
		t.Fatalf("upstream saw %d requests, want 2 (the refused one never leaves)", n)
	}

	// The refusal is a generation in the ledger, like a 402.
	id := resp.Header.Get("X-Generation-Id")
	g.flush(t)
	gen, gerr := g.Store.GetGeneration(context.Background(), id)
	if gerr != nil || gen.Status != 429 || gen.ErrorCode != "rate_limit_exceeded" {
		t.Fatalf("ledger record of the 429: %+v, %v", gen, gerr)
	}

	// An unlimited key: no x-ratelimit headers at all.
	resp, err = chatResp(g, g.Key, 0)
	if err != nil {
		t.Fatal(err)
	}
	for name := range resp.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-ratelimit-") {
			t.Errorf("unlimited key got header %s", name)
		}
	}

	// GET /key shows the limits.
	st, out := g.admin(t, "GET", "/api/v1/key", key, "")
	rl, _ := out["data"].(map[string]any)["rate_limit"].(map[string]any)
	if st != 200 || toJSON(rl["requests"]) != "2" || rl["interval"] != "1m" || toJSON(rl["tokens"]) != "-1" || toJSON(rl["key"]) != `{"rpm":2}` {
		t.Fatalf("GET /key rate_limit = %d %v", st, rl)
	}
}

func TestKeyTokensPerMinuteReservesTheWorstCaseAndRefundsAtSettle(t *testing.T) {
	g := start(t, opts{})
	key := g.limitedKey(t, "", `{"tpm": 1000}`)
	resp, err := chatResp(g, key, 900)
	if err != nil {
		t.Fatal(err)
	}
	// Reserved: max_tokens 900 plus the prompt estimate (half the body's bytes).
	rem, _ := strconv.Atoi(resp.Header.Get("X-Ratelimit-Remaining-Tokens"))
	if resp.Header.Get("X-Ratelimit-Limit-Tokens") != "1000" || rem <= 0 || rem >= 100 {
		t.Fatalf("after reserving 900+prompt: limit %q remaining %q", resp.Header.Get("X-Ratelimit-Limit-Tokens"), resp.Header.Get("X-Ratelimit-Remaining-Tokens"))
	}
	// The answer used a few dozen tokens: the rest came back at settle,
	// so a second reservation of the same size fits.
	if _, err := chatResp(g, key, 900); err != nil {
		t.Fatalf("second request, after the first's refund: %v", err)
	}
	// One larger than the whole minute's allowance needs a full bucket.
	resp, err = chatResp(g, key, 2000)
	want429(t, resp, err, 60, "1000 tokens per minute")
	wantHeaders(t, resp, map[string]string{"X-Ratelimit-Limit-Tokens": "1000"})
}

func TestConcurrencyLimitIsReleasedWhenTheClientGoesAway(t *testing.T) {
	g := start(t, opts{})
	key := g.limitedKey(t, "", `{"concurrency": 1}`)
	g.Up.Enqueue(fakeBehavior{FirstByteDelay: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := g.client(option.WithAPIKey(key)).Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("slow")})
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(g.Up.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := chatResp(g, key, 0)
	want429(t, resp, err, 1, "1 requests at a time")
	cancel()
	<-done
	// The slow request's slot is freed when the gateway finishes it.
	var lastErr error
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if _, lastErr = chatResp(g, key, 0); lastErr == nil {
			return
		}
	}
	t.Fatalf("the cancelled request's slot was never freed: %v", lastErr)
}

func TestAccountLimitsApplyToAllItsKeysTogether(t *testing.T) {
	g := start(t, opts{})
	st, out := g.admin(t, "POST", "/api/v1/accounts", g.AdminKey, `{"name":"team","credits":null,"rate_limits":{"rpm":1}}`)
	if st != 201 || toJSON(out["data"].(map[string]any)["rate_limits"]) != `{"rpm":1}` {
		t.Fatalf("create account: %d %v", st, out)
	}
	acct := out["data"].(map[string]any)["id"].(string)
	a := g.limitedKey(t, acct, `null`)
	b := g.limitedKey(t, acct, `{"rpm": 100}`)
	resp, err := chatResp(g, a, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantHeaders(t, resp, map[string]string{"X-Ratelimit-Limit-Requests": "1", "X-Ratelimit-Remaining-Requests": "0"})
	resp, err = chatResp(g, b, 0)
	want429(t, resp, err, 60, "account "+acct)
	// The account's limit is the tighter one, so it is what the headers show.
	wantHeaders(t, resp, map[string]string{"X-Ratelimit-Limit-Requests": "1"})

	st, out = g.admin(t, "GET", "/api/v1/key", b, "")
	if rl := out["data"].(map[string]any)["rate_limit"].(map[string]any); st != 200 || toJSON(rl["requests"]) != "1" || toJSON(rl["account"]) != `{"rpm":1}` {
		t.Fatalf("GET /key: %d %v", st, rl)
	}
	// Cleared on PATCH with null: the keys are free again.
	if st, out := g.admin(t, "PATCH", "/api/v1/accounts/"+acct, g.AdminKey, `{"rate_limits":null}`); st != 200 || out["data"].(map[string]any)["rate_limits"] != nil {
		t.Fatalf("PATCH rate_limits null: %d %v", st, out)
	}
	if _, err := chatResp(g, b, 0); err != nil {
		t.Fatalf("after clearing the account's limits: %v", err)
	}
}

func TestRateLimitsAreValidatedOnCreateAndPatch(t *testing.T) {
	g := start(t, opts{})
	for _, body := range []string{
		`{"rate_limits":{"rpm":-1}}`, `{"rate_limits":{"rpm":1.5}}`, `{"rate_limits":{"rpm":"60"}}`,
		`{"rate_limits":{"rpm":2000000000}}`, `{"rate_limits":{"rpd":5}}`, `{"rate_limits":[1]}`,
	} {
		st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, body)
		e, _ := out["error"].(map[string]any)
		if st != 400 || !strings.Contains(toJSON(e["param"]), "rate_limits") {
			t.Errorf("POST /keys %s: %d %v, want 400 naming rate_limits", body, st, out)
		}
	}
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"rate_limits":{"rpm":0,"tpm":null}}`)
	if st != 201 || out["data"].(map[string]any)["rate_limits"] != nil {
		t.Fatalf("zero and null limits: %d %v, want a key without limits", st, out)
	}
	hash := out["data"].(map[string]any)["hash"].(string)
	st, out = g.admin(t, "PATCH", "/api/v1/keys/"+hash, g.AdminKey, `{"rate_limits":{"tpm":5000,"concurrency":3}}`)
	if st != 200 || toJSON(out["data"].(map[string]any)["rate_limits"]) != `{"concurrency":3,"tpm":5000}` {
		t.Fatalf("PATCH: %d %v", st, out)
	}
	st, out = g.admin(t, "PATCH", "/api/v1/keys/"+hash, g.AdminKey, `{"name":"renamed"}`)
	if st != 200 || toJSON(out["data"].(map[string]any)["rate_limits"]) != `{"concurrency":3,"tpm":5000}` {
		t.Fatalf("a PATCH without rate_limits changed them: %d %v", st, out)
	}
	st, out = g.admin(t, "PATCH", "/api/v1/keys/"+hash, g.AdminKey, `{"rate_limits":{"tpm":-5}}`)
	if st != 400 {
		t.Fatalf("PATCH negative: %d %v", st, out)
	}
}

// Every model endpoint checks the limits and answers 429 in its own
// dialect's envelope; count_tokens counts against the requests per minute.
func TestEveryModelEndpointIsRateLimitedInItsDialect(t *testing.T) {
	g := start(t, opts{})
	chat := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	messages := `{"model":"gpt-4o","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name, path, body string
		header           string // the header the key goes in
		want             string // a fragment of the 429 body
	}{
		{"chat", "/v1/chat/completions", chat, "Authorization", `"code":"rate_limit_exceeded"`},
		{"completions", "/v1/completions", `{"model":"gpt-4o","prompt":"hi"}`, "Authorization", `"code":"rate_limit_exceeded"`},
		{"embeddings", "/v1/embeddings", `{"model":"gpt-4o","input":"hi"}`, "Authorization", `"code":"rate_limit_exceeded"`},
		{"responses", "/v1/responses", `{"model":"gpt-4o","input":"hi"}`, "Authorization", `"code":"rate_limit_exceeded"`},
		{"messages", "/v1/messages", messages, "X-Api-Key", `"type":"rate_limit_error"`},
		{"count_tokens", "/v1/messages/count_tokens", chat, "X-Api-Key", `"type":"rate_limit_error"`},
		{"gemini", "/v1beta/models/gpt-4o:generateContent", `{"contents":[{"parts":[{"text":"hi"}]}]}`, "X-Goog-Api-Key", `"status":"RESOURCE_EXHAUSTED"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := g.limitedKey(t, "", `{"rpm": 1}`)
			send := func() (*http.Response, string) {
				req, _ := http.NewRequest(http.MethodPost, g.URL+tc.path, strings.NewReader(tc.body))
				req.Header.Set("Content-Type", "application/json")
				v := key
				if tc.header == "Authorization" {
					v = "Bearer " + key
				}
				req.Header.Set(tc.header, v)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				return resp, readAll(t, resp.Body)
			}
			resp, body := send()
			if resp.StatusCode != 200 || resp.Header.Get("X-Ratelimit-Remaining-Requests") != "0" {
				t.Fatalf("first: %d %q remaining %q", resp.StatusCode, body, resp.Header.Get("X-Ratelimit-Remaining-Requests"))
			}
			resp, body = send()
			if resp.StatusCode != 429 || !strings.Contains(body, tc.want) || resp.Header.Get("Retry-After") == "" ||
				resp.Header.Get("X-Ratelimit-Limit-Requests") != "1" {
				t.Fatalf("second: %d %s (Retry-After %q), want 429 with %s", resp.StatusCode, body, resp.Header.Get("Retry-After"), tc.want)
			}
		})
	}
}

// redisConfig is baseConfig with the rate limits in the Redis at url.
func redisConfig(url string) string { return baseConfig + "storage:\n  redis: " + url + "\n" }

func TestTwoInstancesSharingRedisEnforceOneLimit(t *testing.T) {
	url, _ := ratelimittest.Redis(t)
	a := start(t, opts{yaml: redisConfig(url)})
	b := start(t, opts{yaml: redisConfig(url)})
	// The same key in both instances' stores (as with a shared database);
	// a fresh one per run, so runs do not share its Redis state.
	plain := auth.NewKey()
	for _, g := range []*gateway{a, b} {
		if st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"key":"`+plain+`","rate_limits":{"rpm":3}}`); st != 201 {
			t.Fatalf("create key: %d %v", st, out)
		}
	}
	for i, g := range []*gateway{a, b, a} {
		if _, err := chatResp(g, plain, 0); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	resp, err := chatResp(b, plain, 0)
	want429(t, resp, err, 20, "3 requests per minute")
	resp, err = chatResp(a, plain, 0)
	want429(t, resp, err, 20, "3 requests per minute")
	for _, g := range []*gateway{a, b} {
		if !g.srv.RateLimits().Healthy() {
			t.Fatal("an instance fell back to local limits: the test did not go through Redis")
		}
	}
}

func TestRedisDownKeepsServingWithLocalLimits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	g := start(t, opts{yaml: redisConfig("redis://" + addr + "/0")})
	key := g.limitedKey(t, "", `{"rpm": 2}`)
	for i := range 2 {
		if _, err := chatResp(g, key, 0); err != nil {
			t.Fatalf("request %d with Redis down: %v", i+1, err)
		}
	}
	resp, err := chatResp(g, key, 0)
	want429(t, resp, err, 30, "2 requests per minute")
	if g.srv.RateLimits().Healthy() {
		t.Fatal("Healthy with Redis down")
	}
	if n := strings.Count(g.Logs.String(), "rate limits: Redis failed"); n != 1 {
		t.Errorf("%d logs of the fall-back, want 1 (logged once per change)", n)
	}
	st, body := g.adminRaw(t, "GET", "/metrics", g.AdminKey, "")
	if st != 200 || !strings.Contains(body, "switchyard_ratelimit_redis_up 0") || !strings.Contains(body, "switchyard_ratelimit_redis_errors_total") {
		t.Fatalf("metrics lack the Redis state: %d", st)
	}
	if !strings.Contains(body, `switchyard_rate_limited_total{limit="requests",scope="key"} 1`) {
		t.Error("the 429 is not counted in switchyard_rate_limited_total")
	}
}

// Settling frees the slot on every path, concurrently: after many parallel
// requests under a concurrency limit, none is left held.
func TestConcurrencySlotsAreAllReleased(t *testing.T) {
	g := start(t, opts{})
	key := g.limitedKey(t, "", `{"concurrency": 2}`)
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() { _, _ = chatResp(g, key, 0) })
	}
	wg.Wait()
	// Every request of the burst finished (settled, then counted).
	for end := time.Now().Add(5 * time.Second); requestsCounted(t, g) < 12; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%v requests counted, want 12", requestsCounted(t, g))
		}
	}
	// Two slow requests at once: both pass only if the burst left no slot held.
	g.Up.Enqueue(fakeBehavior{FirstByteDelay: 300 * time.Millisecond}, fakeBehavior{FirstByteDelay: 300 * time.Millisecond})
	var ok int
	var mu sync.Mutex
	for range 2 {
		wg.Go(func() {
			if _, err := chatResp(g, key, 0); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 2 {
		t.Fatalf("%d of 2 requests passed after the burst, want 2: slots leaked", ok)
	}
}

// A stream carries the headers, and its end frees its slot.
func TestStreamCarriesRateLimitHeadersAndFreesItsSlotAtTheEnd(t *testing.T) {
	g := start(t, opts{})
	key := g.limitedKey(t, "", `{"rpm": 100, "concurrency": 1}`)
	for i := range 3 {
		var resp *http.Response
		err := untilNot429(func() error {
			s := g.client(option.WithAPIKey(key), option.WithResponseInto(&resp)).Chat.Completions.NewStreaming(context.Background(),
				openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("stream")})
			defer s.Close()
			for s.Next() {
			}
			return s.Err()
		})
		if err != nil {
			t.Fatalf("stream %d: %v (the previous stream's slot is still held)", i+1, err)
		}
		if resp.Header.Get("X-Ratelimit-Limit-Requests") != "100" || resp.Header.Get("X-Ratelimit-Remaining-Requests") == "" {
			t.Errorf("stream %d headers: %v", i+1, resp.Header)
		}
	}
}

// untilNot429 runs f until it returns anything but a 429, for up to two
// seconds: a slot is freed when the gateway has finished the request,
// a moment after the client read the last byte. A slot that is never
// freed still fails.
func untilNot429(f func() error) error {
	end := time.Now().Add(2 * time.Second)
	for {
		err := f()
		var e *openai.Error
		if !errors.As(err, &e) || e.StatusCode != 429 || time.Now().After(end) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// requestsCounted sums switchyard_requests_total: requests the gateway has
// finished (the rate limit permit is settled before the count).
func requestsCounted(t *testing.T, g *gateway) float64 {
	t.Helper()
	_, body := g.adminRaw(t, "GET", "/metrics", g.AdminKey, "")
	var n float64
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "switchyard_requests_total{") {
			if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				n += v
			}
		}
	}
	return n
}
