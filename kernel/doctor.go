package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	goversion "go/version"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/robustpo/robustpo/kernel/kernelspec"
)

// check is one line of the doctor report.
type check struct {
	Name     string
	OK       bool
	Info     string // what was found, or the fix when missing
	Optional bool   // when missing, reported as "absent" without failing doctor
}

// doctorChecks inspects the prerequisites without changing anything.
// name is the kernelspec to check ("" for this checkout's); it must run
// GoNB on this checkout (-go_work=<root>). When name is not DefaultName,
// a "notebooks" line checks the kernelspec DefaultName, which Jupyter
// starts for the notebooks' metadata: absent is fine (Jupyter asks which
// kernel to use), one on another checkout is not (it would silently run
// that checkout's code). The backend line mirrors the lab's choice without
// importing lab: GOMLX_BACKEND when set, else the pure-Go backend.
func doctorChecks(dataDir, name string) []check {
	var cs []check
	goCmd, err := kernelspec.GoCommand()
	if err != nil {
		cs = append(cs, check{"go", false, "install Go 1.26 or later from https://go.dev/dl", false})
	} else {
		out, err := exec.Command(goCmd, "env", "GOVERSION").Output()
		ver := ""
		if f := strings.Fields(string(out)); len(f) > 0 {
			ver = f[0]
		}
		switch {
		case err != nil || !goversion.IsValid(ver):
			cs = append(cs, check{"go", false, fmt.Sprintf("%s env GOVERSION failed (%v, output %q)", goCmd, err, out), false})
		case goversion.Compare(ver, "go1.26") < 0:
			cs = append(cs, check{"go", false, ver + " found; GoMLX v0.28 needs Go 1.26 or later", false})
		default:
			cs = append(cs, check{"go", true, ver + " (" + goCmd + ")", false})
		}
	}
	wd, _ := os.Getwd()
	root, err := kernelspec.RepoRoot(wd)
	var tools kernelspec.Tools
	if err != nil {
		cs = append(cs, check{Name: "repository", Info: "run from inside the robustpo checkout"})
	} else {
		if name == "" {
			name = kernelspec.CheckoutName(root)
		}
		bin, err := kernelspec.BinDir(root)
		if err != nil {
			cs = append(cs, check{Name: "bin dir", Info: err.Error()})
		}
		tools = kernelspec.ToolsIn(bin)
	}
	tool := func(label, path, fix string, optional bool) check {
		if path != "" {
			if st, err := os.Stat(path); err == nil && !st.IsDir() {
				return check{Name: label, OK: true, Info: path}
			}
		}
		return check{Name: label, Info: fix, Optional: optional}
	}
	cs = append(cs,
		tool("gonb", tools.Gonb, "run: go run ./kernel install", false),
		tool("goimports", tools.Goimports, "run: go run ./kernel install", false),
		tool("gopls", tools.Gopls, "optional (autocomplete): go run ./kernel install --with-gopls", true),
	)
	cs = append(cs, jupyterCheck())
	install := "run: go run ./kernel install"
	if name != "" && root != "" && name != kernelspec.CheckoutName(root) {
		install += " --name " + name
	}
	dir, err := kernelspec.DataDir(dataDir)
	if err != nil {
		cs = append(cs, check{Name: "kernelspec", Info: err.Error()})
	} else {
		cs = append(cs, specCheck("kernelspec", kernelspec.SearchDirs(dir), name, root, install))
		if name != kernelspec.DefaultName && root != "" {
			cs = append(cs, notebooksCheck(kernelspec.SearchDirs(dir), root))
		}
	}
	cs = append(cs, check{Name: "backend", OK: true, Info: backendLine()})
	return cs
}

