package relay

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/routing"
)

// timeout is the route's total timeout if set, else the provider's.
func timeout(t *routing.Target, p *provider.Provider) time.Duration {
	d, _ := totalClock(t, p)
	return d
}

// totalClock is the attempt's whole-call timeout and the setting it comes
// from, as a timeout message names it.
func totalClock(t *routing.Target, p *provider.Provider) (time.Duration, string) {
	if t.Route != nil && t.Route.Timeout > 0 {
		return t.Route.Timeout, "the route's timeout"
	}
	return p.Timeout, "provider '" + p.Name + "' timeout"
}

// requestBudget bounds a whole request across its attempts: the largest
// whole-call timeout among its candidates, counted from its first try. A
// slow first route therefore never takes away the time a later, more
// patient route was given, and no try starts or runs past the budget.
func (rl *Relay) requestBudget(cands []candidate) time.Duration {
	var longest time.Duration
	for _, cd := range cands {
		if p, ok := rl.Providers[cd.t.Provider]; ok {
			longest = max(longest, timeout(&cd.t, p))
		}
	}
	return longest
}

// attemptClocks are the limits of one attempt: the route's or provider's
// whole-call timeout, cut short by the request's deadline when that comes
// first.
func attemptClocks(t *routing.Target, p *provider.Provider, deadline, now time.Time) clocks {
	total, name := totalClock(t, p)
	if left := deadline.Sub(now); left < total {
		total, name = max(left, time.Millisecond), "the request's time limit (the largest timeout among its routes)"
	}
	return clocks{total: total, totalName: name, firstByte: firstByteTimeout(t, p), idle: idleTimeout(t, p)}
}

// clocks are an attempt's limits; zero firstByte or idle means none.
type clocks struct {
	total     time.Duration
	totalName string // the setting total comes from, for the message
	firstByte time.Duration
	idle      time.Duration
}

func firstByteTimeout(t *routing.Target, p *provider.Provider) time.Duration {
	if t.Route != nil && t.Route.FirstByteTimeout > 0 {
		return t.Route.FirstByteTimeout
	}
	return p.FirstByteTimeout
}

func idleTimeout(t *routing.Target, p *provider.Provider) time.Duration {
	if t.Route != nil && t.Route.IdleTimeout > 0 {
		return t.Route.IdleTimeout
	}
	return p.IdleTimeout
}

const (
	reasonNone int32 = iota
	reasonFirstByte
	reasonIdle
)

// attemptCtx is one attempt's context with its three clocks: the total
// timeout, the first-byte timeout (until the answer starts) and the idle
// timeout (between stream events). Whichever fires cancels the upstream
// request, which frees its goroutine and connection; explain then names it.
type attemptCtx struct {
	ctx       context.Context
	cancelCtx context.CancelFunc
	now       func() time.Time
	start     time.Time
	ttfb      time.Duration
	totalLim  time.Duration
	totalName string
	firstLim  time.Duration
	idleLim   time.Duration
	fbTimer   *time.Timer
	idleTimer *time.Timer
	reason    atomic.Int32
}

func newAttemptCtx(parent context.Context, cl clocks, now func() time.Time) *attemptCtx {
	ctx, cancel := context.WithTimeout(parent, cl.total)
	a := &attemptCtx{ctx: ctx, cancelCtx: cancel, now: now, start: now(),
		totalLim: cl.total, totalName: cl.totalName, firstLim: cl.firstByte, idleLim: cl.idle}
	if cl.firstByte > 0 {
		a.fbTimer = time.AfterFunc(cl.firstByte, func() {
			a.reason.CompareAndSwap(reasonNone, reasonFirstByte)
			cancel()
		})
	}
	return a
}

// firstByte marks the start of the answer: the first-byte clock stops and
// the idle clock starts.
func (a *attemptCtx) firstByte() {
	if a.ttfb != 0 {
		return
	}
	a.ttfb = max(a.now().Sub(a.start), time.Nanosecond)
	if a.fbTimer != nil {
		a.fbTimer.Stop()
	}
	if a.idleLim > 0 {
		a.idleTimer = time.AfterFunc(a.idleLim, func() {
			a.reason.CompareAndSwap(reasonNone, reasonIdle)
			a.cancelCtx()
		})
	}
}

// event restarts the idle clock.
func (a *attemptCtx) event() {
	if a.idleTimer != nil {
		a.idleTimer.Reset(a.idleLim)
	}
}

func (a *attemptCtx) sinceStart() time.Duration { return a.now().Sub(a.start) }

func (a *attemptCtx) cancel() {
	if a.fbTimer != nil {
		a.fbTimer.Stop()
	}
	if a.idleTimer != nil {
		a.idleTimer.Stop()
	}
	a.cancelCtx()
}

// explain replaces a failure caused by one of the attempt's own clocks with
// a 504 that names the clock that fired and its value. Before the first
// byte any of them is a failed attempt, and the request fails over.
func (a *attemptCtx) explain(p *provider.Provider, e error) error {
	switch a.reason.Load() {
	case reasonFirstByte:
		return llm.UpstreamTimeout("provider '"+p.Name+"' did not start answering within "+a.firstLim.String()+" (first_byte_timeout)", e)
	case reasonIdle:
		return llm.UpstreamTimeout("provider '"+p.Name+"' went silent for more than "+a.idleLim.String()+" mid-stream (idle_timeout)", e)
	}
	if errors.Is(a.ctx.Err(), context.DeadlineExceeded) {
		verb := "did not answer within "
		if a.ttfb != 0 {
			verb = "did not finish within "
		}
		return llm.UpstreamTimeout("provider '"+p.Name+"' "+verb+a.totalLim.String()+" ("+a.totalName+")", e)
	}
	return e
}
