package lab

import (
	"math"
	"slices"

	"github.com/janpfeifer/gonb/gonbui/protocol"
	"github.com/robustpo/robustpo/lab/internal/render"
	"gonum.org/v1/plot/vg"
)

// Figure is a grid of plot panels, returned by every plot of the lab:
// PlotHistory, PlotPolicy and PlotHistogram for runs and values,
// Table.Heatmap, Table.Lines and Table.WinRateLines for sweeps. It is drawn
// on demand: Display shows it inline in a GoNB notebook (a no-op elsewhere)
// as PNG, SVG and PDF in one bundle, Save writes it to a file, SVG returns
// its bytes. Its legend is one block above the panels, shared by all of them
// (a run or a bar series has the same colour in every panel), so it never
// covers data; a heatmap's colour bar sits there too.
//
// Every figure has the same defaults, which the zero values of PanelWidth,
// PanelHeight and Columns stand for: panels of 10 cm × 7 cm, text sized for
// that width (scaled with it, within 0.75× to 1.5×), and all panels in one
// row up to 3, else the fewest rows of at most 3, filled evenly (4 panels: 2
// × 2; 5: 3 + 2).
type Figure struct {
	// PanelWidth and PanelHeight are the size of one panel (zero: 10 cm ×
	// 7 cm).
	PanelWidth, PanelHeight vg.Length
	// Columns is the number of panels per row (zero: up to 3, as above).
	Columns int

	// spec is the figure as drawn, sizes aside (the fields above).
	spec render.Figure
	// metrics names the metric drawn in each panel ("" for none): LogY's
	// selector.
	metrics []string
}

// addPanel appends a panel drawing metric ("" for none).
func (f *Figure) addPanel(metric string, p render.Panel) {
	f.spec.Panels = append(f.spec.Panels, p)
	f.metrics = append(f.metrics, metric)
}

// Panels returns the number of panels.
func (f *Figure) Panels() int { return len(f.spec.Panels) }

// LogY switches panels of lines to a logarithmic y axis (non-positive values
// are left out of the drawing, as is the part of an error bar reaching them)
// and returns f: the panels of the given metrics, or every panel when none
// is given. Bars, histograms and heatmaps keep their axes. Log axes carry at
// most 6 labels, so a metric falling from 1 to 1e-300 reads as well as one
// falling from 1 to 0.1.
func (f *Figure) LogY(metrics ...string) *Figure {
	for i := range f.spec.Panels {
		if len(metrics) == 0 || slices.Contains(metrics, f.metrics[i]) {
			f.spec.Panels[i].LogY = true
		}
	}
	return f
}

// LogColour gives the figure's heatmaps a logarithmic colour scale, for
// metrics spanning decades (regret, KL, implicit reward): cells ≤ 0 are
// drawn grey, with their value printed. It returns f; on figures without
// heatmaps it does nothing.
func (f *Figure) LogColour() *Figure {
	f.spec.LogColour = true
	return f
}

// ColourRange fixes the shared colour scale of the figure's heatmaps to
// [lo, hi] (lo < hi; lo > 0 with LogColour) instead of the range of their
// cells, and returns f: cells outside it take the colour of the nearer end,
// their value still printed in the cell. Use it when a few cells would
// otherwise stretch the scale over all the others (a normalised regret of
// −9 beside values in [0, 1]), or to give figures of the same metric the
// same scale. Invalid bounds are ignored.
func (f *Figure) ColourRange(lo, hi float64) *Figure {
	if !(lo < hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return f
	}
	f.spec.ColourMin, f.spec.ColourMax, f.spec.ColourFixed = lo, hi, true
	return f
}

// render returns the figure to draw, its size and columns filled in from
// f's fields.
func (f *Figure) render() *render.Figure {
	s := f.spec
	s.PanelWidth, s.PanelHeight, s.Columns = f.PanelWidth, f.PanelHeight, f.Columns
	return &s
}

// SVG renders the figure as an SVG document, or returns an error when it
// has no panels.
func (f *Figure) SVG() ([]byte, error) { return f.render().SVG() }

// Save writes the figure to path: SVG for ".svg", PNG (at twice the layout
// size, as displayed) for ".png", PDF for ".pdf".
func (f *Figure) Save(path string) error { return f.render().Save(path) }

// Display shows the figure inline when running inside a GoNB notebook
// (gonbui.IsNotebook) and does nothing elsewhere: one display_data bundle of
// image/png (2× its layout size), image/svg+xml, application/pdf and
// text/plain ("Figure: <title> (N panels)"), which untrusted notebooks and
// nbconvert's HTML, LaTeX and PDF exports all show. A figure that cannot be
// drawn (no panels: say, a Heatmap of an empty Table) shows the error as
// text. It returns f.
func (f *Figure) Display() *Figure {
	f.render().Display()
	return f
}

// bundle is what Display sends.
func (f *Figure) bundle() *protocol.DisplayData { return f.render().Bundle() }
