package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// fuzzConfig sends every model to the built-in mock, priced, so that every
// answered request costs money and no upstream ever fails: any 5xx is the
// gateway's own.
const fuzzConfig = `
server:
  max_body_bytes: 262144
providers:
  - name: mock
    type: mock
models:
  - id: gpt-4o
    aliases: ["openai/gpt-4o"]
    context_length: 128000
    pricing: { prompt: 2.50, completion: 10.00, cached_prompt: 1.25 }
    routes: [{ provider: mock }]
  - id: "cheap-*"
    pricing: { prompt: 0.10, completion: 0.20 }
    routes: [{ provider: mock }]
    fallbacks: [gpt-4o]
  - id: "*"
    pricing: { prompt: 1.00, completion: 2.00 }
    routes: [{ provider: mock }]
`

// fuzzGateway is a gateway served in-process (httptest.ResponseRecorder):
// each request's handler, and so its ledger record, has finished when
// ServeHTTP returns.
type fuzzGateway struct {
	srv      *server.Server
	st       *sqlite.DB
	raw      *sql.DB
	adminKey string
	// The key and account every model call is charged to; the key has a
	// limit, the account credits, so both are checked.
	key, keyHash, acct string
	limit, credits     money.Nanos
	// A key and an account the management endpoints may change at will.
	sandboxHash, sandboxAcct string
	// clock is the gateway's time (unix nanos). Each run moves it past
	// the route breaker's cooldown, so that an upstream failure one input
	// provokes (a relayed 502) does not turn every later run into a 503.
	clock atomic.Int64
}

func (g *fuzzGateway) now() time.Time { return time.Unix(0, g.clock.Load()) }

func newFuzzGateway(tb testing.TB) *fuzzGateway {
	tb.Helper()
	cfg, err := config.Parse([]byte(fuzzConfig), "fuzz.yaml", config.MapEnv(nil))
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	dbPath := tb.TempDir() + "/fuzz.db"
	st, err := sqlite.Open(ctx, "sqlite://"+dbPath)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	adminKey, _, _, err := admin.Bootstrap(ctx, st, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	g := &fuzzGateway{}
	g.clock.Store(time.Now().UnixNano())
	srv, err := server.New(ctx, cfg, server.Options{Store: st, Log: slog.New(slog.DiscardHandler),
		LedgerInterval: time.Millisecond, Estimator: tokens.New(), Now: g.now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close(context.Background()) })
	raw, err := sql.Open("sqlite", dbPath+"?_pragma=busy_timeout(5000)&_query_only=1")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	g.srv, g.st, g.raw, g.adminKey = srv, st, raw, adminKey

	mk := func(path, body string) map[string]any {
		rec := g.do(http.MethodPost, path, adminKey, nil, body)
		var out struct {
			Data map[string]any `json:"data"`
			Key  string         `json:"key"`
		}
		if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
			tb.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
		}
		out.Data["key"] = out.Key
		return out.Data
	}
	g.credits, g.limit = 1000*money.PerDollar, 500*money.PerDollar
	g.acct = mk("/api/v1/accounts", `{"name": "fuzz", "credits": 1000}`)["id"].(string)
	k := mk("/api/v1/keys", `{"name": "fuzz", "limit": 500, "account_id": "`+g.acct+`"}`)
	g.key, g.keyHash = k["key"].(string), k["hash"].(string)
	g.sandboxAcct = mk("/api/v1/accounts", `{"name": "sandbox", "credits": 1}`)["id"].(string)
	g.sandboxHash = mk("/api/v1/keys", `{"name": "sandbox", "account_id": "`+g.sandboxAcct+`"}`)["hash"].(string)
	return g
}

// do serves one request in-process. key goes in the Authorization header
// unless hdr already carries a credential.
func (g *fuzzGateway) do(method, target, key string, hdr http.Header, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	g.srv.ServeHTTP(rec, req)
	return rec
}

// fuzzEndpoint is one route the fuzzer drives: where its errors are
// rendered (dialect), and whether it is a model call or management.
type fuzzEndpoint struct {
	method, path string // path may hold {model}, {sandbox} or {sandboxKey}
	dialect      string // "openai", "anthropic" or "gemini"
	admin        bool   // natural caller: the admin key
	multipart    bool   // the body is sent as multipart/form-data; boundary=B
}

