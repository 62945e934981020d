package jupyter

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ExitStatus says how a process ended: with an exit code, or killed by a
// signal. The zero value is a successful exit.
type ExitStatus struct {
	Code   int            // the exit code, when Signal is 0
	Signal syscall.Signal // the signal that killed the process, or 0
}

// String reads "exit status 3" or "killed by signal KILL".
func (s ExitStatus) String() string {
	if s.Signal != 0 {
		return "killed by signal " + SignalName(s.Signal)
	}
	return "exit status " + strconv.Itoa(s.Code)
}

// ExitStatusOf returns how the process of ps ended.
func ExitStatusOf(ps *os.ProcessState) ExitStatus {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ExitStatus{Signal: ws.Signal()}
	}
	return ExitStatus{Code: ps.ExitCode()}
}

// ParseProcessState parses the text of an *os.ProcessState (as an
// *exec.ExitError reads): "exit status 2", "signal: killed", "signal:
// segmentation fault (core dumped)". It reports false for any other text.
func ParseProcessState(s string) (ExitStatus, bool) {
	if rest, ok := strings.CutPrefix(s, "exit status "); ok {
		code, err := strconv.Atoi(rest)
		if err != nil || strconv.Itoa(code) != rest {
			return ExitStatus{}, false
		}
		return ExitStatus{Code: code}, true
	}
	rest, ok := strings.CutPrefix(s, "signal: ")
	if !ok {
		return ExitStatus{}, false
	}
	rest = strings.TrimSuffix(rest, " (core dumped)")
	for sig := syscall.Signal(1); sig < 128; sig++ {
		if sig.String() == rest {
			return ExitStatus{Signal: sig}, true
		}
	}
	return ExitStatus{}, false
}

// signalNames are the short names (as kill -l prints them) of the signals
// every platform's syscall package defines.
var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "HUP", syscall.SIGINT: "INT", syscall.SIGQUIT: "QUIT", syscall.SIGILL: "ILL",
	syscall.SIGTRAP: "TRAP", syscall.SIGABRT: "ABRT", syscall.SIGBUS: "BUS", syscall.SIGFPE: "FPE",
	syscall.SIGKILL: "KILL", syscall.SIGSEGV: "SEGV", syscall.SIGPIPE: "PIPE", syscall.SIGALRM: "ALRM",
	syscall.SIGTERM: "TERM",
}

// SignalName returns the short name of sig ("KILL", "INT"), or its number
// and description for signals without one here.
func SignalName(sig syscall.Signal) string {
	if n, ok := signalNames[sig]; ok {
		return n
	}
	return strconv.Itoa(int(sig)) + " (" + sig.String() + ")"
}
