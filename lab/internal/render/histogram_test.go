package render

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
		{"NaN and Inf left out", []float64{0, math.NaN(), 4, math.Inf(-1)}, 2, []float64{1, 1}, []float64{0, 2, 4}},
		{"nothing finite", []float64{math.NaN()}, 2, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &Histogram{Values: tc.values, Bins: tc.bins}
			c, e := h.binCounts()
			if !slices.Equal(c, tc.counts) || !slices.Equal(e, tc.edges) {
				t.Errorf("counts %v edges %v, want %v %v", c, e, tc.counts, tc.edges)
			}
		})
	}
	if c, _ := (&Histogram{Values: []float64{1, 2, 3}}).binCounts(); len(c) != defaultBins {
		t.Errorf("Bins 0: %d bins, want %d", len(c), defaultBins)
	}
}

func TestHistogramPanel(t *testing.T) {
	f := &Figure{Panels: []Panel{{Title: "length difference", XLabel: "words", YLabel: "count",
		Histogram: &Histogram{Values: []float64{-3, -1, 0, 0.5, 2, 2, 7}, Bins: 5, Marks: []float64{0}}}}}
	svg, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"length difference", "words", "count"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	l, err := f.layout()
	if err != nil {
		t.Fatal(err)
	}
	if y := l.plots[0].Y; y.Min != 0 || y.Max != 3 {
		t.Errorf("count axis [%g, %g], want [0, 3] (the tallest bin)", y.Min, y.Max)
	}
	empty := &Figure{Panels: []Panel{{Title: "empty", Histogram: &Histogram{}}}}
	if _, err := empty.SVG(); err != nil {
		t.Errorf("empty histogram: %v", err)
	}
}
