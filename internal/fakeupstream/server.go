package fakeupstream

import (
	"bytes"
	"context"
	"github.com/switchyard-gw/switchyard/internal/provider/mock"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Behavior is how the fake answers one request. Zero value = a normal, fast answer.
//
// Faults apply in this order: FirstByteDelay, then DropBeforeHeaders, then
// Status, then MalformedJSON or DropAfterChunks on an otherwise normal
// answer.
type Behavior struct {
	Status     int    // non-zero and != 200: reply with this status and the dialect's error envelope
	ErrorType  string // envelope "type" (default OpenAI: "invalid_request_error" for 4xx, "server_error" for 5xx; Anthropic: by status, e.g. 429 rate_limit_error, 529 overloaded_error)
	ErrorCode  string // envelope "code" (default null; Anthropic has none)
	Message    string // envelope message (default "fake upstream error <status>")
	RetryAfter string // Retry-After header with Status (e.g. 429, "2")

	FirstByteDelay time.Duration // sleep before headers (ctx-aware)
	ChunkDelay     time.Duration // between stream chunks (passed to the mock)
	// DropAfterChunks aborts a stream's connection after this many SSE events
	// (no [DONE], no terminating chunk); 0 = off. A stream with fewer events
	// ends normally, and a whole (non-stream) response is never cut.
	DropAfterChunks   int
	DropBeforeHeaders bool // abort the connection before any response bytes
	// EndAfterChunks ends a stream cleanly after this many SSE events: the
	// body is properly terminated and the connection kept, but the rest
	// of the stream (the finish chunk and [DONE], message_stop, the chunk
	// with finishReason) never comes; 0 = off. DropAfterChunks, when also
	// set and smaller, wins. A whole (non-stream) response is never cut.
	EndAfterChunks int
	// MalformedJSON answers 200 with an invalid JSON body (non-stream), or
	// sends a `data: {not json` event after the first event of a stream and
	// then goes on with the stream. The bad event does not count towards
	// DropAfterChunks.
	MalformedJSON bool

	Reply              string // answer text
	Words              int
	UsageInFinishChunk bool
	OmitUsage          bool

	// Quirks of OpenAI-compatible services (OpenAI dialect only).
	// RejectFields answers 400 to a request whose body has any of these
	// top-level fields, as Groq does for logprobs.
	RejectFields []string
	// Reasoning is thinking text sent before the answer: streamed as
	// delta.reasoning_content chunks, whole as message.reasoning_content
	// (DeepSeek, Qwen, GLM, Doubao).
	Reasoning string
	// UsageAt moves a chunk's usage to this path ("choices.0.usage" as
	// Moonshot streams it, "x_groq.usage" as Groq does). With
	// UsageInFinishChunk the usage is on the finish chunk.
	UsageAt string

	// Blocked answers as a provider's safety filter would: "prompt" refuses
	// the prompt, "response" stops the answer. Only the Gemini dialect
	// implements it (promptFeedback.blockReason / finishReason "SAFETY");
	// the others ignore it.
	Blocked string

	// EchoKeyIn, with Status, puts the credential the request presented
	// (the dialect's key header, as the API key check reads it) into
	// these fields of the error envelope, as a hostile or careless
	// upstream might: any of "message", "type", "code", "param". The
	// dialect places each where its envelope has it (see writeKeyEcho);
	// fields not named keep their usual values.
	EchoKeyIn []string
}

// Options configures a Server.
type Options struct {
	APIKey  string   // if set, requests without "Authorization: Bearer <APIKey>" (Anthropic: "x-api-key: <APIKey>") get 401 in the dialect's envelope (Gemini: "x-goog-api-key" or ?key=, refused with Google's 400 API_KEY_INVALID); not Vertex AI, whose tokens the token endpoint mints (ServiceAccount)
	Models  []string // for GET /v1/models (default ["gpt-4o","gpt-4o-mini","fake-model"])
	Default Behavior

	// ServiceAccount enables the OAuth token endpoint (TokenURL) and the
	// Vertex AI dialect, whose requests need a token it minted for this
	// account (see vertex.go).
	ServiceAccount *ServiceAccount
	// AuthorizedUser, with ServiceAccount, is a user credential whose
	// refresh token the token endpoint also takes.
	AuthorizedUser *AuthorizedUser
	// TokenLifetime is how long a minted token is valid (default 1h).
	TokenLifetime time.Duration
	// Now is the clock minted tokens expire on (time.Now when nil).
	Now func() time.Time
}

// Request is one request as the fake received it.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
	ReceivedAt             time.Time
	Canceled               bool // the client went away (context cancelled) before the fake finished answering
	CanceledAt             time.Time
}

