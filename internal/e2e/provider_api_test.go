package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/cluster"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
	"github.com/switchyard-gw/switchyard/internal/server"
)

// catalogConfig has one file provider and one model, and no pattern that
// would catch the API's model names.
const catalogConfig = `
providers:
  - name: fake
    type: openai
    base_url: ${FAKE_URL}/v1
    api_key: ${FAKE_KEY}
models:
  - id: gpt-4o
    routes: [{ provider: fake }]
`

// testSecretKey is 32 bytes in base64, as SWITCHYARD_SECRET_KEY takes it.
var testSecretKey = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

const (
	apiProviderKey1 = "sk-added-through-API-FIRST-4242"
	apiProviderKey2 = "sk-added-through-API-SECOND-9898"
)

// bodies keeps every management answer, to check none holds a key.
type bodies []string

func (b *bodies) call(t *testing.T, g *gateway, method, path, body string, want int) string {
	t.Helper()
	code, got := g.adminRaw(t, method, path, g.AdminKey, body)
	*b = append(*b, got)
	if code != want {
		t.Fatalf("%s %s = %d %s; want %d", method, path, code, got, want)
	}
	return got
}

func chatStatus(t *testing.T, g *gateway, url, model string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/chat/completions",
		strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+g.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_ = readAll(t, resp.Body)
	return resp.StatusCode
}