var fuzzEndpoints = []fuzzEndpoint{
	{method: "POST", path: "/v1/chat/completions", dialect: "openai"},
	{method: "POST", path: "/v1/completions", dialect: "openai"},
	{method: "POST", path: "/v1/embeddings", dialect: "openai"},
	{method: "POST", path: "/v1/messages", dialect: "anthropic"},
	{method: "POST", path: "/v1/messages/count_tokens", dialect: "anthropic"},
	{method: "POST", path: "/v1beta/models/{model}:generateContent", dialect: "gemini"},
	{method: "POST", path: "/v1beta/models/{model}:streamGenerateContent?alt=sse", dialect: "gemini"},
	{method: "POST", path: "/v1/models/{model}:streamGenerateContent", dialect: "gemini"},
	{method: "GET", path: "/v1/models/{model}", dialect: "openai"},
	{method: "GET", path: "/v1/generation?id={model}", dialect: "openai"},
	{method: "GET", path: "/v1/key", dialect: "openai"},
	{method: "GET", path: "/v1/credits", dialect: "openai"},
	{method: "POST", path: "/api/v1/keys", dialect: "openai", admin: true},
	{method: "PATCH", path: "/api/v1/keys/{sandboxKey}", dialect: "openai", admin: true},
	{method: "GET", path: "/api/v1/keys/{sandboxKey}", dialect: "openai", admin: true},
	{method: "POST", path: "/api/v1/accounts", dialect: "openai", admin: true},
	{method: "PATCH", path: "/api/v1/accounts/{sandbox}", dialect: "openai", admin: true},
	{method: "POST", path: "/api/v1/accounts/{sandbox}/credits", dialect: "openai", admin: true},
	{method: "GET", path: "/api/v1/usage?group_by={model}", dialect: "openai", admin: true},
	{method: "POST", path: "/v1/responses", dialect: "openai"},
	{method: "GET", path: "/v1/responses/{model}", dialect: "openai"},
	{method: "DELETE", path: "/v1/responses/{model}", dialect: "openai"},
	{method: "POST", path: "/v1/audio/transcriptions", dialect: "openai", multipart: true},
	{method: "POST", path: "/v1/images/edits", dialect: "openai", multipart: true},
}

// fuzzSeed is one seed input of FuzzHandler.
type fuzzSeed struct {
	route, hdr uint8
	model      string
	body       string
}

