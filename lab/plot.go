package lab

import (
	"bytes"
	"fmt"
	"html"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is a grid of plot panels, built by PlotHistory or PlotPolicy and
// rendered on demand: Display shows it inline in a GoNB notebook (a no-op
// elsewhere), Save writes it to a file, SVG returns its bytes.
type Figure struct {
	panels []panel
	cols   int
	// PanelWidth and PanelHeight are the size of one panel (default 10 cm × 7 cm).
	PanelWidth, PanelHeight vg.Length
}

// series is one line (X, Y) or one bar group (Y by category) of a panel.
type series struct {
	label string
	x, y  []float64
}

// panel is one plot: lines over steps, or grouped bars over categories.
type panel struct {
	title, xLabel, yLabel string
	logY                  bool
	lines                 []series
	bars                  []series // one per group; y indexed by category
	categories            []string
}

// PlotHistory returns a Figure with one panel per metric and one line per run
// (x: step, y: the metric's logged values; the legend shows each run's Label).
// Metrics a run never logged are skipped for that run.
func PlotHistory(runs []*Run, metrics ...string) *Figure {
	f := &Figure{cols: min(2, max(1, len(metrics)))}
	for _, m := range metrics {
		p := panel{title: m, xLabel: "step", yLabel: m}
		for _, r := range runs {
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
			p.lines = append(p.lines, series{label: r.Label, x: xs, y: ys})
		}
		f.panels = append(f.panels, p)
	}
	return f
}

// LogY switches every panel to a logarithmic y axis (non-positive values are
// left out of the drawing) and returns f.
func (f *Figure) LogY() *Figure {
	for i := range f.panels {
		f.panels[i].logY = true
	}
	return f
}

// PlotPolicy returns a Figure with one panel per prompt (at most 6) of grouped
// bars π (final), π_ref and π*_{r*} (when the dataset has an oracle) per
// response; responses seen in training pairs are marked "*" in the axis labels.
func PlotPolicy(run *Run) *Figure {
	f := &Figure{cols: 1}
	prompts := min(6, len(run.Final))
	if prompts > 1 {
		f.cols = 2
	}
	for x := range prompts {
		p := panel{title: fmt.Sprintf("%s\nprompt %d (* = in a training pair)", run.Label, x), yLabel: "probability"}
		for y := range run.Final[x] {
			name := responseName(run.ResponseNames, y)
			if run.Support[x][y] {
				name += "*"
			}
			p.categories = append(p.categories, name)
		}
		p.bars = append(p.bars, series{label: "π (trained)", y: run.Final[x]}, series{label: "π_ref", y: run.Ref[x]})
		if run.Optimal != nil {
			p.bars = append(p.bars, series{label: "π*_{r*} (RLHF optimum)", y: run.Optimal[x]})
		}
		f.panels = append(f.panels, p)
	}
	return f
}

// build turns a panel into a gonum plot.
func (p panel) build() (*plot.Plot, error) {
	pl := plot.New()
	pl.Title.Text = p.title
	pl.X.Label.Text = p.xLabel
	pl.Y.Label.Text = p.yLabel
	pl.Legend.Top = true
	if p.logY {
		pl.Y.Scale = plot.LogScale{}
		pl.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	for i, s := range p.lines {
		pts := make(plotter.XYs, 0, len(s.x))
		for j := range s.x {
			y := s.y[j]
			if math.IsNaN(y) || math.IsInf(y, 0) || (p.logY && y <= 0) {
				continue
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
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i / 7)
		l.Width = vg.Points(1.5)
		pl.Add(l)
		pl.Legend.Add(s.label, l)
	}
	if len(p.bars) > 0 {
		w := vg.Points(12)
		for i, s := range p.bars {
			b, err := plotter.NewBarChart(plotter.Values(s.y), w)
			if err != nil {
				return nil, fmt.Errorf("lab: plotting %q, bars %q: %w", p.title, s.label, err)
			}
			b.Color = plotutil.Color(i)
			b.LineStyle.Width = 0
			b.Offset = w * vg.Length(float64(i)-float64(len(p.bars)-1)/2)
			pl.Add(b)
			pl.Legend.Add(s.label, b)
		}
		pl.NominalX(p.categories...)
		pl.Y.Min = 0
		pl.Y.Max = 1.4 // room for the legend above the bars
		pl.Add(plotter.NewGrid())
	}
	return pl, nil
}

// draw renders the figure on a canvas of the figure's size.
func (f *Figure) draw(c draw.Canvas) error {
	cols := max(1, f.cols)
	rowsN := (len(f.panels) + cols - 1) / cols
	grid := make([][]*plot.Plot, rowsN)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for i, p := range f.panels {
		pl, err := p.build()
		if err != nil {
			return err
		}
		grid[i/cols][i%cols] = pl
	}
	tiles := draw.Tiles{Rows: rowsN, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(grid, tiles, c)
	for i := range grid {
		for j, pl := range grid[i] {
			if pl != nil {
				pl.Draw(canvases[i][j])
			}
		}
	}
	return nil
}

// size returns the figure's total width and height.
func (f *Figure) size() (vg.Length, vg.Length) {
	w, h := f.PanelWidth, f.PanelHeight
	if w == 0 {
		w = 10 * vg.Centimeter
	}
	if h == 0 {
		h = 7 * vg.Centimeter
	}
	cols := max(1, f.cols)
	rowsN := max(1, (len(f.panels)+cols-1)/cols)
	return w * vg.Length(cols), h * vg.Length(rowsN)
}

// SVG renders the figure as an SVG document.
func (f *Figure) SVG() ([]byte, error) {
	w, h := f.size()
	c := vgsvg.New(w, h)
	if err := f.draw(draw.New(c)); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("lab: rendering SVG: %w", err)
	}
	return buf.Bytes(), nil
}

// Save writes the figure to path: SVG for ".svg", PNG for ".png".
func (f *Figure) Save(path string) error {
	var data []byte
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		b, err := f.SVG()
		if err != nil {
			return fmt.Errorf("lab: saving %s: %w", path, err)
		}
		data = b
	case ".png":
		w, h := f.size()
		c := vgimg.New(w, h)
		dc := draw.New(c)
		dc.SetColor(color.White)
		if err := f.draw(dc); err != nil {
			return fmt.Errorf("lab: saving %s: %w", path, err)
		}
		var buf bytes.Buffer
		if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
			return fmt.Errorf("lab: saving %s: %w", path, err)
		}
		data = buf.Bytes()
	default:
		return fmt.Errorf("lab: saving %s: unknown extension %q (want .svg or .png)", path, filepath.Ext(path))
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("lab: saving figure: %w", err)
	}
	return nil
}

// Display shows the figure inline when running inside a GoNB notebook
// (gonbui.IsNotebook) and does nothing elsewhere. Rendering errors are shown
// in the notebook as text. It returns f.
func (f *Figure) Display() *Figure {
	if !gonbui.IsNotebook {
		return f
	}
	svg, err := f.SVG()
	if err != nil {
		gonbui.DisplayHTML("<pre>" + html.EscapeString(err.Error()) + "</pre>")
		gonbui.Sync()
		return f
	}
	gonbui.DisplaySVG(string(svg))
	// Wait until GoNB has the content: a cell's process may exit right after.
	gonbui.Sync()
	return f
}
