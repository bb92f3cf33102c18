//go:build !linux

package loadbench

import (
	"errors"
	"syscall"
)

const supported = false

func childSysProcAttr() *syscall.SysProcAttr { return nil }

func raiseFileLimit() (uint64, error) {
	return 0, errors.New("the load benchmark runs on Linux only (it reads /proc)")
}
