package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robustpo/robustpo/kernel/jupyter"
	"github.com/robustpo/robustpo/kernel/kernelspec"
	"github.com/robustpo/robustpo/kernel/nbformat"
)

// testBinDir holds the gonb and goimports built once for all tests; gonb
// processes whose executable lives there were started by these tests.
var testBinDir string

func TestMain(m *testing.M) {
	// Kernels started by the tests run under a guard: this test binary, run
	// again with jupyter.GuardArg first (as main does).
	if len(os.Args) > 1 && os.Args[1] == jupyter.GuardArg {
		os.Exit(jupyter.RunGuard(os.Args[2:], gonbLeftovers))
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "robustpo-kernel-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testBinDir = dir
	os.Setenv(kernelspec.BinDirEnv, dir)
	wd, _ := os.Getwd()
	root, err := kernelspec.RepoRoot(wd)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := kernelspec.Build(context.Background(), root, kernelspec.ToolsIn(dir), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// runKernelCmd runs the command in-process and returns its exit status and
// outputs.
func runKernelCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// testGonbProcs lists the pids of live processes started from testBinDir
// (gonb, the built kernel command) and of kernel guards run by this test
// binary.
func testGonbProcs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("listing /proc: %v", err)
	}
	self, _ := os.Executable()
	var pids []string
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		guard := exe == self && strings.Contains(string(cmdline), "\x00"+jupyter.GuardArg+"\x00")
		if strings.HasPrefix(exe, testBinDir+string(filepath.Separator)) || guard {
			stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if strings.Contains(string(stat), ") Z ") { // zombie: already dead
				continue
			}
			pids = append(pids, e.Name())
		}
	}
	return pids
}

func assertNoGonbLeft(t *testing.T) {
	t.Helper()
	if pids := testGonbProcs(t); len(pids) > 0 {
		t.Errorf("gonb processes started by the test still running: %v", pids)
	}
}

