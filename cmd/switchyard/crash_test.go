//go:build unix

package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
)

// These tests run the real binary as a separate process and stop it the two
// ways production does: SIGTERM (deploys, `docker stop`) and SIGKILL (OOM
// killer, power loss as far as the process can tell). They check the
// ledger's durability contract (internal/ledger's package comment) from the
// outside: what a client was told against what the database holds.

// crashConfig sends every model to the built-in mock, priced, so that every
// answered request costs money. The mock's latency keeps requests in flight
// long enough for a signal to land among them.
const crashConfig = `
providers:
  - name: mock
    type: mock
    mock: { latency: 5ms, chunk_delay: 2ms }
models:
  - id: gpt-4o
    pricing: { prompt: 2.50, completion: 10.00 }
    routes: [{ provider: mock }]
  - id: "*"
    pricing: { prompt: 1.00, completion: 2.00 }
    routes: [{ provider: mock }]
`

const (
	// crashClients is how many clients send requests at once.
	crashClients = 8
	// ledgerInterval is the ledger writer's batch interval in `serve`
	// (ledger.Options' default; serve does not change it).
	ledgerInterval = 200 * time.Millisecond
)

func TestLedgerSurvivesSIGTERMAndSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the switchyard binary")
	}
	bin := buildSwitchyardBinary(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "crash.yaml")
	if err := os.WriteFile(cfgPath, []byte(crashConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * crashClients}, Timeout: 10 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)

	// First start: it prints the keys. An account with $100 and a key in it.
	g := startGatewayProcess(t, bin, dir, cfgPath)
	adminKey, demoKey := firstStartKey(t, g, "admin key (management API)"), firstStartKey(t, g, "demo API key")
	if demoKey == "" || adminKey == "" {
		t.Fatalf("the first start printed no keys:\n%s", g.stdout())
	}
	st, out := adminCall(t, hc, "POST", g.root+"/api/v1/accounts", adminKey, `{"name": "crash", "credits": 100}`)
	acct, _ := out["id"].(string)
	if st != http.StatusCreated || acct == "" {
		t.Fatalf("create account: %d %v", st, out)
	}
	st, out = adminCall(t, hc, "POST", g.root+"/api/v1/keys", adminKey, `{"name": "crash", "account_id": "`+acct+`"}`)
	key, _ := out["key"].(string)
	keyHash, _ := out["hash"].(string)
	if st != http.StatusCreated || key == "" || keyHash == "" {
		t.Fatalf("create key: %d %v", st, out)
	}

	var first *loadTally
	t.Run("SIGTERM loses nothing", func(t *testing.T) {
		first = sigtermUnderLoad(t, g, hc, key)
		ls := readLedgerState(t, dir, acct, keyHash)
		ls.checkConsistent(t)
		stored := ls.checkStored(t, first.ok, first.partial)
		if len(stored) != len(first.ok)+len(first.partial) {
			t.Fatalf("%d of %d generations the clients got an id for are not in the database after a graceful shutdown",
				len(first.ok)+len(first.partial)-len(stored), len(first.ok)+len(first.partial))
		}
		// Every generation of the account is one the clients know of, so
		// their stored costs add up to the spend exactly.
		var sum money.Nanos
		for _, g := range stored {
			sum += g.Cost
		}
		if ls.generations != int64(len(stored)) || sum != ls.spent {
			t.Fatalf("the account has %d generations costing %s; the clients know %d costing %s",
				ls.generations, ls.spent, len(stored), sum)
		}
	})
	if first == nil || t.Failed() {
		return
	}

	t.Run("SIGKILL loses at most the last batch and corrupts nothing", func(t *testing.T) {
		g := startGatewayProcess(t, bin, dir, cfgPath)
		if strings.Contains(g.stdout(), "sk-sy-") {
			t.Fatalf("a start on an existing database printed keys:\n%s", g.stdout())
		}
		load := sigkillUnderLoad(t, g, hc, key)

		// Restart on what the crash left: no first start, the same key works,
		// and the balances it loads are the persisted ones.
		g = startGatewayProcess(t, bin, dir, cfgPath)
		if strings.Contains(g.stdout(), "sk-sy-") {
			t.Fatalf("the restart after SIGKILL printed keys, as a first start does:\n%s", g.stdout())
		}
		if st, _ := adminCall(t, hc, "GET", g.root+"/healthz", "", ""); st != http.StatusOK {
			t.Fatalf("GET /healthz after the restart: %d", st)
		}
		_, out := adminCall(t, hc, "GET", g.root+"/api/v1/accounts/"+acct, adminKey, "")
		usage, _ := out["usage"].(json.Number)
		loaded, err := money.ParseUSD(usage.String())
		if err != nil {
			t.Fatalf("account after the restart: %v (%v)", out, err)
		}
		after := sendChat(context.Background(), hc, g.base, key, 0)
		if !after.complete || after.cost <= 0 {
			t.Fatalf("chat with the same key after the restart: %+v", after)
		}
		g.stop(t, syscall.SIGTERM)

		ls := readLedgerState(t, dir, acct, keyHash)
		ls.checkConsistent(t)
		if ls.spent != loaded+after.cost {
			t.Errorf("the restarted gateway loaded a spend of %s; the database says %s before its one request of %s",
				loaded, ls.spent-after.cost, after.cost)
		}
		if got := ls.checkStored(t, first.ok, nil); len(got) != len(first.ok) {
			t.Errorf("records of the first run went missing after the crash: %d of %d left", len(got), len(first.ok))
		}
		if _, err := ls.st.GetGeneration(context.Background(), after.id); err != nil {
			t.Errorf("the request after the restart was not recorded: %v", err)
		}

		stored := ls.checkStored(t, load.ok, nil)
		// The contract: a crash loses at most the records of the last batch
		// interval (200ms), and the batch being written. The bounds allow a
		// whole second (five intervals), because the writer's timer and the
		// flush itself run late on a loaded CI machine; what they rule out
		// is losing a batch that had committed, or records waiting
		// unwritten for seconds. The load runs 1.5s before the kill so that
		// a second's worth is not all of it.
		const window = time.Second
		var lost int
		var oldest time.Duration // how long before the kill the oldest lost answer arrived
		for id := range load.ok {
			if stored[id] == nil {
				lost++
				oldest = max(oldest, load.killedAt.Sub(load.at[id]))
			}
		}
		rate := float64(load.beforeKill) / load.untilKill.Seconds()
		bound := int(math.Ceil(rate * window.Seconds()))
		t.Logf("SIGKILL after %v of load: %d requests answered before the kill (%.0f/s), %d in all; %d lost (bound %d), the oldest answered %v before the kill (bound %v); batch interval %v; %d streams cut by the kill",
			load.untilKill.Round(time.Millisecond), load.beforeKill, rate, len(load.ok), lost, bound, oldest.Round(time.Millisecond), window, ledgerInterval, len(load.partial))
		if load.beforeKill == 0 {
			t.Fatal("no request succeeded before the kill: the test measured nothing")
		}
		if lost > bound || oldest > window {
			t.Fatalf("SIGKILL lost %d answered generations, the oldest answered %v before the kill; at %.0f requests/s, %v of load is %d",
				lost, oldest.Round(time.Millisecond), rate, window, bound)
		}
		checkIntegrity(t, ls)
	})
}

