package console_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// uplotSHA256 are the hashes of the vendored uPlot files recorded in
// assets/README.md.
var uplotSHA256 = map[string]string{
	"uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
	"uPlot.min.css":     "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
}

func TestUPlotIsThePinnedRelease(t *testing.T) {
	readme, err := os.ReadFile("assets/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range uplotSHA256 {
		b, err := os.ReadFile("assets/" + name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("assets/%s has sha256 %s, assets/README.md records %s", name, got, want)
		}
		if !strings.Contains(string(readme), want) {
			t.Errorf("assets/README.md does not record the hash of %s", name)
		}
	}
}

// chat makes one chat request with key; the mock provider answers.
func (g *gateway) chat(t *testing.T, key, model string) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://gw.test/v1/chat/completions",
		strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`))
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Title", "Console Test")
	w := httptest.NewRecorder()
	g.srv.ServeHTTP(w, r)
	return w.Code
}

// waitForUsage waits until the ledger has written n requests.
func (g *gateway) waitForUsage(t *testing.T, n float64) {
	t.Helper()
	for range 500 {
		var out struct {
			Data []struct {
				Requests float64 `json:"requests"`
			} `json:"data"`
		}
		g.api(t, http.MethodGet, "/usage?group_by=provider", g.adminKey, &out)
		var got float64
		for _, r := range out.Data {
			got += r.Requests
		}
		if got >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the ledger never recorded %v requests", n)
}

var usageData = regexp.MustCompile(`<div id="usage-data" hidden data-json="([^"]*)">`)

func TestUsagePageChartsTheRangeAndDownloadsCSV(t *testing.T) {
	g := newGateway(t)
	if c := g.chat(t, g.demoKey, "gpt-4o"); c != 200 {
		t.Fatalf("chat: %d", c)
	}
	if c := g.chat(t, g.demoKey, "no-such-model"); c < 400 {
		t.Fatalf("chat with an unknown model: %d", c)
	}
	g.waitForUsage(t, 1)

	b := g.browser()
	b.signIn(t, g.adminKey)
	resp, page := b.do(t, http.MethodGet, "/console/usage", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("usage page: %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{`aria-current="page">Usage`, `<option value="">All accounts</option>`, "gpt-4o", `id="usage-charts"`, `href="/console/usage.csv?`} {
		if !strings.Contains(page, want) {
			t.Errorf("usage page lacks %q", want)
		}
	}
	m := usageData.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no data block on the page:\n%s", page)
	}
	var data struct {
		Days   []int64 `json:"days"`
		Series []struct {
			Name     string  `json:"name"`
			Requests []int64 `json:"requests"`
		} `json:"series"`
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &data); err != nil {
		t.Fatalf("data block: %v\n%s", err, m[1])
	}
	if len(data.Days) != 30 || len(data.Series) == 0 || data.Series[0].Name != "gpt-4o" || data.Series[0].Requests[29] != 1 {
		t.Errorf("chart data = %+v", data)
	}

	// By app, over a range given by hand.
	today := g.clock.now().UTC().Format(time.DateOnly)
	_, page = b.do(t, http.MethodGet, "/console/usage?split=app&from="+today+"&to="+today, nil)
	if !strings.Contains(page, "Console Test") || !strings.Contains(page, `<option value="app" selected>`) {
		t.Errorf("usage by app lacks the app:\n%s", page)
	}
	// A bad date is said, and the default used.
	_, page = b.do(t, http.MethodGet, "/console/usage?from=yesterday", nil)
	if !strings.Contains(html.UnescapeString(page), "The start date must be a date") {
		t.Errorf("a bad date was not reported")
	}

	resp, body := b.do(t, http.MethodGet, "/console/usage.csv?split=model&from="+today+"&to="+today, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="usage-day-by-model-`) {
		t.Fatalf("csv: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	if !strings.HasPrefix(body, "day,model,requests,") || !strings.Contains(body, today+",gpt-4o,1,") {
		t.Errorf("csv body:\n%s", body)
	}

	// A management key sees its own account, and no account menu.
	var created struct {
		Key string `json:"key"`
	}
	if c := g.apiBody(t, http.MethodPost, "/keys", g.adminKey, `{"name":"team","kind":"management"}`, &created); c != 201 {
		t.Fatalf("management key: %d", c)
	}
	mb := g.browser()
	mb.signIn(t, created.Key)
	if _, page := mb.do(t, http.MethodGet, "/console/usage", nil); strings.Contains(page, "All accounts") || !strings.Contains(page, "gpt-4o") {
		t.Errorf("management key's usage page:\n%s", page)
	}
}

// apiBody calls the management API with a JSON body.
func (g *gateway) apiBody(t *testing.T, method, path, key, body string, out any) int {
	t.Helper()
	r := httptest.NewRequest(method, "http://gw.test/api/v1"+path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	g.srv.ServeHTTP(w, r)
	if out != nil && w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, w.Body)
		}
	}
	return w.Code
}