// writeNotebook writes a notebook with the given code cells (a markdown
// cell first) and returns its path.
func writeNotebook(t *testing.T, dir, name string, cells ...string) string {
	t.Helper()
	nb := map[string]any{
		"nbformat": 4, "nbformat_minor": 5,
		"metadata": map[string]any{"kernelspec": map[string]any{"name": "robustpo", "display_name": "Go (robustpo)", "language": "go"}},
	}
	list := []any{map[string]any{"cell_type": "markdown", "metadata": map[string]any{}, "source": "# " + name}}
	for _, c := range cells {
		list = append(list, map[string]any{"cell_type": "code", "metadata": map[string]any{}, "source": c, "outputs": []any{}, "execution_count": nil})
	}
	nb["cells"] = list
	data, _ := json.MarshalIndent(nb, "", " ")
	p := filepath.Join(dir, name+".ipynb")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunTinyNotebook(t *testing.T) {
	in := filepath.Join("testdata", "tiny.ipynb")
	before, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, stdout, stderr := runKernelCmd(t, "run", "--html", "-o", out, in)
	assertNoGonbLeft(t)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"tiny.ipynb: cell 2: ", "tiny.ipynb: cell 3: ", "tiny.ipynb: cell 4: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks progress line %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "FAILED") {
		t.Errorf("unexpected failure:\n%s", stdout)
	}
	after, _ := os.ReadFile(in)
	if !bytes.Equal(before, after) {
		t.Errorf("input notebook %s was modified", in)
	}
	nb, err := nbformat.Load(filepath.Join(out, "tiny.ipynb"))
	if err != nil {
		t.Fatalf("reading the executed notebook: %v", err)
	}
	if len(nb.Cells) != 4 {
		t.Fatalf("executed notebook has %d cells, want 4", len(nb.Cells))
	}
	// Execution counts 1, 2, 3 on the three code cells.
	for i, c := range nb.Cells[1:] {
		if c.ExecutionCount == nil || *c.ExecutionCount != i+1 {
			t.Errorf("cell %d: execution_count %v, want %d", i+2, c.ExecutionCount, i+1)
		}
	}
	stream := func(c *nbformat.Cell) string {
		var s string
		for _, o := range c.Outputs {
			if o.OutputType == "stream" && o.Name == "stdout" {
				s += o.TextString()
			}
		}
		return s
	}
	if got := stream(nb.Cells[1]); got != "hello from a cell\n" {
		t.Errorf("cell 2 stdout %q, want %q", got, "hello from a cell\n")
	}
	if got := stream(nb.Cells[3]); got != "triple=42 graph.Add=true\n" {
		t.Errorf("cell 4 stdout %q (repo package and GoMLX imported through go.work)", got)
	}
	var svg string
	for _, o := range nb.Cells[2].Outputs {
		if o.OutputType == "display_data" {
			for _, v := range o.Data {
				if strings.Contains(v.Text, "<svg") {
					svg = v.Text
				}
			}
		}
	}
	if !strings.Contains(svg, `fill="teal"`) {
		t.Errorf("cell 3: no display_data with the SVG; outputs: %+v", nb.Cells[2].Outputs)
	}
	// Raw JSON must carry the nbformat-required fields of display_data.
	raw, _ := os.ReadFile(filepath.Join(out, "tiny.ipynb"))
	if !strings.Contains(string(raw), `"output_type": "display_data"`) || !strings.Contains(string(raw), `"metadata": {}`) {
		t.Errorf("executed notebook JSON lacks display_data with metadata:\n%s", raw)
	}
	// Metadata as Jupyter records it once GoNB is ready: the kernel_info
	// reply's language_info as is (all of GoNB's fields) and the kernelspec.
	li, _ := nb.Metadata["language_info"].(map[string]any)
	if len(li) != 7 || li["name"] != "go" || li["mimetype"] != "text/x-go" || li["file_extension"] != ".go" ||
		!strings.HasPrefix(fmt.Sprint(li["version"]), "go1.") {
		t.Errorf("metadata.language_info %v, want GoNB's kernel_info_reply language_info (7 fields)", li)
	}
	ks, _ := nb.Metadata["kernelspec"].(map[string]any)
	if ks["name"] != "robustpo" || ks["display_name"] != kernelspec.DisplayName || ks["language"] != "go" {
		t.Errorf("metadata.kernelspec %v", ks)
	}
	for i, c := range nb.Cells {
		if !nbformat.ValidID(c.ID) {
			t.Errorf("cell %d: id %q", i+1, c.ID)
		}
	}
	assertPythonWritesSame(t, filepath.Join(out, "tiny.ipynb"))
	page, err := os.ReadFile(filepath.Join(out, "tiny.html"))
	if err != nil {
		t.Fatalf("HTML page: %v", err)
	}
	for _, want := range []string{"<!DOCTYPE html>", "<h1>Tiny notebook</h1>", "<table>", "hello from a cell", `fill="teal"`, "In [1]:"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("HTML page lacks %q", want)
		}
	}
}

// assertPythonWritesSame checks that Python's nbformat reads, validates
// (warnings are errors) and writes the notebook at path byte for byte the
// same. Without /usr/bin/python3 and nbformat it only logs.
func assertPythonWritesSame(t *testing.T, path string) {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-W", "error", "-c", "import nbformat").Run(); err != nil {
		t.Logf("not comparing with Python's nbformat: %s with nbformat unavailable (%v)", py, err)
		return
	}
	want := filepath.Join(t.TempDir(), "py.ipynb")
	script := "import nbformat, sys\nnb = nbformat.read(sys.argv[1], as_version=4)\nnbformat.validate(nb)\nnbformat.write(nb, sys.argv[2])\n"
	if msg, err := exec.Command(py, "-W", "error", "-c", script, path, want).CombinedOutput(); err != nil {
		t.Fatalf("Python's nbformat rejects %s: %v\n%s", path, err, msg)
	}
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(want)
	if !bytes.Equal(a, b) {
		t.Errorf("Python's nbformat writes %s differently:\n--- ours\n%s\n--- python\n%s", path, a, b)
	}
}

