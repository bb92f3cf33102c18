package framing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func esEvent(name, payload string) []byte {
	return AppendEventStreamMessage(nil, [][2]string{{":message-type", "event"}, {":event-type", name}, {":content-type", "application/json"}}, []byte(payload))
}

type esFrame struct{ name, data string }

func readAllFrames(rd Reader) ([]esFrame, error) {
	var out []esFrame
	for {
		name, data, err := rd.Next()
		if err != nil {
			return out, err
		}
		out = append(out, esFrame{string(name), string(data)})
	}
}

// TestEventStreamReadsMessages: events by :event-type, exceptions by
// :exception-type, errors by :error-code with their message as JSON, read
// whole or a byte at a time, with a buffer smaller than a message.
func TestEventStreamReadsMessages(t *testing.T) {
	var stream []byte
	stream = append(stream, esEvent("messageStart", `{"role":"assistant"}`)...)
	stream = append(stream, esEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"`+strings.Repeat("x", 300)+`"}}`)...)
	stream = AppendEventStreamMessage(stream, [][2]string{{":message-type", "exception"}, {":exception-type", "throttlingException"}}, []byte(`{"message":"slow down"}`))
	stream = AppendEventStreamMessage(stream, [][2]string{{":message-type", "error"}, {":error-code", "InternalFailure"}, {":error-message", `bad "thing"`}}, nil)
	want := []esFrame{
		{"messageStart", `{"role":"assistant"}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"` + strings.Repeat("x", 300) + `"}}`},
		{"throttlingException", `{"message":"slow down"}`},
		{"InternalFailure", `{"message":"bad \"thing\""}`},
	}
	for name, src := range map[string]io.Reader{
		"whole":    bytes.NewReader(stream),
		"bytewise": iotest.OneByteReader(bytes.NewReader(stream)),
		"halves":   iotest.HalfReader(bytes.NewReader(stream)),
	} {
		t.Run(name, func(t *testing.T) {
			rd := EventStream().NewReader(16)
			rd.Reset(src)
			got, err := readAllFrames(rd)
			if err != io.EOF {
				t.Fatalf("err = %v, want io.EOF", err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d frames %q, want %d", len(got), got, len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("frame %d = %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
}

// TestEventStreamRefusesBrokenFraming: a wrong CRC (prelude or message),
// impossible lengths, a cut message, an oversized one and headers that run
// past their length are errors, never a frame.
func TestEventStreamRefusesBrokenFraming(t *testing.T) {
	good := esEvent("messageStop", `{"stopReason":"end_turn"}`)
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	reprelude := func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[8:], crc32.ChecksumIEEE(b[:8]))
		binary.BigEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
		return b
	}
	tests := []struct {
		name  string
		in    []byte
		limit int
		want  error
	}{
		{"prelude CRC", mut(func(b []byte) []byte { b[8] ^= 1; return b }), MaxFrame, ErrMalformed},
		{"message CRC", mut(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), MaxFrame, ErrMalformed},
		{"payload flipped", mut(func(b []byte) []byte { b[len(b)-6] ^= 1; return b }), MaxFrame, ErrMalformed},
		{"total below minimum", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b, 8); return reprelude(b) }), MaxFrame, ErrMalformed},
		{"headers past total", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[4:], uint32(len(b))); return reprelude(b) }), MaxFrame, ErrMalformed},
		{"header runs past its length", mut(func(b []byte) []byte { b[esPrelude] = 200; return reprelude(b) }), MaxFrame, ErrMalformed},
		{"unknown header type", mut(func(b []byte) []byte { b[esPrelude+1+int(b[esPrelude])] = 42; return reprelude(b) }), MaxFrame, ErrMalformed},
		{"cut in the prelude", good[:5], MaxFrame, io.ErrUnexpectedEOF},
		{"cut in the message", good[:len(good)-3], MaxFrame, io.ErrUnexpectedEOF},
		{"over the bound", good, len(good) - 1, ErrTooLarge},
		{"huge declared length", mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b, 1<<31); return reprelude(b) }), MaxFrame, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := NewEventStreamReader(bytes.NewReader(tt.in), 64, tt.limit)
			name, data, err := rd.Next()
			if !errors.Is(err, tt.want) {
				t.Fatalf("Next = %q %q %v, want %v", name, data, err, tt.want)
			}
		})
	}
}

// TestEventStreamBuffered: Buffered is true only while a whole message
// waits in the buffer.
func TestEventStreamBuffered(t *testing.T) {
	two := append(esEvent("a", `{}`), esEvent("b", `{}`)...)
	rd := NewEventStreamReader(bytes.NewReader(two), 4096, MaxFrame)
	if rd.Buffered() {
		t.Fatal("Buffered before any read")
	}
	if _, _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	if !rd.Buffered() {
		t.Error("the second message arrived with the first but Buffered is false")
	}
	if _, _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	if rd.Buffered() {
		t.Error("Buffered after the last message")
	}
}

// FuzzEventStream: any bytes give frames and an error, never a panic or a
// frame over the bound; what the encoder writes reads back.
func FuzzEventStream(f *testing.F) {
	f.Add(esEvent("messageStart", `{"role":"assistant"}`), "x", []byte("{}"))
	f.Add(AppendEventStreamMessage(nil, [][2]string{{":message-type", "error"}, {":error-code", "E"}}, nil), "", []byte{})
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0}, "n", []byte("p"))
	f.Fuzz(func(t *testing.T, raw []byte, name string, payload []byte) {
		rd := NewEventStreamReader(bytes.NewReader(raw), 16, 1<<16)
		for range 1000 {
			_, data, err := rd.Next()
			if err != nil {
				break
			}
			if len(data) > 1<<16 {
				t.Fatalf("a frame of %d bytes past the bound", len(data))
			}
		}
		if len(name) > 255 || len(payload) > 1<<15 {
			return
		}
		enc := esEvent(name, string(payload))
		rd = NewEventStreamReader(iotest.HalfReader(bytes.NewReader(enc)), 16, 1<<16)
		gotName, gotData, err := rd.Next()
		if err != nil || string(gotName) != name || !bytes.Equal(gotData, payload) {
			t.Fatalf("round trip: %q %q %v", gotName, gotData, err)
		}
		if _, _, err := rd.Next(); err != io.EOF {
			t.Fatalf("after the message: %v, want io.EOF", err)
		}
	})
}
