package server

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/clientaddr"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/relay"
)

// The transport bounds: what one client connection may hold of the
// server's time, connections and file descriptors. Each has a knob under
// server.* (docs/configuration.md) and is listed in docs/security.md.

// idleTimeout closes a keep-alive connection after this long between
// requests.
const idleTimeout = 120 * time.Second

// HTTPServer is the http.Server that serves s, with the header timeout of
// the config s started with (server.read_header_timeout, restart-only).
// It has no ReadTimeout or WriteTimeout: a stream lasts as long as its
// answer, and a whole-request read deadline would also cancel the request
// context mid-stream. The body has its own deadline (see bodyDeadline) and
// a stalled stream write its own (server.stream_write_timeout).
func (s *Server) HTTPServer(errorLog *log.Logger) *http.Server {
	c := &s.current().cfg.Server
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          errorLog,
	}
}

// Listener wraps ln so that a connection beyond server.max_connections
// open in total, or server.max_connections_per_ip from one source address,
// is answered 503 and closed as it is accepted: without a cap, ~20,000
// idle or trickling connections used every file descriptor and nothing
// else could connect. The limits are read at each accept, so a reload
// changes them.
func (s *Server) Listener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, conns: s.conns, limits: func() (int, int) {
		c := &s.current().cfg.Server
		return c.MaxConnections, c.MaxConnectionsPerIP
	}}
}

// connCounter counts open client connections, in total and per source.
type connCounter struct {
	mu    sync.Mutex
	open  int
	perIP map[string]int

	refusedTotal atomic.Uint64 // refused by max_connections
	refusedPerIP atomic.Uint64 // refused by max_connections_per_ip
}

func newConnCounter() *connCounter { return &connCounter{perIP: make(map[string]int)} }

// acquire counts one more connection from src, unless that would pass a
// limit (-1: none); it returns the knob that refused it, or "".
func (c *connCounter) acquire(src string, total, perIP int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if total >= 0 && c.open >= total {
		c.refusedTotal.Add(1)
		return "server.max_connections"
	}
	if perIP >= 0 && c.perIP[src] >= perIP {
		c.refusedPerIP.Add(1)
		return "server.max_connections_per_ip"
	}
	c.open++
	c.perIP[src]++
	return ""
}

func (c *connCounter) release(src string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open--
	if c.perIP[src]--; c.perIP[src] <= 0 {
		delete(c.perIP, src)
	}
}

func (c *connCounter) openConns() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

type limitListener struct {
	net.Listener
	conns  *connCounter
	limits func() (total, perIP int)
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := sourceKey(c.RemoteAddr())
		total, perIP := l.limits()
		if knob := l.conns.acquire(src, total, perIP); knob != "" {
			refuse(c, knob)
			continue
		}
		return &countedConn{Conn: c, conns: l.conns, src: src}, nil
	}
}

// refuse answers a connection over a limit with a 503 in the OpenAI
// envelope and closes it. The answer is a few hundred bytes into a new
// socket's empty send buffer, so the write does not wait on the client;
// the deadline makes sure of it, as this runs in the accept loop.
func refuse(c net.Conn, knob string) {
	body := relay.IngressOpenAI.EncodeError(&llm.Error{Kind: llm.KindPolicy, Status: http.StatusServiceUnavailable,
		Type: "rate_limit_error", Code: "too_many_connections",
		Message: "the gateway has too many open connections (" + knob + "); close idle connections or retry shortly"}, "")
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"+string(body))
	_ = c.Close()
}

// sourceKey is the address a connection is counted under
// (clientaddr.Source: its IP, and for IPv6 its /64).
func sourceKey(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	return clientaddr.Source(ta.AddrPort().Addr().Unmap()).String()
}

// countedConn gives its place back when it is closed (once, however often
// Close is called).
type countedConn struct {
	net.Conn
	conns  *connCounter
	src    string
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.conns.release(c.src)
	}
	return c.Conn.Close()
}

// withBodyDeadline bounds the time to read r's body (server.body_read_timeout
// plus its size at server.body_min_rate), so that a client sending one byte
// every few seconds is cut off with a 408 instead of holding its connection
// and goroutine for ever. It sets the connection's read deadline now;
// reading the body to its end lifts it, so the answer (a stream may run for
// minutes) is not affected. A request without a body, or a connection
// without deadlines, is left alone (nil). The deadline outlives the
// handler when the body was not read to its end: the server discards the
// rest under it, or closes the connection.
func withBodyDeadline(w http.ResponseWriter, r *http.Request, c *config.Server) *bodyDeadline {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b := &bodyDeadline{ReadCloser: r.Body, rc: http.NewResponseController(w), start: time.Now(),
		base: c.BodyReadTimeout, rate: c.BodyMinRate, size: r.ContentLength}
	b.deadline = b.allowance(max(b.size, 0))
	if err := b.rc.SetReadDeadline(b.deadline); err != nil {
		return nil // not a connection with deadlines (a test recorder)
	}
	r.Body = b
	return b
}

// bodyDeadline is a request body read under a deadline. A body of declared
// size gets its whole allowance at once; a chunked one earns time as its
// bytes arrive, so it must keep the minimum rate on average.
type bodyDeadline struct {
	io.ReadCloser
	rc       *http.ResponseController
	start    time.Time
	base     time.Duration
	rate     int64
	size     int64 // Content-Length; -1 if not declared
	read     int64
	deadline time.Time
	lifted   bool
}

// maxBodyAllowance caps the allowance so that a huge size cannot overflow
// the duration.
const maxBodyAllowance = 24 * time.Hour

func (b *bodyDeadline) allowance(n int64) time.Time {
	d := b.base + maxBodyAllowance
	if b.rate > 0 {
		if secs := float64(n) / float64(b.rate); secs < maxBodyAllowance.Seconds() {
			d = b.base + time.Duration(secs*float64(time.Second))
		}
	}
	return b.start.Add(d)
}

func (b *bodyDeadline) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	switch {
	case err == io.EOF:
		b.lift()
	case err != nil:
		// The deadline stays: the server discards what is left of the
		// body after the handler, and must not wait on the client for it.
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return n, b.timeout()
		}
	case b.size < 0 && n > 0 && !b.lifted:
		if d := b.allowance(b.read); d.After(b.deadline) {
			b.deadline = d
			_ = b.rc.SetReadDeadline(d)
		}
	}
	return n, err
}

// lift removes the deadline once the body has been read, so that the
// answer is not bounded by it. (net/http's HTTP/1 server also clears it
// when it starts watching for the client hanging up; this does not rely
// on that.)
func (b *bodyDeadline) lift() {
	if !b.lifted {
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
}

func (b *bodyDeadline) timeout() *llm.Error {
	return &llm.Error{Kind: llm.KindCaller, Status: http.StatusRequestTimeout, Type: "invalid_request_error", Code: "request_timeout",
		Message: fmt.Sprintf("the request body arrived too slowly (%d bytes in %s); the gateway waits %s plus the body's size at %d bytes per second (server.body_read_timeout, server.body_min_rate)",
			b.read, time.Since(b.start).Round(time.Millisecond), b.base, b.rate)}
}
