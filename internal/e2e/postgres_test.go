package e2e

import (
	"context"
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
