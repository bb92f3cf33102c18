package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// reloadPrices are the two price lists the reload tests switch between,
// USD per 1M prompt and completion tokens of gpt-4o.
var reloadPrices = [2][2]float64{{2.50, 10.00}, {5.00, 20.00}}

// reloadConfig is config v (0 or 1) of the reload tests: gpt-4o at
// reloadPrices[v], and in v1 also the catalogue model reload-extra. There
// is no catch-all pattern, so reload-extra is unknown under v0.
func reloadConfig(v int) string {
	y := fmt.Sprintf(`
providers:
  - name: fake
    type: openai
    base_url: ${FAKE_URL}/v1
    api_key: ${FAKE_KEY}
models:
  - id: gpt-4o
    pricing: { prompt: %.2f, completion: %.2f }
    routes: [{ provider: fake, model: gpt-4o-2024-08-06 }]
`, reloadPrices[v][0], reloadPrices[v][1])
	if v == 1 {
		y += `  - id: reload-extra
    routes: [{ provider: fake }]
`
	}
	return y
}

// fileGateway is a gateway started from a config file, as `switchyard serve
// --config` starts one, so that POST /admin/reload has a file to re-read.
type fileGateway struct {
	*gateway
	path string
}

// write replaces the config file the way an editor that saves atomically
// does, so a reload never reads half a file.
func (g *fileGateway) write(t testing.TB, yaml string) {
	t.Helper()
	tmp := g.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, g.path); err != nil {
		t.Fatal(err)
	}
}

