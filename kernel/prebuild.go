package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// notebookPackages are the packages notebooks import. Install builds them as
// GoNB builds a cell, so the first cell after install finds them in the Go
// build cache and only compiles and links itself.
var notebookPackages = []string{
	"github.com/robustpo/robustpo/lab",
	"github.com/robustpo/robustpo/lab/seqmodel",
	"github.com/robustpo/robustpo/datasets",
	"github.com/robustpo/robustpo/losses",
	"github.com/janpfeifer/gonb/gonbui",
	"github.com/janpfeifer/must",
	"github.com/gomlx/gomlx/core/graph",
}

// cellModule makes dir a Go module set up as GoNB v0.11.4 sets up its cell
// directory with -go_work=root (`go mod init`, `go work init`, `go work use`
// of the cell's dir and root; internal/goexec), holding main.go = src.
func cellModule(ctx context.Context, dir, root, src string, env []string) error {
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{{"mod", "init", "robustpo_cell"}, {"work", "init"}, {"work", "use", ".", root}} {
		if out, err := goCmd(ctx, dir, env, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// goCmd is the go command in dir with env.
func goCmd(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Env = dir, env
	return cmd
}

// prebuild builds notebookPackages into the build cache as the kernel with
// environment env (the kernelspec's, merged into this process's) will build
// a cell of this checkout (root): a throw-away cell module importing them,
// built with `go build -o`. It returns how long that took.
func prebuild(ctx context.Context, root string, env []string) (time.Duration, error) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "robustpo-prebuild-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	var src strings.Builder
	src.WriteString("package main\n\nimport (\n")
	for _, p := range notebookPackages {
		fmt.Fprintf(&src, "\t_ %q\n", p)
	}
	src.WriteString(")\n\nfunc main() {}\n")
	if err := cellModule(ctx, dir, root, src.String(), env); err != nil {
		return 0, fmt.Errorf("prebuilding the notebooks' packages: %w", err)
	}
	if out, err := goCmd(ctx, dir, env, "build", "-o", filepath.Join(dir, "cell")).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("prebuilding the notebooks' packages: go build: %v\n%s", err, out)
	}
	return time.Since(start), nil
}

// reportPrebuild runs prebuild for install, saying what it does.
func reportPrebuild(ctx context.Context, root string, env []string, stdout io.Writer) error {
	fmt.Fprintln(stdout, "prebuilding what notebooks import (GoMLX, the lab) as the kernel builds a cell; minutes with a cold Go build cache, seconds after")
	d, err := prebuild(ctx, root, env)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "prebuilt in %.1f s: a notebook's first cell now compiles only itself\n", d.Seconds())
	return nil
}
