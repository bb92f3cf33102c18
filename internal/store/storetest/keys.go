package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

func testKeyRoundTripsEveryField(t *testing.T, h *Harness) {
	limit := money.Nanos(2_500_000_001)
	zero := money.Nanos(0)
	expires := at(int64(90 * 24 * time.Hour)).Add(7) // nanoseconds survive
	tests := []struct {
		name string
		key  store.Key
	}{
		{
			name: "everything set",
			key: store.Key{
				Hash:          hashOf("sk-sy-everything"),
				Label:         "sk-sy-ev…ng",
				Name:          "ci runner",
				Kind:          store.KindManagement,
				AccountID:     store.DefaultAccountID,
				Limit:         &limit,
				LimitReset:    "monthly",
				ExpiresAt:     &expires,
				Disabled:      true,
				AllowedModels: []string{"openai/gpt-4o-mini", "anthropic/claude-sonnet-4"},
				CreatedAt:     at(1),
				UpdatedAt:     at(2),
			},
		},
		{
			name: "nothing optional set",
			key: store.Key{
				Hash:      hashOf("sk-sy-minimal"),
				Label:     "sk-sy-mi…al",
				Kind:      store.KindAPI,
				AccountID: store.DefaultAccountID,
				CreatedAt: at(3),
				UpdatedAt: at(3),
			},
		},
		{
			name: "zero limit is not no limit",
			key: store.Key{
				Hash:       hashOf("sk-sy-zero"),
				Label:      "sk-sy-ze…ro",
				Kind:       store.KindAdmin,
				AccountID:  store.DefaultAccountID,
				Limit:      &zero,
				LimitReset: "daily",
				CreatedAt:  at(4),
				UpdatedAt:  at(5),
			},
		},
	}
	db := h.open(t)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.key
			if err := db.CreateKey(ctx, &k); err != nil {
				t.Fatalf("CreateKey: %v", err)
			}
			got, err := db.KeysChangedSince(ctx, tt.key.UpdatedAt.Add(-1))
			if err != nil {
				t.Fatalf("KeysChangedSince: %v", err)
			}
			found := false
			for _, g := range got {
				if g.Hash == tt.key.Hash {
					found = true
					if !reflect.DeepEqual(g, tt.key) {
						t.Errorf("read back\n%+v\nwant\n%+v", g, tt.key)
					}
				}
			}
			if !found {
				t.Fatalf("key not read back")
			}
		})
	}
}

func testCreateKeyFillsDefaults(t *testing.T, h *Harness) {
	db := h.open(t)
	now := at(1000)
	db.setClock(func() time.Time { return now })
	k := newKey("sk-sy-defaults")
	if err := db.CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	if k.AccountID != store.DefaultAccountID || !k.CreatedAt.Equal(now) || !k.UpdatedAt.Equal(now) {
		t.Errorf("key after CreateKey: account %q created %v updated %v; want %q and %v",
			k.AccountID, k.CreatedAt, k.UpdatedAt, store.DefaultAccountID, now)
	}
	keys, err := db.ListKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !reflect.DeepEqual(keys[0], *k) {
		t.Errorf("ListKeys = %+v, want [%+v]", keys, *k)
	}
}

func testTimesAreReadBackInUTC(t *testing.T, h *Harness) {
	db := h.open(t)
	tokyo := time.FixedZone("JST", 9*3600)
	exp := time.Date(2030, 1, 2, 3, 4, 5, 6, tokyo)
	k := newKey("sk-sy-zone")
	k.ExpiresAt = &exp
	if err := db.CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	keys, err := db.ListKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := *keys[0].ExpiresAt
	if !got.Equal(exp) || got.Location() != time.UTC {
		t.Errorf("ExpiresAt = %v, want %v in UTC", got, exp)
	}
}

func testCreateKeyRejectsInvalidKeys(t *testing.T, h *Harness) {
	tests := []struct {
		name   string
		modify func(k *store.Key)
	}{
		{name: "plaintext as hash", modify: func(k *store.Key) { k.Hash = "sk-sy-PLAINTEXT" }},
		{name: "uppercase hash", modify: func(k *store.Key) { k.Hash = "AB" + k.Hash[2:] }},
		{name: "unknown kind", modify: func(k *store.Key) { k.Kind = "root" }},
		{name: "empty kind", modify: func(k *store.Key) { k.Kind = "" }},
		{name: "unknown limit reset", modify: func(k *store.Key) { k.LimitReset = "hourly" }},
		{name: "expiry past year 2262", modify: func(k *store.Key) {
			e := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
			k.ExpiresAt = &e
		}},
	}
	db := h.open(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKey("sk-sy-invalid")
			tt.modify(k)
			if err := db.CreateKey(context.Background(), k); err == nil {
				t.Fatalf("CreateKey succeeded")
			}
		})
	}
	keys, err := db.ListKeys(context.Background())
	if err != nil || len(keys) != 0 {
		t.Errorf("ListKeys = %v, %v; want nothing stored", keys, err)
	}
}

