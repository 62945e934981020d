package lab

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart is a grid of gonum plots drawn from a sweep Table (Heatmap, Lines):
// Display shows it inline in a GoNB notebook (a no-op elsewhere), Save writes
// an SVG file, SVG returns its bytes.
type Chart struct {
	plots []*plot.Plot
	// legend is shared by all panels (Lines: one entry per value of by, the
	// same colour in every panel); drawn above them.
	legend figureLegend
	// PanelWidth and PanelHeight are the size of one panel (default 10 cm × 8 cm).
	PanelWidth, PanelHeight vg.Length
	// Columns is the number of panels per row (default: up to 3).
	Columns int
}

// Panels returns the number of panels.
func (c *Chart) Panels() int { return len(c.plots) }

// facet is the rows of one panel and its title.
type facet struct {
	title string
	rows  []Row
}

// facets splits rows by the grid fields not in axes and not "Seed" (the
// replicate axis, averaged over), in first-seen order.
func (t *Table) facets(axes ...string) []facet {
	var split []string
	for _, f := range t.Fields {
		if f != "Seed" && !contains1(axes, f) {
			split = append(split, f)
		}
	}
	var out []facet
	index := map[string]int{}
	for _, r := range t.Rows {
		parts := make([]string, len(split))
		for i, f := range split {
			parts[i] = f + "=" + formatValue(r.Field(f))
		}
		key := strings.Join(parts, " ")
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, facet{title: key})
		}
		out[i].rows = append(out[i].rows, r)
	}
	return out
}

