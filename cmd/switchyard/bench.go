package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchyard-gw/switchyard/internal/loadbench"
)

// cmdBench runs the load benchmark (internal/loadbench). `bench upstream`
// and `bench proxy` are its helper servers, which it starts as child
// processes of this same binary; they are not for direct use.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "upstream":
			return cmdBenchUpstream(ctx, args[1:], stdout, stderr)
		case "proxy":
			return cmdBenchProxy(ctx, args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "smoke run: every scenario with tiny loads, a few seconds (CI)")
	duration := fs.Duration("duration", 0, "length of each round of the open- and closed-loop phases (default 1s; --quick 300ms)")
	rate := fs.Float64("rate", 0, "open-loop rate in requests/s (default 200)")
	conc := fs.Int("concurrency", 0, "closed-loop clients (default 50)")
	streams := fs.String("streams", "", `numbers of streams held open at once, comma-separated (default "100,1000,5000")`)
	slowDelay := fs.Duration("slow-delay", 0, "delay between the events of a held-open stream (default 1s)")
	rounds := fs.Int("rounds", 0, "run each timed scenario over the three targets in turn this many times (default 5)")
	postgres := fs.String("postgres", "", "run the gateway on the PostgreSQL server of this URL, in a fresh schema dropped after the run (kept with --keep)")
	jsonPath := fs.String("json", "", "also write the raw figures to this file as JSON")
	keep := fs.Bool("keep", false, "keep the temporary directory with the gateway's config, log and database")
	profile := fs.String("profile", "", "write CPU profiles of the gateway during its closed-loop phases to this directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench takes only flags; got %q (see switchyard bench --help)", fs.Args())
	}
	o := loadbench.Defaults()
	if *quick {
		o = loadbench.Quick()
	}
	if *duration > 0 {
		o.Duration = *duration
	}
	if *rate > 0 {
		o.Rate = *rate
	}
	if *conc > 0 {
		o.Concurrency = *conc
	}
	if *slowDelay > 0 {
		o.SlowDelay = *slowDelay
	}
	if *rounds > 0 {
		o.Rounds = *rounds
	}
	if *streams != "" {
		ks, err := parseInts(*streams)
		if err != nil {
			return fmt.Errorf("--streams %q: %w; write numbers separated by commas, such as 100,1000", *streams, err)
		}
		o.Streams = ks
	}
	o.Postgres, o.Keep, o.ProfileDir = *postgres, *keep, *profile
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
			return fmt.Errorf("--profile: %w", err)
		}
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := loadbench.Run(ctx, o, stderr)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := res.Print(stdout); err != nil {
		return err
	}
	if *jsonPath != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing the results: %w", err)
		}
	}
	if n := res.Truncated(); n > 0 {
		return fmt.Errorf("bench: %d streams were truncated (ended without data: [DONE]); see the first error above", n)
	}
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// cmdBenchUpstream serves the mock upstream and prints its address.
func cmdBenchUpstream(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench upstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	slowDelay := fs.Duration("slow-delay", time.Second, "delay between events under "+loadbench.SlowPrefix+"/v1")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return loadbench.Serve(ctx, *listen, loadbench.UpstreamHandler(*slowDelay), stdout)
}

// cmdBenchProxy serves the bare reverse proxy baseline and prints its address.
func cmdBenchProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	upstream := fs.String("upstream", "", "upstream base URL (http://HOST:PORT)")
	profiled := fs.Bool("pprof", false, "also serve GET /debug/pprof/profile (bench --profile)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return errors.New("bench proxy: --upstream must be an absolute URL such as http://127.0.0.1:9000")
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	h := loadbench.ProxyHandler(u)
	if *profiled {
		h = loadbench.WithCPUProfile(h)
	}
	return loadbench.Serve(ctx, *listen, h, stdout)
}
