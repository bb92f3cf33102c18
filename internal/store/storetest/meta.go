package storetest

import (
	"context"
	"testing"
)

func testMetaUpsert(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	read := func(want string) {
		t.Helper()
		got, err := db.Meta(ctx, "instance_id")
		if err != nil || got != want {
			t.Errorf("Meta = %q, %v; want %q", got, err, want)
		}
	}
	read("")
	if err := db.SetMeta(ctx, "instance_id", "first"); err != nil {
		t.Fatal(err)
	}
	read("first")
	if err := db.SetMeta(ctx, "instance_id", "second"); err != nil {
		t.Fatal(err)
	}
	read("second")
	if err := db.SetMeta(ctx, "instance_id", ""); err != nil {
		t.Fatal(err)
	}
	read("")
	if err := db.SetMeta(ctx, "", "x"); err == nil {
		t.Error("SetMeta with an empty name succeeded")
	}
}