// jupyterCheck reports jupyter and its kernelspec subcommand (Debian's
// jupyter-notebook package does not bring jupyter-client, which provides
// it). Jupyter is optional (only for the browser UI); a jupyter without
// `jupyter kernelspec` is reported missing.
func jupyterCheck() check {
	const kfix = "Debian/Ubuntu: apt-get install jupyter-client; elsewhere: pip install jupyter_client"
	p, err := exec.LookPath("jupyter")
	if err != nil {
		return check{Name: "jupyter", Optional: true,
			Info: "optional (only for the browser UI): apt-get install jupyter-notebook jupyter-client, or pip install notebook"}
	}
	// jupyter runs `jupyter kernelspec` as the jupyter-kernelspec command.
	k, err := exec.LookPath("jupyter-kernelspec")
	if err != nil {
		return check{Name: "jupyter", Info: p + " found, but not `jupyter kernelspec` (jupyter-kernelspec on PATH); " + kfix}
	}
	return check{Name: "jupyter", OK: true, Info: p + " (" + k + ")"}
}

// specCheck checks that kernelspec name is installed, its gonb exists and it
// runs GoNB on the checkout at root.
func specCheck(label string, dirs []string, name, root, fix string) check {
	path, spec, err := kernelspec.Find(dirs, name)
	switch {
	case err != nil && errors.Is(err, os.ErrNotExist):
		return check{Name: label, Info: fmt.Sprintf("no kernelspec %q; %s", name, fix)}
	case err != nil:
		return check{Name: label, Info: err.Error() + "; " + fix}
	case len(spec.Argv) == 0 || !fileExists(spec.Argv[0]):
		return check{Name: label, Info: path + " points at a missing gonb; " + fix}
	}
	if ok, other := kernelspec.PointsAt(spec, root); !ok {
		return check{Name: label, Info: fmt.Sprintf("%s runs the checkout %q, not this one (%s); %s", path, other, root, fix)}
	}
	return check{Name: label, OK: true, Info: fmt.Sprintf("%q (%s) at %s", name, spec.DisplayName, path)}
}

// notebooksCheck checks the kernelspec named in notebooks' metadata.
func notebooksCheck(dirs []string, root string) check {
	name := kernelspec.DefaultName
	path, _, err := kernelspec.Find(dirs, name)
	if err != nil && errors.Is(err, os.ErrNotExist) {
		return check{Name: "notebooks", OK: true, Info: fmt.Sprintf("no kernelspec %q: Jupyter asks for a kernel when opening a notebook; pick %q",
			name, kernelspec.DisplayNameFor(kernelspec.CheckoutName(root), root))}
	}
	c := specCheck("notebooks", dirs, name, root, "notebooks open on it; run: go run ./kernel install --name "+name+" (here), or jupyter kernelspec remove "+name)
	if c.OK {
		c.Info = fmt.Sprintf("notebooks open on %q at %s, which runs this checkout", name, path)
	}
	return c
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// backendLine reports the backend the lab would pick.
func backendLine() string {
	s := "go (pure Go)"
	if b := os.Getenv("GOMLX_BACKEND"); b != "" {
		s = b + " (from GOMLX_BACKEND)"
	}
	if runtime.GOOS == "linux" {
		if m, _ := filepath.Glob("/dev/nvidia*"); len(m) > 0 {
			s += "; an NVIDIA GPU is present: GOMLX_BACKEND=xla:cuda (or xla:/abs/path/xla_cuda_plugin.so) uses it when a CUDA PJRT plugin is installed"
		}
	}
	return s
}

func cmdDoctor(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "kernelspec name to check (default: this checkout's, robustpo-<hash of its path>)")
	dataDir := fs.String("jupyter-data-dir", "", "Jupyter data dir to look in first")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadInput
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kernel doctor: unexpected argument %q\n", fs.Arg(0))
		return exitBadInput
	}
	if *name != "" {
		if err := kernelspec.ValidName(*name); err != nil {
			fmt.Fprintf(stderr, "kernel doctor: %v\n", err)
			return exitBadInput
		}
	}
	var missing []string
	for _, c := range doctorChecks(*dataDir, *name) {
		state := "ok     "
		switch {
		case !c.OK && c.Optional:
			state = "absent "
		case !c.OK:
			state = "missing"
			missing = append(missing, c.Name)
		}
		fmt.Fprintf(stdout, "%-10s %s  %s\n", c.Name, state, c.Info)
	}
	if len(missing) > 0 {
		fmt.Fprintf(stderr, "kernel doctor: missing: %s\n", strings.Join(missing, ", "))
		return exitFailed
	}
	return exitOK
}
