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
		srv, err := server.New(ctx, parse(t, simConfig("1", "2", "0s")), server.Options{Store: st, LedgerInterval: 10 * time.Millisecond})
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
