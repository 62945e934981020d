package lab

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/janpfeifer/gonb/gonbui/protocol"
	"github.com/robustpo/robustpo/lab/internal/render"
	"gonum.org/v1/plot/vg"
)

// fakeRun returns a run with a History of the given metrics, each series
// taking the values vals at steps 0, 10, 20, …, and a one-prompt policy.
func fakeRun(label string, vals map[string][]float64) *Run {
	h := &History{Values: map[string][]float64{}}
	n := 0
	for m, v := range vals {
		h.Metrics = append(h.Metrics, m)
		h.Values[m] = v
		n = len(v)
	}
	for i := range n {
		h.Steps = append(h.Steps, 10*i)
	}
	return &Run{Label: label, History: h,
		Final:         [][]float64{{0.7, 0.2, 0.1}},
		Ref:           [][]float64{{1.0 / 3, 1.0 / 3, 1.0 / 3}},
		Optimal:       [][]float64{{0.5, 0.3, 0.2}},
		Support:       [][]bool{{true, true, false}},
		ResponseNames: []string{"a", "b", "c"}}
}

func TestPlotHistoryPanels(t *testing.T) {
	// Run "alpha" never logs "loss": "beta" keeps its colour (index 1) there.
	a := fakeRun("alpha", map[string][]float64{"prob/a": {0.25, 0.1, 0.01}})
	b := fakeRun("beta", map[string][]float64{"prob/a": {0.25, 0.2, 0.15}, "loss": {0.7, 0.5, 0.4}})
	f := PlotHistory([]*Run{a, b, nil}, "prob/a", "loss")
	if f.Panels() != 2 {
		t.Fatalf("%d panels, want 2", f.Panels())
	}
	for _, p := range f.spec.Panels {
		for _, s := range p.Lines {
			if want := map[string]int{"alpha": 0, "beta": 1}[s.Label]; s.Style != want {
				t.Errorf("panel %q, run %q: style %d, want %d", p.Title, s.Label, s.Style, want)
			}
		}
		if p.YLabel == "" || p.YLabel == p.Title || p.XLabel != "training step" || !p.XFromZero {
			t.Errorf("panel %q: y label %q, x label %q, from zero %v", p.Title, p.YLabel, p.XLabel, p.XFromZero)
		}
	}
	if p := f.spec.Panels; !p[0].Prob || p[1].Prob || len(p[0].Lines) != 2 || len(p[1].Lines) != 1 {
		t.Errorf("prob/a: prob %v, %d lines; loss: prob %v, %d lines; want true 2, false 1", p[0].Prob, len(p[0].Lines), p[1].Prob, len(p[1].Lines))
	}
	if x := f.spec.Panels[1].Lines[0].X; len(x) != 3 || x[2] != 20 {
		t.Errorf("x = %v, want the steps 0, 10, 20", x)
	}
	svg, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	// Each run's label once (the shared legend), each panel's title once; the
	// y axes labelled in the paper's notation.
	for _, s := range []string{">alpha<", ">beta<", ">probability of a<", ">training loss<", ">P(a)<", ">loss<"} {
		if n := bytes.Count(svg, []byte(s)); n != 1 {
			t.Errorf("%s appears %d times in the SVG, want 1", s, n)
		}
	}
}

