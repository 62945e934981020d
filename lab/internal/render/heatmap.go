package render

import (
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// addHeatmap draws h on pl: its cells coloured by scale (shared with the
// figure's other heatmap panels, keyed by its colour bar), its names on the
// axes.
func addHeatmap(pl *plot.Plot, h *Heatmap, scale heatScale) {
	pl.Add(heatCells{heat: h, texts: cellTexts(h.Z), scale: scale})
	pl.X.Tick.Marker = nominalTicks(h.XNames)
	pl.Y.Tick.Marker = nominalTicks(h.YNames)
	pl.X.Min, pl.X.Max = -0.5, float64(len(h.XNames))-0.5
	pl.Y.Min, pl.Y.Max = -0.5, float64(len(h.YNames))-0.5
}

// cellTexts returns the printed value of each cell: compactNumber, "×"
// where there is none.
func cellTexts(z [][]float64) [][]string {
	out := make([][]string, len(z))
	for i, col := range z {
		out[i] = make([]string, len(col))
		for j, v := range col {
			out[i][j] = "×"
			if !math.IsNaN(v) {
				out[i][j] = compactNumber(v)
			}
		}
	}
	return out
}

// heatCells draws a heatmap panel's cells, coloured by a scale shared with
// the figure's other panels, with each cell's text at its centre: in a font
// sized to the drawn cell (the widest text fills at most 85% of a cell's
// width and 45% of its height, between 5 and 13 points), white on dark cells
// and black on light ones (isDark).
type heatCells struct {
	heat  *Heatmap
	texts [][]string
	scale heatScale
}

// cellOverlap is how far a heatmap cell is drawn into its neighbours.
const cellOverlap = vg.Length(0.4)

// cellColour returns the fill of cell (i, j).
func (h heatCells) cellColour(i, j int) color.Color { return h.scale.colour(h.heat.Z[i][j]) }

// Plot implements plot.Plotter.
func (h heatCells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	cols, rows := len(h.heat.XNames), len(h.heat.YNames)
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
	for _, col := range h.texts {
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
	for i, col := range h.texts {
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
