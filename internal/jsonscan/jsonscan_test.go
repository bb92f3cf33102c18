package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestMembers(t *testing.T) {
	in := []byte(` {"id":"c-1", "n":-1.5e3 ,"a\u0062c":[1,{"x":null}],"o":{"k":true},"f":false} `)
	type m struct {
		key  string
		kind Kind
		raw  string
	}
	var got []m
	if err := Members(in, func(key []byte, kind Kind, start, end int) {
		got = append(got, m{string(key), kind, string(in[start:end])})
	}); err != nil {
		t.Fatal(err)
	}
	want := []m{{"id", String, `"c-1"`}, {"n", Number, `-1.5e3`}, {"abc", Array, `[1,{"x":null}]`}, {"o", Object, `{"k":true}`}, {"f", False, `false`}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("member %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestElements(t *testing.T) {
	in := []byte(`[ "a" , 2,[],{} ,null]`)
	var kinds []Kind
	var raws []string
	if err := Elements(in, func(kind Kind, start, end int) {
		kinds = append(kinds, kind)
		raws = append(raws, string(in[start:end]))
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(raws, "|") != `"a"|2|[]|{}|null` || kinds[0] != String || kinds[2] != Array || kinds[3] != Object || kinds[4] != Null {
		t.Fatalf("elements %q kinds %v", raws, kinds)
	}
}

func TestInvalid(t *testing.T) {
	for _, s := range []string{
		``, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{a:1}`, `{"a":01}`, `{"a":1.}`,
		`{"a":1e}`, `{"a":-}`, `{"a":tru}`, `{"a":nul}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}",
		`{"a":1}x`, `{"a":1}{}`, `[1,]`, `[1 2]`, `{"a":[}`, `{"a":"`, `{"a":"\`, strings.Repeat("[", 600) + strings.Repeat("]", 600),
	} {
		if Valid([]byte(s)) {
			t.Errorf("Valid(%q) = true", s)
		}
		if json.Valid([]byte(s)) && !strings.HasPrefix(s, "[[[") {
			t.Errorf("test case %q is valid JSON", s)
		}
		if err := Members([]byte(s), func([]byte, Kind, int, int) {}); err == nil {
			t.Errorf("Members(%q) = nil error", s)
		}
	}
}

func TestAppendUnescaped(t *testing.T) {
	for _, s := range []string{`plain`, `a\nb\t\"q\"\\\/`, `\u00e9\u4e2d`, `\ud83d\ude00 smile`, `lone \ud800 x`, `\b\f\r`} {
		var want string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &want); err != nil {
			t.Fatal(err)
		}
		if got := string(AppendUnescaped(nil, []byte(s))); got != want {
			t.Errorf("AppendUnescaped(%q) = %q, want %q", s, got, want)
		}
	}
}

// FuzzScan holds the scanner to encoding/json: the same verdict on validity,
// member spans that are valid JSON values, keys and strings decoded alike.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hello, world"},"finish_reason":null}],"usage":null}`,
		`{"a\u0062":"\ud83d\ude00","b":[1,-2.5e+3,true,false,null,{}]}`, `[]`, `"x"`, `0`, `{"a":"\u12`, `{"a":1e}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<14 {
			return
		}
		ok := json.Valid(b)
		if Valid(b) != ok && !bytes.Contains(b, bytes.Repeat([]byte("["), maxDepth)) && !bytes.Contains(b, bytes.Repeat([]byte("{"), maxDepth)) {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", b, !ok, ok)
		}
		n := 0
		err := Members(b, func(key []byte, kind Kind, start, end int) {
			n++
			if ok {
				if !json.Valid(b[start:end]) {
					t.Fatalf("member span %q is not a JSON value", b[start:end])
				}
				if kind == String {
					var want string
					if json.Unmarshal(b[start:end], &want) == nil && string(AppendUnescaped(nil, b[start+1:end-1])) != want {
						t.Fatalf("string %q decoded as %q, want %q", b[start:end], AppendUnescaped(nil, b[start+1:end-1]), want)
					}
				}
			}
		})
		if ok && err == nil {
			var m map[string]json.RawMessage
			if json.Unmarshal(b, &m) != nil {
				t.Fatalf("Members accepted %q, which is not an object", b)
			}
			if len(m) > n {
				t.Fatalf("Members reported %d members of %q, encoding/json %d", n, b, len(m))
			}
		}
	})
}
