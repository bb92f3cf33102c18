package logbuf

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is what the Writer writes to; it counts writes.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) snapshot() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.writes
}

func TestInfoLinesAreBatchedAndWarningsFlushAtOnce(t *testing.T) {
	out := &lockedBuffer{}
	w := New(out, time.Hour, 1<<20) // the timer never fires in this test
	defer w.Close()
	log := slog.New(Handler{Handler: slog.NewJSONHandler(w, nil), W: w})
	for i := range 100 {
		log.Info("generation", slog.Int("i", i))
	}
	if s, n := out.snapshot(); n != 0 || s != "" {
		t.Fatalf("info lines were written before a flush: %d writes", n)
	}
	log.With(slog.String("component", "ledger")).Warn("store down")
	s, n := out.snapshot()
	if n != 1 || strings.Count(s, "\n") != 101 || !strings.Contains(s, `"msg":"store down"`) {
		t.Fatalf("after a warning: %d writes, %d lines", n, strings.Count(s, "\n"))
	}
}

func TestTimerAndLimitAndCloseFlush(t *testing.T) {
	out := &lockedBuffer{}
	w := New(out, 10*time.Millisecond, 1<<20)
	_, _ = w.Write([]byte("a\n"))
	deadline := time.Now().Add(2 * time.Second)
	for {
		if s, _ := out.snapshot(); s == "a\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the interval did not flush")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = w.Close()

	out = &lockedBuffer{}
	w = New(out, time.Hour, 64)
	line := []byte(strings.Repeat("x", 39) + "\n") // 40 bytes
	_, _ = w.Write(line)
	_, _ = w.Write(line) // would pass the limit: the first goes out alone
	if s, n := out.snapshot(); n != 1 || s != string(line) {
		t.Fatalf("limit: %d writes, %q", n, s)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s, _ := out.snapshot(); s != string(line)+string(line) {
		t.Fatalf("Close did not write what was held: %q", s)
	}
}
