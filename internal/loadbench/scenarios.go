package loadbench

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// tally counts outcomes and keeps the first error for the report.
type tally struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	first      string
}

func (t *tally) add(err error) {
	if err == nil {
		t.ok.Add(1)
		return
	}
	if t.failed.Add(1) == 1 {
		t.mu.Lock()
		t.first = err.Error()
		t.mu.Unlock()
	}
}

// latencyC1 sends warmup and then n non-streamed chat requests one after
// another and returns the latencies of the n.
func latencyC1(ctx context.Context, hc *http.Client, t *target, warmup, n int, tl *tally) []time.Duration {
	for range warmup {
		if err := t.chat(ctx, hc); err != nil {
			tl.add(err)
		}
	}
	lat := make([]time.Duration, 0, n)
	for range n {
		if ctx.Err() != nil {
			break
		}
		start := time.Now()
		err := t.chat(ctx, hc)
		d := time.Since(start)
		tl.add(err)
		if err == nil {
			lat = append(lat, d)
		}
	}
	return lat
}

// openLoop sends non-streamed chat requests at rate per second for d,
// each at its scheduled time whatever the others are doing, and measures
// each latency from the time it was scheduled: a server that stalls is
// charged for the requests that queued behind the stall (no coordinated
// omission). It returns the latencies of the successful requests.
func openLoop(ctx context.Context, hc *http.Client, t *target, rate float64, d time.Duration, tl *tally) []time.Duration {
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, n)
	okSample := make([]bool, n)
	var wg sync.WaitGroup
	start := time.Now().Add(5 * time.Millisecond)
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			err := t.chat(ctx, hc)
			lat[i] = time.Since(at)
			okSample[i] = err == nil
			tl.add(err)
		})
	}
	wg.Wait()
	out := lat[:0]
	for i, ok := range okSample {
		if ok {
			out = append(out, lat[i])
		}
	}
	return out
}

// closedRun is the raw outcome of one closed-loop phase.
type closedRun struct {
	requests  int
	events    int
	elapsed   time.Duration
	cpu       time.Duration // of the target process
	syscalls  uint64        // read and write system calls of the target process
	rssMax    int64
	latency   []time.Duration
	firstByte []time.Duration // streams: time to the first event
}

// closedLoop runs conc clients that each send the next request as soon as
// the last is answered, for d, and measures the target process's CPU time
// over the phase and its largest RSS.
func closedLoop(ctx context.Context, hc *http.Client, t *target, conc int, d time.Duration, stream bool, tl *tally) (closedRun, error) {
	cpu0, err := ProcessCPU(t.proc.pid())
	if err != nil {
		return closedRun{}, err
	}
	sys0 := ProcessSyscalls(t.proc.pid())
	stopRSS := sampleRSS(t.proc.pid(), 100*time.Millisecond)
	start := time.Now()
	deadline := start.Add(d)
	type worker struct {
		lat, first []time.Duration
		events     int
	}
	ws := make([]worker, conc)
	var wg sync.WaitGroup
	for i := range ws {
		w := &ws[i]
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				if !stream {
					err := t.chat(ctx, hc)
					tl.add(err)
					if err == nil {
						w.lat = append(w.lat, time.Since(t0))
					}
					continue
				}
				r := t.stream(ctx, hc, t.chatURL, []byte(streamBody), nil)
				tl.add(r.err)
				if r.err == nil {
					w.lat = append(w.lat, r.end.Sub(t0))
					w.first = append(w.first, r.firstEvent)
					w.events += r.events
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, err := ProcessCPU(t.proc.pid())
	if err != nil {
		return closedRun{}, err
	}
	run := closedRun{elapsed: elapsed, cpu: cpu1 - cpu0, rssMax: stopRSS(), syscalls: ProcessSyscalls(t.proc.pid()) - sys0}
	for _, w := range ws {
		run.requests += len(w.lat)
		run.events += w.events
		run.latency = append(run.latency, w.lat...)
		run.firstByte = append(run.firstByte, w.first...)
	}
	return run, nil
}

// sampleRSS reads the RSS of pid every interval until the returned function
// is called, which returns the largest value read.
func sampleRSS(pid int, interval time.Duration) func() int64 {
	var peak atomic.Int64
	read := func() {
		if v, err := ProcessRSS(pid); err == nil && v > peak.Load() {
			peak.Store(v)
		}
	}
	read()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				read()
			}
		}
	})
	return func() int64 {
		close(done)
		wg.Wait()
		read()
		return peak.Load()
	}
}