// sigtermUnderLoad sends 300 requests from 8 clients and sends SIGTERM while
// the last ones are in flight; the gateway must drain them and exit 0.
func sigtermUnderLoad(t *testing.T, g *gatewayProcess, hc *http.Client, key string) *loadTally {
	const total = 300
	tally := newLoadTally()
	var termAt atomic.Int64 // unix nanos when SIGTERM was sent
	var drained atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range crashClients {
		wg.Go(func() {
			for i := range jobs {
				started := time.Now().UnixNano()
				o := sendChat(context.Background(), hc, g.base, key, i)
				tally.add(o)
				if at := termAt.Load(); o.complete && at != 0 && started < at {
					drained.Add(1)
				}
			}
		})
	}
	for i := range total {
		if i == total-crashClients {
			termAt.Store(time.Now().UnixNano())
			if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if code := g.wait(t); code != 0 {
		t.Fatalf("SIGTERM: exit %d, want 0:\n%s", code, g.stderrTail())
	}
	if !strings.Contains(g.stderrText(), `"msg":"stopped"`) {
		t.Errorf("no \"stopped\" log line after SIGTERM:\n%s", g.stderrTail())
	}
	t.Logf("SIGTERM: %d of %d requests answered, %d of them in flight when the signal was sent; %d refused after it",
		len(tally.ok), total, drained.Load(), tally.failed)
	if len(tally.ok) < total-2*crashClients {
		t.Fatalf("only %d of %d requests succeeded (%d failed)", len(tally.ok), total, tally.failed)
	}
	if drained.Load() == 0 {
		t.Fatal("no request was in flight when SIGTERM was sent: the test did not test draining")
	}
	return tally
}

// killedLoad is what the clients saw of a load cut by SIGKILL.
type killedLoad struct {
	*loadTally
	killedAt   time.Time
	untilKill  time.Duration // from the start of the load to the kill
	beforeKill int           // requests answered before it
}

// sigkillUnderLoad runs 8 clients for up to 2s and kills the gateway after 1.5s.
func sigkillUnderLoad(t *testing.T, g *gatewayProcess, hc *http.Client, key string) killedLoad {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tally := newLoadTally()
	var killed atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	var n atomic.Int64
	for range crashClients {
		wg.Go(func() {
			for ctx.Err() == nil && !killed.Load() {
				tally.add(sendChat(ctx, hc, g.base, key, int(n.Add(1))))
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	tally.mu.Lock()
	beforeKill := len(tally.ok)
	tally.mu.Unlock()
	killed.Store(true)
	killedAt := time.Now()
	untilKill := killedAt.Sub(start)
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	g.wait(t)
	if ws, ok := g.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the gateway was not killed by SIGKILL: %v", g.cmd.ProcessState)
	}
	return killedLoad{loadTally: tally, killedAt: killedAt, untilKill: untilKill, beforeKill: beforeKill}
}

// buildSwitchyardBinary builds cmd/switchyard (without -race, whatever the
// test runs with, to keep the build quick).
func buildSwitchyardBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed to build the binary: %v", err)
		}
		t.Skipf("the go command is not on PATH (%v); this test builds the switchyard binary", err)
	}
	gomod, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		t.Fatalf("finding the module root with `go env GOMOD`: %q %v", gomod, err)
	}
	bin := filepath.Join(t.TempDir(), "switchyard")
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/switchyard")
	build.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/switchyard: %v\n%s", err, out)
	}
	return bin
}

