// Package formdata reads a client's multipart/form-data body (OpenAI's
// image edits and audio transcriptions) without holding its files in
// memory, and writes it again for an upstream.
//
// A body is read in order. The small fields before the first file are
// kept (Fields); what follows is either streamed to the upstream as it
// arrives (WriteTo, once) or, when a field the gateway must see first
// (the model) comes after the files, spooled to a temporary file and then
// written from there (as many times as needed: failover works).
//
// Everything is bounded: the number of parts, each field's size and all
// fields together (Limits); a part's headers by mime/multipart's own
// bounds; the whole body by the caller's reader (http.MaxBytesReader).
// A body that breaks any rule is an *Error: the client's fault, a 4xx.
package formdata

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"os"
	"slices"
	"strings"
)

// Limits bound a form beside its total size.
type Limits struct {
	MaxParts       int   // parts of any kind
	MaxFieldBytes  int64 // one field's value (a part without a filename)
	MaxFieldsBytes int64 // all fields' values together
}

// DefaultLimits are generous for OpenAI's forms: an edit sends up to 16
// images and a prompt of 32,000 characters; a transcription a handful of
// fields.
var DefaultLimits = Limits{MaxParts: 100, MaxFieldBytes: 256 << 10, MaxFieldsBytes: 1 << 20}

// HeadBytes is how much of the first file's content is kept (FileHead),
// for sniffing its container (a WAV header).
const HeadBytes = 4 << 10

// Error is a body that cannot be read as the form it claims to be. Err is
// the reader's error when there was one (a *http.MaxBytesError: the body
// is over its limit).
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func bad(format string, a ...any) *Error { return &Error{Msg: fmt.Sprintf(format, a...)} }

// readErr is a failure to read the client's body.
func readErr(err error) *Error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &Error{Msg: "the multipart body ends before its closing boundary", Err: err}
	}
	return &Error{Msg: "the multipart body is malformed: " + clip(err.Error(), 200), Err: err}
}

// Field is a part without a filename, with its value.
type Field struct{ Name, Value string }

// file is a spooled file part: its headers and where it lies in the spool.
type file struct {
	name, filename, contentType string
	off, n                      int64
}

// Form is a multipart body being read.
type Form struct {
	mr         *multipart.Reader
	lim        Limits
	Fields     []Field // the fields read so far, in order
	parts      int
	fieldBytes int64
	// pending is the first file part not yet consumed (streaming).
	pending *multipart.Part
	// FileName is the form name of the first file part ("" before one).
	FileName string
	// FileHead is the first HeadBytes of the first file's content, once
	// read (streamed or spooled).
	FileHead []byte
	// FileBytes counts the bytes of file content read so far.
	FileBytes int64
	// Files counts the file parts seen.
	Files int
	// Early are the fields a streamed body may not send after a file:
	// "model" and the like, which the gateway must read before routing.
	Early    []string
	spool    *os.File
	files    []file
	done     bool // the whole body is read: the form can be written again
	consumed bool // streaming has read the client's body past Fields: no second WriteTo
}

// Open starts reading body, a multipart/form-data body with contentType
// (the request's Content-Type), and reads the fields before its first file.
func Open(body io.Reader, contentType string, lim Limits) (*Form, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" {
		return nil, bad("this endpoint takes a multipart/form-data body (Content-Type: multipart/form-data; boundary=…)")
	}
	b := params["boundary"]
	if b == "" || len(b) > 70 {
		return nil, bad("the Content-Type's multipart boundary is missing or longer than 70 characters")
	}
	f := &Form{mr: multipart.NewReader(body, b), lim: lim}
	return f, f.readFields()
}

// readFields reads parts until a file part (kept as pending) or the end.
func (f *Form) readFields() error {
	for {
		p, err := f.next()
		if err != nil || p == nil {
			return err
		}
		if p.FileName() != "" {
			f.pending = p
			f.noteFile(p)
			return nil
		}
		if err := f.readField(p); err != nil {
			return err
		}
	}
}