func TestProvidersAddedThroughTheAPIServeAtOnceWithTheirKeyNeverShown(t *testing.T) {
	g := start(t, opts{yaml: catalogConfig, env: map[string]string{"SWITCHYARD_SECRET_KEY": testSecretKey}})
	up := fakeupstream.New(fakeupstream.Options{})
	t.Cleanup(up.Close)
	var seen bodies

	// A second instance on the same database, which learns of changes
	// through the cluster notice's handler.
	cfg2, err := config.Parse([]byte(catalogConfig), "e2e.yaml", config.MapEnv(map[string]string{
		"FAKE_URL": g.Up.URL, "FAKE_KEY": upstreamKey, "SWITCHYARD_SECRET_KEY": testSecretKey}))
	if err != nil {
		t.Fatal(err)
	}
	srv2, err := server.New(context.Background(), cfg2, server.Options{Store: g.Store, LedgerInterval: 20 * time.Millisecond, Estimator: counter})
	if err != nil {
		t.Fatal(err)
	}
	hs2 := httptest.NewServer(srv2)
	t.Cleanup(hs2.Close)
	t.Cleanup(func() { _ = srv2.Close(context.Background()) })

	created := seen.call(t, g, "POST", "/api/v1/providers",
		`{"name":"acme","type":"openai","base_url":"`+up.URL+`/v1","api_key":"`+apiProviderKey1+`","timeout":"30s"}`, 201)
	if !strings.Contains(created, `"api_key_set":true`) || !strings.Contains(created, `"source":"api"`) {
		t.Errorf("created = %s", created)
	}
	seen.call(t, g, "POST", "/api/v1/catalog/models", `{"id":"acme-chat","routes":[{"provider":"acme","model":"up-model"}]}`, 201)

	if code := chatStatus(t, g, g.URL, "acme-chat"); code != 200 {
		t.Fatalf("chat to the API's model = %d", code)
	}
	last := up.Last()
	if got := last.Header.Get("Authorization"); got != "Bearer "+apiProviderKey1 {
		t.Fatalf("upstream got Authorization %q; want the key given through the API", got)
	}
	if !strings.Contains(string(last.Body), `"up-model"`) {
		t.Errorf("upstream body %s; want the route's model", last.Body)
	}
	// The other instance has not heard yet; the notice's handler reloads
	// it from the store.
	if code := chatStatus(t, g, hs2.URL, "acme-chat"); code != 404 {
		t.Errorf("second instance before the notice = %d; want 404", code)
	}
	srv2.Apply(context.Background(), cluster.Catalog)
	if code := chatStatus(t, g, hs2.URL, "acme-chat"); code != 200 {
		t.Fatalf("second instance after the notice = %d", code)
	}

	got := seen.call(t, g, "GET", "/api/v1/providers/acme", "", 200)
	if !strings.Contains(got, `"api_key_set":true`) || !strings.Contains(got, `"timeout":"30s"`) {
		t.Errorf("GET = %s", got)
	}

	// A new key is used by the next request, without a restart.
	seen.call(t, g, "PATCH", "/api/v1/providers/acme", `{"api_key":"`+apiProviderKey2+`"}`, 200)
	if code := chatStatus(t, g, g.URL, "acme-chat"); code != 200 {
		t.Fatalf("chat after PATCH = %d", code)
	}
	if got := up.Last().Header.Get("Authorization"); got != "Bearer "+apiProviderKey2 {
		t.Fatalf("after PATCH upstream got %q; want the new key", got)
	}
	srv2.Apply(context.Background(), cluster.Catalog)
	if code := chatStatus(t, g, hs2.URL, "acme-chat"); code != 200 || up.Last().Header.Get("Authorization") != "Bearer "+apiProviderKey2 {
		t.Fatalf("second instance after PATCH: %d, %q", code, up.Last().Header.Get("Authorization"))
	}

	// Validated like the file: a bad base URL names the entry.
	bad := seen.call(t, g, "PATCH", "/api/v1/providers/acme", `{"base_url":"ftp://x"}`, 400)
	if !strings.Contains(bad, `provider \"acme\".base_url`) {
		t.Errorf("bad base_url = %s", bad)
	}
	seen.call(t, g, "POST", "/api/v1/providers", `{"name":"acme","type":"openai","base_url":"`+up.URL+`/v1"}`, 409)
	seen.call(t, g, "POST", "/api/v1/providers", `{"name":"x","type":"openai","nonsense":1}`, 400)
	// A provider a model routes to cannot go first.
	seen.call(t, g, "DELETE", "/api/v1/providers/acme", "", 409)

	// The config file's entries are read-only.
	for _, c := range []struct{ method, path, body string }{
		{"PATCH", "/api/v1/providers/fake", `{"timeout":"5s"}`},
		{"DELETE", "/api/v1/providers/fake", ""},
		{"POST", "/api/v1/providers", `{"name":"fake","type":"openai","base_url":"http://127.0.0.1:1/v1"}`},
		{"DELETE", "/api/v1/catalog/models/gpt-4o", ""},
	} {
		if got := seen.call(t, g, c.method, c.path, c.body, 409); !strings.Contains(got, "e2e.yaml") {
			t.Errorf("%s %s = %s; want the file named", c.method, c.path, got)
		}
	}
	file := seen.call(t, g, "GET", "/api/v1/providers/fake", "", 200)
	if !strings.Contains(file, `"source":"file"`) || strings.Contains(file, upstreamKey) {
		t.Errorf("GET file provider = %s", file)
	}
	list := seen.call(t, g, "GET", "/api/v1/catalog/models", "", 200)
	if !strings.Contains(list, `"acme-chat"`) || !strings.Contains(list, `"gpt-4o"`) {
		t.Errorf("model list = %s", list)
	}

	// Deleted: the model is gone at once.
	seen.call(t, g, "DELETE", "/api/v1/catalog/models/acme-chat", "", 200)
	if code := chatStatus(t, g, g.URL, "acme-chat"); code != 404 {
		t.Errorf("chat after DELETE = %d; want 404", code)
	}
	seen.call(t, g, "DELETE", "/api/v1/providers/acme", "", 200)
	seen.call(t, g, "GET", "/api/v1/providers/acme", "", 404)
	// The audit log has every change, and no key.
	var actions []string
	for _, e := range g.audit(t, g.AdminKey, "?target=acme").Data {
		actions = append(actions, e.Action)
		seen = append(seen, string(e.Before), string(e.After))
	}
	if len(actions) < 3 || actions[0] != "DELETE /api/v1/providers/{route}" || actions[len(actions)-1] != "POST /api/v1/providers" {
		t.Errorf("audit entries of provider acme, newest first: %v", actions)
	}

	for _, key := range []string{apiProviderKey1, apiProviderKey2, testSecretKey} {
		for _, b := range seen {
			if strings.Contains(b, key) {
				t.Fatalf("a response holds a secret: %s", b)
			}
		}
		if strings.Contains(g.Logs.String(), key) {
			t.Fatalf("the log holds a secret")
		}
		for _, f := range []string{g.DBPath, g.DBPath + "-wal"} {
			b, err := os.ReadFile(f)
			if err == nil && bytes.Contains(b, []byte(key)) {
				t.Fatalf("%s holds a provider key in clear", f)
			}
		}
	}
}

func TestProviderKeyRefusedWithoutASecretKeySaysHowToSetOne(t *testing.T) {
	g := start(t, opts{yaml: catalogConfig})
	up := fakeupstream.New(fakeupstream.Options{})
	t.Cleanup(up.Close)
	var seen bodies
	got := seen.call(t, g, "POST", "/api/v1/providers",
		`{"name":"acme","type":"openai","base_url":"`+up.URL+`/v1","api_key":"`+apiProviderKey1+`"}`, 400)
	if !strings.Contains(got, "SWITCHYARD_SECRET_KEY") || !strings.Contains(got, "secret_key_file") || strings.Contains(got, apiProviderKey1) {
		t.Errorf("no secret key = %s", got)
	}
	seen.call(t, g, "GET", "/api/v1/providers/acme", "", 404)
	// Without a key (a local server) it is stored.
	seen.call(t, g, "POST", "/api/v1/providers", `{"name":"acme","type":"openai","base_url":"`+up.URL+`/v1"}`, 201)
	// Other keys than the admin key are refused.
	if code, _ := g.adminRaw(t, "POST", "/api/v1/providers", g.Key, `{"name":"b","type":"mock"}`); code != 403 && code != 401 {
		t.Errorf("an API key created a provider: %d", code)
	}
}