// gatewayProcess is `switchyard serve` running as a child process. Its
// stdout and stderr go to files, so that what it printed before a log line
// is in the file by the time the line is.
type gatewayProcess struct {
	cmd                 *exec.Cmd
	base                string // http://127.0.0.1:PORT/v1
	root                string // http://127.0.0.1:PORT
	stdoutPath, errPath string
	exited              chan struct{}
}

// startGatewayProcess starts serve on the data directory dir and waits until
// it logs that it listens. The kernel picks the port (--listen
// 127.0.0.1:0), so no other process can take it between choice and use.
func startGatewayProcess(t *testing.T, bin, dir, cfgPath string) *gatewayProcess {
	t.Helper()
	logs := t.TempDir()
	g := &gatewayProcess{stdoutPath: filepath.Join(logs, "stdout"), errPath: filepath.Join(logs, "stderr"), exited: make(chan struct{})}
	stdout, err := os.Create(g.stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(g.errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	g.cmd = exec.Command(bin, "serve", "--config", cfgPath, "--listen", "127.0.0.1:0")
	// Only what the test chooses: no provider key of the developer's
	// environment may add a real provider.
	g.cmd.Env = []string{"SWITCHYARD_DATA=" + dir, "PATH=" + os.Getenv("PATH")}
	if tmp, ok := os.LookupEnv("TMPDIR"); ok {
		g.cmd.Env = append(g.cmd.Env, "TMPDIR="+tmp)
	}
	g.cmd.Stdout, g.cmd.Stderr = stdout, stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = g.cmd.Wait()
		close(g.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-g.exited:
		default:
			_ = g.cmd.Process.Kill()
			<-g.exited
		}
		if t.Failed() {
			t.Logf("gateway log (%s):\n%s", g.errPath, g.stderrTail())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, line := range strings.Split(g.stderrText(), "\n") {
			var rec struct {
				Msg     string `json:"msg"`
				BaseURL string `json:"base_url"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "switchyard listening" {
				g.base = rec.BaseURL
				g.root = strings.TrimSuffix(rec.BaseURL, "/v1")
				return g
			}
		}
		select {
		case <-g.exited:
			t.Fatalf("serve exited (%v) before listening:\n%s", g.cmd.ProcessState, g.stderrTail())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not log \"switchyard listening\" within 15s:\n%s", g.stderrTail())
		}
	}
}

func (g *gatewayProcess) stdout() string {
	b, _ := os.ReadFile(g.stdoutPath)
	return string(b)
}

func (g *gatewayProcess) stderrText() string {
	b, _ := os.ReadFile(g.errPath)
	return string(b)
}

// stderrTail is the end of the log, without the per-request lines.
func (g *gatewayProcess) stderrTail() string {
	var keep []string
	for _, l := range strings.Split(g.stderrText(), "\n") {
		if !strings.Contains(l, `"msg":"generation"`) {
			keep = append(keep, l)
		}
	}
	if len(keep) > 40 {
		keep = keep[len(keep)-40:]
	}
	return strings.Join(keep, "\n")
}

// wait waits for the process to exit and returns its exit code (-1 when a
// signal ended it).
func (g *gatewayProcess) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-g.exited:
		return g.cmd.ProcessState.ExitCode()
	case <-time.After(20 * time.Second):
		t.Fatalf("the gateway did not exit within 20s:\n%s", g.stderrTail())
		return 0
	}
}

// stop sends sig and expects exit code 0.
func (g *gatewayProcess) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if code := g.wait(t); code != 0 {
		t.Fatalf("%v: exit %d, want 0:\n%s", sig, code, g.stderrTail())
	}
}

// firstStartKey reads one of the keys the first start prints.
func firstStartKey(t *testing.T, g *gatewayProcess, label string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(label) + `:\s+(sk-sy-v1-[A-Za-z0-9]{49})`).FindStringSubmatch(g.stdout())
	if m == nil {
		return ""
	}
	return m[1]
}

// adminCall sends a management request and returns the status and the
// response's "data" with the body's other fields (or the whole body when
// there is no "data"); numbers are json.Number.
func adminCall(t *testing.T, hc *http.Client, method, url, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber() // amounts stay exact
	_ = dec.Decode(&out)
	if d, ok := out["data"].(map[string]any); ok {
		for k, v := range out {
			if k != "data" {
				d[k] = v
			}
		}
		return resp.StatusCode, d
	}
	return resp.StatusCode, out
}

// chatOutcome is what one client learned from one request.
type chatOutcome struct {
	id       string      // the generation id, from the body or the stream's chunks
	cost     money.Nanos // usage.cost
	status   int
	complete bool // the whole answer arrived: the JSON body, or a stream up to [DONE]
	err      error
}

// sendChat sends request i: every third one is a non-streaming gpt-4o
// request, the others stream, and every fourth asks for another model, which
// the "*" entry routes and prices.
func sendChat(ctx context.Context, hc *http.Client, base, key string, i int) chatOutcome {
	model, stream := "gpt-4o", i%3 != 0
	if i%4 == 3 {
		model = "mock-any"
	}
	body := fmt.Sprintf(`{"model": %q, "stream": %v, "messages": [{"role": "user", "content": "request %d"}]}`, model, stream, i)
	resp, err := postChat(ctx, hc, base, key, body)
	if err != nil {
		return chatOutcome{err: err}
	}
	defer resp.Body.Close()
	o := chatOutcome{status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return o
	}
	type usage struct {
		Cost money.Nanos `json:"cost"`
	}
	if !stream {
		var c struct {
			ID    string `json:"id"`
			Usage *usage `json:"usage"`
		}
		if o.err = json.NewDecoder(resp.Body).Decode(&c); o.err == nil && c.Usage != nil {
			o.id, o.cost, o.complete = c.ID, c.Usage.Cost, c.ID != ""
		}
		return o
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			o.complete = o.id != ""
			return o
		}
		var c struct {
			ID    string `json:"id"`
			Usage *usage `json:"usage"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			o.err = err
			return o
		}
		if o.id == "" {
			o.id = c.ID
		}
		if c.Usage != nil {
			o.cost = c.Usage.Cost
		}
	}
	o.err = sc.Err()
	if o.err == nil {
		o.err = io.ErrUnexpectedEOF
	}
	return o
}

// postChat sends a chat completions request with key.
func postChat(ctx context.Context, hc *http.Client, base, key, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/chat/completions", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	return hc.Do(req)
}

// loadTally collects the outcomes of many clients.
type loadTally struct {
	mu      sync.Mutex
	ok      map[string]money.Nanos // complete 200 answers: generation id → the cost the client was told
	at      map[string]time.Time   // when each of ok arrived
	partial map[string]bool        // 200 answers cut short after their id arrived
	failed  int                    // refused, failed, or not 200
}

func newLoadTally() *loadTally {
	return &loadTally{ok: map[string]money.Nanos{}, at: map[string]time.Time{}, partial: map[string]bool{}}
}

func (l *loadTally) add(o chatOutcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case o.complete:
		l.ok[o.id] = o.cost
		l.at[o.id] = time.Now()
	case o.status == http.StatusOK && o.id != "":
		l.partial[o.id] = true
	default:
		l.failed++
	}
}

// ledgerState is the database as a stopped (or killed) gateway left it.
type ledgerState struct {
	path                  string // the SQLite file; "" on PostgreSQL
	st                    ledgerReader
	acct, keyHash         string
	spent                 money.Nanos // accounts.spent_nanos, through LoadBalances
	keyTotal              money.Nanos // the key's all-time usage, through LoadBalances
	rollupCost            money.Nanos // usage rollups of the account (GET /usage's source)
	rollupRequests        int64
	generations           int64       // generation rows of the account
	generationCost        money.Nanos // their sum of cost_nanos
	ledgerSum, ledgerWant money.Nanos // the account's ledger entries, and credits − spent
}

// ledgerReader is what ledgerState reads through a store (SQLite or
// PostgreSQL), as the gateway does.
type ledgerReader interface {
	LoadBalances(context.Context) ([]store.AccountBalance, []store.KeyUsage, error)
	Usage(context.Context, store.UsageQuery) ([]store.UsageRow, error)
	GetGeneration(context.Context, string) (*store.Generation, error)
}

// rawQueryRow runs one SQL query on the database as stored, bypassing the
// store; the account id is its only argument.
type rawQueryRow func(ctx context.Context, query string, acct string) interface{ Scan(...any) error }

// readLedgerState opens the database the way the gateway does (running its
// migrations, of which there are none left to apply) and reads the account.
func readLedgerState(t *testing.T, dir, acct, keyHash string) *ledgerState {
	t.Helper()
	path := filepath.Join(dir, "switchyard.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	raw := openRawSQLite(t, path)
	ls := loadLedgerState(t, st, func(ctx context.Context, query, acct string) interface{ Scan(...any) error } {
		return raw.QueryRowContext(ctx, strings.ReplaceAll(query, "$1", "?"), acct)
	}, acct, keyHash)
	ls.path = path
	return ls
}

// loadLedgerState reads the account acct and its key keyHash from st, and
// the schema's own rows through raw.
func loadLedgerState(t *testing.T, st ledgerReader, raw rawQueryRow, acct, keyHash string) *ledgerState {
	t.Helper()
	ctx := context.Background()
	ls := &ledgerState{st: st, acct: acct, keyHash: keyHash}
	accounts, keys, err := st.LoadBalances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var credits money.Nanos
	for _, b := range accounts {
		if b.ID == acct {
			ls.spent = b.Spent
			if b.Credits != nil {
				credits = *b.Credits
			}
		}
	}
	for _, k := range keys {
		if k.Hash == keyHash {
			ls.keyTotal = k.TotalUsage
		}
	}
	rows, err := st.Usage(ctx, store.UsageQuery{AccountID: acct, GroupBy: "model"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		ls.rollupCost += r.Cost
		ls.rollupRequests += r.Requests
	}
	// The invariant is stated in the schema's terms (accounts.spent_nanos =
	// sum of generations.cost_nanos), so the rows are read as stored, too.
	if err := raw(ctx, `SELECT count(*), coalesce(sum(cost_nanos), 0) FROM generations WHERE account_id = $1`, acct).
		Scan(&ls.generations, &ls.generationCost); err != nil {
		t.Fatal(err)
	}
	if err := raw(ctx, `SELECT coalesce(sum(amount_nanos), 0) FROM ledger_entries WHERE account_id = $1`, acct).
		Scan(&ls.ledgerSum); err != nil {
		t.Fatal(err)
	}
	ls.ledgerWant = credits - ls.spent
	return ls
}

func openRawSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	// The driver is registered by package sqlite's import of modernc.org/sqlite.
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// checkConsistent asserts that the spend equals every sum that must match it.
func (ls *ledgerState) checkConsistent(t *testing.T) {
	t.Helper()
	if ls.spent == 0 || ls.generations == 0 {
		t.Fatalf("account %s: spent %s over %d generations; the load charged nothing", ls.acct, ls.spent, ls.generations)
	}
	if ls.spent != ls.generationCost || ls.spent != ls.rollupCost || ls.rollupRequests != ls.generations {
		t.Errorf("account %s: spent %s, but its %d generations cost %s and its usage rollups say %d requests costing %s",
			ls.acct, ls.spent, ls.generations, ls.generationCost, ls.rollupRequests, ls.rollupCost)
	}
	if ls.keyTotal != ls.spent {
		t.Errorf("the account's only key has used %s, the account %s", ls.keyTotal, ls.spent)
	}
	if ls.ledgerSum != ls.ledgerWant {
		t.Errorf("account %s: ledger entries sum to %s, credits − spent is %s", ls.acct, ls.ledgerSum, ls.ledgerWant)
	}
}

// checkStored returns the generations of ids (and of partial) that the
// database holds, asserting that each is the one the client was answered:
// the account's, successful, and, for a complete answer, at the cost the
// client was told, which is never zero.
func (ls *ledgerState) checkStored(t *testing.T, ids map[string]money.Nanos, partial map[string]bool) map[string]*store.Generation {
	t.Helper()
	found := map[string]*store.Generation{}
	lookup := func(id string) *store.Generation {
		g, err := ls.st.GetGeneration(context.Background(), id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if g.AccountID != ls.acct || g.Status != http.StatusOK {
			t.Errorf("generation %s: account %s, status %d; want %s, 200", id, g.AccountID, g.Status, ls.acct)
		}
		found[id] = g
		return g
	}
	for id, cost := range ids {
		if g := lookup(id); g != nil && (g.Cost != cost || cost <= 0) {
			t.Errorf("generation %s: stored cost %s, the client was told %s", id, g.Cost, cost)
		}
	}
	for id := range partial {
		lookup(id)
	}
	return found
}

// checkIntegrity runs SQLite's own consistency check of the file.
func checkIntegrity(t *testing.T, ls *ledgerState) {
	t.Helper()
	var res string
	if err := openRawSQLite(t, ls.path).QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("PRAGMA integrity_check: %q %v", res, err)
	}
}
