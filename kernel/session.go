package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/robustpo/robustpo/kernel/jupyter"
	"github.com/robustpo/robustpo/kernel/kernelspec"
)

// kernelOptions selects how a kernel is started.
type kernelOptions struct {
	// AutoGet keeps GoNB's `go get` before each cell. Off by default: the
	// kernel runs `%noautoget` first, so cells resolve imports from the
	// repository's pinned go.work only.
	AutoGet bool
	// Verbose copies the kernel's own log to stderr.
	Verbose bool
	// Log receives progress lines about building tools.
	Log io.Writer
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = slices.Clone(t.buf[len(t.buf)-t.max:])
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// kernelCommand returns the argv and environment of the repository's GoNB
// kernel, building gonb and goimports into the bin dir first if missing.
func kernelCommand(ctx context.Context, log io.Writer) (argv, env []string, err error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, nil, fmt.Errorf("locating the repository: %w", err)
	}
	root, err := kernelspec.RepoRoot(wd)
	if err != nil {
		return nil, nil, err
	}
	dir, err := kernelspec.BinDir(root)
	if err != nil {
		return nil, nil, err
	}
	tools := kernelspec.ToolsIn(dir)
	if _, err := kernelspec.Build(ctx, root, tools, log); err != nil {
		return nil, nil, err
	}
	spec, err := kernelspec.NewSpec(tools, root)
	if err != nil {
		return nil, nil, err
	}
	// No language server for headless runs and the REPL (nothing asks it
	// for completions); the installed kernelspec keeps it for Jupyter.
	goCmd, err := kernelspec.GoCommand()
	if err != nil {
		return nil, nil, err
	}
	spec.Env["PATH"] = kernelspec.WithoutGopls(spec.Env["PATH"], filepath.Dir(goCmd))
	return spec.Argv, kernelspec.MergeEnv(os.Environ(), spec.Env), nil
}

// startKernel starts the GoNB kernel with raw-text errors (readable in
// saved notebooks and terminals) and, unless opts.AutoGet, turns off GoNB's
// automatic `go get`.
func startKernel(ctx context.Context, opts kernelOptions) (*jupyter.Client, error) {
	argv, env, err := kernelCommand(ctx, opts.Log)
	if err != nil {
		return nil, err
	}
	argv = append(argv, "-raw_error")
	logs := &tailBuffer{max: 16 << 10}
	var kernelLog io.Writer = logs
	if opts.Verbose {
		kernelLog = io.MultiWriter(logs, os.Stderr)
	}
	c, err := jupyter.Start(ctx, jupyter.Options{Argv: argv, Env: env, Stderr: kernelLog})
	if err != nil {
		return nil, fmt.Errorf("starting GoNB (%s): %w\nkernel log tail:\n%s", argv[0], err, logs.String())
	}
	if !opts.AutoGet {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		reply, err := c.ExecuteSilent(sctx, "%noautoget")
		if err == nil && reply.Status != "ok" {
			err = fmt.Errorf("%s: %s", reply.EName, reply.EValue)
		}
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("turning off GoNB autoget: %w", err)
		}
	}
	return c, nil
}
