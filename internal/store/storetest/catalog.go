package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func testCatalogEntriesCreateUpdateDelete(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	db.setClock(func() time.Time { return at(100) })
	p := &store.CatalogEntry{Kind: store.EntryProvider, ID: "acme", Spec: []byte(`{"type":"openai"}`),
		Key: store.SealedKey{KeyID: "k1", Sealed: "c2VhbGVk"}}
	if err := db.CreateCatalogEntry(ctx, p); err != nil {
		t.Fatal(err)
	}
	if !p.CreatedAt.Equal(at(100)) || !p.UpdatedAt.Equal(at(100)) {
		t.Errorf("times = %v, %v; want %v", p.CreatedAt, p.UpdatedAt, at(100))
	}
	// A model may share a provider's id: the kinds are apart.
	db.setClock(func() time.Time { return at(50) })
	m := &store.CatalogEntry{Kind: store.EntryModel, ID: "acme", Spec: []byte(`{"routes":[]}`)}
	if err := db.CreateCatalogEntry(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateCatalogEntry(ctx, &store.CatalogEntry{Kind: store.EntryProvider, ID: "acme", Spec: []byte(`{}`)}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second create = %v; want ErrConflict", err)
	}
	all, err := db.CatalogEntries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Providers first, though the model is older.
	if len(all) != 2 || all[0].Kind != store.EntryProvider || all[1].Kind != store.EntryModel {
		t.Fatalf("entries = %+v", all)
	}
	if string(all[0].Spec) != `{"type":"openai"}` || all[0].Key != p.Key || !all[1].Key.IsZero() {
		t.Errorf("provider read back as %+v", all[0])
	}

	db.setClock(func() time.Time { return at(200) })
	p.Spec, p.Key = []byte(`{"type":"anthropic"}`), store.SealedKey{}
	if err := db.UpdateCatalogEntry(ctx, p); err != nil {
		t.Fatal(err)
	}
	if !p.CreatedAt.Equal(at(100)) || !p.UpdatedAt.Equal(at(200)) {
		t.Errorf("after update times = %v, %v", p.CreatedAt, p.UpdatedAt)
	}
	all, _ = db.CatalogEntries(ctx)
	if string(all[0].Spec) != `{"type":"anthropic"}` || !all[0].Key.IsZero() {
		t.Errorf("updated provider read back as %+v", all[0])
	}
	if err := db.UpdateCatalogEntry(ctx, &store.CatalogEntry{Kind: store.EntryProvider, ID: "nope", Spec: []byte(`{}`)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update absent = %v; want ErrNotFound", err)
	}
	if err := db.DeleteCatalogEntry(ctx, store.EntryProvider, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteCatalogEntry(ctx, store.EntryProvider, "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete = %v; want ErrNotFound", err)
	}
	all, _ = db.CatalogEntries(ctx)
	if len(all) != 1 || all[0].Kind != store.EntryModel {
		t.Errorf("after delete: %+v", all)
	}
}

func testResealKeysIsAllOrNothing(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		e := &store.CatalogEntry{Kind: store.EntryProvider, ID: id, Spec: []byte(`{}`), Key: store.SealedKey{KeyID: "old", Sealed: "v-" + id}}
		if id == "c" {
			e.Key = store.SealedKey{} // no key: never passed to reseal
		}
		if err := db.CreateCatalogEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	keys := func() map[string]store.SealedKey {
		all, err := db.CatalogEntries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.SealedKey{}
		for _, e := range all {
			out[e.ID] = e.Key
		}
		return out
	}
	// A failure on the second key leaves the first as it was.
	boom := errors.New("boom")
	_, err := db.ResealKeys(ctx, func(_, id string, k store.SealedKey) (store.SealedKey, error) {
		if id == "b" {
			return k, boom
		}
		return store.SealedKey{KeyID: "new", Sealed: "w-" + id}, nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("ResealKeys = %v; want boom", err)
	}
	if got := keys(); got["a"].KeyID != "old" || got["b"].KeyID != "old" {
		t.Fatalf("a failed reseal changed keys: %+v", got)
	}
	var seen []string
	n, err := db.ResealKeys(ctx, func(_, id string, k store.SealedKey) (store.SealedKey, error) {
		seen = append(seen, id)
		if id == "b" {
			return k, nil // unchanged: not counted
		}
		return store.SealedKey{KeyID: "new", Sealed: "w-" + id}, nil
	})
	if err != nil || n != 1 {
		t.Fatalf("ResealKeys = %d, %v; want 1", n, err)
	}
	if len(seen) != 2 {
		t.Errorf("reseal saw %v; want a and b only", seen)
	}
	got := keys()
	if got["a"] != (store.SealedKey{KeyID: "new", Sealed: "w-a"}) || got["b"] != (store.SealedKey{KeyID: "old", Sealed: "v-b"}) || !got["c"].IsZero() {
		t.Errorf("after reseal: %+v", got)
	}
}
