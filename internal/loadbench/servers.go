package loadbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/http/pprof"
	"net/url"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/provider/mock"
)

// Words is the answer length of the mock upstream: with the role and finish
// chunks and [DONE], a stream of 20 words is 23 events, the 22-event stream
// of internal/e2e's BenchmarkPassthrough plus its terminator.
const Words = 20

// SlowPrefix is the path prefix under which the upstream serves slow
// streams (ChunkDelay between events), so that thousands of streams can be
// open at once: /slow/v1/chat/completions.
const SlowPrefix = "/slow"

// UpstreamHandler is the mock upstream: the mock model answering at once,
// and under SlowPrefix the same model sleeping slowDelay between stream
// events.
func UpstreamHandler(slowDelay time.Duration) http.Handler {
	fast := mock.NewHandler(mock.Options{Words: Words})
	slow := mock.NewHandler(mock.Options{Words: Words, ChunkDelay: slowDelay})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := strings.CutPrefix(r.URL.Path, SlowPrefix); ok && strings.HasPrefix(p, "/") {
			r.URL.Path = p
			slow.ServeHTTP(w, r)
			return
		}
		fast.ServeHTTP(w, r)
	})
}

// ProxyHandler is the baseline: a bare httputil.ReverseProxy to upstream
// that flushes every write (as a streaming proxy must) and keeps enough idle
// upstream connections for the benchmark's concurrency.
func ProxyHandler(upstream *url.URL) http.Handler {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0 // no limit across hosts
	tr.MaxIdleConnsPerHost = 1024
	tr.DisableCompression = true // pass the client's Accept-Encoding through, as the gateway does
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			bufferBody(pr.Out)
		},
		FlushInterval: -1,
		Transport:     tr,
	}
}

// WithCPUProfile is h that also answers GET /debug/pprof/profile, so that
// --profile can set the baseline's CPU profile beside the gateway's.
func WithCPUProfile(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/debug/pprof/profile" {
			pprof.Profile(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bufferBody reads the request body into memory before it is sent on, as
// the gateway does. Streamed straight from the inbound connection, it cut
// about one response in a few hundred short: the server closes the inbound
// body when the response headers are written, the transport's last read of
// it (checking for bytes beyond Content-Length) then fails, and the
// transport drops the upstream connection mid-response ("use of closed
// network connection"), which the client sees as a truncated stream.
func bufferBody(r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		r.Body = io.NopCloser(errReader{err})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.GetBody = nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Serve listens on listen, writes the address it got ("127.0.0.1:PORT") and
// a newline to announce, and serves h until ctx ends. The benchmark starts
// its upstream and proxy this way, each in a process of its own.
func Serve(ctx context.Context, listen string, h http.Handler, announce io.Writer) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	if _, err := fmt.Fprintln(announce, ln.Addr().String()); err != nil {
		ln.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// The benchmark is done with this process; nothing needs draining.
	if err := hs.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
