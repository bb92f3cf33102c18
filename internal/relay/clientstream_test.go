package relay

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// writeCounter is a listener whose connections count their writes: the
// server's system calls on the client's socket.
type writeCounter struct {
	net.Listener
	writes atomic.Int64
}

func (l *writeCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(b)
}

// streamThrough serves one stream whose handler writes first with
// clientStream.write and last with clientStream.end(last, drain), and
// returns the server's count of writes and the body the client read.
func streamThrough(t *testing.T, drain func(read <-chan struct{})) (int64, string) {
	t.Helper()
	read := make(chan struct{}) // closed once the client has read the last event
	ln := &writeCounter{Listener: mustListen(t)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs := newClientStream(w, 0, nil, time.Minute)
		defer cs.close()
		cs.write([]byte("data: first\n\n"))
		cs.end([]byte("data: [DONE]\n\n"), func() { drain(read) })
	}))
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	var body strings.Builder
	for {
		line, err := br.ReadString('\n')
		body.WriteString(line)
		if strings.Contains(line, "[DONE]") {
			close(read)
		}
		if err != nil {
			break
		}
	}
	return ln.writes.Load(), body.String()
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestStreamEndLeavesWithTheBodysEnd: the stream's last bytes are not
// flushed on their own but with the chunked body's terminator, in one
// write: two writes for a stream of two writes, not three.
func TestStreamEndLeavesWithTheBodysEnd(t *testing.T) {
	writes, body := streamThrough(t, func(<-chan struct{}) {})
	if !strings.Contains(body, "data: first") || !strings.Contains(body, "data: [DONE]") || !strings.HasSuffix(body, "0\r\n\r\n") {
		t.Fatalf("body = %q", body)
	}
	if writes != 2 {
		t.Fatalf("the server wrote %d times; want 2 (the first event, then the last with the body's end)", writes)
	}
}

// TestStreamEndFlushesIfTheDrainIsSlow: an upstream that keeps its body
// open after [DONE] does not hold the client's last event: it is flushed
// after endGrace while the drain still waits (the drain here waits until
// the client has read it, so a lost flush would hang).
func TestStreamEndFlushesIfTheDrainIsSlow(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, body := streamThrough(t, func(read <-chan struct{}) { <-read })
		if !strings.HasSuffix(body, "0\r\n\r\n") {
			t.Errorf("body = %q", body)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the last event was held while the upstream's body stayed open")
	}
}
