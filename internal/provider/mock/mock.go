package mock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
)

// Options tunes the simulated model. Zero values mean defaults.
type Options struct {
	Latency    time.Duration // sleep before the response headers (time to first byte)
	ChunkDelay time.Duration // sleep between stream chunks
	// Words is the number of words in a generated answer (default 12), capped
	// by max_tokens / max_completion_tokens (1 word = 1 token). It does not
	// apply to Reply, whose length is its own.
	Words int
	Reply string // if non-empty, the answer text (split on spaces into chunks)
	// UsageInFinishChunk puts usage on the finish_reason chunk instead of a
	// separate usage-only chunk, and sends it even when the client did not
	// ask for it: DeepSeek streams this way.
	UsageInFinishChunk bool
	OmitUsage          bool     // never send usage (a provider without usage)
	Models             []string // ids for GET /models (default: ["mock-1"])

	// Now is the clock behind "created"; nil means time.Now. Tests that
	// compare whole responses inject a fixed one.
	Now func() time.Time
	// NextID returns the number that makes response ids unique
	// ("chatcmpl-mock-<n>"); nil means a counter per handler starting at 1.
	// Share one function between handlers built per request so that their ids
	// do not repeat.
	NextID func() uint64
}

const (
	defaultWords = 12
	// maxBodyBytes bounds what the mock reads of a request. It is far above
	// any prompt a benchmark sends, and keeps a stray upload from growing the
	// pooled buffers without bound.
	maxBodyBytes = 32 << 20
	// modelCreated is the "created" of every listed model: a fixed instant,
	// because a model list that changed between calls would defeat caching
	// tests and golden files.
	modelCreated = 1735689600 // 2025-01-01T00:00:00Z
)

type handler struct {
	o      Options
	words  int
	models []string
	now    func() time.Time
	nextID func() uint64
	seq    atomic.Uint64
}