// next is the next part, counted; nil at the end of the body.
func (f *Form) next() (*multipart.Part, error) {
	p, err := f.mr.NextPart()
	if err == io.EOF {
		f.done = true
		return nil, nil
	}
	if err != nil {
		return nil, readErr(err)
	}
	f.parts++
	if f.parts > f.lim.MaxParts {
		return nil, bad("the multipart body has more than %d parts", f.lim.MaxParts)
	}
	if p.FormName() == "" {
		return nil, bad("a part of the multipart body has no name (Content-Disposition: form-data; name=\"…\")")
	}
	if len(p.FormName()) > 256 || len(p.FileName()) > 1024 {
		return nil, bad("a part's name or filename is too long")
	}
	if hasControl(p.FormName()) || hasControl(p.FileName()) {
		return nil, bad("a part's name or filename holds control characters")
	}
	return p, nil
}

func (f *Form) noteFile(p *multipart.Part) {
	if f.Files == 0 {
		f.FileName = p.FormName()
	}
	f.Files++
}

// readField reads a field's value, bounded.
func (f *Form) readField(p *multipart.Part) error {
	v, err := io.ReadAll(io.LimitReader(p, f.lim.MaxFieldBytes+1))
	if err != nil {
		return readErr(err)
	}
	if int64(len(v)) > f.lim.MaxFieldBytes {
		return bad("the field %q is longer than %d bytes", clip(p.FormName(), 64), f.lim.MaxFieldBytes)
	}
	f.fieldBytes += int64(len(v))
	if f.fieldBytes > f.lim.MaxFieldsBytes {
		return bad("the multipart body's fields hold more than %d bytes together", f.lim.MaxFieldsBytes)
	}
	f.Fields = append(f.Fields, Field{Name: p.FormName(), Value: string(v)})
	return nil
}

// Get is the first value of the field name, and how many times it was sent.
func (f *Form) Get(name string) (string, int) {
	var v string
	n := 0
	for _, x := range f.Fields {
		if x.Name == name {
			if n == 0 {
				v = x.Value
			}
			n++
		}
	}
	return v, n
}

// Done reports whether the whole body has been read: every field is in
// Fields and the form can be written any number of times.
func (f *Form) Done() bool { return f.done }

// Consumed reports whether a WriteTo has read the client's body past the
// fields: the form cannot be written again.
func (f *Form) Consumed() bool { return f.consumed }

// Spool reads the rest of the body, the files into a temporary file in dir
// ("" for the system's) and the fields into Fields, so that every field is
// known and the form can be written again. Close removes the file.
func (f *Form) Spool(dir string) error {
	if f.done {
		return nil
	}
	if f.consumed {
		return errors.New("formdata: Spool after a streaming WriteTo")
	}
	sp, err := os.CreateTemp(dir, "switchyard-upload-*")
	if err != nil {
		return err
	}
	f.spool = sp
	w := bufio.NewWriterSize(sp, 64<<10)
	var off int64
	p := f.pending
	f.pending = nil
	for p != nil {
		if p.FileName() != "" {
			n, err := copyPart(w, p, f)
			if err != nil {
				return err
			}
			f.files = append(f.files, file{name: p.FormName(), filename: p.FileName(), contentType: partType(p), off: off, n: n})
			off += n
		} else if err := f.readField(p); err != nil {
			return err
		}
		if p, err = f.next(); err != nil {
			return err
		}
		if p != nil && p.FileName() != "" {
			f.noteFile(p)
		}
	}
	return w.Flush()
}

