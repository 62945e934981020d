//go:build !unix

package main

// cpuSeconds returns 0: the CPU time is read on unix only.
func cpuSeconds() float64 { return 0 }
