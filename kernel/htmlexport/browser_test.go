package htmlexport

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/robustpo/robustpo/internal/browsertest"
	"github.com/robustpo/robustpo/kernel/nbformat"
)

// TestMathTypesetOffline opens an exported page in headless Chromium with
// every network request failing (a proxy that does not exist) and checks
// that the machine's MathJax typeset its math: the inline and display math
// of a markdown cell and of a markdown output become MathJax SVG, and no
// TeX source is left on the page.
func TestMathTypesetOffline(t *testing.T) {
	local := LocalMathJax()
	if local == "" {
		t.Skip("no MathJax on this machine (Debian: apt-get install libjs-mathjax; .ci/run installs it)")
	}
	chromium := browsertest.Require(t)
	nb := &nbformat.Notebook{NBFormat: 4, Cells: []*nbformat.Cell{
		{CellType: "markdown", Source: ms("The policy $\\pi_\\theta(y\\mid x)$ and\n\n$$\\mathrm{KL}(\\pi_{\\mathrm{ref}}\\,\\|\\,\\pi) = \\sum_y \\pi_{\\mathrm{ref}}(y) \\log\\frac{\\pi_{\\mathrm{ref}}(y)}{\\pi(y)}$$\n")},
		{CellType: "code", Source: ms("%%\nlab.Markdown(\"β = %g\", 0.5)"), Outputs: []*nbformat.Output{
			{OutputType: "display_data", Data: map[string]nbformat.MultilineString{"text/markdown": ms("so $\\beta h$ grows")}},
		}},
	}}
	page, err := RenderWith(nb, "math", local)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "math.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	bctx := browsertest.Start(t, chromium, "file://"+path, browsertest.Offline)
	ctx, cancel := context.WithTimeout(bctx, 2*time.Minute)
	defer cancel()
	if err := browsertest.WaitJS(ctx, `document.documentElement.classList.contains('mathjax') && window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 && document.querySelectorAll('.MathJax_SVG').length >= 3`, time.Minute); err != nil {
		n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.MathJax_SVG').length`))
		t.Fatalf("math not typeset offline by %s (%d MathJax SVG elements): %v", local, n, err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tex := range []string{`\pi_\theta`, `\mathrm{KL}`, `\beta h`} {
		if strings.Contains(text, tex) {
			t.Errorf("TeX source %q still shown on the page", tex)
		}
	}
}
