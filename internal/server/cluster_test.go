package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/cluster"
	"github.com/switchyard-gw/switchyard/internal/server"
	"github.com/switchyard-gw/switchyard/internal/store/sqlite"
	"github.com/switchyard-gw/switchyard/internal/testenv"
)

// testRedis connects to SWITCHYARD_TEST_REDIS; without it the test is
// skipped locally and fails under CI=true.

// Two instances on one database and one Redis: a key created, disabled or
// deleted through one is honoured by the other within a second, without
// waiting for the periodic refresh (which this test never runs).
// send makes one request with key and returns the status and the body.
func send(t *testing.T, method, url, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// clusterPair starts two instances on one database and one Redis, each
// subscribed to the other's change notices, and returns their URLs and the
// admin key.
func clusterPair(t *testing.T) (a, b, adminKey string) {
	t.Helper()
	return clusterPairWith(t, "")
}

// clusterPairWith is clusterPair with extra config appended to each
// instance's.
func clusterPairWith(t *testing.T, extra string) (a, b, adminKey string) {
	t.Helper()
	rdb := testenv.Redis(t)
	channel := testenv.Prefix()

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := sqlite.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "shared.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	adminKey, _, _, err = admin.Bootstrap(ctx, st, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var urls [2]string
	for i := range urls {
		srv, err := server.New(ctx, parse(t, simConfig("1", "2", "0s")+extra), server.Options{Store: st, LedgerInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		bus := cluster.New(rdb, channel, nil)
		srv.JoinCluster(bus)
		subscribed := make(chan struct{}, 1)
		go bus.Run(ctx, func(ctx context.Context, topic string) {
			srv.Apply(ctx, topic)
			if topic == cluster.Resync {
				select {
				case subscribed <- struct{}{}:
				default:
				}
			}
		})
		select {
		case <-subscribed:
		case <-time.After(5 * time.Second):
			t.Fatal("instance never subscribed to change notices")
		}
		hs := httptest.NewServer(srv)
		t.Cleanup(hs.Close)
		t.Cleanup(func() { _ = srv.Close(context.Background()) })
		urls[i] = hs.URL
	}
	return urls[0], urls[1], adminKey
}

func TestClusterPropagatesKeyChanges(t *testing.T) {
	a, b, adminKey := clusterPair(t)

	call := func(method, url, key, body string) (int, string) { return send(t, method, url, key, body) }
	chatOn := func(base, key string) int {
		code, _ := call("POST", base+"/v1/chat/completions", key, `{"model":"chat-a","messages":[{"role":"user","content":"hi"}]}`)
		return code
	}
	within := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within one second", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	code, body := call("POST", a+"/api/v1/keys", adminKey, `{"name":"made on A"}`)
	if code != 201 {
		t.Fatalf("create key on A: %d %s", code, body)
	}
	key, hash := gjson.Get(body, "key").String(), gjson.Get(body, "data.hash").String()
	within("a key created on A works on B", func() bool { return chatOn(b, key) == 200 })

	if code, body := call("PATCH", a+"/api/v1/keys/"+hash, adminKey, `{"disabled":true}`); code != 200 {
		t.Fatalf("disable on A: %d %s", code, body)
	}
	within("a key disabled on A is refused by B", func() bool { return chatOn(b, key) == 403 })

	if code, body := call("PATCH", a+"/api/v1/keys/"+hash, adminKey, `{"disabled":false}`); code != 200 {
		t.Fatalf("enable on A: %d %s", code, body)
	}
	within("re-enabled on B", func() bool { return chatOn(b, key) == 200 })
	if code, body := call("DELETE", a+"/api/v1/keys/"+hash, adminKey, ""); code != 200 {
		t.Fatalf("delete on A: %d %s", code, body)
	}
	within("a key deleted on A is unknown to B", func() bool { return chatOn(b, key) == 401 })

	// An account topped up on A can spend on B.
	code, body = call("POST", a+"/api/v1/accounts", adminKey, `{"name":"paid","credits":0}`)
	if code != 201 {
		t.Fatalf("create account: %d %s", code, body)
	}
	acct := gjson.Get(body, "data.id").String()
	code, body = call("POST", a+"/api/v1/keys", adminKey, `{"name":"paid key","account_id":"`+acct+`"}`)
	if code != 201 {
		t.Fatalf("create key: %d %s", code, body)
	}
	paid := gjson.Get(body, "key").String()
	within("the new account's key on B", func() bool { return chatOn(b, paid) == 402 })
	if code, body := call("POST", a+"/api/v1/accounts/"+acct+"/credits", adminKey, `{"amount":5}`); code != 200 {
		t.Fatalf("top up on A: %d %s", code, body)
	}
	within("credits topped up on A spendable on B", func() bool { return chatOn(b, paid) == 200 })
}

// An address that spreads its failed authentications over two instances
// is refused by both once their sum passes server.auth_failures_per_minute,
// though neither alone saw more than the limit.
func TestFailedAuthenticationsAreCountedAcrossInstances(t *testing.T) {
	if s := time.Now().Second(); s >= 50 {
		time.Sleep(time.Duration(61-s) * time.Second) // the shared windows are clock minutes
	}
	a, b, adminKey := clusterPairWith(t, `
server:
  auth_failures_per_minute: 3
  trusted_proxies: ["127.0.0.1", "::1"]
`)
	from := func(url, key, addr string) int {
		req, _ := http.NewRequest("GET", url+"/api/v1/key", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("X-Forwarded-For", addr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	bad := "sk-sy-not-a-key-" + strings.Repeat("x", 30)
	for i, base := range []string{a, b, a, b} { // two each: neither alone passes 3
		if code := from(base, bad, "203.0.113.9"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, code)
		}
	}
	for _, base := range []string{a, b} {
		deadline := time.Now().Add(time.Second)
		for from(base, adminKey, "203.0.113.9") != http.StatusTooManyRequests {
			if time.Now().After(deadline) {
				t.Fatalf("%s still serves the address a second after its 4th failure over both instances", base)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if code := from(base, adminKey, "198.51.100.4"); code != http.StatusOK {
			t.Fatalf("%s: another address got %d, want 200", base, code)
		}
	}
}
