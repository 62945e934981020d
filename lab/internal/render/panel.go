package render

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// build turns a panel into a gonum plot drawn in a panel of width w, with
// text sizes scaled by scale (see textScale) and heatmap cells coloured by
// heat. Legend entries, one per series label in first-seen order, are added
// to legend.
func (p Panel) build(w vg.Length, scale float64, heat heatScale, legend *figureLegend) (*plot.Plot, error) {
	pl := plot.New()
	styleText(pl, scale)
	pl.Title.Text = p.Title
	pl.X.Label.Text = p.XLabel
	pl.Y.Label.Text = p.YLabel
	pl.X.Tick.Marker, pl.Y.Tick.Marker = linearTicks{}, linearTicks{}
	if len(p.Lines) > 0 {
		// Log axes are drawn in log10 space: values as log10(v) on a linear
		// axis marked by logAxisTicks.
		if p.LogX {
			setLogAxis(&pl.X)
		}
		if p.LogY {
			setLogAxis(&pl.Y)
		}
		pl.Add(grid())
		for _, s := range p.Lines {
			if err := p.addLine(pl, s, legend); err != nil {
				return nil, err
			}
		}
		if p.XFromZero && pl.X.Min > 0 {
			pl.X.Min = 0
		}
		if p.Prob {
			// Probabilities: from 0 (unless log) to the data's top, never past ProbMax.
			if p.LogY {
				pl.Y.Max = math.Min(pl.Y.Max, math.Log10(ProbMax))
			} else {
				pl.Y.Min = 0
				pl.Y.Max = math.Min(pl.Y.Max, ProbMax)
			}
		}
	}
	switch {
	case p.Histogram != nil:
		if err := addHistogram(pl, p.Histogram); err != nil {
			return nil, err
		}
	case len(p.Bars) > 0:
		if err := p.addBars(pl, w, scale, legend); err != nil {
			return nil, err
		}
	case p.Heatmap != nil:
		addHeatmap(pl, p.Heatmap, heat)
	}
	return pl, nil
}

// addLine draws line s of panel p on pl, with its markers and error bars,
// and adds it to the legend.
func (p Panel) addLine(pl *plot.Plot, s Line, legend *figureLegend) error {
	logX, logY := p.LogX, p.LogY
	pts := make(plotter.XYs, 0, len(s.X))
	errs := make(plotter.YErrors, 0, len(s.X))
	for j := range min(len(s.X), len(s.Y)) {
		x, y := s.X[j], s.Y[j]
		if !finite(x) || !finite(y) || (logX && x <= 0) || (logY && y <= 0) {
			continue
		}
		var lo, hi float64
		if j < len(s.Lo) && j < len(s.Hi) && finite(s.Lo[j]) && finite(s.Hi[j]) {
			lo, hi = s.Lo[j], s.Hi[j]
		}
		if logX {
			x = math.Log10(x)
		}
		if logY {
			// A bar reaching 0 or below keeps only its part above the point.
			bottom := y
			if y-lo > 0 {
				bottom = y - lo
			}
			lo, hi = math.Log10(y)-math.Log10(bottom), math.Log10(y+hi)-math.Log10(y)
			y = math.Log10(y)
		}
		pts = append(pts, plotter.XY{X: x, Y: y})
		errs = append(errs, struct{ Low, High float64 }{lo, hi})
	}
	if len(pts) == 0 {
		return nil
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("lab: plotting %q, line %q: %w", p.Title, s.Label, err)
	}
	if s.Reference {
		l.Color = referenceColour
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		pl.Add(l)
		legend.add(s.Label, l)
		return nil
	}
	l.Color = runColour(s.Style)
	l.Dashes = runDash(s.Style)
	l.Width = vg.Points(1.5)
	pl.Add(l)
	thumbs := []plot.Thumbnailer{l}
	if s.Markers {
		points, err := plotter.NewScatter(pts)
		if err != nil {
			return fmt.Errorf("lab: plotting %q, line %q: %w", p.Title, s.Label, err)
		}
		points.Color = runColour(s.Style)
		points.Shape = plotutil.Shape(s.Style)
		pl.Add(points)
		thumbs = append(thumbs, points)
	}
	if s.Lo != nil {
		bars, err := plotter.NewYErrorBars(errorPoints{pts, errs})
		if err != nil {
			return fmt.Errorf("lab: plotting %q, error bars of %q: %w", p.Title, s.Label, err)
		}
		bars.Color = runColour(s.Style)
		pl.Add(bars)
	}
	legend.add(s.Label, thumbs...)
	return nil
}

// errorPoints pairs points with their y error bars for plotter.NewYErrorBars.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// addBars draws the bar groups of p side by side over its categories on pl,
// a panel of width w, and adds them to the legend.
func (p Panel) addBars(pl *plot.Plot, w vg.Length, scale float64, legend *figureLegend) error {
	g := grid()
	g.Vertical.Color = nil // categories: no vertical lines
	pl.Add(g)
	// Bars fill 80% of each category's width; the data area is roughly the
	// panel less the y axis.
	slot := (w - 45*vg.Length(scale)) / vg.Length(max(1, len(p.Categories)))
	bw := max(vg.Points(2), 0.8*slot/vg.Length(len(p.Bars)))
	for i, s := range p.Bars {
		vals := make(plotter.Values, len(s.Y))
		for j, v := range s.Y {
			switch {
			case p.Prob:
				vals[j] = clampProb(v)
			case finite(v):
				vals[j] = v
			}
		}
		b, err := plotter.NewBarChart(vals, bw)
		if err != nil {
			return fmt.Errorf("lab: plotting %q, bars %q: %w", p.Title, s.Label, err)
		}
		b.Color = barColour(s.Style)
		b.LineStyle.Width = 0
		b.Offset = bw * vg.Length(float64(i)-float64(len(p.Bars)-1)/2)
		pl.Add(b)
		legend.add(s.Label, b)
	}
	pl.NominalX(p.Categories...)
	pl.X.Min, pl.X.Max = -0.5, float64(len(p.Categories))-0.5
	pl.Y.Min = math.Min(0, pl.Y.Min)
	if p.Prob {
		pl.Y.Min, pl.Y.Max = 0, ProbMax
	}
	return nil
}

// grid returns light grey grid lines at the major ticks, drawn under the data.
func grid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = color.Gray{Y: 225}, color.Gray{Y: 225}
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.6), vg.Points(0.6)
	return g
}

// clampProb clamps v to the drawable probability range [0, ProbMax]; NaN
// is drawn as 0.
func clampProb(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Max(0, math.Min(ProbMax, v))
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
