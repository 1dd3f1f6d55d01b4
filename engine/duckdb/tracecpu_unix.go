//go:build unix

package duckdb

import (
	"syscall"
	"time"
)

// processCPU is the process's user + system CPU time so far, all threads:
// --trace prints what each statement added to it (exact with one table at
// a time, `run --parallelism 1`).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
