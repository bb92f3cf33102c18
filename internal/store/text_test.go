package store

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"gpt-4o":          "gpt-4o",
		"héllo, 世界":       "héllo, 世界",
		"a\x00b":          "a\uFFFDb",
		"\x00\x00":        "\uFFFD\uFFFD",
		"stop\xff":        "stop\uFFFD",
		"\xff\xfe\xfd":    "\uFFFD", // one run of invalid bytes, one replacement
		"x\xc3":           "x\uFFFD",
		"\xed\xa0\x80":    "\uFFFD", // an encoded surrogate is not UTF-8
		"ok\uFFFDalready": "ok\uFFFDalready",
	} {
		got := CleanText(in)
		if got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
		if !TextIsClean(got) {
			t.Errorf("CleanText(%q) = %q is not clean", in, got)
		}
		if TextIsClean(in) != (in == want) {
			t.Errorf("TextIsClean(%q) = %v", in, TextIsClean(in))
		}
	}
	s := strings.Repeat("clean text ", 3)
	if c := CleanText(s); unsafe.StringData(c) != unsafe.StringData(s) {
		t.Error("CleanText copied a clean string")
	}
}

func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"", "a\x00b", "stop\xff", "x\xc3", "héllo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := CleanText(s)
		if !utf8.ValidString(c) || strings.IndexByte(c, 0) >= 0 {
			t.Fatalf("CleanText(%q) = %q: not clean", s, c)
		}
		if CleanText(c) != c {
			t.Fatalf("CleanText is not idempotent on %q", s)
		}
		if TextIsClean(s) && c != s {
			t.Fatalf("clean %q changed to %q", s, c)
		}
	})
}

// Every string field of a generation and a charge is cleaned: a field
// added later and forgotten in Batch.CleanText fails here.
func TestBatchCleanTextCoversEveryStringField(t *testing.T) {
	var b Batch
	b.Generations = make([]Generation, 1)
	b.Charges = make([]Charge, 1)
	fill := func(v reflect.Value) (n int) {
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.String {
				f.SetString("x\x00\xff")
				n++
			}
		}
		return n
	}
	if fill(reflect.ValueOf(&b.Generations[0]).Elem()) == 0 || fill(reflect.ValueOf(&b.Charges[0]).Elem()) == 0 {
		t.Fatal("no string fields found")
	}
	b.CleanText()
	for _, v := range []reflect.Value{reflect.ValueOf(b.Generations[0]), reflect.ValueOf(b.Charges[0])} {
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.String && f.String() != "x\uFFFD\uFFFD" {
				t.Errorf("%s.%s = %q after CleanText, want %q", v.Type().Name(), v.Type().Field(i).Name, f.String(), "x\uFFFD\uFFFD")
			}
		}
	}
}

// BenchmarkBatchCleanText is what WriteBatch spends checking a clean
// batch's text, per generation.
func BenchmarkBatchCleanText(b *testing.B) {
	g := Generation{ID: "gen-0mxcs9mnacivgptqd0v3q4va", RequestID: "req-vfsznw5xwu00sv912wpivv55",
		KeyHash: strings.Repeat("c3", 32), AccountID: "acct-default", Model: "openai/gpt-4o", Provider: "openai",
		UpstreamModel: "gpt-4o-2024-08-06", FinishReason: "stop", Origin: "https://app.example", AppTitle: "Example",
		Attempts: `[{"provider":"openai","status":200}]`}
	batch := &Batch{Generations: []Generation{g}, Charges: []Charge{{GenerationID: g.ID, AccountID: g.AccountID, KeyHash: g.KeyHash}}}
	for b.Loop() {
		batch.CleanText()
	}
}
