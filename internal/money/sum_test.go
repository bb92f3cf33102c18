package money

import (
	"math"
	"testing"
)

func TestCostOfSaturatesInsteadOfWrapping(t *testing.T) {
	ten := 10 * PerDollar // $10 per 1M tokens
	// 922337204 tokens at $10/M is $9223.37: the product in nano-dollars
	// (9.2e18) sits at int64's edge; one more digit wrapped it negative.
	if got, want := CostOf(922_337_204, ten), Nanos(9_223_372_040_000); got != want {
		t.Fatalf("CostOf(922337204, $10/M) = %s, want %s", got, want)
	}
	for _, tokens := range []int64{9_223_372_036, 1 << 62, math.MaxInt64} {
		if got := CostOf(tokens, ten); got <= 0 {
			t.Fatalf("CostOf(%d, $10/M) = %s: wrapped", tokens, got)
		}
	}
	if got := CostOf(math.MaxInt64, MaxNanos); got != MaxNanos {
		t.Fatalf("CostOf(max, max) = %d, want MaxNanos", got)
	}
	if got := CostOf(-5, ten); got != 0 {
		t.Fatalf("negative tokens cost %s", got)
	}
	var s Sum
	s.Add(math.MaxInt64, MaxNanos)
	s.Add(math.MaxInt64, MaxNanos)
	s.Add(math.MaxInt64, MaxNanos)
	if s.Nanos() != MaxNanos {
		t.Fatalf("a sum past 128 bits must saturate, got %d", s.Nanos())
	}
}

func TestAddSubSaturate(t *testing.T) {
	if Add(MaxNanos, 1) != MaxNanos || Add(-MaxNanos, -5) != -MaxNanos || Sub(-MaxNanos, MaxNanos) != -MaxNanos {
		t.Fatal("Add/Sub wrapped")
	}
	if Add(2, 3) != 5 || Sub(2, 3) != -1 {
		t.Fatal("Add/Sub wrong in range")
	}
}

func TestTokensFor(t *testing.T) {
	if got := TokensFor(PerDollar, 2*PerDollar); got != 500_000 {
		t.Fatalf("$1 at $2/M buys %d tokens, want 500000", got)
	}
	if got := TokensFor(MaxNanos, 1); got != math.MaxInt64 {
		t.Fatalf("saturation: %d", got)
	}
	if TokensFor(-1, PerDollar) != 0 || TokensFor(PerDollar, 0) != 0 {
		t.Fatal("non-positive inputs buy nothing")
	}
}