// StreamsResult is the phase that holds K slow streams open at once.
type StreamsResult struct {
	K         int `json:"k"`
	MaxTokens int `json:"max_tokens"` // words per stream; with the slow route's delay, how long each stays open
	// RSSBeforeBytes is the target's RSS just before the streams open (idle,
	// its clients' connections closed); RSSAtKBytes when all K have received
	// their first event.
	RSSBeforeBytes    int64   `json:"rss_before_bytes"`
	RSSAtKBytes       int64   `json:"rss_at_k_bytes"`
	RSSPerStreamBytes float64 `json:"rss_per_stream_bytes"`
	// Truncated counts streams that failed or ended without data: [DONE].
	Truncated  int     `json:"truncated"`
	FirstError string  `json:"first_error,omitempty"`
	FirstEvent Summary `json:"first_event"`
	// OpenSeconds is how long it took until all K had their first event.
	OpenSeconds float64 `json:"open_seconds"`
	// EndedBeforeAllOpen counts streams that had ended before the last one
	// got its first event; when it is not 0 the K were not all open at once
	// and RSSAtKBytes understates them (raise --slow-delay).
	EndedBeforeAllOpen int `json:"ended_before_all_open"`
	Events             int `json:"events"`
}

// holdStreams opens k slow streams on t, at most ramp of them waiting for
// their first event at a time (so that the listen backlog does not
// overflow), reads the target's RSS when all k have received their first
// event, and reads every stream to its end.
func holdStreams(ctx context.Context, hc *http.Client, t *target, k, maxTokens, ramp int, tl *tally) (StreamsResult, error) {
	res := StreamsResult{K: k, MaxTokens: maxTokens}
	hc.CloseIdleConnections()
	time.Sleep(300 * time.Millisecond) // let the target see the closes
	var err error
	if res.RSSBeforeBytes, err = ProcessRSS(t.proc.pid()); err != nil {
		return res, err
	}
	body := slowStreamBody(maxTokens)
	sem := make(chan struct{}, ramp)
	var settled atomic.Int64
	allOpen := make(chan struct{})
	settle := func() {
		<-sem
		if settled.Add(1) == int64(k) {
			close(allOpen)
		}
	}
	results := make([]streamResult, k)
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(k)
	go func() {
		for i := range k {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				for range k - i {
					wg.Done()
				}
				return
			}
			go func() {
				defer wg.Done()
				var once sync.Once
				results[i] = t.stream(ctx, hc, t.slowURL, body, func() { once.Do(settle) })
				once.Do(settle)
			}()
		}
	}()
	var openAt time.Time
	select {
	case <-allOpen:
		openAt = time.Now()
		res.RSSAtKBytes, err = ProcessRSS(t.proc.pid())
	case <-ctx.Done():
		err = ctx.Err()
	}
	wg.Wait()
	if err != nil {
		return res, err
	}
	res.OpenSeconds = openAt.Sub(start).Seconds()
	res.RSSPerStreamBytes = float64(res.RSSAtKBytes-res.RSSBeforeBytes) / float64(k)
	firsts := make([]time.Duration, 0, k)
	for _, r := range results {
		tl.add(r.err)
		if r.err != nil {
			if res.Truncated == 0 {
				res.FirstError = r.err.Error()
			}
			res.Truncated++
		}
		if r.events > 0 {
			firsts = append(firsts, r.firstEvent)
		}
		if r.end.Before(openAt) {
			res.EndedBeforeAllOpen++
		}
		res.Events += r.events
	}
	res.FirstEvent = Summarize(firsts)
	return res, nil
}