// FuzzHandler drives the whole gateway with generated requests: a route,
// a body, a model name (Gemini paths, ids) and a few header choices. Whatever
// the input: no panic, no 5xx (the mock upstream never fails, so any 5xx is
// the gateway's own), every error in its dialect's envelope, and after each
// request the money adds up (see checkMoney).
func FuzzHandler(f *testing.F) {
	g := newFuzzGateway(f)
	seeds := []fuzzSeed{
		{0, 0, "", `{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}`},
		{0, 0, "", `{"model": "gpt-4o", "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}`},
		{0, 0, "", `{"model": "cheap-x", "models": ["gpt-4o"], "provider": {"ignore": ["mock"]}, "n": 3, "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}`},
		{0, 0, "", `{"model": "gpt-4o", "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}], "tool_choice": "required", "messages": [{"role": "user", "content": "call f"}]}`},
		{1, 0, "", `{"model": "gpt-4o", "prompt": "Say this is a test", "max_tokens": 7}`},
		{2, 0, "", `{"model": "gpt-4o", "input": ["a", "b"]}`},
		{3, 0x10, "", `{"model": "claude-x", "max_tokens": 64, "stream": true, "system": "s", "messages": [{"role": "user", "content": "Hello"}]}`},
		{3, 0x10, "", `{"model": "gpt-4o", "max_tokens": 64, "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "thinking": {"type": "enabled", "budget_tokens": 1024}}`},
		{4, 0x10, "", `{"model": "gpt-4o", "messages": [{"role": "user", "content": "count me"}]}`},
		{5, 0, "gemini-x", `{"contents": [{"role": "user", "parts": [{"text": "Hello"}]}], "generationConfig": {"maxOutputTokens": 8, "candidateCount": 2}}`},
		{6, 0, "gpt-4o", `{"contents": [{"parts": [{"text": "stream"}]}]}`},
		{7, 0x04, "cheap-y", `{"contents": [{"parts": [{"text": "stream"}]}], "systemInstruction": {"parts": [{"text": "s"}]}}`},
		{8, 0, "openai/gpt-4o", ``},
		{12, 0, "", `{"name": "made", "limit": 1, "allowed_models": ["gpt-*"]}`},
		{13, 0, "", `{"disabled": true, "limit": null}`},
		{16, 0, "", `{"credits": 5}`},
		{17, 0, "", `{"amount": 2.5}`},
		{18, 0, "model", ``},
		// Hostile: wrong types, huge and negative numbers, duplicate keys,
		// NUL and unicode in names, no key, a bad key, not JSON at all.
		{0, 0, "", `{"model": "gpt-4o", "max_tokens": 922337204, "messages": [{"role": "user", "content": "x"}]}`},
		{0, 0, "", `{"model": "gpt-4o", "max_tokens": -1, "n": 1e308, "temperature": "hot", "messages": [{"role": "user", "content": "x"}]}`},
		{0, 0, "", `{"model": "gpt-4o", "max_tokens": 1, "max_tokens": 100000, "messages": [{"role": "user", "content": "x"}]}`},
		{0, 0, "", `{"model": "gpt\u0000-4o\u202e", "messages": [{"role": "user", "content": "\ud800"}]}`},
		{0, 1, "", `{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}`},
		{0, 2, "", `{"model": "gpt-4o", "messages": []}`},
		{3, 0, "", `{"model": "gpt-4o", "max_tokens": 1.5e3, "messages": [{"role": "tool", "content": null}]}`},
		{5, 0, "bad/../model:x", `{"contents": "nope"}`},
		{0, 0, "", `not json at all`},
		{0, 0, "", `{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]} trailing`},
		{12, 3, "", `{"name": "x", "account_id": "acct-missing"}`},
		{0, 0x08, "", "\xff\xfe{\"model\":1}"},
		// The Responses API: input items, tools, a stream, a continuation.
		{19, 0, "", `{"model": "gpt-4o", "input": "hi", "instructions": "be brief", "max_output_tokens": 16}`},
		{19, 0, "", `{"model": "gpt-4o", "stream": true, "input": [{"role": "user", "content": [{"type": "input_text", "text": "x"}]}, {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}, {"type": "function_call_output", "call_id": "c", "output": "ok"}], "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}]}`},
		{19, 0, "", `{"model": "gpt-4o", "input": "again", "previous_response_id": "gen-missing", "text": {"format": {"type": "json_schema", "name": "n", "schema": {"type": "object"}}}}`},
		{20, 0, "gen-missing", ``},
		{21, 0, "gen-missing", ``},
		// Found by this fuzzer: a 503 for the client's own provider
		// preferences, and a 502 for a key the mock matched in another case.
		{0, 0, "", `{"model": "gpt-4o", "provider": {"ignore": ["mock"]}, "messages": [{"role": "user", "content": "x"}]}`},
		{0, 0, "", `{"model": "gpt-4o", "provider": {"only": ["nope"], "allow_fallbacks": false}, "messages": [{"role": "user", "content": "x"}]}`},
		{0, 0, "", `{"model": "gpt-4o", "streAm": true, "messages": [{"0000": "0000"}]}`},
	}
	// Multipart forms: the model before the file (streamed), after it
	// (spooled), a truncated one.
	form := func(parts ...string) string {
		var b strings.Builder
		for _, p := range parts {
			name, rest, _ := strings.Cut(p, "=")
			if n, file, ok := strings.Cut(name, "@"); ok {
				b.WriteString("--B\r\nContent-Disposition: form-data; name=\"" + n + "\"; filename=\"" + file + "\"\r\nContent-Type: audio/wav\r\n\r\n" + rest + "\r\n")
				continue
			}
			b.WriteString("--B\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + rest + "\r\n")
		}
		return b.String() + "--B--\r\n"
	}
	seeds = append(seeds,
		fuzzSeed{22, 0, "", form("model=gpt-4o", "file@a.wav=RIFF....WAVE", "response_format=text")},
		fuzzSeed{22, 0, "", form("file@a.wav=RIFF....WAVE", "model=gpt-4o", "stream=true")},
		fuzzSeed{23, 0, "", form("model=gpt-4o", "image[]@a.png=PNG", "prompt=hat", "n=2")[:40]},
	)
	for _, s := range seeds {
		f.Add(s.route, s.hdr, s.model, "app title", []byte(s.body))
	}
	var runs int
	f.Fuzz(func(t *testing.T, route, hdr uint8, model, title string, body []byte) {
		ep := fuzzEndpoints[int(route)%len(fuzzEndpoints)]
		runs++
		g.clock.Add(int64(time.Minute))
		before := g.balance(t)

		target := strings.NewReplacer("{model}", url.PathEscape(model), "{sandbox}", g.sandboxAcct,
			"{sandboxKey}", g.sandboxHash).Replace(ep.path)
		// hdr bits 0-1: the caller's key (the route's natural one, none, a
		// bogus one, the other of the two); bit 2: the key in the dialect's
		// own header (x-api-key, x-goog-api-key) instead of Bearer; bit 3:
		// a non-JSON Content-Type; bit 4: anthropic-version; bit 5: the
		// title as X-Title and X-Request-Id.
		key, other := g.key, g.adminKey
		if ep.admin {
			key, other = other, key
		}
		switch hdr & 3 {
		case 1:
			key = ""
		case 2:
			key = "sk-sy-v1-bogus"
		case 3:
			key = other
		}
		h := http.Header{}
		if key != "" && hdr&4 != 0 {
			switch ep.dialect {
			case "anthropic":
				h.Set("X-Api-Key", key)
			case "gemini":
				h.Set("X-Goog-Api-Key", key)
			default:
				h.Set("Api-Key", key)
			}
			key = ""
		}
		h.Set("Content-Type", "application/json")
		if ep.multipart {
			h.Set("Content-Type", "multipart/form-data; boundary=B")
		}
		if hdr&8 != 0 {
			h.Set("Content-Type", "text/plain; charset=utf-16")
		}
		if hdr&16 != 0 {
			h.Set("Anthropic-Version", "2023-06-01")
		}
		if hdr&32 != 0 {
			v := headerSafe(title)
			h.Set("X-Title", v)
			h.Set("X-Request-Id", v)
		}
		rec := g.do(ep.method, target, key, h, string(body))

		if rec.Code >= 500 {
			t.Fatalf("%s %s: the gateway answered %d: %s", ep.method, target, rec.Code, rec.Body)
		}
		if rec.Code < 200 || rec.Code > 299 {
			if err := checkEnvelope(ep.dialect, rec.Body.Bytes()); err != nil {
				t.Fatalf("%s %s: %d with a body that is not %s's error envelope (%v): %s", ep.method, target, rec.Code, ep.dialect, err, rec.Body)
			}
		}
		g.checkMoney(t, before, rec.Header().Get("X-Generation-Id"), runs%16 == 0)
	})
}

// headerSafe keeps what a header value may hold (no control characters).
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// checkEnvelope reports whether body is an error in dialect's envelope with
// a message and a type (Gemini: a code and a status).
func checkEnvelope(dialect string, body []byte) error {
	var env struct {
		Type  string `json:"type"`
		Error *struct {
			Message *string `json:"message"`
			Type    *string `json:"type"`
			Code    any     `json:"code"`
			Status  *string `json:"status"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	e := env.Error
	switch {
	case e == nil || e.Message == nil || *e.Message == "":
		return errors.New("no error.message")
	case dialect == "anthropic" && (env.Type != "error" || e.Type == nil):
		return errors.New(`no "type": "error" or error.type`)
	case dialect == "gemini":
		if _, ok := e.Code.(float64); !ok || e.Status == nil {
			return errors.New("no numeric error.code or error.status")
		}
	case dialect == "openai" && e.Type == nil:
		return errors.New("no error.type")
	}
	return nil
}

// fuzzBalance is the charged account and key as the management API shows
// them (what the accountant holds in memory).
type fuzzBalance struct {
	spent, balance, keyUsage, keyRemaining money.Nanos
	credits                                money.Nanos
}

func (g *fuzzGateway) balance(t *testing.T) fuzzBalance {
	t.Helper()
	var acct struct {
		Data struct {
			Credits *money.Nanos `json:"credits"`
			Usage   money.Nanos  `json:"usage"`
			Balance *money.Nanos `json:"balance"`
		} `json:"data"`
	}
	rec := g.do(http.MethodGet, "/api/v1/accounts/"+g.acct, g.adminKey, nil, "")
	if err := json.Unmarshal(rec.Body.Bytes(), &acct); err != nil || rec.Code != http.StatusOK || acct.Data.Credits == nil || acct.Data.Balance == nil {
		t.Fatalf("GET account: %d %s %v", rec.Code, rec.Body, err)
	}
	var key struct {
		Data struct {
			Usage          money.Nanos  `json:"usage"`
			LimitRemaining *money.Nanos `json:"limit_remaining"`
		} `json:"data"`
	}
	rec = g.do(http.MethodGet, "/api/v1/keys/"+g.keyHash, g.adminKey, nil, "")
	if err := json.Unmarshal(rec.Body.Bytes(), &key); err != nil || rec.Code != http.StatusOK || key.Data.LimitRemaining == nil {
		t.Fatalf("GET key: %d %s %v", rec.Code, rec.Body, err)
	}
	return fuzzBalance{spent: acct.Data.Usage, balance: *acct.Data.Balance, credits: *acct.Data.Credits,
		keyUsage: key.Data.Usage, keyRemaining: *key.Data.LimitRemaining}
}

// checkMoney checks, with no request in flight: nothing stays reserved
// (balance = credits − spent; the key's remaining limit = limit − usage);
// the account's and the key's spend grew by exactly the recorded cost of
// the request's generation (genID, if it made one); and, when deep, that
// once the ledger has written that generation the database agrees: the
// account's stored spend equals the sum of its generations' costs and the
// accountant's figure.
func (g *fuzzGateway) checkMoney(t *testing.T, before fuzzBalance, genID string, deep bool) {
	t.Helper()
	after := g.balance(t)
	if after.balance != after.credits-after.spent {
		t.Fatalf("no request in flight, yet the account holds %s reserved (credits %s, spent %s, balance %s)",
			after.credits-after.spent-after.balance, after.credits, after.spent, after.balance)
	}
	if want := max(g.limit-after.keyUsage, 0); after.keyRemaining != want {
		t.Fatalf("no request in flight, yet the key's remaining limit is %s, not limit − usage = %s", after.keyRemaining, want)
	}
	var cost money.Nanos
	if genID != "" {
		var gen struct {
			Data struct {
				TotalCost money.Nanos `json:"total_cost"`
				AccountID string      `json:"account_id"`
			} `json:"data"`
		}
		rec := g.do(http.MethodGet, "/v1/generation?id="+url.QueryEscape(genID), g.adminKey, nil, "")
		if err := json.Unmarshal(rec.Body.Bytes(), &gen); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("generation %s of the request is not recorded: %d %s", genID, rec.Code, rec.Body)
		}
		if gen.Data.TotalCost < 0 {
			t.Fatalf("generation %s has a negative cost %s", genID, gen.Data.TotalCost)
		}
		if gen.Data.AccountID == g.acct {
			cost = gen.Data.TotalCost
		}
	}
	if d := after.spent - before.spent; d != cost {
		t.Fatalf("the account's spend grew by %s; the request's generation %q records %s", d, genID, cost)
	}
	if d := after.keyUsage - before.keyUsage; d != cost {
		t.Fatalf("the key's usage grew by %s; the request's generation %q records %s", d, genID, cost)
	}
	if !deep || genID == "" {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := g.st.GetGeneration(context.Background(), genID)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("generation %s was not written to the database: %v", genID, err)
		}
		time.Sleep(time.Millisecond)
	}
	var spent, sum money.Nanos
	err := g.raw.QueryRow(`SELECT spent_nanos, (SELECT coalesce(sum(cost_nanos), 0) FROM generations WHERE account_id = ?) FROM accounts WHERE id = ?`,
		g.acct, g.acct).Scan(&spent, &sum)
	if err != nil {
		t.Fatal(err)
	}
	if spent != sum || spent != after.spent {
		t.Fatalf("the database says the account spent %s and its generations cost %s; the accountant says %s", spent, sum, after.spent)
	}
}
