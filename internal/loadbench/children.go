package loadbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// child is one process of the benchmark: the upstream, the proxy or the
// gateway.
type child struct {
	name    string
	cmd     *exec.Cmd
	logPath string // its stderr
	exited  chan struct{}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// childEnv is the whole environment of a child: nothing of the caller's but
// PATH and TMPDIR, so that no provider key of the developer's environment
// adds a real provider to the gateway.
func childEnv(dataDir string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "SWITCHYARD_DATA=" + dataDir}
	if tmp, ok := os.LookupEnv("TMPDIR"); ok {
		env = append(env, "TMPDIR="+tmp)
	}
	return env
}

// startChild runs bin with args, stdout to stdoutPath (or a pipe when
// stdoutPath is ""), stderr to dir/name.log.
func startChild(bin, dir, name string, args []string, stdoutPath string) (*child, *bufio.Reader, error) {
	c := &child{name: name, logPath: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	logf, err := os.Create(c.logPath)
	if err != nil {
		return nil, nil, err
	}
	defer logf.Close()
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = childEnv(dir)
	c.cmd.Stderr = logf
	c.cmd.SysProcAttr = childSysProcAttr()
	var out *bufio.Reader
	if stdoutPath != "" {
		f, err := os.Create(stdoutPath)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		c.cmd.Stdout = f
	} else {
		p, err := c.cmd.StdoutPipe()
		if err != nil {
			return nil, nil, err
		}
		out = bufio.NewReader(p)
	}
	if err := c.cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting %s (%s): %w", name, bin, err)
	}
	go func() {
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	return c, out, nil
}

// startServer starts a `bench upstream` or `bench proxy` child and reads
// the address it announces on its first line of output.
func startServer(bin, dir, name string, args []string) (*child, string, error) {
	c, out, err := startChild(bin, dir, name, args, "")
	if err != nil {
		return nil, "", err
	}
	type line struct {
		s   string
		err error
	}
	got := make(chan line, 1)
	go func() {
		s, err := out.ReadString('\n')
		got <- line{strings.TrimSpace(s), err}
	}()
	select {
	case l := <-got:
		if l.err != nil || l.s == "" {
			c.stop()
			return nil, "", fmt.Errorf("%s announced no address (%v); its log:\n%s", name, l.err, c.logTail())
		}
		return c, l.s, nil
	case <-time.After(15 * time.Second):
		c.stop()
		return nil, "", fmt.Errorf("%s announced no address within 15s; its log:\n%s", name, c.logTail())
	}
}

// stop sends SIGTERM, waits up to 10s, then kills.
func (c *child) stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

func (c *child) alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// logTail is the end of the child's stderr, without per-request lines.
func (c *child) logTail() string {
	b, _ := os.ReadFile(c.logPath)
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, `"msg":"generation"`) {
			keep = append(keep, l)
		}
	}
	if len(keep) > 30 {
		keep = keep[len(keep)-30:]
	}
	return strings.Join(keep, "\n")
}

// gatewayConfig is the gateway's config: two openai-type providers at the
// mock upstream (its fast path and its slow-stream path), each model priced
// so that every request is reserved, settled and written to the ledger.
const gatewayConfig = `# written by switchyard bench
server:
  admin_key: %q
  # every client is on loopback, holding up to 5,000 streams at once
  max_connections: -1
  max_connections_per_ip: -1
storage:
  database: %q
providers:
  - name: up
    type: openai
    base_url: "http://%s/v1"
  - name: upslow
    type: openai
    base_url: "http://%s%s/v1"
models:
  - id: gpt-4o
    pricing: { prompt: 2.50, completion: 10.00 }
    routes: [{ provider: up }]
  - id: %s
    pricing: { prompt: 2.50, completion: 10.00 }
    routes: [{ provider: upslow, model: gpt-4o }]
`

// benchAdminKey is the gateway's admin key in the benchmark, which
// --profile uses to read /debug/pprof. The gateway lives only as long as
// the run, on loopback.
const benchAdminKey = "sk-sy-bench-admin-0123456789"

// slowModel is the gateway's name for the slow-stream route.
const slowModel = "gpt-4o-slow"

// startGateway writes the config, creates an API key with `keys create`,
// and starts `serve`, whose log (the access log included) goes to
// dir/gateway.log. database is a storage.database value.
func startGateway(ctx context.Context, bin, dir, upstream, database string) (g *child, base, key string, err error) {
	cfgPath := filepath.Join(dir, "switchyard.yaml")
	cfg := fmt.Sprintf(gatewayConfig, benchAdminKey, database, upstream, upstream, SlowPrefix, slowModel)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, "", "", err
	}
	kc := exec.CommandContext(ctx, bin, "keys", "create", "--config", cfgPath, "--name", "bench", "--json")
	kc.Env = childEnv(dir)
	var stderr bytes.Buffer
	kc.Stderr = &stderr
	out, err := kc.Output()
	if err != nil {
		return nil, "", "", fmt.Errorf("switchyard keys create --config %s: %v: %s", cfgPath, err, strings.TrimSpace(stderr.String()))
	}
	var created struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(out, &created); err != nil || created.Key == "" {
		return nil, "", "", fmt.Errorf("switchyard keys create printed no key: %q (%v)", out, err)
	}
	g, _, err = startChild(bin, dir, "gateway", []string{"serve", "--config", cfgPath, "--listen", "127.0.0.1:0"}, filepath.Join(dir, "gateway.stdout"))
	if err != nil {
		return nil, "", "", err
	}
	base, err = waitListening(g, 30*time.Second)
	if err != nil {
		g.stop()
		return nil, "", "", err
	}
	return g, base, created.Key, nil
}

// waitListening reads the gateway's log until it says where it listens and
// returns its base URL (http://127.0.0.1:PORT/v1).
func waitListening(g *child, limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	for {
		b, _ := os.ReadFile(g.logPath)
		for _, line := range bytes.Split(b, []byte("\n")) {
			var rec struct {
				Msg     string `json:"msg"`
				BaseURL string `json:"base_url"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "switchyard listening" && rec.BaseURL != "" {
				return rec.BaseURL, nil
			}
		}
		if !g.alive() {
			return "", fmt.Errorf("switchyard serve exited (%v) before listening; its log:\n%s", g.cmd.ProcessState, g.logTail())
		}
		if time.Now().After(deadline) {
			return "", errors.New("switchyard serve did not log \"switchyard listening\" within " + limit.String() + "; its log:\n" + g.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
