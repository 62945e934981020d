package lab

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Figure is a grid of plot panels, built by PlotHistory or PlotPolicy and
// rendered on demand: Display shows it inline in a GoNB notebook (a no-op
// elsewhere) as PNG, SVG and PDF in one bundle, Save writes it to a file, SVG
// returns its bytes. The legend is
// one row above the panels, shared by all of them (a run or a bar series has
// the same colour in every panel), so it never covers data.
type Figure struct {
	panels []panel
	cols   int
	title  string
	// PanelWidth and PanelHeight are the size of one panel (default 10 cm × 7 cm).
	PanelWidth, PanelHeight vg.Length
}

// series is one line (X, Y) or one bar group (Y by category) of a panel;
// colour is its index in the figure's legend (its colour and dashes: runColour
// and runDash for lines, policyColours for bars).
type series struct {
	label  string
	colour int
	x, y   []float64
}

// panel is one plot: lines over steps, or grouped bars over categories.
type panel struct {
	metric                string // the metric drawn, "" for policy panels
	title, xLabel, yLabel string
	logY                  bool
	// prob marks a probability panel: the y axis starts at 0 and ends at most
	// at probMax.
	prob       bool
	lines      []series
	bars       []series // one per group; y indexed by category
	categories []string
	hist       *histogram // a histogram panel (PlotHistogram)
}

// probMax is the top of a probability axis: 1 plus a little headroom.
const probMax = 1.05

// isProbMetric reports whether metric is a probability or a probability mass
// (names "prob/…" and "mass/…").
func isProbMetric(metric string) bool {
	return strings.HasPrefix(metric, "prob/") || strings.HasPrefix(metric, "mass/")
}

// PlotHistory returns a Figure with one panel per metric and one line per run
// (x: training step, y: the metric's logged values; the legend above the
// panels shows each run's Label, with the same colour and dashes in every
// panel: the Okabe–Ito colours, then dashed lines from the 9th run on).
// Panels are titled in words and their y axes labelled in the paper's
// notation for the lab's metrics (see metricLabel), by the raw name for
// others. Metrics a run never logged are skipped for that run. Probability
// metrics ("prob/…", "mass/…") get a y axis from 0 to at most 1.05.
func PlotHistory(runs []*Run, metrics ...string) *Figure {
	f := &Figure{cols: min(2, max(1, len(metrics)))}
	for _, m := range metrics {
		title, axis := metricLabel(m)
		p := panel{metric: m, title: title, xLabel: "training step", yLabel: axis, prob: isProbMetric(m)}
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
			p.lines = append(p.lines, series{label: r.Label, colour: i, x: xs, y: ys})
		}
		f.panels = append(f.panels, p)
	}
	return f
}