func TestPlotPolicyPanels(t *testing.T) {
	f := PlotPolicy(fakeRun("DPO β=0.5", nil))
	if f.Panels() != 1 || f.spec.Title != "DPO β=0.5: final policy" {
		t.Fatalf("%d panels titled %q", f.Panels(), f.spec.Title)
	}
	p := f.spec.Panels[0]
	if !p.Prob || strings.Join(p.Categories, " ") != "a* b* c" {
		t.Errorf("prob %v, categories %v; want a probability axis over a* b* c", p.Prob, p.Categories)
	}
	want := []string{"π (trained)", "π_{ref} (reference)", "π* (RLHF optimum)"}
	if len(p.Bars) != len(want) {
		t.Fatalf("%d bar groups, want %d", len(p.Bars), len(want))
	}
	for i, w := range want {
		if p.Bars[i].Label != w || p.Bars[i].Style != i {
			t.Errorf("bars[%d] = %q style %d, want %q style %d", i, p.Bars[i].Label, p.Bars[i].Style, w, i)
		}
	}
	svg, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{">π<", ">ref<", ">DPO β=0.5: final policy<", ">response (* = in a training pair)<", ">prompt 0<", ">a*<", ">c<"} {
		if n := bytes.Count(svg, []byte(s)); n != 1 {
			t.Errorf("%s appears %d times in the SVG, want 1", s, n)
		}
	}
	r := fakeRun("no oracle", nil)
	r.Optimal = nil
	if n := len(PlotPolicy(r).spec.Panels[0].Bars); n != 2 {
		t.Errorf("no optimum: %d bar groups, want 2", n)
	}
}

func TestPlotHistogram(t *testing.T) {
	vals := []float64{-3, -1, 0, 0.5, 2, 2, 7, math.NaN(), math.Inf(1)}
	f := PlotHistogram(vals, 5, "length difference", "words", 0)
	p := f.spec.Panels[0]
	if h := p.Histogram; h == nil || h.Bins != 5 || len(h.Values) != len(vals) || len(h.Marks) != 1 || p.YLabel != "count" {
		t.Errorf("histogram panel %+v", p)
	}
	svg, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"length difference", "words", "count"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if _, err := PlotHistogram(nil, 0, "empty", "x").SVG(); err != nil {
		t.Errorf("empty histogram: %v", err)
	}
}

func TestLogYSelected(t *testing.T) {
	r := fakeRun("a", map[string][]float64{"loss": {1, 0.1, 0.01}, "kl/forward": {0, 1, 2}})
	f := PlotHistory([]*Run{r}, "loss", "kl/forward").LogY("loss")
	if !f.spec.Panels[0].LogY || f.spec.Panels[1].LogY {
		t.Errorf("LogY(loss): loss %v, kl/forward %v", f.spec.Panels[0].LogY, f.spec.Panels[1].LogY)
	}
	f = PlotHistory([]*Run{r}, "loss", "kl/forward").LogY()
	if !f.spec.Panels[0].LogY || !f.spec.Panels[1].LogY {
		t.Error("LogY(): not every panel")
	}
	// A sweep's Lines take LogY by their metric too.
	l := fakeTable(t).Lines("Beta", "loss", "Gamma")
	if l.LogY("kl/forward"); l.spec.Panels[0].LogY {
		t.Error("Lines(loss).LogY(kl/forward) made the loss panel logarithmic")
	}
	if l.LogY("loss"); !l.spec.Panels[0].LogY {
		t.Error("Lines(loss).LogY(loss): not logarithmic")
	}
	if _, err := l.SVG(); err != nil {
		t.Error(err)
	}
}

