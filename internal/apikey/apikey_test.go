package apikey

import (
	"errors"
	"hash/crc32"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// base62Ref encodes v the slow way, independently of putChecksum:
// math/big's base 62 uses 0-9a-zA-Z, so the case is swapped to 0-9A-Za-z.
func base62Ref(v uint32) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, big.NewInt(int64(v)).Text(62))
	return strings.Repeat("0", ChecksumLen-len(s)) + s
}

func TestSumKnownVectors(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		crc   uint32 // crc32.ChecksumIEEE(body), worked out once and written down
		check string
	}{
		{name: "zeros: one padding digit", body: Prefix + strings.Repeat("0", 43), crc: 295685443, check: "0K0fI3"},
		{name: "capitals", body: Prefix + strings.Repeat("A", 43), crc: 1711129162, check: "1rnirS"},
		{name: "mixed", body: Prefix + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", crc: 2384764080, check: "2bOE4m"},
		{name: "two padding digits", body: Prefix + "0000000000000000000000000000000000000000341", crc: 11699848, check: "00n5fE"},
		{name: "zero pads to six zeros", body: "", crc: 0, check: "000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := crc32.ChecksumIEEE([]byte(tt.body)); got != tt.crc {
				t.Fatalf("crc32.ChecksumIEEE = %d, vector says %d", got, tt.crc)
			}
			if got := checksum(tt.body); got != tt.crc {
				t.Fatalf("checksum = %d, want %d (crc32.ChecksumIEEE)", got, tt.crc)
			}
			if got := base62Ref(tt.crc); got != tt.check {
				t.Fatalf("reference base62 = %q, vector says %q", got, tt.check)
			}
			if got := Sum(tt.body); got != tt.check {
				t.Fatalf("Sum = %q, want %q", got, tt.check)
			}
			if tt.body != "" {
				if err := Check(tt.body + tt.check); err != nil {
					t.Fatalf("Check(body+sum) = %v", err)
				}
			}
		})
	}
}

func TestChecksumMatchesTheStandardLibrary(t *testing.T) {
	for range 200 {
		k := New()
		body := k[:Len-ChecksumLen]
		if want := base62Ref(crc32.ChecksumIEEE([]byte(body))); k[Len-ChecksumLen:] != want {
			t.Fatalf("key %s ends in %q, want %q", k, k[Len-ChecksumLen:], want)
		}
	}
}

func TestCheckRefusals(t *testing.T) {
	good := Prefix + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ" + "2bOE4m"
	tests := []struct {
		name string
		key  string
		want error
	}{
		{name: "good", key: good, want: nil},
		{name: "legacy key", key: "sk-sy-" + strings.Repeat("a", 40), want: ErrFormat},
		{name: "truncated", key: good[:Len-1], want: ErrLength},
		{name: "extra character", key: good + "x", want: ErrLength},
		{name: "prefix only", key: Prefix, want: ErrLength},
		{name: "one random character changed", key: good[:12] + "X" + good[13:], want: ErrChecksum},
		{name: "checksum character changed", key: good[:Len-1] + "n", want: ErrChecksum},
		{name: "two characters swapped", key: good[:9] + "ba" + good[11:], want: ErrChecksum},
		{name: "dash inside", key: good[:20] + "-" + good[21:], want: ErrCharset},
		{name: "non-ASCII byte", key: good[:20] + "\xff" + good[21:], want: ErrCharset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Check(tt.key); !errors.Is(got, tt.want) {
				t.Fatalf("Check = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewKeysAreWellFormedDistinctAndMatchThePattern(t *testing.T) {
	re := regexp.MustCompile(Pattern)
	seen := map[string]bool{}
	for range 1000 {
		k := New()
		if len(k) != Len || !strings.HasPrefix(k, Prefix) || seen[k] {
			t.Fatalf("bad or repeated key %q", k)
		}
		seen[k] = true
		if err := Check(k); err != nil {
			t.Fatalf("Check(%s) = %v", k, err)
		}
		// A scanner finds it in surrounding text, whole.
		if got := re.FindString(`OPENAI_API_KEY="` + k + `" # note`); got != k {
			t.Fatalf("Pattern found %q in text holding %s", got, k)
		}
	}
	for _, notKey := range []string{
		"sk-sy-" + strings.Repeat("a", 40),                               // legacy: not v1
		Prefix + strings.Repeat("a", 48),                                 // too short
		Prefix + strings.Repeat("a", 50),                                 // too long: no word boundary after 49
		"xsk-sy-v1-" + strings.Repeat("a", 49),                           // glued to a word
		Prefix + strings.Repeat("a", 20) + "_" + strings.Repeat("a", 28), // underscore
	} {
		if re.MatchString(notKey) {
			t.Errorf("Pattern matches %q", notKey)
		}
	}
}

func TestRandomPartIsRoughlyUniform(t *testing.T) {
	// Modulo bias (taking bytes mod 62 without rejection) would make the
	// first 8 characters about 25% more frequent than the rest; this
	// catches that and not ordinary noise.
	var counts [62]int
	const keys = 4000
	for range keys {
		k := New()
		for i := len(Prefix); i < len(Prefix)+RandomLen; i++ {
			counts[digit(k[i])]++
		}
	}
	mean := float64(keys*RandomLen) / 62
	var low, high float64
	for i, c := range counts {
		if i < 8 {
			low += float64(c)
		} else {
			high += float64(c)
		}
	}
	if ratio := (low / 8) / (high / 54); ratio > 1.1 || ratio < 0.9 {
		t.Fatalf("first 8 characters appear %.2f times as often as the others (mean %.0f per character)", ratio, mean)
	}
}

func BenchmarkCheck(b *testing.B) {
	k := New()
	b.ReportAllocs()
	for b.Loop() {
		if Check(k) != nil {
			b.Fatal("refused")
		}
	}
}

func TestCheckAllocatesNothing(t *testing.T) {
	good := New()
	last := "0"
	if good[Len-1] == '0' {
		last = "1"
	}
	bad := good[:Len-1] + last
	for _, k := range []string{good, bad, good[:30], "sk-sy-legacy"} {
		if n := testing.AllocsPerRun(100, func() { _ = Check(k) }); n != 0 {
			t.Fatalf("Check(%q) allocates %.0f times", k, n)
		}
	}
}

func FuzzCheck(f *testing.F) {
	f.Add(Prefix + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ" + "2bOE4m")
	f.Add(Prefix)
	f.Add("sk-sy-abc")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		err := Check(s)
		if err != nil {
			return
		}
		// Accepted: exactly the documented shape, and the checksum is the
		// standard CRC-32 of the rest.
		if !regexp.MustCompile(`^` + Pattern[2:len(Pattern)-2] + `$`).MatchString(s) {
			t.Fatalf("Check accepted %q, which the pattern does not match", s)
		}
		if want := base62Ref(crc32.ChecksumIEEE([]byte(s[:Len-ChecksumLen]))); s[Len-ChecksumLen:] != want {
			t.Fatalf("Check accepted %q with checksum %q, want %q", s, s[Len-ChecksumLen:], want)
		}
	})
}