// LogY switches panels to a logarithmic y axis (non-positive values are left
// out of the drawing) and returns f: the panels of the given metrics, or
// every panel when none is given. Log axes carry at most 6 labels (see
// logTicks), so a metric falling from 1 to 1e-300 reads as well as one
// falling from 1 to 0.1.
func (f *Figure) LogY(metrics ...string) *Figure {
	for i := range f.panels {
		if len(metrics) == 0 || slices.Contains(metrics, f.panels[i].metric) {
			f.panels[i].logY = true
		}
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
// bars π (final), π_ref and π* (the RLHF optimum π*_{r*} for the oracle reward,
// when the dataset has one) per response, on a probability axis [0, 1.05];
// responses seen in training pairs are marked "*" in the axis labels. The
// figure's title names the run's Label.
func PlotPolicy(run *Run) *Figure {
	f := &Figure{cols: 1, title: run.Label + ": final policy"}
	prompts := min(6, len(run.Final))
	if prompts > 1 {
		f.cols = 2
	}
	for x := range prompts {
		p := panel{title: fmt.Sprintf("prompt %d", x), xLabel: supportXLabel, yLabel: probabilityAxis, prob: true}
		for y := range run.Final[x] {
			name := responseName(run.ResponseNames, y)
			if run.Support[x][y] {
				name += "*"
			}
			p.categories = append(p.categories, name)
		}
		p.bars = append(p.bars, series{label: policyLabel, colour: 0, y: run.Final[x]}, series{label: refLabel, colour: 1, y: run.Ref[x]})
		if run.Optimal != nil {
			p.bars = append(p.bars, series{label: optimumLabel, colour: 2, y: run.Optimal[x]})
		}
		f.panels = append(f.panels, p)
	}
	return f
}

// build turns a panel into a gonum plot drawn in a panel of width w, with
// text sizes scaled by scale (see textScale). Legend entries, one per series
// label in first-seen order, are added to legend.
func (p panel) build(w vg.Length, scale float64, legend *figureLegend) (*plot.Plot, error) {
	pl := plot.New()
	styleText(pl, scale)
	pl.Title.Text = p.title
	pl.X.Label.Text = p.xLabel
	pl.Y.Label.Text = p.yLabel
	pl.X.Tick.Marker, pl.Y.Tick.Marker = linearTicks{}, linearTicks{}
	if p.logY {
		setLogAxis(&pl.Y) // y values are drawn as log10(y)
	}
	if len(p.lines) > 0 {
		pl.Add(grid())
	}
	for _, s := range p.lines {
		pts := make(plotter.XYs, 0, len(s.x))
		for j := range s.x {
			y := s.y[j]
			if math.IsNaN(y) || math.IsInf(y, 0) || (p.logY && y <= 0) {
				continue
			}
			if p.logY {
				y = math.Log10(y)
			}
			pts = append(pts, plotter.XY{X: s.x[j], Y: y})
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("lab: plotting %q, run %q: %w", p.title, s.label, err)
		}
		l.Color = runColour(s.colour)
		l.Dashes = runDash(s.colour)
		l.Width = vg.Points(1.5)
		pl.Add(l)
		legend.add(s.label, l)
	}
	if len(p.lines) > 0 && pl.X.Min > 0 {
		pl.X.Min = 0 // steps count from 0
	}
	if p.prob && len(p.lines) > 0 {
		// Probabilities: from 0 (unless log) to the data's top, never past probMax.
		if p.logY {
			pl.Y.Max = math.Min(pl.Y.Max, math.Log10(probMax))
		} else {
			pl.Y.Min = 0
			pl.Y.Max = math.Min(pl.Y.Max, probMax)
		}
	}
	if p.hist != nil {
		if err := addHistogram(pl, p.hist); err != nil {
			return nil, err
		}
	}
	if len(p.bars) > 0 {
		g := grid()
		g.Vertical.Color = nil // categories: no vertical lines
		pl.Add(g)
		// Bars fill 80% of each category's width; the data area is roughly the
		// panel less the y axis.
		slot := (w - 45*vg.Length(scale)) / vg.Length(max(1, len(p.categories)))
		bw := max(vg.Points(2), 0.8*slot/vg.Length(len(p.bars)))
		for _, s := range p.bars {
			vals := make(plotter.Values, len(s.y))
			for j, v := range s.y {
				vals[j] = clampProb(v)
			}
			b, err := plotter.NewBarChart(vals, bw)
			if err != nil {
				return nil, fmt.Errorf("lab: plotting %q, bars %q: %w", p.title, s.label, err)
			}
			b.Color = policyColours[s.colour%len(policyColours)]
			b.LineStyle.Width = 0
			b.Offset = bw * vg.Length(float64(s.colour)-float64(len(p.bars)-1)/2)
			pl.Add(b)
			legend.add(s.label, b)
		}
		pl.NominalX(p.categories...)
		pl.X.Min, pl.X.Max = -0.5, float64(len(p.categories))-0.5
		pl.Y.Min, pl.Y.Max = 0, probMax
	}
	return pl, nil
}

// grid returns light grey grid lines at the major ticks, drawn under the data.
func grid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = color.Gray{Y: 225}, color.Gray{Y: 225}
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.6), vg.Points(0.6)
	return g
}

// clampProb clamps v to the drawable probability range [0, probMax]; NaN
// is drawn as 0.
func clampProb(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Max(0, math.Min(probMax, v))
}

// layout builds the figure's plots and shared legend.
func (f *Figure) layout() (*layout, error) {
	l := &layout{title: f.title, cols: max(1, f.cols), panelW: f.PanelWidth, panelH: f.PanelHeight}
	l.defaults(10*vg.Centimeter, 7*vg.Centimeter)
	scale := l.scale()
	for _, p := range f.panels {
		pl, err := p.build(l.panelW, scale, &l.legend)
		if err != nil {
			return nil, err
		}
		l.plots = append(l.plots, pl)
	}
	return l, nil
}

