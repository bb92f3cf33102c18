package admin

import (
	"strings"
	"testing"
)

func TestRedeemCodesAreWellFormedAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := NewRedeemCode()
		if !wellFormedCode(c) || len(c) != 30 || seen[c] {
			t.Fatalf("code %q (seen before: %v)", c, seen[c])
		}
		seen[c] = true
		if l := maskCode(c); !strings.HasPrefix(l, c[:8]) || strings.Contains(l, c[8:28]) {
			t.Fatalf("label %q of %q", l, c)
		}
	}
	for _, bad := range []string{"", "sy-rc-", "sy-rc-" + strings.Repeat("a", 23), "sy-rc-" + strings.Repeat("a", 25), "sy-rc-" + strings.Repeat("-", 24), "sk-rc-" + strings.Repeat("a", 24)} {
		if wellFormedCode(bad) {
			t.Errorf("%q passed as a code", bad)
		}
	}
}
