package notebooks

// Tests of what a reader of the committed notebooks sees: notebook 01 opened,
// untrusted, in a real Jupyter Notebook server in headless Chromium; saved
// again by Jupyter without changes; exported to LaTeX by nbconvert.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/robustpo/robustpo/internal/browsertest"
)

// browserNotebook is the committed notebook the browser test opens.
const browserNotebook = "01_dpo_degeneracy.ipynb"

// requireJupyterAndChromium returns the jupyter command and the Chromium
// to test with, skipping the test when either is missing and under -short.
func requireJupyterAndChromium(t *testing.T) (jupyter, chromium string) {
	t.Helper()
	jupyter, err := exec.LookPath("jupyter")
	if err != nil {
		t.Skip("jupyter is not on PATH (Debian: apt-get install jupyter-notebook; .ci/run installs it)")
	}
	return jupyter, browsertest.Require(t)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// jupyterServer is a Jupyter Notebook server serving one directory, with its
// own data, config and runtime directories (so nothing is trusted and no
// user configuration applies) and the repository's kernelspec installed.
type jupyterServer struct {
	url, token string
	dir        string // the notebook directory it serves
	env        []string
}

// startJupyter installs the kernelspec into a fresh data dir (`go run
// ./kernel install --name robustpo`), starts `jupyter notebook` on 127.0.0.1 and waits until
// it answers. The server is stopped when the test ends.
func startJupyter(t *testing.T, jupyter string) *jupyterServer {
	t.Helper()
	base := t.TempDir()
	data, cfg, runtime, dir := filepath.Join(base, "data"), filepath.Join(base, "config"), filepath.Join(base, "runtime"), filepath.Join(base, "nb")
	for _, d := range []string{data, cfg, runtime, dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "JUPYTER_DATA_DIR="+data, "JUPYTER_CONFIG_DIR="+cfg, "JUPYTER_RUNTIME_DIR="+runtime,
		"JUPYTER_PATH=", "IPYTHONDIR="+filepath.Join(base, "ipython"))
	// --name robustpo: the name the notebooks' metadata carry, so that they
	// open on this checkout's kernel without asking (and save unchanged).
	install := exec.Command("go", "run", "./kernel", "install", "--name", "robustpo", "--jupyter-data-dir", data)
	install.Dir = ".."
	install.Env = env
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go run ./kernel install: %v\n%s", err, out)
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	s := &jupyterServer{token: hex.EncodeToString(tok), dir: dir, env: env}
	port := freePort(t)
	s.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, jupyter, "notebook", "--no-browser", "--allow-root",
		"--ip=127.0.0.1", fmt.Sprintf("--port=%d", port), "--port-retries=0",
		"--NotebookApp.token="+s.token, "--notebook-dir="+dir)
	cmd.Env = env
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting jupyter notebook: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		// Twice SIGINT: the notebook server asks to confirm the first.
		_ = cmd.Process.Signal(os.Interrupt)
		time.Sleep(300 * time.Millisecond)
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		cancel()
		if t.Failed() {
			t.Logf("jupyter notebook log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.url + "/api/status?token=" + s.token)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-done:
			t.Fatalf("jupyter notebook exited: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("jupyter notebook did not answer on %s within 60 s\n%s", s.url, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// copyNotebook copies the committed notebook name into the server's
// directory and returns the copy's path.
func (s *jupyterServer) copyNotebook(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// outputImage is an <img> of a notebook output area as the browser laid it out.
type outputImage struct {
	Mime                        string // "image/png", "image/svg+xml", …, from the data: URI
	NaturalWidth, NaturalHeight int
	Width, Height               int // rendered size in CSS pixels
}

// TestBrowserShowsSavedPlots opens the committed notebook 01, untrusted as
// after a fresh clone, in Jupyter Notebook in headless Chromium, and checks
// that its saved figures are visible images; then saves it from the browser
// without changes and checks the file is byte-identical (the notebook is
// written as Jupyter writes it, language_info included).
func TestBrowserShowsSavedPlots(t *testing.T) {
	jupyter, chromium := requireJupyterAndChromium(t)
	orig, err := os.ReadFile(browserNotebook)
	if err != nil {
		t.Fatal(err)
	}
	srv := startJupyter(t, jupyter)
	path := srv.copyNotebook(t, browserNotebook)

	pageURL := srv.url + "/notebooks/" + browserNotebook + "?token=" + srv.token
	bctx := browsertest.Start(t, chromium, pageURL)
	ctx, cancel := context.WithTimeout(bctx, 4*time.Minute)
	defer cancel()
	// The notebook is rendered once Jupyter.notebook has its cells.
	if err := browsertest.WaitJS(ctx, `window.Jupyter && Jupyter.notebook && Jupyter.notebook.get_cells().length > 0 && Jupyter.notebook._fully_loaded === true`, 60*time.Second); err != nil {
		t.Fatalf("notebook page did not load: %v", err)
	}
	trusted, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`Jupyter.notebook.trusted`))
	if err != nil {
		t.Fatal(err)
	}
	if trusted {
		t.Errorf("the freshly copied notebook is trusted; the test must see it as a fresh clone does (untrusted)")
	}
	// Saved outputs render synchronously with the cells; allow a moment for
	// images to decode.
	const imagesJS = `Array.from(document.querySelectorAll('.output_area img')).map(function (im) {
		var m = /^data:([^;,]+)/.exec(im.getAttribute('src') || '');
		return {Mime: m ? m[1] : '', NaturalWidth: im.naturalWidth, NaturalHeight: im.naturalHeight,
			Width: Math.round(im.getBoundingClientRect().width), Height: Math.round(im.getBoundingClientRect().height)};
	})`
	var imgs []outputImage
	deadline := time.Now().Add(30 * time.Second)
	for {
		imgs, err = chromedp.Run(ctx, chromedp.Evaluate[[]outputImage](imagesJS))
		if err != nil {
			t.Fatal(err)
		}
		if visible(imgs) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for i, im := range imgs {
		t.Logf("output image %d: %s natural %d×%d px, shown at %d×%d CSS px", i+1, im.Mime, im.NaturalWidth, im.NaturalHeight, im.Width, im.Height)
	}
	if n := visible(imgs); n < 3 {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('.output_area')).map(function (o) { return o.innerText.slice(0, 200); }).join('\n---\n')`))
		t.Fatalf("%d visible images in output areas of the untrusted notebook, want ≥ 3 (%d <img> in all); output text:\n%s", n, len(imgs), text)
	}
	t.Logf("untrusted %s in Jupyter Notebook: %d output images, %d visible", browserNotebook, len(imgs), visible(imgs))

	// Save it from the browser, unchanged, once the kernel has connected
	// (the frontend then writes the kernel's language_info into the
	// metadata, as it would for a reader).
	if err := browsertest.WaitJS(ctx, `Jupyter.notebook.kernel && Jupyter.notebook.kernel.info_reply && Jupyter.notebook.kernel.info_reply.language_info && Jupyter.notebook.metadata.language_info !== undefined`, 120*time.Second); err != nil {
		t.Fatalf("kernel did not connect: %v", err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__saved = false; Jupyter.notebook.save_notebook().then(function () { window.__saved = true; }); true`)); err != nil {
		t.Fatal(err)
	}
	if err := browsertest.WaitJS(ctx, `window.__saved === true`, 30*time.Second); err != nil {
		t.Fatalf("saving from the browser: %v", err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().After(before.ModTime()) && after.Size() == before.Size() {
		t.Logf("note: the file's modification time did not change (%v)", after.ModTime())
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel's language_info names the Go toolchain that built it; a
	// machine with another toolchain than the one that saved the notebook
	// writes its own version there (Jupyter does the same), and nothing else.
	kernelVersion, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Jupyter.notebook.kernel.info_reply.language_info.version || ""`))
	if err != nil {
		t.Fatal(err)
	}
	want := orig
	if m := versionRe.FindSubmatch(orig); m != nil && string(m[1]) != kernelVersion {
		t.Logf("the kernel runs %s, the notebook was saved with %s: comparing with the version replaced", kernelVersion, m[1])
		want = versionRe.ReplaceAll(orig, []byte(`"version": "`+kernelVersion+`"`))
	}
	if !bytes.Equal(saved, want) {
		t.Errorf("Jupyter rewrote %s on an unchanged save:\n%s", browserNotebook, firstDiff(want, saved))
	} else {
		t.Logf("saved from the browser unchanged: %d bytes, byte-identical", len(saved))
	}
}

// visible counts images that decoded to a non-empty bitmap and take room on
// the page.
func visible(imgs []outputImage) int {
	n := 0
	for _, im := range imgs {
		if im.NaturalWidth > 0 && im.NaturalHeight > 0 && im.Width > 0 && im.Height > 0 {
			n++
		}
	}
	return n
}

// firstDiff describes the first differing line of a and b, with context.
func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < max(len(la), len(lb)); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			clip := func(s string) string {
				if len(s) > 200 {
					return s[:200] + "…"
				}
				return s
			}
			return fmt.Sprintf("line %d (of %d before, %d after):\n- %s\n+ %s", i+1, len(la), len(lb), clip(x), clip(y))
		}
	}
	return "no line differs (only bytes at the end)"
}

// versionRe matches the language version in a notebook's language_info.
var versionRe = regexp.MustCompile(`"version": "(go[^"]*)"`)

// includeRe matches the figures a LaTeX document includes, as nbconvert's
// templates write them: \adjustimage{max size={…}{…}}{file} or
// \includegraphics[…]{file}.
var includeRe = regexp.MustCompile(`\\(?:adjustimage\{(?:[^{}]|\{[^{}]*\})*\}|includegraphics(?:\[[^\]]*\])?)\{([^}]+)\}`)

// TestNbconvertLatexKeepsFigures exports the committed notebook 01 with
// `jupyter nbconvert --to latex` (as for PDF export) and checks that its
// figures are included and written beside the .tex.
func TestNbconvertLatexKeepsFigures(t *testing.T) {
	jupyter, err := exec.LookPath("jupyter")
	if err != nil {
		t.Skip("jupyter is not on PATH (Debian: apt-get install jupyter-nbconvert; .ci/run installs it)")
	}
	dir := t.TempDir()
	cmd := exec.Command(jupyter, "nbconvert", "--to", "latex", "--output-dir", dir, browserNotebook)
	cmd.Env = append(os.Environ(), "JUPYTER_CONFIG_DIR="+filepath.Join(dir, "config"), "JUPYTER_DATA_DIR="+filepath.Join(dir, "data"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	tex, err := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(browserNotebook, ".ipynb")+".tex"))
	if err != nil {
		t.Fatalf("reading the .tex: %v\n%s", err, out)
	}
	figs := includeRe.FindAllStringSubmatch(string(tex), -1)
	if len(figs) < 3 {
		t.Fatalf("the LaTeX export includes %d figures, want ≥ 3 (nbconvert output:\n%s)", len(figs), out)
	}
	for _, f := range figs {
		if !strings.HasSuffix(f[1], ".pdf") {
			t.Errorf("included figure %s is not vector (want the bundle's application/pdf)", f[1])
		}
		p := filepath.Join(dir, f[1])
		st, err := os.Stat(p)
		if err != nil || st.Size() == 0 {
			t.Errorf("included figure %s: missing or empty (%v)", f[1], err)
			continue
		}
		t.Logf("LaTeX includes %s (%d bytes)", f[1], st.Size())
	}
}
