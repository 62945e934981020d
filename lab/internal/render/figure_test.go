package render

import (
	"bytes"
	"math"
	"testing"

	"gonum.org/v1/plot/vg"
)

// steps returns 0, 10, 20, … (n values).
func steps(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 10 * float64(i)
	}
	return out
}

// twoRuns is a figure like PlotHistory's: a probability panel and a loss
// panel; run "alpha" has no loss line, so "beta" keeps its style 1 there.
func twoRuns() *Figure {
	return &Figure{Panels: []Panel{
		{Title: "probability of a", XLabel: "training step", YLabel: "P(a)", Prob: true, XFromZero: true, Lines: []Line{
			{Label: "alpha", Style: 0, X: steps(3), Y: []float64{0.25, 0.1, 0.01}},
			{Label: "beta", Style: 1, X: steps(3), Y: []float64{0.25, 0.2, 0.15}}}},
		{Title: "training loss", XLabel: "training step", YLabel: "loss", XFromZero: true, Lines: []Line{
			{Label: "beta", Style: 1, X: steps(3), Y: []float64{0.7, 0.5, 0.4}}}},
	}}
}

func TestDefaultColumns(t *testing.T) {
	for n, want := range map[int]int{0: 1, 1: 1, 2: 2, 3: 3, 4: 2, 5: 3, 6: 3, 7: 3, 8: 3, 9: 3, 10: 3} {
		if got := DefaultColumns(n); got != want {
			t.Errorf("DefaultColumns(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestLayoutDefaults(t *testing.T) {
	f := twoRuns()
	l, err := f.layout()
	if err != nil {
		t.Fatal(err)
	}
	if l.panelW != DefaultPanelWidth || l.panelH != DefaultPanelHeight || l.cols != 2 {
		t.Errorf("zero Figure: panels %v × %v cm in %d columns, want the defaults", l.panelW/vg.Centimeter, l.panelH/vg.Centimeter, l.cols)
	}
	f.PanelWidth, f.PanelHeight, f.Columns = 12*vg.Centimeter, 5*vg.Centimeter, 1
	if l, _ = f.layout(); l.panelW != 12*vg.Centimeter || l.panelH != 5*vg.Centimeter || l.cols != 1 || l.rows() != 2 {
		t.Errorf("set sizes: %v × %v, %d columns %d rows", l.panelW, l.panelH, l.cols, l.rows())
	}
	if _, err := (&Figure{}).layout(); err == nil {
		t.Error("a figure without panels: no error")
	}
}

func TestLinesLegendAndAxes(t *testing.T) {
	f := twoRuns()
	l, err := f.layout()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.legend) != 2 || l.legend[0].label != "alpha" || l.legend[1].label != "beta" {
		t.Errorf("legend = %v, want alpha, beta once each", l.legend)
	}
	// The probability panel: y from 0 to the data's top 0.25 (autoscaled),
	// below 1.05; x from 0.
	if y := l.plots[0].Y; y.Min != 0 || y.Max != 0.25 {
		t.Errorf("probability y axis [%g, %g], want [0, 0.25]", y.Min, y.Max)
	}
	if y := l.plots[1].Y; y.Min != 0.4 || y.Max != 0.7 {
		t.Errorf("loss y axis [%g, %g], want the data range [0.4, 0.7]", y.Min, y.Max)
	}
	svg, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	// Each label once (the shared legend), each panel's title once.
	for _, s := range []string{">alpha<", ">beta<", ">probability of a<", ">training loss<", ">P(a)<", ">loss<"} {
		if n := bytes.Count(svg, []byte(s)); n != 1 {
			t.Errorf("%s appears %d times in the SVG, want 1", s, n)
		}
	}
	if n := bytes.Count(svg, []byte(">training step<")); n != 2 {
		t.Errorf("x label \"training step\" appears %d times, want 2", n)
	}
	if !bytes.Contains(svg, []byte("'Liberation Sans',Arial,Helvetica,sans-serif")) {
		t.Error("SVG text has no sans-serif fallback")
	}
	// The legend row adds height above the 2 panels of 10 cm × 7 cm.
	w, h := l.size()
	if w != 2*DefaultPanelWidth || h <= DefaultPanelHeight || h > DefaultPanelHeight+vg.Centimeter {
		t.Errorf("size %v × %v, want 20 cm × (7 cm + one legend row)", w.Points(), h.Points())
	}
}

func TestLogAxes(t *testing.T) {
	f := &Figure{Panels: []Panel{
		{Title: "log y", LogY: true, Lines: []Line{{X: steps(4), Y: []float64{1, 0.1, 0.01, 0}}}},
		{Title: "log x, error bars", LogX: true, LogY: true, Lines: []Line{{X: []float64{0, 0.1, 10}, Y: []float64{5, 1, 10},
			Lo: []float64{1, 2, 1}, Hi: []float64{1, 9, 90}, Markers: true}}},
		// Bars keep a linear axis under LogY.
		{Title: "bars", LogY: true, Prob: true, Categories: []string{"a", "b"}, Bars: []Bars{{Y: []float64{0.5, 0.2}}}},
	}}
	l, err := f.layout()
	if err != nil {
		t.Fatal(err)
	}
	// log10 of the data: 10^-2 … 1; the 0 is left out.
	if y := l.plots[0].Y; math.Abs(y.Min+2) > 1e-12 || math.Abs(y.Max) > 1e-12 {
		t.Errorf("log y axis [%g, %g], want [-2, 0] in log10", y.Min, y.Max)
	}
	// x = 0 left out; at x = 0.1, the bar 1−2 < 0 keeps its upper part
	// (1 + 9 = 10): y from 10^0 to 10^2 (10 + 90).
	p := l.plots[1]
	if math.Abs(p.X.Min+1) > 1e-12 || math.Abs(p.X.Max-1) > 1e-12 {
		t.Errorf("log x axis [%g, %g], want [-1, 1]", p.X.Min, p.X.Max)
	}
	if math.Abs(p.Y.Min) > 1e-12 || math.Abs(p.Y.Max-2) > 1e-12 {
		t.Errorf("log y axis with error bars [%g, %g], want [0, 2]", p.Y.Min, p.Y.Max)
	}
	if y := l.plots[2].Y; y.Min != 0 || y.Max != ProbMax {
		t.Errorf("bars under LogY: y axis [%g, %g], want [0, %g]", y.Min, y.Max, ProbMax)
	}
}

func TestBarsAxesAndLegend(t *testing.T) {
	f := &Figure{Title: "DPO β=0.5: final policy", Panels: []Panel{{Title: "prompt 0", XLabel: "response (* = in a training pair)",
		YLabel: "probability", Prob: true, Categories: []string{"a*", "b*", "c"}, Bars: []Bars{
			{Label: "π (trained)", Style: 0, Y: []float64{1.3, 0.2, 0.1}}, // 1.3: drawn clamped at 1.05
			{Label: "π_{ref} (reference)", Style: 1, Y: []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}},
			{Label: "π* (RLHF optimum)", Style: 2, Y: []float64{0.5, 0.3, 0.2}}}}}}
	l, err := f.layout()
	if err != nil {
		t.Fatal(err)
	}
	if y := l.plots[0].Y; y.Min != 0 || y.Max != ProbMax {
		t.Errorf("probability y axis [%g, %g], want [0, %g]", y.Min, y.Max, ProbMax)
	}
	if x := l.plots[0].X; x.Min != -0.5 || x.Max != 2.5 {
		t.Errorf("x axis [%g, %g], want [-0.5, 2.5] around 3 categories", x.Min, x.Max)
	}
	if len(l.legend) != 3 || l.legend[1].label != "π_{ref} (reference)" {
		t.Errorf("legend %v, want the 3 groups in order", l.legend)
	}
	svg, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	// π_{ref} is drawn as π with a subscript "ref": two text runs.
	for _, s := range []string{">π<", ">ref<", ">DPO β=0.5: final policy<", ">response (* = in a training pair)<", ">prompt 0<", ">a*<", ">c<"} {
		if n := bytes.Count(svg, []byte(s)); n != 1 {
			t.Errorf("%s appears %d times in the SVG, want 1", s, n)
		}
	}
}

func TestReferenceLineAndMarkers(t *testing.T) {
	f := &Figure{Panels: []Panel{{Title: "win rate", Lines: []Line{
		{Label: "DPO", Style: 0, X: []float64{0, 1}, Y: []float64{0.6, 0.5}, Lo: []float64{0.1, 0.1}, Hi: []float64{0.1, 0.1}, Markers: true},
		{Label: "½", Reference: true, X: []float64{0, 1}, Y: []float64{0.5, 0.5}},
		{X: []float64{0, 1}, Y: []float64{0.4, 0.45}}, // no label: no legend entry
	}}}}
	l, err := f.layout()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.legend) != 2 || len(l.legend[0].thumbs) != 2 || len(l.legend[1].thumbs) != 1 {
		t.Errorf("legend %v: want DPO (line and marker) and ½ (line)", l.legend)
	}
	// Error bars widen the y axis: 0.4 … 0.7.
	if y := l.plots[0].Y; math.Abs(y.Min-0.4) > 1e-12 || math.Abs(y.Max-0.7) > 1e-12 {
		t.Errorf("y axis [%g, %g], want [0.4, 0.7]", y.Min, y.Max)
	}
}

func TestDescribe(t *testing.T) {
	if got, want := twoRuns().Describe(), "Figure: probability of a; training loss (2 panels)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	f := &Figure{Title: "π_{ref}: final policy", Panels: []Panel{{Title: "prompt 0"}}}
	if got, want := f.Describe(), "Figure: π_ref: final policy (1 panel)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

func TestClampProb(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{-0.1, 0}, {0, 0}, {0.5, 0.5}, {1, 1}, {1.05, 1.05}, {2, 1.05}, {math.NaN(), 0}, {math.Inf(1), 1.05},
	} {
		if got := clampProb(c.in); got != c.want {
			t.Errorf("clampProb(%g) = %g, want %g", c.in, got, c.want)
		}
	}
}
