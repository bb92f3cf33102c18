// Package loadbench is the load benchmark behind `switchyard bench`: the
// mock upstream, a bare httputil.ReverseProxy and the gateway each run in a
// process of their own on loopback, and the same load is sent to each in
// turn, so that the gateway's cost reads as the difference from the proxy
// and from the upstream alone (docs/benchmarks.md).
//
// It measures added latency at c=1, latency under an open-loop rate,
// closed-loop throughput with CPU time per request from /proc/PID/stat, and
// RSS per open stream from /proc/PID/status. Linux only.
package loadbench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Options are the benchmark's settings; Defaults and Quick fill them.
type Options struct {
	Duration    time.Duration `json:"duration_ns"`   // each open- and closed-loop phase
	Rate        float64       `json:"rate"`          // open loop, requests per second
	Concurrency int           `json:"concurrency"`   // closed loop
	LatencyN    int           `json:"latency_n"`     // c=1 requests per target and round
	Warmup      int           `json:"warmup"`        // c=1 requests not measured
	Streams     []int         `json:"streams"`       // K values of the open-streams phase
	SlowDelay   time.Duration `json:"slow_delay_ns"` // between events of a slow stream
	Ramp        int           `json:"ramp"`          // slow streams waiting for their first event at once
	// HoldMin is how long a held-open stream lasts at least; K streams
	// last HoldMin + 2 ms per stream, rounded up to whole events: opening
	// 5,000 through the gateway took 5-7 s on two cores.
	HoldMin  time.Duration `json:"hold_min_ns"`
	Rounds   int           `json:"rounds"` // repetitions of each scenario over the targets
	Postgres string        `json:"-"`      // DSN; "" runs the gateway on SQLite
	Keep     bool          `json:"-"`      // keep the temporary directory (config, logs, database)
	// ProfileDir, when set, receives CPU profiles of the gateway and of
	// the proxy taken during their closed-loop phases, one per round
	// (gateway-chat.1.pprof, proxy-stream.1.pprof, …; `go tool pprof`
	// merges the files it is given), read from the gateway's /debug/pprof
	// with the admin key and from the proxy's (started with --pprof).
	ProfileDir string `json:"-"`
	// Bin is the switchyard binary to start the servers from; "" is the
	// running executable.
	Bin string `json:"-"`
}

// Defaults is the full run: under five minutes on two cores. Each target
// gets 5 s of each timed phase and 5,000 c=1 requests, in five slices taken
// in turn (direct, proxy, gateway, direct, …): a shared machine's speed
// drifts over tens of seconds, and slices spread the drift over all three.
func Defaults() Options {
	return Options{
		Duration: time.Second, Rate: 200, Concurrency: 50, LatencyN: 1000, Warmup: 200,
		Streams: []int{100, 1000, 5000}, SlowDelay: time.Second, Ramp: 256, HoldMin: time.Second, Rounds: 5,
	}
}

// Quick is the smoke run for CI: every scenario, tiny loads, a few seconds.
func Quick() Options {
	return Options{
		Duration: 300 * time.Millisecond, Rate: 100, Concurrency: 8, LatencyN: 50, Warmup: 5,
		Streams: []int{20}, SlowDelay: 100 * time.Millisecond, Ramp: 64, HoldMin: 200 * time.Millisecond, Rounds: 1,
	}
}

// Target names, in the order of the table's columns.
var targetNames = [3]string{"direct", "proxy", "gateway"}

// Results is everything the benchmark measured, as written by --json.
type Results struct {
	Machine  Machine         `json:"machine"`
	Options  Options         `json:"options"`
	Database string          `json:"database"` // the gateway's storage: sqlite or postgres
	Targets  []*TargetResult `json:"targets"`  // direct, proxy, gateway
	Notes    []string        `json:"notes,omitempty"`
	Seconds  float64         `json:"seconds"` // wall time of the whole run
}

