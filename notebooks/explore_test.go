package notebooks

// The explorer of notebook 07 live in a browser: Jupyter Notebook in
// headless Chromium runs its SqueezeToy cell, the test moves the controls
// through the DOM as a reader would, and checks what is redrawn against
// lab.Train of the same configuration.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/internal/browsertest"
	"github.com/robustpo/robustpo/lab"
)

// exploreNotebook is the notebook whose explorer the browser test drives,
// and exploreCellMark a string that only its SqueezeToy explorer cell holds.
const (
	exploreNotebook = "07_explore.ipynb"
	exploreCellMark = "Base: toy,"
)

// exploreView is what the explorer's live view says of the run it shows
// (its data attributes).
type exploreView struct {
	Seq    string `json:"seq"`
	Label  string `json:"label"`
	Config string `json:"config"`
	Probs  string `json:"probs"`
}

// exploreViewJS reads the live view's data attributes (null when there is
// none).
const exploreViewJS = `(() => {
	const v = document.querySelector('.robustpo-explore-view');
	return v ? {seq: v.dataset.seq || '', label: v.dataset.label || '', config: v.dataset.config || '', probs: v.dataset.probs || ''} : null;
})()`

// TestExplorerInBrowser runs notebook 07's SqueezeToy explorer in Jupyter
// Notebook in headless Chromium: the controls appear, moving the β slider
// (input and change events on its <input>) redraws the view with the π that
// lab.Train gives for that configuration (to 1e-6), as does moving it back
// (a run cache hit) and choosing another method; it logs the time from each
// change to the redrawn view. Pressing Stop ends the cell and leaves the
// last view as a static PNG + SVG figure, the controls replaced by one line.
func TestExplorerInBrowser(t *testing.T) {
	jupyter, chromium := requireJupyterAndChromium(t)
	// A fresh run cache, shared by the kernel (Jupyter passes the
	// environment on) and this test.
	t.Setenv(lab.CacheDirEnv, t.TempDir())
	t.Setenv(lab.NoCacheEnv, "")
	srv := startJupyter(t, jupyter)
	srv.copyNotebook(t, exploreNotebook)
	bctx := browsertest.Start(t, chromium, srv.url+"/notebooks/"+exploreNotebook+"?token="+srv.token)
	ctx, cancel := context.WithTimeout(bctx, 8*time.Minute)
	defer cancel()
	if err := browsertest.WaitJS(ctx, `window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded === true && Jupyter.notebook.kernel && Jupyter.notebook.kernel.info_reply && Jupyter.notebook.kernel.info_reply.language_info`, 120*time.Second); err != nil {
		t.Fatalf("notebook or kernel did not load: %v", err)
	}
	eval := func(js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](js)); err != nil {
			t.Fatalf("%v\nin %s", err, js)
		}
	}
	// The cells: the first code cell (imports and helpers) and the explorer.
	cellIndex, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(
		`Jupyter.notebook.get_cells().findIndex(c => c.cell_type === 'code' && c.get_text().includes(%q))`, exploreCellMark)))
	if err != nil || cellIndex < 0 {
		t.Fatalf("no explorer cell (holding %q) in %s: %v", exploreCellMark, exploreNotebook, err)
	}
	eval(fmt.Sprintf(`Jupyter.notebook.execute_cells([Jupyter.notebook.get_cells().findIndex(c => c.cell_type === 'code'), %d]); true`, cellIndex))
	outputText := func() string {
		s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`JSON.stringify(Jupyter.notebook.get_cell(%d).output_area.outputs).slice(0, 3000)`, cellIndex)))
		return s
	}
	// Compiling the two cells takes a while on a small machine. The cell
	// ends at once, with the base figure, where the explorer finds no front
	// end.
	const ready = `document.querySelector('.robustpo-explore-controls input[type=range]') && document.querySelector('.robustpo-explore-controls button') && document.querySelector('.robustpo-explore-view')`
	if err := browsertest.WaitJS(ctx, fmt.Sprintf(`(%s) || typeof Jupyter.notebook.get_cell(%d).input_prompt_number === 'number'`, ready, cellIndex), 5*time.Minute); err != nil {
		t.Fatalf("the explorer's controls and view did not appear: %v\ncell outputs: %s", err, outputText())
	}
	if err := browsertest.WaitJS(ctx, ready, time.Second); err != nil {
		t.Fatalf("the explorer cell ended without showing its controls and view: %v\ncell outputs: %s", err, outputText())
	}
	first := readView(t, ctx)
	base := lab.Config{Method: lab.DPO, Beta: 0.5, Steps: 300, Seed: 1} // notebook 07's toy
	checkView(t, first, base)

	// Each change: set the control through the DOM as a reader would, then
	// time until the view shows the next seq.
	change := func(what, selector, value string, want lab.Config) {
		t.Helper()
		prev := readView(t, ctx)
		eval(fmt.Sprintf(`(() => {
	const el = document.querySelector(%q);
	window.__exploreT0 = performance.now(); window.__exploreT1 = null;
	const prev = %q;
	const obs = new MutationObserver(() => {
		const v = document.querySelector('.robustpo-explore-view');
		if (v && v.dataset.seq !== prev && window.__exploreT1 === null) { window.__exploreT1 = performance.now(); obs.disconnect(); }
	});
	obs.observe(document.body, {subtree: true, childList: true, attributes: true});
	el.value = %q;
	el.dispatchEvent(new Event('input', {bubbles: true}));
	el.dispatchEvent(new Event('change', {bubbles: true}));
	return true;
})()`, selector, prev.Seq, value))
		if err := browsertest.WaitJS(ctx, `window.__exploreT1 !== null`, 60*time.Second); err != nil {
			t.Fatalf("%s: the view was not redrawn: %v\ncell outputs: %s", what, err, outputText())
		}
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__exploreT1 - window.__exploreT0`))
		if err != nil {
			t.Fatal(err)
		}
		v := readView(t, ctx)
		t.Logf("%s: view redrawn %.0f ms after the change (%s)", what, ms, v.Label)
		checkView(t, v, want)
	}
	beta := `tr[data-control="β"] input[type=range]`
	moved := base
	moved.Beta = 1
	change("β 0.5 → 1 (a new run)", beta, "4", moved) // positions 0.05 0.1 0.2 0.5 1 2 5
	change("β 1 → 0.5 (from the run cache)", beta, "3", base)
	ipo := base
	ipo.Method = lab.IPO
	change("method DPO → IPO (a new run)", `tr[data-control="method"] select`, "1", ipo)

	// Stop: the cell ends, the last view stays as a static figure.
	eval(`document.querySelector('.robustpo-explore-controls button').click(); true`)
	checkStopped(t, ctx, cellIndex, "Stop", ipo.Label(), outputText)

	// Again, ended by interrupting the kernel: it starts at its base
	// configuration (from the run cache) and keeps that view.
	eval(fmt.Sprintf(`Jupyter.notebook.execute_cells([%d]); true`, cellIndex))
	if err := browsertest.WaitJS(ctx, `document.querySelector('.robustpo-explore-controls button') && document.querySelector('.robustpo-explore-view')`, 2*time.Minute); err != nil {
		t.Fatalf("the explorer did not start again: %v\ncell outputs: %s", err, outputText())
	}
	checkView(t, readView(t, ctx), base)
	eval(`Jupyter.notebook.kernel.interrupt(); true`)
	checkStopped(t, ctx, cellIndex, "a kernel interrupt", base.Label(), outputText)
}

// checkStopped waits for the explorer cell cellIndex to end after how (Stop,
// an interrupt) and checks its outputs: the static figure of the run
// labelled label (PNG + SVG), shown once, the line saying the explorer
// stopped there, and neither the live view nor the controls.
func checkStopped(t *testing.T, ctx context.Context, cellIndex int, how, label string, outputText func() string) {
	t.Helper()
	if err := browsertest.WaitJS(ctx, fmt.Sprintf(`typeof Jupyter.notebook.get_cell(%d).input_prompt_number === 'number'`, cellIndex), 60*time.Second); err != nil {
		t.Fatalf("the explorer cell did not end after %s: %v\ncell outputs: %s", how, err, outputText())
	}
	var outs []map[string]any
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`JSON.stringify(Jupyter.notebook.get_cell(%d).output_area.outputs)`, cellIndex)))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &outs); err != nil {
		t.Fatal(err)
	}
	var figure, stopped, live bool
	want := "Figure: " + label + " (3 panels)"
	for _, o := range outs {
		data, _ := o["data"].(map[string]any)
		plain, _ := data["text/plain"].(string)
		html, _ := data["text/html"].(string)
		if data["image/png"] != nil && data["image/svg+xml"] != nil && plain == want {
			figure = true
		}
		if strings.HasPrefix(plain, "Explorer stopped at") && strings.Contains(plain, label) {
			stopped = true
		}
		if strings.Contains(html, "robustpo-explore-view") || strings.Contains(html, "robustpo-explore-controls") {
			live = true
		}
	}
	if !figure || !stopped || live {
		t.Fatalf("after %s: static figure %q %v, stopped line %v, live view or controls left %v; outputs:\n%.3000s", how, want, figure, stopped, live, raw)
	}
	// Jupyter draws a trusted output's SVG inline (an untrusted one's PNG as
	// an <img>): count both, the SVG's outer element once.
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`Array.from(Jupyter.notebook.get_cell(%d).output_area.element[0].querySelectorAll('img, svg')).filter(function (el) {
		var r = el.getBoundingClientRect();
		return r.width > 0 && r.height > 0 && !(el.tagName.toLowerCase() === 'svg' && el.parentElement.closest('svg')) && !(el.tagName.toLowerCase() === 'img' && !(el.naturalWidth > 0));
	}).map(function (el) { return el.tagName.toLowerCase() + ' ' + Math.round(el.getBoundingClientRect().width) + '×' + Math.round(el.getBoundingClientRect().height); })`, cellIndex)))
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) != 1 {
		t.Errorf("after %s the cell shows %d figures, want the one static figure: %v", how, len(shown), shown)
	}
	t.Logf("after %s: one static figure (%s, shown as %v), the controls replaced by the line naming %s", how, want, shown, label)
}

// readView returns the live view's data attributes.
func readView(t *testing.T, ctx context.Context) exploreView {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[*exploreView](exploreViewJS))
	if err != nil || v == nil {
		t.Fatalf("reading the explorer's view: %v (view %v)", err, v)
	}
	return *v
}

// checkView checks that v shows the run of want: its Config (defaults
// applied) and the π that lab.Train of want on the SqueezeToy gives in this
// process, to 1e-6.
func checkView(t *testing.T, v exploreView, want lab.Config) {
	t.Helper()
	var got lab.Config
	if err := json.Unmarshal([]byte(v.Config), &got); err != nil {
		t.Fatalf("view %s: data-config %q: %v", v.Label, v.Config, err)
	}
	g, _ := json.Marshal(got.WithDefaults())
	w, _ := json.Marshal(want.WithDefaults())
	if string(g) != string(w) {
		t.Fatalf("the view shows the config\n%s\nwant\n%s", g, w)
	}
	var probs [][]float64
	if err := json.Unmarshal([]byte(v.Probs), &probs); err != nil {
		t.Fatalf("view %s: data-probs %q: %v", v.Label, v.Probs, err)
	}
	// Trained here, not read from the run cache the kernel filled.
	fresh := want
	fresh.NoCache = true
	run, err := lab.Train(fresh, datasets.SqueezeToy())
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 1 || len(probs[0]) != len(run.Final[0]) {
		t.Fatalf("view %s shows π %v, lab.Train gives %v", v.Label, probs, run.Final)
	}
	for y, p := range run.Final[0] {
		if math.Abs(probs[0][y]-p) > 1e-6 {
			t.Errorf("view %s: π(%d) = %.9f, lab.Train gives %.9f", v.Label, y, probs[0][y], p)
		}
	}
}
