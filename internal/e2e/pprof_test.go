package e2e

import (
	"net/http"
	"strings"
	"testing"
)

func TestPprofOnlyForTheAdminKey(t *testing.T) {
	g := start(t, opts{})
	get := func(key string) (int, string) {
		req, _ := http.NewRequest("GET", g.URL+"/debug/pprof/goroutine?debug=1", nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, readAll(t, resp.Body)
	}
	if st, _ := get(""); st != 401 {
		t.Fatalf("no key: %d", st)
	}
	if st, _ := get(g.Key); st != 403 {
		t.Fatalf("an API key read profiles: %d", st)
	}
	if st, body := get(g.AdminKey); st != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("admin: %d %.100s", st, body)
	}
}
