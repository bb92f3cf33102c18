package mock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
)

// NewTransport returns an http.RoundTripper that serves each request with h
// in the calling process, without a socket.
//
// Unlike httptest.ResponseRecorder it streams: RoundTrip returns as soon as
// the handler has sent its headers (WriteHeader, its first Write or Flush) or
// has returned, and the response body then yields each Write as it happens.
// That is what lets the gateway treat the mock like any streaming upstream,
// time to first byte included.
//
// Closing the body early or cancelling the request's context cancels the
// context the handler sees and makes its next Write fail, so the handler's
// goroutine ends promptly. A handler that panics does not take the process
// down: RoundTrip returns an error if nothing was sent yet, otherwise the
// body read does.
func NewTransport(h http.Handler) http.RoundTripper {
	return &transport{h: h}
}

type transport struct{ h http.Handler }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		closeBody(req)
		return nil, errors.New("mock transport: nil Request.URL")
	}
	if err := req.Context().Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	ctx, cancel := context.WithCancel(req.Context())
	pr, pw := io.Pipe()
	rw := &responseWriter{
		header: make(http.Header),
		pw:     pw,
		ready:  make(chan struct{}),
	}
	context.AfterFunc(ctx, func() { rw.closePipe(ctx.Err()) })

	sreq := serverRequest(ctx, req)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				err := panicError(p)
				rw.closePipe(err)
				if !rw.wroteHeader {
					rw.err = err
					close(rw.ready)
				}
			} else {
				// A handler that wrote nothing has answered 200 with an
				// empty body, as with net/http.
				rw.WriteHeader(http.StatusOK)
				// A handler that returned because the caller went away has
				// not finished its response: the reader must not see EOF.
				rw.closePipe(ctx.Err())
			}
			cancel()
			closeBody(req)
		}()
		t.h.ServeHTTP(rw, sreq)
	}()

	select {
	case <-rw.ready:
		if rw.err != nil {
			return nil, rw.err
		}
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	resp := &http.Response{
		Status:        strconv.Itoa(rw.status),
		StatusCode:    rw.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rw.sent,
		Body:          &pipeBody{pr: pr, cancel: cancel},
		ContentLength: -1,
		Request:       req,
	}
	if text := http.StatusText(rw.status); text != "" {
		resp.Status += " " + text
	}
	if cl := resp.Header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			resp.ContentLength = n
		}
	}
	return resp, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func panicError(p any) error {
	if p == http.ErrAbortHandler {
		return fmt.Errorf("mock transport: handler aborted the response: %w", io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("mock transport: handler panicked: %v", p)
}

// serverRequest turns a client request into what a handler expects to see
// on the server side of a connection.
func serverRequest(ctx context.Context, req *http.Request) *http.Request {
	r := req.WithContext(ctx)
	r.Header = req.Header.Clone()
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	r.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	r.RequestURI = req.URL.RequestURI()
	if r.Host == "" {
		r.Host = req.URL.Host
	}
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.RemoteAddr = "127.0.0.1:0"
	r.GetBody = nil
	r.Close = false
	// The transport closes the caller's body when the handler returns (the
	// RoundTripper contract); the handler only reads it.
	if req.Body == nil || req.Body == http.NoBody {
		r.Body = http.NoBody
		r.ContentLength = 0
	} else {
		r.Body = readOnlyBody{req.Body}
		if req.ContentLength == 0 {
			r.ContentLength = -1 // a client's 0 with a body means unknown
		}
	}
	return r
}

type readOnlyBody struct{ r io.Reader }

func (b readOnlyBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (readOnlyBody) Close() error                 { return nil }

// responseWriter is the handler's side of the pipe. Only the handler's
// goroutine touches it, except for closePipe and the fields RoundTrip reads
// after ready is closed.
type responseWriter struct {
	header      http.Header
	sent        http.Header // header as of WriteHeader, what the client sees
	status      int
	wroteHeader bool
	pw          *io.PipeWriter
	closeOnce   sync.Once
	ready       chan struct{} // closed when the headers are sent or err is set
	err         error         // the handler panicked before sending headers
}

// closePipe ends the body: with EOF (err nil) when the handler returns, with
// its panic, or with the context's error when the caller goes away,
// whichever comes first. A later close must not replace the first error, or
// a reader could take a cancelled stream for a complete one.
func (w *responseWriter) closePipe(err error) {
	w.closeOnce.Do(func() { w.pw.CloseWithError(err) })
}

var _ http.Flusher = (*responseWriter)(nil)

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	// Informational responses are not the response; net/http sends them
	// ahead of it. The mock has no use for them, so they are dropped.
	if code < 200 && code != http.StatusSwitchingProtocols {
		return
	}
	w.wroteHeader = true
	w.status = code
	w.sent = w.header.Clone()
	close(w.ready)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		if w.header.Get("Content-Type") == "" && len(p) > 0 {
			w.header.Set("Content-Type", http.DetectContentType(p))
		}
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		// An empty write would wait on the pipe for a reader's Read.
		return 0, nil
	}
	return w.pw.Write(p)
}

// Flush sends the headers if they are not sent yet. Writes already reach the
// reader as they happen: the pipe has no buffer to flush.
func (w *responseWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
}

// FlushError is what http.ResponseController calls.
func (w *responseWriter) FlushError() error {
	w.Flush()
	return nil
}

// pipeBody is the response body. Closing it cancels the handler's context,
// so a handler sleeping between chunks wakes up, and closes the pipe, so one
// blocked in Write returns at once.
type pipeBody struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

func (b *pipeBody) Close() error {
	b.cancel()
	return b.pr.Close()
}