func TestHeatmapPanels(t *testing.T) {
	tab := fakeTable(t)
	f := tab.Heatmap("Beta", "Seed", "kl/forward")
	if f.Panels() != 2 || f.spec.ColourLabel != "KL(π_{ref}‖π)" || f.spec.LogColour {
		t.Fatalf("%d panels, colour label %q, log %v; want 2 (one per γ), KL(π_{ref}‖π), linear", f.Panels(), f.spec.ColourLabel, f.spec.LogColour)
	}
	if f.LogColour(); !f.spec.LogColour {
		t.Error("LogColour did not make the scale logarithmic")
	}
	if got := []string{f.spec.Panels[0].Title, f.spec.Panels[1].Title}; got[0] != "γ = 0" || got[1] != "γ = 1" {
		t.Errorf("panel titles %v", got)
	}
	// Cell (β, γ) of Heatmap(Beta, Gamma, loss): the mean over seeds, the
	// failed seed (β=2, γ=1, seed 2) left out.
	h := tab.Heatmap("Beta", "Gamma", "loss").spec.Panels[0]
	if h.Title != "training loss" || h.XLabel != "β" || h.YLabel != "γ" {
		t.Errorf("panel %q, axes %q, %q", h.Title, h.XLabel, h.YLabel)
	}
	want := [][]float64{{1.02, 11.02}, {2.02, 12.02}}
	for i := range want {
		for j := range want[i] {
			if got := h.Heatmap.Z[i][j]; math.Abs(got-want[i][j]) > 1e-12 {
				t.Errorf("cell (%d, %d) = %v, want %v", i, j, got, want[i][j])
			}
		}
	}
	// A cell whose every row failed has no value.
	for i := range tab.Rows {
		if tab.Rows[i].Config.Beta == 2 && tab.Rows[i].Config.Gamma == 1 {
			tab.Rows[i].Err = errors.New("diverged")
		}
	}
	if z := tab.Heatmap("Beta", "Gamma", "loss").spec.Panels[0].Heatmap.Z; !math.IsNaN(z[1][1]) {
		t.Errorf("cell of failed rows = %v, want NaN", z[1][1])
	}
}

func TestLinesPanels(t *testing.T) {
	tab := fakeTable(t)
	p := tab.Lines("Beta", "loss", "Gamma").spec.Panels[0]
	if len(p.Lines) != 2 || p.Lines[0].Label != "γ = 0" || p.Lines[1].Style != 1 || !p.Lines[0].Markers || p.LogX {
		t.Fatalf("lines %+v", p.Lines)
	}
	// β = 1, γ = 0: losses 1.01, 1.02, 1.03: mean 1.02 ± 4.3027·0.01/√3.
	l := p.Lines[0]
	if math.Abs(l.Y[0]-1.02) > 1e-12 || math.Abs(l.Lo[0]-4.3027*0.01/math.Sqrt(3)) > 1e-9 || l.Lo[0] != l.Hi[0] {
		t.Errorf("first point %v − %v + %v, want 1.02 ± 0.0248", l.Y[0], l.Lo[0], l.Hi[0])
	}
	// One line per panel: no legend label; x spanning a factor ≥ 20: log.
	var wide Table
	wide.Fields = []string{"Beta"}
	for _, b := range []float64{0.05, 0.5, 3} {
		wide.Rows = append(wide.Rows, Row{Values: []any{b}, Config: Config{Beta: b}, Metrics: map[string]float64{"mass/train_support": b / 3}})
	}
	p = wide.Lines("Beta", "mass/train_support", "").spec.Panels[0]
	if len(p.Lines) != 1 || p.Lines[0].Label != "" || !p.LogX || !p.Prob {
		t.Errorf("one line over β 0.05…3: %d lines, label %q, log x %v, probability axis %v; want 1, none, true, true",
			len(p.Lines), p.Lines[0].Label, p.LogX, p.Prob)
	}
}

