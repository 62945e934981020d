package render

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// legendItem is one entry of a figure's shared legend.
type legendItem struct {
	label  string
	thumbs []plot.Thumbnailer
}

// figureLegend is a figure's shared legend: one entry per label, first-seen order.
type figureLegend []legendItem

// add adds an entry for label drawn with thumbs, unless label is "" or
// already has one.
func (l *figureLegend) add(label string, thumbs ...plot.Thumbnailer) {
	if label == "" {
		return
	}
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

// scale is the factor of the figure's text sizes (see textScale).
func (l *layout) scale() float64 { return textScale(l.panelW) }

// rows is the number of rows of panels.
func (l *layout) rows() int { return max(1, (len(l.plots)+l.cols-1)/l.cols) }

// textStyle is the style of header text at size points (before scaling).
func (l *layout) textStyle(size float64) text.Style {
	return text.Style{Color: color.Black, Font: sans(size * l.scale()), XAlign: draw.XLeft,
		YAlign: draw.YCenter, Handler: textHandler()}
}

// Width of a legend entry's thumbnail and the gaps of the legend, in points
// before scaling.
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
