package failwindow

import (
	"strconv"
	"testing"
	"time"
)

func TestBlockedAfterMaxUntilTheWindowEnds(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(3, time.Minute, 100, func() time.Time { return now })
	for range 3 {
		if w := c.Blocked("account x", "address 1"); w != 0 {
			t.Fatalf("blocked %v before the limit", w)
		}
		c.Fail("account x", "address 1")
	}
	now = now.Add(20 * time.Second)
	if w := c.Blocked("account y", "address 1"); w != 40*time.Second {
		t.Errorf("the address after 3 failures waits %v, want 40s", w)
	}
	if w := c.Blocked("account y", "address 2"); w != 0 {
		t.Errorf("another account and address wait %v", w)
	}
	now = now.Add(40 * time.Second)
	if w := c.Blocked("account x", "address 1"); w != 0 {
		t.Errorf("after the window: %v", w)
	}
	c.Fail("account z")
	if c.Len() != 1 {
		t.Errorf("%d names kept, want only account z (ended windows dropped)", c.Len())
	}
}

// Many distinct names cannot grow the table past its capacity: while it is
// full, a new name is refused (for a window) and not counted; names it
// tracks keep their counts; once windows end, new names fit again.
func TestManyDistinctNamesCannotGrowTheTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const capacity = 1000
	c := New(5, time.Minute, capacity, func() time.Time { return now })
	for i := range 100 * capacity {
		addr := "198.51." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
		c.Blocked(addr)
		c.Fail(addr)
		if i%1000 == 0 {
			now = now.Add(time.Millisecond)
		}
	}
	if c.Len() != capacity {
		t.Fatalf("%d names tracked after 100,000 distinct ones, want the capacity %d", c.Len(), capacity)
	}
	if w := c.Blocked("203.0.113.9"); w != time.Minute {
		t.Errorf("a new name while the table is full waits %v, want a window", w)
	}
	if w := c.Blocked("198.51.0.0"); w != 0 {
		t.Errorf("a tracked name under its limit waits %v", w)
	}
	now = now.Add(time.Minute)
	if w := c.Blocked("203.0.113.9"); w != 0 {
		t.Errorf("after the windows ended a new name waits %v", w)
	}
	c.Fail("203.0.113.9")
	if c.Len() != 1 {
		t.Errorf("%d names after the windows ended and one failure, want 1", c.Len())
	}
}
