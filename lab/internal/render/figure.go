package render

import (
	"fmt"
	"slices"
	"strings"

	"gonum.org/v1/plot/vg"
)

// Default size and arrangement of a figure's panels: every figure of the lab
// has them unless its PanelWidth, PanelHeight or Columns say otherwise.
const (
	DefaultPanelWidth  = 10 * vg.Centimeter
	DefaultPanelHeight = 7 * vg.Centimeter
	// MaxColumns is the most panels DefaultColumns puts in a row.
	MaxColumns = 3
)

// DefaultColumns returns the number of panels per row of a figure of n
// panels: all of them in one row up to MaxColumns, else the fewest rows of
// at most MaxColumns, filled evenly (4 panels: 2 × 2; 5: 3 + 2).
func DefaultColumns(n int) int {
	if n <= 1 {
		return 1
	}
	rows := (n + MaxColumns - 1) / MaxColumns
	return (n + rows - 1) / rows
}

// ProbMax is the top of a probability axis: 1 plus a little headroom.
const ProbMax = 1.05

// Figure is what to draw: a grid of panels under an optional title, with one
// legend above them shared by all panels (one entry per label, first-seen
// order: a series has the same colour in every panel), and, when panels are
// heatmaps, one colour bar, also above them. Zero sizes and columns mean the
// defaults (DefaultPanelWidth, DefaultPanelHeight, DefaultColumns). Text may
// carry script markup (see PlainText).
type Figure struct {
	Title  string
	Panels []Panel
	// PanelWidth and PanelHeight are the size of one panel; text is sized
	// with the width (see textScale).
	PanelWidth, PanelHeight vg.Length
	// Columns is the number of panels per row.
	Columns int
	// ColourLabel labels the colour bar of the heatmap panels; LogColour
	// makes their shared colour scale logarithmic (cells ≤ 0 are then grey,
	// their value still printed).
	ColourLabel string
	LogColour   bool
	// ColourMin and ColourMax, when ColourFixed, fix the shared colour
	// scale to [ColourMin, ColourMax] instead of the cells' range: cells
	// outside it take the colour of the nearer end (their value is still
	// printed), so one outlier does not wash out every other cell.
	ColourMin, ColourMax float64
	ColourFixed          bool
}

// Panel is one plot: lines (with optional markers and error bars), grouped
// bars over categories, a histogram, or a heatmap. A panel may hold lines
// and one of the others; the others exclude each other.
type Panel struct {
	Title, XLabel, YLabel string
	// LogX and LogY make the axes of a panel of lines logarithmic: values ≤ 0
	// (and error bars reaching them) are left out of the drawing. Other
	// panels keep linear axes.
	LogX, LogY bool
	// Prob marks a probability panel: the y axis starts at 0 (on a linear
	// axis) and ends at most at ProbMax; bars are clamped to [0, ProbMax]
	// and their axis is [0, ProbMax].
	Prob bool
	// XFromZero starts a panel of lines' x axis at 0 (training steps).
	XFromZero bool

	Lines []Line
	// Bars are groups of bars side by side, one bar per category each.
	Bars       []Bars
	Categories []string
	Histogram  *Histogram
	Heatmap    *Heatmap
}

// Line is one series of a panel of lines.
type Line struct {
	// Label is its legend entry ("": none).
	Label string
	// Style is its index in the run palette: the Okabe–Ito colours in turn,
	// solid for the first 8, then a new dash pattern every 8 (runColour,
	// runDash), and, with Markers, a marker shape of its own.
	Style int
	X, Y  []float64
	// Lo and Hi, where not nil, are error bars: from Y−Lo to Y+Hi.
	Lo, Hi []float64
	// Markers marks each point.
	Markers bool
	// Reference draws a thin grey dashed line (a level to compare with, such
	// as a win rate of ½) instead of a run's; Style is unused.
	Reference bool
}

// Bars is one group of a bar panel: a bar per category.
type Bars struct {
	Label string
	// Style is its index in the bar palette (barColours).
	Style int
	Y     []float64
}

