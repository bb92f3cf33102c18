package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func (g *gateway) admin(t *testing.T, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, g.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func chatErr(g *gateway, key, model string) error {
	_, err := g.client(option.WithAPIKey(key)).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model, Messages: userMsg("hi")})
	return err
}

func wantAPIError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var e *openai.Error
	if !errors.As(err, &e) || e.StatusCode != status || e.Code != code {
		t.Fatalf("err = %v, want %d %s", err, status, code)
	}
}

func TestKeyLifecycleThroughManagementAPI(t *testing.T) {
	g := start(t, opts{})
	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"alice"}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	key, _ := out["key"].(string)
	data, _ := out["data"].(map[string]any)
	hash, _ := data["hash"].(string)
	if !strings.HasPrefix(key, "sk-sy-") || len(hash) != 64 || data["name"] != "alice" || strings.Contains(data["label"].(string), key) {
		t.Fatalf("create response = %v", out)
	}
	// The new key works at once: the cache is written through.
	if err := chatErr(g, key, "gpt-4o"); err != nil {
		t.Fatal(err)
	}
	st, out = g.admin(t, "GET", "/api/v1/keys", g.AdminKey, "")
	if st != 200 || !strings.Contains(toJSON(out), hash) || strings.Contains(toJSON(out), key) {
		t.Fatalf("list: %d %v", st, out)
	}
	if st, _ = g.admin(t, "GET", "/api/v1/keys/"+hash, g.AdminKey, ""); st != 200 {
		t.Fatalf("get: %d", st)
	}
	if st, out = g.admin(t, "DELETE", "/api/v1/keys/"+hash, g.AdminKey, ""); st != 200 {
		t.Fatalf("delete: %d %v", st, out)
	}
	wantAPIError(t, chatErr(g, key, "gpt-4o"), 401, "invalid_api_key")
	if st, _ = g.admin(t, "DELETE", "/api/v1/keys/"+hash, g.AdminKey, ""); st != 404 {
		t.Fatalf("second delete: %d", st)
	}
}

func TestManagementAPIRefusesAPIKeysAndBadBodies(t *testing.T) {
	g := start(t, opts{})
	if st, out := g.admin(t, "GET", "/api/v1/keys", g.Key, ""); st != 403 {
		t.Fatalf("an API key listed keys: %d %v", st, out)
	}
	if st, _ := g.admin(t, "GET", "/api/v1/keys", "sk-sy-nope-nope-nope-nope", ""); st != 401 {
		t.Fatalf("unknown key: %d", st)
	}
	for _, body := range []string{`{"name":`, `{"nmae":"typo"}`, `{"limit":"lots"}`, `{"kind":"root"}`, `{"limit_reset":"hourly"}`, `{"key":"short"}`} {
		if st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, body); st != 400 {
			t.Fatalf("body %s: %d %v", body, st, out)
		}
	}
}

func TestImportedKeyWorks(t *testing.T) {
	g := start(t, opts{})
	legacy := "sk-legacy-customer-0001"
	if st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"migrated","key":"`+legacy+`"}`); st != 201 || out["key"] != legacy {
		t.Fatalf("import: %d %v", st, out)
	}
	if err := chatErr(g, legacy, "gpt-4o"); err != nil {
		t.Fatal(err)
	}
	if st, _ := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"key":"`+legacy+`"}`); st != 409 {
		t.Fatalf("duplicate import: %d", st)
	}
}

func TestKeyPolicies(t *testing.T) {
	g := start(t, opts{})
	mk := func(body string) string {
		st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, body)
		if st != 201 {
			t.Fatalf("create %s: %d %v", body, st, out)
		}
		return out["key"].(string)
	}
	disabled := mk(`{"disabled":true}`)
	expired := mk(`{"expires_at":"` + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + `"}`)
	limited := mk(`{"allowed_models":["gpt-4o","fake-*"]}`)
	mgmt := mk(`{"kind":"management"}`)

	wantAPIError(t, chatErr(g, disabled, "gpt-4o"), 403, "key_disabled")
	wantAPIError(t, chatErr(g, expired, "gpt-4o"), 403, "key_expired")
	wantAPIError(t, chatErr(g, limited, "glm-5"), 403, "model_not_allowed")
	if err := chatErr(g, limited, "fake-x"); err != nil {
		t.Fatalf("allowed by pattern: %v", err)
	}
	wantAPIError(t, chatErr(g, mgmt, "gpt-4o"), 403, "forbidden")
	// A management key manages its own account's keys only, and only API keys.
	if st, _ := g.admin(t, "POST", "/api/v1/keys", mgmt, `{"name":"child"}`); st != 201 {
		t.Fatalf("management key could not create an API key: %d", st)
	}
	if st, _ := g.admin(t, "POST", "/api/v1/keys", mgmt, `{"kind":"management"}`); st != 403 {
		t.Fatalf("management key created a management key: %d", st)
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
