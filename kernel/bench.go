package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// benchPackage is the benchmark program, built and run by "kernel bench".
// It lives in the lab tree: this command only builds and runs it, so the
// kernel imports nothing of lab.
const benchPackage = "./lab/cmd/bench"

const benchUsage = `usage: go run ./kernel bench [--torch] [--size tiny|gpu] [--steps N] [--sweep=false] [--out FILE]
       [--sweep-rounds R] [--sweep-loop-configs N] [--torch-threads N]

Builds ` + benchPackage + ` (GOEXPERIMENT=simd, -tags xla so that a CUDA or CPU
PJRT plugin can be used when cgo is available) and runs it from the repository root:
the sequence DPO training step of the lab on the current backend (lab.Backend:
$GOMLX_BACKEND, else a CUDA PJRT plugin, else XLA CPU, else pure Go) in steps/s
and tokens/s, and the 256-config finite sweep (p-DPO, 16×16 tabular bandit, 2000
Adam steps) in seconds. With --torch (/usr/bin/python3, or $BENCH_PYTHON): the same
DPO step in PyTorch, and the sweep's PyTorch peers on the same data (all configs
batched in one tensor; a loop over configs, timed on --sweep-loop-configs of them
and extrapolated), each checked against the lab's runs, with the lab/peer ratios.
--sweep-rounds R alternates R rounds of the lab's sweep and the batched peer.
--out writes JSON.
`

// cmdBench builds the benchmark program and runs it with args, its output
// going to stdout and stderr. The exit status is the program's.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprint(stdout, benchUsage)
			return exitOK
		}
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintf(stderr, "kernel bench: %v\n", err)
		return exitBadInput
	}
	dir, err := os.MkdirTemp("", "robustpo-bench-")
	if err != nil {
		fmt.Fprintf(stderr, "kernel bench: %v\n", err)
		return exitFailed
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bench")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "xla", "-o", bin, benchPackage)
	build.Dir, build.Stdout, build.Stderr = root, stderr, stderr
	build.Env = benchEnv(os.Environ())
	if err := build.Run(); err != nil {
		fmt.Fprintf(stderr, "kernel bench: building %s: %v\n", benchPackage, err)
		return exitFailed
	}
	run := exec.CommandContext(ctx, bin, args...)
	run.Dir, run.Stdout, run.Stderr = root, stdout, stderr
	run.Env = benchEnv(os.Environ())
	if err := run.Run(); err != nil {
		if ctx.Err() != nil {
			return exitInterrupt
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		fmt.Fprintf(stderr, "kernel bench: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// benchEnv returns env with GOEXPERIMENT=simd (the pure-Go backend's fast
// matmuls) and GOMLX_NO_AUTO_INSTALL=1 added where they are unset.
func benchEnv(env []string) []string {
	has := func(k string) bool {
		for _, kv := range env {
			if strings.HasPrefix(kv, k+"=") {
				return true
			}
		}
		return false
	}
	out := append([]string(nil), env...)
	if !has("GOEXPERIMENT") {
		out = append(out, "GOEXPERIMENT=simd")
	}
	if !has("GOMLX_NO_AUTO_INSTALL") {
		out = append(out, "GOMLX_NO_AUTO_INSTALL=1")
	}
	return out
}

// repoRoot returns the directory of the go.mod above the working directory
// that holds the benchmark program.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, benchPackage)); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run it inside the robustpo repository: no go.mod with " + benchPackage + " above the working directory")
		}
		dir = parent
	}
}
