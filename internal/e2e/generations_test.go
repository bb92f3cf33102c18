package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// genConfig: "duo" is served by a and fails over to b; "solo" by a only.
const genConfig = `
providers:
  - { name: a, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}" }
  - { name: b, type: openai, base_url: "${FAKE_B_URL}/v1", api_key: "${FAKE_KEY}" }
models:
  - id: duo
    context_length: 64000
    pricing: { prompt: 1500, completion: 3000 }
    routes: [{ provider: a, model: up-duo, priority: 0 }, { provider: b, model: up-duo, priority: 1 }]
  - id: solo
    pricing: { prompt: 0.15, completion: 0.60 }
    routes: [{ provider: a, model: up-solo }]
`

// startGenerations starts a gateway on genConfig with its two upstreams.
func startGenerations(t *testing.T) (g *gateway, a *fakeupstream.Server) {
	t.Helper()
	a = fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	b := fakeupstream.New(fakeupstream.Options{APIKey: upstreamKey})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	return startWith(t, opts{yaml: genConfig, env: map[string]string{"FAKE_B_URL": b.URL}}, a.URL), a
}

// listGenerations calls GET /api/v1/generations?query as key.
func (g *gateway) listGenerations(t *testing.T, key, query string) admin.GenerationsPage {
	t.Helper()
	st, body := g.adminRaw(t, "GET", "/api/v1/generations?"+query, key, "")
	if st != 200 {
		t.Fatalf("GET /api/v1/generations?%s: %d %s", query, st, body)
	}
	var p admin.GenerationsPage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitListed polls the admin's listing until it holds n generations (the
// ledger writes in batches).
func (g *gateway) waitListed(t *testing.T, n int) []admin.GenerationObject {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := g.listGenerations(t, g.AdminKey, "limit=200")
		if len(p.Data) >= n {
			return p.Data
		}
		if time.Now().After(deadline) {
			t.Fatalf("the listing holds %d generations, want %d", len(p.Data), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ids(gs []admin.GenerationObject) []string {
	out := make([]string, len(gs))
	for i, x := range gs {
		out[i] = x.ID
	}
	return out
}

func TestGenerationsListingPagesFiltersAndScopesToTheAccount(t *testing.T) {
	g, a := startGenerations(t)
	acct, customer := g.newAccount(t, "100", "")
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"customer admin","kind":"management","account_id":"`+acct+`"}`)
	if st != 201 {
		t.Fatalf("create management key: %d %v", st, out)
	}
	customerMgmt := out["key"].(string)
	defaultMgmt := g.mgmtKey(t)

	chat := func(key, model string) error {
		_, err := g.client(option.WithAPIKey(key), option.WithHeader("X-Title", "GenTest")).Chat.Completions.New(context.Background(),
			openai.ChatCompletionNewParams{Model: model, Messages: userMsg("hi")})
		return err
	}
	for range 3 {
		if err := chat(g.Key, "solo"); err != nil {
			t.Fatal(err)
		}
	}
	a.Enqueue(fakeBehavior{Status: 503}) // duo fails over to b
	if err := chat(g.Key, "duo"); err != nil {
		t.Fatal(err)
	}
	a.Enqueue(fakeBehavior{Status: 503}) // solo has nowhere to go: an error
	if err := chat(g.Key, "solo"); err == nil {
		t.Fatal("solo with its only upstream failing succeeded")
	}
	for range 2 {
		if err := chat(customer, "solo"); err != nil {
			t.Fatal(err)
		}
	}
	if err := chat(g.AdminKey, "solo"); err != nil {
		t.Fatal(err)
	}
	all := g.waitListed(t, 8)
	if len(all) != 8 {
		t.Fatalf("listed %d generations, want 8", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].CreatedAt.After(all[i-1].CreatedAt) {
			t.Fatalf("not newest first: %s at %v after %s at %v", all[i].ID, all[i].CreatedAt, all[i-1].ID, all[i-1].CreatedAt)
		}
	}

	t.Run("pages of 3 walk every generation once", func(t *testing.T) {
		var walked []string
		q := "limit=3"
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatalf("more than 3 pages: %v", walked)
			}
			p := g.listGenerations(t, g.AdminKey, q)
			walked = append(walked, ids(p.Data)...)
			if p.NextCursor == nil {
				break
			}
			q = "limit=3&cursor=" + url.QueryEscape(*p.NextCursor)
		}
		if !slices.Equal(walked, ids(all)) {
			t.Errorf("paged through %v, want %v", walked, ids(all))
		}
	})
	t.Run("filters", func(t *testing.T) {
		for _, tt := range []struct {
			query string
			want  int
		}{
			{"model=duo", 1},
			{"model=solo", 7},
			{"provider=b", 1},
			{"status=error", 1},
			{"status=ok", 7},
			{"status=502", 1},
			{"status=upstream_error", 1},
			{"key=" + auth.Hash(customer), 2},
			{"account_id=" + acct, 2},
			{"app=GenTest", 8},
			{"app=Other", 0},
			{"from=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), 0},
			{"from=2000-01-01&to=2100-01-01", 8},
		} {
			if got := g.listGenerations(t, g.AdminKey, tt.query).Data; len(got) != tt.want {
				t.Errorf("?%s listed %d generations, want %d: %v", tt.query, len(got), tt.want, ids(got))
			}
		}
	})
	t.Run("the detail has every routing attempt", func(t *testing.T) {
		duo := g.listGenerations(t, g.AdminKey, "model=duo").Data[0]
		st, body := g.adminRaw(t, "GET", "/api/v1/generation?id="+duo.ID, g.AdminKey, "")
		if st != 200 {
			t.Fatalf("GET /generation: %d %s", st, body)
		}
		var got struct {
			Data struct {
				Provider string `json:"provider_name"`
				KeyLabel string `json:"key_label"`
				Attempts []struct {
					Provider string `json:"provider"`
					Outcome  string `json:"outcome"`
					Status   int    `json:"status"`
				} `json:"attempts"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		at := got.Data.Attempts
		if got.Data.Provider != "b" || len(at) != 2 || at[0].Provider != "a" || at[0].Outcome != "error" || at[0].Status != 503 ||
			at[1].Provider != "b" || at[1].Outcome != "ok" || got.Data.KeyLabel == "" {
			t.Errorf("the duo generation: %s", body)
		}
	})
	t.Run("a management key sees its own account only", func(t *testing.T) {
		mine := g.listGenerations(t, customerMgmt, "limit=200").Data
		if len(mine) != 2 {
			t.Fatalf("the customer's management key listed %v", ids(mine))
		}
		for _, x := range mine {
			if x.AccountID != acct || x.APIKeyHash != auth.Hash(customer) {
				t.Errorf("the customer's management key listed %s of key %s, account %s", x.ID, x.APIKeyHash, x.AccountID)
			}
		}
		if got := g.listGenerations(t, customerMgmt, "key="+auth.Hash(g.Key)).Data; len(got) != 0 {
			t.Errorf("another account's key filtered by the customer: %v", ids(got))
		}
		if st, body := g.adminRaw(t, "GET", "/api/v1/generations?account_id=acct-default", customerMgmt, ""); st != 404 || !strings.Contains(body, `"error"`) {
			t.Errorf("the customer asking for the default account: %d %s", st, body)
		}
		// The default account's management key sees the default API key's
		// five, not what the admin key did (it is stored in that account).
		def := g.listGenerations(t, defaultMgmt, "limit=200").Data
		if len(def) != 5 {
			t.Errorf("the default account's management key listed %d: %v", len(def), ids(def))
		}
		for _, x := range def {
			if x.APIKeyHash == auth.Hash(g.AdminKey) {
				t.Errorf("the default account's management key sees the admin key's %s", x.ID)
			}
		}
		if got := g.listGenerations(t, defaultMgmt, "key="+auth.Hash(g.AdminKey)).Data; len(got) != 0 {
			t.Errorf("the admin key's generations by key filter: %v", ids(got))
		}
	})
	t.Run("an API key may not list", func(t *testing.T) {
		if st, body := g.adminRaw(t, "GET", "/api/v1/generations", customer, ""); st < 400 || st >= 500 {
			t.Errorf("an API key listing: %d %s", st, body)
		}
	})
	t.Run("a management key reads the model list", func(t *testing.T) {
		st, body := g.adminRaw(t, "GET", "/api/v1/models", customerMgmt, "")
		if st != 200 || !strings.Contains(body, `"duo"`) {
			t.Errorf("GET /api/v1/models with a management key: %d %s", st, body)
		}
	})
}

func TestGenerationsListingRefusesBadParameters(t *testing.T) {
	g := start(t, opts{})
	for _, q := range []string{
		"limit=0", "limit=201", "limit=ten", "limit=-1", "limit=99999999999999999999",
		"cursor=not-a-cursor!", "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("12.nope")),
		"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("x.gen-1")),
		"status=maybe!", "status=" + strings.Repeat("a", 65),
		"key=not-a-hash", "from=yesterday", "to=2026-13-45",
		"model=" + strings.Repeat("m", 600),
	} {
		st, body := g.adminRaw(t, "GET", "/api/v1/generations?"+q, g.AdminKey, "")
		var env struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
		}
		if st != 400 || json.Unmarshal([]byte(body), &env) != nil || env.Error.Message == "" {
			t.Errorf("?%.60s: %d %s, want a 400 in the OpenAI error envelope", q, st, body)
		}
	}
}
