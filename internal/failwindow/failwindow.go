// Package failwindow counts failures per name (a client address, an
// account, an email) in fixed windows, for the limits on guessing: failed
// sign-ins, redemptions of codes, OAuth code exchanges, registrations.
// After max failures in a window a name is refused until the window ends.
//
// The table is bounded: it holds at most capacity names. When it is full,
// names whose window has ended are dropped; if none has, a new name is
// refused for a window and its failures are not counted (failing closed:
// an attacker spraying names locks out only new names, briefly, and
// cannot grow memory). The sweep runs only when the table is full and the
// oldest window has ended, so a full table under attack costs no scan per
// request.
package failwindow

import (
	"sync"
	"time"
)

// Counter is one limit's table of names. Its methods are safe for
// concurrent use.
type Counter struct {
	mu       sync.Mutex
	m        map[string]window
	max      int
	window   time.Duration
	capacity int
	now      func() time.Time
	// oldest is the earliest start of a window in m (zero when m is
	// empty): no window has ended before oldest + window.
	oldest time.Time
}

type window struct {
	start time.Time
	n     int
}

// New returns a Counter allowing limit failures per name per window, for
// at most capacity names at once; now is the clock (time.Now if nil).
func New(limit int, every time.Duration, capacity int, now func() time.Time) *Counter {
	if now == nil {
		now = time.Now
	}
	return &Counter{m: map[string]window{}, max: limit, window: every, capacity: max(capacity, 1), now: now}
}

// Blocked is how long the most blocked of names must wait, or 0.
func (c *Counter) Blocked(names ...string) time.Duration {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var wait time.Duration
	for _, name := range names {
		w, ok := c.current(name, now)
		switch {
		case !ok && !c.room(now):
			wait = max(wait, c.window)
		case ok && w.n >= c.max:
			wait = max(wait, w.start.Add(c.window).Sub(now))
		}
	}
	return wait
}

// Fail counts one failure against each of names (not against a new name
// while the table is full).
func (c *Counter) Fail(names ...string) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range names {
		w, ok := c.current(name, now)
		if !ok {
			if !c.room(now) {
				continue
			}
			w.start = now
			if len(c.m) == 0 || now.Before(c.oldest) {
				c.oldest = now
			}
		}
		w.n++
		c.m[name] = w
	}
}

// Len is how many names the table holds.
func (c *Counter) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// current is name's window at now, if it has one that has not ended; an
// ended one is dropped. The caller holds mu.
func (c *Counter) current(name string, now time.Time) (window, bool) {
	w, ok := c.m[name]
	if ok && !now.Before(w.start.Add(c.window)) {
		delete(c.m, name)
		return window{}, false
	}
	return w, ok
}

// room says whether a new name fits, dropping ended windows first when
// the table is full and one may have ended. The caller holds mu.
func (c *Counter) room(now time.Time) bool {
	if len(c.m) < c.capacity {
		return true
	}
	if now.Before(c.oldest.Add(c.window)) {
		return false
	}
	c.oldest = time.Time{}
	for name, w := range c.m {
		if !now.Before(w.start.Add(c.window)) {
			delete(c.m, name)
		} else if c.oldest.IsZero() || w.start.Before(c.oldest) {
			c.oldest = w.start
		}
	}
	return len(c.m) < c.capacity
}
