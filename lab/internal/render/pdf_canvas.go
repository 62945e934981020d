// The PDF canvas below follows gonum's vgpdf (gonum.org/v1/plot/vg/vgpdf,
// Copyright ©2015 The Gonum Authors, BSD-style licence) line for line, except
// for its fonts: vgpdf converts TrueType fonts to the cp1252 code page, which
// has no π, β, ‖ or −, so those labels come out as garbage glyphs whether or
// not the font is embedded. pdfCanvas embeds each font as a UTF-8 (Type0,
// Identity-H) font that fpdf subsets to the glyphs used and that carries a
// ToUnicode map, so the text can be searched and copied.

package render

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"time"

	pdf "codeberg.org/go-pdf/fpdf"
	stdfnt "golang.org/x/image/font"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// pdfDPI is the nominal resolution of drawing in PDF: one unit is one point.
const pdfDPI = 72

// pdfCanvas implements vg.Canvas on a one-page PDF document whose fonts are
// subsetted UTF-8 TrueType fonts. Drawing errors are kept by the document
// and returned by WriteTo.
type pdfCanvas struct {
	doc       *pdf.Fpdf
	w, h      vg.Length
	stack     []pdfContext
	fonts     map[string]bool // fonts registered with doc, by name and style
	numImages int
	err       error // the first error outside doc (font data)
}

type pdfContext struct {
	width vg.Length
}

// pdfDate is every PDF's creation and modification date.
var pdfDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newPDFCanvas returns a canvas for a PDF page of size w × h.
func newPDFCanvas(w, h vg.Length) *pdfCanvas {
	doc := pdf.NewCustom(&pdf.InitType{UnitStr: "pt", Size: pdf.SizeType{Wd: w.Points(), Ht: h.Points()}})
	doc.SetCompression(true)
	doc.SetProducer("robustpo lab", true)
	// A fixed date, not the time of drawing: the same figure gives the same
	// bytes, so a re-executed notebook changes only where its results do.
	doc.SetCreationDate(pdfDate)
	doc.SetModificationDate(pdfDate)
	c := &pdfCanvas{doc: doc, w: w, h: h, stack: make([]pdfContext, 1), fonts: map[string]bool{}}
	doc.SetMargins(0, 0, 0)
	doc.SetAutoPageBreak(false, 0)
	doc.AddPage()
	c.Push()
	c.Translate(vg.Point{X: 0, Y: h})
	c.Scale(1, -1)
	vg.Initialize(c)
	return c
}

func (c *pdfCanvas) context() *pdfContext { return &c.stack[len(c.stack)-1] }

// Size returns the page size.
func (c *pdfCanvas) Size() (w, h vg.Length) { return c.w, c.h }

// unit converts a length to PDF points.
func (c *pdfCanvas) unit(l vg.Length) float64 { return l.Dots(pdfDPI) }

func (c *pdfCanvas) point(pt vg.Point) (float64, float64) { return c.unit(pt.X), c.unit(pt.Y) }

// SetLineWidth implements vg.Canvas.
func (c *pdfCanvas) SetLineWidth(w vg.Length) {
	c.context().width = w
	c.doc.SetLineWidth(c.unit(w))
}

// SetLineDash implements vg.Canvas.
func (c *pdfCanvas) SetLineDash(dashes []vg.Length, offs vg.Length) {
	ds := make([]float64, len(dashes))
	for i, d := range dashes {
		ds[i] = c.unit(d)
	}
	c.doc.SetDashPattern(ds, c.unit(offs))
}

// SetColor implements vg.Canvas.
func (c *pdfCanvas) SetColor(clr color.Color) {
	if clr == nil {
		clr = color.Black
	}
	r, g, b, a := clr.RGBA()
	// Colours are alpha-premultiplied: undo it for the PDF's RGB and alpha.
	un := func(v uint32) int {
		if a == 0 {
			return 0
		}
		return int(math.Round(float64(v) * 255 / float64(a)))
	}
	c.doc.SetFillColor(un(r), un(g), un(b))
	c.doc.SetDrawColor(un(r), un(g), un(b))
	c.doc.SetTextColor(un(r), un(g), un(b))
	c.doc.SetAlpha(float64(a)/math.MaxUint16, "Normal")
}

// Rotate implements vg.Canvas.
func (c *pdfCanvas) Rotate(r float64) { c.doc.TransformRotate(-r*180/math.Pi, 0, 0) }

// Translate implements vg.Canvas.
func (c *pdfCanvas) Translate(pt vg.Point) { c.doc.TransformTranslate(c.point(pt)) }

// Scale implements vg.Canvas.
func (c *pdfCanvas) Scale(x, y float64) { c.doc.TransformScale(x*100, y*100, 0, 0) }

// Push implements vg.Canvas.
func (c *pdfCanvas) Push() {
	c.stack = append(c.stack, *c.context())
	c.doc.TransformBegin()
}

// Pop implements vg.Canvas.
func (c *pdfCanvas) Pop() {
	c.doc.TransformEnd()
	c.stack = c.stack[:len(c.stack)-1]
}

// Stroke implements vg.Canvas.
func (c *pdfCanvas) Stroke(p vg.Path) {
	if c.context().width > 0 {
		c.path(p, "D")
	}
}

// Fill implements vg.Canvas.
func (c *pdfCanvas) Fill(p vg.Path) { c.path(p, "F") }

// fontStyle is fpdf's style string of a font: "", "B", "I" or "BI".
func fontStyle(f font.Font) string {
	s := ""
	if f.Weight == stdfnt.WeightBold {
		s += "B"
	}
	if f.Style == stdfnt.StyleItalic {
		s += "I"
	}
	return s
}

