package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The seeds (shared/seeds/*.txt) are documentation that users of hosted
// gateways copy requests from. Every chat-completions and models request in
// them is copied into testdata/seeds (see its README for which snippet each
// file came from) and replayed here with the real curl, so that what a user
// pastes from such a page works against Switchyard unchanged.

// seedRequest is one request read from a testdata/seeds/*.http file.
type seedRequest struct {
	name    string      // file name without ".http"
	method  string      // GET or POST
	path    string      // as written after the host: /v1/models, /api/v1/chat/completions
	headers [][2]string // name, value; in the snippet's order
	body    []byte      // nil when the request has none
}

// model is the "model" the seed asks for.
func (s seedRequest) model(t *testing.T) string {
	t.Helper()
	var b struct{ Model string }
	if err := json.Unmarshal(s.body, &b); err != nil {
		t.Fatalf("%s: body is not JSON: %v", s.name, err)
	}
	return b.Model
}

// stream reports whether the seed asks for a streamed answer.
func (s seedRequest) stream(t *testing.T) bool {
	t.Helper()
	var b struct{ Stream bool }
	if err := json.Unmarshal(s.body, &b); err != nil {
		t.Fatalf("%s: body is not JSON: %v", s.name, err)
	}
	return b.Stream
}

// parseSeedRequest reads the testdata format: "#" comment lines, then
// "METHOD PATH", then headers up to a blank line, then the body, whose
// file's final newline is not part of it.
func parseSeedRequest(name string, data []byte) (seedRequest, error) {
	req := seedRequest{name: name}
	head, body, found := bytes.Cut(data, []byte("\n\n"))
	if !found {
		return req, errors.New("no blank line after the headers")
	}
	if len(body) > 0 {
		req.body = bytes.TrimSuffix(body, []byte("\n"))
	}
	requestLine := true
	for _, line := range strings.Split(string(head), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			if !requestLine {
				return req, fmt.Errorf("comment %q after the request line", line)
			}
		case requestLine:
			method, path, ok := strings.Cut(line, " ")
			if !ok || !strings.HasPrefix(path, "/") {
				return req, fmt.Errorf("request line %q is not METHOD /PATH", line)
			}
			req.method, req.path = method, path
			requestLine = false
		default:
			k, v, ok := strings.Cut(line, ": ")
			if !ok {
				return req, fmt.Errorf("header line %q is not Name: value", line)
			}
			req.headers = append(req.headers, [2]string{k, v})
		}
	}
	if requestLine {
		return req, errors.New("no request line")
	}
	if (req.method == http.MethodGet) != (req.body == nil) {
		return req, fmt.Errorf("%s with a body of %d bytes: only POSTs have one", req.method, len(req.body))
	}
	return req, nil
}

func loadSeedRequests(t *testing.T) []seedRequest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "seeds", "*.http"))
	if err != nil {
		t.Fatal(err)
	}
	var reqs []seedRequest
	perSeed := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".http")
		req, err := parseSeedRequest(name, data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		reqs = append(reqs, req)
		perSeed[name[:3]]++
	}
	// Every seed document has requests to replay; losing a file must fail.
	for _, seed := range []string{"000", "001", "002", "003", "004"} {
		if perSeed[seed] == 0 {
			t.Errorf("no request copied from seed %s in testdata/seeds", seed)
		}
	}
	return reqs
}

// needCurl returns the path of curl. Without curl the replay cannot run: a
// developer's machine may lack it, CI must not.
func needCurl(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("curl is required in CI to replay the seed requests: %v", err)
		}
		t.Skipf("curl not on PATH; the seed replay needs it: %v", err)
	}
	return path
}

// curlReply is what curl received.
type curlReply struct {
	status int
	header http.Header
	body   []byte
}

// replayWithCurl sends req to the gateway as the seed's own curl would: the
// same method, path, headers and body bytes, with the bearer token replaced
// by key when key is not "". Streams are read with -N, as the seeds do.
func replayWithCurl(t *testing.T, curl string, g *gateway, req seedRequest, key string) curlReply {
	t.Helper()
	dir := t.TempDir()
	bodyOut, headerOut := filepath.Join(dir, "response.body"), filepath.Join(dir, "response.headers")
	// -q (first) ignores any ~/.curlrc; --noproxy keeps a proxy from the
	// environment off loopback.
	args := []string{"-q", "-sS", "--noproxy", "*", "--max-time", "20",
		"--request", req.method, "-o", bodyOut, "-D", headerOut, "-w", "%{http_code}"}
	if req.body != nil {
		if req.stream(t) {
			args = append(args, "-N")
		}
		in := filepath.Join(dir, "request.json")
		if err := os.WriteFile(in, req.body, 0o600); err != nil {
			t.Fatal(err)
		}
		// --data-binary sends the file as is; -d @file would drop its newlines.
		args = append(args, "--data-binary", "@"+in)
	}
	for _, h := range req.headers {
		name, value := h[0], h[1]
		if key != "" && strings.EqualFold(name, "Authorization") {
			value = "Bearer " + key
		}
		args = append(args, "-H", name+": "+value)
	}
	args = append(args, g.URL+req.path)

	cmd := exec.CommandContext(t.Context(), curl, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	status, err := strconv.Atoi(strings.TrimSpace(stdout.String()))
	if err != nil {
		t.Fatalf("curl printed no status code: %q", stdout.String())
	}
	rawHeader, err := os.ReadFile(headerOut)
	if err != nil {
		t.Fatal(err)
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(rawHeader)))
	if _, err := tp.ReadLine(); err != nil { // the status line; -w gave the code
		t.Fatalf("response headers: %v", err)
	}
	header, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("response headers %q: %v", rawHeader, err)
	}
	body, err := os.ReadFile(bodyOut)
	if err != nil {
		t.Fatal(err)
	}
	return curlReply{status: status, header: http.Header(header), body: body}
}

// seedUpstreamModel is what baseConfig sends upstream for a seed's model:
// gpt-4o and its alias go to their route's model, everything else reaches
// the "*" catch-all unchanged.
func seedUpstreamModel(model string) string {
	switch model {
	case "gpt-4o", "openai/gpt-4o":
		return "gpt-4o-2024-08-06"
	}
	return model
}

// modelValueSpan returns the byte range of the top-level "model" value in body.
func modelValueSpan(t *testing.T, body []byte) (start, end int) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("body does not start with an object: %v", err)
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if key == "model" {
			end = int(dec.InputOffset())
			start = end - len(v)
			if !bytes.Equal(body[start:end], v) {
				t.Fatalf("model value span [%d,%d) is %q, want %q", start, end, body[start:end], v)
			}
			return start, end
		}
	}
	t.Fatal("body has no model")
	return 0, 0
}

// wantUpstreamBody is the seed body as the gateway must forward it: every
// byte the client sent, with only the model value replaced and, for a
// stream whose client did not ask for usage, "stream_options" with
// include_usage inserted as the first member so that the gateway learns the
// usage it bills (api/openai.Request.UpstreamBody).
func wantUpstreamBody(t *testing.T, body []byte, upstreamModel string, stream bool) []byte {
	t.Helper()
	start, end := modelValueSpan(t, body)
	quoted, _ := json.Marshal(upstreamModel)
	var out []byte
	out = append(out, body[:start]...)
	out = append(out, quoted...)
	out = append(out, body[end:]...)
	if stream {
		open := bytes.IndexByte(out, '{') + 1
		out = append(out[:open:open], append([]byte(`"stream_options":{"include_usage":true},`), out[open:]...)...)
	}
	return out
}

// checkSeedCompletion asserts a non-streamed answer is a chat.completion the
// seeds' data.choices[0].message.content can read.
func checkSeedCompletion(t *testing.T, r curlReply, model string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var c struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message *struct {
				Role string `json:"role"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatalf("answer is not JSON (%v): %s", err, r.body)
	}
	if c.Object != "chat.completion" || !strings.HasPrefix(c.ID, "gen-") || c.Model != model {
		t.Errorf("object %q id %q model %q; want chat.completion, a gen- id and %q: %s", c.Object, c.ID, c.Model, model, r.body)
	}
	if len(c.Choices) == 0 || c.Choices[0].Message == nil || c.Choices[0].Message.Role != "assistant" {
		t.Errorf("choices[0].message is missing or not the assistant's: %s", r.body)
	}
}

// checkSeedStream asserts a streamed answer is SSE that the seeds' loop
// (chunk.choices[0].delta.content) reads to the end without crashing.
func checkSeedStream(t *testing.T, r curlReply, model string) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type %q, want text/event-stream", ct)
	}
	var data []string
	for _, line := range strings.Split(string(r.body), "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, ":"): // event end, keep-alive comment
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		default:
			t.Fatalf("not an SSE data line: %q in\n%s", line, r.body)
		}
	}
	if len(data) < 2 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("stream does not end with data: [DONE]:\n%s", r.body)
	}
	finished := false
	var text strings.Builder
	for i, d := range data[:len(data)-1] {
		var ch struct {
			ID      string `json:"id"`
			Object  string `json:"object"`
			Model   string `json:"model"`
			Choices []struct {
				Delta *struct {
					Content string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(d), &ch); err != nil {
			t.Fatalf("event %d is not a JSON chunk (%v): %s", i, err, d)
		}
		if ch.Object != "chat.completion.chunk" || !strings.HasPrefix(ch.ID, "gen-") || ch.Model != model {
			t.Errorf("event %d: object %q id %q model %q; want chat.completion.chunk, a gen- id and %q", i, ch.Object, ch.ID, ch.Model, model)
		}
		// The client did not ask for usage, so no usage-only chunk with empty choices.
		if len(ch.Choices) == 0 || ch.Choices[0].Delta == nil {
			t.Fatalf("event %d has no choices[0].delta; chunk.choices[0].delta.content would crash: %s", i, d)
		}
		text.WriteString(ch.Choices[0].Delta.Content)
		if fr := ch.Choices[0].FinishReason; fr != nil && *fr != "" {
			finished = true
		}
	}
	if !finished {
		t.Errorf("no chunk carries a finish_reason:\n%s", r.body)
	}
	if text.Len() == 0 {
		t.Errorf("the stream carried no text:\n%s", r.body)
	}
}

// checkSeedModels asserts the 000 seed's expected result: a list with gpt-4o.
func checkSeedModels(t *testing.T, r curlReply) {
	t.Helper()
	var l struct {
		Object string `json:"object"`
		Data   []struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &l); err != nil || l.Object != "list" {
		t.Fatalf("not a models list (%v): %s", err, r.body)
	}
	for _, m := range l.Data {
		if m.ID == "gpt-4o" && m.Object == "model" {
			return
		}
	}
	t.Fatalf("the list has no {\"id\": \"gpt-4o\", \"object\": \"model\"}: %s", r.body)
}

func TestSeedRequestsWorkWhenReplayedWithCurl(t *testing.T) {
	curl := needCurl(t)
	g := start(t, opts{})
	for _, req := range loadSeedRequests(t) {
		t.Run(req.name, func(t *testing.T) {
			before := len(g.Up.Requests())
			r := replayWithCurl(t, curl, g, req, g.Key)
			if r.status != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", r.status, r.body)
			}
			if req.body == nil {
				checkSeedModels(t, r)
				return
			}
			model, stream := req.model(t), req.stream(t)
			if stream {
				checkSeedStream(t, r, model)
			} else {
				checkSeedCompletion(t, r, model)
			}

			ups := g.Up.Requests()
			if len(ups) != before+1 {
				t.Fatalf("the upstream got %d requests, want 1", len(ups)-before)
			}
			up := ups[len(ups)-1]
			if up.Method != http.MethodPost || up.Path != "/v1/chat/completions" {
				t.Errorf("upstream request %s %s, want POST /v1/chat/completions", up.Method, up.Path)
			}
			if want := wantUpstreamBody(t, req.body, seedUpstreamModel(model), stream); !bytes.Equal(up.Body, want) {
				t.Errorf("upstream body is not the seed's with only the model (and stream_options) changed:\n got %s\nwant %s", up.Body, want)
			}
			if got := up.Header.Get("Authorization"); got != "Bearer "+upstreamKey {
				t.Errorf("upstream Authorization %q, want the provider key", got)
			}
			// HTTP-Referer and X-Title (seed 003) are the gateway's attribution
			// of the generation, not something to pass to the provider.
			for _, name := range []string{"HTTP-Referer", "X-Title", "Referer"} {
				if v := up.Header.Get(name); v != "" {
					t.Errorf("client header %s reached the upstream: %q", name, v)
				}
			}
		})
	}
}

func TestSeedPlaceholderKeyIsRejected(t *testing.T) {
	curl := needCurl(t)
	g := start(t, opts{})
	data, err := os.ReadFile(filepath.Join("testdata", "seeds", "001_1be457b6a0e0cfb4_01.http"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := parseSeedRequest("001_1be457b6a0e0cfb4_01", data)
	if err != nil {
		t.Fatal(err)
	}
	// Replayed as pasted: "Authorization: Bearer sk-xxxx".
	r := replayWithCurl(t, curl, g, req, "")
	if r.status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401: %s", r.status, r.body)
	}
	var e envelope
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an error envelope (%v): %s", err, r.body)
	}
	if code(e) != "invalid_api_key" {
		t.Errorf("code %q, want invalid_api_key: %s", code(e), r.body)
	}
	if e.RequestID == "" || e.RequestID != r.header.Get("X-Request-Id") {
		t.Errorf("request_id %q does not match X-Request-Id %q", e.RequestID, r.header.Get("X-Request-Id"))
	}
	if n := len(g.Up.Requests()); n != 0 {
		t.Errorf("a request with an unknown key reached the upstream (%d requests)", n)
	}
}

func TestParseSeedRequest(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		want     seedRequest
		wantFail bool
	}{
		{
			name: "GET without body",
			data: "# seed\nGET /v1/models\nAuthorization: Bearer k\n\n",
			want: seedRequest{method: "GET", path: "/v1/models", headers: [][2]string{{"Authorization", "Bearer k"}}},
		},
		{
			name: "body keeps inner newlines and loses only the file's last one",
			data: "POST /v1/chat/completions\nContent-Type: application/json\n\n{\n\"a\": 1\n}\n",
			want: seedRequest{method: "POST", path: "/v1/chat/completions", headers: [][2]string{{"Content-Type", "application/json"}}, body: []byte("{\n\"a\": 1\n}")},
		},
		{name: "no blank line", data: "POST /x\nA: b\n", wantFail: true},
		{name: "GET with a body", data: "GET /x\n\n{}\n", wantFail: true},
		{name: "POST without a body", data: "POST /x\n\n", wantFail: true},
		{name: "bad header", data: "POST /x\nno-colon\n\n{}\n", wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSeedRequest("x", []byte(tt.data))
			if tt.wantFail {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.name = "x"
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || !bytes.Equal(got.body, tt.want.body) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestWantUpstreamBodyChangesOnlyModelAndStreamOptions(t *testing.T) {
	tests := []struct {
		name, body, model string
		stream            bool
		want              string
	}{
		{name: "model first", body: `{"model": "gpt-4o", "x": "gpt-4o"}`, model: "up", want: `{"model": "up", "x": "gpt-4o"}`},
		{name: "model last, after a value naming it", body: `{"messages":[{"content":"\"model\":\"m\""}],"model":"m"}`, model: "u",
			want: `{"messages":[{"content":"\"model\":\"m\""}],"model":"u"}`},
		{name: "stream gets include_usage first", body: "{\n\"model\": \"m\",\n\"stream\": true\n}", model: "m", stream: true,
			want: "{\"stream_options\":{\"include_usage\":true},\n\"model\": \"m\",\n\"stream\": true\n}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wantUpstreamBody(t, []byte(tt.body), tt.model, tt.stream); string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
