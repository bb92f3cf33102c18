package money

import (
	"strings"
	"testing"
)

func TestParseUSDExact(t *testing.T) {
	for in, want := range map[string]Nanos{
		"2.50": 2_500_000_000, "0.15": 150_000_000, "0.00000075": 750, "10": 10 * PerDollar,
		"-1.5": -1_500_000_000, ".5": 500_000_000, "0.0000000010": 1, "+3": 3 * PerDollar,
	} {
		got, err := ParseUSD(in)
		if err != nil || got != want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "1.2.3", "0.0000000001", "-", "."} {
		if _, err := ParseUSD(bad); err == nil {
			t.Errorf("ParseUSD(%q) accepted", bad)
		}
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[Nanos]string{0: "0", 750: "0.00000075", 2_500_000_000: "2.5", -1: "-0.000000001", 10 * PerDollar: "10"} {
		if got := n.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(n), got, want)
		}
	}
}

func TestCostOfSmallRequestDoesNotRoundToZero(t *testing.T) {
	// 5 tokens at $0.15 per million tokens is $0.00000075.
	if got := CostOf(5, 150_000_000); got != 750 {
		t.Fatalf("CostOf = %d nanos, want 750", got)
	}
}

func TestParseUSDReadsEveryJSONNumberFormExactly(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Nanos
	}{
		{in: "1e-06", want: 1_000}, // what Python's json writes for 0.000001
		{in: "1e-6", want: 1_000},
		{in: "1E2", want: 100 * PerDollar},
		{in: "1e+2", want: 100 * PerDollar},
		{in: "-0.5e-3", want: -500_000},
		{in: "2.50", want: 2_500_000_000},
		{in: "2.5E0", want: 2_500_000_000},
		{in: "7.5e-7", want: 750},
		{in: "1e-9", want: 1},
		{in: "10e-10", want: 1},               // trailing zeros below a nano-dollar are free
		{in: "0.1", want: 100_000_000},        // exactly, where a float64 is not
		{in: "123456789e-9", want: 123456789}, // digits shifted, not scaled by a float
		{in: "9e9", want: 9_000_000_000 * PerDollar},
		{in: "0e999999999", want: 0},
		{in: "0.000e-999999999", want: 0},
		{in: "-0", want: 0},
		{in: " 3 ", want: 3 * PerDollar},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseUSD(c.in)
			if err != nil || got != c.want {
				t.Fatalf("ParseUSD(%q) = %d, %v; want %d", c.in, got, err, c.want)
			}
		})
	}
}

func TestParseUSDRefusesWhatIsNotAWholeNanoDollarOrInRange(t *testing.T) {
	for _, c := range []struct {
		in      string
		mention string
	}{
		{in: "1e-10", mention: "at most 9 decimal places"},
		{in: "1.5e-9", mention: "at most 9 decimal places"},
		{in: "1e-999999999", mention: "at most 9 decimal places"},
		{in: "1e999999999", mention: "too large"},
		{in: "1e99999999999999999999999999999", mention: "too large"},
		{in: "9.000000001e9", mention: "too large"},
		{in: "1e10", mention: "too large"},
		{in: "1e", mention: "not a decimal amount"},
		{in: "1e+", mention: "not a decimal amount"},
		{in: "e5", mention: "not a decimal amount"},
		{in: ".e5", mention: "not a decimal amount"},
		{in: "1e5e3", mention: "not a decimal amount"},
		{in: "1e2.5", mention: "not a decimal amount"},
		{in: "--1", mention: "not a decimal amount"},
		{in: "0x10", mention: "not a decimal amount"},
		{in: "Infinity", mention: "not a decimal amount"},
		{in: "NaN", mention: "not a decimal amount"},
	} {
		t.Run(c.in, func(t *testing.T) {
			n, err := ParseUSD(c.in)
			if err == nil || !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("ParseUSD(%q) = %d, %v; want an error mentioning %q", c.in, n, err, c.mention)
			}
		})
	}
}

func TestParseUSDHugeExponentIsCheap(t *testing.T) {
	// A shift per unit of exponent would loop a billion times or allocate a
	// gigabyte of zeros here.
	in := "1e" + strings.Repeat("9", 10_000)
	if allocs := testing.AllocsPerRun(10, func() { _, _ = ParseUSD(in) }); allocs > 2 {
		t.Fatalf("ParseUSD of a 10,000-digit exponent made %v allocations", allocs)
	}
}

func TestUnmarshalJSONTakesExponentNumbersAndNumericStrings(t *testing.T) {
	for in, want := range map[string]Nanos{`1e-06`: 1_000, `"1e-06"`: 1_000, `"2.50"`: 2_500_000_000, `-0.5e-3`: -500_000} {
		var n Nanos
		if err := n.UnmarshalJSON([]byte(in)); err != nil || n != want {
			t.Errorf("UnmarshalJSON(%s) = %d, %v; want %d", in, n, err, want)
		}
	}
}

func FuzzParseUSD(f *testing.F) {
	for _, s := range []string{"2.50", "1e-06", "-0.5e-3", "1E2", "0.000000001", "9e9", "1e999999999", ".5", "5.", "+3", "0e-99", " 1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseUSD(s)
		if err != nil {
			return
		}
		if n > maxUSD || n < -maxUSD {
			t.Fatalf("ParseUSD(%q) = %d, out of range", s, n)
		}
		back, err := ParseUSD(n.String())
		if err != nil || back != n {
			t.Fatalf("ParseUSD(%q) = %d, but its String %q parses to %d, %v", s, n, n.String(), back, err)
		}
	})
}
