package console_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serve sends one API request to the gateway as key and decodes its answer.
func (g *gateway) serve(t *testing.T, method, path, key, body string, out any) {
	t.Helper()
	r := httptest.NewRequest(method, "http://gw.test"+path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	g.srv.ServeHTTP(w, r)
	if w.Code/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGenerationsPagesAsAManagementKey: a management key's session lists
// its own account's generations and not another's, opens one, reads the
// Models page, and is told Providers needs the admin key.
func TestGenerationsPagesAsAManagementKey(t *testing.T) {
	g := newGateway(t)
	var acct struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	g.serve(t, "POST", "/api/v1/accounts", g.adminKey, `{"name":"team"}`, &acct)
	var mgmt, app struct {
		Key string `json:"key"`
	}
	g.serve(t, "POST", "/api/v1/keys", g.adminKey, `{"name":"team-manager","kind":"management","account_id":"`+acct.Data.ID+`"}`, &mgmt)
	g.serve(t, "POST", "/api/v1/keys", g.adminKey, `{"name":"team-app","account_id":"`+acct.Data.ID+`"}`, &app)
	var mine, theirs struct {
		ID string `json:"id"`
	}
	chat := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	g.serve(t, "POST", "/v1/chat/completions", app.Key, chat, &mine)
	g.serve(t, "POST", "/v1/chat/completions", g.demoKey, chat, &theirs)
	// The ledger writes within its interval; wait for both records.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var list struct {
			Data []json.RawMessage `json:"data"`
		}
		g.serve(t, "GET", "/api/v1/generations", g.adminKey, "", &list)
		if len(list.Data) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ledger holds %d generations, want 2", len(list.Data))
		}
		time.Sleep(5 * time.Millisecond)
	}

	b := g.browser()
	b.signIn(t, mgmt.Key)
	resp, page := b.do(t, http.MethodGet, "/console/generations", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `data-id="`+mine.ID+`"`) || strings.Contains(page, `data-id="`+theirs.ID+`"`) {
		t.Errorf("the team's Generations page (%d) should list %s and not %s:\n%s", resp.StatusCode, mine.ID, theirs.ID, page)
	}
	if strings.Contains(page, `name="account_id"`) {
		t.Error("a management key's page offers the account filter")
	}
	resp, page = b.do(t, http.MethodGet, "/console/generations/"+mine.ID, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="attempts"`) || !strings.Contains(page, "team-app") {
		t.Errorf("the detail of %s: %d\n%s", mine.ID, resp.StatusCode, page)
	}
	if resp, _ = b.do(t, http.MethodGet, "/console/generations/"+theirs.ID, nil); resp.StatusCode != 404 {
		t.Errorf("another account's generation: %d, want 404", resp.StatusCode)
	}
	resp, page = b.do(t, http.MethodGet, "/console/generations?from=yesterday", nil)
	if resp.StatusCode != 400 || !strings.Contains(page, "start date") {
		t.Errorf("a bad date: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.do(t, http.MethodGet, "/console/models", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `data-model="gpt-4o"`) || strings.Contains(page, "<th>Routes</th>") {
		t.Errorf("the Models page for a management key: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.do(t, http.MethodGet, "/console/providers", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `id="providers-need-admin"`) || strings.Contains(page, `id="providers"`) {
		t.Errorf("the Providers page for a management key: %d\n%s", resp.StatusCode, page)
	}
}