// Server is a fake provider listening on loopback.
type Server struct {
	URL string // e.g. http://127.0.0.1:PORT ; OpenAI base URL is URL+"/v1"

	srv       *httptest.Server
	apiKey    string
	models    []string
	dialects  []dialect
	tokens    *tokenIssuer // nil without Options.ServiceAccount
	ids       atomic.Uint64
	nextID    func() uint64
	stop      context.CancelFunc // ends the context of every request in flight
	closeOnce sync.Once

	// received counts request body bytes as they are read, across requests
	// (BodyBytesReceived): a test can see an upload arrive while it is
	// still being sent.
	received atomic.Int64

	mu      sync.Mutex
	def     Behavior
	queue   []Behavior
	reqs    []*record
	changed chan struct{} // closed and replaced whenever reqs changes
}

// record is a Request as the server keeps it while it may still change.
type record struct {
	req Request
	// finished is set when the fake has answered with the client still
	// there; a cancellation seen after that is not the client giving up.
	finished bool
}

// New starts a fake listening on 127.0.0.1 at a free port.
func New(o Options) *Server {
	s := &Server{
		apiKey:  o.APIKey,
		models:  slices.Clone(o.Models),
		def:     o.Default,
		changed: make(chan struct{}),
	}
	if len(s.models) == 0 {
		s.models = []string{"gpt-4o", "gpt-4o-mini", "fake-model"}
	}
	s.nextID = func() uint64 { return s.ids.Add(1) }
	// The dialects are tried in order and OpenAI, the last, takes whatever
	// the others do not claim (its mock answers unknown paths with a 404).
	// Anthropic takes paths ending in /v1/messages, Gemini paths ending in
	// models/{model}:generateContent or :streamGenerateContent, and any
	// other under /v1beta, the Responses API paths ending in /v1/responses.
	// Vertex AI takes the publisher model paths under /v1/projects/
	// (before Gemini, whose method names they end with).
	if o.ServiceAccount != nil {
		s.tokens = &tokenIssuer{sa: o.ServiceAccount, user: o.AuthorizedUser, url: s.TokenURL, lifetime: o.TokenLifetime, now: o.Now, tokens: map[string]time.Time{}}
		if s.tokens.lifetime <= 0 {
			s.tokens.lifetime = time.Hour
		}
		if s.tokens.now == nil {
			s.tokens.now = time.Now
		}
	}
	// Bedrock takes /model/{id}/converse[-stream] and checks SigV4
	// signatures with APIKey as the secret key.
	s.dialects = []dialect{vertex{tokens: s.tokens}, anthropic{}, gemini{}, responses{}, bedrock{secret: o.APIKey}, openAI{}}

	base, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.tokens != nil && r.URL.Path == tokenPath {
			s.tokens.serve(w, r) // not recorded: Requests are the model calls
			return
		}
		s.serve(w, r)
	}))
	// Every request context derives from base, so Close can end requests
	// that are sleeping in a delay instead of waiting them out.
	s.srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// Close stops the server. Requests in flight are cancelled and their
// connections closed, so Close does not wait for slow answers.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.stop()
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// SetDefault sets the behaviour of requests that find no queued behaviour.
func (s *Server) SetDefault(b Behavior) {
	s.mu.Lock()
	s.def = b
	s.mu.Unlock()
}

// Enqueue queues one-shot behaviours used by the next requests, in order,
// before the default. Requests refused for a bad API key (or, for
// Anthropic, a missing anthropic-version header) do not use one.
func (s *Server) Enqueue(b ...Behavior) {
	s.mu.Lock()
	s.queue = append(s.queue, b...)
	s.mu.Unlock()
}

func (s *Server) next() Behavior {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return s.def
	}
	b := s.queue[0]
	s.queue = s.queue[1:]
	return b
}

// Requests returns copies of the recorded requests, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = r.req.clone()
	}
	return out
}

// Last returns a copy of the last recorded request, or the zero Request.
func (s *Server) Last() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return Request{}
	}
	return s.reqs[len(s.reqs)-1].req.clone()
}

func (r *Request) clone() Request {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = bytes.Clone(r.Body)
	return c
}

// Reset forgets recorded requests and queued behaviours. The default
// behaviour stays. Requests in flight during Reset are not recorded again.
func (s *Server) Reset() {
	s.mu.Lock()
	s.reqs = nil
	s.queue = nil
	s.notifyLocked()
	s.mu.Unlock()
}

