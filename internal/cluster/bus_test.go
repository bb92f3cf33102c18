package cluster

import (
	"testing"
	"time"
)

// An AuthBlock notice reads back as written; anything else that starts
// like one (a notice from another version, a hostile publisher on the
// channel) is refused, not half-read.
func TestAuthBlockNoticeRoundTripsAndRefusesGarbage(t *testing.T) {
	until := time.Unix(1_800_000_000, 123)
	addr, got, ok := ParseAuthBlock(AuthBlockNotice("2001:db8::", until))
	if !ok || addr != "2001:db8::" || !got.Equal(until) {
		t.Fatalf("round trip: %q %v %v", addr, got, ok)
	}
	for _, bad := range []string{"authblock", "authblock ", "authblock 1.2.3.4", "authblock 1.2.3.4 soon",
		"authblock  123", "keys", "authblocked 1.2.3.4 1", "authblock 1.2.3.4 99999999999999999999"} {
		if _, _, ok := ParseAuthBlock(bad); ok {
			t.Errorf("ParseAuthBlock(%q) accepted", bad)
		}
	}
}