// NewHandler returns the simulated model. It serves, with or without the
// "/v1" prefix:
//
//	POST /chat/completions
//	POST /completions
//	POST /embeddings
//	GET  /models
//	GET  /models/{id}
//
// Every other path gets a 404 in the OpenAI error envelope. The handler is
// safe for concurrent use.
func NewHandler(o Options) http.Handler {
	h := &handler{o: o, words: o.Words, now: o.Now, nextID: o.NextID}
	if h.words <= 0 {
		h.words = defaultWords
	}
	h.models = slices.Clone(o.Models)
	if len(h.models) == 0 {
		h.models = []string{"mock-1"}
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.nextID == nil {
		h.nextID = func() uint64 { return h.seq.Add(1) }
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "/v1" || strings.HasPrefix(path, "/v1/") {
		path = path[len("/v1"):]
	}
	switch {
	case path == "/chat/completions":
		if allow(w, r, http.MethodPost) {
			h.chat(w, r)
		}
	case path == "/completions":
		if allow(w, r, http.MethodPost) {
			h.completions(w, r)
		}
	case path == "/embeddings":
		if allow(w, r, http.MethodPost) {
			h.embeddings(w, r)
		}
	case path == "/models":
		if allow(w, r, http.MethodGet) {
			h.listModels(w)
		}
	case strings.HasPrefix(path, "/models/"):
		if allow(w, r, http.MethodGet) {
			h.getModel(w, path[len("/models/"):])
		}
	default:
		// OpenAI answers an unknown route with this message and a 404.
		writeError(w, http.StatusNotFound, "Invalid URL ("+r.Method+" "+r.URL.Path+")", "")
	}
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeError(w, http.StatusMethodNotAllowed, "Method "+r.Method+" not allowed on "+r.URL.Path, "")
	return false
}

// writeError writes the OpenAI error envelope. code "" is rendered as null.
// param is always null: the mock does not point at fields.
func writeError(w http.ResponseWriter, status int, message, code string) {
	typ := "invalid_request_error"
	if status >= 500 {
		typ = "server_error"
	}
	b := make([]byte, 0, 96+len(message))
	b = append(b, `{"error":{"message":`...)
	b = jsonstr.Append(b, message)
	b = append(b, `,"type":`...)
	b = jsonstr.Append(b, typ)
	b = append(b, `,"param":null,"code":`...)
	if code == "" {
		b = append(b, "null"...)
	} else {
		b = jsonstr.Append(b, code)
	}
	b = append(b, "}}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// bufPool recycles the byte slices that request bodies are read into and
// responses are built in, so a steady benchmark load allocates little.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	// A buffer grown by one huge request would pin its memory for as long as
	// the pool keeps it; let those go.
	if cap(*b) > 1<<20 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

var errTooLarge = errors.New("request body too large")

// readBody reads the whole request body into dst[:0], growing it as needed.
func readBody(r *http.Request, dst []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst[:0])
	n, err := buf.ReadFrom(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return buf.Bytes(), err
	}
	if n > maxBodyBytes {
		return buf.Bytes(), errTooLarge
	}
	return buf.Bytes(), nil
}

// readRequest reads the body into *bp and writes the error response itself
// when the body cannot be read. It reports whether the caller should go on.
func readRequest(w http.ResponseWriter, r *http.Request, bp *[]byte) ([]byte, bool) {
	body, err := readBody(r, *bp)
	*bp = body
	switch {
	case errors.Is(err, errTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "Request body is larger than the mock accepts.", "")
		return nil, false
	case err != nil:
		// The client went away while sending; nobody is left to answer.
		return nil, false
	}
	return body, true
}

func badJSON(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, "We could not parse the JSON body of your request: "+err.Error(), "")
}

// modelRequest is what every JSON endpoint's request has.
type modelRequest interface{ model() string }

// decodeRequest reads and decodes a request body into req and checks that it
// names a model; on failure it has answered the client and returns false.
func decodeRequest(w http.ResponseWriter, r *http.Request, bp *[]byte, req modelRequest) bool {
	body, ok := readRequest(w, r, bp)
	if !ok {
		return false
	}
	if err := json.Unmarshal(body, req); err != nil {
		badJSON(w, err)
		return false
	}
	if k := caseVariant(body, req); k != "" {
		// encoding/json matches keys case-insensitively; OpenAI does not,
		// and refuses what it does not know. Without this the mock would
		// stream for {"streAm": true} while the gateway, reading keys
		// exactly, expects a JSON answer.
		writeError(w, http.StatusBadRequest, "Unrecognized request argument supplied: "+k, "")
		return false
	}
	if req.model() == "" {
		writeError(w, http.StatusBadRequest, "you must provide a model parameter", "")
		return false
	}
	return true
}

// Sleep waits d or until ctx is done, and reports whether ctx is still live.
// The fake upstream paces its faults with it too.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// caseVariant returns the first top-level key of body that names one of
// req's fields in another case ("streAm"), or "".
func caseVariant(body []byte, req any) string {
	fields := jsonFields(reflect.TypeOf(req))
	var bad string
	gjson.ParseBytes(body).ForEach(func(k, _ gjson.Result) bool {
		if fields[k.Str] {
			return true
		}
		for f := range fields {
			if strings.EqualFold(f, k.Str) {
				bad = k.Str
				return false
			}
		}
		return true
	})
	return bad
}

var fieldsByType sync.Map // reflect.Type → map[string]bool

// jsonFields is the set of JSON member names of the struct t points to.
func jsonFields(t reflect.Type) map[string]bool {
	if v, ok := fieldsByType.Load(t); ok {
		return v.(map[string]bool)
	}
	m := map[string]bool{}
	st := t
	for st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() == reflect.Struct {
		for i := range st.NumField() {
			name, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" {
				m[name] = true
			}
		}
	}
	fieldsByType.Store(t, m)
	return m
}
