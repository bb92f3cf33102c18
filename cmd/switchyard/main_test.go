package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an io.Writer that serve's goroutines may write to while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mapEnv is the environment run sees: only vars, never the test process's.
func mapEnv(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// runCLI runs the command line in-process and returns its exit code and output.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, &out, &errOut, mapEnv(env))
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVersionPrintsTheVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-v"} {
		t.Run(arg, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, arg)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if stdout != "switchyard "+version+"\n" {
				t.Fatalf("stdout %q, want %q", stdout, "switchyard "+version+"\n")
			}
		})
	}
}

func TestUsageErrorsExit2WithUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		mention string
	}{
		{name: "unknown command", args: []string{"frobnicate"}, mention: `unknown command "frobnicate"`},
		{name: "no command", args: nil, mention: "Usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, tt.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("usage errors belong on stderr; stdout %q", stdout)
			}
			for _, want := range []string{tt.mention, "Usage:", "switchyard serve", "switchyard config check", "switchyard keys create"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

func TestHelpPrintsUsageAndExits0(t *testing.T) {
	code, stdout, _ := runCLI(t, nil, "help")
	if code != 0 || !strings.Contains(stdout, "Usage:") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
}

// providerSecrets are key values the config checks below can see, in the
// file and in the environment; none may ever be printed.
const (
	fileSecret = "sk-file-SECRET-0123456789"
	envSecret  = "sk-env-SECRET-9876543210"
	oaiSecret  = "sk-proj-SECRET-openai-555"
)

func TestConfigCheckAcceptsAGoodFile(t *testing.T) {
	path := writeFile(t, t.TempDir(), "good.yaml", `
providers:
  - name: ds
    type: openai
    base_url: https://api.deepseek.com/v1
    api_key: ${DS_KEY}
  - name: local
    type: openai
    base_url: http://127.0.0.1:11434/v1
    api_key: `+fileSecret+`
models:
  - id: deepseek-chat
    routes: [{provider: ds}, {provider: local, model: deepseek-r1:7b}]
`)
	code, stdout, stderr := runCLI(t, map[string]string{"DS_KEY": envSecret}, "config", "check", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, path) || !strings.Contains(stdout, "OK") {
		t.Fatalf("stdout %q, want the file and OK", stdout)
	}
	for _, s := range []string{fileSecret, envSecret} {
		if strings.Contains(stdout+stderr, s) {
			t.Fatalf("a provider key was printed: %q %q", stdout, stderr)
		}
	}
}

func TestConfigCheckNamesFilePathAndFix(t *testing.T) {
	// Each file has one problem, beside a valid provider "ds" whose key
	// comes from the environment; OPENAI_API_KEY adds a provider from the
	// environment too. The problem's message must say where and what to do.
	const good = `
  - name: ds
    type: openai
    base_url: https://api.deepseek.com/v1
    api_key: ${DS_KEY}
`
	tests := []struct {
		name string
		yaml string
		path string // where in the file
		fix  string // what to do about it
	}{
		{
			name: "unknown key",
			yaml: "server:\n  listn: 127.0.0.1:9000\nproviders:" + good,
			path: "server.listn", fix: `did you mean "listen"`,
		},
		{
			name: "unknown provider type",
			yaml: "providers:\n  - name: oa\n    type: opnai\n    base_url: https://api.openai.com/v1\n    api_key: " + fileSecret + "\n",
			path: "providers[0].type", fix: `did you mean "openai"`,
		},
		{
			name: "route to an undefined provider",
			yaml: "providers:" + good + "models:\n  - id: m\n    routes: [{provider: nope}]\n",
			path: "models[0].routes[0].provider", fix: "define it under providers",
		},
		{
			name: "duplicate model id",
			yaml: "providers:" + good + "models:\n  - id: m\n    routes: [{provider: ds}]\n  - id: m\n    routes: [{provider: ds}]\n",
			path: "models[1].id", fix: "rename",
		},
		{
			name: "malformed base_url",
			yaml: "providers:\n  - name: oa\n    type: openai\n    base_url: api.openai.com/v1\n    api_key: " + fileSecret + "\n",
			path: "providers[0].base_url", fix: `write an absolute URL like "https://`,
		},
		{
			name: "missing variable",
			yaml: "providers:\n  - name: oa\n    type: openai\n    base_url: https://api.openai.com/v1\n    api_key: ${OA_KEY}\n",
			path: "providers[0].api_key", fix: "OA_KEY is not set; export it",
		},
	}
	env := map[string]string{"DS_KEY": envSecret, "OPENAI_API_KEY": oaiSecret}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "switchyard.yaml", tt.yaml)
			code, stdout, stderr := runCLI(t, env, "config", "check", path)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stdout %q stderr %q", code, stdout, stderr)
			}
			var line string // the problem's own line
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, tt.path+":") {
					line = l
				}
			}
			if !strings.Contains(stderr, path) || line == "" || !strings.Contains(line, tt.fix) {
				t.Fatalf("stderr should name %s, the path %s and the fix %q:\n%s", path, tt.path, tt.fix, stderr)
			}
			for _, s := range []string{fileSecret, envSecret, oaiSecret} {
				if strings.Contains(stdout+stderr, s) {
					t.Fatalf("provider key %q printed:\n%s", s, stderr)
				}
			}
		})
	}
}

