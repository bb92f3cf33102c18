package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t *testing.T, r io.Reader, size int) ([]string, error) {
	t.Helper()
	rd := NewReader(r, size)
	var out []string
	for {
		d, err := rd.Next()
		if err != nil {
			return out, err
		}
		out = append(out, string(d))
	}
}

func TestReaderEvents(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "plain", in: "data: a\n\ndata: b\n\n", want: []string{"a", "b"}},
		{name: "no space after colon", in: "data:a\n\n", want: []string{"a"}},
		{name: "crlf", in: "data: a\r\n\r\ndata: [DONE]\r\n\r\n", want: []string{"a", "[DONE]"}},
		{name: "multi-line data joined", in: "data: a\ndata: b\n\n", want: []string{"a\nb"}},
		{name: "comments and other fields skipped", in: ": keep-alive\n\nid: 1\nretry: 5\ndata: x\n\n", want: []string{"x"}},
		{name: "last event without blank line", in: "data: a\n\ndata: b", want: []string{"a", "b"}},
		{name: "event name kept", in: "event: message_start\ndata: {}\n\n", want: []string{"{}"}},
		{name: "empty stream", in: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, iotest.OneByteReader(strings.NewReader(tt.in)), 16)
			if err != io.EOF {
				t.Fatalf("err = %v, want io.EOF", err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReaderLongLineCrossesBuffer(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	got, err := readAll(t, strings.NewReader("data: "+long+"\n\n"), 16)
	if err != io.EOF || len(got) != 1 || got[0] != long {
		t.Fatalf("got %d events, err %v", len(got), err)
	}
}

func TestReaderEventName(t *testing.T) {
	rd := NewReader(strings.NewReader("event: ping\ndata: {}\n\ndata: x\n\n"), 64)
	if _, err := rd.Next(); err != nil || string(rd.Event) != "ping" {
		t.Fatalf("event = %q, err %v", rd.Event, err)
	}
	if _, err := rd.Next(); err != nil || len(rd.Event) != 0 {
		t.Fatalf("second event name = %q, want empty", rd.Event)
	}
}

func TestReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := readAll(t, io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(boom)), 64)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}

func TestReaderRejectsHugeEvent(t *testing.T) {
	big := strings.Repeat("y", MaxEvent+10)
	_, err := readAll(t, strings.NewReader("data: "+big+"\n\n"), 4096)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("data: a\n\ndata: [DONE]\n\n"))
	f.Add([]byte(": c\r\nevent: x\r\ndata:y\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rd := NewReader(strings.NewReader(string(in)), 16)
		for i := 0; i < len(in)+2; i++ {
			if _, err := rd.Next(); err != nil {
				return
			}
		}
		t.Fatalf("reader did not terminate on %d bytes", len(in))
	})
}

func TestEventBufferedSeesOnlyWholeEvents(t *testing.T) {
	pr, pw := io.Pipe()
	rd := NewReader(pr, 4096)
	go func() {
		_, _ = pw.Write([]byte("data: a\n\ndata: b\n\ndata: c"))
	}()
	if d, err := rd.Next(); err != nil || string(d) != "a" {
		t.Fatalf("first: %q %v", d, err)
	}
	if !rd.EventBuffered() {
		t.Fatal("event b is whole in the buffer")
	}
	if d, _ := rd.Next(); string(d) != "b" {
		t.Fatalf("second: %q", d)
	}
	if rd.EventBuffered() {
		t.Fatal("a partial event (no blank line yet) must not count as buffered")
	}
	pw.Close()
}

// FuzzPlainEventIsTheLineReaders: events taken whole from the buffer
// (plainEvent) are the events the line-by-line reader returns, with the
// same names and the same errors, however the input arrives.
func FuzzPlainEventIsTheLineReaders(f *testing.F) {
	f.Add([]byte("data: a\n\ndata: [DONE]\n\n"), uint8(3))
	f.Add([]byte("data:x\r\n\ndata: y\n\nevent: e\ndata: z\n\n"), uint8(200))
	f.Add([]byte("data: a\ndata: b\n\ndata: c\r\r\n\n:k\n\ndata: d"), uint8(100))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		// Reads of 1 to 256 bytes into a buffer of 16 to 271: the smaller
		// the reads, the less often a whole event is buffered.
		chunked := func() io.Reader { return &stepReader{b: in, step: 1 + int(step)} }
		fast, slow := NewReader(chunked(), 16+int(step)), NewReader(chunked(), 16+int(step))
		slow.lineByLine = true
		for range len(in) + 2 {
			fd, fe := fast.Next()
			sd, se := slow.Next()
			if string(fd) != string(sd) || fe != se || string(fast.Event) != string(slow.Event) {
				t.Fatalf("input %q: plain %q %q %v, line by line %q %q %v", in, fd, fast.Event, fe, sd, slow.Event, se)
			}
			if fe != nil {
				return
			}
		}
	})
}

// stepReader returns b step bytes at a time.
type stepReader struct {
	b    []byte
	step int
}

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.step)], r.b)
	r.b = r.b[n:]
	return n, nil
}