// reload asks the gateway to re-read its file, as an operator would.
func (g *fileGateway) reload(t testing.TB, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/v1/admin/reload", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
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

// startFromFile is startWith for a config file: the harness parses YAML
// from memory, which leaves the server nothing to re-read.
func startFromFile(t *testing.T, yaml string, up fakeupstream.Options) *fileGateway {
	t.Helper()
	if up.APIKey == "" {
		up.APIKey = upstreamKey
	}
	fake := fakeupstream.New(up)
	t.Cleanup(fake.Close)
	env := config.MapEnv(map[string]string{"FAKE_URL": fake.URL, "FAKE_KEY": upstreamKey})
	dir := t.TempDir()
	g := &fileGateway{path: filepath.Join(dir, "switchyard.yaml")}
	g.write(t, yaml)
	cfg, err := config.Load(g.path, env)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx := context.Background()
	dbPath := filepath.Join(dir, "e2e.db")
	st, err := sqlite.Open(ctx, "sqlite://"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	adminKey, key, _, err := admin.Bootstrap(ctx, st, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := server.New(ctx, cfg, server.Options{
		Store: st, Log: slog.New(slog.NewJSONHandler(logs, nil)), LedgerInterval: 20 * time.Millisecond,
		Estimator: counter, ConfigPath: g.path, Env: env,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	g.gateway = &gateway{URL: hs.URL, Key: key, AdminKey: adminKey, Up: fake, Logs: logs, Store: st, DBPath: dbPath, srv: srv}
	return g
}

// answer is what a client made of one chat request.
type answer struct {
	status       int
	body         string // whole body, for messages
	complete     bool   // a stream ended with a finish_reason and [DONE]; a JSON answer parsed
	finishReason string
	usage        gjson.Result
}

// chatOnce sends one chat request for model and reads the answer to its end.
func chatOnce(c *http.Client, url, key, model string, stream bool) (answer, error) {
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"Tell me about reloading"}]}`
	if stream {
		body = `{"model":"` + model + `","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Tell me about reloading"}]}`
	}
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	if !stream || resp.StatusCode != http.StatusOK {
		b, err := io.ReadAll(resp.Body)
		a.body = string(b)
		if err != nil {
			return a, err
		}
		if gjson.Valid(a.body) {
			a.complete = true
			a.finishReason = gjson.Get(a.body, "choices.0.finish_reason").String()
			a.usage = gjson.Get(a.body, "usage")
		}
		return a, nil
	}
	var all strings.Builder
	var last string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		all.WriteString(line + "\n")
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		last = data
		if data == "[DONE]" {
			continue
		}
		if fr := gjson.Get(data, "choices.0.finish_reason"); fr.Type == gjson.String {
			a.finishReason = fr.Str
		}
		if u := gjson.Get(data, "usage"); u.IsObject() {
			a.usage = u
		}
	}
	a.body = all.String()
	a.complete = last == "[DONE]" && a.finishReason != ""
	return a, sc.Err()
}

// pricedBy reports which of reloadPrices a gpt-4o answer's usage.cost was
// computed with, or -1 for neither: a request priced by a mix of two
// configs, or not at all, matches neither.
func pricedBy(usage gjson.Result) int {
	prompt, completion := usage.Get("prompt_tokens").Float(), usage.Get("completion_tokens").Float()
	cost := usage.Get("cost")
	if !cost.Exists() || prompt+completion == 0 {
		return -1
	}
	for v, p := range reloadPrices {
		want := (prompt*p[0] + completion*p[1]) / 1e6
		if math.Abs(cost.Float()-want) < 1e-12 {
			return v
		}
	}
	return -1
}

func TestReloadUnderLoadDropsNoRequest(t *testing.T) {
	const (
		clients  = 8
		perEach  = 50 // 400 requests in all
		reloads  = 20
		requests = clients * perEach
	)
	// Streams take ~12 chunks × 5ms, so at any moment several are in the
	// middle of their answer when a reload swaps the config.
	g := startFromFile(t, reloadConfig(0), fakeupstream.Options{Default: fakeupstream.Behavior{ChunkDelay: 5 * time.Millisecond, Words: 12}})
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer hc.CloseIdleConnections()

	var (
		done       atomic.Int64 // requests answered
		generation atomic.Int64 // reloads completed
		straddled  atomic.Int64 // requests that were in flight across a reload
		mu         sync.Mutex
		failures   []string
		pricedWith [2]int
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range perEach {
				stream := (c+i)%2 == 0
				gen := generation.Load()
				a, err := chatOnce(hc, g.URL, g.Key, "gpt-4o", stream)
				if generation.Load() != gen {
					straddled.Add(1)
				}
				done.Add(1)
				switch v := pricedBy(a.usage); {
				case err != nil:
					fail("client %d request %d (stream %v): %v", c, i, stream, err)
				case a.status != http.StatusOK || !a.complete:
					fail("client %d request %d (stream %v): status %d, complete %v:\n%s", c, i, stream, a.status, a.complete, a.body)
				case a.finishReason != "stop" && a.finishReason != "length":
					fail("client %d request %d (stream %v): finish_reason %q:\n%s", c, i, stream, a.finishReason, a.body)
				case v < 0:
					fail("client %d request %d (stream %v): usage %s is priced by neither config", c, i, stream, a.usage.Raw)
				default:
					mu.Lock()
					pricedWith[v]++
					mu.Unlock()
				}
			}
		})
	}

	// Reload at even steps through the load, so every reload lands while
	// requests are in flight, alternating the two configs: v0 (the file
	// unchanged) first, v1 last, so the end state differs from the start.
	for n := 1; n <= reloads; n++ {
		for done.Load() < int64(n*requests/(reloads+2)) {
			time.Sleep(time.Millisecond)
		}
		g.write(t, reloadConfig((n+1)%2))
		if status, body := g.reload(t, g.AdminKey); status != http.StatusOK {
			t.Fatalf("reload %d: status %d: %s", n, status, body)
		}
		generation.Add(1)
	}
	if d := done.Load(); d >= requests {
		t.Fatalf("the load ended (%d requests) before the last reload; the test reloaded under no load", d)
	}
	wg.Wait()

	for _, f := range failures {
		t.Error(f)
	}
	if got := done.Load(); got != requests {
		t.Fatalf("%d requests answered, want %d", got, requests)
	}
	if n := len(g.Up.Requests()); n != requests {
		t.Errorf("the upstream saw %d requests, want %d: a request was retried or lost", n, requests)
	}
	if straddled.Load() == 0 {
		t.Error("no request was in flight across a reload")
	}
	if pricedWith[0] == 0 || pricedWith[1] == 0 {
		t.Errorf("answers priced by v0: %d, by v1: %d; want both configs in effect during the run", pricedWith[0], pricedWith[1])
	}
	t.Logf("%d requests, %d in flight across a reload, priced by v0: %d, by v1: %d", requests, straddled.Load(), pricedWith[0], pricedWith[1])

	// The last reload put v1 in effect: its prices and its extra model.
	for _, stream := range []bool{false, true} {
		a, err := chatOnce(hc, g.URL, g.Key, "gpt-4o", stream)
		if err != nil || a.status != http.StatusOK || pricedBy(a.usage) != 1 {
			t.Errorf("after the last reload (stream %v): err %v, status %d, usage %s; want v1's prices", stream, err, a.status, a.usage.Raw)
		}
	}
	if a, err := chatOnce(hc, g.URL, g.Key, "reload-extra", false); err != nil || a.status != http.StatusOK {
		t.Errorf("reload-extra after the last reload: err %v, status %d: %s", err, a.status, a.body)
	}
	if logs := g.Logs.String(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("the gateway logged errors:\n%s", logs)
	}
}

func TestAdminReloadOverHTTP(t *testing.T) {
	g := startFromFile(t, reloadConfig(0), fakeupstream.Options{})
	st, out := g.admin(t, http.MethodPost, "/api/v1/keys", g.AdminKey, `{"kind":"management"}`)
	if st != http.StatusCreated {
		t.Fatalf("creating a management key: %d %v", st, out)
	}
	mgmt := out["key"].(string)
	wantV0 := func(when string) {
		t.Helper()
		a, err := chatOnce(http.DefaultClient, g.URL, g.Key, "gpt-4o", false)
		if err != nil || a.status != http.StatusOK || pricedBy(a.usage) != 0 {
			t.Fatalf("%s: err %v, status %d, usage %s; want the old config's prices", when, err, a.status, a.usage.Raw)
		}
		if a, _ := chatOnce(http.DefaultClient, g.URL, g.Key, "reload-extra", false); a.status != http.StatusNotFound {
			t.Fatalf("%s: reload-extra status %d, want 404 under the old config", when, a.status)
		}
	}

	t.Run("only the admin key may reload", func(t *testing.T) {
		g.write(t, reloadConfig(1))
		for _, c := range []struct {
			name, key string
			status    int
		}{
			{name: "no key", key: "", status: http.StatusUnauthorized},
			{name: "API key", key: g.Key, status: http.StatusForbidden},
			{name: "management key", key: mgmt, status: http.StatusForbidden},
		} {
			if status, body := g.reload(t, c.key); status != c.status {
				t.Errorf("%s: status %d, want %d: %s", c.name, status, c.status, body)
			}
		}
		wantV0("after refused callers")
	})

	t.Run("a bad file is rejected with every problem and the old config stays", func(t *testing.T) {
		g.write(t, reloadConfig(1)+"    colour: blue\n  - id: orphan\n    routes: [{ provider: nowhere }]\n")
		status, body := g.reload(t, g.AdminKey)
		if status != http.StatusBadRequest || gjson.Get(body, "error.code").Str != "invalid_config" {
			t.Fatalf("status %d, body %s; want 400 invalid_config", status, body)
		}
		msg := gjson.Get(body, "error.message").Str
		for _, want := range []string{g.path, "models[1].colour", "models[2].routes[0].provider"} {
			if !strings.Contains(msg, want) {
				t.Errorf("the message does not name %q:\n%s", want, msg)
			}
		}
		wantV0("after a bad file")
	})

	t.Run("a change of server.listen is refused", func(t *testing.T) {
		g.write(t, "server: { listen: \"127.0.0.1:1\" }\n"+reloadConfig(1))
		status, body := g.reload(t, g.AdminKey)
		if status != http.StatusBadRequest || !strings.Contains(gjson.Get(body, "error.message").Str, "server.listen cannot change on reload; restart to change it") {
			t.Fatalf("status %d, body %s; want 400 naming server.listen", status, body)
		}
		wantV0("after a refused listen change")
	})

	t.Run("a good file takes effect", func(t *testing.T) {
		g.write(t, reloadConfig(1))
		status, body := g.reload(t, g.AdminKey)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		want := fmt.Sprintf(`{"data":{"reloaded":true,"source":%q,"providers":1,"models":2}}`, g.path)
		if strings.TrimSpace(body) != want {
			t.Errorf("body %s, want %s", body, want)
		}
		if a, _ := chatOnce(http.DefaultClient, g.URL, g.Key, "reload-extra", false); a.status != http.StatusOK {
			t.Errorf("reload-extra after the reload: status %d: %s", a.status, a.body)
		}
		st, _ := g.admin(t, http.MethodGet, "/api/v1/admin/reload", g.AdminKey, "")
		if st != http.StatusMethodNotAllowed {
			t.Errorf("GET /admin/reload: status %d, want 405", st)
		}
	})
}