func TestWinRateLines(t *testing.T) {
	var wr Table
	wr.Fields = []string{"Method", "Rho"}
	for mi, m := range []Method{DPO, PDPO} {
		for _, rho := range []float64{1, 0, 0.5} {
			rate := 0.5 + 0.1*float64(mi)
			run := &Run{Label: m.String(), Seq: &SeqResult{WinRate: WinRate{Rate: rate, Lo: rate - 0.04, Hi: rate + 0.03}}}
			wr.Rows = append(wr.Rows, Row{Values: []any{m, rho}, Config: Config{Method: m, Rho: rho}, Run: run})
		}
	}
	wr.Rows = append(wr.Rows, Row{Values: []any{DPO, 0.25}, Config: Config{Method: DPO, Rho: 0.25}}) // no sequence run
	f := wr.WinRateLines("Rho", "Method")
	p := f.spec.Panels[0]
	if f.Panels() != 1 || len(p.Lines) != 3 || p.XLabel != "ρ" {
		t.Fatalf("%d panels, %d lines, x %q; want 1, DPO + p-DPO + ½, ρ", f.Panels(), len(p.Lines), p.XLabel)
	}
	dpo, pdpo, half := p.Lines[0], p.Lines[1], p.Lines[2]
	if dpo.Label != "DPO" || pdpo.Label != "p-DPO" || !half.Reference || half.Y[0] != 0.5 {
		t.Errorf("lines %q, %q, reference %v at %v", dpo.Label, pdpo.Label, half.Reference, half.Y)
	}
	// Sorted by ρ, nudged apart by 0.8% of the range each side, CI as bars.
	if len(dpo.X) != 3 || math.Abs(dpo.X[0]+0.004) > 1e-12 || math.Abs(pdpo.X[2]-1.004) > 1e-12 ||
		math.Abs(dpo.Lo[0]-0.04) > 1e-12 || math.Abs(dpo.Hi[0]-0.03) > 1e-12 {
		t.Errorf("DPO x %v lo %v hi %v; p-DPO x %v", dpo.X, dpo.Lo, dpo.Hi, pdpo.X)
	}
}

// TestFigureDefaultsShared checks that a sweep's Heatmap and a run's
// PlotHistory are one Figure with one set of defaults and one display path:
// the same panel size and columns for the same number of panels, the same
// bundle, and the same answer to the size and column fields.
func TestFigureDefaultsShared(t *testing.T) {
	tab := fakeTable(t)
	r := fakeRun("DPO", map[string][]float64{"loss": {0.7, 0.5, 0.4}, "kl/forward": {0, 0.1, 0.3}})
	figs := map[string]*Figure{
		"Heatmap":     tab.Heatmap("Beta", "Seed", "loss"), // 2 panels: γ = 0, 1
		"PlotHistory": PlotHistory([]*Run{r}, "loss", "kl/forward"),
		"Lines":       tab.Lines("Beta", "loss", "Seed"), // 2 panels: γ = 0, 1
	}
	for name, f := range figs {
		if f.Panels() != 2 {
			t.Fatalf("%s: %d panels, want 2", name, f.Panels())
		}
		if f.PanelWidth != 0 || f.PanelHeight != 0 || f.Columns != 0 {
			t.Errorf("%s: sizes %v × %v, %d columns; want zero (the defaults)", name, f.PanelWidth, f.PanelHeight, f.Columns)
		}
		d := f.bundle()
		if len(d.Data) != 4 || !strings.HasPrefix(d.Data[protocol.MIMETextPlain].(string), "Figure: ") {
			t.Fatalf("%s: bundle %v, want PNG, SVG, PDF and text", name, keys(d))
		}
		// Two default panels side by side, the PNG at twice the size.
		meta := d.Metadata[string(protocol.MIMEImagePNG)].(map[string]int)
		if want := int(math.Round((2 * render.DefaultPanelWidth).Dots(96))); meta["width"] != want {
			t.Errorf("%s: %d CSS px wide, want %d (2 × %v cm)", name, meta["width"], want, float64(render.DefaultPanelWidth/vg.Centimeter))
		}
		// The fields apply to every figure alike: one column of 6 cm panels.
		f.PanelWidth, f.Columns = 6*vg.Centimeter, 1
		meta = f.bundle().Metadata[string(protocol.MIMEImagePNG)].(map[string]int)
		if want := int(math.Round((6 * vg.Centimeter).Dots(96))); meta["width"] != want {
			t.Errorf("%s, one column of 6 cm: %d CSS px wide, want %d", name, meta["width"], want)
		}
		f.Display() // no-op outside a notebook
	}
}

// keys returns the MIME types of a bundle.
func keys(d *protocol.DisplayData) []protocol.MIMEType {
	var out []protocol.MIMEType
	for k := range d.Data {
		out = append(out, k)
	}
	return out
}
