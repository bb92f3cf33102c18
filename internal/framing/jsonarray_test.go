package framing

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// geminiStream is the shape of a real streamGenerateContent answer without
// alt=sse: pretty-printed objects, ",\r\n" between them.
const geminiStream = "[{\n  \"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel\"}],\"role\": \"model\"}}]\n}\n,\r\n" +
	"{\n  \"candidates\": [{\"content\": {\"parts\": [{\"text\": \"lo }] \\\" {\"}],\"role\": \"model\"},\"finishReason\": \"STOP\"}],\n" +
	"  \"usageMetadata\": {\"promptTokenCount\": 3, \"candidatesTokenCount\": 2}\n}\n]"

// readAll reads every frame from r, returning the elements and the error
// that ended the stream (nil for io.EOF).
func readAll(r Reader) ([]string, error) {
	var out []string
	for {
		ev, data, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if ev != nil {
			return out, errors.New("a JSON array element with an event name")
		}
		out = append(out, string(data))
	}
}

func TestJSONArrayFrames(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		wantErr error
	}{
		{name: "gemini stream", in: geminiStream, want: func() []string {
			var raw []json.RawMessage
			if err := json.Unmarshal([]byte(geminiStream), &raw); err != nil {
				panic(err)
			}
			return []string{string(raw[0]), string(raw[1])}
		}()},
		{name: "compact", in: `[{"a":1},{"b":[1,{"c":"]"}]}]`, want: []string{`{"a":1}`, `{"b":[1,{"c":"]"}]}`}},
		{name: "empty array", in: " [ ] \n", want: nil},
		{name: "nested arrays as elements", in: `[[1,2],[]]`, want: []string{`[1,2]`, `[]`}},
		{name: "escaped quote and backslash", in: `[{"t":"a\\"},{"t":"\"}"}]`, want: []string{`{"t":"a\\"}`, `{"t":"\"}"}`}},
		{name: "empty body", in: "", want: nil},
		{name: "cut inside an element", in: `[{"a":1},{"b":`, want: []string{`{"a":1}`}, wantErr: io.ErrUnexpectedEOF},
		{name: "cut before the closing bracket", in: `[{"a":1}`, want: []string{`{"a":1}`}, wantErr: io.ErrUnexpectedEOF},
		{name: "cut after a comma", in: `[{"a":1},`, want: []string{`{"a":1}`}, wantErr: io.ErrUnexpectedEOF},
		{name: "not an array", in: `{"error":{"code":500}}`, wantErr: ErrMalformed},
		{name: "scalar element", in: `[1,2]`, wantErr: ErrMalformed},
		{name: "trailing comma", in: `[{"a":1},]`, want: []string{`{"a":1}`}, wantErr: ErrMalformed},
		{name: "missing comma", in: `[{"a":1}{"b":2}]`, want: []string{`{"a":1}`}, wantErr: ErrMalformed},
		{name: "mismatched bracket", in: `[{"a":[1}]`, wantErr: ErrMalformed},
		{name: "data after the array", in: `[{"a":1}] x`, want: []string{`{"a":1}`}, wantErr: ErrMalformed},
		{name: "second array", in: `[][]`, wantErr: ErrMalformed},
		{name: "element at the bound", in: `[{"a":"12345"}]`, max: 13, want: []string{`{"a":"12345"}`}},
		{name: "element over the bound", in: `[{"a":"123456"}]`, max: 13, wantErr: ErrTooLarge},
		{name: "long whitespace between small elements", in: "[{}" + strings.Repeat(" ", 100) + ",{}]", max: 8, want: []string{`{}`, `{}`}},
	}
	for _, tt := range tests {
		for _, chunking := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"byte by byte", iotest.OneByteReader},
			{"data with EOF", iotest.DataErrReader},
		} {
			t.Run(tt.name+"/"+chunking.name, func(t *testing.T) {
				limit := tt.max
				if limit == 0 {
					limit = MaxFrame
				}
				r := NewJSONArrayReader(chunking.wrap(strings.NewReader(tt.in)), 16, limit)
				got, err := readAll(r)
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Fatalf("elements\n%q\nwant\n%q", got, tt.want)
				}
				if _, _, again := r.Next(); again == nil {
					t.Fatal("Next after the end returned a frame")
				}
			})
		}
	}
}

// TestJSONArrayHandsOutEachElementAsItCompletes: an element is returned as
// soon as its closing bracket arrives: the upstream has not sent the comma
// or the next element yet (it waits for the client's go-ahead), so a reader
// that waited for them would never return.
func TestJSONArrayHandsOutEachElementAsItCompletes(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	r := NewJSONArrayReader(pr, 4096, MaxFrame)
	next := make(chan struct{})
	go func() {
		defer pw.Close()
		for _, piece := range []string{`[{"n":`, `1}`, "<wait>", "\r\n,", `{"n":2}`, "<wait>", `]`} {
			if piece == "<wait>" {
				<-next
				continue
			}
			if _, err := pw.Write([]byte(piece)); err != nil {
				return
			}
		}
	}()
	for _, want := range []string{`{"n":1}`, `{"n":2}`} {
		got := make(chan string, 1)
		go func() {
			_, data, err := r.Next()
			if err != nil {
				got <- err.Error()
				return
			}
			got <- string(data)
		}()
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("got %q, want %s", g, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not handed out before the rest of the stream arrived", want)
		}
		next <- struct{}{}
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}
}

