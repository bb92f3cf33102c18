package fakeupstream

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const chatBody = `{"model":"gpt-4o","messages":[{"role":"user","content":"Hello there"}]}`
const streamBody = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hello there"}]}`

func start(t *testing.T, o Options) *Server {
	t.Helper()
	s := New(o)
	t.Cleanup(s.Close)
	return s
}

// client is a plain net/http client with its own connection pool, so that
// connections a test leaves behind do not leak into the next.
func client(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func post(t *testing.T, ctx context.Context, c *http.Client, url, body string, header ...string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.Do(req)
}

// respond posts body to path and reads the whole answer.
func respond(t *testing.T, s *Server, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	resp, err := post(t, context.Background(), client(t), s.URL+path, body, header...)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return resp, b
}

func chat(t *testing.T, s *Server, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return respond(t, s, "/v1/chat/completions", body, header...)
}

type errorEnvelope struct {
	Error struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
}

// events reads SSE events until the body ends, returning the data of each
// and the error that ended the reading (nil for a clean EOF).
func events(body io.Reader) ([]string, error) {
	var out []string
	r := bufio.NewReader(body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" {
				return out, nil
			}
			return out, err
		}
		if data, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "data: "); ok {
			out = append(out, data)
		}
	}
}

func TestChatAnswersLikeOpenAI(t *testing.T) {
	s := start(t, Options{})

	resp, body := chat(t, s, chatBody)
	var got struct {
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v: %s", resp.StatusCode, err, body)
	}
	if got.Object != "chat.completion" || got.Model != "gpt-4o" || len(got.Choices) != 1 ||
		!strings.HasPrefix(got.Choices[0].Message.Content, "This is the mock model answering: Hello there") ||
		got.Choices[0].FinishReason != "stop" || got.Usage.TotalTokens == 0 {
		t.Errorf("completion = %s", body)
	}

	resp, body = chat(t, s, streamBody)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("stream Content-Type = %q", ct)
	}
	evs, err := events(strings.NewReader(string(body)))
	if err != nil || len(evs) != 1+12+1+1 || evs[len(evs)-1] != "[DONE]" {
		t.Errorf("stream events (%v): %q", err, evs)
	}
}

