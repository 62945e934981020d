package lab

import (
	"image/color"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

func TestMetricLabel(t *testing.T) {
	for _, c := range []struct{ metric, title, axis string }{
		{"prob/a", "probability of a", "P(a)"},
		{"implicit_reward/max_abs", "largest implicit reward", "max |β·h| (implicit reward)"},
		{"kl/forward", "forward KL to the reference", "KL(π_{ref}‖π)"},
		{"kl/reverse", "reverse KL to the reference", "KL(π‖π_{ref})"},
		{"mass/train_support", "mass on the training support", "mass on training responses"},
		{"oracle/tv_optimal", "distance to the RLHF optimum π*", "TV(π, π*)"},
		{"grad_weight", "DPO gradient weight", "gradient weight σ(−β·Δh)"},
		{"loss", "training loss", "loss"},
		{"my/custom", "my/custom", "my/custom"}, // unknown: the raw key
		{"prob/", "prob/", "prob/"},
	} {
		title, axis := metricLabel(c.metric)
		if title != c.title || axis != c.axis {
			t.Errorf("metricLabel(%q) = %q, %q; want %q, %q", c.metric, title, axis, c.title, c.axis)
		}
	}
	// Every metric the lab logs or DESIGN.md names has words, not its key.
	for _, m := range []string{"loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
		"logps/chosen", "logps/rejected", "implicit_reward/max_abs", "grad_weight", "kl/reverse", "kl/forward",
		"mass/train_support", "oracle/reward", "oracle/regret", "oracle/tv_optimal", "winrate/vs_ref",
		"oracle/normalized_regret", "prob/d"} {
		title, axis := metricLabel(m)
		if m != "loss" && (strings.Contains(title, "/") || strings.Contains(axis, m)) {
			t.Errorf("metricLabel(%q) = %q, %q: the raw key", m, title, axis)
		}
	}
}

func TestFieldAndValueLabels(t *testing.T) {
	for _, c := range []struct {
		field string
		v     any
		want  string
	}{{"Beta", 0.5, "β = 0.5"}, {"Gamma", 0.0, "γ = 0"}, {"Method", PDPO, "p-DPO"}, {"Method", "EDPO", "e-DPO"},
		{"Method", DPO, "DPO"}, {"Steps", 100, "steps = 100"}, {"Custom", "x", "Custom = x"}} {
		if got := valueLabel(c.field, c.v); got != c.want {
			t.Errorf("valueLabel(%s, %v) = %q, want %q", c.field, c.v, got, c.want)
		}
	}
}

// TestLegendLabels checks that no figure of the lab writes TeX-like
// subscripts that scriptText does not draw, such as the old "π*_{r*}".
func TestLegendLabels(t *testing.T) {
	f := PlotPolicy(fakeRun("DPO", nil))
	l, err := f.layout()
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range l.legend {
		if strings.Contains(it.label, "{r*}") || strings.Contains(it.label, "*_") || strings.Contains(it.label, "\\") {
			t.Errorf("legend label %q", it.label)
		}
		if strings.Contains(plainText(it.label), "{") {
			t.Errorf("legend label %q leaves braces after markup", it.label)
		}
	}
	if got := plainText(l.legend[2].label); got != "π* (RLHF optimum)" {
		t.Errorf("optimum legend %q", got)
	}
	for _, m := range metricTexts {
		for _, s := range []string{m.title, m.axis} {
			if strings.Contains(plainText(s), "{") || strings.Contains(s, "\\") {
				t.Errorf("metric text %q has markup scriptText does not draw", s)
			}
		}
	}
}

func TestScriptText(t *testing.T) {
	runs := parseScripts("KL(π_{ref}‖π) 10^{−30} a_b ^x_{")
	want := []textRun{{"KL(π", 0}, {"ref", -1}, {"‖π) 10", 0}, {"−30", 1}, {" a_b ^x_{", 0}}
	if len(runs) != len(want) {
		t.Fatalf("parseScripts = %v, want %v", runs, want)
	}
	for i := range want {
		if runs[i] != want[i] {
			t.Errorf("run %d = %v, want %v", i, runs[i], want[i])
		}
	}
	if got := plainText("π_{ref} and 10^{5}\nx"); got != "π_ref and 10^5\nx" {
		t.Errorf("plainText = %q", got)
	}
	// Text without markup measures as text.Plain does; a script is narrower
	// than the same text in the base size.
	h := textHandler()
	plain := text.Plain{Fonts: h.Cache()}
	fnt := sans(10)
	if a, b := (text.Style{Font: fnt, Handler: h}).Width("max |β·h|"), (text.Style{Font: fnt, Handler: plain}).Width("max |β·h|"); a != b {
		t.Errorf("plain text width %v, want %v as text.Plain", a, b)
	}
	w1 := (text.Style{Font: fnt, Handler: h}).Width("πref")
	w2 := (text.Style{Font: fnt, Handler: h}).Width("π_{ref}")
	if !(w2 < w1) || math.Abs(float64(w1-w2)) > float64(vg.Points(10)) {
		t.Errorf("width of π_{ref} %v, of πref %v: want the subscript a little narrower", w2, w1)
	}
}

func TestLogYSelected(t *testing.T) {
	r := fakeRun("a", map[string][]float64{"loss": {1, 0.1, 0.01}, "kl/forward": {0, 1, 2}})
	f := PlotHistory([]*Run{r}, "loss", "kl/forward").LogY("loss")
	if !f.panels[0].logY || f.panels[1].logY {
		t.Errorf("LogY(loss): loss %v, kl/forward %v", f.panels[0].logY, f.panels[1].logY)
	}
	f = PlotHistory([]*Run{r}, "loss", "kl/forward").LogY()
	if !f.panels[0].logY || !f.panels[1].logY {
		t.Error("LogY(): not every panel")
	}
	l, err := f.layout()
	if err != nil {
		t.Fatal(err)
	}
	// log10 of the data: loss spans 10^-2 … 1; kl/forward's 0 is left out.
	if y := l.plots[0].Y; math.Abs(y.Min+2) > 1e-12 || math.Abs(y.Max) > 1e-12 {
		t.Errorf("log loss axis [%g, %g], want [-2, 0] in log10", y.Min, y.Max)
	}
}

func TestHeatmapSharedColourScale(t *testing.T) {
	// Two panels (γ = 0, 1) holding the same value 5 in different cells and
	// different ranges otherwise: 5 gets one colour in both.
	var tab Table
	tab.Fields = []string{"Beta", "Gamma"}
	vals := map[[2]float64]float64{{1, 0}: 5, {2, 0}: 1, {1, 1}: 9, {2, 1}: 5}
	for k, v := range vals {
		tab.Rows = append(tab.Rows, Row{Values: []any{k[0], k[1]}, Config: Config{Beta: k[0], Gamma: k[1]},
			Metrics: map[string]float64{"kl/forward": v}})
	}
	for _, logc := range []bool{false, true} {
		// With Gamma faceted away, Heatmap(Beta, Seed) gives one panel per γ.
		c := tab.Heatmap("Beta", "Seed", "kl/forward")
		if logc {
			c.LogColour()
		}
		cells := c.heat.cells()
		if len(cells) != 2 {
			t.Fatalf("%d panels, want 2", len(cells))
		}
		colourOf := func(p int, v float64) color.Color {
			for i, col := range cells[p].panel.z {
				for j, z := range col {
					if z == v {
						return cells[p].cellColour(i, j)
					}
				}
			}
			t.Fatalf("panel %d has no cell %g", p, v)
			return nil
		}
		if c0, c1 := colourOf(0, 5), colourOf(1, 5); c0 != c1 {
			t.Errorf("log %v: value 5 coloured %v in panel 0 and %v in panel 1", logc, c0, c1)
		}
		if colourOf(0, 1) == colourOf(1, 9) {
			t.Errorf("log %v: 1 and 9 share a colour", logc)
		}
		_, bar := c.heat.plots()
		if bar == nil || bar.scale.lo != 1 || bar.scale.hi != 9 || bar.scale.log != logc || bar.label != "KL(π_{ref}‖π)" {
			t.Errorf("log %v: colour bar %+v, want [1, 9] labelled KL(π_{ref}‖π)", logc, bar)
		}
	}
	// The colour bar is drawn: the chart's SVG holds its label.
	svg, err := tab.Heatmap("Beta", "Seed", "kl/forward").SVG()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), ">KL(π<") {
		t.Error("heatmap SVG lacks the colour bar's label")
	}
}