func TestJSONArrayBuffered(t *testing.T) {
	r := NewJSONArrayReader(strings.NewReader(`[{"a":1},{"b":2},{"c":`), 4096, MaxFrame)
	if r.Buffered() {
		t.Fatal("Buffered before any read")
	}
	if _, d, _ := r.Next(); string(d) != `{"a":1}` {
		t.Fatalf("first %q", d)
	}
	if !r.Buffered() {
		t.Fatal(`{"b":2} has arrived but Buffered is false`)
	}
	if _, d, _ := r.Next(); string(d) != `{"b":2}` {
		t.Fatalf("second %q (Buffered must not lose or corrupt it)", d)
	}
	if r.Buffered() {
		t.Fatal("a partial element counts as buffered")
	}
}

func TestJSONArrayResetReusesTheReader(t *testing.T) {
	r := NewJSONArrayReader(strings.NewReader(`[{"a":`), 16, MaxFrame)
	if _, err := readAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("first stream: %v", err)
	}
	r.Reset(strings.NewReader(`[{"b":2}]`))
	got, err := readAll(r)
	if err != nil || len(got) != 1 || got[0] != `{"b":2}` {
		t.Fatalf("after Reset: %q, %v", got, err)
	}
	r.Reset(nil)
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("nil reader: %v", err)
	}
}

func TestSSEFraming(t *testing.T) {
	f := SSE()
	r := f.NewReader(64)
	r.Reset(strings.NewReader("event: message_start\ndata: {\"a\":1}\n\n: ping\n\ndata: [DONE]\n\n"))
	ev, data, err := r.Next()
	if err != nil || string(ev) != "message_start" || string(data) != `{"a":1}` {
		t.Fatalf("first: %q %q %v", ev, data, err)
	}
	if !r.Buffered() {
		t.Fatal("a whole event is buffered")
	}
	ev, data, err = r.Next()
	if err != nil || len(ev) != 0 || string(data) != "[DONE]" {
		t.Fatalf("second: %q %q %v", ev, data, err)
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	r.Reset(strings.NewReader("data: " + strings.Repeat("x", MaxFrame+1) + "\n\n"))
	if _, _, err := r.Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("an event over MaxFrame: %v, want ErrTooLarge", err)
	}
}

func TestFramingsAreComplete(t *testing.T) {
	for _, f := range []Framing{SSE(), JSONArray()} {
		if f.Name == "" || f.MediaType == "" || f.NewReader == nil || f.NewReader(16) == nil {
			t.Errorf("framing %+v is missing a part", f)
		}
	}
}

// chunked hands out b in pieces whose sizes cycle through sizes.
type chunked struct {
	b     []byte
	sizes []byte
	i     int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)])%64 + 1
		c.i++
	}
	n = min(n, len(p), len(c.b))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

// FuzzJSONArrayFrames: any input, in any chunking, ends in an error or
// io.EOF without a panic and with no element over the bound; a valid JSON
// array of objects/arrays yields exactly encoding/json's elements; and a
// stream the reader accepts whole, with valid elements, is valid JSON.
func FuzzJSONArrayFrames(f *testing.F) {
	for _, s := range []string{geminiStream, `[]`, `[{"a":"]}"}, [1]]`, `[{"a":1}`, `[1]`, `[{]}]`, "  [ {} \r\n, {} ]  ", `[{"a":"\\\""}]`, ``, `[{}]x`} {
		f.Add([]byte(s), []byte{0, 3, 7})
	}
	f.Fuzz(func(t *testing.T, in, sizes []byte) {
		const limit = 64
		r := NewJSONArrayReader(&chunked{b: in, sizes: sizes}, 16, limit)
		var got [][]byte
		var err error
		for range len(in) + 2 { // at most one element per byte, then the end
			var data []byte
			if _, data, err = r.Next(); err != nil {
				break
			}
			if len(data) > limit {
				t.Fatalf("element of %d bytes over the bound %d", len(data), limit)
			}
			got = append(got, bytes.Clone(data))
		}
		if err == nil {
			t.Fatal("no end after more frames than the input has bytes")
		}
		var raw []json.RawMessage
		wellFormed := json.Unmarshal(in, &raw) == nil
		for _, el := range raw {
			wellFormed = wellFormed && (el[0] == '{' || el[0] == '[')
		}
		switch {
		case wellFormed:
			tooLarge := false
			for _, el := range raw {
				tooLarge = tooLarge || len(el) > limit
			}
			if tooLarge {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("an element over the bound: %v, want ErrTooLarge", err)
				}
				return
			}
			if err != io.EOF || len(got) != len(raw) {
				t.Fatalf("valid array: %d elements and %v, want %d and io.EOF", len(got), err, len(raw))
			}
			for i := range raw {
				if !bytes.Equal(got[i], raw[i]) {
					t.Fatalf("element %d: %q, want %q", i, got[i], raw[i])
				}
			}
		case err == io.EOF && len(bytes.TrimSpace(in)) > 0:
			for _, el := range got {
				if !json.Valid(el) {
					return // the framing held; an element's JSON is the decoder's to reject
				}
			}
			t.Fatalf("accepted %q whole, with valid elements, but it is not a valid JSON array", in)
		}
	})
}
