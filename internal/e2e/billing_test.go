package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// sdkCost reads usage.cost from a raw response.
func sdkCost(t *testing.T, raw string) money.Nanos {
	t.Helper()
	var v struct {
		Usage struct {
			Cost money.Nanos `json:"cost"`
		} `json:"usage"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	return v.Usage.Cost
}

func TestCostIsCataloguePriceTimesUpstreamTokensExactly(t *testing.T) {
	g := start(t, opts{})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("price me")})
	if err != nil {
		t.Fatal(err)
	}
	// gpt-4o: $2.50 / $10.00 per 1M tokens = 2500 / 10000 nano-dollars per token.
	want := money.Nanos(resp.Usage.PromptTokens*2500 + resp.Usage.CompletionTokens*10000)
	if got := sdkCost(t, resp.RawJSON()); got != want {
		t.Fatalf("usage.cost = %s, want %s", got, want)
	}
	// The same figure is what the ledger recorded and the key was charged.
	st, out := g.admin(t, "GET", "/api/v1/generation?id="+resp.ID, g.Key, "")
	if st != 200 {
		t.Fatalf("generation: %d %v", st, out)
	}
	data := out["data"].(map[string]any)
	if data["total_cost"] != want.String() && toJSON(data["total_cost"]) != want.String() {
		t.Fatalf("recorded total_cost %v, want %s", data["total_cost"], want)
	}
	if int64(data["tokens_prompt"].(float64)) != resp.Usage.PromptTokens || data["provider_name"] != "fake" || data["model"] != "gpt-4o" {
		t.Fatalf("generation = %v", data)
	}
	g.flush(t)
	if gen, err := g.Store.GetGeneration(context.Background(), resp.ID); err != nil || gen.Cost != want {
		t.Fatalf("stored generation: %+v, %v", gen, err)
	}
}

func TestAppAttributionRecorded(t *testing.T) {
	g := start(t, opts{})
	resp, err := g.client(option.WithHeader("HTTP-Referer", "https://myapp.example"), option.WithHeader("X-Title", "My App")).
		Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("hi")})
	if err != nil {
		t.Fatal(err)
	}
	_, out := g.admin(t, "GET", "/api/v1/generation?id="+resp.ID, g.Key, "")
	d := out["data"].(map[string]any)
	if d["origin"] != "https://myapp.example" || d["app_title"] != "My App" {
		t.Fatalf("generation = %v", d)
	}
}

// newAccount creates a prepaid account and an API key in it.
func (g *gateway) newAccount(t *testing.T, credits string, keyBody string) (acct, key string) {
	t.Helper()
	st, out := g.admin(t, "POST", "/api/v1/accounts", g.AdminKey, `{"name":"customer","credits":`+credits+`}`)
	if st != 201 {
		t.Fatalf("create account: %d %v", st, out)
	}
	acct = out["data"].(map[string]any)["id"].(string)
	if keyBody == "" {
		keyBody = "{}"
	}
	keyBody = strings.Replace(keyBody, "{", `{"account_id":"`+acct+`",`, 1)
	keyBody = strings.Replace(keyBody, ",}", "}", 1)
	st, out = g.admin(t, "POST", "/api/v1/keys", g.AdminKey, keyBody)
	if st != 201 {
		t.Fatalf("create key: %d %v", st, out)
	}
	return acct, out["key"].(string)
}

func TestAccountTopUpAndInsufficientCredit(t *testing.T) {
	g := start(t, opts{})
	acct, key := g.newAccount(t, "0", "")
	err := chatErr(g, key, "gpt-4o")
	wantAPIError(t, err, 402, "insufficient_quota")
	if !strings.Contains(apiMessage(err), "account "+acct) {
		t.Fatalf("402 should name the account: %v", err)
	}
	if st, out := g.admin(t, "POST", "/api/v1/accounts/"+acct+"/credits", g.AdminKey, `{"amount": 5, "memo": "invoice 42"}`); st != 200 || toJSON(out["data"].(map[string]any)["credits"]) != "5" {
		t.Fatalf("top-up: %d %v", st, out)
	}
	if err := chatErr(g, key, "gpt-4o"); err != nil {
		t.Fatal(err)
	}
	// GET /credits and GET /key from the key itself.
	_, cr := g.admin(t, "GET", "/api/v1/credits", key, "")
	d := cr["data"].(map[string]any)
	if toJSON(d["total_credits"]) != "5" || d["total_usage"].(float64) <= 0 {
		t.Fatalf("credits = %v", d)
	}
	_, kr := g.admin(t, "GET", "/api/v1/key", key, "")
	if kd := kr["data"].(map[string]any); kd["usage"].(float64) != d["total_usage"].(float64) {
		t.Fatalf("key usage %v != account usage %v", kd["usage"], d["total_usage"])
	}
}

func TestKeyLimit402SaysAffordableOutputTokens(t *testing.T) {
	g := start(t, opts{})
	_, key := g.newAccount(t, "null", `{"limit": 0.001}`)
	// Worst case: max_tokens 4096 at $10/M = $0.04 > $0.001.
	err := chatErr(g, key, "gpt-4o")
	wantAPIError(t, err, 402, "insufficient_quota")
	if msg := apiMessage(err); !strings.Contains(msg, "limit") || !strings.Contains(msg, "output tokens") {
		t.Fatalf("message: %v", err)
	}
	// A request that fits (small max_tokens) passes.
	_, err = g.client(option.WithAPIKey(key)).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: userMsg("hi"), MaxTokens: openai.Int(20),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKeyLimitUnderConcurrency(t *testing.T) {
	g := start(t, opts{up: fakeOpts{Default: fakeBehavior{FirstByteDelay: 20 * time.Millisecond}}})
	_, key := g.newAccount(t, "null", `{"limit": 0.01}`)
	usage, maxCost := hammer(t, g, key)
	g.flush(t)
	_, kr := g.admin(t, "GET", "/api/v1/key", key, "")
	_ = json.Unmarshal([]byte(toJSON(kr["data"].(map[string]any)["usage"])), &usage)
	limit, _ := money.ParseUSD("0.01")
	if usage > limit+maxCost || usage == 0 {
		t.Fatalf("key spent %s with a %s limit (one request costs up to %s)", usage, limit, maxCost)
	}
}

func TestAccountCreditsUnderConcurrency(t *testing.T) {
	g := start(t, opts{up: fakeOpts{Default: fakeBehavior{FirstByteDelay: 20 * time.Millisecond}}})
	acct, key := g.newAccount(t, "0.01", "")
	_, maxCost := hammer(t, g, key)
	g.flush(t)
	_, out := g.admin(t, "GET", "/api/v1/accounts/"+acct, g.AdminKey, "")
	var a struct {
		Usage   money.Nanos `json:"usage"`
		Balance money.Nanos `json:"balance"`
	}
	_ = json.Unmarshal([]byte(toJSON(out["data"])), &a)
	if a.Balance < -maxCost || a.Usage == 0 {
		t.Fatalf("balance went to %s (one request costs up to %s)", a.Balance, maxCost)
	}
}

// hammer sends 100 concurrent requests with key and returns the largest
// single cost seen.
func hammer(t *testing.T, g *gateway, key string) (money.Nanos, money.Nanos) {
	c := g.client(option.WithAPIKey(key))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var maxCost money.Nanos
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("go"), MaxTokens: openai.Int(100)})
			if err == nil {
				cost := sdkCost(t, resp.RawJSON())
				mu.Lock()
				maxCost = max(maxCost, cost)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0, maxCost
}

func TestCreditsSpentEqualRecordedCostsAfterMixedLoad(t *testing.T) {
	g := start(t, opts{env: map[string]string{"FAKE_TIMEOUT": "2s"}})
	acct, key := g.newAccount(t, "100", "")
	c := g.client(option.WithAPIKey(key))
	var wg sync.WaitGroup
	behaviors := []fakeBehavior{
		{},                              // success
		{Status: 500},                   // upstream failure: free
		{DropAfterChunks: 3, Words: 20}, // stream cut after first byte: partial charge
		{ChunkDelay: 30 * time.Millisecond, Words: 30}, // client disconnects mid-stream
		{OmitUsage: true, Words: 5},                    // no usage: estimated
		{Status: 429, RetryAfter: "1"},
	}
	for round := 0; round < 5; round++ {
		for i, b := range behaviors {
			g.Up.Enqueue(b)
			stream := i >= 2
			disconnect := i == 3
			wg.Add(1)
			go func() {
				defer wg.Done()
				if !stream {
					_, _ = c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("load")})
					return
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("load")})
				n := 0
				for s.Next() {
					if n++; disconnect && n == 3 {
						cancel()
					}
				}
			}()
			wg.Wait() // one at a time keeps behaviours matched to requests
		}
	}
	// A client that hung up returns before the gateway notices; the
	// property is that once every request has ended nothing stays held.
	// (A reservation that leaked would never clear and fail here.)
	waitNothingHeld(t, g, acct)
	g.flush(t)
	var total money.Nanos
	rows, err := g.Store.Usage(context.Background(), storeUsageQuery(acct))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		total += r.Cost
	}
	st, out := g.admin(t, "GET", "/api/v1/accounts/"+acct, g.AdminKey, "")
	if st != 200 {
		t.Fatal(out)
	}
	var a struct {
		Usage   money.Nanos `json:"usage"`
		Balance money.Nanos `json:"balance"`
	}
	_ = json.Unmarshal([]byte(toJSON(out["data"])), &a)
	if a.Usage != total || total == 0 {
		t.Fatalf("account spent %s, recorded costs sum to %s", a.Usage, total)
	}
	// Nothing is left reserved: balance = credits − spent exactly.
	if hundred, _ := money.ParseUSD("100"); a.Balance != hundred-a.Usage {
		t.Fatalf("balance %s != 100 − %s: a reservation is still held", a.Balance, a.Usage)
	}
	// And after a restart the persisted balance agrees (LoadBalances).
	bals, _, err := g.Store.LoadBalances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bals {
		if b.ID == acct && b.Spent != total {
			t.Fatalf("persisted spent %s != %s", b.Spent, total)
		}
	}
}

func TestDatabaseHoldsNoPlaintextKey(t *testing.T) {
	g := start(t, opts{})
	if err := chatErr(g, g.Key, "gpt-4o"); err != nil {
		t.Fatal(err)
	}
	g.flush(t)
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(g.DBPath + suffix)
		if err != nil {
			continue
		}
		for _, k := range []string{g.Key, g.AdminKey, upstreamKey} {
			if strings.Contains(string(b), k) {
				t.Fatalf("%s%s contains a plaintext key", g.DBPath, suffix)
			}
		}
	}
}

// apiMessage is the gateway's error message inside an SDK error.
func apiMessage(err error) string {
	var e *openai.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

func TestMissingUsageIsEstimatedWithTheTokenizer(t *testing.T) {
	g := start(t, opts{up: fakeOpts{Default: fakeBehavior{OmitUsage: true, Reply: "hello world"}}})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("Hello")})
	if err != nil {
		t.Fatal(err)
	}
	_, out := g.admin(t, "GET", "/api/v1/generation?id="+resp.ID, g.Key, "")
	d := out["data"].(map[string]any)
	// o200k_base: "hello world" is 2 tokens; one user message "Hello" is
	// 3 + 1 (role) + 1 + 3 (priming) = 8 prompt tokens.
	if d["usage_estimated"] != true || d["tokens_completion"].(float64) != 2 || d["tokens_prompt"].(float64) != 8 {
		t.Fatalf("generation = %v", d)
	}
	if want := money.Nanos(8*2500 + 2*10000).String(); toJSON(d["total_cost"]) != want {
		t.Fatalf("total_cost %v, want %s", d["total_cost"], want)
	}
}

func TestCancelledStreamIsRecordedAndChargedForWhatWasSent(t *testing.T) {
	g := start(t, opts{up: fakeOpts{Default: fakeBehavior{ChunkDelay: 30 * time.Millisecond, Words: 40}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := g.client().Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("long")})
	var id string
	for n := 0; s.Next(); n++ {
		id = s.Current().ID
		if n == 4 {
			cancel()
		}
	}
	g.Up.WaitCanceled(0, time.Second)
	// The gateway writes its record once it notices the client left.
	var d map[string]any
	for deadline := time.Now().Add(5 * time.Second); d == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		_, out := g.admin(t, "GET", "/api/v1/generation?id="+id, g.Key, "")
		d, _ = out["data"].(map[string]any)
	}
	out := map[string]any{"data": d}
	if d == nil || d["cancelled"] != true || d["usage_estimated"] != true || d["total_cost"].(float64) <= 0 || d["tokens_completion"].(float64) >= 40 {
		t.Fatalf("generation = %v", out)
	}
}

func TestProviderDefaultPriceAppliesToUncataloguedNames(t *testing.T) {
	g := start(t, opts{})
	resp, err := g.client().Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "fake:some-model", Messages: userMsg("hi")})
	if err != nil {
		t.Fatal(err)
	}
	// The provider's default: $1 / $2 per 1M tokens.
	want := money.Nanos(resp.Usage.PromptTokens*1000 + resp.Usage.CompletionTokens*2000)
	if got := sdkCost(t, resp.RawJSON()); got != want || want == 0 {
		t.Fatalf("usage.cost = %s, want %s", got, want)
	}
}

func TestAccountsCreatedOutsideTheGatewayAreEnforcedAfterRefresh(t *testing.T) {
	g := start(t, opts{})
	ctx := context.Background()
	zero := money.Nanos(0)
	// What `switchyard accounts create --credits 0` and `keys create --account` do.
	if err := g.Store.CreateAccount(ctx, &store.Account{ID: "acct-cli", Name: "cli", Credits: &zero, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	k, plain, err := admin.NewKey(admin.CreateKeyRequest{AccountID: "acct-cli"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Store.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go g.srv.Refresh(rctx, 10*time.Millisecond)
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := chatErr(g, plain, "gpt-4o")
		var e *openai.Error
		if errors.As(err, &e) && e.StatusCode == 402 {
			break // known, prepaid with $0: refused
		}
		if err == nil {
			t.Fatal("a $0 prepaid account created outside the gateway was allowed to spend")
		}
		if time.Now().After(deadline) {
			t.Fatalf("key never became usable: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := g.Store.TopUp(ctx, "acct-cli", money.PerDollar, "cli top-up", time.Now()); err != nil {
		t.Fatal(err)
	}
	for chatErr(g, plain, "gpt-4o") != nil {
		if time.Now().After(deadline) {
			t.Fatal("a top-up made outside the gateway was never seen")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitNothingHeld waits until the account's balance is exactly credits −
// usage, i.e. no request holds a reservation any more.
func waitNothingHeld(t *testing.T, g *gateway, acct string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, out := g.admin(t, "GET", "/api/v1/accounts/"+acct, g.AdminKey, "")
		var a struct {
			Credits, Usage, Balance money.Nanos
		}
		_ = json.Unmarshal([]byte(toJSON(out["data"])), &a)
		if a.Balance == a.Credits-a.Usage {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a reservation is still held 5 s after the last request: balance %s, credits %s, usage %s", a.Balance, a.Credits, a.Usage)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUnpricedRejectRefusesModelsWithoutAPrice(t *testing.T) {
	g := start(t, opts{yaml: `
billing: { unpriced: reject }
providers: [{name: fake, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}"}]
models:
  - { id: gpt-4o, pricing: { prompt: 2.5, completion: 10 }, routes: [{provider: fake}] }
  - { id: "*", routes: [{provider: fake}] }
`})
	if err := chatErr(g, g.Key, "gpt-4o"); err != nil {
		t.Fatalf("priced model refused: %v", err)
	}
	wantAPIError(t, chatErr(g, g.Key, "free-for-all"), 403, "model_not_allowed")
}

func TestPatchKeyAndUsageReport(t *testing.T) {
	g := start(t, opts{})
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"p"}`)
	if st != 201 {
		t.Fatal(out)
	}
	key, hash := out["key"].(string), out["data"].(map[string]any)["hash"].(string)
	if err := chatErr(g, key, "gpt-4o"); err != nil {
		t.Fatal(err)
	}
	if st, out = g.admin(t, "PATCH", "/api/v1/keys/"+hash, g.AdminKey, `{"disabled": true, "name": "renamed"}`); st != 200 || out["data"].(map[string]any)["name"] != "renamed" {
		t.Fatalf("patch: %d %v", st, out)
	}
	wantAPIError(t, chatErr(g, key, "gpt-4o"), 403, "key_disabled")
	if st, _ = g.admin(t, "PATCH", "/api/v1/keys/"+hash, g.AdminKey, `{"disabled": false, "limit": 0}`); st != 200 {
		t.Fatalf("patch back: %d", st)
	}
	wantAPIError(t, chatErr(g, key, "gpt-4o"), 402, "insufficient_quota")
	if st, _ = g.admin(t, "PATCH", "/api/v1/keys/"+hash, g.AdminKey, `{"limit": null}`); st != 200 {
		t.Fatal("clearing the limit failed")
	}
	if err := chatErr(g, key, "fake-x"); err != nil {
		t.Fatal(err)
	}
	g.flush(t)
	st, out = g.admin(t, "GET", "/api/v1/usage?group_by=model", g.AdminKey, "")
	if st != 200 {
		t.Fatalf("usage: %d %v", st, out)
	}
	byModel := map[string]float64{}
	for _, r := range out["data"].([]any) {
		row := r.(map[string]any)
		byModel[row["group"].(string)] = row["requests"].(float64)
	}
	// Records are kept for requests that passed authentication: the gpt-4o
	// success and its 402 (a disabled key does not authenticate), and fake-x.
	if byModel["gpt-4o"] != 2 || byModel["fake-x"] != 1 {
		t.Fatalf("usage by model = %v", byModel)
	}
	if st, _ := g.admin(t, "GET", "/api/v1/usage?group_by=colour", g.AdminKey, ""); st != 400 {
		t.Fatalf("bad group_by: %d", st)
	}
}
