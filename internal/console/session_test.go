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