func TestConfigCheckReportsEveryProblemAtOnce(t *testing.T) {
	path := writeFile(t, t.TempDir(), "bad.yaml", `
server:
  listn: ":8080"
providers:
  - name: oa
    type: opnai
    base_url: "htp//bad url"
    api_key: `+fileSecret+`
  - name: ds
    type: openai
    base_url: https://api.deepseek.com/v1
    api_key: ${DS_KEY}
models:
  - id: m1
    routes: [{provider: nope}]
  - id: m1
    routes: [{provider: oa}]
`)
	code, _, stderr := runCLI(t, map[string]string{"OPENAI_API_KEY": oaiSecret}, "config", "check", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, p := range []string{"server.listn", "providers[0].type", "providers[0].base_url", "providers[1].api_key", "models[0].routes[0].provider", "models[1].id"} {
		if !strings.Contains(stderr, p+":") {
			t.Errorf("stderr does not report %s:\n%s", p, stderr)
		}
	}
	if strings.Contains(stderr, fileSecret) || strings.Contains(stderr, oaiSecret) {
		t.Fatalf("a provider key was printed:\n%s", stderr)
	}
}

func TestConfigCheckOfAMissingFileNamesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	code, _, stderr := runCLI(t, nil, "config", "check", path)
	if code != 1 || !strings.Contains(stderr, path) {
		t.Fatalf("exit %d, stderr %q; want 1 naming the file", code, stderr)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// keyObject is the part of a key's JSON form the tests read.
type keyObject struct {
	Hash  string `json:"hash"`
	Name  string `json:"name"`
	Label string `json:"label"`
	Kind  string `json:"kind"`
}

func listKeys(t *testing.T, env map[string]string) []keyObject {
	t.Helper()
	code, stdout, stderr := runCLI(t, env, "keys", "list", "--json")
	if code != 0 {
		t.Fatalf("keys list --json: exit %d: %s", code, stderr)
	}
	var out struct{ Data []keyObject }
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("keys list --json is not JSON (%v): %s", err, stdout)
	}
	return out.Data
}

var plaintextKey = regexp.MustCompile(`(?m)^sk-sy-v1-[A-Za-z0-9]{49}$`)

func TestKeysCreateListDeleteInTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SWITCHYARD_DATA": dir}

	// create: the plaintext is printed once, on a line of its own.
	code, stdout, stderr := runCLI(t, env, "keys", "create", "--name", "alice")
	if code != 0 {
		t.Fatalf("keys create: exit %d: %s", code, stderr)
	}
	alice := plaintextKey.FindString(stdout)
	if alice == "" || strings.Count(stdout, alice) != 1 {
		t.Fatalf("keys create should print one sk-sy- key once:\n%s", stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "switchyard.db")); err != nil {
		t.Fatalf("no database in $SWITCHYARD_DATA: %v", err)
	}
	aliceHash := sha256Hex(alice)
	if !strings.Contains(stdout, aliceHash) {
		t.Errorf("keys create should print the key's SHA-256 hash %s:\n%s", aliceHash, stdout)
	}

	// list: the hash and the masked label, never the plaintext.
	keys := listKeys(t, env)
	if len(keys) != 1 || keys[0].Hash != aliceHash || keys[0].Name != "alice" || keys[0].Kind != "api" || keys[0].Label == "" {
		t.Fatalf("keys = %+v, want alice's", keys)
	}
	code, stdout, stderr = runCLI(t, env, "keys", "list")
	if code != 0 {
		t.Fatalf("keys list: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, aliceHash) || !strings.Contains(stdout, keys[0].Label) || !strings.Contains(stdout, "alice") {
		t.Errorf("keys list lacks alice's hash, label or name:\n%s", stdout)
	}
	if strings.Contains(stdout, alice) || strings.Contains(keys[0].Label, alice) {
		t.Fatalf("keys list shows the plaintext key:\n%s", stdout)
	}

	// create --key: an existing plaintext (from another gateway) is adopted as is.
	const legacy = "sk-legacy-12345678"
	code, stdout, stderr = runCLI(t, env, "keys", "create", "--key", legacy, "--name", "legacy", "--json")
	if code != 0 {
		t.Fatalf("keys create --key: exit %d: %s", code, stderr)
	}
	var created struct {
		Data keyObject
		Key  string
	}
	if err := json.Unmarshal([]byte(stdout), &created); err != nil {
		t.Fatalf("keys create --json is not JSON (%v): %s", err, stdout)
	}
	if created.Key != legacy || created.Data.Hash != sha256Hex(legacy) || created.Data.Name != "legacy" || strings.Contains(created.Data.Label, legacy) {
		t.Fatalf("adopted key = %+v", created)
	}
	if keys := listKeys(t, env); len(keys) != 2 {
		t.Fatalf("after adopting a key: %+v, want alice and legacy", keys)
	}

	// delete: gone from the list; a second delete fails.
	code, stdout, stderr = runCLI(t, env, "keys", "delete", created.Data.Hash)
	if code != 0 || !strings.Contains(stdout, created.Data.Hash) {
		t.Fatalf("keys delete: exit %d, stdout %q stderr %q", code, stdout, stderr)
	}
	keys = listKeys(t, env)
	if len(keys) != 1 || keys[0].Hash != aliceHash {
		t.Fatalf("after delete: %+v, want only alice", keys)
	}
	code, _, stderr = runCLI(t, env, "keys", "delete", created.Data.Hash)
	if code != 1 || !strings.Contains(stderr, created.Data.Hash) {
		t.Fatalf("deleting again: exit %d, stderr %q; want 1 naming the hash", code, stderr)
	}
}

func TestKeysUsageErrorsExit1(t *testing.T) {
	env := map[string]string{"SWITCHYARD_DATA": t.TempDir()}
	tests := []struct {
		name    string
		args    []string
		mention string
	}{
		{name: "no subcommand", args: []string{"keys"}, mention: "usage: switchyard keys"},
		{name: "unknown subcommand", args: []string{"keys", "rotate"}, mention: `unknown keys command "rotate"`},
		{name: "delete without hash", args: []string{"keys", "delete"}, mention: "usage: switchyard keys delete HASH"},
		{name: "adopted key too short", args: []string{"keys", "create", "--key", "short"}, mention: "16 to 256"},
		{name: "unknown kind", args: []string{"keys", "create", "--kind", "root"}, mention: "kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, env, tt.args...)
			if code != 1 || !strings.Contains(stderr, tt.mention) {
				t.Fatalf("exit %d, stderr %q; want 1 mentioning %q", code, stderr, tt.mention)
			}
		})
	}
}

