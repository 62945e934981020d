//go:build unix

package main

import "syscall"

// cpuSeconds returns the CPU time (user + system) this process has used so
// far, over all its threads, or 0 where it cannot be read.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