// SVG renders the figure as an SVG document.
func (f *Figure) SVG() ([]byte, error) {
	l, err := f.layout()
	if err != nil {
		return nil, err
	}
	return l.svg()
}

// Save writes the figure to path: SVG for ".svg", PNG (at twice the layout
// size, as displayed) for ".png", PDF for ".pdf".
func (f *Figure) Save(path string) error {
	l, err := f.layout()
	if err != nil {
		return fmt.Errorf("lab: saving %s: %w", path, err)
	}
	return l.save(path)
}

// Display shows the figure inline when running inside a GoNB notebook
// (gonbui.IsNotebook) and does nothing elsewhere: one display_data bundle of
// image/png (2× its layout size), image/svg+xml, application/pdf and
// text/plain (see figureBundle), which untrusted notebooks and nbconvert's
// HTML, LaTeX and PDF exports all show. Rendering errors are shown in the
// notebook as text. It returns f.
func (f *Figure) Display() *Figure {
	displayLayout(f.layout())
	return f
}

// Text sizes in points for a 10 cm wide panel; textScale scales them with
// the panel's width.
const (
	titleSize  = 10
	labelSize  = 9
	tickSize   = 8
	legendSize = 9
)

// sans returns the sans-serif font (Liberation Sans, metric-compatible with
// Arial and Helvetica) at size points.
func sans(size float64) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
}

// textScale is the factor applied to text sizes for panels of width w:
// w / 10 cm, kept within [0.75, 1.5] so text stays legible in small panels
// and modest in large ones.
func textScale(w vg.Length) float64 {
	return math.Max(0.75, math.Min(1.5, float64(w/(10*vg.Centimeter))))
}

// styleText sets a plot's title, axis labels and tick labels to sans-serif
// text with script markup (scriptText) sized for its panel (scale from
// textScale).
func styleText(p *plot.Plot, scale float64) {
	h := textHandler()
	p.Title.TextStyle.Font = sans(titleSize * scale)
	p.Title.TextStyle.Handler = h
	p.Title.Padding = vg.Points(4 * scale)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(labelSize * scale)
		a.Label.TextStyle.Handler = h
		a.Tick.Label.Font = sans(tickSize * scale)
		a.Tick.Label.Handler = h
		a.Padding = vg.Points(3 * scale)
	}
}

// legendItem is one entry of a figure's shared legend.
type legendItem struct {
	label  string
	thumbs []plot.Thumbnailer
}

// figureLegend is a figure's shared legend: one entry per label, first-seen order.
type figureLegend []legendItem

func (l *figureLegend) add(label string, thumbs ...plot.Thumbnailer) {
	for _, it := range *l {
		if it.label == label {
			return
		}
	}
	*l = append(*l, legendItem{label: label, thumbs: thumbs})
}

// layout is a figure ready to draw: an optional title line, the shared legend
// in rows above the panels (wrapped to the figure's width), an optional colour
// bar, then the panels in a grid of cols columns, each panelW × panelH.
type layout struct {
	title          string
	legend         figureLegend
	bar            *colourBar   // nil: none
	plots          []*plot.Plot // nil entries leave a panel empty
	cols           int
	panelW, panelH vg.Length
}

// defaults fills a zero panel size with w × h.
func (l *layout) defaults(w, h vg.Length) {
	if l.panelW <= 0 {
		l.panelW = w
	}
	if l.panelH <= 0 {
		l.panelH = h
	}
	l.cols = max(1, l.cols)
}

func (l *layout) scale() float64 { return textScale(l.panelW) }

func (l *layout) rows() int { return max(1, (len(l.plots)+l.cols-1)/l.cols) }

// textStyle is the style of header text at size points (before scaling).
func (l *layout) textStyle(size float64) text.Style {
	return text.Style{Color: color.Black, Font: sans(size * l.scale()), XAlign: draw.XLeft,
		YAlign: draw.YCenter, Handler: textHandler()}
}

// thumbWidth and gaps of the legend, in points before scaling.
const (
	legendThumb   = 18
	legendTextGap = 4
	legendItemGap = 14
)

// legendTextWidth is the room given to a legend label: its width in
// Liberation Sans plus 12%, so that entries drawn with a wider fallback font
// (DejaVu Sans) do not run into the next one.
func legendTextWidth(sty text.Style, label string) vg.Length {
	return 1.12 * sty.Width(label)
}