func contains1(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// distinct returns the distinct values of field over rows, in first-seen order.
func distinct(rows []Row, field string) []any {
	var out []any
	seen := map[string]bool{}
	for _, r := range rows {
		v := r.Field(field)
		if k := fmt.Sprint(v); !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	return out
}

// heatGrid is the GridXYZ of a heatmap over value indices.
type heatGrid struct {
	z    [][]float64 // z[col][row]
	cols int
	rows int
}

func (h heatGrid) Dims() (int, int)   { return h.cols, h.rows }
func (h heatGrid) Z(c, r int) float64 { return h.z[c][r] }
func (h heatGrid) X(c int) float64    { return float64(c) }
func (h heatGrid) Y(r int) float64    { return float64(r) }
func (h heatGrid) Min() (m float64)   { return h.extreme(math.Min, math.Inf(1)) }
func (h heatGrid) Max() (m float64)   { return h.extreme(math.Max, math.Inf(-1)) }
func (h heatGrid) extreme(f func(a, b float64) float64, start float64) float64 {
	m := start
	for _, col := range h.z {
		for _, v := range col {
			if !math.IsNaN(v) {
				m = f(m, v)
			}
		}
	}
	if math.IsInf(m, 0) {
		return 0
	}
	return m
}

// nominalTicks labels integer positions with names.
type nominalTicks []string

func (n nominalTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for i, s := range n {
		if float64(i) >= lo-0.5 && float64(i) <= hi+0.5 {
			out = append(out, plot.Tick{Value: float64(i), Label: s})
		}
	}
	return out
}

// cellLabels prints each heatmap cell's text at its centre, in a font sized
// to the drawn cell (the widest text fills at most 85% of a cell's width and
// 45% of its height, between 5 and 13 points) and in white on dark cells,
// black on light ones (see cellIsDark).
type cellLabels struct {
	heat  *plotter.HeatMap
	grid  heatGrid
	texts [][]string // texts[col][row]
}

// Plot implements plot.Plotter.
func (cl cellLabels) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	cellW := vg.Length(math.Abs(float64(trX(1) - trX(0))))
	cellH := vg.Length(math.Abs(float64(trY(1) - trY(0))))
	if cl.grid.cols == 1 {
		cellW = c.Max.X - c.Min.X
	}
	if cl.grid.rows == 1 {
		cellH = c.Max.Y - c.Min.Y
	}
	ref := text.Style{Font: sans(10), Handler: plot.DefaultTextHandler}
	var widest vg.Length
	for _, col := range cl.texts {
		for _, t := range col {
			widest = max(widest, ref.Width(t))
		}
	}
	size := 13.0
	if widest > 0 {
		size = math.Min(size, 10*float64(0.85*cellW/widest))
	}
	size = math.Max(5, math.Min(size, 0.45*float64(cellH)))
	sty := text.Style{Font: sans(size), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
	for i, col := range cl.texts {
		for j, t := range col {
			sty.Color = color.Black
			if cellIsDark(cl.heat, cl.grid.z[i][j]) {
				sty.Color = color.White
			}
			c.FillText(sty, vg.Point{X: trX(float64(i)), Y: trY(float64(j))}, t)
		}
	}
}

// cellIsDark reports whether the heatmap fills a cell of value v with a
// dark colour: luma 0.2126·R + 0.7152·G + 0.0722·B (Rec. 709 weights on the
// sRGB components in [0, 1]) below 0.4. The colour is the palette entry that
// plotter.HeatMap picks: index round((v−Min)·(n−1)/(Max−Min)).
func cellIsDark(h *plotter.HeatMap, v float64) bool {
	pal := h.Palette.Colors()
	if math.IsNaN(v) || len(pal) == 0 || h.Max <= h.Min {
		return false
	}
	k := int((v-h.Min)*float64(len(pal)-1)/(h.Max-h.Min) + 0.5)
	k = max(0, min(len(pal)-1, k))
	r, g, b, _ := pal[k].RGBA()
	lum := (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
	return lum < 0.4
}

// Heatmap returns a Chart with one heatmap per combination of the grid fields
// other than x, y and Seed: cell (x, y) is the mean of metric over the rows
// with those values (over seeds), printed in the cell; failed rows are left
// out and a cell with no successful row is grey and marked "×". Axes list the
// grid values in grid order (evenly spaced, whatever their numeric spacing).
func (t *Table) Heatmap(x, y, metric string) *Chart {
	c := &Chart{}
	for _, f := range t.facets(x, y) {
		xs, ys := distinct(f.rows, x), distinct(f.rows, y)
		sums := make([][]float64, len(xs))
		counts := make([][]int, len(xs))
		for i := range xs {
			sums[i] = make([]float64, len(ys))
			counts[i] = make([]int, len(ys))
		}
		xi, yi := indexOf(xs), indexOf(ys)
		for _, r := range f.rows {
			v := r.Metric(metric)
			if r.Err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			i, j := xi[fmt.Sprint(r.Field(x))], yi[fmt.Sprint(r.Field(y))]
			sums[i][j] += v
			counts[i][j]++
		}
		grid := heatGrid{cols: len(xs), rows: len(ys), z: make([][]float64, len(xs))}
		texts := make([][]string, len(xs))
		for i := range xs {
			grid.z[i] = make([]float64, len(ys))
			texts[i] = make([]string, len(ys))
			for j := range ys {
				v := math.NaN()
				text := "×"
				if counts[i][j] > 0 {
					v = sums[i][j] / float64(counts[i][j])
					text = fmt.Sprintf("%.2g", v)
				}
				grid.z[i][j] = v
				texts[i][j] = text
			}
		}
		p := plot.New()
		p.Title.Text = strings.TrimSpace(metric + "  " + f.title)
		p.X.Label.Text, p.Y.Label.Text = x, y
		// The palette's colours are spread over the heatmap's own [Min, Max].
		pal := moreland.SmoothBlueRed().Palette(64)
		h := plotter.NewHeatMap(grid, pal)
		if h.Min == h.Max {
			h.Max = h.Min + 1
		}
		h.NaN = color.Gray{Y: 200}
		p.Add(h, cellLabels{heat: h, grid: grid, texts: texts})
		p.X.Tick.Marker = nominalTicks(formatAll(xs))
		p.Y.Tick.Marker = nominalTicks(formatAll(ys))
		p.X.Min, p.X.Max = -0.5, float64(len(xs))-0.5
		p.Y.Min, p.Y.Max = -0.5, float64(len(ys))-0.5
		c.plots = append(c.plots, p)
	}
	return c
}

func indexOf(vs []any) map[string]int {
	m := map[string]int{}
	for i, v := range vs {
		m[fmt.Sprint(v)] = i
	}
	return m
}

func formatAll(vs []any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = formatValue(v)
	}
	return out
}

// Lines returns a Chart with one panel per combination of the grid fields
// other than x, by and Seed, and in each one line per value of by (by = "":
// a single line): the mean of metric over the rows (seeds) at each value of x,
// with 95% Student-t confidence bars where there are two or more. A value of
// by has the same colour in every panel; the legend is shared, above the
// panels. x must be a numeric field; when its values are all positive and
// span a factor ≥ 20 (e.g. 0.05…3) the x axis is logarithmic.
func (t *Table) Lines(x, metric, by string) *Chart {
	c := &Chart{}
	axes := []string{x}
	groups := []any{nil}
	if by != "" {
		axes = append(axes, by)
		groups = distinct(t.Rows, by)
	}
	for _, f := range t.facets(axes...) {
		p := plot.New()
		p.Title.Text = f.title
		if p.Title.Text == "" {
			p.Title.Text = metric
		}
		p.X.Label.Text, p.Y.Label.Text = x, metric
		lo, hi := math.Inf(1), math.Inf(-1)
		for gi, gv := range groups {
			sub := (&Table{Fields: t.Fields, Metrics: t.Metrics, Rows: f.rows})
			if by != "" {
				sub = sub.Filter(func(r Row) bool { return fmt.Sprint(r.Field(by)) == fmt.Sprint(gv) })
			}
			s := sub.GroupBy(x)
			var pts plotter.XYs
			var errs plotter.YErrors
			for _, g := range s.Groups {
				xv, ok := toFloat(g.Values[0])
				m := g.Mean[metric]
				if !ok || math.IsNaN(m) {
					continue
				}
				ci := g.CI95[metric]
				if math.IsNaN(ci) {
					ci = 0
				}
				pts = append(pts, plotter.XY{X: xv, Y: m})
				errs = append(errs, struct{ Low, High float64 }{ci, ci})
				lo, hi = math.Min(lo, xv), math.Max(hi, xv)
			}
			if len(pts) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				continue
			}
			line.Color, points.Color = lineColour(gi), lineColour(gi)
			line.Width = vg.Points(1.5)
			p.Add(line, points)
			bars, err := plotter.NewYErrorBars(errorPoints{pts, errs})
			if err == nil {
				bars.Color = lineColour(gi)
				p.Add(bars)
			}
			name := metric
			if by != "" {
				name = by + "=" + formatValue(gv)
			}
			c.legend.add(name, line, points)
		}
		if lo > 0 && hi/lo >= 20 {
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = logTicks{}
		}
		p.Add(plotter.NewGrid())
		c.plots = append(c.plots, p)
	}
	if by == "" {
		c.legend = nil // one line per panel: the y label names it
	}
	return c
}

// errorPoints pairs points with their y error bars for plotter.NewYErrorBars.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// layout returns the chart ready to draw, its text sized for its panels.
func (c *Chart) layout() *layout {
	cols := c.Columns
	if cols <= 0 {
		cols = min(3, max(1, len(c.plots)))
	}
	l := &layout{legend: c.legend, plots: c.plots, cols: cols, panelW: c.PanelWidth, panelH: c.PanelHeight}
	l.defaults(10*vg.Centimeter, 8*vg.Centimeter)
	for _, p := range c.plots {
		styleText(p, l.scale())
	}
	return l
}

// SVG renders the chart as an SVG document.
func (c *Chart) SVG() ([]byte, error) {
	if len(c.plots) == 0 {
		return nil, fmt.Errorf("lab: Chart.SVG: no panels (no rows to plot)")
	}
	b, err := c.layout().svg()
	if err != nil {
		return nil, fmt.Errorf("lab: rendering chart SVG: %w", err)
	}
	return b, nil
}

// Save writes the chart to path: SVG for ".svg", PNG for ".png".
func (c *Chart) Save(path string) error {
	if len(c.plots) == 0 {
		return fmt.Errorf("lab: saving chart %s: no panels (no rows to plot)", path)
	}
	return c.layout().save(path)
}

// Display shows the chart inline in a GoNB notebook (gonbui.IsNotebook) and
// does nothing elsewhere; rendering errors are shown as text. It returns c.
func (c *Chart) Display() *Chart {
	if gonbui.IsNotebook {
		displaySVG(c.SVG())
	}
	return c
}