// WaitCanceled reports whether the n-th request (0-based) is recorded as
// cancelled by its client, waiting up to timeout for that to happen.
func (s *Server) WaitCanceled(n int, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		s.mu.Lock()
		done := n >= 0 && n < len(s.reqs) && s.reqs[n].req.Canceled
		changed := s.changed
		s.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-changed:
		case <-t.C:
			return false
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) record(r *record) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.notifyLocked()
	s.mu.Unlock()
}

func (s *Server) markCanceled(r *record) {
	s.mu.Lock()
	if !r.finished && !r.req.Canceled {
		r.req.Canceled = true
		r.req.CanceledAt = time.Now()
		s.notifyLocked()
	}
	s.mu.Unlock()
}

func (s *Server) markFinished(r *record) {
	s.mu.Lock()
	r.finished = true
	s.mu.Unlock()
}

// serve is the core: record, authenticate, pick the behaviour, inject the
// faults, and leave the normal answer to the request's dialect.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &record{req: Request{
		Method:     r.Method,
		Path:       r.URL.Path,
		RawQuery:   r.URL.RawQuery,
		Header:     r.Header.Clone(),
		ReceivedAt: time.Now(),
	}}
	body, err := io.ReadAll(&countingReader{r: r.Body, n: &s.received})
	rec.req.Body = body
	s.record(rec)
	if err != nil {
		// The client went away while sending the body.
		s.markCanceled(rec)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	// A request whose context ends before serve returns was abandoned by
	// its client; the AfterFunc records that as it happens, while the
	// answer may still be sleeping. On the way out the outcome is settled
	// under the lock: the AfterFunc's goroutine may not have started yet
	// when the answer returns because of the cancellation, and a
	// cancellation that comes after a complete answer (the server's own,
	// or a client closing once it has read [DONE]) must not count. A
	// deliberate abort unwinds through here too, with the context still
	// live: the fake dropped that connection, not the client.
	stop := context.AfterFunc(r.Context(), func() { s.markCanceled(rec) })
	defer func() {
		stop()
		if r.Context().Err() != nil {
			s.markCanceled(rec)
		} else {
			s.markFinished(rec)
		}
	}()

	d := s.dialectFor(r)
	if a, ok := d.(authenticator); ok {
		if !a.authenticate(r) {
			d.writeAuthError(w)
			return
		}
	} else if s.apiKey != "" && d.apiKey(r) != s.apiKey {
		d.writeAuthError(w)
		return
	}
	if c, ok := d.(requestChecker); ok && !c.checkRequest(w, r) {
		return
	}
	b := s.next()

	if !mock.Sleep(r.Context(), b.FirstByteDelay) {
		return
	}
	if b.DropBeforeHeaders {
		// net/http closes the connection without writing anything and
		// without logging: the client sees the connection end.
		panic(http.ErrAbortHandler)
	}
	if b.Status != 0 && b.Status != http.StatusOK {
		if b.RetryAfter != "" {
			w.Header().Set("Retry-After", b.RetryAfter)
		}
		msg := b.Message
		if msg == "" {
			msg = "fake upstream error " + strconv.Itoa(b.Status)
		}
		if len(b.EchoKeyIn) > 0 {
			f := errorFields{typ: b.ErrorType, code: b.ErrorCode, message: msg}
			f.echo(d.apiKey(r), b.EchoKeyIn)
			d.writeKeyEcho(w, b.Status, f)
			return
		}
		d.writeError(w, b.Status, b.ErrorType, b.ErrorCode, msg)
		return
	}
	stream := d.isStream(r, body)
	if b.MalformedJSON && !stream {
		d.writeMalformed(w)
		return
	}
	fw := &faultWriter{ResponseWriter: w, dropAfter: b.DropAfterChunks, endAfter: b.EndAfterChunks}
	if pw, ok := d.(perWriter); ok {
		fw.perWrite = pw.perWrite()
	}
	if b.MalformedJSON {
		fw.inject = d.malformedEvent()
	}
	d.answer(fw, r, b, s.models, s.nextID)
	if fw.dropped {
		// Send what the client was meant to get, then cut the connection:
		// without the chunked terminator, its read ends in an unexpected
		// EOF.
		fw.Flush()
		panic(http.ErrAbortHandler)
	}
	// fw.ended: returning normally terminates the body cleanly.
}

func (s *Server) dialectFor(r *http.Request) dialect {
	for _, d := range s.dialects[:len(s.dialects)-1] {
		if d.matches(r) {
			return d
		}
	}
	return s.dialects[len(s.dialects)-1]
}

// BodyBytesReceived is how many request body bytes the fake has read so
// far, over all requests, including one still arriving.
func (s *Server) BodyBytesReceived() int64 { return s.received.Load() }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
