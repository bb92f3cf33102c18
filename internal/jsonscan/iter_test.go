package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// walk reads the value at it's cursor entirely through Object/Array calls
// (skipping only scalars) and writes it back compactly, so that a walk can
// be compared with encoding/json's reading of the same text.
func walk(it *Iter, out *bytes.Buffer) {
	kind, ok := it.peek()
	if !ok {
		it.fail()
		return
	}
	switch kind {
	case Object:
		out.WriteByte('{')
		n := 0
		it.Object(func(key []byte) {
			if n > 0 {
				out.WriteByte(',')
			}
			n++
			k, _ := json.Marshal(string(key))
			out.Write(k)
			out.WriteByte(':')
			walk(it, out)
		})
		out.WriteByte('}')
	case Array:
		out.WriteByte('[')
		n := 0
		it.Array(func() {
			if n > 0 {
				out.WriteByte(',')
			}
			n++
			walk(it, out)
		})
		out.WriteByte(']')
	case String:
		// Through AppendUnescaped, so the fuzzer checks it too.
		k, s, e := it.Skip()
		if k != String { // Skip failed: the walk is invalid
			return
		}
		q, _ := json.Marshal(string(AppendUnescaped(nil, it.b[s+1:e-1])))
		out.Write(q)
	default:
		_, s, e := it.Skip()
		out.Write(it.b[s:e])
	}
}

func TestIterWalk(t *testing.T) {
	in := `{"id":"c","choices":[{"index":0,"delta":{"content":"a\nb"},"finish_reason":null}],"u":[[],{}], "n":-1.5e3}`
	it := NewIter([]byte(in))
	var out bytes.Buffer
	walk(&it, &out)
	if err := it.End(); err != nil {
		t.Fatal(err)
	}
	var a, b any
	if json.Unmarshal([]byte(in), &a) != nil || json.Unmarshal(out.Bytes(), &b) != nil {
		t.Fatalf("walk wrote %s", out.Bytes())
	}
	if ja, _ := json.Marshal(a); !bytes.Equal(ja, mustMarshal(b)) {
		t.Fatalf("walk wrote %s, want the same value as %s", out.Bytes(), in)
	}
	for _, bad := range []string{
		``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":01}`, `{"a":1.}`, `{"a":1e}`, `{"a":-}`,
		`{"a":tru}`, `{"a":nul}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `[1 2]`, `[1,]`, `{"a":[}`, `{"a":"`,
		`{"a":1}x`, `{"a":1}{}`, `{,"a":1}`, `[,1]`, strings.Repeat("[", 600) + strings.Repeat("]", 600),
	} {
		it := NewIter([]byte(bad))
		var out bytes.Buffer
		walk(&it, &out)
		if it.End() == nil {
			t.Errorf("walk accepted %q", bad)
		}
	}
}

// decodeNumbers decodes b keeping numbers as written (no float overflow).
func decodeNumbers(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// FuzzIter: a full walk accepts exactly what encoding/json accepts (but for
// nesting deeper than maxDepth) and reads the same value.
func FuzzIter(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"\u00e9"}],"c":null}`, `[]`, `{}`, `"x"`, `1`, `[1,]`, `{"a":1}}`, `  true `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<14 {
			return
		}
		it := NewIter(b)
		var out bytes.Buffer
		walk(&it, &out)
		got := it.End() == nil
		want := json.Valid(b)
		if got != want {
			if !want || (!bytes.Contains(b, bytes.Repeat([]byte("["), maxDepth/2)) && !bytes.Contains(b, bytes.Repeat([]byte("{"), maxDepth/2))) {
				t.Fatalf("Iter says valid=%v for %q, encoding/json %v", got, b, want)
			}
			return
		}
		if !got {
			return
		}
		x, err := decodeNumbers(b)
		if err != nil {
			t.Fatal(err)
		}
		y, err := decodeNumbers(out.Bytes())
		if err != nil {
			t.Fatalf("walk of %q wrote invalid %q", b, out.Bytes())
		}
		if !bytes.Equal(mustMarshal(x), mustMarshal(y)) {
			t.Fatalf("walk of %q read %q", b, out.Bytes())
		}
	})
}

func TestResumeObject(t *testing.T) {
	const prefix = `{"a":1,"b":"x"`
	for _, c := range []struct {
		rest string
		keys string
		ok   bool
	}{
		{`}`, "", true},
		{`,"c":[1,2],"d":{}}`, "cd", true},
		{` , "c" : null }`, "c", true},
		{`,"c":}`, "", false},
		{`,"c":1`, "c", false},
		{`}}`, "", false},
		{`"c":1}`, "", false},
		{`,"c":1} x`, "c", false},
	} {
		b := []byte(prefix + c.rest)
		it := ResumeObject(b, len(prefix))
		var keys string
		it.Members(func(key []byte) {
			keys += string(key)
			it.Skip()
		})
		err := it.End()
		if (err == nil) != c.ok || (c.ok && keys != c.keys) {
			t.Errorf("%s: keys %q, End %v; want keys %q, valid %v", b, keys, err, c.keys, c.ok)
		}
	}
}
