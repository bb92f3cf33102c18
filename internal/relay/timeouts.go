package relay

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/routing"
)

// timeout is the route's total timeout if set, else the provider's.
func timeout(t *routing.Target, p *provider.Provider) time.Duration {
	if t.Route != nil && t.Route.Timeout > 0 {
		return t.Route.Timeout
	}
	return p.Timeout
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
	firstLim  time.Duration
	idleLim   time.Duration
	fbTimer   *time.Timer
	idleTimer *time.Timer
	reason    atomic.Int32
}

func newAttemptCtx(parent context.Context, total, firstByte, idle time.Duration, now func() time.Time) *attemptCtx {
	ctx, cancel := context.WithTimeout(parent, total)
	a := &attemptCtx{ctx: ctx, cancelCtx: cancel, now: now, start: now(), firstLim: firstByte, idleLim: idle}
	if firstByte > 0 {
		a.fbTimer = time.AfterFunc(firstByte, func() {
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
// a 504 that says which.
func (a *attemptCtx) explain(p *provider.Provider, e *llm.Error) *llm.Error {
	switch a.reason.Load() {
	case reasonFirstByte:
		return llm.UpstreamTimeout("provider '"+p.Name+"' did not start answering within "+a.firstLim.String()+" (first_byte_timeout)", e)
	case reasonIdle:
		return llm.UpstreamTimeout("provider '"+p.Name+"' went silent for more than "+a.idleLim.String()+" mid-stream (idle_timeout)", e)
	}
	return e
}
