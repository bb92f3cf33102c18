// Package e2e drives the whole gateway over real HTTP: official SDKs as the
// client, the in-repo fake upstream as the provider, both on loopback.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/postgres"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
	"github.com/switchyard-gw/switchyard/internal/tokens"
)

// counter is shared: its encodings load once per process.
var counter = tokens.New()

// upstreamKey is the provider credential the gateway holds; tests check it
// reaches the upstream and never the client, and the client's never upstream.
const upstreamKey = "sk-upstream-SECRET-0123456789"

// gateway is a running Switchyard in front of one fake provider.
type gateway struct {
	URL      string // http://127.0.0.1:PORT
	Key      string // an API key
	AdminKey string
	Up       *fakeupstream.Server
	Logs     *syncBuffer
	Store    admin.Store
	DBPath   string // the SQLite file; "" on PostgreSQL
	srv      *server.Server
}

// flush writes every queued ledger record, as a graceful shutdown does.
func (g *gateway) flush(t testing.TB) {
	t.Helper()
	if err := g.srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// baseConfig routes the catalogue to the fake provider named "fake":
// gpt-4o (priced, aliased), any "fake-*" by pattern, everything else by "*".
const baseConfig = `
server:
  sse_keepalive: ${KEEPALIVE:-15s}
  max_body_bytes: 1048576
  access_log: ${ACCESS_LOG:-on}
providers:
  - name: fake
    type: openai
    base_url: ${FAKE_URL}/v1
    api_key: ${FAKE_KEY}
    timeout: ${FAKE_TIMEOUT:-10s}
    models: [fake-listed]
    pricing: { prompt: 1.00, completion: 2.00 }   # default for names without a catalogue price
models:
  - id: gpt-4o
    aliases: ["openai/gpt-4o"]
    context_length: 128000
    pricing: { prompt: 2.50, completion: 10.00, cached_prompt: 1.25 }
    routes:
      - { provider: fake, model: gpt-4o-2024-08-06 }
  - id: "fake-*"
    routes: [{ provider: fake }]
  - id: "*"
    routes: [{ provider: fake }]
`

type opts struct {
	env  map[string]string
	yaml string
	up   fakeupstream.Options
	now  func() time.Time // the gateway's clock; nil is time.Now
	// database is a postgres:// URL to store in; "" is a fresh SQLite file.
	database string
}

func start(t *testing.T, o opts) *gateway {
	t.Helper()
	if o.up.APIKey == "" {
		o.up.APIKey = upstreamKey
	}
	up := fakeupstream.New(o.up)
	t.Cleanup(up.Close)
	g := startWith(t, o, up.URL)
	g.Up = up
	return g
}

// startWith starts a gateway whose provider "fake" is at upURL.
func startWith(t testing.TB, o opts, upURL string) *gateway {
	t.Helper()
	env := map[string]string{"FAKE_URL": upURL, "FAKE_KEY": upstreamKey}
	for k, v := range o.env {
		env[k] = v
	}
	y := o.yaml
	if y == "" {
		y = baseConfig
	}
	cfg, err := config.Parse([]byte(y), "e2e.yaml", config.MapEnv(env))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx := context.Background()
	var (
		st     admin.Store
		dbPath string
	)
	if o.database != "" {
		st, err = postgres.Open(ctx, o.database)
	} else {
		dbPath = t.TempDir() + "/e2e.db"
		st, err = sqlite.Open(ctx, "sqlite://"+dbPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	adminKey, key, _, err := admin.Bootstrap(ctx, st, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	_, logs.discard = t.(*testing.B)
	log := slog.New(slog.NewJSONHandler(logs, nil))
	srv, err := server.New(ctx, cfg, server.Options{Store: st, Log: log, AccessLog: logs, LedgerInterval: 20 * time.Millisecond, Estimator: counter, Now: o.now})
	if err != nil {
		t.Fatal(err)
	}
	// The server and listener serve.go runs: its timeouts and connection caps.
	hs := httptest.NewUnstartedServer(srv)
	hs.Config = srv.HTTPServer(nil)
	hs.Listener = srv.Listener(hs.Listener)
	hs.Start()
	t.Cleanup(hs.Close)
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	return &gateway{URL: hs.URL, Key: key, AdminKey: adminKey, Logs: logs, Store: st, DBPath: dbPath, srv: srv}
}

// client is the official OpenAI Go SDK pointed at the gateway, with its
// automatic retries off so each test sees exactly one attempt.
func (g *gateway) client(extra ...option.RequestOption) *openai.Client {
	o := append([]option.RequestOption{
		option.WithBaseURL(g.URL + "/v1"),
		option.WithAPIKey(g.Key),
		option.WithMaxRetries(0),
	}, extra...)
	c := openai.NewClient(o...)
	return &c
}

// post sends a raw request; the caller closes the body.
func (g *gateway) post(t *testing.T, path, key, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// syncBuffer collects logs written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
	// discard formats but keeps nothing: benchmarks run millions of
	// requests, and a growing buffer's copying would be measured as the
	// gateway's cost.
	discard bool
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.discard {
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

type (
	fakeOpts     = fakeupstream.Options
	fakeBehavior = fakeupstream.Behavior
)

func storeUsageQuery(acct string) store.UsageQuery {
	return store.UsageQuery{AccountID: acct, GroupBy: "model"}
}

// wireToolCall is an OpenAI tool call as tests read it from a body.
type wireToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}
