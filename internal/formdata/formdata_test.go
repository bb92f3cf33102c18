package formdata

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"strings"
	"testing"
)

// build is a multipart body of the given parts: "name=value" fields and
// "name@filename=content" files, in order.
func build(t testing.TB, parts ...string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		k, v, _ := strings.Cut(p, "=")
		if name, fn, ok := strings.Cut(k, "@"); ok {
			w, err := mw.CreateFormFile(name, fn)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write([]byte(v))
			continue
		}
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// rewrite writes f and reads it back: fields and files in order.
func rewrite(t *testing.T, f *Form, model string) []string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := f.WriteTo(mw, model); err != nil {
		t.Fatal(err)
	}
	_ = mw.Close()
	r := multipart.NewReader(&buf, mw.Boundary())
	var out []string
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		k := p.FormName()
		if p.FileName() != "" {
			k += "@" + p.FileName()
		}
		out = append(out, k+"="+string(b))
	}
}

func TestStreamedWhenModelComesFirst(t *testing.T) {
	body, ct := build(t, "model=whisper-1", "file@a.wav=RIFFxxxxWAVEdata", "language=en")
	f, err := Open(bytes.NewReader(body), ct, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if m, n := f.Get("model"); m != "whisper-1" || n != 1 || f.Done() || f.FileName != "file" {
		t.Fatalf("head: model %q ×%d done %v file %q", m, n, f.Done(), f.FileName)
	}
	got := rewrite(t, f, "upstream-whisper")
	want := []string{"model=upstream-whisper", "file@a.wav=RIFFxxxxWAVEdata", "language=en"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !f.Consumed() || string(f.FileHead) != "RIFFxxxxWAVEdata" || f.FileBytes != 16 {
		t.Fatalf("consumed %v head %q bytes %d", f.Consumed(), f.FileHead, f.FileBytes)
	}
	var buf bytes.Buffer
	if err := f.WriteTo(multipart.NewWriter(&buf), ""); err == nil {
		t.Fatal("a streamed form was written twice")
	}
}

func TestSpooledWhenModelComesAfterTheFile(t *testing.T) {
	// openai-go sends the file before the model.
	body, ct := build(t, "file@a.mp3=ID3 audio bytes", "model=whisper-1", "response_format=text")
	f, err := Open(bytes.NewReader(body), ct, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, n := f.Get("model"); n != 0 {
		t.Fatal("model known before the file was read")
	}
	if err := f.Spool(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Get("model"); m != "whisper-1" || !f.Done() {
		t.Fatalf("after spool: model %q done %v", m, f.Done())
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := f.WriteTo(mw, "m2"); err != nil {
		t.Fatal(err)
	}
	_ = mw.Close()
	if n, ok := f.Len(mw.Boundary(), "m2"); !ok || n != int64(buf.Len()) {
		t.Fatalf("Len = %d %v, WriteTo wrote %d", n, ok, buf.Len())
	}
	want := "model=m2|response_format=text|file@a.mp3=ID3 audio bytes"
	for i := range 2 { // replayable: failover sends it again
		if got := strings.Join(rewrite(t, f, "m2"), "|"); got != want {
			t.Fatalf("write %d: got %q, want %q", i, got, want)
		}
	}
}

func TestHostileBodiesAreErrors(t *testing.T) {
	many := make([]string, 0, 10001)
	for range 10000 {
		many = append(many, "x=1")
	}
	manyBody, manyCT := build(t, many...)
	good, goodCT := build(t, "model=m", "file@a.wav=abc")
	hugeBody, hugeCT := build(t, "prompt="+strings.Repeat("a", 300<<10))
	lateModel, lateCT := build(t, "model=m", "file@a.wav=abc", "model=other")
	cases := map[string]struct {
		body []byte
		ct   string
	}{
		"not multipart":  {good, "application/json"},
		"no boundary":    {good, "multipart/form-data"},
		"wrong boundary": {good, "multipart/form-data; boundary=nope"},
		"truncated":      {good[:len(good)-10], goodCT},
		"10,000 parts":   {manyBody, manyCT},
		"huge field":     {hugeBody, hugeCT},
		"unnamed part":   {[]byte("--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n"), "multipart/form-data; boundary=B"},
		"late model":     {lateModel, lateCT},
		"control name":   {[]byte("--B\r\nContent-Disposition: form-data; name*=utf-8''a%0D%0Ab\r\n\r\nx\r\n--B--\r\n"), "multipart/form-data; boundary=B"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := readAll(c.body, c.ct)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
		})
	}
}

// readAll opens body and writes it out whole, as the relay would: the
// first error.
func readAll(body []byte, ct string) error {
	f, err := Open(bytes.NewReader(body), ct, DefaultLimits)
	if err != nil {
		return err
	}
	defer f.Close()
	f.Early = []string{"model"}
	return f.WriteTo(multipart.NewWriter(io.Discard), "m")
}

// FuzzForm: no multipart body, however hostile, panics the reader, and
// every failure to read one is an *Error (a 4xx), never something else.
func FuzzForm(f *testing.F) {
	good, ct := build(f, "model=m", "file@a.wav=RIFF", "n=2")
	_, boundary, _ := strings.Cut(ct, "boundary=")
	f.Add(good, boundary)
	f.Add(good[:len(good)/2], boundary)
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n--B--\r\n"), "B")
	f.Add([]byte("--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\nContent-Type: audio/wav\r\n\r\nx\r\n--B\r\n"), "B")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		for _, spool := range []bool{false, true} {
			fm, err := Open(bytes.NewReader(body), "multipart/form-data; boundary=\""+strings.ReplaceAll(boundary, `"`, "")+"\"", Limits{MaxParts: 8, MaxFieldBytes: 64, MaxFieldsBytes: 128})
			if err == nil && spool {
				err = fm.Spool(t.TempDir())
			}
			if err == nil {
				err = fm.WriteTo(multipart.NewWriter(io.Discard), "m")
			}
			if fm != nil {
				fm.Close()
			}
			var fe *Error
			if err != nil && !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
		}
	})
}
