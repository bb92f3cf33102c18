package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/fakeupstream"
)

// secretsConfig puts one upstream of each wire format behind the gateway,
// all of them the same fake (it tells the formats apart by path).
const secretsConfig = `
server:
  access_log: on
providers:
  - { name: fake, type: openai, base_url: "${FAKE_URL}/v1", api_key: "${FAKE_KEY}", pricing: { prompt: 1.00, completion: 2.00 } }
  - { name: claude, type: anthropic, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}" }
  - { name: gemini, type: gemini, base_url: "${FAKE_URL}", api_key: "${FAKE_KEY}" }
models:
  - id: "claude-*"
    pricing: { prompt: 3.00, completion: 15.00 }
    routes: [{ provider: claude }]
  - id: "gemini-*"
    pricing: { prompt: 1.25, completion: 10.00 }
    routes: [{ provider: gemini }]
  - id: "*"
    routes: [{ provider: fake }]
`

// A hostile upstream puts the provider key it was sent into the fields of
// its error answers. Whatever the field, the client dialect or the
// upstream's format, the key must reach no response, no log line and no
// byte of the database; nor may a client's API key.
func TestSecretsInUpstreamErrorFieldsReachNoResponseLogOrDatabase(t *testing.T) {
	// Before defect 3 (issue 11) was fixed, "type", "code" and "param"
	// holding the provider key reached the OpenAI client's body on the
	// passthrough, the ledger's error_code, GET /generation and the log.
	for _, field := range []string{"message", "type", "code", "param"} {
		t.Run(field, func(t *testing.T) {
			leaks := leaksForField(t, field)
			for _, l := range leaks {
				t.Error(l)
			}
		})
	}
}

// leaksForField runs the suite against an upstream that echoes its key into
// field of every error and returns where a secret was found.
func leaksForField(t *testing.T, field string) []string {
	g := start(t, opts{yaml: secretsConfig})
	// The first requests succeed; then every answer is an error echoing the
	// key. 401 comes last, as it may take a route out.
	echo := func(status int) fakeupstream.Behavior {
		return fakeupstream.Behavior{Status: status, EchoKeyIn: []string{field}}
	}
	var bodies []string
	var genIDs []string
	send := func(method, path, body string, hdr ...string) {
		t.Helper()
		req, err := http.NewRequest(method, g.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var h strings.Builder
		_ = resp.Header.Write(&h)
		bodies = append(bodies, method+" "+path+" "+modelOf(body)+" → "+resp.Status+"\n"+h.String()+"\n"+string(b))
		if id := resp.Header.Get("X-Generation-Id"); id != "" {
			genIDs = append(genIDs, id)
		}
	}
	bearer := []string{"Authorization", "Bearer " + g.Key}
	anthropicHdr := []string{"X-Api-Key", g.Key, "Anthropic-Version", "2023-06-01"}
	geminiHdr := []string{"X-Goog-Api-Key", g.Key}
	// One call per client dialect, streamed and not, for a model behind
	// each upstream format.
	suite := func() {
		for _, model := range []string{"gpt-4o", "claude-x", "gemini-x"} {
			send("POST", "/v1/chat/completions", `{"model": "`+model+`", "messages": [{"role": "user", "content": "hi"}]}`, bearer...)
			send("POST", "/v1/chat/completions", `{"model": "`+model+`", "stream": true, "messages": [{"role": "user", "content": "hi"}]}`, bearer...)
			send("POST", "/v1/messages", `{"model": "`+model+`", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}`, anthropicHdr...)
			send("POST", "/v1/messages", `{"model": "`+model+`", "max_tokens": 16, "stream": true, "messages": [{"role": "user", "content": "hi"}]}`, anthropicHdr...)
			send("POST", "/v1beta/models/"+model+":generateContent", `{"contents": [{"parts": [{"text": "hi"}]}]}`, geminiHdr...)
			send("POST", "/v1beta/models/"+model+":streamGenerateContent?alt=sse", `{"contents": [{"parts": [{"text": "hi"}]}]}`, geminiHdr...)
		}
		send("POST", "/v1/messages/count_tokens", `{"model": "claude-x", "messages": [{"role": "user", "content": "hi"}]}`, anthropicHdr...)
		send("POST", "/v1/embeddings", `{"model": "gpt-4o", "input": "hi"}`, bearer...)
	}
	suite() // successes
	sent := len(g.Up.Requests())
	for _, status := range []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusUnauthorized} {
		g.Up.SetDefault(echo(status))
		suite()
	}
	if echoed := len(g.Up.Requests()) - sent; echoed < 20 {
		t.Fatalf("only %d requests reached the echoing upstream; the suite tests little", echoed)
	}
	// What the gateway tells about the failures afterwards.
	for _, id := range genIDs {
		send("GET", "/v1/generation?id="+id, "", bearer...)
		send("GET", "/api/v1/generation?id="+id, "", "Authorization", "Bearer "+g.AdminKey)
	}
	send("GET", "/v1/key", "", bearer...)
	send("GET", "/api/v1/keys", "", "Authorization", "Bearer "+g.AdminKey)
	send("GET", "/api/v1/usage", "", "Authorization", "Bearer "+g.AdminKey)
	send("GET", "/v1/providers", "", "Authorization", "Bearer "+g.AdminKey)
	send("GET", "/metrics", "", "Authorization", "Bearer "+g.AdminKey)
	g.flush(t)

	secrets := map[string]string{"the provider key": upstreamKey, "the client's API key": g.Key, "the admin key": g.AdminKey}
	places := map[string]string{"the log": g.Logs.String()}
	for i, b := range bodies {
		places["response "+strings.SplitN(b, "\n", 2)[0]+" (#"+itoa(i)+")"] = b
	}
	files, _ := filepath.Glob(g.DBPath + "*") // the database, its WAL and shared memory
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		places["database file "+filepath.Base(f)] = string(b)
	}
	var leaks []string
	for what, s := range secrets {
		for where, text := range places {
			if strings.Contains(text, s) {
				leaks = append(leaks, what+" ("+field+" of the upstream error) is in "+where)
			}
		}
	}
	return leaks
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// modelOf is the model a request body names, for messages.
func modelOf(body string) string {
	_, rest, ok := strings.Cut(body, `"model": "`)
	if !ok {
		return ""
	}
	m, _, _ := strings.Cut(rest, `"`)
	return "(" + m + ")"
}
