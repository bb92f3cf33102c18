package loadbench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK)).
const clockTicks = 100

// ParseStat returns utime and stime, in clock ticks, from the text of
// /proc/PID/stat. The command name (field 2) is in parentheses and may hold
// spaces and parentheses itself, so fields are counted from the last ')'.
func ParseStat(stat string) (utime, stime uint64, err error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, 0, errors.New("no ')' after the command name")
	}
	// After ")": field 3 (state) is rest[0]; utime is field 14, stime 15.
	rest := strings.Fields(stat[end+1:])
	if len(rest) < 13 {
		return 0, 0, fmt.Errorf("%d fields after the command name; want at least 13", len(rest))
	}
	if utime, err = strconv.ParseUint(rest[11], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("utime: %w", err)
	}
	if stime, err = strconv.ParseUint(rest[12], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("stime: %w", err)
	}
	return utime, stime, nil
}

// ProcessCPU returns the CPU time (user + system) process pid has used.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading CPU time of process %d (the benchmark needs Linux /proc): %w", pid, err)
	}
	u, s, err := ParseStat(string(b))
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// ParseVmRSS returns the VmRSS line of /proc/PID/status in bytes.
func ParseVmRSS(status []byte) (int64, error) { return statusKB(status, "VmRSS") }

// ParseRssAnon returns the RssAnon line of /proc/PID/status in bytes: the
// process's own memory (heap, stacks), without the pages of its binary and
// libraries that VmRSS also counts (RssFile: shared, clean, and as large as
// the kernel maps around each page the program touched).
func ParseRssAnon(status []byte) (int64, error) { return statusKB(status, "RssAnon") }

// statusKB returns the "name: <n> kB" line of /proc/PID/status in bytes.
func statusKB(status []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), name+":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s line %q: want \"<n> kB\"", name, v)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s line (a zombie process has none)", name)
}

// ProcessRSS returns the resident set size of process pid in bytes.
func ProcessRSS(pid int) (int64, error) {
	b, err := readStatus(pid)
	if err != nil {
		return 0, err
	}
	return ParseVmRSS(b)
}

// ProcessAnonRSS returns the anonymous part of process pid's RSS in bytes.
func ProcessAnonRSS(pid int) (int64, error) {
	b, err := readStatus(pid)
	if err != nil {
		return 0, err
	}
	return ParseRssAnon(b)
}

func readStatus(pid int) ([]byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("reading RSS of process %d (the benchmark needs Linux /proc): %w", pid, err)
	}
	return b, nil
}

// ParseIO returns syscr + syscw from the text of /proc/PID/io: the number of
// read-like and write-like system calls (read, write, pread, sendfile…) the
// process has made. Socket reads and writes are most of a proxy's.
func ParseIO(io []byte) (uint64, error) {
	var total uint64
	found := 0
	for line := range bytes.SplitSeq(io, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || (string(name) != "syscr" && string(name) != "syscw") {
			continue
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(value)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		total += n
		found++
	}
	if found != 2 {
		return 0, errors.New("no syscr and syscw lines")
	}
	return total, nil
}

// ProcessSyscalls returns the read and write system calls process pid has
// made (0 where /proc/PID/io is not readable: the figure is context, not a
// reason to fail the run).
func ProcessSyscalls(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	n, _ := ParseIO(b)
	return n
}