// Machine is where the figures come from.
type Machine struct {
	CPU       string `json:"cpu"`
	NumCPU    int    `json:"nproc"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Date      string `json:"date"`
}

// TargetResult is one column of the table.
type TargetResult struct {
	Name         string `json:"name"`
	IdleRSSBytes int64  `json:"idle_rss_bytes"` // after start, before any request
	// IdleAnonRSSBytes is the anonymous part of IdleRSSBytes (RssAnon):
	// what the process allocated, without its binary's mapped pages.
	IdleAnonRSSBytes int64  `json:"idle_anon_rss_bytes"`
	Requests         int64  `json:"requests"` // successful requests and streams, all phases
	Errors           int64  `json:"errors"`
	FirstError       string `json:"first_error,omitempty"`

	Latency      Summary  `json:"latency_c1"`
	AddedLatency *Added   `json:"added_latency_c1,omitempty"` // vs direct; not for direct
	OpenLoop     OpenLoop `json:"open_loop"`
	Chat         Closed   `json:"closed_loop_chat"`
	Stream       Closed   `json:"closed_loop_stream"`

	Streams []StreamsResult `json:"streams"`
}

// Added is a target's latency percentiles minus direct's.
type Added struct {
	P50US  float64 `json:"p50_us"`
	P99US  float64 `json:"p99_us"`
	P999US float64 `json:"p999_us"`
}

// OpenLoop is the fixed-rate phase.
type OpenLoop struct {
	Rate    float64 `json:"rate"`
	Sent    int     `json:"sent"`
	Latency Summary `json:"latency"` // from each request's scheduled send time
}

// Closed is a closed-loop phase at a fixed concurrency.
type Closed struct {
	Concurrency     int     `json:"concurrency"`
	Requests        int     `json:"requests"`
	Seconds         float64 `json:"seconds"`
	PerSecond       float64 `json:"per_second"`
	CPUSeconds      float64 `json:"cpu_seconds"` // the target process's user + system time
	CPUPerRequestUS float64 `json:"cpu_per_request_us"`
	RSSMaxBytes     int64   `json:"rss_max_bytes"`
	Latency         Summary `json:"latency"`
	// SyscallsPerRequest is the target's read and write system calls
	// (/proc/PID/io syscr + syscw) per request: a proxy's floor is one read
	// and one write on each side.
	SyscallsPerRequest float64 `json:"syscalls_per_request"`
	// Streams only.
	Events        int      `json:"events,omitempty"`
	CPUPerEventUS float64  `json:"cpu_per_event_us,omitempty"`
	FirstEvent    *Summary `json:"first_event,omitempty"`
}

// logf prints progress.
type logf func(format string, args ...any)

// Run starts the servers, runs every scenario against each target in turn
// and returns what it measured. Progress goes to progress.
func Run(ctx context.Context, o Options, progress io.Writer) (*Results, error) {
	if !supported {
		return nil, errors.New("the load benchmark runs on Linux only: it reads CPU time and RSS from /proc")
	}
	began := time.Now()
	say := logf(func(format string, args ...any) {
		fmt.Fprintf(progress, "%5.1fs  "+format+"\n", append([]any{time.Since(began).Seconds()}, args...)...)
	})
	res := &Results{Machine: machine(began), Options: o, Database: "sqlite"}
	note := func(format string, args ...any) {
		res.Notes = append(res.Notes, fmt.Sprintf(format, args...))
		say("note: "+format, args...)
	}
	o, err := checkOptions(o, note)
	if err != nil {
		return nil, err
	}
	res.Options = o

	dir, err := os.MkdirTemp("", "switchyard-bench-")
	if err != nil {
		return nil, err
	}
	if o.Keep {
		say("config, logs and database in %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin := o.Bin
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("finding the switchyard binary to start the servers: %w", err)
		}
	}
	targets, stop, err := startTargets(ctx, bin, dir, o, res, note)
	if err != nil {
		return nil, err
	}
	defer stop()
	for i, t := range targets {
		res.Targets = append(res.Targets, &TargetResult{Name: targetNames[i]})
		if res.Targets[i].IdleRSSBytes, err = ProcessRSS(t.proc.pid()); err != nil {
			return nil, err
		}
		if res.Targets[i].IdleAnonRSSBytes, err = ProcessAnonRSS(t.proc.pid()); err != nil {
			return nil, err
		}
	}

	maxConns := o.Concurrency
	for _, k := range o.Streams {
		maxConns = max(maxConns, k)
	}
	hc := newClient(maxConns)
	defer hc.CloseIdleConnections()
	tallies := make([]tally, len(targets))
	if err := smokeCheck(ctx, hc, targets); err != nil {
		return nil, err
	}

	if err := runScenarios(ctx, hc, targets, tallies, o, res, say); err != nil {
		return nil, err
	}
	for i, t := range targets {
		if !t.proc.alive() {
			return nil, fmt.Errorf("the %s process exited during the benchmark; its log:\n%s", t.name, t.proc.logTail())
		}
		tr := res.Targets[i]
		tr.Requests, tr.Errors, tr.FirstError = tallies[i].ok.Load(), tallies[i].failed.Load(), tallies[i].first
	}
	res.Seconds = time.Since(began).Seconds()
	return res, nil
}

func checkOptions(o Options, note func(string, ...any)) (Options, error) {
	if o.Duration <= 0 || o.Rate <= 0 || o.Concurrency <= 0 || o.LatencyN <= 0 || o.SlowDelay <= 0 {
		return o, errors.New("--duration, --rate, --concurrency, latency requests and --slow-delay must be positive")
	}
	o.Rounds = max(o.Rounds, 1)
	o.Ramp = max(o.Ramp, 1)
	limit, err := raiseFileLimit()
	if err != nil {
		return o, err
	}
	// The gateway holds a client and an upstream connection per stream.
	var ks []int
	for _, k := range o.Streams {
		if k <= 0 {
			return o, fmt.Errorf("--streams: %d is not a positive number of streams", k)
		}
		if need := uint64(2*k + 200); need > limit {
			note("skipped %d streams: they need %d open files and the limit is %d (raise it with ulimit -Hn)", k, need, limit)
			continue
		}
		ks = append(ks, k)
	}
	o.Streams = ks
	return o, nil
}

// startTargets starts the upstream, the proxy and the gateway and returns
// them as targets in table order, and a function that stops them.
func startTargets(ctx context.Context, bin, dir string, o Options, res *Results, note func(string, ...any)) ([]*target, func(), error) {
	var (
		procs      []*child
		dropSchema func()
	)
	stop := func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
		if dropSchema != nil {
			dropSchema()
		}
	}
	up, upAddr, err := startServer(bin, dir, "upstream", []string{"bench", "upstream", "--listen", "127.0.0.1:0", "--slow-delay", o.SlowDelay.String()})
	if err != nil {
		return nil, nil, err
	}
	procs = append(procs, up)
	pxArgs := []string{"bench", "proxy", "--listen", "127.0.0.1:0", "--upstream", "http://" + upAddr}
	if o.ProfileDir != "" {
		pxArgs = append(pxArgs, "--pprof")
	}
	px, pxAddr, err := startServer(bin, dir, "proxy", pxArgs)
	if err != nil {
		stop()
		return nil, nil, err
	}
	procs = append(procs, px)
	db := "sqlite://" + dir + "/switchyard.db"
	if o.Postgres != "" {
		// A schema of its own: every run starts empty, and --keep keeps it.
		dsn, drop, err := freshSchema(ctx, o.Postgres)
		if err != nil {
			stop()
			return nil, nil, err
		}
		db = dsn
		if !o.Keep {
			dropSchema = drop
		} else {
			note("the gateway's database is the schema of %s", firstLine(dsn))
		}
	}
	gw, base, key, err := startGateway(ctx, bin, dir, upAddr, db)
	if err != nil && o.Postgres != "" {
		note("PostgreSQL was asked for, but the gateway cannot use it: %s; the gateway runs on SQLite", firstLine(err.Error()))
		gw, base, key, err = startGateway(ctx, bin, dir, upAddr, "sqlite://"+dir+"/switchyard.db")
	} else if err == nil && o.Postgres != "" {
		res.Database = "postgres"
	}
	if err != nil {
		stop()
		return nil, nil, err
	}
	procs = append(procs, gw)
	const path = "/v1/chat/completions"
	targets := []*target{
		{name: "direct", chatURL: "http://" + upAddr + path, slowURL: "http://" + upAddr + SlowPrefix + path, key: "bench", proc: up},
		{name: "proxy", chatURL: "http://" + pxAddr + path, slowURL: "http://" + pxAddr + SlowPrefix + path, key: "bench", proc: px},
		{name: "gateway", chatURL: base + "/chat/completions", slowURL: base + "/chat/completions", key: key, proc: gw},
	}
	return targets, stop, nil
}

// smokeCheck sends one chat and one stream to each target, so that a setup
// problem (a refused key, a wrong route) stops the run with its reason.
func smokeCheck(ctx context.Context, hc *http.Client, targets []*target) error {
	for _, t := range targets {
		if err := t.chat(ctx, hc); err != nil {
			return fmt.Errorf("the first chat request failed: %w", err)
		}
		if r := t.stream(ctx, hc, t.chatURL, []byte(streamBody), nil); r.err != nil {
			return fmt.Errorf("the first stream to %s failed: %w", t.name, r.err)
		}
	}
	return nil
}

func runScenarios(ctx context.Context, hc *http.Client, targets []*target, tallies []tally, o Options, res *Results, say logf) error {
	n := len(targets)
	lat := make([][]time.Duration, n)
	say("latency, c=1: %d requests per target and round", o.LatencyN)
	for range o.Rounds {
		for i, t := range targets {
			lat[i] = append(lat[i], latencyC1(ctx, hc, t, o.Warmup, o.LatencyN, &tallies[i])...)
		}
	}
	for i := range targets {
		res.Targets[i].Latency = Summarize(lat[i])
	}
	d := res.Targets[0].Latency
	for i := 1; i < n; i++ {
		s := res.Targets[i].Latency
		res.Targets[i].AddedLatency = &Added{P50US: s.P50US - d.P50US, P99US: s.P99US - d.P99US, P999US: s.P999US - d.P999US}
	}

	say("open loop: %.0f requests/s for %v per target and round", o.Rate, o.Duration)
	open := make([][]time.Duration, n)
	for range o.Rounds {
		for i, t := range targets {
			open[i] = append(open[i], openLoop(ctx, hc, t, o.Rate, o.Duration, &tallies[i])...)
			res.Targets[i].OpenLoop.Sent += int(o.Rate * o.Duration.Seconds())
		}
	}
	for i := range targets {
		res.Targets[i].OpenLoop.Rate = o.Rate
		res.Targets[i].OpenLoop.Latency = Summarize(open[i])
	}

	for _, stream := range []bool{false, true} {
		kind := "chat"
		if stream {
			kind = "stream"
		}
		say("closed loop, %s: c=%d for %v per target and round", kind, o.Concurrency, o.Duration)
		runs := make([][]closedRun, n)
		for round := range o.Rounds {
			for i, t := range targets {
				var prof func() error
				if (t.name == "gateway" || t.name == "proxy") && o.ProfileDir != "" {
					name := fmt.Sprintf("%s-%s.%d.pprof", t.name, kind, round+1)
					prof = startProfile(ctx, t, o.Duration, filepath.Join(o.ProfileDir, name))
				}
				r, err := closedLoop(ctx, hc, t, o.Concurrency, o.Duration, stream, &tallies[i])
				if prof != nil {
					if perr := prof(); perr != nil {
						say("profile: %v", perr)
					}
				}
				if err != nil {
					return err
				}
				runs[i] = append(runs[i], r)
			}
		}
		for i := range targets {
			c := mergeClosed(runs[i], o.Concurrency, stream)
			if stream {
				res.Targets[i].Stream = c
			} else {
				res.Targets[i].Chat = c
			}
		}
	}

	for _, k := range o.Streams {
		hold := o.HoldMin + time.Duration(k)*2*time.Millisecond
		maxTokens := max(1, int(math.Ceil(float64(hold)/float64(o.SlowDelay)))-2)
		say("%d open streams (%d words, %v between events) per target", k, maxTokens, o.SlowDelay)
		for i, t := range targets {
			sctx, cancel := context.WithTimeout(ctx, 2*time.Minute+time.Duration(maxTokens+4)*o.SlowDelay)
			r, err := holdStreams(sctx, hc, t, k, maxTokens, o.Ramp, &tallies[i])
			cancel()
			if err != nil {
				return fmt.Errorf("%d streams to %s: %w (%d truncated so far; first error: %s)", k, t.name, err, r.Truncated, r.FirstError)
			}
			if r.Truncated > 0 {
				say("  %s: %d of %d streams truncated; the first: %s", t.name, r.Truncated, k, r.FirstError)
			}
			if r.EndedBeforeAllOpen > 0 {
				say("  %s: %d streams ended before all %d were open (opening took %.1fs); the RSS figure understates %d streams",
					t.name, r.EndedBeforeAllOpen, k, r.OpenSeconds, k)
			}
			res.Targets[i].Streams = append(res.Targets[i].Streams, r)
		}
		hc.CloseIdleConnections()
	}
	return nil
}

// startProfile asks the gateway for a CPU profile covering most of a phase
// of length d and returns a function that waits for it and writes it to path.
func startProfile(ctx context.Context, t *target, d time.Duration, path string) func() error {
	secs := max(1, int(d.Seconds())-1)
	base := strings.TrimSuffix(t.chatURL, "/v1/chat/completions") // the proxy's path, or the gateway's
	done := make(chan error, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), nil)
		if err != nil {
			done <- err
			return
		}
		req.Header.Set("Authorization", "Bearer "+benchAdminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET /debug/pprof/profile: %s: %s", resp.Status, firstLine(string(body)))
		}
		if err == nil {
			err = os.WriteFile(path, body, 0o644)
		}
		done <- err
	}()
	return func() error { return <-done }
}

// mergeClosed adds up the rounds of one closed-loop phase.
func mergeClosed(runs []closedRun, conc int, stream bool) Closed {
	c := Closed{Concurrency: conc}
	var elapsed, cpu time.Duration
	var lat, first []time.Duration
	var syscalls uint64
	for _, r := range runs {
		syscalls += r.syscalls
		c.Requests += r.requests
		c.Events += r.events
		elapsed += r.elapsed
		cpu += r.cpu
		c.RSSMaxBytes = max(c.RSSMaxBytes, r.rssMax)
		lat = append(lat, r.latency...)
		first = append(first, r.firstByte...)
	}
	c.Seconds = elapsed.Seconds()
	c.CPUSeconds = cpu.Seconds()
	if c.Seconds > 0 {
		c.PerSecond = float64(c.Requests) / c.Seconds
	}
	if c.Requests > 0 {
		c.CPUPerRequestUS = us(cpu) / float64(c.Requests)
		c.SyscallsPerRequest = float64(syscalls) / float64(c.Requests)
	}
	c.Latency = Summarize(lat)
	if stream {
		s := Summarize(first)
		c.FirstEvent = &s
		if c.Events > 0 {
			c.CPUPerEventUS = us(cpu) / float64(c.Events)
		}
	}
	return c
}

func machine(now time.Time) Machine {
	m := Machine{CPU: "unknown", NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		Date: now.UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
