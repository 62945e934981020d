package lab

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart is a grid of plot panels drawn from a sweep Table (Heatmap, Lines,
// WinRateLines): Display shows it inline in a GoNB notebook (a no-op
// elsewhere) as PNG, SVG and PDF in one bundle, Save writes it to a file, SVG
// returns its bytes.
type Chart struct {
	plots []*plot.Plot
	// heat is a heatmap's data, drawn on layout (plots is then unused).
	heat *heatmap
	// legend is shared by all panels (Lines: one entry per value of by, the
	// same colour in every panel); drawn above them.
	legend figureLegend
	// PanelWidth and PanelHeight are the size of one panel (default 10 cm × 8 cm).
	PanelWidth, PanelHeight vg.Length
	// Columns is the number of panels per row (default: up to 3).
	Columns int
}

// Panels returns the number of panels.
func (c *Chart) Panels() int {
	if c.heat != nil {
		return len(c.heat.panels)
	}
	return len(c.plots)
}

// facet is the rows of one panel and its title.
type facet struct {
	title string
	rows  []Row
}

// facets splits rows by the grid fields not in axes and not "Seed" (the
// replicate axis, averaged over), in first-seen order. A facet's title names
// its values (valueLabel): "p-DPO, β = 0.5".
func (t *Table) facets(axes ...string) []facet {
	var split []string
	for _, f := range t.Fields {
		if f != "Seed" && !slices.Contains(axes, f) {
			split = append(split, f)
		}
	}
	var out []facet
	index := map[string]int{}
	for _, r := range t.Rows {
		parts := make([]string, len(split))
		for i, f := range split {
			parts[i] = valueLabel(f, r.Field(f))
		}
		key := strings.Join(parts, ", ")
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

// heatPanel is one panel of a heatmap Chart: z[col][row] the cell values
// (NaN: no successful row), texts the printed values.
type heatPanel struct {
	title  string
	xs, ys []string
	z      [][]float64
	texts  [][]string
}

// heatmap is a heatmap Chart's data, drawn when the chart is laid out (so
// that LogColour can still change its scale).
type heatmap struct {
	metric, xLabel, yLabel string
	panels                 []heatPanel
	log                    bool
}

// heatCells draws a heatmap panel's cells, coloured by a scale shared with
// the chart's other panels, with each cell's text at its centre: in a font
// sized to the drawn cell (the widest text fills at most 85% of a cell's
// width and 45% of its height, between 5 and 13 points), white on dark cells
// and black on light ones (isDark).
type heatCells struct {
	panel heatPanel
	scale heatScale
}

// cellOverlap is how far a heatmap cell is drawn into its neighbours.
const cellOverlap = vg.Length(0.4)

// cellColour returns the fill of cell (i, j).
func (h heatCells) cellColour(i, j int) color.Color { return h.scale.colour(h.panel.z[i][j]) }

// Plot implements plot.Plotter.
func (h heatCells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	cols, rows := len(h.panel.xs), len(h.panel.ys)
	for i := range cols {
		for j := range rows {
			// Each cell overlaps its right and upper neighbours by a hair, so
			// anti-aliasing leaves no seams between cells of one colour.
			x0, x1 := trX(float64(i)-0.5), trX(float64(i)+0.5)+cellOverlap
			y0, y1 := trY(float64(j)-0.5), trY(float64(j)+0.5)+cellOverlap
			c.FillPolygon(h.cellColour(i, j), []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		}
	}
	cellW := vg.Length(math.Abs(float64(trX(1) - trX(0))))
	cellH := vg.Length(math.Abs(float64(trY(1) - trY(0))))
	if cols == 1 {
		cellW = c.Max.X - c.Min.X
	}
	if rows == 1 {
		cellH = c.Max.Y - c.Min.Y
	}
	ref := text.Style{Font: sans(10), Handler: textHandler()}
	var widest vg.Length
	for _, col := range h.panel.texts {
		for _, t := range col {
			widest = max(widest, ref.Width(t))
		}
	}
	size := 13.0
	if widest > 0 {
		size = math.Min(size, 10*float64(0.85*cellW/widest))
	}
	size = math.Max(5, math.Min(size, 0.45*float64(cellH)))
	sty := text.Style{Font: sans(size), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: textHandler()}
	for i, col := range h.panel.texts {
		for j, t := range col {
			sty.Color = color.Black
			if isDark(h.cellColour(i, j)) {
				sty.Color = color.White
			}
			c.FillText(sty, vg.Point{X: trX(float64(i)), Y: trY(float64(j))}, t)
		}
	}
}

// compactNumber prints v with 2 significant digits, powers of ten beyond
// 10^{±4} in script markup: 0.12, 3.4, 1.2×10^{5}, 10^{−30}.
func compactNumber(v float64) string {
	s := strconv.FormatFloat(v, 'g', 2, 64)
	m, e, ok := strings.Cut(s, "e")
	if !ok {
		return s
	}
	k, err := strconv.Atoi(e)
	if err != nil {
		return s
	}
	p := "10^{" + strings.Replace(strconv.Itoa(k), "-", "−", 1) + "}"
	switch m {
	case "1":
		return p
	case "-1":
		return "−" + p
	}
	return strings.Replace(m, "-", "−", 1) + "×" + p
}

// Heatmap returns a Chart with one heatmap per combination of the grid fields
// other than x, y and Seed: cell (x, y) is the mean of metric over the rows
// with those values (over seeds), printed in the cell; failed rows are left
// out and a cell with no successful row is grey and marked "×". Axes list the
// grid values in grid order (evenly spaced, whatever their numeric spacing).
// All panels share one viridis colour scale, from the smallest to the
// largest cell of any panel, keyed by a colour bar above them labelled with
// the metric (see metricLabel); LogColour makes the scale logarithmic.
func (t *Table) Heatmap(x, y, metric string) *Chart {
	_, axis := metricLabel(metric)
	hm := &heatmap{metric: axis, xLabel: fieldLabel(x), yLabel: fieldLabel(y)}
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
		hp := heatPanel{title: f.title, xs: formatAll(xs), ys: formatAll(ys), z: make([][]float64, len(xs)), texts: make([][]string, len(xs))}
		if hp.title == "" {
			hp.title, _ = metricLabel(metric)
		}
		for i := range xs {
			hp.z[i] = make([]float64, len(ys))
			hp.texts[i] = make([]string, len(ys))
			for j := range ys {
				v, text := math.NaN(), "×"
				if counts[i][j] > 0 {
					v = sums[i][j] / float64(counts[i][j])
					text = compactNumber(v)
				}
				hp.z[i][j], hp.texts[i][j] = v, text
			}
		}
		hm.panels = append(hm.panels, hp)
	}
	return &Chart{heat: hm}
}

// LogColour gives a heatmap Chart a logarithmic colour scale, for metrics
// spanning decades (regret, KL, implicit reward): cells ≤ 0 are drawn grey,
// with their value printed. It returns c; on other charts it does nothing.
func (c *Chart) LogColour() *Chart {
	if c.heat != nil {
		c.heat.log = true
	}
	return c
}

// scale returns the colour scale shared by the heatmap's panels.
func (h *heatmap) scale() heatScale {
	zs := make([][][]float64, len(h.panels))
	for i, p := range h.panels {
		zs[i] = p.z
	}
	return newHeatScale(h.log, zs...)
}

// cells returns the heatmap's panels as drawn: one heatCells per panel, all
// on the same colour scale.
func (h *heatmap) cells() []heatCells {
	scale := h.scale()
	out := make([]heatCells, len(h.panels))
	for i, hp := range h.panels {
		out[i] = heatCells{panel: hp, scale: scale}
	}
	return out
}

// plots builds the heatmap's panels and its colour bar.
func (h *heatmap) plots() ([]*plot.Plot, *colourBar) {
	var out []*plot.Plot
	for _, hc := range h.cells() {
		p := plot.New()
		p.Title.Text = hc.panel.title
		p.X.Label.Text, p.Y.Label.Text = h.xLabel, h.yLabel
		p.Add(hc)
		p.X.Tick.Marker = nominalTicks(hc.panel.xs)
		p.Y.Tick.Marker = nominalTicks(hc.panel.ys)
		p.X.Min, p.X.Max = -0.5, float64(len(hc.panel.xs))-0.5
		p.Y.Min, p.Y.Max = -0.5, float64(len(hc.panel.ys))-0.5
		out = append(out, p)
	}
	return out, &colourBar{scale: h.scale(), label: h.metric}
}

// nominalTicks labels integer positions with names.
type nominalTicks []string

// Ticks implements plot.Ticker.
func (n nominalTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for i, s := range n {
		if float64(i) >= lo-0.5 && float64(i) <= hi+0.5 {
			out = append(out, plot.Tick{Value: float64(i), Label: s})
		}
	}
	return out
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
// by has the same colour and marker in every panel (Okabe–Ito colours); the
// legend is shared, above the panels. Axes are labelled in words and symbols
// (fieldLabel, metricLabel). x must be a numeric field; when its values are
// all positive and span a factor ≥ 20 (e.g. 0.05…3) the x axis is
// logarithmic.
func (t *Table) Lines(x, metric, by string) *Chart {
	c := &Chart{}
	axes := []string{x}
	groups := []any{nil}
	if by != "" {
		axes = append(axes, by)
		groups = distinct(t.Rows, by)
	}
	title, axis := metricLabel(metric)
	for _, f := range t.facets(axes...) {
		p := plot.New()
		p.Title.Text = f.title
		if p.Title.Text == "" {
			p.Title.Text = title
		}
		p.X.Label.Text, p.Y.Label.Text = fieldLabel(x), axis
		p.X.Tick.Marker, p.Y.Tick.Marker = linearTicks{}, linearTicks{}
		p.Add(grid())
		// A log x axis (x drawn as log10 x) where x is positive and spans a
		// factor ≥ 20.
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range f.rows {
			if v, ok := toFloat(r.Field(x)); ok {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		logX := lo > 0 && hi/lo >= 20
		if logX {
			setLogAxis(&p.X)
		}
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
				if !ok || math.IsNaN(m) || (logX && xv <= 0) {
					continue
				}
				ci := g.CI95[metric]
				if math.IsNaN(ci) {
					ci = 0
				}
				if logX {
					xv = math.Log10(xv)
				}
				pts = append(pts, plotter.XY{X: xv, Y: m})
				errs = append(errs, struct{ Low, High float64 }{ci, ci})
			}
			if len(pts) == 0 {
				continue
			}
			line, points, err := runLine(pts, gi)
			if err != nil {
				continue
			}
			p.Add(line, points)
			if bars, err := plotter.NewYErrorBars(errorPoints{pts, errs}); err == nil {
				bars.Color = runColour(gi)
				p.Add(bars)
			}
			name := axis
			if by != "" {
				name = valueLabel(by, gv)
			}
			c.legend.add(name, line, points)
		}
		c.plots = append(c.plots, p)
	}
	if by == "" {
		c.legend = nil // one line per panel: the y label names it
	}
	return c
}

// runLine returns the line and markers of group i of a chart: its Okabe–Ito
// colour and dashes (runColour, runDash) and a marker shape of its own.
func runLine(pts plotter.XYs, i int) (*plotter.Line, *plotter.Scatter, error) {
	line, points, err := plotter.NewLinePoints(pts)
	if err != nil {
		return nil, nil, err
	}
	line.Color, points.Color = runColour(i), runColour(i)
	line.Dashes = runDash(i)
	line.Width = vg.Points(1.5)
	points.Shape = plotutil.Shape(i)
	return line, points, nil
}

// errorPoints pairs points with their y error bars for plotter.NewYErrorBars.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// layout returns the chart ready to draw, its text sized for its panels, or
// an error when it has no panels.
func (c *Chart) layout() (*layout, error) {
	plots, bar := c.plots, (*colourBar)(nil)
	if c.heat != nil {
		plots, bar = c.heat.plots()
	}
	if len(plots) == 0 {
		return nil, fmt.Errorf("lab: chart: no panels (no rows to plot)")
	}
	cols := c.Columns
	if cols <= 0 {
		cols = min(3, max(1, len(plots)))
	}
	l := &layout{legend: c.legend, bar: bar, plots: plots, cols: cols, panelW: c.PanelWidth, panelH: c.PanelHeight}
	l.defaults(10*vg.Centimeter, 8*vg.Centimeter)
	for _, p := range plots {
		styleText(p, l.scale())
	}
	return l, nil
}

// SVG renders the chart as an SVG document.
func (c *Chart) SVG() ([]byte, error) {
	l, err := c.layout()
	if err != nil {
		return nil, err
	}
	return l.svg()
}

// Save writes the chart to path: SVG for ".svg", PNG (at twice the layout
// size, as displayed) for ".png", PDF for ".pdf".
func (c *Chart) Save(path string) error {
	l, err := c.layout()
	if err != nil {
		return fmt.Errorf("lab: saving %s: %w", path, err)
	}
	return l.save(path)
}

// Display shows the chart inline in a GoNB notebook (gonbui.IsNotebook) and
// does nothing elsewhere, as Figure.Display does (one bundle of PNG, SVG, PDF
// and text); rendering errors are shown as text. It returns c.
func (c *Chart) Display() *Chart {
	displayLayout(c.layout())
	return c
}
