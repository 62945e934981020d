package render

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// heatScale maps values to viridis colours over [lo, hi], linearly or
// logarithmically (log: lo > 0, and values ≤ 0 have no colour). One scale
// is shared by all heatmap panels of a figure, so a value has the same
// colour in every panel.
type heatScale struct {
	lo, hi float64
	log    bool
}

// newHeatScale returns the scale spanning the finite values of zs (the
// positive ones when log); with no such values, [1, 10] when log, else [0, 1].
func newHeatScale(log bool, zs ...[][]float64) heatScale {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, z := range zs {
		for _, col := range z {
			for _, v := range col {
				if math.IsNaN(v) || math.IsInf(v, 0) || (log && v <= 0) {
					continue
				}
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi {
		lo, hi = 0, 1
		if log {
			lo, hi = 1, 10
		}
	}
	return heatScale{lo: lo, hi: hi, log: log}
}

// position returns where v falls on the scale, in [0, 1] (½ when the scale
// is a single value), and false where v has no colour.
func (s heatScale) position(v float64) (float64, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) || (s.log && v <= 0) {
		return 0, false
	}
	lo, hi := s.lo, s.hi
	if s.log {
		v, lo, hi = math.Log10(v), math.Log10(lo), math.Log10(hi)
	}
	if hi <= lo {
		return 0.5, true
	}
	return max(0, min(1, (v-lo)/(hi-lo))), true
}

// colour returns the colour of v: viridis at its position, missingColour
// where it has none.
func (s heatScale) colour(v float64) color.Color {
	t, ok := s.position(v)
	if !ok {
		return missingColour
	}
	return viridisAt(t)
}

// ticks returns the labelled ticks of the scale (logTicks when log,
// linearTicks otherwise), within [lo, hi].
func (s heatScale) ticks() []plot.Tick {
	var all []plot.Tick
	if s.log {
		all = logTicks{}.Ticks(s.lo, s.hi)
	} else if s.hi > s.lo {
		all = linearTicks{}.Ticks(s.lo, s.hi)
	} else {
		all = []plot.Tick{{Value: s.lo, Label: compactNumber(s.lo)}}
	}
	var out []plot.Tick
	for _, t := range all {
		if t.Label != "" && t.Value >= s.lo-1e-12*math.Abs(s.lo) && t.Value <= s.hi+1e-12*math.Abs(s.hi) {
			out = append(out, t)
		}
	}
	return out
}

// isDark reports whether c is dark enough for white text: luma 0.2126·R +
// 0.7152·G + 0.0722·B (Rec. 709 weights on sRGB components in [0, 1]) below
// 0.45.
func isDark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return (0.2126*float64(r)+0.7152*float64(g)+0.0722*float64(b))/0xffff < 0.45
}

// colourBar is the colour key of a figure's heatmap panels, drawn in the figure's header: the
// metric's label, a horizontal viridis bar, and the scale's tick labels
// below it.
type colourBar struct {
	scale heatScale
	label string
}

// Dimensions of the colour bar, in points before scaling.
const (
	barHeight   = 8
	barTick     = 2.5
	barMaxWidth = 220
	barSteps    = 64 // colour steps drawn along the bar
)

// height returns the colour bar's height in the header of layout l.
func (b *colourBar) height(l *layout) vg.Length {
	s := vg.Length(l.scale())
	return l.lineHeight(labelSize) + (barHeight+barTick)*s + l.lineHeight(tickSize)
}

// width returns the length of the bar in a figure of the given width.
func (b *colourBar) width(l *layout, figure vg.Length) vg.Length {
	return min(0.45*figure, barMaxWidth*vg.Length(l.scale()))
}

// draw draws the colour bar below top, centred in c; it returns its height.
func (b *colourBar) draw(c draw.Canvas, l *layout, top vg.Length) vg.Length {
	s := vg.Length(l.scale())
	figure := c.Max.X - c.Min.X
	w := b.width(l, figure)
	x0 := c.Min.X + (figure-w)/2
	// The label, centred above the bar.
	lh := l.lineHeight(labelSize)
	sty := l.textStyle(labelSize)
	sty.XAlign = draw.XCenter
	c.FillText(sty, vg.Point{X: c.Min.X + figure/2, Y: top - lh/2}, b.label)
	// The bar: barSteps rectangles of the colours along the scale.
	y1 := top - lh
	y0 := y1 - barHeight*s
	for i := range barSteps {
		xa := x0 + w*vg.Length(i)/barSteps
		xb := x0 + w*vg.Length(i+1)/barSteps
		c.FillPolygon(viridisAt((float64(i)+0.5)/barSteps), []vg.Point{{X: xa, Y: y0}, {X: xb + 0.3, Y: y0}, {X: xb + 0.3, Y: y1}, {X: xa, Y: y1}})
	}
	c.StrokeLines(draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(0.5)},
		[]vg.Point{{X: x0, Y: y0}, {X: x0 + w, Y: y0}, {X: x0 + w, Y: y1}, {X: x0, Y: y1}, {X: x0, Y: y0}})
	// Tick marks and labels below, left to right, skipping a label that
	// would overlap the one before.
	tsty := l.textStyle(tickSize)
	tsty.XAlign = draw.XCenter
	tsty.YAlign = draw.YTop
	lastRight := vg.Length(math.Inf(-1))
	for _, t := range b.scale.ticks() {
		pos, ok := b.scale.position(t.Value)
		if !ok {
			continue
		}
		x := x0 + w*vg.Length(pos)
		c.StrokeLine2(draw.LineStyle{Color: color.Black, Width: vg.Points(0.5)}, x, y0, x, y0-barTick*s)
		half := tsty.Width(t.Label) / 2
		if x-half < lastRight+3*s {
			continue
		}
		c.FillText(tsty, vg.Point{X: x, Y: y0 - barTick*s - s}, t.Label)
		lastRight = x + half
	}
	return b.height(l)
}
