package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store/postgres/pgtest"
)

// TestPostgresStorageChargesRecordsAndKeepsKeysAcrossARestart runs the
// gateway on PostgreSQL: a chat through the OpenAI SDK is charged, its
// ledger row lands in the database, and a second gateway started on the
// same database (a restart, or another instance) serves the same key and
// finds the generation and the key's spend there.
func TestPostgresStorageChargesRecordsAndKeepsKeysAcrossARestart(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	g := start(t, opts{database: dsn})
	resp, err := g.client().Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("store me in postgres")})
	if err != nil {
		t.Fatal(err)
	}
	// gpt-4o: $2.50 / $10.00 per 1M tokens.
	want := money.Nanos(resp.Usage.PromptTokens*2500 + resp.Usage.CompletionTokens*10000)
	if got := sdkCost(t, resp.RawJSON()); got != want || want == 0 {
		t.Fatalf("usage.cost = %s, want %s (non-zero)", got, want)
	}
	gen := g.waitGeneration(t, resp.ID)
	if gen.Cost != want || gen.Model != "gpt-4o" || gen.Provider != "fake" || gen.TokensPrompt != resp.Usage.PromptTokens {
		t.Fatalf("stored generation = %+v, want cost %s of gpt-4o on fake", gen, want)
	}
	key, err := g.Store.GetKey(ctx, gen.KeyHash)
	if err != nil {
		t.Fatal(err)
	}
	g.flush(t)

	// The restart: a new gateway on the same schema creates no keys and
	// serves the old one.
	g2 := startWith(t, opts{database: dsn}, g.Up.URL)
	if g2.Key != "" || g2.AdminKey != "" {
		t.Fatalf("the second start created keys %q, %q; the stored ones should be kept", g2.Key, g2.AdminKey)
	}
	g2.Key, g2.AdminKey = g.Key, g.AdminKey
	if st, out := g2.admin(t, "GET", "/api/v1/generation?id="+resp.ID, g.Key, ""); st != 200 {
		t.Fatalf("GET /api/v1/generation after the restart: %d %v", st, out)
	} else if d := out["data"].(map[string]any); toJSON(d["total_cost"]) != want.String() {
		t.Fatalf("generation after the restart: total_cost %v, want %s", d["total_cost"], want)
	}
	_, kr := g2.admin(t, "GET", "/api/v1/key", g.Key, "")
	if kd := kr["data"].(map[string]any); toJSON(kd["usage"]) != want.String() || kd["name"] != key.Name {
		t.Fatalf("key after the restart = %v, want usage %s", kd, want)
	}
	if _, err := g2.client().Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: userMsg("again")}); err != nil {
		t.Fatalf("chat with the kept key after the restart: %v", err)
	}
}

// TestPostgresTakesTextItCannotStore sends what PostgreSQL's text refuses
// (a NUL written "\u0000", a raw 0xff byte) wherever a client can put it
// into a value the store keeps or looks up. Nothing answers 5xx; the two
// chats, routed by the catalogue's "*" and charged, are recorded with
// their batch, never dead-lettered, their model names cleaned to U+FFFD.
func TestPostgresTakesTextItCannotStore(t *testing.T) { testTakesTextItCannotStore(t, pgtest.DSN(t)) }

// TestSQLiteTakesTextItCannotStore: the same on SQLite, which could store
// the bytes but cleans the ledger's text the same way.
func TestSQLiteTakesTextItCannotStore(t *testing.T) { testTakesTextItCannotStore(t, "") }

func testTakesTextItCannotStore(t *testing.T, database string) {
	g := start(t, opts{database: database})
	var ids []string
	for _, model := range []string{`x\u0000y`, "z\xffw"} {
		st, body := g.adminRaw(t, "POST", "/v1/chat/completions", g.Key,
			`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
		var out struct{ ID string }
		if st != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("chat with model %q: %d %s", model, st, body)
		}
		ids = append(ids, out.ID)
	}
	for _, c := range []struct {
		method, path, key, body string
		want                    int
	}{
		{"GET", "/api/v1/generation?id=gen-%00", g.Key, "", 404},
		{"GET", "/api/v1/generation?id=gen-%FF", g.Key, "", 404},
		{"GET", "/v1/responses/resp_%00", g.Key, "", 404},
		{"DELETE", "/v1/responses/resp_%FF", g.Key, "", 404},
		{"POST", "/v1/responses", g.Key, `{"model":"gpt-4o","input":"hi","previous_response_id":"resp_\u0000"}`, 404},
		{"GET", "/api/v1/generations?model=a%00b", g.AdminKey, "", 200},
		{"GET", "/api/v1/accounts/acct%00", g.AdminKey, "", 404},
		{"POST", "/api/v1/accounts", g.AdminKey, `{"name":"team\u0000one"}`, 201},
	} {
		if st, body := g.adminRaw(t, c.method, c.path, c.key, c.body); st != c.want {
			t.Errorf("%s %s %s: %d %s, want %d", c.method, c.path, c.body, st, body, c.want)
		}
	}
	for i, want := range []string{"x\uFFFDy", "z\uFFFDw"} {
		gen := g.waitGeneration(t, ids[i])
		if gen.Model != want || gen.Cost <= 0 {
			t.Errorf("generation %s: model %q cost %s, want %q, charged", ids[i], gen.Model, gen.Cost, want)
		}
	}
	g.flush(t)
	if logs := g.Logs.String(); strings.Contains(logs, "dead letter") || strings.Contains(logs, "ledger batch failed") {
		t.Errorf("the ledger refused a record:\n%s", logs)
	}
}
