package notebooks

// Checks of the committed notebooks as files: Jupyter's own nbformat reads
// them without warnings and writes them back byte-identical, every cell has
// an id, and every figure is an image bundle that any viewer shows.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// committed returns the committed notebooks.
func committed(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob("*.ipynb")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no notebooks found (%v)", err)
	}
	return paths
}

// pythonNbformat returns Debian's python3 when it has nbformat, else skips.
func pythonNbformat(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import nbformat").Run(); err != nil {
		t.Skipf("%s with nbformat is not installed (Debian: apt-get install python3-nbformat; .ci/run installs it): %v", py, err)
	}
	return py
}

// TestCommittedNotebooksAsJupyterWritesThem validates every committed
// notebook with Python's nbformat, warnings as errors, and checks that
// nbformat writes it back unchanged: Jupyter opening and saving it makes no
// diff.
func TestCommittedNotebooksAsJupyterWritesThem(t *testing.T) {
	py := pythonNbformat(t)
	const script = `import nbformat, sys
nb = nbformat.read(sys.argv[1], as_version=4)
nbformat.validate(nb)
nbformat.write(nb, sys.argv[2])
`
	for _, p := range committed(t) {
		t.Run(p, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "rewritten.ipynb")
			cmd := exec.Command(py, "-W", "error", "-c", script, p, out)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nbformat (warnings as errors) on %s: %v\n%s", p, err, msg)
			}
			orig, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			again, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(orig, again) {
				t.Errorf("nbformat writes %s differently:\n%s", p, firstDiff(orig, again))
			}
		})
	}
}

// TestCommittedFiguresAreImageBundles checks every committed figure output:
// a display_data with image/png (decodable, non-empty) beside image/svg+xml
// and application/pdf, never a figure sent as HTML only (which untrusted
// notebooks, LaTeX and PDF export drop); every cell has an id.
func TestCommittedFiguresAreImageBundles(t *testing.T) {
	for _, p := range committed(t) {
		t.Run(p, func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var nb struct {
				NBFormat int `json:"nbformat"`
				Minor    int `json:"nbformat_minor"`
				Cells    []struct {
					ID      string `json:"id"`
					Type    string `json:"cell_type"`
					Outputs []struct {
						Type string                     `json:"output_type"`
						Data map[string]json.RawMessage `json:"data"`
					} `json:"outputs"`
				} `json:"cells"`
			}
			if err := json.Unmarshal(data, &nb); err != nil {
				t.Fatal(err)
			}
			if nb.NBFormat != 4 || nb.Minor < 5 {
				t.Errorf("nbformat %d.%d, want 4.5", nb.NBFormat, nb.Minor)
			}
			figures := 0
			for i, c := range nb.Cells {
				if c.ID == "" {
					t.Errorf("cell %d has no id", i+1)
				}
				for j, o := range c.Outputs {
					if o.Data == nil {
						continue
					}
					if h, ok := o.Data["text/html"]; ok && strings.Contains(string(h), "<svg") {
						t.Errorf("cell %d output %d: a figure sent as text/html (invisible in untrusted notebooks)", i+1, j+1)
					}
					rawPNG, hasPNG := o.Data["image/png"]
					_, hasSVG := o.Data["image/svg+xml"]
					_, hasPDF := o.Data["application/pdf"]
					if !hasPNG && !hasSVG {
						continue
					}
					figures++
					if !hasPNG || !hasSVG || !hasPDF {
						t.Errorf("cell %d output %d: figure bundle has png=%v svg=%v pdf=%v, want all three", i+1, j+1, hasPNG, hasSVG, hasPDF)
						continue
					}
					var b64 string
					if err := json.Unmarshal(rawPNG, &b64); err != nil {
						t.Errorf("cell %d output %d: image/png is not a string: %v", i+1, j+1, err)
						continue
					}
					raw, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(b64, "\n", ""))
					if err != nil {
						t.Errorf("cell %d output %d: image/png is not base64: %v", i+1, j+1, err)
						continue
					}
					cfg, err := png.DecodeConfig(bytes.NewReader(raw))
					if err != nil || cfg.Width == 0 || cfg.Height == 0 {
						t.Errorf("cell %d output %d: image/png does not decode: %v", i+1, j+1, err)
					}
				}
			}
			if figures == 0 {
				t.Logf("%s has no figures", p)
			}
		})
	}
}
