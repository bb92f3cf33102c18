package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// adminRaw sends a management request and returns the status and the body
// as sent, for assertions on exact JSON numbers.
func (g *gateway) adminRaw(t *testing.T, method, path, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, g.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mgmtKey creates a management key in the default account, as an operator
// hands one to a team.
func (g *gateway) mgmtKey(t *testing.T) string {
	t.Helper()
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"team admin","kind":"management"}`)
	if st != 201 {
		t.Fatalf("create management key: %d %v", st, out)
	}
	return out["key"].(string)
}

func TestKeyLimitWrittenInExponentFormIsStoredExactly(t *testing.T) {
	g := start(t, opts{})
	// Python's json.dumps({"limit": 0.000001}) writes 1e-06.
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"py","limit":1e-06}`)
	if st != 201 {
		t.Fatalf("create with limit 1e-06: %d %v", st, out)
	}
	hash := out["data"].(map[string]any)["hash"].(string)
	st, body := g.adminRaw(t, "GET", "/api/v1/keys/"+hash, g.AdminKey, "")
	if st != 200 || !strings.Contains(body, `"limit":0.000001,`) {
		t.Fatalf("read back: %d %s; want \"limit\":0.000001", st, body)
	}
	// PATCH takes the same forms.
	st, body = g.adminRaw(t, "PATCH", "/api/v1/keys/"+hash, g.AdminKey, `{"limit":2.5E+1}`)
	if st != 200 || !strings.Contains(body, `"limit":25,`) {
		t.Fatalf("patch limit 2.5E+1: %d %s; want \"limit\":25", st, body)
	}
	// Below a nano-dollar is still refused, with the reason.
	st, body = g.adminRaw(t, "POST", "/api/v1/keys", g.AdminKey, `{"limit":1e-10}`)
	if st != 400 || !strings.Contains(body, "9 decimal places") {
		t.Fatalf("limit 1e-10: %d %s; want 400 naming the 9 decimal places", st, body)
	}
	st, body = g.adminRaw(t, "POST", "/api/v1/keys", g.AdminKey, `{"limit":1e999999999}`)
	if st != 400 || !strings.Contains(body, "too large") {
		t.Fatalf("limit 1e999999999: %d %s; want 400 too large", st, body)
	}
}

