package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func testGetKeyReturnsLiveKeysAndNotFoundForDeletedOrAbsent(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	k := newKey("sk-sy-getkey")
	k.Name, k.AccountID, k.CreatedAt, k.UpdatedAt = "mine", store.DefaultAccountID, at(1), at(1)
	if err := db.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetKey(ctx, k.Hash)
	if err != nil || got.Hash != k.Hash || got.Name != "mine" || got.AccountID != store.DefaultAccountID {
		t.Fatalf("GetKey = %+v, %v", got, err)
	}
	if _, err := db.GetKey(ctx, hashOf("sk-sy-absent")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent key: %v, want ErrNotFound", err)
	}
	if err := db.DeleteKey(ctx, k.Hash, at(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetKey(ctx, k.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key: %v, want ErrNotFound", err)
	}
}