// served is `switchyard serve` running in a goroutine of the test.
type served struct {
	base           string // http://127.0.0.1:PORT/v1, from the "switchyard listening" log line
	providers      string // the log line's providers
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int // run's exit code
}

// startServe runs serve, with args, on a free loopback port and waits
// until it logs that it is listening.
func startServe(t *testing.T, env map[string]string, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), s.stdout, s.stderr, mapEnv(env))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			t.Error("serve did not return within 5s of its context being cancelled")
		}
	})
	deadline := time.After(5 * time.Second)
	for {
		if line, ok := logLine(s.stderr.String(), "switchyard listening"); ok {
			s.base, _ = line["base_url"].(string)
			s.providers, _ = line["providers"].(string)
			if !strings.HasPrefix(s.base, "http://127.0.0.1:") && !strings.HasPrefix(s.base, "https://127.0.0.1:") || !strings.HasSuffix(s.base, "/v1") {
				t.Fatalf("base_url %q, want http(s)://127.0.0.1:PORT/v1", s.base)
			}
			return s
		}
		select {
		case code := <-s.done:
			s.done <- code // for the cleanup
			t.Fatalf("serve exited %d before listening:\n%s", code, s.stderr.String())
		case <-deadline:
			t.Fatalf("serve did not log \"switchyard listening\" within 5s:\n%s", s.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// stop cancels serve's context, as SIGINT would, and returns its exit code.
func (s *served) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		s.done <- code // for the cleanup
		return code
	case <-time.After(5 * time.Second):
		t.Fatalf("serve did not stop within 5s:\n%s", s.stderr.String())
		return -1
	}
}

// logLine finds the JSON log record with msg in logs.
func logLine(logs, msg string) (map[string]any, bool) {
	for _, l := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == msg {
			return rec, true
		}
	}
	return nil, false
}

var demoKeyLine = regexp.MustCompile(`demo API key:\s+(sk-sy-v1-[A-Za-z0-9]{49})`)