// FillString implements vg.Canvas: str in the font fnt, its baseline's left
// end at pt.
func (c *pdfCanvas) FillString(fnt font.Face, pt vg.Point, str string) {
	if fnt.Font.Size == 0 || !c.addFont(fnt) {
		return
	}
	c.doc.SetFont(fnt.Name(), fontStyle(fnt.Font), c.unit(fnt.Font.Size))
	c.Push()
	defer c.Pop()
	c.Translate(pt)
	c.Scale(1, -1) // fpdf's text origin is the top left corner
	_, h := c.doc.GetFontSize()
	d := c.doc.GetFontDesc(fnt.Name(), fontStyle(fnt.Font))
	top := -0.81 * h // no metrics: the average ascent
	if d.Ascent != 0 {
		top = -float64(d.Ascent) * h / float64(d.Ascent-d.Descent)
	}
	c.doc.MoveTo(-c.doc.GetCellMargin(), top)
	c.doc.CellFormat(c.doc.GetStringWidth(str), h, str, "", 0, "BL", false, 0, "")
}

// addFont registers fnt's TrueType data with the document as a UTF-8 font
// (subsetted when written), once for all sizes, and reports whether it can
// be used.
func (c *pdfCanvas) addFont(fnt font.Face) bool {
	key := fnt.Name() + "/" + fontStyle(fnt.Font)
	if ok, seen := c.fonts[key]; seen {
		return ok
	}
	var raw bytes.Buffer
	if fnt.Face == nil {
		c.setErr(fmt.Errorf("lab: PDF: no font data for %q", fnt.Name()))
	} else if _, err := fnt.Face.WriteSourceTo(nil, &raw); err != nil {
		c.setErr(fmt.Errorf("lab: PDF: font %q: %w", fnt.Name(), err))
	} else {
		c.doc.AddUTF8FontFromBytes(fnt.Name(), fontStyle(fnt.Font), raw.Bytes())
	}
	ok := c.err == nil && c.doc.Error() == nil
	c.fonts[key] = ok
	return ok
}

func (c *pdfCanvas) setErr(err error) {
	if c.err == nil {
		c.err = err
	}
}

// DrawImage implements vg.Canvas.
func (c *pdfCanvas) DrawImage(rect vg.Rectangle, img image.Image) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		c.setErr(fmt.Errorf("lab: PDF: encoding an image: %w", err))
		return
	}
	c.numImages++
	name := fmt.Sprintf("image_%03d.png", c.numImages)
	opts := pdf.ImageOptions{ImageType: "png", ReadDpi: true}
	c.doc.RegisterImageOptionsReader(name, opts, &buf)
	x, y := c.point(rect.Min)
	w, h := c.point(rect.Size())
	c.doc.ImageOptions(name, x, y, w, h, false, opts, 0, "")
}

// path adds p to the page and strokes ("D") or fills ("F") it.
func (c *pdfCanvas) path(p vg.Path, style string) {
	var x0, y0 float64
	for _, comp := range p {
		switch comp.Type {
		case vg.MoveComp:
			x0, y0 = c.point(comp.Pos)
			c.doc.MoveTo(x0, y0)
		case vg.LineComp:
			c.doc.LineTo(c.point(comp.Pos))
		case vg.ArcComp:
			c.arc(comp, style)
		case vg.CurveComp:
			px, py := c.point(comp.Pos)
			switch len(comp.Control) {
			case 1:
				cx, cy := c.point(comp.Control[0])
				c.doc.CurveTo(cx, cy, px, py)
			case 2:
				cx, cy := c.point(comp.Control[0])
				dx, dy := c.point(comp.Control[1])
				c.doc.CurveBezierCubicTo(cx, cy, dx, dy, px, py)
			default:
				c.setErr(fmt.Errorf("lab: PDF: a curve with %d control points", len(comp.Control)))
			}
		case vg.CloseComp:
			c.doc.LineTo(x0, y0)
			c.doc.ClosePath()
		default:
			c.setErr(fmt.Errorf("lab: PDF: unknown path component type %d", comp.Type))
		}
	}
	c.doc.DrawPath(style)
}

func (c *pdfCanvas) arc(comp vg.PathComp, style string) {
	x0 := comp.Pos.X + comp.Radius*vg.Length(math.Cos(comp.Start))
	y0 := comp.Pos.Y + comp.Radius*vg.Length(math.Sin(comp.Start))
	c.doc.LineTo(c.point(vg.Point{X: x0, Y: y0}))
	r := c.unit(comp.Radius)
	const deg = 180 / math.Pi
	beg := comp.Start * deg
	c.doc.Arc(c.unit(comp.Pos.X), c.unit(comp.Pos.Y), r, r, comp.Angle*deg, beg, beg+comp.Angle*deg, style)
	x1 := comp.Pos.X + comp.Radius*vg.Length(math.Cos(comp.Start+comp.Angle))
	y1 := comp.Pos.Y + comp.Radius*vg.Length(math.Sin(comp.Start+comp.Angle))
	c.doc.MoveTo(c.point(vg.Point{X: x1, Y: y1}))
}

// WriteTo writes the PDF document to w; the canvas can no longer be drawn on.
func (c *pdfCanvas) WriteTo(w io.Writer) (int64, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.Pop()
	c.doc.Close()
	cw := &countWriter{w: w}
	b := bufio.NewWriter(cw)
	if err := c.doc.Output(b); err != nil {
		return cw.n, fmt.Errorf("lab: writing PDF: %w", err)
	}
	return cw.n, b.Flush()
}

// countWriter counts the bytes written to w.
type countWriter struct {
	w io.Writer
	n int64
}

func (cw *countWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	return n, err
}
