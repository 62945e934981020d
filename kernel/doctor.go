package main

import (
	"context"
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
	Name string
	OK   bool
	Info string // what was found, or the fix when missing
}

// doctorChecks inspects the prerequisites without changing anything.
// The backend line mirrors the lab's choice without importing lab:
// GOMLX_BACKEND when set, else the pure-Go backend.
func doctorChecks(dataDir, name string) []check {
	var cs []check
	goCmd, err := kernelspec.GoCommand()
	if err != nil {
		cs = append(cs, check{"go", false, "install Go 1.26 or later from https://go.dev/dl"})
	} else {
		out, err := exec.Command(goCmd, "env", "GOVERSION").Output()
		ver := ""
		if f := strings.Fields(string(out)); len(f) > 0 {
			ver = f[0]
		}
		switch {
		case err != nil || !goversion.IsValid(ver):
			cs = append(cs, check{"go", false, fmt.Sprintf("%s env GOVERSION failed (%v, output %q)", goCmd, err, out)})
		case goversion.Compare(ver, "go1.26") < 0:
			cs = append(cs, check{"go", false, ver + " found; GoMLX v0.28 needs Go 1.26 or later"})
		default:
			cs = append(cs, check{"go", true, ver + " (" + goCmd + ")"})
		}
	}
	wd, _ := os.Getwd()
	root, err := kernelspec.RepoRoot(wd)
	var tools kernelspec.Tools
	if err != nil {
		cs = append(cs, check{"repository", false, "run from inside the robustpo checkout"})
	} else {
		bin, err := kernelspec.BinDir(root)
		if err != nil {
			cs = append(cs, check{"bin dir", false, err.Error()})
		}
		tools = kernelspec.ToolsIn(bin)
	}
	tool := func(label, path, fix string) check {
		if path != "" {
			if st, err := os.Stat(path); err == nil && !st.IsDir() {
				return check{label, true, path}
			}
		}
		return check{label, false, fix}
	}
	cs = append(cs,
		tool("gonb", tools.Gonb, "run: go run ./kernel install"),
		tool("goimports", tools.Goimports, "run: go run ./kernel install"),
		tool("gopls", tools.Gopls, "optional (autocomplete): go run ./kernel install --with-gopls"),
	)
	if p, err := exec.LookPath("jupyter"); err == nil {
		cs = append(cs, check{"jupyter", true, p})
	} else {
		cs = append(cs, check{"jupyter", false, "optional (only for the browser UI): apt-get install jupyter-notebook, or pip install notebook"})
	}
	dir, err := kernelspec.DataDir(dataDir)
	if err != nil {
		cs = append(cs, check{"kernelspec", false, err.Error()})
	} else if path, spec, err := kernelspec.Find(kernelspec.SearchDirs(dir), name); err != nil {
		cs = append(cs, check{"kernelspec", false, "run: go run ./kernel install"})
	} else if len(spec.Argv) == 0 || !fileExists(spec.Argv[0]) {
		cs = append(cs, check{"kernelspec", false, path + " points at a missing gonb; run: go run ./kernel install"})
	} else {
		cs = append(cs, check{"kernelspec", true, fmt.Sprintf("%q at %s", name, path)})
	}
	cs = append(cs, check{"backend", true, backendLine()})
	return cs
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
	name := fs.String("name", kernelspec.DefaultName, "kernelspec name to look for")
	dataDir := fs.String("jupyter-data-dir", "", "Jupyter data dir to look in first")
	if err := fs.Parse(args); err != nil {
		return exitBadInput
	}
	for _, c := range doctorChecks(*dataDir, *name) {
		state := "ok     "
		if !c.OK {
			state = "missing"
		}
		fmt.Fprintf(stdout, "%-10s %s  %s\n", c.Name, state, c.Info)
	}
	return exitOK
}
