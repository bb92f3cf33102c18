package console

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/money"
)

func TestDollarsSeparatesThousandsAndKeepsEveryDigit(t *testing.T) {
	for _, c := range []struct {
		in   money.Nanos
		want string
	}{
		{0, "$0.00"},
		{5 * money.PerDollar, "$5.00"},
		{7_500_000_000, "$7.50"},
		{1234567 * money.PerDollar, "$1,234,567.00"},
		{123_456_789, "$0.123456789"},
		{-1000 * money.PerDollar, "-$1,000.00"},
		{100 * money.PerDollar, "$100.00"},
	} {
		if got := usdGrouped(c.in); got != c.want {
			t.Errorf("usdGrouped(%d) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCSVFieldQuotesAndDefusesFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"spring promo": "spring promo",
		`a,"b"`:        `"a,""b"""`,
		"=cmd()":       "'=cmd()",
		"-1+1":         "'-1+1",
		"":             "",
	} {
		if got := csvField(in); got != want {
			t.Errorf("csvField(%q) = %q, want %q", in, got, want)
		}
	}
}