// Histogram is a histogram panel's data: the values (NaN and ±Inf are left
// out) counted in Bins equal-width bins over [min, max] (Bins ≤ 0: 16), and
// x positions marked by dashed vertical lines.
type Histogram struct {
	Values []float64
	Bins   int
	Marks  []float64
}

// Heatmap is a heatmap panel's data: Z[i][j] the value of column i (named
// XNames[i]) and row j (YNames[j]), drawn in a viridis colour scale shared
// by all heatmap panels of the figure and printed in the cell with 2
// significant digits; NaN is a cell without a value, grey and marked "×".
// Names are evenly spaced, whatever values they stand for.
type Heatmap struct {
	XNames, YNames []string
	Z              [][]float64
}

// panelWidth, panelHeight and columns return the figure's sizes and
// columns, defaults filled in.
func (f *Figure) panelWidth() vg.Length {
	if f.PanelWidth > 0 {
		return f.PanelWidth
	}
	return DefaultPanelWidth
}

func (f *Figure) panelHeight() vg.Length {
	if f.PanelHeight > 0 {
		return f.PanelHeight
	}
	return DefaultPanelHeight
}

func (f *Figure) columns() int {
	if f.Columns > 0 {
		return f.Columns
	}
	return DefaultColumns(len(f.Panels))
}

// heatScale returns the colour scale shared by the figure's heatmap panels
// and whether it has any.
func (f *Figure) heatScale() (heatScale, bool) {
	var zs [][][]float64
	for _, p := range f.Panels {
		if p.Heatmap != nil {
			zs = append(zs, p.Heatmap.Z)
		}
	}
	s := newHeatScale(f.LogColour, zs...)
	if f.ColourFixed && f.ColourMin < f.ColourMax && (!f.LogColour || f.ColourMin > 0) {
		s.lo, s.hi = f.ColourMin, f.ColourMax
	}
	return s, len(zs) > 0
}

// layout builds the figure's plots, shared legend and colour bar, or returns
// an error when it has no panels.
func (f *Figure) layout() (*layout, error) {
	if len(f.Panels) == 0 {
		return nil, fmt.Errorf("lab: figure: no panels (nothing to plot)")
	}
	l := &layout{title: f.Title, cols: f.columns(), panelW: f.panelWidth(), panelH: f.panelHeight()}
	heat, hasHeat := f.heatScale()
	if hasHeat {
		l.bar = &colourBar{scale: heat, label: f.ColourLabel}
	}
	for _, p := range f.Panels {
		pl, err := p.build(l.panelW, l.scale(), heat, &l.legend)
		if err != nil {
			return nil, err
		}
		l.plots = append(l.plots, pl)
	}
	return l, nil
}

// Describe returns the figure's text/plain: "Figure: <title, or the distinct
// panel titles (at most 4)> (N panels)", markup as plain text.
func (f *Figure) Describe() string {
	name := f.Title
	if name == "" {
		var titles []string
		for _, p := range f.Panels {
			if p.Title != "" && !slices.Contains(titles, p.Title) {
				titles = append(titles, p.Title)
			}
		}
		if len(titles) > 4 {
			titles = append(titles[:4], "…")
		}
		name = strings.Join(titles, "; ")
	}
	if n := len(f.Panels); n != 1 {
		return fmt.Sprintf("Figure: %s (%d panels)", PlainText(name), n)
	}
	return fmt.Sprintf("Figure: %s (1 panel)", PlainText(name))
}

// SVG renders the figure as an SVG document.
func (f *Figure) SVG() ([]byte, error) {
	l, err := f.layout()
	if err != nil {
		return nil, err
	}
	return l.svg()
}

// Save writes the figure to path: SVG for ".svg", PNG (pngScale× the layout
// size, as displayed) for ".png", PDF for ".pdf".
func (f *Figure) Save(path string) error {
	l, err := f.layout()
	if err != nil {
		return fmt.Errorf("lab: saving %s: %w", path, err)
	}
	return l.save(path)
}
