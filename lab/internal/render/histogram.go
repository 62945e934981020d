package render

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// defaultBins is the number of bins of a Histogram with Bins ≤ 0.
const defaultBins = 16

// binCounts returns the counts of h's finite values in equal-width bins over
// [min, max] (the last bin closed), and the bins' edges: len(edges) =
// len(counts)+1. Every finite value falls in a bin; with none, both are nil.
func (h *Histogram) binCounts() (counts []float64, edges []float64) {
	bins := h.Bins
	if bins <= 0 {
		bins = defaultBins
	}
	var values []float64
	for _, v := range h.Values {
		if finite(v) {
			values = append(values, v)
		}
	}
	if len(values) == 0 {
		return nil, nil
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if hi == lo {
		lo, hi = lo-0.5, hi+0.5
	}
	counts = make([]float64, bins)
	edges = make([]float64, bins+1)
	w := (hi - lo) / float64(bins)
	for i := range edges {
		edges[i] = lo + float64(i)*w
	}
	edges[bins] = hi
	for _, v := range values {
		i := min(bins-1, int((v-lo)/w))
		counts[i]++
	}
	return counts, edges
}

// addHistogram draws h on pl: bars of the run colour 0 and the marks as
// dashed lines of colour 1, from 0 to the tallest bar.
func addHistogram(pl *plot.Plot, h *Histogram) error {
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
	for _, m := range h.Marks {
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