func testCreateKeyUnknownAccountIsNotFound(t *testing.T, h *Harness) {
	db := h.open(t)
	k := newKey("sk-sy-orphan")
	k.AccountID = "acct-nope"
	err := db.CreateKey(context.Background(), k)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateKey = %v, want ErrNotFound", err)
	}
}

func testCreateKeyDuplicateHashConflicts(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	if err := db.CreateKey(ctx, newKey("sk-sy-dup")); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKey(ctx, newKey("sk-sy-dup")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second CreateKey = %v, want ErrConflict", err)
	}
	if err := db.DeleteKey(ctx, hashOf("sk-sy-dup"), at(10)); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKey(ctx, newKey("sk-sy-dup")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateKey of a deleted hash = %v, want ErrConflict", err)
	}
}

func testDeletedKeyLeavesListButIsReportedChanged(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	gone, kept := newKey("sk-sy-gone"), newKey("sk-sy-kept")
	gone.CreatedAt, gone.UpdatedAt = at(0), at(0)
	kept.CreatedAt, kept.UpdatedAt = at(1000), at(1000)
	for _, k := range []*store.Key{gone, kept} {
		if err := db.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	// Deleted "earlier" than the latest change: the delete must still
	// be stamped after it, or a poller at at(1000) would miss it.
	deletedAt := at(500)
	if err := db.DeleteKey(ctx, gone.Hash, deletedAt); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}

	keys, err := db.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Hash != kept.Hash {
		t.Errorf("ListKeys after delete = %v, want only %s", hashes(keys), kept.Hash)
	}

	changed, err := db.KeysChangedSince(ctx, at(1000))
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0].Hash != gone.Hash {
		t.Fatalf("KeysChangedSince(at(1000)) = %v, want only %s", hashes(changed), gone.Hash)
	}
	d := changed[0]
	if d.DeletedAt == nil || !d.DeletedAt.Equal(deletedAt) {
		t.Errorf("DeletedAt = %v, want %v", d.DeletedAt, deletedAt)
	}
	if !d.UpdatedAt.After(at(1000)) {
		t.Errorf("UpdatedAt = %v, want after %v", d.UpdatedAt, at(1000))
	}

	if err := db.DeleteKey(ctx, gone.Hash, at(5)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteKey = %v, want ErrNotFound", err)
	}
	if err := db.DeleteKey(ctx, hashOf("sk-sy-never"), at(5)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteKey of an absent key = %v, want ErrNotFound", err)
	}
}

func testKeysChangedSinceBoundaries(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	// Inserted out of order: results come in UpdatedAt order.
	for i, n := range []int64{2, 1, 3} {
		k := newKey(fmt.Sprint("sk-sy-", i))
		k.Name = fmt.Sprint(n)
		k.CreatedAt, k.UpdatedAt = at(0), at(n)
		if err := db.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		since time.Time
		want  []string // names, in order
	}{
		{name: "zero time", since: time.Time{}, want: []string{"1", "2", "3"}},
		{name: "just before first", since: at(0), want: []string{"1", "2", "3"}},
		{name: "equal is excluded", since: at(1), want: []string{"2", "3"}},
		{name: "one nanosecond before", since: at(2).Add(-1), want: []string{"2", "3"}},
		{name: "at last", since: at(3), want: nil},
		{name: "far future", since: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := db.KeysChangedSince(ctx, tt.since)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range keys {
				got = append(got, k.Name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("KeysChangedSince(%v) = %v, want %v", tt.since, got, tt.want)
			}
		})
	}
}

func testUpdatedAtGrowsEvenWhenTheClockDoesNot(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	// Another instance stamped a change in our future.
	ahead := newKey("sk-sy-ahead")
	ahead.UpdatedAt = at(100)
	if err := db.CreateKey(ctx, ahead); err != nil {
		t.Fatal(err)
	}
	db.setClock(func() time.Time { return at(50) })
	last := ahead.UpdatedAt
	for i := range 3 {
		k := newKey(fmt.Sprint("sk-sy-stuck-", i))
		if err := db.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if !k.UpdatedAt.After(last) {
			t.Fatalf("key %d UpdatedAt = %v, not after %v", i, k.UpdatedAt, last)
		}
		if !k.CreatedAt.Equal(at(50)) {
			t.Errorf("key %d CreatedAt = %v, want the clock's %v", i, k.CreatedAt, at(50))
		}
		last = k.UpdatedAt
	}
}

