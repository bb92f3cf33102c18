package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func testLeakReportIsStoredAndKeptAcrossUpdates(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	k := newKey("sk-sy-leaky")
	if err := db.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetKey(ctx, k.Hash); err != nil || got.Leak != nil {
		t.Fatalf("a new key: leak %+v, %v; want none", got.Leak, err)
	}
	report := &store.LeakReport{At: at(5), URL: "https://github.com/o/r/blob/abc/config.py", Source: "content"}
	k.Disabled, k.Leak = true, report
	if err := db.UpdateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetKey(ctx, k.Hash)
	if err != nil || !got.Disabled || !reflect.DeepEqual(got.Leak, report) {
		t.Fatalf("after the report: disabled %v, leak %+v, %v; want %+v", got.Disabled, got.Leak, err, report)
	}
	// Re-enabling keeps the report, and so do the cache's reads.
	got.Disabled = false
	if err := db.UpdateKey(ctx, got); err != nil {
		t.Fatal(err)
	}
	changed, err := db.KeysChangedSince(ctx, at(0).AddDate(-100, 0, 0))
	if err != nil || len(changed) != 1 || changed[0].Disabled || !reflect.DeepEqual(changed[0].Leak, report) {
		t.Fatalf("KeysChangedSince = %+v, %v", changed, err)
	}
}
