package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/store"
)

func TestKeysPageCreatesWithRateLimitsAndEditsAKey(t *testing.T) {
	g := newGateway(t)
	b := g.browser()
	b.signIn(t, g.adminKey)

	resp, page := b.post(t, "/console/keys", url.Values{"name": {"limited"}, "rpm": {"60"}, "tpm": {"100,000"}, "concurrency": {"4"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d\n%s", resp.StatusCode, page)
	}
	k := g.keyNamed(t, "limited")
	if k == nil || k.RateLimits == nil || k.RateLimits.RPM != 60 || k.RateLimits.TPM != 100000 || k.RateLimits.Concurrency != 4 {
		t.Fatalf("created %+v", k)
	}
	if !strings.Contains(page, "60 rpm") || !strings.Contains(page, "100,000 tpm") || !strings.Contains(page, `href="/console/keys/`+k.Hash+`"`) {
		t.Fatalf("the keys page does not show the limits or the edit link:\n%s", page)
	}
	// The API's own refusal of a rate limit is shown, the form kept.
	resp, page = b.post(t, "/console/keys", url.Values{"name": {"negative"}, "rpm": {"-1"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "rate_limits.rpm") || !strings.Contains(page, `value="negative"`) || g.keyNamed(t, "negative") != nil {
		t.Fatalf("a negative rpm: %d\n%s", resp.StatusCode, page)
	}

	// The edit view shows the key as it is.
	_, page = b.do(t, http.MethodGet, "/console/keys/"+k.Hash, nil)
	if !strings.Contains(page, `id="edit-key"`) || !strings.Contains(page, `name="rpm" value="60"`) || !strings.Contains(page, `name="name" value="limited"`) {
		t.Fatalf("edit view:\n%s", page)
	}
	edit := url.Values{"name": {"renamed"}, "limit": {"7.5"}, "limit_reset": {"daily"}, "expires": {"2031-01-02"}, "allowed_models": {"gpt-4o, gpt-4o-mini"}, "tpm": {"5000"}}
	resp, page = b.post(t, "/console/keys/"+k.Hash, edit)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", resp.StatusCode, page)
	}
	k = g.keyNamed(t, "renamed")
	if k == nil || k.Limit == nil || *k.Limit != 7_500_000_000 || k.LimitReset == nil || *k.LimitReset != "daily" || k.ExpiresAt == nil || k.ExpiresAt.Format("2006-01-02") != "2031-01-02" ||
		len(k.AllowedModels) != 2 || k.RateLimits == nil || k.RateLimits.RPM != 0 || k.RateLimits.TPM != 5000 {
		t.Fatalf("after the edit: %+v", k)
	}
	if _, page = b.do(t, http.MethodGet, resp.Header.Get("Location"), nil); !strings.Contains(page, "Saved.") {
		t.Fatalf("no confirmation after saving:\n%s", page)
	}
	// Empty fields clear (null): no limit, no reset, never expires, all models, no rate limits.
	resp, page = b.post(t, "/console/keys/"+k.Hash, url.Values{"name": {"renamed"}, "expires_was": {"2031-01-02"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("clear: %d\n%s", resp.StatusCode, page)
	}
	k = g.keyNamed(t, "renamed")
	if k.Limit != nil || k.LimitReset != nil || k.ExpiresAt != nil || len(k.AllowedModels) != 0 || k.RateLimits != nil {
		t.Fatalf("after clearing: %+v", k)
	}
	// The API's 400s are shown on the edit view with the form as typed.
	for _, c := range []struct{ field, value, says string }{
		{"limit", "-1", "limit&#39; must be a non-negative"},
		{"concurrency", "1.5", "whole number"},
		{"tpm", "99999999999999", "rate_limits.tpm"},
	} {
		resp, page = b.post(t, "/console/keys/"+k.Hash, url.Values{"name": {"renamed"}, c.field: {c.value}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, c.says) || !strings.Contains(page, `name="`+c.field+`" value="`+c.value+`"`) {
			t.Errorf("%s=%s: %d, want 400 saying %q\n%s", c.field, c.value, resp.StatusCode, c.says, page)
		}
	}
	if k2 := g.keyNamed(t, "renamed"); k2.Limit != nil || k2.RateLimits != nil {
		t.Fatalf("a refused edit changed the key: %+v", k2)
	}
}

func TestAdminFiltersKeysAndUsersByAccount(t *testing.T) {
	g := newGateway(t)
	tm := g.team(t, "team")
	g.createUser(t, g.adminKey, `{"email":"ann@example.com","password":"ann-password-1","account_id":"`+tm.id+`"}`)
	b := g.browser()
	b.signIn(t, g.adminKey)
	_, page := b.do(t, http.MethodGet, "/console/keys", nil)
	if !strings.Contains(page, `data-name="team-app"`) || !strings.Contains(page, `data-name="demo"`) || !strings.Contains(page, `<option value="`+tm.id+`"`) {
		t.Fatalf("the admin's keys page lists every account's keys and the accounts:\n%s", page)
	}
	_, page = b.do(t, http.MethodGet, "/console/keys?account="+tm.id, nil)
	if !strings.Contains(page, `data-name="team-app"`) || strings.Contains(page, `data-name="demo"`) || !strings.Contains(page, `value="`+tm.id+`" selected`) {
		t.Fatalf("filtered to %s:\n%s", tm.id, page)
	}
	// A key created on the filtered page is the account's.
	if resp, page := b.post(t, "/console/keys", url.Values{"name": {"team-made"}, "account": {tm.id}}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d\n%s", resp.StatusCode, page)
	}
	if k := g.keyNamed(t, "team-made"); k == nil || k.AccountID != tm.id {
		t.Fatalf("the key is in %+v", k)
	}
	_, page = b.do(t, http.MethodGet, "/console/users?account="+tm.id, nil)
	if !strings.Contains(page, `data-email="ann@example.com"`) || !strings.Contains(page, `id="create-user"`) {
		t.Fatalf("the admin's users page:\n%s", page)
	}
	if _, page = b.do(t, http.MethodGet, "/console/users?account=acct-default", nil); strings.Contains(page, `data-email="ann@example.com"`) {
		t.Fatalf("another account's filter lists ann:\n%s", page)
	}
}

func TestUsersPageCreatesWithAOneTimePasswordAndManagesUsers(t *testing.T) {
	g := newGateway(t)
	tm := g.team(t, "team")
	g.createUser(t, g.adminKey, `{"email":"owner@example.com","password":"owner-password","account_id":"`+tm.id+`","role":"owner"}`)
	owner := g.browser()
	owner.addr = "198.51.100.30"
	if resp, page := owner.signInUser(t, "owner@example.com", "owner-password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("owner sign-in: %d\n%s", resp.StatusCode, page)
	}
	_, page := owner.do(t, http.MethodGet, "/console/users", nil)
	if !strings.Contains(page, `data-email="owner@example.com"`) || !strings.Contains(page, `id="create-user"`) || strings.Contains(page, `name="account_id"`) {
		t.Fatalf("the owner's users page:\n%s", page)
	}
	resp, page := owner.post(t, "/console/users", url.Values{"email": {"Bob@Example.com"}, "role": {"member"}})
	if resp.StatusCode != http.StatusCreated || !strings.Contains(page, `id="new-password"`) || !strings.Contains(page, `data-copy="#new-password"`) {
		t.Fatalf("create: %d\n%s", resp.StatusCode, page)
	}
	pw := page[strings.Index(page, `id="new-password">`)+len(`id="new-password">`):]
	pw = pw[:strings.Index(pw, "<")]
	if len(pw) != 20 {
		t.Fatalf("one-time password %q", pw)
	}
	if resp, _ := g.browser().signInUser(t, "bob@example.com", pw); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the one-time password does not sign in: %d", resp.StatusCode)
	}
	if _, page = owner.do(t, http.MethodGet, "/console/users", nil); strings.Contains(page, pw) || !strings.Contains(page, `data-email="bob@example.com"`) {
		t.Fatalf("the password is shown again, or bob is missing:\n%s", page)
	}
	// The API's 400 is shown, the email kept.
	resp, page = owner.post(t, "/console/users", url.Values{"email": {"not an email"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "&#39;email&#39; must be") || !strings.Contains(page, `value="not an email"`) {
		t.Fatalf("a bad email: %d\n%s", resp.StatusCode, page)
	}
	resp, page = owner.post(t, "/console/users", url.Values{"email": {"carol@example.com"}, "password": {"short"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "at least 10") {
		t.Fatalf("a short password: %d\n%s", resp.StatusCode, page)
	}
	var bob userAnswer
	for _, u := range g.users(t, tm.id) {
		if u.Email == "bob@example.com" {
			bob.Data = u
		}
	}
	for _, step := range []struct {
		action string
		form   url.Values
		check  func() bool
	}{
		{"role", url.Values{"role": {"owner"}}, func() bool { return g.user(t, tm.id, bob.Data.ID).Role == "owner" }},
		{"disable", nil, func() bool { return g.user(t, tm.id, bob.Data.ID).Disabled }},
		{"enable", nil, func() bool { return !g.user(t, tm.id, bob.Data.ID).Disabled }},
		{"delete", nil, func() bool { return g.user(t, tm.id, bob.Data.ID).ID == "" }},
	} {
		if resp, page := owner.post(t, "/console/users/"+bob.Data.ID+"/"+step.action, step.form); resp.StatusCode != http.StatusSeeOther || !step.check() {
			t.Fatalf("%s: %d\n%s", step.action, resp.StatusCode, page)
		}
	}
	if resp, page := owner.post(t, "/console/users/"+bob.Data.ID+"/role", url.Values{"role": {"god"}}); resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "no user") {
		t.Fatalf("a deleted user's role: %d\n%s", resp.StatusCode, page)
	}
}

func TestMembersSeeNoControls(t *testing.T) {
	g := newGateway(t)
	tm := g.team(t, "team")
	g.createUser(t, g.adminKey, `{"email":"member@example.com","password":"member-password","account_id":"`+tm.id+`","role":"member"}`)
	member := g.browser()
	member.addr = "198.51.100.31"
	if resp, _ := member.signInUser(t, "member@example.com", "member-password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("member sign-in: %d", resp.StatusCode)
	}
	_, keys := member.do(t, http.MethodGet, "/console/keys", nil)
	k := g.keyNamed(t, "team-app")
	_, detail := member.do(t, http.MethodGet, "/console/keys/"+k.Hash, nil)
	_, users := member.do(t, http.MethodGet, "/console/users", nil)
	if !strings.Contains(keys, `data-name="team-app"`) || !strings.Contains(users, `data-email="member@example.com"`) || !strings.Contains(detail, `name="name" value="team-app"`) {
		t.Fatalf("the member sees no data:\n%s\n%s\n%s", keys, users, detail)
	}
	for name, page := range map[string]string{"keys": keys, "key": detail, "users": users} {
		for _, control := range []string{`id="create-key"`, `/disable"`, `/enable"`, `/delete"`, `>Save<`, `id="create-user"`, `/role"`, `<option value="">all accounts`} {
			if strings.Contains(page, control) {
				t.Errorf("the member's %s page offers %s", name, control)
			}
		}
	}
	if !strings.Contains(detail, "<fieldset class=\"plain\" disabled>") {
		t.Errorf("the member's key view is not read-only:\n%s", detail)
	}
	// The owner (and a management key) see the controls.
	mgmt := g.browser()
	mgmt.signIn(t, tm.mgmt)
	if _, page := mgmt.do(t, http.MethodGet, "/console/keys", nil); !strings.Contains(page, `id="create-key"`) || !strings.Contains(page, `/disable"`) {
		t.Fatalf("the management key's keys page has no controls:\n%s", page)
	}
	if _, page := mgmt.do(t, http.MethodGet, "/console/users", nil); !strings.Contains(page, `id="create-user"`) || !strings.Contains(page, `/role"`) {
		t.Fatalf("the management key's users page has no controls:\n%s", page)
	}
}

func TestKeyViewShowsItsLeakReport(t *testing.T) {
	g := newGateway(t)
	ctx := context.Background()
	k := g.keyNamed(t, "demo")
	stored, err := g.st.GetKey(ctx, k.Hash)
	if err != nil {
		t.Fatal(err)
	}
	stored.Disabled = true
	stored.Leak = &store.LeakReport{At: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), URL: "https://github.com/example/repo/blob/main/.env", Source: "content"}
	if err := g.st.UpdateKey(ctx, stored); err != nil {
		t.Fatal(err)
	}
	b := g.browser()
	b.signIn(t, g.adminKey)
	_, list := b.do(t, http.MethodGet, "/console/keys", nil)
	if !strings.Contains(list, `class="leaked" href="/console/keys/`+k.Hash+`">leaked 2026-03-04T05:06:07Z`) {
		t.Fatalf("the keys page does not flag the leak:\n%s", list)
	}
	_, page := b.do(t, http.MethodGet, "/console/keys/"+k.Hash, nil)
	if !strings.Contains(page, "reported leaked") || !strings.Contains(page, "https://github.com/example/repo/blob/main/.env") || !strings.Contains(page, "(content)") {
		t.Fatalf("the key view has no leak report:\n%s", page)
	}
	if resp, _ := b.do(t, http.MethodGet, "/console/keys/no-such-hash", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown key's view: %d", resp.StatusCode)
	}
}
