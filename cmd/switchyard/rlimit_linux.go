package main

import "syscall"

// raiseFileLimit raises the soft limit on open files to the hard limit:
// every client connection and upstream connection is a descriptor, and the
// usual soft limit of 1024 is far below server.max_connections. (Go's
// runtime does the same on start; this makes it explicit and reports the
// result.) It returns the limit in effect.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}
