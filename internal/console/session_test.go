package console

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
)

func TestSessionTableIsBoundedAndDropsTheLeastRecentlyUsed(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newSessions(2, time.Hour, time.Hour, func() time.Time { return now })
	ctx := context.Background()
	p := auth.Principal{KeyHash: "k"}
	a, _ := s.create(ctx, p)
	now = now.Add(time.Second)
	b, _ := s.create(ctx, p)
	now = now.Add(time.Second)
	s.get(ctx, a.id) // a is now the more recently used
	c, _ := s.create(ctx, p)
	if s.len() != 2 || s.get(ctx, b.id) != nil || s.get(ctx, a.id) == nil || s.get(ctx, c.id) == nil {
		t.Fatalf("want a and c kept, b dropped; %d sessions", s.len())
	}
	if a.id == c.id || a.csrf == a.id || len(a.id) != 43 {
		t.Fatalf("ids not distinct random tokens: %q %q %q", a.id, c.id, a.csrf)
	}
}

func TestFailureTableIsBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	f := newFailures(5, time.Minute, 2, func() time.Time { return now })
	f.fail("a")
	f.fail("b")
	f.fail("c") // the table is full: not tracked
	if len(f.m) != 2 {
		t.Fatalf("%d addresses tracked, want 2", len(f.m))
	}
	// A new address while the table is full waits for a window to end…
	if f.blocked("c") == 0 {
		t.Fatal("a new address was let in while the table is full")
	}
	if f.blocked("a") != 0 {
		t.Fatal("a tracked address under its limit was blocked")
	}
	// …which frees the table.
	now = now.Add(time.Minute)
	if f.blocked("c") != 0 {
		t.Fatal("still blocked after the windows ended")
	}
}
