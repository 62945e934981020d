package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/robustpo/robustpo/kernel/kernelspec"
)

// TestPrebuildWarmsCellBuild checks, in an empty Go build cache, that after
// prebuild a notebook cell built as GoNB builds it (its own module in a
// workspace with this checkout, the kernel's environment) compiles only its
// main package: `go build -x` runs the compiler for package main and for
// none of the lab's or GoMLX's packages. Without the prebuild it compiles
// them all (checked first, so the test can tell the difference).
func TestPrebuildWarmsCellBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds GoMLX and the lab in an empty build cache (minutes; skipped with -short)")
	}
	wd, _ := os.Getwd()
	root, err := kernelspec.RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	tools := kernelspec.ToolsIn(t.TempDir())
	spec, err := kernelspec.NewSpec(tools, root, "robustpo-test")
	if err != nil {
		t.Fatal(err)
	}
	env := kernelspec.MergeEnv(os.Environ(), spec.Env)
	env = append(env, "GOCACHE="+t.TempDir(), "GOFLAGS=-mod=mod")
	env = kernelspec.MergeEnv(env, map[string]string{"GOFLAGS": spec.Env["GOFLAGS"]})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cell := "package main\n\nimport (\n\t\"fmt\"\n\n\t\"github.com/robustpo/robustpo/lab\"\n)\n\nfunc main() { fmt.Println(lab.Version) }\n"
	// compiled returns the packages the compiler runs for (with dryRun,
	// would run for: `go build -n`, which builds nothing).
	compiled := func(dryRun bool) []string {
		t.Helper()
		dir := t.TempDir()
		if err := cellModule(ctx, dir, root, cell, env); err != nil {
			t.Fatal(err)
		}
		flag := "-x"
		if dryRun {
			flag = "-n"
		}
		out, err := goCmd(ctx, dir, env, "build", flag, "-o", filepath.Join(dir, "cell")).CombinedOutput()
		if err != nil {
			t.Fatalf("building the cell: %v\n%s", err, out)
		}
		var pkgs []string
		for _, l := range strings.Split(string(out), "\n") {
			if !strings.Contains(l, "/compile ") {
				continue
			}
			if _, rest, ok := strings.Cut(l, " -p "); ok {
				pkgs = append(pkgs, strings.Fields(rest)[0])
			}
		}
		return pkgs
	}
	// In the empty cache the cell would compile the lab: the check below
	// can fail.
	cold := compiled(true)
	if !containsPkg(cold, "github.com/robustpo/robustpo/lab") {
		t.Fatalf("a cell in an empty cache would compile %d packages, not the lab: cannot tell a warm cache", len(cold))
	}
	d, err := prebuild(ctx, root, env)
	if err != nil {
		t.Fatal(err)
	}
	warm := compiled(false)
	t.Logf("prebuild took %v; then the cell compiled %v (in the empty cache it would have compiled %d packages)", d.Round(time.Second), warm, len(cold))
	if len(warm) != 1 || warm[0] != "main" {
		t.Errorf("after prebuild the cell compiled %v, want only main", warm)
	}
}

func containsPkg(pkgs []string, p string) bool {
	for _, q := range pkgs {
		if q == p {
			return true
		}
	}
	return false
}
