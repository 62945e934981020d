package lab

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
	"testing"

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

func TestPlotHistoryColoursAndLegend(t *testing.T) {
	// Run "alpha" never logs "loss": "beta" keeps its colour (index 1) there.
	a := fakeRun("alpha", map[string][]float64{"prob/a": {0.25, 0.1, 0.01}})
	b := fakeRun("beta", map[string][]float64{"prob/a": {0.25, 0.2, 0.15}, "loss": {0.7, 0.5, 0.4}})
	f := PlotHistory([]*Run{a, b}, "prob/a", "loss")
	for _, p := range f.panels {
		for _, s := range p.lines {
			want := map[string]int{"alpha": 0, "beta": 1}[s.label]
			if s.colour != want {
				t.Errorf("panel %q, run %q: colour %d, want %d", p.title, s.label, s.colour, want)
			}
		}
		if p.yLabel == "" || p.yLabel == p.title {
			t.Errorf("panel %q: y label %q is empty or repeats the title", p.title, p.yLabel)
		}
	}
	if !f.panels[0].prob || f.panels[1].prob {
		t.Errorf("probability panels: prob/a %v, loss %v; want true, false", f.panels[0].prob, f.panels[1].prob)
	}
	l, err := f.layout()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.legend) != 2 || l.legend[0].label != "alpha" || l.legend[1].label != "beta" {
		t.Errorf("legend = %v, want alpha, beta once each", l.legend)
	}
	// prob/a: y from 0 to the data's top 0.25 (autoscaled), below 1.05.
	if y := l.plots[0].Y; y.Min != 0 || y.Max != 0.25 {
		t.Errorf("prob/a y axis [%g, %g], want [0, 0.25]", y.Min, y.Max)
	}
	if y := l.plots[1].Y; y.Min != 0.4 || y.Max != 0.7 {
		t.Errorf("loss y axis [%g, %g], want the data range [0.4, 0.7]", y.Min, y.Max)
	}
	svg, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	// Each run's label once (the shared legend), each panel's title once; the
	// y axes labelled in the paper's notation, the x axes "training step".
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
	if w != 20*vg.Centimeter || h <= 7*vg.Centimeter || h > 7*vg.Centimeter+vg.Centimeter {
		t.Errorf("size %v × %v, want 20 cm × (7 cm + one legend row)", w.Points(), h.Points())
	}
}

func TestPlotPolicyAxisAndLegend(t *testing.T) {
	r := fakeRun("DPO β=0.5", nil)
	r.Final[0][0] = 1.3 // out of range: drawn clamped at 1.05
	f := PlotPolicy(r)
	l, err := f.layout()
	if err != nil {
		t.Fatal(err)
	}
	if y := l.plots[0].Y; y.Min != 0 || y.Max != probMax {
		t.Errorf("policy y axis [%g, %g], want [0, %g]", y.Min, y.Max, probMax)
	}
	if x := l.plots[0].X; x.Min != -0.5 || x.Max != 2.5 {
		t.Errorf("policy x axis [%g, %g], want [-0.5, 2.5] around 3 responses", x.Min, x.Max)
	}
	want := []string{"π (trained)", "π_{ref} (reference)", "π* (RLHF optimum)"}
	if len(l.legend) != len(want) {
		t.Fatalf("legend has %d entries, want %d", len(l.legend), len(want))
	}
	for i, w := range want {
		if l.legend[i].label != w {
			t.Errorf("legend[%d] = %q, want %q", i, l.legend[i].label, w)
		}
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

func TestClampProb(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{-0.1, 0}, {0, 0}, {0.5, 0.5}, {1, 1}, {1.05, 1.05}, {2, 1.05}, {math.NaN(), 0}, {math.Inf(1), 1.05},
	} {
		if got := clampProb(c.in); got != c.want {
			t.Errorf("clampProb(%g) = %g, want %g", c.in, got, c.want)
		}
	}
}

func TestTextScale(t *testing.T) {
	for _, c := range []struct {
		w    vg.Length
		want float64
	}{{10 * vg.Centimeter, 1}, {12 * vg.Centimeter, 1.2}, {5 * vg.Centimeter, 0.75}, {30 * vg.Centimeter, 1.5}} {
		if got := textScale(c.w); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("textScale(%v cm) = %g, want %g", float64(c.w/vg.Centimeter), got, c.want)
		}
	}
}

func TestHeatmapCellText(t *testing.T) {
	tab := fakeTable(t)
	svg, err := tab.Heatmap("Beta", "Gamma", "loss").SVG()
	if err != nil {
		t.Fatal(err)
	}
	// 2×2 cells of about 9 cm × 3 cm: the labels get the 13 pt maximum.
	re := regexp.MustCompile(`font-size:([0-9.]+)px[^>]*>(1|2|11|12)<`)
	ms := re.FindAllSubmatch(svg, -1)
	// The cells 1, 2, 11, 12 at 13 pt; the ticks 1, 2 (β) and 1 (γ), and
	// any of the colour bar's, at 8 pt.
	sizes := map[float64]int{}
	for _, m := range ms {
		size, _ := strconv.ParseFloat(string(m[1]), 64)
		sizes[size]++
	}
	if sizes[13] != 4 || sizes[tickSize] < 3 || len(sizes) != 2 {
		t.Errorf("font sizes of texts 1, 2, 11, 12: %v, want 4 cells at 13 and the rest ticks at %d", sizes, tickSize)
	}
	// A 40×40 grid in a small panel: cells of about 2 mm get the 5 pt minimum.
	var big Table
	big.Fields = []string{"Beta", "Gamma"}
	for i := range 40 {
		for j := range 40 {
			big.Rows = append(big.Rows, Row{Values: []any{float64(i), float64(j)},
				Config: Config{Beta: float64(i), Gamma: float64(j)}, Metrics: map[string]float64{"loss": float64(i*j) + 0.123}})
		}
	}
	small := big.Heatmap("Beta", "Gamma", "loss")
	small.PanelWidth, small.PanelHeight = 8*vg.Centimeter, 8*vg.Centimeter
	svg, err = small.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`font-size:([0-9.]+)px[^>]*>0\.12<`).FindSubmatch(svg); m == nil || string(m[1]) != "5" {
		t.Errorf("40×40 heatmap: cell label 0.12 font %q, want 5", m)
	}
}

func TestIsDark(t *testing.T) {
	// Viridis: dark purple at 0 and teal-blue at 0.4 take white text, green
	// at 0.7 and yellow at 1 black; so does the grey of a missing cell.
	for _, c := range []struct {
		t    float64
		want bool
	}{{0, true}, {0.4, true}, {0.7, false}, {1, false}} {
		if got := isDark(viridisAt(c.t)); got != c.want {
			t.Errorf("isDark(viridis(%g) = %v) = %v, want %v", c.t, viridisAt(c.t), got, c.want)
		}
	}
	if isDark(missingColour) {
		t.Error("the missing-cell grey takes white text")
	}
}
