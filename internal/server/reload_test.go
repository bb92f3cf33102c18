package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
	"github.com/switchyard-gw/switchyard/internal/testenv"
)

// simConfig serves "chat-a" from the built-in simulated model; its price
// and the simulated stream's pace are parameters, so tests can build two
// configs that answer alike but differ where a reload must show.
func simConfig(prompt, completion, chunkDelay string) string {
	return `
providers:
  - name: sim
    type: mock
    models: [sim-1]
    mock: { words: 6, chunk_delay: ` + chunkDelay + ` }
models:
  - id: chat-a
    pricing: { prompt: ` + prompt + `, completion: ` + completion + ` }
    routes: [{ provider: sim, model: sim-1 }]
`
}

func parse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml", config.MapEnv(nil))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

type testGateway struct {
	srv      *server.Server
	url      string
	key      string
	adminKey string
}

// startServer runs a gateway on cfg over a fresh SQLite store.
func startServer(t *testing.T, cfg *config.Config, o server.Options) *testGateway {
	t.Helper()
	return startServerWrapped(t, cfg, o, nil)
}

// startServerWrapped is startServer with the store wrapped by wrap (nil:
// as is), for tests that make the database fail.
func startServerWrapped(t *testing.T, cfg *config.Config, o server.Options, wrap func(admin.Store) admin.Store) *testGateway {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	adminKey, key, _, err := admin.Bootstrap(ctx, st, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	o.Store = st
	if wrap != nil {
		o.Store = wrap(st)
	}
	o.LedgerInterval = 10 * time.Millisecond
	srv, err := server.New(ctx, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	return &testGateway{srv: srv, url: hs.URL, key: key, adminKey: adminKey}
}

// chat sends a non-streaming chat request and returns the status and body.
func (g *testGateway) chat(t *testing.T, model string) (int, string) {
	t.Helper()
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"Hello there"}]}`
	req, _ := http.NewRequest(http.MethodPost, g.url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// cost is a successful answer's usage.cost.
func (g *testGateway) cost(t *testing.T, model string) float64 {
	t.Helper()
	status, body := g.chat(t, model)
	if status != http.StatusOK {
		t.Fatalf("%s: status %d: %s", model, status, body)
	}
	c := gjson.Get(body, "usage.cost")
	if !c.Exists() {
		t.Fatalf("%s: no usage.cost: %s", model, body)
	}
	return c.Float()
}

func TestReloadRejectsBadConfigAndKeepsServingTheOld(t *testing.T) {
	g := startServer(t, parse(t, simConfig("1.00", "2.00", "0s")), server.Options{})
	before := g.cost(t, "chat-a")

	// A config that does not validate: a route to an unknown provider.
	invalid := parse(t, simConfig("1.00", "2.00", "0s"))
	invalid.Models[0].Routes[0].Provider = "nowhere"
	err := g.srv.Reload(context.Background(), invalid)
	var ve *config.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "models[0].routes[0].provider") {
		t.Fatalf("Reload(invalid) = %v, want a ValidationError naming models[0].routes[0].provider", err)
	}

	if after := g.cost(t, "chat-a"); after != before {
		t.Errorf("cost after rejected reloads = %v, want the old config's %v", after, before)
	}
	if status, body := g.chat(t, "chat-b"); status != http.StatusNotFound {
		t.Errorf("chat-b from the rejected config: status %d, want 404: %s", status, body)
	}
}

func TestReloadRefusesSettingsThatNeedARestart(t *testing.T) {
	base := simConfig("1.00", "2.00", "0s")
	g := startServer(t, parse(t, base), server.Options{})
	before := g.cost(t, "chat-a")
	tests := []struct {
		name string
		edit func(c *config.Config)
		want string
	}{
		{name: "listen", edit: func(c *config.Config) { c.Server.Listen = "127.0.0.1:9999" },
			want: "server.listen cannot change on reload; restart to change it"},
		{name: "database", edit: func(c *config.Config) { c.Storage.Database = "sqlite://./other.db" },
			want: "storage.database cannot change on reload; restart to change it"},
		{name: "admin key", edit: func(c *config.Config) { c.Server.AdminKey = "sk-admin-new-0123456789" },
			want: "server.admin_key cannot change on reload"},
		{name: "tls", edit: func(c *config.Config) {
			dir := t.TempDir()
			c.Server.TLS = config.TLS{CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem")}
			testenv.SelfSigned(t, "x", c.Server.TLS.CertFile, c.Server.TLS.KeyFile)
		},
			want: "server.tls cannot change on reload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := parse(t, base)
			next.Models[0].Pricing.Prompt *= 10 // a change that alone would be applied
			tt.edit(next)
			err := g.srv.Reload(context.Background(), next)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Reload = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "sk-admin-new") || strings.Contains(err.Error(), "other.db") {
				t.Errorf("the error repeats a value that may be a credential: %v", err)
			}
		})
	}
	if after := g.cost(t, "chat-a"); after != before {
		t.Errorf("cost after refused reloads = %v, want the old config's %v", after, before)
	}
}

func TestReloadAddsCatalogueModelAtOnce(t *testing.T) {
	g := startServer(t, parse(t, simConfig("1.00", "2.00", "0s")), server.Options{})
	if status, _ := g.chat(t, "chat-new"); status != http.StatusNotFound {
		t.Fatalf("chat-new before the reload: status %d, want 404", status)
	}
	next := parse(t, simConfig("1.00", "2.00", "0s")+`
  - id: chat-new
    routes: [{ provider: sim, model: sim-1 }]
