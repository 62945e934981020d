package lab

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// histogram is the data of a histogram panel: the values, the number of
// equal-width bins, and x positions marked by dashed vertical lines.
type histogram struct {
	values []float64
	bins   int
	marks  []float64
}

// PlotHistogram returns a one-panel Figure: a histogram of the finite values
// in bins equal-width bins over [min, max] (bins ≤ 0: 16), y axis "count",
// titled title, x axis xLabel, with a dashed vertical line at each mark (for
// example 0, where the sign of a difference changes). NaN and ±Inf values are
// left out. Display, Save and SVG work as for every Figure.
func PlotHistogram(values []float64, bins int, title, xLabel string, marks ...float64) *Figure {
	if bins <= 0 {
		bins = 16
	}
	var finite []float64
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			finite = append(finite, v)
		}
	}
	p := panel{title: title, xLabel: xLabel, yLabel: "count",
		hist: &histogram{values: finite, bins: bins, marks: marks}}
	return &Figure{cols: 1, panels: []panel{p}, PanelWidth: 15 * vg.Centimeter, PanelHeight: 8 * vg.Centimeter}
}

// binCounts returns the counts of values in h.bins equal-width bins over
// [min, max] (the last bin closed), and the bins' edges: len(edges) =
// len(counts)+1. All values fall in a bin.
func (h *histogram) binCounts() (counts []float64, edges []float64) {
	if len(h.values) == 0 {
		return nil, nil
	}
	lo, hi := h.values[0], h.values[0]
	for _, v := range h.values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi == lo {
		lo, hi = lo-0.5, hi+0.5
	}
	counts = make([]float64, h.bins)
	edges = make([]float64, h.bins+1)
	w := (hi - lo) / float64(h.bins)
	for i := range edges {
		edges[i] = lo + float64(i)*w
	}
	edges[h.bins] = hi
	for _, v := range h.values {
		i := min(h.bins-1, int((v-lo)/w))
		counts[i]++
	}
	return counts, edges
}

// addHistogram draws h on pl: bars of the run colour 0 and the marks as
// dashed lines of colour 1, from 0 to the tallest bar.
func addHistogram(pl *plot.Plot, h *histogram) error {
	counts, edges := h.binCounts()
	if counts == nil {
		return nil
	}
	pl.Add(grid())
	bins := make([]plotter.HistogramBin, len(counts))
	top := 0.0
	for i, c := range counts {
		bins[i] = plotter.HistogramBin{Min: edges[i], Max: edges[i+1], Weight: c}
		top = math.Max(top, c)
	}
	hp := &plotter.Histogram{Bins: bins, Width: edges[1] - edges[0], FillColor: runColour(0), LineStyle: plotter.DefaultLineStyle}
	hp.LineStyle.Width = vg.Points(0.5)
	pl.Add(hp)
	for _, m := range h.marks {
		l, err := plotter.NewLine(plotter.XYs{{X: m, Y: 0}, {X: m, Y: top}})
		if err != nil {
			return fmt.Errorf("lab: histogram mark at %v: %w", m, err)
		}
		l.Color = runColour(1)
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		l.Width = vg.Points(1.5)
		pl.Add(l)
	}
	pl.Y.Min = 0
	return nil
}