func TestRunFailuresExitNonZero(t *testing.T) {
	dir := t.TempDir()
	out := t.TempDir()
	after := "%%\nfmt.Println(\"must not run\")"
	nbs := []struct {
		name, cell, reason, line string
	}{
		{"compile", "func main() { undefinedThing() }", "compile error", "undefined: undefinedThing"},
		{"panic", "%%\nx := []int{1}\ni := 3\nfmt.Println(x[i])", "panicked", "index out of range [3] with length 1"},
		{"exit3", "import \"os\"\n%%\nfmt.Println(\"bye\")\nos.Exit(3)", "exited with status 3", ""},
		{"timeout", "import \"time\"\n%%\ntime.Sleep(10 * time.Minute)", "timed out after 15s", ""},
	}
	var paths []string
	for _, n := range nbs {
		paths = append(paths, writeNotebook(t, dir, n.name, "%%\nfmt.Println(\"first\")", n.cell, after))
	}
	args := append([]string{"run", "--timeout", "15s", "-o", out}, paths...)
	code, stdout, stderr := runKernelCmd(t, args...)
	assertNoGonbLeft(t)
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	for _, n := range nbs {
		head := n.name + ".ipynb: cell 3 failed: "
		if !strings.Contains(stderr, head) || !strings.Contains(stderr[strings.Index(stderr, head):], n.reason) {
			t.Errorf("%s: stderr lacks %q ... %q:\n%s", n.name, head, n.reason, stderr)
		}
		if n.line != "" && !strings.Contains(stderr, n.line) {
			t.Errorf("%s: stderr lacks the error line %q", n.name, n.line)
		}
		if !strings.Contains(stdout, n.name+".ipynb: cell 3: ") || !strings.Contains(stdout, "FAILED") {
			t.Errorf("%s: no FAILED progress line:\n%s", n.name, stdout)
		}
		nb, err := nbformat.Load(filepath.Join(out, n.name+".ipynb"))
		if err != nil {
			t.Errorf("%s: executed notebook: %v", n.name, err)
			continue
		}
		if len(nb.Cells[1].Outputs) == 0 {
			t.Errorf("%s: cell 2 (before the failure) has no output", n.name)
		}
		if len(nb.Cells[3].Outputs) != 0 || nb.Cells[3].ExecutionCount != nil {
			t.Errorf("%s: cell 4 ran after the failure: %+v", n.name, nb.Cells[3].Outputs)
		}
	}
	if strings.Contains(stdout, "must not run") || strings.Contains(stderr, "must not run") {
		t.Errorf("a cell after a failure was executed")
	}
}

func TestRunBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.ipynb"), "no such file"},
		{"not a notebook", write("list.ipynb", `[1, 2, 3]`), "invalid JSON"},
		{"no nbformat", write("obj.ipynb", `{"cells": []}`), "not a Jupyter notebook"},
		{"plain text", write("notes.txt", "just some notes\n"), "invalid JSON"},
		{"invalid JSON", write("broken.ipynb", "{\"cells\": [\n  {\"cell_type\": \"code\",\n}"), "broken.ipynb:3: invalid JSON"},
		{"nbformat 3", write("old.ipynb", `{"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}`), "nbformat 3 is not supported"},
		{"unknown kernel", write("py.ipynb", `{"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3"}}, "cells": []}`), `unknown kernel name "python3"`},
		{"directory", dir, "is a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := runKernelCmd(t, "run", "--html", "-o", out, c.path)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr %q", code, exitBadInput, stderr)
			}
			if strings.Count(stderr, "\n") != 1 {
				t.Errorf("want one line on stderr, got %q", stderr)
			}
			if !strings.Contains(stderr, c.path) || !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q should name %s and say %q", stderr, c.path, c.want)
			}
			if stdout != "" {
				t.Errorf("stdout should be empty, got %q", stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output dir %s was created (err %v): bad input must write nothing", out, err)
			}
		})
	}
	// The --kernel flag is checked the same way.
	good := writeNotebook(t, dir, "good")
	code, _, stderr := runKernelCmd(t, "run", "--kernel", "julia", "-o", filepath.Join(dir, "o2"), good)
	if code != exitBadInput || !strings.Contains(stderr, `unknown kernel name "julia"`) {
		t.Errorf("--kernel julia: exit %d, stderr %q", code, stderr)
	}
	assertNoGonbLeft(t)
}