`)
	if err := g.srv.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	if status, body := g.chat(t, "chat-new"); status != http.StatusOK {
		t.Fatalf("chat-new after the reload: status %d: %s", status, body)
	}
	resp, err := http.Get(g.url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	list, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(list), `"id":"chat-new"`) {
		t.Errorf("GET /v1/models after the reload does not list chat-new: %s", list)
	}
}

func TestReloadChangesPrices(t *testing.T) {
	g := startServer(t, parse(t, simConfig("1.00", "2.00", "0s")), server.Options{})
	before := g.cost(t, "chat-a")
	if err := g.srv.Reload(context.Background(), parse(t, simConfig("10.00", "20.00", "0s"))); err != nil {
		t.Fatal(err)
	}
	after := g.cost(t, "chat-a")
	if before <= 0 || after != 10*before {
		t.Errorf("usage.cost before %v, after %v; want ten times as much after prices went up tenfold", before, after)
	}
}

func TestRequestInFlightFinishesOnTheConfigItStartedWith(t *testing.T) {
	g := startServer(t, parse(t, simConfig("1.00", "2.00", "20ms")), server.Options{})
	before := g.cost(t, "chat-a")

	body := `{"model":"chat-a","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello there"}]}`
	req, _ := http.NewRequest(http.MethodPost, g.url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	var events []string
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, data)
			if len(events) == 1 {
				// The stream has started: reload with prices ten times higher.
				if err := g.srv.Reload(context.Background(), parse(t, simConfig("10.00", "20.00", "0s"))); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(events) < 3 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream did not end with [DONE]: %q", events)
	}
	usage := gjson.Get(events[len(events)-2], "usage")
	if got := usage.Get("cost").Float(); got != before {
		t.Errorf("the in-flight stream cost %v (usage %s), want the old config's %v", got, usage.Raw, before)
	}
	if after := g.cost(t, "chat-a"); after != 10*before {
		t.Errorf("a request after the reload cost %v, want the new config's %v", after, 10*before)
	}
}

func TestReloadFromSourceRereadsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchyard.yaml")
	write := func(yaml string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(simConfig("1.00", "2.00", "0s"))
	cfg, err := config.Load(path, config.MapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	g := startServer(t, cfg, server.Options{ConfigPath: path, Env: config.MapEnv(nil)})
	before := g.cost(t, "chat-a")

	write(simConfig("1.00", "2.00", "0s") + "    unknown_key: 1\n")
	if _, err := g.srv.ReloadFromSource(context.Background()); err == nil || !strings.Contains(err.Error(), "unknown_key") {
		t.Fatalf("ReloadFromSource(unknown key) = %v, want the validation error naming it", err)
	}
	write(simConfig("3.00", "6.00", "0s"))
	res, err := g.srv.ReloadFromSource(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if *res != (server.ReloadResult{Reloaded: true, Source: path, Providers: 1, Models: 1}) {
		t.Errorf("result = %+v", *res)
	}
	if after := g.cost(t, "chat-a"); after != 3*before {
		t.Errorf("cost after reloading the file = %v, want %v", after, 3*before)
	}
}

func TestReloadFromSourceWithoutAFileRederivesFromTheEnvironment(t *testing.T) {
	env := config.MapEnv(nil) // no *_API_KEY: the zero-config mock
	cfg, err := config.Load("", env)
	if err != nil {
		t.Fatal(err)
	}
	g := startServer(t, cfg, server.Options{Env: env})
	res, err := g.srv.ReloadFromSource(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != config.DefaultsSource || res.Providers != 1 {
		t.Errorf("result = %+v, want the defaults with the one mock provider", *res)
	}
	if status, body := g.chat(t, "gpt-4o"); status != http.StatusOK {
		t.Errorf("after the reload: status %d: %s", status, body)
	}
}
