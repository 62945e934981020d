package nbformat

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// python is Debian's interpreter, which has python3-nbformat (the python3
// first on PATH may be another one without it).
const python = "/usr/bin/python3"

// pyRoundTrip reads, validates and writes a notebook with Python's nbformat,
// turning every warning (a missing or duplicate cell id, a deprecation)
// into an error.
const pyRoundTrip = `import nbformat, sys
nb = nbformat.read(sys.argv[1], as_version=4)
nbformat.validate(nb)
nbformat.write(nb, sys.argv[2])
`

// needNBFormat skips the test when Python's nbformat is not installed.
func needNBFormat(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-W", "error", "-c", "import nbformat").Run(); err != nil {
		t.Skipf("%s with nbformat is not available (%v): install python3-nbformat (CI does) to compare with Python's writer", python, err)
	}
}

// goldenCases are synthetic notebooks covering what Python's writer treats
// specially: line splitting, string escaping, number formatting, key order,
// JSON MIME values, attachments and missing, invalid or duplicate ids.
var goldenCases = map[string]string{
	"tricky strings": `{"cells": [
  {"cell_type": "code", "metadata": {}, "source": "a := \"x\"\r\nb := 'π‖β'\tc\u2028d\u2029e\u000bf\u000cg\u001ch\u001dI\u001ej\u0085k\rl\n", "outputs": [
    {"output_type": "stream", "name": "stdout", "text": "no newline at end"},
    {"output_type": "stream", "name": "stderr", "text": "\u0000\u0001\u001f\u007f \\ / \" <>&\u2028 \ud83d\ude00\n\n"}
   ], "execution_count": 1},
  {"cell_type": "markdown", "metadata": {}, "source": ""},
  {"cell_type": "markdown", "metadata": {}, "source": ["line 1\n", "line 2\n"]},
  {"cell_type": "raw", "metadata": {"format": "text/plain"}, "source": "\n"}
 ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`,
	"numbers and nested metadata": `{"cells": [
  {"cell_type": "code", "metadata": {"z": 1, "a": {"y": [1.0, 2.50, 1e-3, 1E5, 1e16, 1e22, -0.0, 0, -0, 123456789012345678901234567890, 0.1, 1.7976931348623157e308, 5e-324]}, "m": {"b": true, "a": null, "c": []}}, "source": "x", "outputs": [
    {"output_type": "display_data", "data": {"text/plain": "plot", "image/png": "iVBORw0KGgo=\n", "application/pdf": "JVBERi0=",
      "image/svg+xml": "<svg>\n<rect/>\n</svg>", "application/json": {"b": [1, 2.0, "s\n"], "a": {}}, "application/vnd.custom+json": ["x\n", "y"]},
     "metadata": {"image/png": {"width": 600, "height": 400.5}}},
    {"output_type": "execute_result", "execution_count": 2, "data": {"text/html": ["<b>", "x</b>\n"], "application/javascript": "a();\nb();"}, "metadata": {}},
    {"output_type": "error", "ename": "E", "evalue": "v\nw", "traceback": ["t1\n", "\u001b[31mt2\u001b[0m"]}
   ], "execution_count": 2}
 ], "metadata": {"kernelspec": {"name": "robustpo", "display_name": "Go (robustpo)", "language": "go"}, "custom": {"k": [0.5, 3]}}, "nbformat": 4, "nbformat_minor": 5}`,
	"ids missing invalid and duplicate": `{"cells": [
  {"cell_type": "markdown", "metadata": {}, "source": "same"},
  {"cell_type": "markdown", "id": "keep-me_1", "metadata": {}, "source": "same"},
  {"cell_type": "markdown", "id": "keep-me_1", "metadata": {}, "source": "dup"},
  {"cell_type": "markdown", "id": "not valid!", "metadata": {}, "source": "bad"},
  {"cell_type": "code", "id": "", "metadata": {}, "source": "", "outputs": [], "execution_count": null}
 ], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}`,
	"attachments and transient fields": `{"cells": [
  {"cell_type": "markdown", "metadata": {"trusted": true, "tags": ["a"]}, "source": "![x](attachment:x.svg)",
   "attachments": {"x.svg": {"image/svg+xml": ["<svg>\n", "</svg>\n"], "text/plain": "x"}, "y.png": {"image/png": "iVBO"}}}
 ], "metadata": {"orig_nbformat": 3, "signature": "sha256:00", "language_info": {"name": "go"}}, "nbformat": 4, "nbformat_minor": 5}`,
}

// TestMarshalMatchesPython writes each notebook of the repository and each
// synthetic case with Marshal, then checks that Python's nbformat reads,
// validates (warnings are errors) and writes it back byte for byte the same.
func TestMarshalMatchesPython(t *testing.T) {
	needNBFormat(t)
	type tc struct {
		name string
		data []byte
	}
	var cases []tc
	paths, _ := filepath.Glob(filepath.Join("..", "..", "notebooks", "*.ipynb"))
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "*.ipynb"))
	paths = append(paths, more...)
	if len(paths) < 2 {
		t.Fatalf("found only %d notebooks under notebooks/ and kernel/testdata", len(paths))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, tc{filepath.Base(p), data})
	}
	for name, src := range goldenCases {
		cases = append(cases, tc{name, []byte(src)})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nb, err := Parse(c.name, c.data)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := nb.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			in, out := filepath.Join(dir, "go.ipynb"), filepath.Join(dir, "py.ipynb")
			if err := os.WriteFile(in, ours, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(python, "-W", "error", "-c", pyRoundTrip, in, out)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("Python's nbformat rejects our notebook: %v\n%s", err, msg)
			}
			theirs, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, theirs) {
				t.Errorf("Python writes the notebook differently:\n%s", firstDiff(ours, theirs))
			}
			// Our writer is stable on its own output.
			again, err := Parse(c.name, ours)
			if err != nil {
				t.Fatal(err)
			}
			if second, _ := again.Marshal(); !bytes.Equal(second, ours) {
				t.Errorf("Marshal(Parse(Marshal(nb))) differs:\n%s", firstDiff(second, ours))
			}
		})
	}
}

// firstDiff shows the first line where a (ours) and b (want) differ.
func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y || i >= len(al) || i >= len(bl) {
			return fmt.Sprintf("line %d:\n  got: %s\n want: %s", i+1, trunc(x), trunc(y))
		}
	}
	return "(same lines; bytes differ)"
}

func trunc(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
