package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/robustpo/robustpo/kernel/jupyter"
)

// stopSignal is the cause of a run's context when a signal stopped it.
type stopSignal struct {
	sig syscall.Signal
	// parentGone: no signal reached this program, but the `go run` that
	// started it exited (it was sent SIGTERM or killed).
	parentGone bool
}

func (s *stopSignal) Error() string {
	if s.parentGone {
		return "stopped: the go command that ran this program exited"
	}
	if s.sig == syscall.SIGINT {
		return "interrupted (SIGINT)"
	}
	return "stopped by SIG" + jupyter.SignalName(s.sig)
}

// stopOnSignals cancels the run with a *stopSignal at the first SIGINT,
// SIGTERM or SIGHUP. A second one exits at once, with the same status: the
// kernel's guard then stops the kernel and removes its files.
func stopOnSignals(cancel context.CancelCauseFunc) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := (<-sigs).(syscall.Signal)
		cancel(&stopSignal{sig: sig})
		sig = (<-sigs).(syscall.Signal)
		os.Exit(128 + int(sig))
	}()
}

// goRunPoll is how often a program started by `go run` checks its parent.
const goRunPoll = 200 * time.Millisecond

// stopWithGoRun cancels the run, as SIGTERM would, when this program was
// started by `go run` and that go command exits. cmd/go forwards no signal
// to the program it runs (it ignores SIGINT and dies of SIGTERM), so
// without this a SIGTERM to the go command would leave the run going.
// Only a go command is watched: a program whose parent shell exits (nohup)
// keeps running.
func stopWithGoRun(cancel context.CancelCauseFunc) {
	ppid := os.Getppid()
	if !isGoRun(ppid) {
		return
	}
	go func() {
		for range time.Tick(goRunPoll) {
			if os.Getppid() != ppid {
				cancel(&stopSignal{sig: syscall.SIGTERM, parentGone: true})
				return
			}
		}
	}()
}

// isGoRun reports whether process pid is a `go run` (Linux: /proc).
func isGoRun(pid int) bool {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	exe, err := os.Readlink(filepath.Join(dir, "exe"))
	if err != nil || filepath.Base(exe) != "go" {
		return false
	}
	raw, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return false
	}
	args := strings.Split(string(raw), "\x00")
	if len(args) > 3 && args[1] == "-C" {
		args = args[2:]
	}
	return len(args) > 1 && args[1] == "run"
}

// stopCause returns why ctx ended (a *stopSignal, or context.Canceled),
// or nil while it runs.
func stopCause(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	return context.Cause(ctx)
}

// stopStatus is the exit status of a run stopped through ctx: 128 + the
// signal's number, 130 (as after Ctrl-C) when no signal is known.
func stopStatus(ctx context.Context) int {
	if s, ok := context.Cause(ctx).(*stopSignal); ok {
		return 128 + int(s.sig)
	}
	return exitInterrupt
}

// stopReason says why a cell was cut short by the run being stopped.
func stopReason(cause error) string {
	if s, ok := cause.(*stopSignal); ok {
		return s.Error()
	}
	return "interrupted"
}
