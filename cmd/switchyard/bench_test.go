//go:build linux

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBenchQuick runs `switchyard bench --quick` as CI does: the three
// servers start, every scenario runs with a tiny load, and no stream is
// truncated. The figures themselves are not checked; a shared CI machine
// makes them noise.
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the switchyard binary")
	}
	bin := buildSwitchyardBinary(t)
	out := filepath.Join(t.TempDir(), "bench.json")
	start := time.Now()
	cmd := exec.Command(bin, "bench", "--quick", "--json", out)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if tmp, ok := os.LookupEnv("TMPDIR"); ok {
		cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	}
	printed, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("switchyard bench --quick: %v\n%s", err, printed)
	}
	t.Logf("switchyard bench --quick took %v:\n%s", time.Since(start).Round(time.Millisecond), printed)

	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Targets []struct {
			Name     string `json:"name"`
			Requests int64  `json:"requests"`
			Chat     struct {
				Requests int `json:"requests"`
			} `json:"closed_loop_chat"`
			Stream struct {
				Requests int `json:"requests"`
			} `json:"closed_loop_stream"`
			Streams []struct {
				K          int    `json:"k"`
				Truncated  int    `json:"truncated"`
				FirstError string `json:"first_error"`
			} `json:"streams"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("the --json file does not parse: %v\n%s", err, b)
	}
	if len(res.Targets) != 3 {
		t.Fatalf("%d targets in the results, want direct, proxy and gateway:\n%s", len(res.Targets), b)
	}
	for _, tr := range res.Targets {
		if tr.Requests <= 0 || tr.Chat.Requests <= 0 || tr.Stream.Requests <= 0 {
			t.Errorf("%s: %d requests in all, %d chat and %d streams in the closed loop; want more than 0 each",
				tr.Name, tr.Requests, tr.Chat.Requests, tr.Stream.Requests)
		}
		if len(tr.Streams) == 0 {
			t.Errorf("%s: no open-streams phase ran", tr.Name)
		}
		for _, s := range tr.Streams {
			if s.Truncated != 0 {
				t.Errorf("%s: %d of %d held-open streams truncated; the first: %s", tr.Name, s.Truncated, s.K, s.FirstError)
			}
		}
	}
}
