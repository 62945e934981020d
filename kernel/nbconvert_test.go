package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/robustpo/robustpo/kernel/nbformat"
)

// TestJupyterNbconvert checks the installed kernelspec works with Jupyter
// itself: nbconvert executes a notebook on it, and writes the same notebook
// as `kernel run` does.
func TestJupyterNbconvert(t *testing.T) {
	jupyter, err := exec.LookPath("jupyter")
	if err != nil {
		t.Skip("jupyter is not on PATH (CI installs Debian's jupyter-nbconvert jupyter-notebook)")
	}
	data := t.TempDir()
	if code, stdout, stderr := runKernelCmd(t, "install", "--no-prebuild", "--name", "robustpo", "--jupyter-data-dir", data); code != exitOK {
		t.Fatalf("install: exit %d\n%s\n%s", code, stdout, stderr)
	}
	dir := t.TempDir()
	// %noautoget: resolve imports from the repository's go.work only (the
	// module proxy may refuse the version lists `go get` asks for).
	nb := writeNotebook(t, dir, "viajupyter",
		"%noautoget",
		"%%\nfmt.Println(\"via nbconvert\", 6*7)",
		"import \"github.com/janpfeifer/gonb/gonbui\"\n%%\ngonbui.DisplaySVG(`<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"6\" height=\"6\"><rect width=\"6\" height=\"6\"/></svg>`)\ngonbui.Sync()")
	// Our runner first; then nbconvert executes the notebook it wrote.
	ours := filepath.Join(dir, "ours")
	if code, stdout, stderr := runKernelCmd(t, "run", "-o", ours, nb); code != exitOK {
		t.Fatalf("kernel run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	nb = filepath.Join(ours, "viajupyter.ipynb")
	out := filepath.Join(dir, "out")
	cmd := exec.Command(jupyter, "nbconvert", "--to", "notebook", "--execute",
		"--ExecutePreprocessor.kernel_name=robustpo", "--ExecutePreprocessor.timeout=300",
		"--output-dir", out, nb)
	cmd.Env = append(os.Environ(), "JUPYTER_DATA_DIR="+data, "JUPYTER_RUNTIME_DIR="+filepath.Join(dir, "runtime"))
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, output)
	}
	got, err := os.ReadFile(filepath.Join(out, "viajupyter.ipynb"))
	if err != nil {
		t.Fatalf("nbconvert output: %v\n%s", err, output)
	}
	for _, want := range []string{"via nbconvert 42", `"display_data"`, `<rect width=\"6\" height=\"6\"/>`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("executed notebook lacks %s:\n%s", want, got)
		}
	}
	// Jupyter writes what our runner wrote, byte for byte (outputs, ids,
	// metadata.language_info and kernelspec), except for the execution
	// timestamps nbclient adds to each cell's metadata.
	theirs, err := nbformat.Load(filepath.Join(out, "viajupyter.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range theirs.Cells {
		delete(c.Metadata, "execution")
	}
	theirBytes, err := theirs.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if ourBytes, _ := os.ReadFile(nb); !bytes.Equal(ourBytes, theirBytes) {
		t.Errorf("nbconvert writes the executed notebook differently from kernel run:\n--- kernel run\n%s\n--- nbconvert\n%s", ourBytes, theirBytes)
	}
	// nbconvert shuts its kernel down before exiting; allow a moment for
	// the process to be reaped.
	for i := 0; i < 50 && len(testGonbProcs(t)) > 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	assertNoGonbLeft(t)
}
