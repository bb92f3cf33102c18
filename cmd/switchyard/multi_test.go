//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store/postgres"
	"github.com/switchyard-gw/switchyard/internal/store/postgres/pgtest"
	"github.com/switchyard-gw/switchyard/internal/testenv"
)

// These tests run two `switchyard serve` processes (the real binary) on one
// PostgreSQL schema and one Redis, as a deployment behind a load balancer
// does, and check from the outside what docs/operations.md promises of
// several instances: one limit across both, changes seen by the other within
// a second, and what happens when Redis or PostgreSQL goes away under load.

// TestMultiInstance builds the binary once for its three parts.
func TestMultiInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the switchyard binary")
	}
	dsn := pgtest.DSN(t)
	testenv.Redis(t) // skips (locally) or fails (CI) without one
	sharedRedis := os.Getenv("SWITCHYARD_TEST_REDIS")
	bin := buildSwitchyardBinary(t)

	t.Run("shared limits and changes", func(t *testing.T) {
		p := startGatewayPair(t, bin, dsn, sharedRedis)
		t.Run("a key limit is not overspent", func(t *testing.T) { multiOverspend(t, p, dsn) })
		t.Run("an rpm limit admits N across both", func(t *testing.T) { multiRPM(t, p) })
		t.Run("a disabled or deleted key is refused by the other within 1s", func(t *testing.T) { multiPropagation(t, p) })
	})
	t.Run("Redis stopped mid-load", func(t *testing.T) { multiRedisFault(t, bin) })
	t.Run("PostgreSQL cut for 10s under load", func(t *testing.T) { multiPostgresFault(t, bin, sharedRedis) })
}

// multiModel, added to crashConfig's models, prices only completion
// tokens. chatOnce asks it for exactly multiMaxTokens of them (the mock
// stops there), so a request's credit hold, its worst case, is what it
// costs: a limit of n requests' cost admits n requests at once, where a
// worst case far above the cost would admit fewer and hide an overspend.
const multiModel = `  - id: capped
    pricing: { prompt: 0, completion: 10.00 }
    routes: [{ provider: mock }]
`

const multiMaxTokens = 8

// gatewayPair is two gateway processes sharing a database and a Redis.
type gatewayPair struct {
	a, b     *gatewayProcess
	adminKey string
	hc       *http.Client
}

// at returns the i-th process, alternating: requests are split evenly.
func (p *gatewayPair) at(i int) *gatewayProcess {
	if i%2 == 0 {
		return p.a
	}
	return p.b
}

// startGatewayPair starts A, which creates the schema and prints the first
// keys, then B on the same config. Each has its own data directory, so its
// own ledger spool (the default, $SWITCHYARD_DATA/switchyard.ledger-spool).
func startGatewayPair(t *testing.T, bin, dsn, redisURL string) *gatewayPair {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "multi.yaml")
	cfg := crashConfig + multiModel + fmt.Sprintf("storage:\n  database: %q\n  redis: %q\n", dsn, redisURL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &gatewayPair{hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 15 * time.Second}}
	t.Cleanup(p.hc.CloseIdleConnections)
	p.a = startGatewayProcess(t, bin, filepath.Join(dir, "a"), cfgPath)
	if p.adminKey = firstStartKey(t, p.a, "admin key (management API)"); p.adminKey == "" {
		t.Fatalf("the first start printed no admin key:\n%s", p.a.stdout())
	}
	p.b = startGatewayProcess(t, bin, filepath.Join(dir, "b"), cfgPath)
	if strings.Contains(p.b.stdout(), "sk-sy-") {
		t.Fatalf("the second instance printed keys, as a first start does:\n%s", p.b.stdout())
	}
	return p
}

