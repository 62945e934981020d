package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/robustpo/robustpo/kernel/htmlexport"
	"github.com/robustpo/robustpo/kernel/jupyter"
)

// cellFailure describes why a cell failed.
type cellFailure struct {
	Reason string   // e.g. "compile error", "cell program exited with status 3", "timed out after 10s"
	Lines  []string // first error lines (and the kernel's log when it died)
}

// classify decides whether a cell failed, and why; the runner and the REPL
// both use it. stop is why the run was stopped (stopCause), nil if it was
// not. How a cell program ended comes from its process, as GoNB reports it
// in the execute_reply (programExit), never from text the cell printed.
func classify(k *gonbKernel, reply *jupyter.ExecuteReply, err error, oc *outputCollector, timeout time.Duration, stop error) *cellFailure {
	stderrLines := firstLines(htmlexport.StripANSI(oc.stderr.String()), 8)
	switch {
	case stop != nil:
		return &cellFailure{Reason: stopReason(stop), Lines: stderrLines}
	case errors.Is(err, context.DeadlineExceeded):
		return &cellFailure{Reason: fmt.Sprintf("timed out after %v", timeout), Lines: stderrLines}
	case errors.Is(err, jupyter.ErrKernelDied):
		lines := append(stderrLines, fmt.Sprintf("kernel log (last %d lines):", logLines))
		for _, l := range k.logTail(logLines) {
			lines = append(lines, "  "+l)
		}
		return &cellFailure{Reason: "the kernel (GoNB) died: " + k.ExitDescription(), Lines: lines}
	case err != nil:
		return &cellFailure{Reason: oneLine(err), Lines: stderrLines}
	case reply == nil:
		return &cellFailure{Reason: "no execute_reply"}
	case reply.Status == "ok":
		return nil
	}
	if es, ok := programExit(reply.ErrorContent); ok {
		reason := "cell program exited with status " + fmt.Sprint(es.Code)
		switch {
		case es.Signal == syscall.SIGINT:
			reason = "cell program interrupted"
		case es.Signal != 0:
			reason = "cell program " + es.String()
		case es.Code == 2 && strings.Contains(oc.stderr.String(), "panic: "):
			reason = "cell program panicked (exit status 2)"
		}
		return &cellFailure{Reason: reason, Lines: stderrLines}
	}
	reason := "compile error" // GoNB failed before running anything: parsing, imports, compiling
	if reply.Status != "error" {
		reason = "execute_reply status " + reply.Status
	}
	tb := htmlexport.StripANSI(strings.Join(reply.Traceback, "\n"))
	if strings.TrimSpace(tb) == "" {
		tb = reply.EName + ": " + reply.EValue
	}
	return &cellFailure{Reason: reason, Lines: append(stderrLines, firstLines(tb, 8)...)}
}

// programExit reports how a cell program ended when an error reply is
// GoNB's report of a program that ran and did not exit 0. GoNB
// (goexec.State.Execute) returns cmd.Wait's *exec.ExitError as is, and its
// dispatcher turns it into ename "ERROR", evalue the error's text ("exit
// status 2", "signal: killed") and a traceback of exactly that text
// (goexec.JupyterErrorSplit). Compile, import and parse errors carry the go
// tool's or parser's messages instead. The kernel fills these fields: text
// a cell prints reaches only the stream outputs.
func programExit(e jupyter.ErrorContent) (jupyter.ExitStatus, bool) {
	if e.EName != "ERROR" || len(e.Traceback) != 1 || e.Traceback[0] != e.EValue {
		return jupyter.ExitStatus{}, false
	}
	es, ok := jupyter.ParseProcessState(e.EValue)
	if es == (jupyter.ExitStatus{}) {
		return es, false // a success is no failure to report
	}
	return es, ok
}

// firstLines returns up to n non-blank lines of s.
func firstLines(s string, n int) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimRight(l, " \t\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		out = append(out, l)
		if len(out) == n {
			break
		}
	}
	return out
}
