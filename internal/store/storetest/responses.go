package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func storedResponse(id, account string, expires *time.Time) *store.StoredResponse {
	return &store.StoredResponse{ID: id, AccountID: account, KeyHash: "h-" + account, Model: "gpt-4o",
		Conversation: []byte(`{"messages":[{"role":"user"}]}`), Output: []byte(`{"role":"assistant"}`),
		Response: []byte(`{"id":"` + id + `","object":"response"}`), CreatedAt: at(0), ExpiresAt: expires}
}

func testStoredResponseRoundTripsForItsAccountOnly(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	db.setClock(func() time.Time { return at(0) })
	exp := at(int64(time.Hour))
	want := storedResponse("gen-1", "acct-a", &exp)
	if err := db.PutResponse(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetResponse(ctx, "acct-a", "gen-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != want.ID || got.KeyHash != want.KeyHash || got.Model != want.Model || string(got.Conversation) != string(want.Conversation) ||
		string(got.Output) != string(want.Output) || string(got.Response) != string(want.Response) ||
		!got.CreatedAt.Equal(at(0)) || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := db.GetResponse(ctx, "acct-b", "gen-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account's Get = %v, want ErrNotFound", err)
	}
	if err := db.DeleteResponse(ctx, "acct-b", "gen-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account's Delete = %v, want ErrNotFound", err)
	}
	if err := db.PutResponse(ctx, storedResponse("gen-1", "acct-b", nil)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second Put of the id = %v, want ErrConflict", err)
	}
	if err := db.DeleteResponse(ctx, "acct-a", "gen-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetResponse(ctx, "acct-a", "gen-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
	}
	if err := db.DeleteResponse(ctx, "acct-a", "gen-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}
}

func testExpiredResponsesAreNotFoundAndPruned(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	now := at(0)
	db.setClock(func() time.Time { return now })
	soon, later := at(int64(time.Hour)), at(int64(48*time.Hour))
	for _, r := range []*store.StoredResponse{
		storedResponse("gen-soon", "acct-a", &soon),
		storedResponse("gen-later", "acct-a", &later),
		storedResponse("gen-never", "acct-a", nil),
	} {
		if err := db.PutResponse(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	now = soon // expiry is inclusive: at expires_at it is gone
	if _, err := db.GetResponse(ctx, "acct-a", "gen-soon"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of an expired response = %v, want ErrNotFound", err)
	}
	if err := db.DeleteResponse(ctx, "acct-a", "gen-soon"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete of an expired response = %v, want ErrNotFound", err)
	}
	db.setPruneChunk(1) // several chunks
	n, err := db.PruneResponses(ctx, at(int64(72*time.Hour)))
	if err != nil || n != 2 {
		t.Fatalf("PruneResponses = %d, %v; want the 2 with an expiry", n, err)
	}
	if _, err := db.GetResponse(ctx, "acct-a", "gen-never"); err != nil {
		t.Fatalf("a response without expiry was pruned: %v", err)
	}
}
