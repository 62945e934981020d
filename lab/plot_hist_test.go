package lab

import (
	"bytes"
	"math"
	"slices"
	"testing"
)

func TestHistogramBins(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		bins   int
		counts []float64
		edges  []float64
	}{
		{"hand-worked", []float64{0, 1, 1, 2, 3, 4}, 4, []float64{1, 2, 1, 2}, []float64{0, 1, 2, 3, 4}},
		{"maximum in the last bin", []float64{-2, 2}, 2, []float64{1, 1}, []float64{-2, 0, 2}},
		{"one distinct value", []float64{3, 3, 3}, 1, []float64{3}, []float64{2.5, 3.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &histogram{values: tc.values, bins: tc.bins}
			c, e := h.binCounts()
			if !slices.Equal(c, tc.counts) || !slices.Equal(e, tc.edges) {
				t.Errorf("counts %v edges %v, want %v %v", c, e, tc.counts, tc.edges)
			}
		})
	}
}

func TestPlotHistogram(t *testing.T) {
	vals := []float64{-3, -1, 0, 0.5, 2, 2, 7, math.NaN(), math.Inf(1)}
	f := PlotHistogram(vals, 5, "length difference", "words", 0)
	h := f.panels[0].hist
	c, _ := h.binCounts()
	sum := 0.0
	for _, v := range c {
		sum += v
	}
	if sum != 7 {
		t.Errorf("histogram holds %v values, want the 7 finite ones", sum)
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
