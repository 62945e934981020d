package lab

import (
	"fmt"
	"strings"

	"github.com/robustpo/robustpo/lab/internal/render"
)

// isProbMetric reports whether metric is a probability or a probability mass
// (names "prob/…" and "mass/…").
func isProbMetric(metric string) bool {
	return strings.HasPrefix(metric, "prob/") || strings.HasPrefix(metric, "mass/")
}

// PlotHistory returns a Figure with one panel per metric and one line per run
// (x: training step, from 0; y: the metric's logged values; the legend above
// the panels shows each run's Label, with the same colour and dashes in every
// panel: the Okabe–Ito colours, then dashed lines from the 9th run on).
// Panels are titled in words and their y axes labelled in the paper's
// notation for the lab's metrics (see metricLabel), by the raw name for
// others. Metrics a run never logged are skipped for that run. Probability
// metrics ("prob/…", "mass/…") get a y axis from 0 to at most 1.05.
func PlotHistory(runs []*Run, metrics ...string) *Figure {
	f := &Figure{}
	for _, m := range metrics {
		title, axis := metricLabel(m)
		p := render.Panel{Title: title, XLabel: "training step", YLabel: axis, Prob: isProbMetric(m), XFromZero: true}
		for i, r := range runs {
			if r == nil || r.History == nil {
				continue
			}
			ys := r.History.Series(m)
			if ys == nil {
				continue
			}
			xs := make([]float64, len(ys))
			for i, s := range r.History.Steps {
				xs[i] = float64(s)
			}
			p.Lines = append(p.Lines, render.Line{Label: r.Label, Style: i, X: xs, Y: ys})
		}
		f.addPanel(m, p)
	}
	return f
}

// Legend labels of PlotPolicy's bars.
const (
	policyLabel     = "π (trained)"
	refLabel        = "π_{ref} (reference)"
	optimumLabel    = "π* (RLHF optimum)"
	supportXLabel   = "response (* = in a training pair)"
	probabilityAxis = "probability"
)

// PlotPolicy returns a Figure with one panel per prompt (at most 6) of grouped
// bars π (final, Okabe–Ito blue), π_ref (grey) and π* (the RLHF optimum
// π*_{r*} for the oracle reward, when the dataset has one; orange) per
// response, on a probability axis [0, 1.05]; responses seen in training
// pairs are marked "*" in the axis labels. The figure's title names the
// run's Label.
func PlotPolicy(run *Run) *Figure {
	f := &Figure{}
	f.spec.Title = run.Label + ": final policy"
	for x := range min(6, len(run.Final)) {
		p := render.Panel{Title: fmt.Sprintf("prompt %d", x), XLabel: supportXLabel, YLabel: probabilityAxis, Prob: true}
		for y := range run.Final[x] {
			name := responseName(run.ResponseNames, y)
			if run.Support[x][y] {
				name += "*"
			}
			p.Categories = append(p.Categories, name)
		}
		p.Bars = append(p.Bars, render.Bars{Label: policyLabel, Style: 0, Y: run.Final[x]},
			render.Bars{Label: refLabel, Style: 1, Y: run.Ref[x]})
		if run.Optimal != nil {
			p.Bars = append(p.Bars, render.Bars{Label: optimumLabel, Style: 2, Y: run.Optimal[x]})
		}
		f.addPanel("", p)
	}
	return f
}

// PlotHistogram returns a one-panel Figure: a histogram of the finite values
// in bins equal-width bins over [min, max] (bins ≤ 0: 16), y axis "count",
// titled title, x axis xLabel, with a dashed vertical line at each mark (for
// example 0, where the sign of a difference changes). NaN and ±Inf values are
// left out.
func PlotHistogram(values []float64, bins int, title, xLabel string, marks ...float64) *Figure {
	f := &Figure{}
	f.addPanel("", render.Panel{Title: title, XLabel: xLabel, YLabel: "count",
		Histogram: &render.Histogram{Values: values, Bins: bins, Marks: marks}})
	return f
}
