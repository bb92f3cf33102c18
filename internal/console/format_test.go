package console

import "testing"

func TestAmountsAreFormattedWithThousandsSeparators(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{usdGrouped(0), "$0.00"},
		{usdGrouped(1_234_567_500_000_000), "$1,234,567.50"},
		{usdGrouped(750), "$0.00000075"},
		{usdGrouped(-2_000_000_000_000), "-$2,000.00"},
		{count(0), "0"},
		{count(999), "999"},
		{count(1000), "1,000"},
		{count(-1234567), "-1,234,567"},
		{millis(int64(1234)), "1,234 ms"},
		{millis((*int64)(nil)), "–"},
		{millis(12.6), "13 ms"},
		{perMillion("0.0000025"), "$2.50"},
		{perMillion("0.0000000375"), "$0.0375"},
		{perMillion("0.0015"), "$1,500.00"},
		{perMillion("0"), "$0.00"},
		{perMillion("bogus"), "bogus per token"},
		{percent(0.125), "12.5%"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