// chat sends one chat completion and returns the status and the answer's text.
func chat(t *testing.T, base, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/chat/completions",
		strings.NewReader(`{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	// A client of its own, so no idle connection outlives the server.
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, ""
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Object != "chat.completion" || !strings.HasPrefix(c.ID, "gen-") || c.Model != "gpt-4o" || len(c.Choices) == 0 {
		t.Fatalf("answer = %+v, want a gpt-4o chat.completion with a gen- id", c)
	}
	return resp.StatusCode, c.Choices[0].Message.Content
}

func TestServeFirstStartPrintsKeysOnceAndAnswersWithTheMockModel(t *testing.T) {
	dir := t.TempDir()
	// Zero config: no file, no provider key, so every model is the mock's.
	env := map[string]string{"SWITCHYARD_DATA": dir}

	s := startServe(t, env)
	if !strings.Contains(s.providers, "mock") {
		t.Errorf("providers %q, want the built-in mock with no provider key set", s.providers)
	}
	m := demoKeyLine.FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("the first start should print the demo key:\n%s", s.stdout.String())
	}
	demo := m[1]
	if !strings.Contains(s.stdout.String(), "admin key") || !strings.Contains(s.stdout.String(), s.base) {
		t.Errorf("welcome lacks the admin key or the base URL:\n%s", s.stdout.String())
	}
	if status, text := chat(t, s.base, demo); status != http.StatusOK || text == "" {
		t.Fatalf("chat with the demo key: status %d, text %q", status, text)
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("serve exited %d after its context was cancelled:\n%s", code, s.stderr.String())
	}
	if _, ok := logLine(s.stderr.String(), "stopped"); !ok {
		t.Fatalf("no \"stopped\" log line:\n%s", s.stderr.String())
	}
	if strings.Contains(s.stderr.String(), demo) {
		t.Fatal("the demo key is in the log")
	}

	// A key made with the CLI between the runs is served at the next start.
	code, out, errOut := runCLI(t, env, "keys", "create", "--name", "bob")
	bob := plaintextKey.FindString(out)
	if code != 0 || bob == "" {
		t.Fatalf("keys create: exit %d: %s %s", code, out, errOut)
	}

	// Second start on the same database: no new keys, the old ones still work.
	s2 := startServe(t, env)
	if strings.Contains(s2.stdout.String(), "sk-sy-") {
		t.Fatalf("a second start printed keys:\n%s", s2.stdout.String())
	}
	for _, key := range []string{demo, bob} {
		if status, _ := chat(t, s2.base, key); status != http.StatusOK {
			t.Fatalf("chat after restart: status %d", status)
		}
	}
	if code := s2.stop(t); code != 0 {
		t.Fatalf("second serve exited %d:\n%s", code, s2.stderr.String())
	}
}

func TestServeOnABusyAddressExits1WithAHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := map[string]string{"SWITCHYARD_DATA": t.TempDir()}
	code, _, stderr := runCLI(t, env, "serve", "--listen", ln.Addr().String())
	if code != 1 || !strings.Contains(stderr, ln.Addr().String()) || !strings.Contains(stderr, "--listen") {
		t.Fatalf("exit %d, stderr %q; want 1 naming the address and --listen", code, stderr)
	}
}

func TestServeThatCannotListenStillShowsTheFirstKeysLater(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := map[string]string{"SWITCHYARD_DATA": t.TempDir()}
	if code, _, _ := runCLI(t, env, "serve", "--listen", ln.Addr().String()); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	s := startServe(t, env)
	if !demoKeyLine.MatchString(s.stdout.String()) {
		t.Fatalf("the first successful start must print the admin and demo keys:\n%s", s.stdout.String())
	}
}

func TestKeysCreateTakesRateLimitFlags(t *testing.T) {
	env := map[string]string{"SWITCHYARD_DATA": t.TempDir()}
	code, stdout, stderr := runCLI(t, env, "keys", "create", "--name", "limited", "--rpm", "60", "--concurrency", "2", "--json")
	if code != 0 {
		t.Fatalf("keys create --rpm: exit %d: %s", code, stderr)
	}
	var created struct {
		Data struct {
			RateLimits map[string]int64 `json:"rate_limits"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &created); err != nil {
		t.Fatalf("not JSON (%v): %s", err, stdout)
	}
	if want := map[string]int64{"rpm": 60, "concurrency": 2}; !reflect.DeepEqual(created.Data.RateLimits, want) {
		t.Fatalf("rate_limits = %v, want %v", created.Data.RateLimits, want)
	}
	if code, _, stderr := runCLI(t, env, "keys", "create", "--rpm", "-1"); code == 0 || !strings.Contains(stderr, "rate_limits.rpm") {
		t.Fatalf("a negative --rpm: exit %d: %s", code, stderr)
	}
}