func TestManagementKeyCannotSeeOrChangeTheAdminKey(t *testing.T) {
	g := start(t, opts{})
	mgmt := g.mgmtKey(t)
	adminHash := auth.Hash(g.AdminKey)

	st, body := g.adminRaw(t, "GET", "/api/v1/keys", mgmt, "")
	if st != 200 || strings.Contains(body, adminHash) || strings.Contains(body, `"kind":"admin"`) {
		t.Fatalf("management key's list: %d %s; the admin key must not be in it", st, body)
	}
	for _, c := range []struct{ method, body string }{
		{method: "GET"},
		{method: "PATCH", body: `{"disabled":true}`},
		{method: "PATCH", body: `{"expires_at":"2000-01-01T00:00:00Z"}`},
		{method: "DELETE"},
	} {
		if st, body := g.adminRaw(t, c.method, "/api/v1/keys/"+adminHash, mgmt, c.body); st != 404 {
			t.Fatalf("%s of the admin key by a management key: %d %s; want 404 as if absent", c.method, st, body)
		}
	}
	// What the admin key did is not the management key's to read either.
	resp := g.post(t, "/v1/chat/completions", g.AdminKey, `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	gen := resp.Header.Get("X-Generation-Id")
	resp.Body.Close()
	if st, body := g.adminRaw(t, "GET", "/api/v1/generation?id="+gen, mgmt, ""); gen == "" || st != 404 {
		t.Fatalf("the admin key's generation %q read by a management key: %d %s; want 404", gen, st, body)
	}
	if st, body := g.adminRaw(t, "GET", "/api/v1/generation?id="+gen, g.AdminKey, ""); st != 200 {
		t.Fatalf("the admin reading its own generation: %d %s", st, body)
	}
	// The admin is not locked out and still sees its own key.
	st, body = g.adminRaw(t, "GET", "/api/v1/keys", g.AdminKey, "")
	if st != 200 || !strings.Contains(body, adminHash) {
		t.Fatalf("admin's list after the attempts: %d %s", st, body)
	}
	if st, body := g.adminRaw(t, "GET", "/api/v1/keys/"+adminHash, g.AdminKey, ""); st != 200 || !strings.Contains(body, `"disabled":false`) {
		t.Fatalf("admin key after the attempts: %d %s", st, body)
	}
}

func TestDisabledKeyCannotReadItsOwnEndpoints(t *testing.T) {
	g := start(t, opts{})
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"soon off"}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	key, hash := out["key"].(string), out["data"].(map[string]any)["hash"].(string)
	resp := g.post(t, "/v1/chat/completions", key, `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	gen := resp.Header.Get("X-Generation-Id")
	resp.Body.Close()
	if resp.StatusCode != 200 || gen == "" {
		t.Fatalf("chat: %d, generation %q", resp.StatusCode, gen)
	}
	paths := []string{"/api/v1/key", "/api/v1/credits", "/api/v1/generation?id=" + gen}
	for _, p := range paths {
		if st, body := g.adminRaw(t, "GET", p, key, ""); st != 200 {
			t.Fatalf("GET %s while enabled: %d %s", p, st, body)
		}
	}
	if st, body := g.adminRaw(t, "PATCH", "/api/v1/keys/"+hash, g.AdminKey, `{"disabled":true}`); st != 200 {
		t.Fatalf("disable: %d %s", st, body)
	}
	for _, p := range paths {
		st, body := g.adminRaw(t, "GET", p, key, "")
		if st != 403 || !strings.Contains(body, `"code":"key_disabled"`) {
			t.Fatalf("GET %s with a disabled key: %d %s; want 403 key_disabled", p, st, body)
		}
	}
}

func TestWeakImportedKeysAreRefused(t *testing.T) {
	g := start(t, opts{})
	for _, c := range []struct{ key, mention string }{
		{key: "password", mention: "16 to 256"},
		{key: "passwordpassword", mention: "too easy to guess"},
		{key: "1234567812345678", mention: "too easy to guess"},
	} {
		st, body := g.adminRaw(t, "POST", "/api/v1/keys", g.AdminKey, `{"key":"`+c.key+`"}`)
		if st != 400 || !strings.Contains(body, c.mention) {
			t.Fatalf("import %q: %d %s; want 400 mentioning %q", c.key, st, body, c.mention)
		}
	}
}

// cliKey stores a key as `switchyard keys create` does: straight into the
// database, unseen by the running gateway's key cache until its refresh
// (which this harness does not run).
func (g *gateway) cliKey(t *testing.T, req admin.CreateKeyRequest) *store.Key {
	t.Helper()
	k, _, err := admin.NewKey(req, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Store.CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestManagementKeyCannotDeleteAnotherAccountsKeyTheCacheHasNotSeen(t *testing.T) {
	g := start(t, opts{})
	acct, _ := g.newAccount(t, "5", "")
	mgmt := g.mgmtKey(t) // of the default account
	other := g.cliKey(t, admin.CreateKeyRequest{Name: "other customer's", AccountID: acct})

	for _, method := range []string{"DELETE", "PATCH", "GET"} {
		body := ""
		if method == "PATCH" {
			body = `{"disabled":true}`
		}
		if st, out := g.adminRaw(t, method, "/api/v1/keys/"+other.Hash, mgmt, body); st != 404 {
			t.Fatalf("%s of another account's key by a management key: %d %s; want 404", method, st, out)
		}
	}
	k, err := g.Store.GetKey(context.Background(), other.Hash)
	if err != nil || k.Disabled {
		t.Fatalf("the other account's key after the attempts: %+v, %v; want it live and enabled", k, err)
	}
	// Its own account's admin can act on it at once.
	if st, out := g.adminRaw(t, "DELETE", "/api/v1/keys/"+other.Hash, g.AdminKey, ""); st != 200 {
		t.Fatalf("admin delete: %d %s", st, out)
	}
	if _, err := g.Store.GetKey(context.Background(), other.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after the admin's delete: %v", err)
	}
}

func TestPatchDoesNotUndoAChangeTheCacheHasNotSeen(t *testing.T) {
	g := start(t, opts{})
	mgmt := g.mgmtKey(t)
	st, out := g.admin(t, "POST", "/api/v1/keys", mgmt, `{"name":"worker"}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	hash := out["data"].(map[string]any)["hash"].(string)
	// `switchyard keys disable HASH` writes the store directly.
	ctx := context.Background()
	k, err := g.Store.GetKey(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	k.Disabled = true
	if err := g.Store.UpdateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	// A rename through the API must not write the cache's stale
	// "disabled": false back over it.
	if st, body := g.adminRaw(t, "PATCH", "/api/v1/keys/"+hash, mgmt, `{"name":"renamed"}`); st != 200 || !strings.Contains(body, `"disabled":true`) {
		t.Fatalf("rename: %d %s; want the key still disabled", st, body)
	}
	if k, err := g.Store.GetKey(ctx, hash); err != nil || !k.Disabled || k.Name != "renamed" {
		t.Fatalf("stored key after the rename: %+v, %v", k, err)
	}
}
