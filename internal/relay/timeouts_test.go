package relay

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/routing"
)

func TestAttemptClocksNameTheLimitThatEndsFirst(t *testing.T) {
	p := &provider.Provider{Name: "pa", Timeout: 10 * time.Minute, FirstByteTimeout: 5 * time.Second}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	routeTimeout := &routing.Target{Provider: "pa", Model: "m", Route: &config.Route{Timeout: time.Second}}
	providerTimeout := &routing.Target{Provider: "pa", Model: "m"}
	tests := []struct {
		name     string
		t        *routing.Target
		deadline time.Time
		total    time.Duration
		named    string
	}{
		{name: "route timeout", t: routeTimeout, deadline: now.Add(10 * time.Minute), total: time.Second, named: "the route's timeout"},
		{name: "provider timeout on the first try", t: providerTimeout, deadline: now.Add(10 * time.Minute), total: 10 * time.Minute, named: "provider 'pa' timeout"},
		{name: "a later try is cut at the request's deadline", t: providerTimeout, deadline: now.Add(9 * time.Minute), total: 9 * time.Minute, named: "the request's time limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := attemptClocks(tt.t, p, tt.deadline, now)
			if cl.total != tt.total || !strings.Contains(cl.totalName, tt.named) || cl.firstByte != 5*time.Second {
				t.Fatalf("clocks = %+v, want total %v named %q", cl, tt.total, tt.named)
			}
		})
	}
}

func TestCoolingForgetsExpiredRoutesWhenLarge(t *testing.T) {
	var c Cooling
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range coolingSweep {
		c.set(string(rune('a'+i%26))+strings.Repeat("x", i), now, now.Add(time.Minute))
	}
	later := now.Add(2 * time.Minute)
	c.set("fresh", later, later.Add(time.Minute))
	if n := len(c.until); n != 1 {
		t.Fatalf("%d routes cooling after the sweep, want 1 (only the live one)", n)
	}
	if !c.active("fresh", later) {
		t.Fatal("the live entry was dropped")
	}
}
