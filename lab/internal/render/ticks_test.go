package render

import (
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func logLabels(lo, hi float64) []string {
	var out []string
	for _, tk := range (logTicks{}).Ticks(lo, hi) {
		if tk.Label != "" {
			out = append(out, tk.Label)
		}
	}
	return out
}

func TestLogTicksLabels(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0.3, 0.7, "[0.3 0.4 0.5 0.6 0.7]"},                   // under a decade: every i·10^k that fits
		{0.05, 1.3, "[0.05 0.1 0.2 0.5 1]"},                   // a decade and a bit: 1, 2, 5
		{1e-3, 10, "[0.001 0.01 0.1 1 10]"},                   // four decades: powers of ten
		{1e-30, 1, "[10^{−30} 10^{−20} 10^{−10} 10^{0}]"},     // every 10th decade
		{1e-300, 1, "[10^{−300} 10^{−200} 10^{−100} 10^{0}]"}, // every 100th decade
		{2e-6, 9e-5, "[2×10^{−6} 5×10^{−6} 10^{−5} 2×10^{−5} 5×10^{−5}]"},
		{0.32, 0.38, "[0.32 0.38]"}, // no labelled value inside: the ends
	} {
		if got := fmt.Sprint(logLabels(c.lo, c.hi)); got != c.want {
			t.Errorf("labels on [%g, %g] = %s, want %s", c.lo, c.hi, got, c.want)
		}
	}
}

// TestLogTicksNeverOverlap draws a log-y panel of lines at the default size
// and smaller, over spans of 0.3 to 300 decades, and checks with
// the tick font's own metrics that labels never overlap, that there are 2 to
// 6 of them, and that minor ticks stay few.
func TestLogTicksNeverOverlap(t *testing.T) {
	spans := []float64{0.3, 1, 1.5, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40, 50, 64, 80, 100, 150, 200, 250, 300}
	for _, size := range [][2]vg.Length{{10 * vg.Centimeter, 7 * vg.Centimeter}, {7 * vg.Centimeter, 5 * vg.Centimeter}} {
		for _, d := range spans {
			for _, top := range []float64{1, 37, 1e-7} {
				lo, hi := top*math.Pow(10, -d), top
				p := Panel{Title: "t", XLabel: "training step", YLabel: "max |β·h| (implicit reward)", LogY: true,
					Lines: []Line{{Label: "run", X: []float64{0, 1}, Y: []float64{lo, hi}}}}
				var legend figureLegend
				pl, err := p.build(size[0], textScale(size[0]), heatScale{}, &legend)
				if err != nil {
					t.Fatal(err)
				}
				c := draw.New(vgimg.New(size[0], size[1]))
				dc := pl.DataCanvas(c)
				_, trY := pl.Transforms(&dc)
				var ys []vg.Length
				var labels []string
				minor := 0
				for _, tk := range pl.Y.Tick.Marker.Ticks(pl.Y.Min, pl.Y.Max) {
					if tk.Label == "" {
						minor++
						continue
					}
					ys = append(ys, trY(tk.Value))
					labels = append(labels, tk.Label)
				}
				name := fmt.Sprintf("[%.3g, %.3g] in %.0f cm", lo, hi, float64(size[1]/vg.Centimeter))
				if len(labels) < 2 || len(labels) > maxLogLabels {
					t.Errorf("%s: %d labels %v, want 2 to %d", name, len(labels), labels, maxLogLabels)
				}
				if minor > maxLogMinor+9 {
					t.Errorf("%s: %d minor ticks", name, minor)
				}
				for i := 1; i < len(ys); i++ {
					gap := ys[i] - ys[i-1]
					need := (pl.Y.Tick.Label.Height(labels[i])+pl.Y.Tick.Label.Height(labels[i-1]))/2 + vg.Points(2)
					if gap < need {
						t.Errorf("%s: labels %q and %q %.1f pt apart, need %.1f pt", name, labels[i-1], labels[i], gap.Points(), need.Points())
					}
				}
				// The data area keeps most of the panel (no band left empty
				// above it, as gonum's LogScale leaves).
				if h := dc.Max.Y - dc.Min.Y; h < 0.6*size[1] {
					t.Errorf("%s: data area %.0f pt high in a %.0f pt panel", name, h.Points(), size[1].Points())
				}
			}
		}
	}
}

func TestLinearTicks(t *testing.T) {
	labels := func(lo, hi float64) string {
		var out []string
		for _, tk := range (linearTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 590, "[0 100 200 300 400 500]"},
		{0, 1, "[0.0 0.2 0.4 0.6 0.8 1.0]"},
		{0.4, 0.7, "[0.4 0.5 0.6 0.7]"},
		{-3, 2, "[−3 −2 −1 0 1 2]"},
		{0, 3e6, "[0 10^{6} 2×10^{6} 3×10^{6}]"},
		{2, 2, "[2]"},
	} {
		if got := labels(c.lo, c.hi); got != c.want {
			t.Errorf("linear labels on [%g, %g] = %s, want %s", c.lo, c.hi, got, c.want)
		}
	}
}
