package lab

import (
	"math"
	"slices"

	"github.com/robustpo/robustpo/lab/internal/render"
)

// Level is a horizontal line across a panel: the value that a baseline
// reaches on the panel's metric, such as π_ref (what not training gives)
// or the RLHF optimum π*.
type Level struct {
	Label string
	Y     float64
}

// levelStyles are the run styles of a figure's second, third, … level (the
// first is a grey dashed reference line): black dashed, black dotted, black
// dash-dotted (Okabe–Ito black is colour 6; style 6 + 8·j takes dash pattern
// j, see render.Line.Style). Runs of a figure take styles from 0 up, so
// these stay apart from them unless a figure draws 7 runs or more.
var levelStyles = []int{6 + 8, 6 + 16, 6 + 24}

// Levels draws each level as a horizontal line across the panels of metric
// (every panel when metric is ""), spanning the x range of the panel's
// lines (panels without lines are left alone), with its label in the
// figure's legend, and returns f. The first level of the call is a grey
// dashed line, the next ones black dashed, dotted and dash-dotted, so that,
// say, π_ref and π* read apart (pass the same labels in the same order to
// every call on figures that share a legend, see Join). A level that is not
// finite is left out.
//
//	t.Lines("Gamma", "oracle/normalized_regret", "Method").
//		Levels("", lab.Level{"π_{ref}", 0}, lab.Level{"π* (RLHF optimum)", 1})
func (f *Figure) Levels(metric string, levels ...Level) *Figure {
	for i := range f.spec.Panels {
		if metric != "" && f.metrics[i] != metric {
			continue
		}
		p := &f.spec.Panels[i]
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, l := range p.Lines {
			if l.Reference {
				continue
			}
			for _, x := range l.X {
				if finiteNumber(x) && (!p.LogX || x > 0) {
					lo, hi = math.Min(lo, x), math.Max(hi, x)
				}
			}
		}
		if lo > hi {
			continue
		}
		for j, lv := range levels {
			if !finiteNumber(lv.Y) {
				continue
			}
			line := levelLine(lv.Label, j)
			line.X, line.Y = []float64{lo, hi}, []float64{lv.Y, lv.Y}
			p.Lines = append(p.Lines, line)
		}
	}
	return f
}

// levelLine is the line of level number i of a Levels call.
func levelLine(label string, i int) render.Line {
	if i == 0 {
		return render.Line{Label: label, Reference: true}
	}
	return render.Line{Label: label, Style: levelStyles[(i-1)%len(levelStyles)]}
}

// finiteNumber reports whether v is neither NaN nor ±Inf.
func finiteNumber(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Join returns one Figure holding the panels of figs in order (nil figures
// are skipped), with one shared legend: a label keeps the style of its
// first appearance, as within one figure, so join figures whose runs or
// groups are numbered alike (say, two Table.Lines of one table with the
// same by). The result takes the first figure's title and sizes; a
// heatmap's colour scale is shared over all of them.
func Join(figs ...*Figure) *Figure {
	out := &Figure{}
	first := true
	for _, g := range figs {
		if g == nil {
			continue
		}
		if first {
			out.PanelWidth, out.PanelHeight, out.Columns = g.PanelWidth, g.PanelHeight, g.Columns
			out.spec = g.spec
			out.spec.Panels = nil
			first = false
		}
		for i, p := range g.spec.Panels {
			p.Lines = slices.Clone(p.Lines)
			out.addPanel(g.metrics[i], p)
		}
	}
	return out
}