// legendRows flows the legend entries into rows no wider than width and
// returns them with each row's width.
func (l *layout) legendRows(width vg.Length) ([][]legendItem, []vg.Length) {
	sty := l.textStyle(legendSize)
	s := vg.Length(l.scale())
	var rows [][]legendItem
	var widths []vg.Length
	var cur vg.Length
	for _, it := range l.legend {
		w := (legendThumb+legendTextGap)*s + legendTextWidth(sty, it.label)
		if len(rows) == 0 || cur+legendItemGap*s+w > width {
			rows = append(rows, nil)
			widths = append(widths, 0)
			cur = -legendItemGap * s
		}
		cur += legendItemGap*s + w
		rows[len(rows)-1] = append(rows[len(rows)-1], it)
		widths[len(widths)-1] = cur
	}
	return rows, widths
}

// lineHeight is the height of one header line of text at size points.
func (l *layout) lineHeight(size float64) vg.Length {
	return 1.6 * vg.Points(size*l.scale())
}

// titleStyle is the style of the figure's title: titleSize+1 points, smaller
// where needed so that the title spans at most 90% of width.
func (l *layout) titleStyle(width vg.Length) text.Style {
	size := titleSize + 1.0
	sty := l.textStyle(size)
	if tw := sty.Width(l.title); tw > 0.9*width {
		size *= float64(0.9 * width / tw)
		sty = l.textStyle(size)
	}
	sty.XAlign = draw.XCenter
	return sty
}

// header returns the height of the title and legend rows for a figure of
// the given width.
func (l *layout) header(width vg.Length) vg.Length {
	var h vg.Length
	if l.title != "" {
		h += 1.6 * l.titleStyle(width).Font.Size
	}
	rows, _ := l.legendRows(0.9 * width)
	h += vg.Length(len(rows)) * l.lineHeight(legendSize)
	if l.bar != nil {
		h += l.bar.height(l)
	}
	if h > 0 {
		h += vg.Millimeter
	}
	return h
}

// size returns the total width and height.
func (l *layout) size() (vg.Length, vg.Length) {
	w := l.panelW * vg.Length(l.cols)
	return w, l.panelH*vg.Length(l.rows()) + l.header(w)
}

// draw draws the title, the legend and the panels on c.
func (l *layout) draw(c draw.Canvas) {
	scale := l.scale()
	width := c.Max.X - c.Min.X
	top := c.Max.Y - vg.Millimeter
	if l.title != "" {
		sty := l.titleStyle(width)
		h := 1.6 * sty.Font.Size
		c.FillText(sty, vg.Point{X: c.Min.X + width/2, Y: top - h/2}, l.title)
		top -= h
	}
	rows, widths := l.legendRows(0.9 * width)
	sty := l.textStyle(legendSize)
	s := vg.Length(scale)
	for i, row := range rows {
		h := l.lineHeight(legendSize)
		y := top - h/2
		x := c.Min.X + (width-widths[i])/2
		th := vg.Points(legendSize * scale)
		for _, it := range row {
			icon := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: y - th/2}, Max: vg.Point{X: x + legendThumb*s, Y: y + th/2}}}
			for _, t := range it.thumbs {
				t.Thumbnail(&icon)
			}
			x += (legendThumb + legendTextGap) * s
			c.FillText(sty, vg.Point{X: x, Y: y}, it.label)
			x += legendTextWidth(sty, it.label) + legendItemGap*s
		}
		top -= h
	}
	if l.bar != nil {
		top -= l.bar.draw(c, l, top)
	}
	body := c
	body.Max.Y = c.Max.Y - l.header(width)
	rowsN := l.rows()
	grid := make([][]*plot.Plot, rowsN)
	for i := range grid {
		grid[i] = make([]*plot.Plot, l.cols)
	}
	for i, p := range l.plots {
		grid[i/l.cols][i%l.cols] = p
	}
	pad := vg.Millimeter * 2
	tiles := draw.Tiles{Rows: rowsN, Cols: l.cols, PadX: 3 * pad, PadY: 2 * pad,
		PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: 2 * pad}
	canvases := plot.Align(grid, tiles, body)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
}

// paint draws the layout on a white background on c.
func (l *layout) paint(c vg.CanvasSizer) {
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	l.draw(dc)
}
