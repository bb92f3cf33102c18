package main

import (
	"runtime/debug"
	"testing"
)

// TestServeSetsGCPercentUnlessGOGCIsSet: serve collects at gcPercent, but
// an operator's $GOGC wins (the runtime has applied it already).
func TestServeSetsGCPercentUnlessGOGCIsSet(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)

	setGCPercent(func(k string) (string, bool) { return "", false })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("without $GOGC the collector's percent is %d, want %d", got, gcPercent)
	}
	setGCPercent(func(k string) (string, bool) {
		if k == "GOGC" {
			return "50", true
		}
		return "", false
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with $GOGC set, serve changed the collector's percent to %d", got)
	}
}
