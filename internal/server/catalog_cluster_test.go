package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A provider and a model added through one instance serve on the other
// through the cluster notice (the periodic refresh never runs here);
// deleted, they are gone from both. The wait is generous: it bounds a
// hang, it does not measure speed.
func TestClusterPropagatesProvidersAddedThroughTheAPI(t *testing.T) {
	a, b, adminKey := clusterPair(t)
	// The public model list needs no key and names every catalogue entry.
	listed := func(base string) bool {
		resp, err := http.Get(base + "/v1/models")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(out), `"api-sim"`)
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 10s", what)
			}
		}
	}
	if code, body := send(t, "POST", a+"/api/v1/providers", adminKey, `{"name":"sim2","type":"mock"}`); code != 201 {
		t.Fatalf("create provider on A: %d %s", code, body)
	}
	if code, body := send(t, "POST", a+"/api/v1/catalog/models", adminKey, `{"id":"api-sim","routes":[{"provider":"sim2"}]}`); code != 201 {
		t.Fatalf("create model on A: %d %s", code, body)
	}
	if !listed(a) {
		t.Fatal("A does not list its new model")
	}
	eventually("a model added on A is listed by B", func() bool { return listed(b) })
	if code, body := send(t, "DELETE", a+"/api/v1/catalog/models/api-sim", adminKey, ""); code != 200 {
		t.Fatalf("delete on A: %d %s", code, body)
	}
	eventually("a model deleted on A leaves B's list", func() bool { return !listed(b) })
}
