package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCheckAcceptsWhatEncodingJSONAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"object", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`},
		{"scalars", ` [1, -2.5e10, true, false, null, "x\u00e9\n"] `},
		{"empty containers", `{"a":{},"b":[],"c":[{}]}`},
		{"bare string", `"a"`},
		{"number", `0`},
		{"truncated", `{"a":1`},
		{"trailing comma", `[1,]`},
		{"two values", `{} {}`},
		{"bad literal", `[tru]`},
		{"control char in string", "[\"a\x01\"]"},
		{"missing colon", `{"a" 1}`},
		{"key not string", `{1:2}`},
		{"empty", ``},
		{"leading zero", `[01]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Check([]byte(tc.in), Options{}) == nil
			if want := json.Valid([]byte(tc.in)); got != want {
				t.Fatalf("Check(%q) ok=%v, encoding/json says %v", tc.in, got, want)
			}
		})
	}
}

func TestCheckBoundsDepthWithoutRecursion(t *testing.T) {
	// Ten million levels: a recursive parser would need gigabytes of stack.
	deep := append(bytes.Repeat([]byte("["), 10_000_000), bytes.Repeat([]byte("]"), 10_000_000)...)
	if err := Check(deep, Options{MaxDepth: 256}); !errors.Is(err, ErrDepth) {
		t.Fatalf("10M levels: got %v, want ErrDepth", err)
	}
	at := func(n int) []byte {
		return []byte(strings.Repeat(`{"a":[`, n) + `1` + strings.Repeat(`]}`, n))
	}
	if err := Check(at(64), Options{MaxDepth: 128}); err != nil {
		t.Fatalf("128 levels under a bound of 128: %v", err)
	}
	if err := Check(at(65), Options{MaxDepth: 128}); !errors.Is(err, ErrDepth) {
		t.Fatalf("130 levels under a bound of 128: got %v, want ErrDepth", err)
	}
	// A bracket inside a string is text, not nesting.
	if err := Check([]byte(`["`+strings.Repeat("[", 1000)+`"]`), Options{MaxDepth: 2}); err != nil {
		t.Fatalf("brackets in a string: %v", err)
	}
}

func TestCheckRefusesDuplicateKeysAtAnyLevel(t *testing.T) {
	var dup *DuplicateKeyError
	for _, tc := range []struct {
		name, in, key string
	}{
		{"top level", `{"max_tokens":1,"model":"m","max_tokens":99999}`, "max_tokens"},
		{"nested", `{"generationConfig":{"maxOutputTokens":1,"maxOutputTokens":2}}`, "maxOutputTokens"},
		{"escaped spelling", `{"max_tokens":1,"max\u005ftokens":2}`, "max_tokens"},
		{"past the set threshold", `{` + manyMembers(40) + `,"k7":0}`, "k7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.in), Options{UniqueKeys: true})
			if !errors.As(err, &dup) || dup.Key != tc.key {
				t.Fatalf("got %v, want duplicate %q", err, tc.key)
			}
			if err := Check([]byte(tc.in), Options{}); err != nil {
				t.Fatalf("without UniqueKeys: %v", err)
			}
		})
	}
	// The same key in sibling objects is not a duplicate.
	ok := `{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}],"a":{"role":1},"role":2}`
	if err := Check([]byte(ok), Options{UniqueKeys: true}); err != nil {
		t.Fatalf("sibling objects: %v", err)
	}
	if err := Check([]byte(`{`+manyMembers(100)+`}`), Options{UniqueKeys: true}); err != nil {
		t.Fatalf("100 distinct keys: %v", err)
	}
}

func manyMembers(n int) string {
	var sb strings.Builder
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"k` + strings.Repeat("x", i%3) + itoa(i) + `":0`)
	}
	return strings.Replace(sb.String(), `"kx7"`, `"k7"`, 1)
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

// FuzzCheck: Check accepts exactly what encoding/json accepts (within the
// depth bound), and a duplicate it reports is really there twice.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `[[[[]]]]`, `{"a":1,"a":2}`, `"\ud800"`, `{"\u0061":1,"a":2}`, `1e5`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Check(b, Options{MaxDepth: 64})
		if errors.Is(err, ErrDepth) {
			return
		}
		if got, want := err == nil, json.Valid(b); got != want {
			t.Fatalf("Check(%q) = %v; encoding/json valid = %v", b, err, want)
		}
		if err != nil {
			return
		}
		var dup *DuplicateKeyError
		if uerr := Check(b, Options{MaxDepth: 64, UniqueKeys: true}); uerr != nil {
			if !errors.As(uerr, &dup) {
				t.Fatalf("UniqueKeys turned valid input into %v", uerr)
			}
			if n := bytes.Count(b, []byte(`"`)); n < 4 {
				t.Fatalf("duplicate %q reported in %q with fewer than two keys", dup.Key, b)
			}
		}
	})
}

// TestPlainRunStopsWhereTheByteLoopDoes: the word-at-a-time skip stops at
// the first '"', '\\' or control byte, as the byte loop does, wherever it
// lies in a word and whatever follows it (a borrow never hides one).
func TestPlainRunStopsWhereTheByteLoopDoes(t *testing.T) {
	byteLoop := func(b []byte, i int) int {
		for i < len(b) && plain[b[i]] {
			i++
		}
		return i
	}
	specials := []byte{'"', '\\', 0x00, 0x1f, 0x0a, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff, 'a'}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			if rng.IntN(4) == 0 {
				b[j] = specials[rng.IntN(len(specials))]
			} else {
				b[j] = byte(rng.IntN(256))
			}
		}
		start := 0
		if len(b) > 0 {
			start = rng.IntN(len(b))
		}
		want := byteLoop(b, start)
		got := plainRun(b, start)
		if got > want {
			t.Fatalf("plainRun(%q, %d) = %d skips the stop at %d", b, start, got, want)
		}
		if byteLoop(b, got) != want {
			t.Fatalf("plainRun(%q, %d) = %d", b, start, got)
		}
		if want-start >= 8 && got == start {
			t.Fatalf("plainRun(%q, %d) skipped nothing of a plain run of %d", b, start, want-start)
		}
	}
}