func testListKeysOldestFirst(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	for _, n := range []int64{30, 10, 20} {
		k := newKey(fmt.Sprint("sk-sy-", n))
		k.Name = fmt.Sprint(n)
		k.CreatedAt = at(n)
		if err := db.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := db.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.Name)
	}
	if want := []string{"10", "20", "30"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListKeys order = %v, want %v", got, want)
	}
}

func testConcurrentCreateKeysAllSucceed(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if err := db.CreateKey(ctx, newKey(fmt.Sprint("sk-sy-concurrent-", i))); err != nil {
				errs <- err
			}
			// Readers run alongside the writers.
			if _, err := db.ListKeys(ctx); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	keys, err := db.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n {
		t.Errorf("ListKeys has %d keys, want %d", len(keys), n)
	}
	seen := map[time.Time]bool{}
	for _, k := range keys {
		if seen[k.UpdatedAt] {
			t.Errorf("two keys share UpdatedAt %v", k.UpdatedAt)
		}
		seen[k.UpdatedAt] = true
	}
}

func hashes(keys []store.Key) []string {
	var hs []string
	for _, k := range keys {
		hs = append(hs, k.Hash)
	}
	return hs
}

func testUpdateKeyRoundTripsAndIsReportedChanged(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	k := newKey("sk-sy-update")
	k.Name = "before"
	k.CreatedAt, k.UpdatedAt = at(1), at(1)
	if err := db.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	other := newKey("sk-sy-other")
	other.UpdatedAt = at(int64(time.Hour)) // later than the clock below
	if err := db.CreateKey(ctx, other); err != nil {
		t.Fatal(err)
	}
	// The clock stands still, behind the latest updated_at: every
	// update must still be stamped after every earlier change.
	db.setClock(func() time.Time { return at(5) })

	limit := money.Nanos(1_000_000_000)
	expires := at(int64(30 * 24 * time.Hour)).Add(3)
	want := *k
	want.Name = "after"
	want.Limit = &limit
	want.LimitReset = "weekly"
	want.ExpiresAt = &expires
	want.Disabled = true
	want.AllowedModels = []string{"openai/gpt-4o"}
	// Fields UpdateKey must not touch, set to wrong values.
	want.Label, want.Kind = "tampered", store.KindAdmin
	seen := other.UpdatedAt
	for i := range 3 {
		upd := want
		if err := db.UpdateKey(ctx, &upd); err != nil {
			t.Fatalf("UpdateKey #%d: %v", i, err)
		}
		if !upd.UpdatedAt.After(seen) {
			t.Fatalf("UpdateKey #%d: UpdatedAt %v is not after %v", i, upd.UpdatedAt, seen)
		}
		changed, err := db.KeysChangedSince(ctx, seen)
		if err != nil {
			t.Fatal(err)
		}
		if len(changed) != 1 || changed[0].Hash != k.Hash {
			t.Fatalf("KeysChangedSince(last seen) = %+v, want the updated key only", changed)
		}
		got := changed[0]
		exp := want
		exp.Label, exp.Kind, exp.UpdatedAt = k.Label, k.Kind, upd.UpdatedAt
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("stored key = %+v\nwant %+v", got, exp)
		}
		seen = upd.UpdatedAt
	}

	// Clearing the optional fields stores "none" again.
	cleared := *k
	if err := db.UpdateKey(ctx, &cleared); err != nil {
		t.Fatal(err)
	}
	keys, err := db.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range keys {
		if g.Hash == k.Hash && (g.Limit != nil || g.ExpiresAt != nil || g.AllowedModels != nil || g.Disabled || g.Name != k.Name) {
			t.Errorf("after clearing: %+v", g)
		}
	}
}

func testUpdateKeyErrors(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	deleted := newKey("sk-sy-deleted")
	if err := db.CreateKey(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteKey(ctx, deleted.Hash, time.Time{}); err != nil {
		t.Fatal(err)
	}
	live := newKey("sk-sy-live")
	if err := db.CreateKey(ctx, live); err != nil {
		t.Fatal(err)
	}
	badReset := *live
	badReset.LimitReset = "hourly"
	tests := []struct {
		name     string
		key      *store.Key
		notFound bool
	}{
		{name: "absent", key: newKey("sk-sy-absent"), notFound: true},
		{name: "deleted", key: deleted, notFound: true},
		{name: "plaintext instead of hash", key: &store.Key{Hash: "sk-sy-plaintext"}},
		{name: "unknown limit reset", key: &badReset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.UpdateKey(ctx, tt.key)
			if err == nil {
				t.Fatal("UpdateKey succeeded")
			}
			if errors.Is(err, store.ErrNotFound) != tt.notFound {
				t.Errorf("UpdateKey = %v, want not found: %v", err, tt.notFound)
			}
		})
	}
	if keys, _ := db.ListKeys(ctx); len(keys) != 1 || keys[0].LimitReset != "" {
		t.Errorf("keys after failed updates = %+v", keys)
	}
}