func TestModelsListsConfiguredModels(t *testing.T) {
	tests := []struct {
		name   string
		models []string
		want   []string
	}{
		{name: "default", want: []string{"gpt-4o", "gpt-4o-mini", "fake-model"}},
		{name: "configured", models: []string{"only-one"}, want: []string{"only-one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Options{Models: tt.models})
			resp, err := client(t).Get(s.URL + "/v1/models")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var list struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range list.Data {
				ids = append(ids, m.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
				t.Errorf("models = %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestStatusFaultAnswersWithOpenAIEnvelope(t *testing.T) {
	tests := []struct {
		name           string
		b              Behavior
		wantType       string
		wantCode       string // JSON
		wantMessage    string
		wantRetryAfter string
	}{
		{name: "500 defaults", b: Behavior{Status: 500}, wantType: "server_error", wantCode: "null", wantMessage: "fake upstream error 500"},
		{name: "400 defaults", b: Behavior{Status: 400}, wantType: "invalid_request_error", wantCode: "null", wantMessage: "fake upstream error 400"},
		{
			name:     "429 with Retry-After",
			b:        Behavior{Status: 429, RetryAfter: "2", ErrorType: "requests", ErrorCode: "rate_limit_exceeded", Message: "Rate limit reached"},
			wantType: "requests", wantCode: `"rate_limit_exceeded"`, wantMessage: "Rate limit reached", wantRetryAfter: "2",
		},
		{name: "529 overloaded", b: Behavior{Status: 529, ErrorCode: "overloaded"}, wantType: "server_error", wantCode: `"overloaded"`, wantMessage: "fake upstream error 529"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Options{Default: tt.b})
			resp, body := chat(t, s, chatBody)
			if resp.StatusCode != tt.b.Status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.b.Status)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var env errorEnvelope
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if env.Error.Type != tt.wantType || string(env.Error.Code) != tt.wantCode ||
				env.Error.Message != tt.wantMessage || string(env.Error.Param) != "null" {
				t.Errorf("envelope = %s", body)
			}
		})
	}
}

func TestFirstByteDelayHoldsBackHeaders(t *testing.T) {
	const delay = 100 * time.Millisecond
	s := start(t, Options{Default: Behavior{FirstByteDelay: delay}})
	begin := time.Now()
	resp, err := post(t, context.Background(), client(t), s.URL+"/v1/chat/completions", chatBody)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if elapsed := time.Since(begin); elapsed < delay {
		t.Errorf("headers after %v, want at least %v", elapsed, delay)
	}
}

func TestDropAfterChunksCutsStreamMidway(t *testing.T) {
	s := start(t, Options{Default: Behavior{DropAfterChunks: 3}})
	resp, err := post(t, context.Background(), client(t), s.URL+"/v1/chat/completions", streamBody)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	evs, err := events(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read ended with %v, want unexpected EOF", err)
	}
	if len(evs) != 3 {
		t.Fatalf("got %d events before the drop, want 3: %q", len(evs), evs)
	}
	for _, e := range evs {
		if !json.Valid([]byte(e)) {
			t.Errorf("event %q is not a whole chunk", e)
		}
	}
	if s.Last().Canceled {
		t.Error("a connection the fake dropped was recorded as cancelled by the client")
	}
}

func TestDropBeforeHeadersFailsTheRequest(t *testing.T) {
	s := start(t, Options{})
	s.Enqueue(Behavior{DropBeforeHeaders: true})
	c := client(t)
	if resp, err := post(t, context.Background(), c, s.URL+"/v1/chat/completions", chatBody); err == nil {
		resp.Body.Close()
		t.Fatalf("request succeeded with status %d, want a connection error", resp.StatusCode)
	}
	// The fault was one-shot: the next request is answered.
	resp, err := post(t, context.Background(), c, s.URL+"/v1/chat/completions", chatBody)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("second request status %d", resp.StatusCode)
	}
}

func TestMalformedJSONBreaksBodyOrEvent(t *testing.T) {
	s := start(t, Options{Default: Behavior{MalformedJSON: true}})

	resp, body := chat(t, s, chatBody)
	if resp.StatusCode != 200 || json.Valid(body) {
		t.Errorf("whole response: status %d, body %s; want 200 and invalid JSON", resp.StatusCode, body)
	}

	_, body = chat(t, s, streamBody)
	evs, err := events(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 3 || evs[1] != "{not json" || !json.Valid([]byte(evs[0])) || evs[len(evs)-1] != "[DONE]" {
		t.Errorf("stream = %q; want a good first event, then {not json, then the rest", evs)
	}
}

func TestEnqueuedBehaviorsPrecedeDefault(t *testing.T) {
	s := start(t, Options{Default: Behavior{Status: 503}})
	s.Enqueue(Behavior{Status: 429}, Behavior{})
	s.Enqueue(Behavior{Status: 500})
	want := []int{429, 200, 500, 503, 503}
	for i, w := range want {
		if resp, _ := chat(t, s, chatBody); resp.StatusCode != w {
			t.Errorf("request %d: status %d, want %d", i, resp.StatusCode, w)
		}
	}
	s.SetDefault(Behavior{})
	if resp, _ := chat(t, s, chatBody); resp.StatusCode != 200 {
		t.Errorf("after SetDefault: status %d, want 200", resp.StatusCode)
	}
}

func TestAPIKeyIsRequiredWhenSet(t *testing.T) {
	tests := []struct {
		name       string
		header     []string
		wantStatus int
	}{
		{name: "no key", wantStatus: 401},
		{name: "wrong key", header: []string{"Authorization", "Bearer sk-wrong"}, wantStatus: 401},
		{name: "key without Bearer", header: []string{"Authorization", "sk-test"}, wantStatus: 401},
		{name: "right key", header: []string{"Authorization", "Bearer sk-test"}, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Options{APIKey: "sk-test"})
			// A refused request must not use up a queued behaviour.
			s.Enqueue(Behavior{Reply: "queued"})
			resp, body := chat(t, s, chatBody, tt.header...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 401 {
				var env errorEnvelope
				if err := json.Unmarshal(body, &env); err != nil || string(env.Error.Code) != `"invalid_api_key"` ||
					env.Error.Type != "invalid_request_error" {
					t.Errorf("envelope = %s", body)
				}
				_, body = chat(t, s, chatBody, "Authorization", "Bearer sk-test")
			}
			if !strings.Contains(string(body), `"content":"queued"`) {
				t.Errorf("the queued behaviour did not answer the first authorised request: %s", body)
			}
		})
	}
}

func TestRequestsAreRecordedInOrder(t *testing.T) {
	s := start(t, Options{})
	if last := s.Last(); last.Method != "" || last.Header != nil || last.Body != nil || !last.ReceivedAt.IsZero() {
		t.Errorf("Last on an empty record = %+v, want the zero Request", last)
	}
	before := time.Now()
	chat(t, s, chatBody, "Authorization", "Bearer sk-1", "X-Trace", "abc")
	resp, err := client(t).Get(s.URL + "/v1/models?limit=2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("recorded %d requests, want 2", len(reqs))
	}
	first := reqs[0]
	if first.Method != "POST" || first.Path != "/v1/chat/completions" || string(first.Body) != chatBody ||
		first.Header.Get("Authorization") != "Bearer sk-1" || first.Header.Get("X-Trace") != "abc" ||
		first.ReceivedAt.Before(before) || first.Canceled {
		t.Errorf("first request = %+v", first)
	}
	if last := s.Last(); last.Method != "GET" || last.Path != "/v1/models" || last.RawQuery != "limit=2" || len(last.Body) != 0 {
		t.Errorf("last request = %+v", last)
	}

	// What Requests returns is a copy.
	reqs[0].Body[0] = 'X'
	reqs[0].Header.Set("X-Trace", "changed")
	if again := s.Requests()[0]; string(again.Body) != chatBody || again.Header.Get("X-Trace") != "abc" {
		t.Error("changing a returned Request changed the record")
	}

	s.Enqueue(Behavior{Status: 500})
	s.Reset()
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests after Reset", n)
	}
	if resp, _ := chat(t, s, chatBody); resp.StatusCode != 200 {
		t.Errorf("queued behaviour survived Reset: status %d", resp.StatusCode)
	}
}

func TestClientCancelIsRecordedPromptly(t *testing.T) {
	s := start(t, Options{Default: Behavior{ChunkDelay: time.Minute}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := post(t, ctx, client(t), s.URL+"/v1/chat/completions", streamBody)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancelled := time.Now()
	cancel()
	if !s.WaitCanceled(0, 100*time.Millisecond) {
		t.Fatal("cancellation not recorded within 100ms")
	}
	if got := s.Last(); got.CanceledAt.Sub(cancelled) > 100*time.Millisecond || got.CanceledAt.Before(cancelled) {
		t.Errorf("CanceledAt %v after the cancel", got.CanceledAt.Sub(cancelled))
	}
}

func TestCompletedRequestIsNotCanceled(t *testing.T) {
	s := start(t, Options{})
	chat(t, s, streamBody)
	if s.WaitCanceled(0, 20*time.Millisecond) || s.WaitCanceled(5, 0) {
		t.Error("a request answered in full was recorded as cancelled")
	}
}

func TestCloseDoesNotWaitForSlowRequests(t *testing.T) {
	s := New(Options{Default: Behavior{FirstByteDelay: time.Minute}})
	c := client(t)
	req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/chat/completions", strings.NewReader(chatBody))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	for deadline := time.Now().Add(2 * time.Second); len(s.Requests()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("request never arrived")
		}
	}
	begin := time.Now()
	s.Close()
	if elapsed := time.Since(begin); elapsed > time.Second {
		t.Errorf("Close took %v", elapsed)
	}
	select {
	case <-errc:
	case <-time.After(2 * time.Second):
		t.Error("the client is still waiting after Close")
	}
}

func TestFaultWriterCountsEventsAcrossWrites(t *testing.T) {
	tests := []struct {
		name      string
		writes    []string
		dropAfter int
		inject    string
		want      string
		wantDrop  bool
	}{
		{name: "one event per write", writes: []string{"data: 1\n\n", "data: 2\n\n", "data: 3\n\n"}, dropAfter: 2, want: "data: 1\n\ndata: 2\n\n", wantDrop: true},
		{name: "blank line split across writes", writes: []string{"data: 1\n", "\ndata: 2\n", "\n", "data: 3\n\n"}, dropAfter: 2, want: "data: 1\n\ndata: 2\n\n", wantDrop: true},
		{name: "many events in one write", writes: []string{"data: 1\n\ndata: 2\n\ndata: 3\n\n"}, dropAfter: 1, want: "data: 1\n\n", wantDrop: true},
		{name: "fewer events than the limit", writes: []string{"data: 1\n\n"}, dropAfter: 5, want: "data: 1\n\n"},
		{name: "inject after the first event", writes: []string{"data: 1\n\ndata: 2\n\n"}, inject: "data: {bad\n\n", want: "data: 1\n\ndata: {bad\n\ndata: 2\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			fw := &faultWriter{ResponseWriter: rec, dropAfter: tt.dropAfter}
			if tt.inject != "" {
				fw.inject = []byte(tt.inject)
			}
			var err error
			for _, w := range tt.writes {
				if _, err = fw.Write([]byte(w)); err != nil {
					break
				}
			}
			if rec.Body.String() != tt.want {
				t.Errorf("wrote %q, want %q", rec.Body.String(), tt.want)
			}
			if fw.dropped != tt.wantDrop || (err != nil) != tt.wantDrop {
				t.Errorf("dropped = %v, last error %v; want drop %v", fw.dropped, err, tt.wantDrop)
			}
		})
	}
}
