package loadbench

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	// A real line, with a command name holding a space and a ')'.
	line := "12345 (switch yard) x) S 1 12345 12345 0 -1 4194560 1587 0 0 0 731 129 0 0 20 0 8 0 4223 1246711808 6420 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	u, s, err := ParseStat(line)
	if err != nil || u != 731 || s != 129 {
		t.Fatalf("ParseStat = %d, %d, %v; want 731, 129", u, s, err)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u 2 0"} {
		if _, _, err := ParseStat(bad); err == nil {
			t.Errorf("ParseStat(%q) did not fail", bad)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tswitchyard\nVmPeak:\t 1300000 kB\nVmRSS:\t   25680 kB\nRssAnon:\t    6012 kB\nRssFile:\t   19668 kB\nThreads:\t8\n"
	n, err := ParseVmRSS([]byte(status))
	if err != nil || n != 25680*1024 {
		t.Fatalf("ParseVmRSS = %d, %v; want %d", n, err, 25680*1024)
	}
	if n, err := ParseRssAnon([]byte(status)); err != nil || n != 6012*1024 {
		t.Fatalf("ParseRssAnon = %d, %v; want %d", n, err, 6012*1024)
	}
	if _, err := ParseVmRSS([]byte("Name:\tx\nState:\tZ (zombie)\n")); err == nil {
		t.Error("no VmRSS line: no error")
	}
}

func TestOwnProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := ProcessCPU(os.Getpid()); err != nil {
		t.Error(err)
	}
	rss, err := ProcessRSS(os.Getpid())
	if err != nil || rss <= 0 {
		t.Errorf("ProcessRSS(self) = %d, %v", rss, err)
	}
	if anon, err := ProcessAnonRSS(os.Getpid()); err != nil || anon <= 0 || anon > rss {
		t.Errorf("ProcessAnonRSS(self) = %d, %v (RSS %d)", anon, err, rss)
	}
}

func TestParseIO(t *testing.T) {
	n, err := ParseIO([]byte("rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 7\nread_bytes: 0\n"))
	if err != nil || n != 17 {
		t.Fatalf("ParseIO = %d, %v; want 17", n, err)
	}
	if _, err := ParseIO([]byte("rchar: 1\n")); err == nil {
		t.Fatal("ParseIO accepted a text without syscr/syscw")
	}
	if _, err := ParseIO([]byte("syscr: x\nsyscw: 1\n")); err == nil {
		t.Fatal("ParseIO accepted a non-number")
	}
}
