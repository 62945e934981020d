package lab

import (
	"math"
	"strings"
	"testing"
)

func TestLevels(t *testing.T) {
	tab := fakeTable(t)
	f := tab.Lines("Beta", "loss", "Gamma").Levels("", Level{"π_{ref}", 0}, Level{"π*", 12}, Level{"none", math.NaN()})
	p := f.spec.Panels[0]
	if len(p.Lines) != 4 {
		t.Fatalf("%d lines, want the 2 groups and 2 finite levels", len(p.Lines))
	}
	ref, opt := p.Lines[2], p.Lines[3]
	if !ref.Reference || ref.Label != "π_{ref}" || ref.Y[0] != 0 || ref.Y[1] != 0 {
		t.Errorf("first level %+v, want a reference line at 0", ref)
	}
	if opt.Reference || opt.Style != levelStyles[0] || opt.Y[0] != 12 {
		t.Errorf("second level %+v, want style %d at 12", opt, levelStyles[0])
	}
	if ref.X[0] != 1 || ref.X[1] != 2 || opt.X[0] != 1 || opt.X[1] != 2 {
		t.Errorf("levels span x %v and %v, want the lines' range [1, 2]", ref.X, opt.X)
	}
	if _, err := f.SVG(); err != nil {
		t.Fatal(err)
	}
	// Levels on one metric leave other panels alone; panels without lines get none.
	g := PlotHistory([]*Run{fakeRun("a", map[string][]float64{"loss": {3, 2, 1}})}, "loss", "kl/forward").Levels("kl/forward", Level{"x", 1})
	if n0, n1 := len(g.spec.Panels[0].Lines), len(g.spec.Panels[1].Lines); n0 != 1 || n1 != 0 {
		t.Errorf("lines per panel %d, %d; want 1 (loss untouched), 0 (kl/forward has no lines)", n0, n1)
	}
}

func TestLevelsLogX(t *testing.T) {
	var tab Table
	tab.Fields = []string{"Gamma"}
	for _, g := range []float64{0, 0.01, 1} {
		tab.Rows = append(tab.Rows, Row{Values: []any{g}, Config: Config{Gamma: g}, Metrics: map[string]float64{"loss": g}})
	}
	tab2 := tab.Filter(func(r Row) bool { return r.Config.Gamma > 0 })
	p := tab2.Lines("Gamma", "loss", "").Levels("", Level{"r", 0.5}).spec.Panels[0]
	if !p.LogX || p.Lines[1].X[0] != 0.01 || p.Lines[1].X[1] != 1 {
		t.Errorf("log x %v, level x %v; want true, [0.01 1]", p.LogX, p.Lines[1].X)
	}
}

func TestJoin(t *testing.T) {
	tab := fakeTable(t)
	a := tab.Lines("Beta", "loss", "Gamma").Levels("", Level{"π_{ref}", 0})
	b := tab.Lines("Beta", "kl/forward", "Gamma").Levels("", Level{"π_{ref}", 1})
	j := Join(a, nil, b)
	if j.Panels() != 2 || j.metrics[0] != "loss" || j.metrics[1] != "kl/forward" {
		t.Fatalf("%d panels %v, want loss and kl/forward", j.Panels(), j.metrics)
	}
	j.Levels("kl/forward", Level{"more", 2})
	if len(b.spec.Panels[0].Lines) != 3 || len(j.spec.Panels[1].Lines) != 4 {
		t.Errorf("a level on the joined figure changed its source (%d lines) or was not drawn (%d)", len(b.spec.Panels[0].Lines), len(j.spec.Panels[1].Lines))
	}
	svg, err := j.SVG()
	if err != nil || !strings.Contains(string(svg), "<svg") {
		t.Fatalf("SVG: %v", err)
	}
	if Join().Panels() != 0 {
		t.Error("Join() has panels")
	}
}
