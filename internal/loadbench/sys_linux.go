package loadbench

import (
	"fmt"
	"syscall"
)

// supported reports whether the benchmark can run here: it reads /proc.
const supported = true

// childSysProcAttr kills a child when the benchmark dies, so that an
// interrupted run leaves no servers behind.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// raiseFileLimit raises the soft limit on open files to the hard limit and
// returns it. The children inherit it: a gateway holding 5,000 streams has
// 5,000 client and 5,000 upstream connections open.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("raising the open-file limit to %d: %w", l.Max, err)
	}
	return l.Cur, nil
}
