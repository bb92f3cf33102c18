//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// drainConfig routes every model to a fake provider at ${UP} (written into
// the file by the test). The drain timeout is short so that a stream which
// never ends outlives it.
const drainConfig = `
server:
  drain_timeout: 300ms
providers:
  - name: slow
    type: openai
    base_url: "${UP}/v1"
    api_key: sk-upstream-drain-test
models:
  - id: "*"
    pricing: { prompt: 1.00, completion: 2.00 }
    routes: [{ provider: slow }]
`

// A stream still running when the drain timeout ends is cut; it must still
// be recorded and charged for what it delivered before the process exits.
func TestStreamCutByDrainTimeoutIsRecordedAndCharged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the switchyard binary")
	}
	// A stream that, for the test's purposes, never ends: a million words,
	// one every 50ms.
	up := fakeupstream.New(fakeupstream.Options{APIKey: "sk-upstream-drain-test",
		Default: fakeupstream.Behavior{ChunkDelay: 50 * time.Millisecond, Words: 1_000_000}})
	t.Cleanup(up.Close)

	bin := buildSwitchyardBinary(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "drain.yaml")
	if err := os.WriteFile(cfgPath, []byte(strings.ReplaceAll(drainConfig, "${UP}", up.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)

	g := startGatewayProcess(t, bin, dir, cfgPath)
	adminKey := firstStartKey(t, g, "admin key (management API)")
	st, out := adminCall(t, hc, "POST", g.root+"/api/v1/accounts", adminKey, `{"name": "drain", "credits": 100}`)
	acct, _ := out["id"].(string)
	if st != http.StatusCreated || acct == "" {
		t.Fatalf("create account: %d %v", st, out)
	}
	st, out = adminCall(t, hc, "POST", g.root+"/api/v1/keys", adminKey, `{"name": "drain", "account_id": "`+acct+`"}`)
	key, _ := out["key"].(string)
	keyHash, _ := out["hash"].(string)
	if st != http.StatusCreated || key == "" || keyHash == "" {
		t.Fatalf("create key: %d %v", st, out)
	}

	req, err := http.NewRequest(http.MethodPost, g.base+"/chat/completions",
		strings.NewReader(`{"model": "slow-model", "stream": true, "messages": [{"role": "user", "content": "go on forever"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	// Read a few content chunks, so that the generation has delivered
	// something to pay for.
	sc := bufio.NewScanner(resp.Body)
	var id string
	for chunks := 0; chunks < 4 && sc.Scan(); {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var c struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		id = c.ID
		chunks++
	}
	if id == "" {
		t.Fatalf("no chunk with an id arrived: %v", sc.Err())
	}
	// Keep reading what the gateway sends until it hangs up, as a client
	// would.
	go func() { _, _ = io.Copy(io.Discard, resp.Body) }()

	g.stop(t, syscall.SIGTERM)

	ls := readLedgerState(t, dir, acct, keyHash)
	ls.checkConsistent(t)
	gen := ls.checkStored(t, nil, map[string]bool{id: true})[id]
	if gen == nil {
		t.Fatalf("the stream cut by the drain timeout (%s) is not in the ledger", id)
	}
	if !gen.Cancelled || gen.TokensCompletion <= 0 || gen.Cost <= 0 {
		t.Errorf("generation %s: cancelled %v, %d completion tokens, cost %s; want a cancelled generation charged for what it delivered",
			id, gen.Cancelled, gen.TokensCompletion, gen.Cost)
	}
	if ls.generations != 1 || ls.spent != gen.Cost {
		t.Errorf("the account has %d generations and spent %s; want the one stream at %s", ls.generations, ls.spent, gen.Cost)
	}
}
