package render

import (
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// Text in the lab's figures is plain text with two pieces of markup, for the
// labels of the paper's notation:
//
//	_{…}  a subscript   π_{ref} → π with "ref" lowered and smaller
//	^{…}  a superscript 10^{−30} → 10 with "−30" raised and smaller
//
// An "_" or "^" not followed by "{" is printed as it is; scripts do not nest.
// scriptText draws this markup (in SVG, PNG and PDF alike); PlainText turns
// it into plain text for text/plain.

// Size and baseline shift of scripts, as fractions of the text's size.
const (
	scriptSize  = 0.7
	superRaise  = 0.36
	subLowering = 0.16
)

// textRun is a piece of a line of text: base text (shift 0), a superscript
// (+1) or a subscript (−1).
type textRun struct {
	s     string
	shift int
}

// parseScripts splits a line of text into runs.
func parseScripts(line string) []textRun {
	var runs []textRun
	var base strings.Builder
	flush := func() {
		if base.Len() > 0 {
			runs = append(runs, textRun{s: base.String()})
			base.Reset()
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		if (c == '_' || c == '^') && i+1 < len(line) && line[i+1] == '{' {
			if end := strings.IndexByte(line[i+2:], '}'); end >= 0 {
				flush()
				shift := 1
				if c == '_' {
					shift = -1
				}
				runs = append(runs, textRun{s: line[i+2 : i+2+end], shift: shift})
				i += 2 + end
				continue
			}
		}
		base.WriteByte(c)
	}
	flush()
	return runs
}

// PlainText returns s without script markup: "π_{ref}" → "π_ref",
// "10^{−30}" → "10^−30".
func PlainText(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		for _, r := range parseScripts(line) {
			switch r.shift {
			case 1:
				b.WriteString("^")
			case -1:
				b.WriteString("_")
			}
			b.WriteString(r.s)
		}
	}
	return b.String()
}

// scriptText is a text.Handler for text with script markup; text without
// markup is measured and drawn exactly as text.Plain does.
type scriptText struct {
	fonts *font.Cache
}

// textHandler is the handler of every text in the lab's figures.
func textHandler() text.Handler { return scriptText{fonts: plot.DefaultTextHandler.Cache()} }

var _ text.Handler = scriptText{}

// Cache implements text.Handler.
func (h scriptText) Cache() *font.Cache { return h.fonts }

// Extents implements text.Handler: the extents of the base font.
func (h scriptText) Extents(fnt font.Font) font.Extents {
	face := h.fonts.Lookup(fnt, fnt.Size)
	return face.Extents()
}

// Lines implements text.Handler.
func (h scriptText) Lines(txt string) []string {
	return strings.Split(strings.TrimRight(txt, "\n"), "\n")
}

// runFont returns the face a run is drawn in and its baseline shift.
func (h scriptText) runFont(fnt font.Font, r textRun) (font.Face, vg.Length) {
	if r.shift == 0 {
		return h.fonts.Lookup(fnt, fnt.Size), 0
	}
	size := fnt.Size * scriptSize
	shift := superRaise * fnt.Size
	if r.shift < 0 {
		shift = -subLowering * fnt.Size
	}
	return h.fonts.Lookup(fnt, size), shift
}

// lineWidth returns the width of one line of text.
func (h scriptText) lineWidth(line string, fnt font.Font) vg.Length {
	var w vg.Length
	for _, r := range parseScripts(line) {
		face, _ := h.runFont(fnt, r)
		w += face.Width(r.s)
	}
	return w
}

// Box implements text.Handler: the width of the line, the base font's
// ascent and descent (scripts stay within the line's height).
func (h scriptText) Box(txt string, fnt font.Font) (width, height, depth vg.Length) {
	ext := h.Extents(fnt)
	return h.lineWidth(txt, fnt), ext.Ascent, ext.Descent
}

// Draw implements text.Handler, as text.Plain.Draw run by run.
func (h scriptText) Draw(c vg.Canvas, txt string, sty text.Style, pt vg.Point) {
	txt = strings.TrimRight(txt, "\n")
	if txt == "" {
		return
	}
	base := h.fonts.Lookup(sty.Font, sty.Font.Size)
	c.SetColor(sty.Color)
	if sty.Rotation != 0 {
		c.Push()
		defer c.Pop()
		c.Rotate(sty.Rotation)
	}
	sin64, cos64 := math.Sincos(sty.Rotation)
	cos, sin := vg.Length(cos64), vg.Length(sin64)
	pt.X, pt.Y = pt.Y*sin+pt.X*cos, pt.Y*cos-pt.X*sin
	lines := h.Lines(txt)
	pt.Y += sty.Height(txt)*vg.Length(sty.YAlign) - base.Extents().Ascent
	for i, line := range lines {
		x := pt.X + vg.Length(sty.XAlign)*h.lineWidth(line, sty.Font)
		y := pt.Y + vg.Length(len(lines)-i)*sty.Font.Size
		for _, r := range parseScripts(line) {
			face, shift := h.runFont(sty.Font, r)
			c.FillString(face, vg.Point{X: x, Y: y + shift}, r.s)
			x += face.Width(r.s)
		}
	}
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
