package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func testAuditEntriesAreListedNewestFirstWithFiltersAndCursor(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	var all []store.AuditEntry
	for i := range 6 {
		e := store.AuditEntry{
			ID: fmt.Sprintf("aud-%03d", i), At: at(int64(i)), ActorKind: "admin", ActorID: "hash-admin", Actor: "sk-sy-…a1b2",
			AccountID: []string{"acct-a", "acct-b"}[i%2], Action: "PATCH /api/v1/keys/{hash}", Target: fmt.Sprintf("key-%d", i),
			Status: 200, RequestID: fmt.Sprintf("req-%d", i), Source: "192.0.2.1",
			Before: []byte(`{"disabled":false}`), After: []byte(`{"disabled":true}`),
		}
		switch i {
		case 0:
			e.Action, e.Before = "POST /api/v1/keys", nil // a create has no before
		case 5:
			e.Action, e.AccountID, e.ActorKind, e.ActorID, e.Actor = "config reload 100%_done", "", "system", "", "SIGHUP"
			e.Before, e.After, e.Status = nil, nil, 0
		}
		if err := db.AppendAudit(ctx, &e); err != nil {
			t.Fatal(err)
		}
		all = append(all, e)
	}
	ids := func(es []store.AuditEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	list := func(q store.AuditQuery) []store.AuditEntry {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 100
		}
		got, err := db.ListAudit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	got := list(store.AuditQuery{})
	if want := []string{"aud-005", "aud-004", "aud-003", "aud-002", "aud-001", "aud-000"}; !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("all: %v, want %v", ids(got), want)
	}
	for i, e := range got {
		if want := all[5-i]; !reflect.DeepEqual(e, want) {
			t.Errorf("entry %s read back as\n%+v\nwant\n%+v", want.ID, e, want)
		}
	}
	if got := ids(list(store.AuditQuery{AccountID: "acct-a"})); !reflect.DeepEqual(got, []string{"aud-004", "aud-002", "aud-000"}) {
		t.Errorf("account a: %v", got)
	}
	if got := ids(list(store.AuditQuery{Action: "PATCH /api/v1/keys"})); !reflect.DeepEqual(got, []string{"aud-004", "aud-003", "aud-002", "aud-001"}) {
		t.Errorf("action prefix: %v", got)
	}
	// The prefix is literal: '%' and '_' in it are not wildcards.
	if got := ids(list(store.AuditQuery{Action: "config reload 100%_"})); !reflect.DeepEqual(got, []string{"aud-005"}) {
		t.Errorf("literal prefix: %v", got)
	}
	if got := ids(list(store.AuditQuery{Action: "config reload 1%0"})); len(got) != 0 {
		t.Errorf("'%%' matched as a wildcard: %v", got)
	}
	if got := ids(list(store.AuditQuery{Target: "key-3", ActorID: "hash-admin"})); !reflect.DeepEqual(got, []string{"aud-003"}) {
		t.Errorf("target and actor: %v", got)
	}
	if got := ids(list(store.AuditQuery{From: at(2), To: at(4)})); !reflect.DeepEqual(got, []string{"aud-003", "aud-002"}) {
		t.Errorf("time range: %v", got)
	}
	// Pages of two, following the cursor.
	var pages [][]string
	for cursor := ""; ; {
		page := list(store.AuditQuery{Before: cursor, Limit: 2})
		if len(page) == 0 {
			break
		}
		pages = append(pages, ids(page))
		cursor = page[len(page)-1].ID
	}
	if want := [][]string{{"aud-005", "aud-004"}, {"aud-003", "aud-002"}, {"aud-001", "aud-000"}}; !reflect.DeepEqual(pages, want) {
		t.Errorf("pages: %v, want %v", pages, want)
	}
}