// account creates an account (credits: a JSON number, or null) on g.
func (p *gatewayPair) account(t *testing.T, g *gatewayProcess, name, credits string) string {
	t.Helper()
	st, out := adminCall(t, p.hc, "POST", g.root+"/api/v1/accounts", p.adminKey, `{"name": "`+name+`", "credits": `+credits+`}`)
	id, _ := out["id"].(string)
	if st != http.StatusCreated || id == "" {
		t.Fatalf("create account %s: %d %v", name, st, out)
	}
	return id
}

// key creates a key in acct on g; extra is more JSON fields (or "").
func (p *gatewayPair) key(t *testing.T, g *gatewayProcess, acct, extra string) (key, hash string) {
	t.Helper()
	body := `{"name": "multi", "account_id": "` + acct + `"`
	if extra != "" {
		body += ", " + extra
	}
	st, out := adminCall(t, p.hc, "POST", g.root+"/api/v1/keys", p.adminKey, body+"}")
	key, _ = out["key"].(string)
	hash, _ = out["hash"].(string)
	if st != http.StatusCreated || key == "" || hash == "" {
		t.Fatalf("create key %s: %d %v", body, st, out)
	}
	return key, hash
}

// awaitKey waits until g answers a chat with key (the other instance has
// learnt of it) and returns that answer.
func (p *gatewayPair) awaitKey(t *testing.T, g *gatewayProcess, key string) chatResult {
	t.Helper()
	start := time.Now()
	for {
		r := chatOnce(p.hc, g.base, key)
		if r.status == http.StatusOK {
			return r
		}
		if time.Since(start) > 6*time.Second {
			t.Fatalf("%s did not accept a new key within 6s: last status %d %s", g.root, r.status, r.code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// chatResult is one non-streaming chat request's answer, refusals included.
type chatResult struct {
	status     int
	code       string // error.code of a refusal
	retryAfter string
	id         string
	cost       money.Nanos
	err        error
}

// chatOnce sends the same non-streaming request for multiMaxTokens of
// multiModel every time, so every answer costs the same.
func chatOnce(hc *http.Client, base, key string) chatResult {
	resp, err := postChat(context.Background(), hc, base, key,
		`{"model": "capped", "max_tokens": `+strconv.Itoa(multiMaxTokens)+`, "messages": [{"role": "user", "content": "the same question"}]}`)
	if err != nil {
		return chatResult{err: err}
	}
	defer resp.Body.Close()
	r := chatResult{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	var body struct {
		ID    string `json:"id"`
		Usage *struct {
			Cost money.Nanos `json:"cost"`
		} `json:"usage"`
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if r.err = json.NewDecoder(resp.Body).Decode(&body); r.err != nil {
		return r
	}
	if body.Error != nil {
		r.code = body.Error.Code
	}
	if body.Usage != nil {
		r.id, r.cost = body.ID, body.Usage.Cost
	}
	return r
}

// burst sends n requests at once with key, request i to p.at(i) when
// target is nil, else all to target; it returns the answers by index.
func (p *gatewayPair) burst(key string, n int, target *gatewayProcess) []chatResult {
	out := make([]chatResult, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		g := target
		if g == nil {
			g = p.at(i)
		}
		wg.Go(func() {
			<-start
			out[i] = chatOnce(p.hc, g.base, key)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// multiOverspend: a key limited to about twenty requests' cost takes 200
// concurrent requests, half on each instance.
func multiOverspend(t *testing.T, p *gatewayPair, dsn string) {
	// What one request costs, measured on a key of its own.
	probeAcct := p.account(t, p.a, "probe", "null")
	probe, _ := p.key(t, p.a, probeAcct, "")
	first := chatOnce(p.hc, p.a.base, probe)
	if first.status != http.StatusOK || first.cost <= 0 {
		t.Fatalf("probe request: %+v", first)
	}
	c := first.cost
	const fit = 20 // requests the limit pays for
	limit := fit*c + c/2
	acct := p.account(t, p.a, "overspend", "null")
	key, hash := p.key(t, p.a, acct, `"limit": `+limit.String())
	p.awaitKeyless(t)

	const total = 200
	res := p.burst(key, total, nil)
	var okA, okB int
	var spent money.Nanos
	refused := map[string]int{}
	for i, r := range res {
		switch {
		case r.status == http.StatusOK:
			if r.cost != c {
				t.Errorf("request %d cost %s, the probe %s: the requests are meant to cost the same", i, r.cost, c)
			}
			spent += r.cost
			if i%2 == 0 {
				okA++
			} else {
				okB++
			}
		default:
			refused[fmt.Sprintf("%d %s", r.status, r.code)]++
		}
	}
	// The control: one instance alone, given 100 requests on a key with the
	// same limit, admits what the limit pays for. A limit held per process
	// would let each instance do that, twice as many between them.
	controlKey, _ := p.key(t, p.a, probeAcct, `"limit": `+limit.String())
	perProcess := 0
	for _, r := range p.burst(controlKey, total/2, p.a) {
		if r.status == http.StatusOK {
			perProcess++
		}
	}
	if perProcess != fit {
		t.Fatalf("control: one instance alone answered %d of %d requests on a key whose limit pays for %d", perProcess, total/2, fit)
	}
	t.Logf("key limit %s, %s a request (%d fit); %d concurrent requests, %d on each instance: %d answered (A %d, B %d) spending %s; refused %v; one instance alone admitted %d (control), so held per process %d in all",
		limit, c, perProcess, total, total/2, okA+okB, okA, okB, spent, refused, perProcess, 2*perProcess)
	if spent > limit+c {
		t.Fatalf("the two instances spent %s of a %s limit: more than one request (%s) over", spent, limit, c)
	}
	if okA == 0 || okB == 0 {
		// Under load one instance can take every hold the limit pays for
		// before the other's first arrives; the limit held all the same.
		// The test is not vacuous as long as the idle instance serves (its
		// refusals above were all 402/429, checked below).
		idle := p.b
		if okA == 0 {
			idle = p.a
		}
		if r := chatOnce(p.hc, idle.base, probe); r.status != http.StatusOK {
			t.Fatalf("one instance answered nothing of the burst (A %d, B %d) and does not serve another key either: %+v", okA, okB, r)
		}
		t.Logf("one instance took every request the limit paid for (A %d, B %d); the other serves other keys", okA, okB)
	}
	if okA+okB < perProcess/2 {
		t.Errorf("only %d of the %d requests the limit pays for were answered", okA+okB, perProcess)
	}
	for k := range refused {
		if !strings.HasPrefix(k, "402 ") && !strings.HasPrefix(k, "429 ") {
			t.Errorf("refusals other than 402/429: %v", refused)
		}
	}

	// The database agrees once the ledger has written (every 200ms).
	db := openPostgres(t, dsn)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ls := loadLedgerState(t, db, db.raw, acct, hash)
		// Refusals are recorded too, as generations costing nothing.
		var answered int
		if err := db.raw(t.Context(), `SELECT count(*) FROM generations WHERE account_id = $1 AND status = 200`, acct).Scan(&answered); err != nil {
			t.Fatal(err)
		}
		// Every figure at its final value: they are read one after the
		// other, and a batch committed between two reads would make them
		// disagree for a moment without anything being wrong.
		if ls.keyTotal == spent && answered == okA+okB && ls.generations == total && ls.rollupRequests == total {
			ls.checkConsistent(t)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database has the key at %s over %d answered generations (%d in all, %d in the usage rollups); the clients were charged %s for %d of %d",
				ls.keyTotal, answered, ls.generations, ls.rollupRequests, spent, okA+okB, total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Each instance's GET /api/v1/key stays within the limit, too.
	for _, g := range []*gatewayProcess{p.a, p.b} {
		st, out := adminCall(t, p.hc, "GET", g.root+"/api/v1/key", key, "")
		usage, _ := out["usage"].(json.Number)
		u, err := money.ParseUSD(usage.String())
		if st != http.StatusOK || err != nil {
			t.Fatalf("GET /api/v1/key on %s: %d %v", g.root, st, out)
		}
		if u > limit+c {
			t.Errorf("GET /api/v1/key on %s: usage %s over the limit %s plus one request", g.root, u, limit)
		}
	}
}

// awaitKeyless is a pause for the other instance to learn of keys just made
// on A: the cluster notice arrives within milliseconds; a key that would be
// spent by polling is not used to find out.
func (p *gatewayPair) awaitKeyless(t *testing.T) {
	t.Helper()
	acct := p.account(t, p.a, "marker", "null")
	marker, _ := p.key(t, p.a, acct, "")
	p.awaitKey(t, p.b, marker)
}

// multiRPM: a key with rpm N takes 2N requests split across both instances.
func multiRPM(t *testing.T, p *gatewayPair) {
	const n = 10
	acct := p.account(t, p.a, "rpm", "null")
	newKey := func() string {
		key, _ := p.key(t, p.a, acct, fmt.Sprintf(`"rate_limits": {"rpm": %d}`, n))
		p.awaitKeyless(t)
		return key
	}
	start := time.Now()
	ok, per := checkRPM(t, p, newKey(), 2*n, nil, false)
	if ok != n {
		t.Fatalf("rpm %d across two instances: %d of %d requests answered (A %d, B %d), want exactly %d (held per process: %d)",
			n, ok, 2*n, per[0], per[1], n, 2*n)
	}
	t.Logf("rpm %d: %d requests alternating between the instances in %v: %d answered (A %d, B %d), the rest 429 with Retry-After",
		n, 2*n, time.Since(start).Round(time.Millisecond), ok, per[0], per[1])

	// n on A, then n on B: B has nothing left of the minute.
	key := newKey()
	if ok, _ := checkRPM(t, p, key, n, p.a, false); ok != n {
		t.Fatalf("rpm %d: %d of %d requests on A answered", n, ok, n)
	}
	if ok, _ := checkRPM(t, p, key, n, p.b, false); ok != 0 {
		t.Fatalf("rpm %d: B answered %d more requests after A had answered %d", n, ok, n)
	}

	// All at once: never more than n. Fewer is possible: each instance
	// stamps a request with its clock before the Redis call, and a
	// request stamped earlier than one Redis ran before it is refused by
	// that difference (see the report of TestMultiInstance in
	// docs/operations.md).
	ok, per = checkRPM(t, p, newKey(), 2*n, nil, true)
	t.Logf("rpm %d: %d concurrent requests split across both instances: %d answered (A %d, B %d)", n, 2*n, ok, per[0], per[1])
	if ok > n || ok == 0 {
		t.Fatalf("rpm %d: %d of %d concurrent requests answered (A %d, B %d)", n, ok, 2*n, per[0], per[1])
	}
}

// checkRPM sends count requests with key (request i to p.at(i), or all to
// target), one after another or all at once, and returns how many were
// answered, by instance; every refusal must be a 429 rate_limit_exceeded
// with Retry-After.
func checkRPM(t *testing.T, p *gatewayPair, key string, count int, target *gatewayProcess, concurrent bool) (int, [2]int) {
	t.Helper()
	var res []chatResult
	if concurrent {
		res = p.burst(key, count, target)
	} else {
		for i := range count {
			g := target
			if g == nil {
				g = p.at(i)
			}
			res = append(res, chatOnce(p.hc, g.base, key))
		}
	}
	var ok int
	var per [2]int
	for i, r := range res {
		switch {
		case r.status == http.StatusOK:
			ok++
			per[i%2]++
		case r.status == http.StatusTooManyRequests && r.code == "rate_limit_exceeded" && r.retryAfter != "":
		default:
			t.Errorf("request %d: %d %q Retry-After %q %v; want 200, or 429 rate_limit_exceeded with Retry-After", i, r.status, r.code, r.retryAfter, r.err)
		}
	}
	return ok, per
}

// multiPropagation: a key changed on one instance is honoured by the other
// within one second.
func multiPropagation(t *testing.T, p *gatewayPair) {
	acct := p.account(t, p.a, "propagation", "null")
	cases := []struct {
		name                string
		method, body        string
		create, change, use *gatewayProcess
	}{
		{"disabled on B, used on A", "PATCH", `{"disabled": true}`, p.a, p.b, p.a},
		{"deleted on A, used on B", "DELETE", "", p.b, p.a, p.b},
	}
	for _, tc := range cases {
		key, hash := p.key(t, tc.create, acct, "")
		p.awaitKey(t, tc.change, key) // the key created on one works on the other
		if r := chatOnce(p.hc, tc.use.base, key); r.status != http.StatusOK {
			t.Fatalf("%s: before the change: %+v", tc.name, r)
		}
		st, out := adminCall(t, p.hc, tc.method, tc.change.root+"/api/v1/keys/"+hash, p.adminKey, tc.body)
		if st != http.StatusOK && st != http.StatusNoContent {
			t.Fatalf("%s: %s: %d %v", tc.name, tc.method, st, out)
		}
		changed := time.Now()
		for {
			r := chatOnce(p.hc, tc.use.base, key)
			if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
				t.Logf("%s: refused (%d %s) %v after the change", tc.name, r.status, r.code, time.Since(changed).Round(time.Millisecond))
				break
			}
			if time.Since(changed) > time.Second {
				t.Fatalf("%s: still answered %d one second after the change", tc.name, r.status)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// pgState is the test's own connection to the gateways' schema.
type pgState struct {
	*postgres.DB
	pool *pgxpool.Pool
}

func (s *pgState) raw(ctx context.Context, query, acct string) interface{ Scan(...any) error } {
	return s.pool.QueryRow(ctx, query, acct)
}

// openPostgres opens the schema as the gateway does (its migrations are
// all applied already) and a plain pool for the schema's own rows.
func openPostgres(t *testing.T, dsn string) *pgState {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &pgState{DB: db, pool: pool}
}

// readyStatus is GET /readyz's overall status ("" when it did not answer).
func readyStatus(hc *http.Client, g *gatewayProcess) (int, string) {
	resp, err := hc.Get(g.root + "/readyz")
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Status
}

// awaitReady polls both instances' /readyz until both say want.
func (p *gatewayPair) awaitReady(t *testing.T, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, a := readyStatus(p.hc, p.a)
		_, b := readyStatus(p.hc, p.b)
		if a == want && b == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("/readyz says %q on A and %q on B after %v; want %q", a, b, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// phasedLoad is clients sending requests on keys to both instances until
// stopped, with what they saw counted by phase.
type phasedLoad struct {
	phase  atomic.Int32
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
	ok     [3]map[string]int // phase → key label → answered
	failed [3]map[string][]string
	tally  map[string]*loadTally // key label → every outcome
}

// startLoad runs clients that cycle over the keys (label → key) and both
// instances, with sendChat's mix of streaming and non-streaming requests.
func startLoad(p *gatewayPair, clients int, keys map[string]string) *phasedLoad {
	l := &phasedLoad{stop: make(chan struct{}), tally: map[string]*loadTally{}}
	for i := range l.ok {
		l.ok[i], l.failed[i] = map[string]int{}, map[string][]string{}
	}
	var labels []string
	for label := range keys {
		labels = append(labels, label)
		l.tally[label] = newLoadTally()
	}
	var n atomic.Int64
	for range clients {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				i := int(n.Add(1))
				label := labels[(i/2)%len(labels)]
				phase := l.phase.Load()
				o := sendChat(context.Background(), p.hc, p.at(i).base, keys[label], i)
				l.tally[label].add(o)
				l.mu.Lock()
				if o.complete {
					l.ok[phase][label]++
				} else {
					l.failed[phase][label] = append(l.failed[phase][label], fmt.Sprintf("%s: %d %v", p.at(i).root, o.status, o.err))
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *phasedLoad) end() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// check fails t for any request of phase that was not answered in full.
func (l *phasedLoad) check(t *testing.T, phase int, name string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("%s: answered %v", name, l.ok[phase])
	for label, f := range l.failed[phase] {
		t.Errorf("%s: %d requests on %s failed, e.g. %s", name, len(f), label, f[0])
	}
	for label, n := range l.ok[phase] {
		if n == 0 {
			t.Errorf("%s: no request on %s was answered", name, label)
		}
	}
}

// redisServer is a redis-server process of the test's own, which it can
// stop and start again on the same port.
type redisServer struct {
	bin  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Need(t, "redis-server", "this test stops and restarts a Redis of its own")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &redisServer{bin: bin, port: port}
	r.start(t)
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) start(t *testing.T) {
	t.Helper()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	r.cmd.Dir = t.TempDir()
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func() {
		_ = r.cmd.Wait()
		close(r.done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
		if err == nil {
			buf := make([]byte, 7)
			_, _ = c.Write([]byte("PING\r\n"))
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			_, err = io.ReadFull(c, buf)
			c.Close()
			if err == nil && string(buf) == "+PONG\r\n" {
				return
			}
		}
		select {
		case <-r.done:
			t.Fatalf("redis-server on port %d exited: %v", r.port, r.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %d did not answer PING within 10s", r.port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the process to exit.
func (r *redisServer) stop(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Errorf("redis-server did not stop within 10s of SIGTERM")
	}
}

// metricValue reads one unlabelled metric from g's /metrics.
func (p *gatewayPair) metricValue(t *testing.T, g *gatewayProcess, name string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", g.root+"/api/v1/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+p.adminKey)
	resp, err := p.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("GET /api/v1/metrics on %s: %d, no %s:\n%.500s", g.root, resp.StatusCode, name, b)
	return ""
}

// multiRedisFault stops the shared Redis under load and starts it again.
func multiRedisFault(t *testing.T, bin string) {
	rs := startRedisServer(t)
	p := startGatewayPair(t, bin, pgtest.DSN(t), rs.url())
	const n = 10
	free := p.account(t, p.a, "free", "null")
	prepaid := p.account(t, p.a, "prepaid", "100")
	// Keys with rpm n, each used in one phase only; and a key with a
	// high rpm that wakes the limiter's Redis client after the restart.
	var rpmKeys [3]string
	for i := range rpmKeys {
		rpmKeys[i], _ = p.key(t, p.a, free, fmt.Sprintf(`"rate_limits": {"rpm": %d}`, n))
	}
	waker, _ := p.key(t, p.a, free, `"rate_limits": {"rpm": 100000}`)
	kFree, _ := p.key(t, p.a, free, "")
	kPrepaid, _ := p.key(t, p.a, prepaid, `"limit": 50`)
	p.awaitKey(t, p.b, kPrepaid)

	load := startLoad(p, 4, map[string]string{"unmetered": kFree, "metered": kPrepaid})
	defer load.end()
	time.Sleep(500 * time.Millisecond)
	if ok, per := checkRPM(t, p, rpmKeys[0], 2*n, nil, false); ok != n {
		t.Fatalf("before the stop: rpm %d admitted %d of %d across both (A %d, B %d)", n, ok, 2*n, per[0], per[1])
	}

	load.phase.Store(1)
	rs.stop(t)
	stopped := time.Now()
	took := p.awaitReady(t, "degraded", 3*time.Second)
	// Each instance limits on its own: n on each, 2n in all.
	okA, _ := checkRPM(t, p, rpmKeys[1], 2*n, p.a, false)
	okB, _ := checkRPM(t, p, rpmKeys[1], 2*n, p.b, false)
	if okA != n || okB != n {
		t.Errorf("Redis down: rpm %d admitted %d on A and %d on B of %d each; want %d on each (local limits)", n, okA, okB, 2*n, n)
	}
	time.Sleep(time.Until(stopped.Add(2 * time.Second)))
	t.Logf("Redis stopped: /readyz degraded on both after %v; rpm %d key: %d of %d answered on A, %d of %d on B",
		took.Round(time.Millisecond), n, okA, 2*n, okB, 2*n)

	load.phase.Store(2)
	rs.start(t)
	took = p.awaitReady(t, "ready", 5*time.Second)
	// The limiter retries Redis a second after its last failure, on a
	// request: wake it on both until it says Redis is up again.
	deadline := time.Now().Add(5 * time.Second)
	for _, g := range []*gatewayProcess{p.a, p.b} {
		for p.metricValue(t, g, "switchyard_ratelimit_redis_up") != "1" {
			if time.Now().After(deadline) {
				t.Fatalf("%s: switchyard_ratelimit_redis_up is not 1 five seconds after Redis returned", g.root)
			}
			chatOnce(p.hc, g.base, waker)
			time.Sleep(100 * time.Millisecond)
		}
	}
	ok, per := checkRPM(t, p, rpmKeys[2], 2*n, nil, false)
	if ok != n {
		t.Errorf("Redis back: rpm %d admitted %d of %d across both (A %d, B %d); want %d (shared again)", n, ok, 2*n, per[0], per[1], n)
	}
	t.Logf("Redis restarted: /readyz ready on both after %v; rpm %d key: %d of %d answered across both (A %d, B %d)",
		took.Round(time.Millisecond), n, ok, 2*n, per[0], per[1])
	time.Sleep(300 * time.Millisecond)
	load.end()
	load.check(t, 0, "Redis up")
	load.check(t, 1, "Redis down")
	load.check(t, 2, "Redis back")
}

// pgProxy is a TCP proxy between the gateways and PostgreSQL that the test
// can cut: every connection closed, new ones closed as they arrive.
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
}

func startPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &pgProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		px.setCut(true)
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { px.serve(c) })
		}
	})
	return px
}

func (px *pgProxy) serve(c net.Conn) {
	if !px.track(c) {
		c.Close()
		return
	}
	up, err := net.DialTimeout("tcp", px.target, 5*time.Second)
	if err != nil || !px.track(up) {
		if up != nil {
			up.Close()
		}
		px.untrack(c)
		c.Close()
		return
	}
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
	}
	wg.Go(func() { pipe(up, c) })
	wg.Go(func() { pipe(c, up) })
	wg.Wait()
	px.untrack(c)
	px.untrack(up)
}

func (px *pgProxy) track(c net.Conn) bool {
	px.mu.Lock()
	defer px.mu.Unlock()
	if px.cut {
		return false
	}
	px.conns[c] = struct{}{}
	return true
}

func (px *pgProxy) untrack(c net.Conn) {
	px.mu.Lock()
	delete(px.conns, c)
	px.mu.Unlock()
}

// setCut closes every connection and refuses new ones (true), or lets them
// through again (false).
func (px *pgProxy) setCut(cut bool) {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.cut = cut
	if cut {
		for c := range px.conns {
			c.Close()
		}
	}
}

// multiPostgresFault cuts both gateways off PostgreSQL for ten seconds
// under load on an unmetered and a metered account.
func multiPostgresFault(t *testing.T, bin, redisURL string) {
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	px := startPGProxy(t, u.Host)
	u.Host = px.ln.Addr().String()
	p := startGatewayPair(t, bin, u.String(), redisURL)
	free := p.account(t, p.a, "unmetered", "null")
	prepaid := p.account(t, p.a, "metered", "100")
	kFree, hFree := p.key(t, p.a, free, "")
	kPrepaid, hPrepaid := p.key(t, p.a, prepaid, "")
	first := map[string]chatResult{"unmetered": p.awaitKey(t, p.b, kFree), "metered": p.awaitKey(t, p.b, kPrepaid)}

	load := startLoad(p, 6, map[string]string{"unmetered": kFree, "metered": kPrepaid})
	defer load.end()
	for label, r := range first { // generations the clients know of, too
		load.tally[label].add(chatOutcome{id: r.id, cost: r.cost, status: r.status, complete: true})
	}
	time.Sleep(time.Second)

	const cut = 10 * time.Second
	load.phase.Store(1)
	px.setCut(true)
	cutAt := time.Now()
	took := p.awaitReady(t, "degraded", 5*time.Second)
	t.Logf("PostgreSQL cut: /readyz degraded on both after %v", took.Round(time.Millisecond))
	time.Sleep(time.Until(cutAt.Add(cut / 2)))
	// Halfway, both keep their records in their spools.
	for _, g := range []*gatewayProcess{p.a, p.b} {
		if v := p.metricValue(t, g, "switchyard_ledger_spool_bytes"); v == "0" {
			t.Errorf("%s: switchyard_ledger_spool_bytes is 0 five seconds into the cut", g.root)
		} else {
			t.Logf("%s: %s bytes spooled five seconds into the cut", g.root, v)
		}
	}
	time.Sleep(time.Until(cutAt.Add(cut)))
	load.phase.Store(2)
	px.setCut(false)
	restored := time.Now()
	time.Sleep(time.Second)
	load.end()
	load.check(t, 0, "before the cut")
	load.check(t, 1, "PostgreSQL cut")
	load.check(t, 2, "after the cut")
	if t.Failed() {
		return
	}

	// Every generation a client was told of reaches the database, once,
	// at the cost the client was told; the spend is their sum.
	db := openPostgres(t, dsn)
	for _, a := range []struct {
		label, acct, hash string
	}{{"unmetered", free, hFree}, {"metered", prepaid, hPrepaid}} {
		tally := load.tally[a.label]
		known := len(tally.ok) + len(tally.partial)
		var ls *ledgerState
		for {
			ls = loadLedgerState(t, db, db.raw, a.acct, a.hash)
			if ls.generations >= int64(known) {
				// The state is read in several queries: a batch that
				// committed between them (the last generations with their
				// charges) shows in the later ones only. Read it again now
				// that every record is in.
				ls = loadLedgerState(t, db, db.raw, a.acct, a.hash)
				break
			}
			if time.Since(restored) > 15*time.Second {
				t.Fatalf("%s: %d of %d generations in the database 15s after PostgreSQL returned", a.label, ls.generations, known)
			}
			time.Sleep(100 * time.Millisecond)
		}
		ls.checkConsistent(t)
		stored := ls.checkStored(t, tally.ok, tally.partial)
		var sum, told money.Nanos
		for _, g := range stored {
			sum += g.Cost
		}
		for _, c := range tally.ok {
			told += c
		}
		t.Logf("%s: %d answered (%d during the cut), %d in the database %v after PostgreSQL returned; spend %s, sum of the clients' usage.cost %s",
			a.label, len(tally.ok), load.ok[1][a.label], ls.generations, time.Since(restored).Round(time.Millisecond), ls.spent, told)
		if len(stored) != known || ls.generations != int64(known) {
			t.Errorf("%s: the clients were told of %d generations; the database holds %d of them and %d in all",
				a.label, known, len(stored), ls.generations)
		}
		if sum != ls.spent || (len(tally.partial) == 0 && told != ls.spent) {
			t.Errorf("%s: spend %s in the database; its generations cost %s, the clients were charged %s", a.label, ls.spent, sum, told)
		}
	}
	// The spools are drained: both are ready again.
	p.awaitReady(t, "ready", 5*time.Second)
	for _, g := range []*gatewayProcess{p.a, p.b} {
		if v := p.metricValue(t, g, "switchyard_ledger_spool_bytes"); v != "0" {
			t.Errorf("%s: switchyard_ledger_spool_bytes is %s after the drain", g.root, v)
		}
	}
}
