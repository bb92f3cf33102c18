package money

import "testing"

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
	for _, bad := range []string{"", "abc", "1.2.3", "0.0000000001", "1e-6", "-", "."} {
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