func TestRunOutputIntoOwnDirectory(t *testing.T) {
	dir := t.TempDir()
	p := writeNotebook(t, dir, "self", "%%\nfmt.Println(6 * 7)")
	code, stdout, stderr := runKernelCmd(t, "run", "-o", dir, p)
	assertNoGonbLeft(t)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	nb, err := nbformat.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := nb.Cells[1].Outputs; len(got) != 1 || got[0].TextString() != "42\n" {
		t.Errorf("with -o at its own directory the notebook is rewritten with outputs; got %+v", got)
	}
}

func TestInstallAndDoctor(t *testing.T) {
	data := t.TempDir()
	code, stdout, stderr := runKernelCmd(t, "install", "--no-prebuild", "--name", "robustpo-test", "--jupyter-data-dir", data)
	if code != exitOK {
		t.Fatalf("install: exit %d\n%s\n%s", code, stdout, stderr)
	}
	specPath := filepath.Join(data, "kernels", "robustpo-test", "kernel.json")
	if !strings.Contains(stdout, "wrote kernelspec") || !strings.Contains(stdout, specPath) {
		t.Errorf("install should say it wrote %s:\n%s", specPath, stdout)
	}
	raw, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	var spec kernelspec.Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	root := filepath.Dir(wd)
	wantArgv := []string{filepath.Join(testBinDir, "gonb"), "--kernel", "{connection_file}", "-go_work=" + root}
	if fmt.Sprint(spec.Argv) != fmt.Sprint(wantArgv) {
		t.Errorf("argv %q, want %q", spec.Argv, wantArgv)
	}
	if spec.DisplayName != "Go (robustpo: "+filepath.Base(root)+")" || spec.Language != "go" {
		t.Errorf("display_name %q language %q", spec.DisplayName, spec.Language)
	}
	if spec.Env["GOEXPERIMENT"] != "simd" || spec.Env["GOMLX_NO_AUTO_INSTALL"] != "1" {
		t.Errorf("env %v lacks GOEXPERIMENT=simd or GOMLX_NO_AUTO_INSTALL=1", spec.Env)
	}
	goCmd, _ := exec.LookPath("go")
	goAbs, _ := filepath.Abs(goCmd)
	if want := strings.Join([]string{testBinDir, filepath.Join(testBinDir, "lsp"), filepath.Dir(goAbs), "/usr/local/bin:/usr/bin:/bin"}, ":"); spec.Env["PATH"] != want {
		t.Errorf("PATH %q, want only %q (not the installing shell's PATH)", spec.Env["PATH"], want)
	}
	if strings.Contains(spec.Env["GOFLAGS"], "-mod=") {
		t.Errorf("GOFLAGS %q keeps -mod, which workspace mode rejects", spec.Env["GOFLAGS"])
	}

	// Idempotent: a second install changes nothing and says so.
	code, stdout, _ = runKernelCmd(t, "install", "--no-prebuild", "--name", "robustpo-test", "--jupyter-data-dir", data)
	if code != exitOK || strings.Contains(stdout, "wrote") || !strings.Contains(stdout, "unchanged: kernelspec") {
		t.Errorf("second install: exit %d, output:\n%s", code, stdout)
	}
	raw2, _ := os.ReadFile(specPath)
	if !bytes.Equal(raw, raw2) {
		t.Errorf("second install rewrote kernel.json differently")
	}

	for _, backend := range []string{"", "xla:cpu"} {
		t.Setenv("GOMLX_BACKEND", backend)
		code, stdout, stderr = runKernelCmd(t, "doctor", "--name", "robustpo-test", "--jupyter-data-dir", data)
		// Exit 0 exactly when no line says missing (gopls and a missing
		// jupyter are optional: "absent").
		if missing := strings.Contains(stdout, " missing  "); (code == exitOK) == missing {
			t.Errorf("doctor exit %d with output\n%s%s", code, stdout, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 8 {
			t.Errorf("doctor printed %d lines, want 8 (go, gonb, goimports, gopls, jupyter, kernelspec, notebooks, backend):\n%s", len(lines), stdout)
		}
		for _, want := range []string{"go         ok", "gonb       ok", "goimports  ok", "kernelspec ok", specPath, "notebooks  ok"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("doctor output lacks %q:\n%s", want, stdout)
			}
		}
		wantBackend := "backend    ok       go (pure Go)"
		if backend != "" {
			wantBackend = "backend    ok       xla:cpu (from GOMLX_BACKEND)"
		}
		if !strings.Contains(stdout, wantBackend) {
			t.Errorf("doctor output lacks %q:\n%s", wantBackend, stdout)
		}
	}
	code, stdout, stderr = runKernelCmd(t, "doctor", "--name", "absent-kernel", "--jupyter-data-dir", data)
	if code != exitFailed || !strings.Contains(stdout, "kernelspec missing  no kernelspec \"absent-kernel\"; run: go run ./kernel install --name absent-kernel") ||
		!strings.Contains(stderr, "missing: kernelspec") {
		t.Errorf("doctor with no kernelspec: exit %d, want 1, saying how to fix it:\n%s%s", code, stdout, stderr)
	}
	// A spec of that name on another checkout fails doctor, as does a
	// "robustpo" spec (the notebooks' kernel) on another checkout.
	elsewhere := spec
	elsewhere.Argv = []string{spec.Argv[0], "--kernel", "{connection_file}", "-go_work=/some/other/clone"}
	for _, n := range []string{"robustpo-other", kernelspec.DefaultName} {
		if _, _, err := kernelspec.Write(data, n, &elsewhere); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, _ = runKernelCmd(t, "doctor", "--name", "robustpo-other", "--jupyter-data-dir", data)
	if code != exitFailed || !strings.Contains(stdout, `runs the checkout "/some/other/clone", not this one (`+root+")") {
		t.Errorf("doctor on a spec of another checkout: exit %d, want 1:\n%s", code, stdout)
	}
	code, stdout, _ = runKernelCmd(t, "doctor", "--name", "robustpo-test", "--jupyter-data-dir", data)
	if code != exitFailed || !strings.Contains(stdout, "notebooks  missing") || !strings.Contains(stdout, "jupyter kernelspec remove robustpo") {
		t.Errorf("doctor with a robustpo spec on another checkout: exit %d, want 1:\n%s", code, stdout)
	}
	// Names Jupyter refuses: exit 2 naming the rule, nothing written.
	for _, bad := range []string{"../evil", "a/b", "..", ".", "with space", ""} {
		if bad == "" {
			continue
		}
		code, _, stderr = runKernelCmd(t, "install", "--no-prebuild", "--name", bad, "--jupyter-data-dir", data)
		if code != exitBadInput || !strings.Contains(stderr, kernelspec.NameRule) {
			t.Errorf("install --name %q: exit %d, want 2 naming the rule:\n%s", bad, code, stderr)
		}
	}
	if entries, _ := os.ReadDir(data); len(entries) != 1 || entries[0].Name() != "kernels" {
		t.Errorf("the data dir holds %v, want only kernels/", entries)
	}
}

// TestInstallPerCheckout installs from this checkout and from a second one
// (a directory with a copy of go.mod) by default: two kernel names, each
// spec on its own checkout, and doctor in each fails for the other's.
func TestInstallPerCheckout(t *testing.T) {
	data := t.TempDir()
	wd, _ := os.Getwd()
	root := filepath.Dir(wd)
	clone := t.TempDir()
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(clone, "go.mod"), gomod, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runKernelCmd(t, "install", "--no-prebuild", "--jupyter-data-dir", data); code != exitOK {
		t.Fatalf("install here: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Chdir(clone)
	if code, stdout, stderr := runKernelCmd(t, "install", "--no-prebuild", "--jupyter-data-dir", data); code != exitOK {
		t.Fatalf("install in the clone: exit %d\n%s%s", code, stdout, stderr)
	}
	here, there := kernelspec.CheckoutName(root), kernelspec.CheckoutName(clone)
	if here == there {
		t.Fatalf("two checkouts got one kernel name %q", here)
	}
	for r, n := range map[string]string{root: here, clone: there} {
		_, spec, err := kernelspec.Find([]string{data}, n)
		if err != nil {
			t.Fatalf("no kernelspec %s for %s: %v", n, r, err)
		}
		if ok, got := kernelspec.PointsAt(spec, r); !ok || spec.DisplayName != "Go (robustpo: "+filepath.Base(r)+")" {
			t.Errorf("kernelspec %s: -go_work=%s display %q, want %s", n, got, spec.DisplayName, r)
		}
	}
	// Doctor in the clone checks the clone's kernel by default.
	code, stdout, _ := runKernelCmd(t, "doctor", "--jupyter-data-dir", data)
	if !strings.Contains(stdout, "kernelspec ok") || !strings.Contains(stdout, there) {
		t.Errorf("doctor in the clone (exit %d):\n%s", code, stdout)
	}
	code, stdout, _ = runKernelCmd(t, "doctor", "--name", here, "--jupyter-data-dir", data)
	if code != exitFailed || !strings.Contains(stdout, "not this one ("+clone+")") {
		t.Errorf("doctor in the clone on the first checkout's kernel: exit %d, want 1:\n%s", code, stdout)
	}
}

// TestDoctorIgnoresGoexperiment builds the command with and without
// GOEXPERIMENT=simd and checks that both find the tools in the same bin dir.
func TestDoctorIgnoresGoexperiment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command twice")
	}
	wd, _ := os.Getwd()
	root := filepath.Dir(wd)
	cache := t.TempDir()
	t.Setenv(kernelspec.BinDirEnv, "")
	t.Setenv("XDG_CACHE_HOME", cache)
	bin, err := kernelspec.BinDir(root)
	if err != nil {
		t.Fatal(err)
	}
	tools := kernelspec.ToolsIn(bin)
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{tools.Gonb, tools.Goimports} {
		if err := os.Symlink(filepath.Join(testBinDir, filepath.Base(p)), p); err != nil {
			t.Fatal(err)
		}
	}
	var outs []string
	for _, exp := range []string{"", "simd"} {
		exe := filepath.Join(t.TempDir(), "kernel")
		build := exec.Command("go", "build", "-o", exe, ".")
		build.Env = kernelspec.MergeEnv(os.Environ(), map[string]string{"GOEXPERIMENT": exp})
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("GOEXPERIMENT=%s go build: %v\n%s", exp, err, out)
		}
		cmd := exec.Command(exe, "doctor", "--jupyter-data-dir", t.TempDir())
		cmd.Env = kernelspec.MergeEnv(os.Environ(), map[string]string{"GOEXPERIMENT": exp})
		out, _ := cmd.Output()
		if !strings.Contains(string(out), "gonb       ok       "+tools.Gonb) {
			t.Errorf("GOEXPERIMENT=%s: doctor does not find gonb in %s:\n%s", exp, bin, out)
		}
		outs = append(outs, string(out))
	}
	if outs[0] != outs[1] {
		t.Errorf("doctor differs with GOEXPERIMENT:\n--- none\n%s--- simd\n%s", outs[0], outs[1])
	}
}

// fakeLines feeds the REPL scripted input; after the script it returns EOF.
type fakeLines struct {
	lines []string
}

func (f *fakeLines) ReadLine(string) (string, bool, error) {
	if len(f.lines) == 0 {
		return "", false, io.EOF
	}
	l := f.lines[0]
	f.lines = f.lines[1:]
	return l, false, nil
}

func TestReplOnRealKernel(t *testing.T) {
	client, err := startKernel(context.Background(), kernelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = client.Close()
		assertNoGonbLeft(t)
	}()
	var out, errOut lockedBuffer
	rich := t.TempDir()
	r := &repl{client: client, out: &out, errOut: &errOut, richDir: rich, session: "s"}
	input := &fakeLines{lines: []string{
		"%%", `fmt.Println("repl says hi")`, "",
		"", // extra empty lines at the prompt are ignored
		`import "github.com/janpfeifer/gonb/gonbui"`, "%%",
		// Sync: wait until GoNB has the output, or the program may exit first.
		"gonbui.DisplaySVG(`<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"><circle r=\"4\"/></svg>`)", "gonbui.Sync()", "",
		"%%", "var s []int", "_ = s[5]", "",
		"import \"time\"", "%%", `fmt.Println("sleeping")`, "time.Sleep(10 * time.Minute)", "",
		"%%", `fmt.Println("after interrupt")`,
	}}
	interrupts := make(chan os.Signal, 1)
	// The sleeping cell is interrupted as a Ctrl-C would, once its program
	// runs (it printed "sleeping").
	go func() {
		for !strings.Contains(out.String(), "sleeping\n") {
			time.Sleep(50 * time.Millisecond)
		}
		interrupts <- os.Interrupt
	}()
	var recorded []string
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := r.loop(ctx, input, interrupts, func(c string) { recorded = append(recorded, c) }); err != nil {
		t.Fatalf("repl loop: %v", err)
	}
	if len(recorded) != 5 {
		t.Errorf("recorded %d cells, want 5: %q", len(recorded), recorded)
	}
	if !strings.Contains(out.String(), "repl says hi\n") {
		t.Errorf("stdout lacks streamed text:\n%s", out.String())
	}
	saved := filepath.Join(rich, "s-001.html")
	if !strings.Contains(out.String(), "[HTML: "+saved+"]") {
		t.Errorf("stdout should print the saved path %s:\n%s", saved, out.String())
	}
	if data, err := os.ReadFile(saved); err != nil || !strings.Contains(string(data), `<circle r="4"/>`) {
		t.Errorf("saved rich output %s: %v %q", saved, err, data)
	}
	if !strings.Contains(errOut.String(), "[cell failed: cell program panicked (exit status 2)]") {
		t.Errorf("stderr lacks the panic failure:\n%s", errOut.String())
	}
	if !strings.Contains(errOut.String(), "[cell failed: cell program interrupted]") || strings.Contains(errOut.String(), "compile error") {
		t.Errorf("the interrupted cell should fail as interrupted, not as a compile error:\n%s", errOut.String())
	}
	if !strings.Contains(errOut.String(), "^C: interrupting the cell") {
		t.Errorf("the interrupt was not sent:\n%s", errOut.String())
	}
	if strings.Contains(errOut.String(), "timed out") || ctx.Err() != nil {
		t.Errorf("the sleeping cell was not interrupted")
	}
	if !strings.Contains(out.String(), "after interrupt\n") {
		t.Errorf("the kernel did not run a cell after the interrupt:\n%s\n%s", out.String(), errOut.String())
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRunCancelInterruptsAndShutsDown cancels a run while a cell sleeps,
// as Ctrl-C does: the run exits 130, says the cell was interrupted, writes
// the partial notebook and leaves no gonb process.
func TestRunCancelInterruptsAndShutsDown(t *testing.T) {
	dir := t.TempDir()
	p := writeNotebook(t, dir, "sleepy", "%%\nfmt.Println(\"started\")", "import \"time\"\n%%\ntime.Sleep(10 * time.Minute)")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	go func() {
		for !strings.Contains(stdout.String(), "sleepy.ipynb: cell 2: ") {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(2 * time.Second) // let GoNB compile and start the sleeping program
		cancel()
	}()
	code := runMain(ctx, []string{"run", "--timeout", "5m", "-o", dir, p}, strings.NewReader(""), &stdout, &stderr)
	assertNoGonbLeft(t)
	if code != exitInterrupt {
		t.Errorf("exit %d, want %d\n%s\n%s", code, exitInterrupt, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "sleepy.ipynb: cell 3 failed: interrupted") {
		t.Errorf("stderr should name the interrupted cell:\n%s", stderr.String())
	}
	nb, err := nbformat.Load(filepath.Join(dir, "sleepy.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	if got := nb.Cells[1].Outputs; len(got) != 1 || got[0].TextString() != "started\n" {
		t.Errorf("the cell before the interrupt lost its output: %+v", got)
	}
}
