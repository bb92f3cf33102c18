package admin

import (
	"strings"
	"testing"
	"time"
)

func TestAttemptsBlockAfterMaxUntilTheWindowEnds(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newAttempts(3, time.Minute, func() time.Time { return now })
	for range 3 {
		if w := a.blocked("account x", "address 1"); w != 0 {
			t.Fatalf("blocked %v before the limit", w)
		}
		a.fail("account x", "address 1")
	}
	now = now.Add(20 * time.Second)
	if w := a.blocked("account y", "address 1"); w != 40*time.Second {
		t.Errorf("the address after 3 failures waits %v, want 40s", w)
	}
	if w := a.blocked("account y", "address 2"); w != 0 {
		t.Errorf("another account and address wait %v", w)
	}
	now = now.Add(40 * time.Second)
	if w := a.blocked("account x", "address 1"); w != 0 {
		t.Errorf("after the window: %v", w)
	}
	a.fail("account z")
	if len(a.seen) != 1 {
		t.Errorf("ended windows are kept: %v", a.seen)
	}
}

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
