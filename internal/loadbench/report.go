package loadbench

import (
	"fmt"
	"io"
	"math"
)

// Table is the printed form of r: one row per metric, a column per target
// and gateway/proxy.
func (r *Results) Table() []Row {
	if len(r.Targets) != 3 {
		return nil
	}
	var rows []Row
	add := func(metric, format string, ratio bool, f func(t *TargetResult) float64) {
		var v [3]float64
		for i, t := range r.Targets {
			v[i] = f(t)
		}
		rows = append(rows, numRow(metric, format, v, ratio))
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	nan := math.NaN()
	addedOf := func(pick func(a *Added) float64) func(t *TargetResult) float64 {
		return func(t *TargetResult) float64 {
			if t.AddedLatency == nil {
				return nan
			}
			return pick(t.AddedLatency)
		}
	}

	add("RSS idle (MiB)", "%.1f", true, func(t *TargetResult) float64 { return mib(t.IdleRSSBytes) })
	add("RSS idle, anonymous (MiB)", "%.1f", true, func(t *TargetResult) float64 { return mib(t.IdleAnonRSSBytes) })
	add("c=1 chat p50 (µs)", "%.0f", true, func(t *TargetResult) float64 { return t.Latency.P50US })
	add("c=1 chat p99 (µs)", "%.0f", true, func(t *TargetResult) float64 { return t.Latency.P99US })
	add("c=1 chat p99.9 (µs)", "%.0f", true, func(t *TargetResult) float64 { return t.Latency.P999US })
	add("c=1 added vs direct, p50 (µs)", "%.0f", true, addedOf(func(a *Added) float64 { return a.P50US }))
	add("c=1 added vs direct, p99 (µs)", "%.0f", true, addedOf(func(a *Added) float64 { return a.P99US }))
	add("c=1 added vs direct, p99.9 (µs)", "%.0f", true, addedOf(func(a *Added) float64 { return a.P999US }))

	rate := r.Options.Rate
	add(fmt.Sprintf("open loop %.0f/s p50 (µs)", rate), "%.0f", true, func(t *TargetResult) float64 { return t.OpenLoop.Latency.P50US })
	add(fmt.Sprintf("open loop %.0f/s p99 (µs)", rate), "%.0f", true, func(t *TargetResult) float64 { return t.OpenLoop.Latency.P99US })
	add(fmt.Sprintf("open loop %.0f/s p99.9 (µs)", rate), "%.0f", true, func(t *TargetResult) float64 { return t.OpenLoop.Latency.P999US })

	c := r.Options.Concurrency
	add(fmt.Sprintf("chat c=%d (req/s)", c), "%.0f", true, func(t *TargetResult) float64 { return t.Chat.PerSecond })
	add(fmt.Sprintf("chat c=%d CPU per request (µs)", c), "%.1f", true, func(t *TargetResult) float64 { return t.Chat.CPUPerRequestUS })
	add(fmt.Sprintf("chat c=%d read+write syscalls per request", c), "%.1f", true, func(t *TargetResult) float64 { return t.Chat.SyscallsPerRequest })
	add(fmt.Sprintf("chat c=%d p99 (µs)", c), "%.0f", true, func(t *TargetResult) float64 { return t.Chat.Latency.P99US })
	add(fmt.Sprintf("chat c=%d RSS (MiB)", c), "%.1f", true, func(t *TargetResult) float64 { return mib(t.Chat.RSSMaxBytes) })
	add(fmt.Sprintf("stream c=%d (streams/s)", c), "%.0f", true, func(t *TargetResult) float64 { return t.Stream.PerSecond })
	add(fmt.Sprintf("stream c=%d events per stream", c), "%.1f", false, func(t *TargetResult) float64 {
		if t.Stream.Requests == 0 {
			return nan
		}
		return float64(t.Stream.Events) / float64(t.Stream.Requests)
	})
	add(fmt.Sprintf("stream c=%d CPU per stream (µs)", c), "%.1f", true, func(t *TargetResult) float64 { return t.Stream.CPUPerRequestUS })
	add(fmt.Sprintf("stream c=%d read+write syscalls per stream", c), "%.1f", true, func(t *TargetResult) float64 { return t.Stream.SyscallsPerRequest })
	add(fmt.Sprintf("stream c=%d CPU per event (µs)", c), "%.2f", true, func(t *TargetResult) float64 { return t.Stream.CPUPerEventUS })
	first := func(pick func(s *Summary) float64) func(t *TargetResult) float64 {
		return func(t *TargetResult) float64 {
			if t.Stream.FirstEvent == nil {
				return nan
			}
			return pick(t.Stream.FirstEvent)
		}
	}
	add(fmt.Sprintf("stream c=%d first event p50 (µs)", c), "%.0f", true, first(func(s *Summary) float64 { return s.P50US }))
	add(fmt.Sprintf("stream c=%d first event p99 (µs)", c), "%.0f", true, first(func(s *Summary) float64 { return s.P99US }))
	add(fmt.Sprintf("stream c=%d RSS (MiB)", c), "%.1f", true, func(t *TargetResult) float64 { return mib(t.Stream.RSSMaxBytes) })

	for j, k := range r.Options.Streams {
		pick := func(f func(s *StreamsResult) float64) func(t *TargetResult) float64 {
			return func(t *TargetResult) float64 {
				if j >= len(t.Streams) {
					return nan
				}
				return f(&t.Streams[j])
			}
		}
		add(fmt.Sprintf("%d streams: RSS (MiB)", k), "%.1f", true, pick(func(s *StreamsResult) float64 { return mib(s.RSSAtKBytes) }))
		add(fmt.Sprintf("%d streams: RSS per stream (KiB)", k), "%.1f", true, pick(func(s *StreamsResult) float64 { return s.RSSPerStreamBytes / 1024 }))
		add(fmt.Sprintf("%d streams: first event p99 (ms)", k), "%.1f", true, pick(func(s *StreamsResult) float64 { return s.FirstEvent.P99US / 1000 }))
		add(fmt.Sprintf("%d streams: truncated", k), "%.0f", false, pick(func(s *StreamsResult) float64 { return float64(s.Truncated) }))
	}
	add("requests, all phases", "%.0f", false, func(t *TargetResult) float64 { return float64(t.Requests) })
	add("errors, all phases", "%.0f", false, func(t *TargetResult) float64 { return float64(t.Errors) })
	return rows
}

// Print writes the machine, the table and the notes.
func (r *Results) Print(w io.Writer) error {
	fmt.Fprintf(w, "\nswitchyard bench: %s, %d CPU, %s, %s, gateway on %s; %.0fs\n\n",
		r.Machine.CPU, r.Machine.NumCPU, r.Machine.GoVersion, r.Machine.Date, r.Database, r.Seconds)
	if err := FormatTable(w, r.Table()); err != nil {
		return err
	}
	for _, t := range r.Targets {
		if t.FirstError != "" {
			fmt.Fprintf(w, "\n%s: first error: %s", t.Name, t.FirstError)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s", n)
	}
	_, err := fmt.Fprintln(w)
	return err
}

// Truncated is the number of truncated streams of the open-streams phases
// over all targets; anything but 0 is a failure.
func (r *Results) Truncated() int {
	n := 0
	for _, t := range r.Targets {
		for _, s := range t.Streams {
			n += s.Truncated
		}
	}
	return n
}
