package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
	"github.com/switchyard-gw/switchyard/internal/secretkey"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

func testKey(fill byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, secretkey.Size))
}

func keyID(t *testing.T, encoded string) string {
	t.Helper()
	k, err := secretkey.Parse(encoded)
	if err != nil {
		t.Fatal(err)
	}
	return k.ID()
}

// storedKeyIDs reads which secret key encrypts each stored provider key.
func storedKeyIDs(t *testing.T, dir string) map[string]string {
	t.Helper()
	st, err := sqlite.Open(context.Background(), "sqlite://"+filepath.Join(dir, "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all, err := st.CatalogEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range all {
		if e.Kind == store.EntryProvider {
			out[e.ID] = e.Key.KeyID
		}
	}
	return out
}

func call(t *testing.T, method, url, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
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

func TestSecretsRotateReencryptsProviderKeysAndTheGatewayKeepsRouting(t *testing.T) {
	const providerKey = "sk-provider-through-API-ROTATE-7777"
	up := fakeupstream.New(fakeupstream.Options{APIKey: providerKey})
	t.Cleanup(up.Close)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "switchyard.yaml", "providers:\n  - name: mock\n    type: mock\n")
	k1, k2, wrong := testKey(1), testKey(2), testKey(3)
	env := func(cur, old string) map[string]string {
		m := map[string]string{"SWITCHYARD_DATA": dir, "SWITCHYARD_SECRET_KEY": cur}
		if old != "" {
			m["SWITCHYARD_SECRET_KEY_OLD"] = old
		}
		return m
	}

	s := startServe(t, env(k1, ""), "--config", cfg)
	m := regexp.MustCompile(`admin key \(management API\):\s+(sk-sy-\S+)`).FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no admin key in the first start's output:\n%s", s.stdout.String())
	}
	adminKey := m[1]
	root := strings.TrimSuffix(s.base, "/v1")
	if code, body := call(t, "POST", root+"/api/v1/providers", adminKey,
		`{"name":"acme","type":"openai","base_url":"`+up.URL+`/v1","api_key":"`+providerKey+`"}`); code != 201 {
		t.Fatalf("create provider: %d %s", code, body)
	}
	if code, body := call(t, "POST", root+"/api/v1/catalog/models", adminKey, `{"id":"acme-chat","routes":[{"provider":"acme"}]}`); code != 201 {
		t.Fatalf("create model: %d %s", code, body)
	}
	// The upstream refuses any other key than the provider's.
	if code, body := call(t, "POST", s.base+"/chat/completions", createAPIKey(t, root, adminKey),
		`{"model":"acme-chat","messages":[{"role":"user","content":"hi"}]}`); code != 200 {
		t.Fatalf("chat before rotation: %d %s", code, body)
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	if got := storedKeyIDs(t, dir)["acme"]; got != keyID(t, k1) {
		t.Fatalf("stored under %q; want the first key %s", got, keyID(t, k1))
	}

	// A wrong old key changes nothing.
	code, _, stderr := runCLI(t, env(k2, wrong), "secrets", "rotate", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "nothing was changed") {
		t.Fatalf("rotate with a wrong old key: exit %d, %s", code, stderr)
	}
	if got := storedKeyIDs(t, dir)["acme"]; got != keyID(t, k1) {
		t.Fatalf("a failed rotation changed the key to %q", got)
	}
	code, stdout, stderr := runCLI(t, env(k2, k1), "secrets", "rotate", "--config", cfg)
	if code != 0 || !strings.Contains(stdout, "re-encrypted 1 provider key(s)") {
		t.Fatalf("rotate: exit %d, %s %s", code, stdout, stderr)
	}
	// Again: nothing left to do.
	code, stdout, _ = runCLI(t, env(k2, k1), "secrets", "rotate", "--config", cfg)
	if code != 0 || !strings.Contains(stdout, "re-encrypted 0 provider key(s)") || !strings.Contains(stdout, "1 already were") {
		t.Fatalf("second rotate: exit %d, %s", code, stdout)
	}
	if got := storedKeyIDs(t, dir)["acme"]; got != keyID(t, k2) {
		t.Fatalf("after rotation stored under %q; want %s", got, keyID(t, k2))
	}
	for _, out := range []string{stdout, stderr} {
		if strings.Contains(out, providerKey) || strings.Contains(out, k1) || strings.Contains(out, k2) {
			t.Fatal("rotate printed a secret")
		}
	}

	// The gateway, now with only the new key, opens the provider key and
	// the upstream gets it.
	up.Reset()
	s = startServe(t, env(k2, ""), "--config", cfg)
	key := createAPIKey(t, strings.TrimSuffix(s.base, "/v1"), adminKey)
	code, body := call(t, "POST", s.base+"/chat/completions", key, `{"model":"acme-chat","messages":[{"role":"user","content":"hi"}]}`)
	if code != 200 {
		t.Fatalf("chat after rotation: %d %s", code, body)
	}
	if got := up.Last().Header.Get("Authorization"); got != "Bearer "+providerKey {
		t.Fatalf("upstream got %q", got)
	}
	if strings.Contains(s.stderr.String(), providerKey) {
		t.Fatal("the gateway logged the provider key")
	}
}

// createAPIKey makes an API key through the management API.
func createAPIKey(t *testing.T, root, adminKey string) string {
	t.Helper()
	code, body := call(t, "POST", root+"/api/v1/keys", adminKey, `{"name":"rotate-test"}`)
	if code != 201 && code != 200 {
		t.Fatalf("create key: %d %s", code, body)
	}
	m := regexp.MustCompile(`"key":"(sk-sy-[^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no key in %s", body)
	}
	return m[1]
}
