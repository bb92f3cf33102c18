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
func ParseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q: want \"<n> kB\"", v)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb << 10, nil
	}
	return 0, errors.New("no VmRSS line (a zombie process has none)")
}

// ProcessRSS returns the resident set size of process pid in bytes.
func ProcessRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading RSS of process %d (the benchmark needs Linux /proc): %w", pid, err)
	}
	return ParseVmRSS(b)
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
