// Command kernel installs the GoNB Jupyter kernel for this repository, runs
// notebooks headlessly and opens a terminal REPL, all on the same Go Jupyter
// client (package kernel/jupyter).
//
//	go run ./kernel install [--name NAME] [--jupyter-data-dir DIR] [--with-gopls]
//	go run ./kernel doctor [--name NAME] [--jupyter-data-dir DIR]
//	go run ./kernel run [-o DIR] [--timeout 10m] [--html] [--kernel NAME] [--autoget] [-v] NB.ipynb...
//	go run ./kernel repl [--out DIR] [--autoget] [-v]
//	go run ./kernel bench [--torch] [--size tiny|gpu] [--out FILE]
//
// install writes this checkout's kernelspec, robustpo-<hash of its path>
// (kernelspec.CheckoutName), unless --name names another; doctor checks
// that one and that it runs this checkout, and exits 1 when anything
// required is missing.
//
// Exit status: 0 success; 1 doctor found something missing; 1 a cell failed (compile error, error reply, a
// cell program that panicked, exited non-zero or was killed by a signal,
// the kernel died, a per-cell timeout) or a tool could not be built; 2 bad
// usage or bad input (missing file, not a notebook, invalid JSON, nbformat
// < 4, unknown kernel name); 128+N after signal N: 130 after Ctrl-C
// (SIGINT), 143 after SIGTERM, 129 after SIGHUP. Under `go run` the go
// command reports any non-zero status as 1 (printing "exit status 130"),
// and it ignores SIGINT sent to it alone: a terminal's Ctrl-C reaches this
// program through the process group; SIGTERM ends the go command and this
// program, which watches its parent, stops as after SIGTERM.
//
// Whatever stops a run, SIGKILL included, the kernel, the programs it
// started, its temporary files and the connection file go with it: the
// kernel runs under a guard process (see jupyter.Options.Guard).
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/robustpo/robustpo/kernel/jupyter"
)

// Exit statuses.
const (
	exitOK        = 0
	exitFailed    = 1
	exitBadInput  = 2
	exitInterrupt = 130 // 128 + SIGINT; other signals give 128 + their number
)

const usage = `usage: go run ./kernel <command> [flags]

commands:
  install   build gonb and goimports at the pinned versions and install this checkout's Jupyter kernelspec
  doctor    check the prerequisites, one line each; exit 1 if any is missing
  run       execute notebooks headlessly, write executed copies (and --html pages)
  repl      an interactive terminal REPL on the GoNB kernel
  bench     time the lab's DPO step and sweep (and PyTorch's with --torch)

run "go run ./kernel <command> -h" for the flags of a command.
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == jupyter.GuardArg {
		os.Exit(jupyter.RunGuard(os.Args[2:], gonbLeftovers))
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	if len(os.Args) < 2 || os.Args[1] != "repl" {
		// The REPL handles Ctrl-C itself (interrupting the running cell);
		// everywhere else a signal stops the run: it interrupts the cell,
		// writes what ran and shuts the kernel down.
		stopOnSignals(cancel)
		stopWithGoRun(cancel)
	}
	code := runMain(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	cancel(nil)
	os.Exit(code)
}

// runMain dispatches a command and returns the process exit status.
func runMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBadInput
	}
	switch args[0] {
	case "install":
		return cmdInstall(ctx, args[1:], stdout, stderr)
	case "doctor":
		return cmdDoctor(ctx, args[1:], stdout, stderr)
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "repl":
		return cmdRepl(ctx, args[1:], stdin, stdout, stderr)
	case "bench":
		return cmdBench(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "kernel: unknown command %q\n%s", args[0], usage)
	return exitBadInput
}
