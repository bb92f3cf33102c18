package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func testUsersCreateGetListUpdateDelete(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	other := &store.Account{ID: "acct-other", Name: "other"}
	if err := db.CreateAccount(ctx, other); err != nil {
		t.Fatal(err)
	}
	ann := &store.User{ID: "user-ann", Email: " Ann@Example.COM ", AccountID: store.DefaultAccountID, Role: store.RoleOwner,
		PasswordHash: "$argon2id$x", CreatedAt: at(1)}
	if err := db.CreateUser(ctx, ann); err != nil {
		t.Fatal(err)
	}
	if ann.Email != "ann@example.com" || !ann.CreatedAt.Equal(at(1)) || !ann.UpdatedAt.Equal(at(1)) {
		t.Fatalf("created %+v; want the email lower case and the times set", ann)
	}
	bob := &store.User{ID: "user-bob", Email: "bob@example.com", AccountID: "acct-other", Role: store.RoleMember,
		PasswordHash: "$argon2id$y", CreatedAt: at(2)}
	if err := db.CreateUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	// The email is unique whatever its case; the account must exist.
	dup := &store.User{ID: "user-dup", Email: "ANN@example.com", AccountID: "acct-other", Role: store.RoleMember, PasswordHash: "h"}
	if err := db.CreateUser(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second ann@example.com: %v; want ErrConflict", err)
	}
	again := &store.User{ID: "user-ann", Email: "new@example.com", AccountID: "acct-other", Role: store.RoleMember, PasswordHash: "h"}
	if err := db.CreateUser(ctx, again); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second id user-ann: %v; want ErrConflict", err)
	}
	orphan := &store.User{ID: "user-x", Email: "x@example.com", AccountID: "acct-none", Role: store.RoleMember, PasswordHash: "h"}
	if err := db.CreateUser(ctx, orphan); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a user of no account: %v; want ErrNotFound", err)
	}

	got, err := db.GetUserByEmail(ctx, "ANN@EXAMPLE.com")
	if err != nil || got.ID != "user-ann" || got.Role != store.RoleOwner || got.PasswordHash != "$argon2id$x" || got.AccountID != store.DefaultAccountID {
		t.Fatalf("GetUserByEmail = %+v, %v", got, err)
	}
	if got, err := db.GetUser(ctx, "user-bob"); err != nil || got.Email != "bob@example.com" || got.Role != store.RoleMember || got.Disabled {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	if _, err := db.GetUser(ctx, "user-none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetUser of nobody: %v", err)
	}
	if _, err := db.GetUserByEmail(ctx, "none@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetUserByEmail of nobody: %v", err)
	}
	all, err := db.ListUsers(ctx, "")
	if err != nil || len(all) != 2 || all[0].ID != "user-ann" || all[1].ID != "user-bob" {
		t.Fatalf("ListUsers(all) = %+v, %v", all, err)
	}
	mine, err := db.ListUsers(ctx, "acct-other")
	if err != nil || len(mine) != 1 || mine[0].ID != "user-bob" {
		t.Fatalf("ListUsers(acct-other) = %+v, %v", mine, err)
	}

	bob.Email, bob.Role, bob.PasswordHash, bob.Disabled = "Robert@example.com", store.RoleOwner, "$argon2id$z", true
	if err := db.UpdateUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetUser(ctx, "user-bob"); err != nil || got.Email != "robert@example.com" || got.Role != store.RoleOwner ||
		got.PasswordHash != "$argon2id$z" || !got.Disabled {
		t.Fatalf("after UpdateUser: %+v, %v", got, err)
	}
	bob.Email = "ann@EXAMPLE.com"
	if err := db.UpdateUser(ctx, bob); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("UpdateUser to a taken email: %v; want ErrConflict", err)
	}
	if err := db.UpdateUser(ctx, &store.User{ID: "user-none", Email: "z@example.com", Role: store.RoleMember, PasswordHash: "h"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateUser of nobody: %v", err)
	}

	// Deleting a user ends their sessions, and only theirs.
	for _, s := range []store.Session{{IDHash: "s-ann", UserID: "user-ann"}, {IDHash: "s-bob", UserID: "user-bob"}} {
		s.CSRF, s.CreatedAt, s.SeenAt, s.ExpiresAt = "c", at(0), at(0), at(100)
		if err := db.CreateSession(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteUser(ctx, "user-ann"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, "user-ann"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := db.GetSession(ctx, "s-ann"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the deleted user's session: %v; want ErrNotFound", err)
	}
	if _, err := db.GetSession(ctx, "s-bob"); err != nil {
		t.Fatalf("another user's session: %v", err)
	}
	// The email is free again.
	if err := db.CreateUser(ctx, &store.User{ID: "user-ann2", Email: "ann@example.com", AccountID: "acct-other", Role: store.RoleMember, PasswordHash: "h"}); err != nil {
		t.Fatalf("re-using a deleted user's email: %v", err)
	}
}

func testSessionsStoreTouchRevokeAndPrune(t *testing.T, h *Harness) {
	db := h.open(t)
	ctx := context.Background()
	mk := func(id, user, key string, seen, expires int64) {
		t.Helper()
		s := &store.Session{IDHash: id, UserID: user, KeyHash: key, CSRF: "csrf-" + id, CreatedAt: at(0), SeenAt: at(seen), ExpiresAt: at(expires)}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	mk("a", "user-1", "", 10, 1000)
	mk("b", "user-1", "", 20, 1000)
	mk("c", "", "keyhash", 30, 1000)
	if err := db.CreateSession(ctx, &store.Session{IDHash: "a", CSRF: "x", CreatedAt: at(0), SeenAt: at(0), ExpiresAt: at(1)}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second session a: %v; want ErrConflict", err)
	}
	got, err := db.GetSession(ctx, "c")
	want := store.Session{IDHash: "c", KeyHash: "keyhash", CSRF: "csrf-c", CreatedAt: at(0), SeenAt: at(30), ExpiresAt: at(1000)}
	if err != nil || *got != want {
		t.Fatalf("GetSession = %+v, %v; want %+v", got, err, want)
	}
	if err := db.TouchSession(ctx, "a", at(50)); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetSession(ctx, "a"); err != nil || !got.SeenAt.Equal(at(50)) {
		t.Fatalf("after TouchSession: %+v, %v", got, err)
	}
	if err := db.TouchSession(ctx, "none", at(50)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchSession of none: %v", err)
	}
	if n, err := db.CountSessions(ctx); err != nil || n != 3 {
		t.Fatalf("CountSessions = %d, %v", n, err)
	}
	// The user's two sessions end together; the key's stays.
	if n, err := db.DeleteUserSessions(ctx, "user-1"); err != nil || n != 2 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 2", n, err)
	}
	if n, err := db.DeleteUserSessions(ctx, ""); err != nil || n != 0 {
		t.Fatalf("DeleteUserSessions(\"\") = %d, %v; want 0 (key sessions are nobody's)", n, err)
	}
	if err := db.DeleteSession(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSession(ctx, "c"); err != nil {
		t.Fatalf("deleting a gone session: %v", err)
	}
	if n, err := db.CountSessions(ctx); err != nil || n != 0 {
		t.Fatalf("CountSessions = %d, %v; want 0", n, err)
	}

	// Prune: expired (expires_at ≤ now), idle (seen ≤ idleSince), then the
	// least recently seen beyond max.
	mk("expired", "u", "", 90, 100)
	mk("idle", "u", "", 40, 1000)
	mk("old", "u", "", 60, 1000)
	mk("mid", "u", "", 70, 1000)
	mk("new", "u", "", 80, 1000)
	n, err := db.PruneSessions(ctx, at(100), at(50), 2)
	if err != nil || n != 3 {
		t.Fatalf("PruneSessions = %d, %v; want 3 (expired, idle, old)", n, err)
	}
	for id, live := range map[string]bool{"expired": false, "idle": false, "old": false, "mid": true, "new": true} {
		_, err := db.GetSession(ctx, id)
		if live != (err == nil) {
			t.Errorf("after PruneSessions, session %s: %v; want live %v", id, err, live)
		}
	}
}
