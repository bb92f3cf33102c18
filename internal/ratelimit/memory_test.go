package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

func TestMemoryStaysWithinItsBoundAndDropsIdleEntries(t *testing.T) {
	m := NewMemory(memShards * 4)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var held []Subject
	for i := range 2000 {
		s := []Subject{{ID: "k:" + strconv.Itoa(i), Limits: Limits{RPM: 10, Concurrency: 5}}}
		if d := m.take(now, s, 0); !d.Allowed {
			t.Fatalf("subject %d refused: %+v", i, d)
		}
		if i%2 == 0 {
			m.settle(now, s, 0, 0, true)
		} else {
			held = append(held, s[0])
		}
	}
	// Entries with a request in flight are never dropped (their release
	// must find them); the others keep the map within its bound.
	if n := m.Len(); n > memShards*4+len(held) {
		t.Fatalf("%d entries, want at most %d", n, memShards*4+len(held))
	}
	for _, s := range held {
		m.settle(now, []Subject{s}, 0, 0, true)
	}
	later := now.Add(2 * Window)
	m.take(later, []Subject{{ID: "k:new", Limits: Limits{RPM: 1}}}, 0)
	for i := range m.shards {
		m.shards[i].sweep(later.UnixNano(), m.maxPerShard)
	}
	if n := m.Len(); n != 1 {
		t.Fatalf("%d entries after every subject went idle, want 1 (the new one)", n)
	}
}
