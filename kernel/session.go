package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/robustpo/robustpo/kernel/htmlexport"
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
	spec, err := kernelspec.NewSpec(tools, root, kernelspec.DefaultName)
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

// gonbKernel is a running GoNB kernel and the tail of its log.
type gonbKernel struct {
	*jupyter.Client
	log *tailBuffer
}

// logLines is how many lines of the kernel's log a failure shows.
const logLines = 20

// logTail returns the last n non-blank lines of the kernel's log, without
// terminal colours.
func (k *gonbKernel) logTail(n int) []string {
	var lines []string
	for _, l := range strings.Split(htmlexport.StripANSI(k.log.String()), "\n") {
		if l = strings.TrimRight(l, " \t\r"); strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines[max(0, len(lines)-n):]
}

// Grace periods of the kernel's client: short, so that a run stopped by a
// signal leaves nothing running within about 4 s (interrupt the cell, ask
// the kernel to shut down, then the guard's forced stop).
const (
	kernelInterruptGrace = 1500 * time.Millisecond
	kernelShutdownGrace  = time.Second
)

// startKernel starts the GoNB kernel under a guard (see
// jupyter.Options.Guard) with raw-text errors (readable in saved notebooks
// and terminals) and, unless opts.AutoGet, turns off GoNB's automatic
// `go get`.
func startKernel(ctx context.Context, opts kernelOptions) (*gonbKernel, error) {
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
	c, err := jupyter.Start(ctx, jupyter.Options{
		Argv: argv, Env: env, Stderr: kernelLog, Guard: true,
		InterruptGrace: kernelInterruptGrace, ShutdownGrace: kernelShutdownGrace,
	})
	if err != nil {
		k := &gonbKernel{log: logs}
		return nil, fmt.Errorf("starting GoNB (%s): %w\nkernel log (last %d lines):\n%s", argv[0], err, logLines, strings.Join(k.logTail(logLines), "\n"))
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
	return &gonbKernel{Client: c, log: logs}, nil
}

var (
	// gonbIDRe finds the id GoNB prints before each log line ("[1a2b3c4d]",
	// set in its main.go); its work directory is $TMPDIR/gonb_<id>
	// (goexec.New).
	gonbIDRe = regexp.MustCompile(`\[([0-9a-f]{8})\]`)
	// gonbDirRe and gonbPipeRe match the base names of GoNB's work
	// directory and of the named pipes it makes for a running cell program
	// (jpyexec's createTmpFifo: os.CreateTemp("", "gonb_pipe_")).
	gonbDirRe  = regexp.MustCompile(`^gonb_[0-9a-f]{8}$`)
	gonbPipeRe = regexp.MustCompile(`^gonb_pipe_[0-9]+$`)
)

// gonbLeftovers names the files GoNB removes itself when it stops cleanly,
// for the kernel's guard to remove when GoNB was killed or crashed: its
// work directory (from the id in its log, or GONB_TMP_DIR in the
// environment of the programs it runs) and the named pipes of a running
// cell program (GONB_PIPE and GONB_PIPE_BACK in its environment). Only
// names of GoNB's forms directly inside the kernel's temporary directory
// qualify.
func gonbLeftovers(t jupyter.KernelTraces) []string {
	tmp := envValue(t.Env, "TMPDIR")
	if tmp == "" {
		tmp = "/tmp" // os.TempDir's default on Unix
	}
	tmp = filepath.Clean(tmp)
	var out []string
	add := func(p string, re *regexp.Regexp) {
		if p != "" && filepath.Dir(p) == tmp && re.MatchString(filepath.Base(p)) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if m := gonbIDRe.FindStringSubmatch(htmlexport.StripANSI(string(t.Output))); m != nil {
		add(filepath.Join(tmp, "gonb_"+m[1]), gonbDirRe)
	}
	for _, env := range t.Environs {
		add(envValue(env, "GONB_TMP_DIR"), gonbDirRe)
		add(envValue(env, "GONB_PIPE"), gonbPipeRe)
		add(envValue(env, "GONB_PIPE_BACK"), gonbPipeRe)
	}
	return out
}

// envValue returns the value of key in env ("KEY=value" entries; the last
// one wins, as in os/exec).
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}
