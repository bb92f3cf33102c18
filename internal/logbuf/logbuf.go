// Package logbuf batches log output: a busy gateway writes one access line
// per request, and a write system call for each would cost more than the
// line. Lines are held in memory for at most an interval (or until the
// buffer fills) and written together; warnings and errors go out at once.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Writer is an io.Writer that holds what it is given and writes it to the
// underlying writer every interval, when the buffer reaches its limit, on
// Flush, and on Close. Each Write is kept whole, so the lines of a slog
// handler (one Write per record) are never split.
type Writer struct {
	mu    sync.Mutex
	out   io.Writer
	buf   []byte
	limit int
	err   error // the last error from out, reported by Flush

	stop chan struct{}
	done chan struct{}
}

// New starts a Writer that flushes to out every interval, or sooner when
// limit bytes are waiting.
func New(out io.Writer, interval time.Duration, limit int) *Writer {
	w := &Writer{out: out, buf: make([]byte, 0, limit), limit: limit, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop(interval)
	return w
}

func (w *Writer) loop(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			_ = w.Flush()
		}
	}
}

// Write holds p; it never fails (a failure of the underlying writer is
// reported by Flush and Close).
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf)+len(p) > w.limit && len(w.buf) > 0 {
		w.flushLocked()
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= w.limit {
		w.flushLocked()
	}
	return len(p), nil
}

// Flush writes out what is held.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	return w.err
}

func (w *Writer) flushLocked() {
	if len(w.buf) == 0 {
		return
	}
	if _, err := w.out.Write(w.buf); err != nil {
		w.err = err
	}
	w.buf = w.buf[:0]
}

// Close stops the timer and writes out what is held. Writes after Close
// are held until the next Flush.
func (w *Writer) Close() error {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.Flush()
}

// Handler wraps a slog.Handler that writes to W so that records at Warn or
// above are flushed at once: an operator watching the log sees problems
// without delay, and a crash right after an error does not lose it.
type Handler struct {
	slog.Handler
	W *Writer
}

// Handle writes r, flushing for warnings and errors.
func (h Handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		_ = h.W.Flush()
	}
	return err
}

// WithAttrs keeps the flushing behaviour on the derived handler.
func (h Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return Handler{Handler: h.Handler.WithAttrs(attrs), W: h.W}
}

// WithGroup keeps the flushing behaviour on the derived handler.
func (h Handler) WithGroup(name string) slog.Handler {
	return Handler{Handler: h.Handler.WithGroup(name), W: h.W}
}
