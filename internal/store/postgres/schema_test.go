package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// TestWriteBatchMarksSchemaRefusals: a database a newer release migrated
// (here: a column of generations renamed) refuses this release's batch for
// its schema, and WriteBatch says so with store.ErrSchema, which the ledger
// treats as the store being unusable (records kept) rather than as bad
// records (dead letters). A batch refused for its values is not marked.
func TestWriteBatchMarksSchemaRefusals(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	hash := "0000000000000000000000000000000000000000000000000000000000000002"
	if err := db.CreateKey(ctx, &store.Key{Hash: hash, Label: "sk-sy-…", Kind: store.KindAPI, AccountID: store.DefaultAccountID}); err != nil {
		t.Fatal(err)
	}
	g := store.Generation{ID: "gen-1", KeyHash: hash, AccountID: store.DefaultAccountID, Model: "gpt", Provider: "openai",
		Status: 200, Attempts: "[]", CreatedAt: time.Now().UTC()}
	bad := g
	bad.ID, bad.AccountID = "gen-bad", "acct-missing"
	if err := db.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{bad}}); err == nil || errors.Is(err, store.ErrSchema) {
		t.Fatalf("a record for a missing account: %v; want an error that is not ErrSchema", err)
	}
	if _, err := db.pool.Exec(ctx, `ALTER TABLE generations RENAME COLUMN app_title TO app_name`); err != nil {
		t.Fatal(err)
	}
	err := db.WriteBatch(ctx, &store.Batch{Generations: []store.Generation{g}})
	if !errors.Is(err, store.ErrSchema) {
		t.Fatalf("WriteBatch on a migrated-away schema: %v; want store.ErrSchema", err)
	}
}