// WriteTo writes the form to mw (the caller closes it): the fields, with
// the value of the field "model" replaced by model when model is not "",
// then the files. A spooled (Done) form is written from its spool; else the
// rest of the client's body is streamed as it arrives, once. Fields that
// come after a file in a streamed body pass as they are, except those in
// Early, which are refused. An error reading
// the client's body is an *Error; any other error is mw's.
func (f *Form) WriteTo(mw *multipart.Writer, model string) error {
	if f.consumed {
		return errors.New("formdata: the body was already streamed")
	}
	for _, x := range f.Fields {
		v := x.Value
		if model != "" && x.Name == "model" {
			v = model
		}
		if err := mw.WriteField(x.Name, v); err != nil {
			return err
		}
	}
	if f.done {
		for _, x := range f.files {
			w, err := mw.CreatePart(fileHeader(x.name, x.filename, x.contentType))
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, io.NewSectionReader(f.spool, x.off, x.n)); err != nil {
				return err
			}
		}
		return nil
	}
	f.consumed = true
	p := f.pending
	f.pending = nil
	for p != nil {
		if p.FileName() != "" {
			w, err := mw.CreatePart(fileHeader(p.FormName(), p.FileName(), partType(p)))
			if err != nil {
				return err
			}
			if _, err := copyPart(w, p, f); err != nil {
				return err
			}
		} else {
			if slices.Contains(f.Early, p.FormName()) {
				return bad("the field %q must come before the files, once", p.FormName())
			}
			if err := f.readField(p); err != nil {
				return err
			}
			x := f.Fields[len(f.Fields)-1]
			if err := mw.WriteField(x.Name, x.Value); err != nil {
				return err
			}
		}
		var err error
		if p, err = f.next(); err != nil {
			return err
		}
		if p != nil && p.FileName() != "" {
			f.noteFile(p)
		}
	}
	return nil
}

// Len is the length of what WriteTo writes for a spooled (Done) form
// through a multipart.Writer with boundary, closed: the upstream request
// can then carry a Content-Length. ok is false for a form still streaming.
func (f *Form) Len(boundary, model string) (n int64, ok bool) {
	if !f.done {
		return 0, false
	}
	var c counter
	mw := multipart.NewWriter(&c)
	if err := mw.SetBoundary(boundary); err != nil {
		return 0, false
	}
	for _, x := range f.Fields {
		v := x.Value
		if model != "" && x.Name == "model" {
			v = model
		}
		_ = mw.WriteField(x.Name, v)
	}
	for _, x := range f.files {
		_, _ = mw.CreatePart(fileHeader(x.name, x.filename, x.contentType))
		c += counter(x.n)
	}
	_ = mw.Close()
	return int64(c), true
}

type counter int64

func (c *counter) Write(b []byte) (int, error) {
	*c += counter(len(b))
	return len(b), nil
}

// Close removes the spool, if any.
func (f *Form) Close() {
	if f.spool != nil {
		name := f.spool.Name()
		_ = f.spool.Close()
		_ = os.Remove(name)
		f.spool = nil
	}
}

// copyPart copies a file part's content to w, keeping the first file's
// head; a read error is an *Error, a write error w's.
func copyPart(w io.Writer, p *multipart.Part, f *Form) (int64, error) {
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, rerr := p.Read(buf)
		if n > 0 {
			if f.Files == 1 && len(f.FileHead) < HeadBytes {
				f.FileHead = append(f.FileHead, buf[:min(n, HeadBytes-len(f.FileHead))]...)
			}
			f.FileBytes += int64(n)
			total += int64(n)
			if _, err := w.Write(buf[:n]); err != nil {
				return total, err
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, readErr(rerr)
		}
	}
}

// partType is a file part's Content-Type when it is a well-formed media
// type, else application/octet-stream.
func partType(p *multipart.Part) string {
	ct := p.Header.Get("Content-Type")
	if ct == "" || len(ct) > 128 {
		return "application/octet-stream"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "application/octet-stream"
	}
	return mime.FormatMediaType(mt, params)
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")

func fileHeader(name, filename, contentType string) textproto.MIMEHeader {
	h := make(textproto.MIMEHeader, 2)
	h.Set("Content-Disposition", `form-data; name="`+quoteEscaper.Replace(name)+`"; filename="`+quoteEscaper.Replace(filename)+`"`)
	h.Set("Content-Type", contentType)
	return h
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
