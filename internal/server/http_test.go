package server

import (
	"testing"
	"time"
)

func TestOrderedIDsSortByTimeAndDoNotRepeat(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 2000 {
		id := newOrderedID("gen-", t0.Add(time.Duration(i)*time.Millisecond))
		if len(id) != len("gen-")+24 || id[:4] != "gen-" {
			t.Fatalf("id %q: want gen- and 24 characters", id)
		}
		if id[:13] < prev {
			t.Fatalf("id %q sorts before the previous one's time %q", id, prev)
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id], prev = true, id[:13]
	}
	// Far dates keep the width, so string order stays time order.
	if a, b := newOrderedID("gen-", time.Unix(0, 0)), newOrderedID("gen-", time.Date(4000, 1, 1, 0, 0, 0, 0, time.UTC)); len(a) != len(b) || a[:13] >= b[:13] {
		t.Fatalf("ids %q and %q", a, b)
	}
}
