package lab

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// MIME types of a figure's bundle that gonbui/protocol does not name.
const mimePDF protocol.MIMEType = "application/pdf"

// pngScale is the PNG's resolution in pixels per CSS pixel: 2, so the image
// stays sharp on high-density screens when shown at its layout size.
const pngScale = 2

// cssPixels returns a length in CSS pixels (1/96 inch), rounded.
func cssPixels(l vg.Length) int { return int(math.Round(l.Dots(96))) }

// figureBundle renders a figure's layout as the one display_data bundle a
// notebook keeps: image/png at pngScale× its size (metadata width and height
// in CSS pixels, so Jupyter shows it at its layout size), image/svg+xml,
// application/pdf (used by nbconvert's LaTeX/PDF export instead of converting
// the SVG with inkscape) and text/plain (desc). Untrusted notebooks, which
// drop text/html, show the PNG or the SVG.
func figureBundle(l *layout, desc string) (*protocol.DisplayData, error) {
	svg, err := l.svg()
	if err != nil {
		return nil, err
	}
	png, w, h, err := l.png()
	if err != nil {
		return nil, err
	}
	pdf, err := l.pdf()
	if err != nil {
		return nil, err
	}
	return &protocol.DisplayData{
		Data: map[protocol.MIMEType]any{
			protocol.MIMEImagePNG:  png,
			protocol.MIMEImageSVG:  string(svg),
			mimePDF:                pdf,
			protocol.MIMETextPlain: desc,
		},
		// map[string]int is one of the types gonbui/protocol registers with
		// gob: the bundle travels to GoNB gob-encoded.
		Metadata: map[string]any{string(protocol.MIMEImagePNG): map[string]int{"width": w, "height": h}},
	}, nil
}

// errorBundle shows err as text: text/plain and an escaped text/html <pre>.
func errorBundle(err error) *protocol.DisplayData {
	msg := err.Error()
	return &protocol.DisplayData{Data: map[protocol.MIMEType]any{
		protocol.MIMETextPlain: msg,
		protocol.MIMETextHTML:  `<pre style="color:#b00">` + html.EscapeString(msg) + "</pre>",
	}}
}

// tableBundle shows a table as text/html and, for front ends and exports
// that keep only text, as aligned text/plain.
func tableBundle(htmlTable, text string) *protocol.DisplayData {
	return &protocol.DisplayData{Data: map[protocol.MIMEType]any{
		protocol.MIMETextHTML:  htmlTable,
		protocol.MIMETextPlain: text,
	}}
}

// send shows d in a GoNB notebook and waits until GoNB has it (the cell's
// process may exit right after); outside a notebook it does nothing.
func send(d *protocol.DisplayData) {
	if !gonbui.IsNotebook {
		return
	}
	gonbui.SendData(d)
	gonbui.Sync()
}

// displayLayout is the display path of Figure and Chart: it renders l (or
// shows err) and sends the bundle to the notebook. It renders nothing
// outside a notebook.
func displayLayout(l *layout, err error) {
	if !gonbui.IsNotebook {
		return
	}
	send(layoutBundle(l, err))
}

// layoutBundle is the bundle displayLayout sends: the figure, or the error
// (l's or rendering's) as text.
func layoutBundle(l *layout, err error) *protocol.DisplayData {
	if err != nil {
		return errorBundle(err)
	}
	d, err := figureBundle(l, l.describe())
	if err != nil {
		return errorBundle(err)
	}
	return d
}

// describe returns the figure's text/plain: "Figure: <title or panel titles>
// (N panels)", with any markup (π_{ref}) as plain text.
func (l *layout) describe() string {
	name := l.title
	if name == "" {
		var titles []string
		for _, p := range l.plots {
			if p != nil && p.Title.Text != "" && !slices.Contains(titles, p.Title.Text) {
				titles = append(titles, p.Title.Text)
			}
		}
		if len(titles) > 4 {
			titles = append(titles[:4], "…")
		}
		name = strings.Join(titles, "; ")
	}
	n := len(l.plots)
	s := fmt.Sprintf("Figure: %s (%d panels)", plainText(name), n)
	if n == 1 {
		s = fmt.Sprintf("Figure: %s (1 panel)", plainText(name))
	}
	return s
}

// svg renders the layout as an SVG document whose text falls back to Arial,
// Helvetica or any sans-serif font where Liberation Sans is not installed.
func (l *layout) svg() ([]byte, error) {
	w, h := l.size()
	c := vgsvg.New(w, h)
	l.paint(c)
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("lab: rendering SVG: %w", err)
	}
	return bytes.ReplaceAll(buf.Bytes(), []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")), nil
}

// png renders the layout as a PNG of pngScale × its size in CSS pixels and
// returns it with that size (w × h CSS pixels: the PNG is 2w × 2h).
func (l *layout) png() (data []byte, w, h int, err error) {
	lw, lh := l.size()
	w, h = cssPixels(lw), cssPixels(lh)
	img := image.NewRGBA(image.Rect(0, 0, pngScale*w, pngScale*h))
	c := vgimg.NewWith(vgimg.UseImage(img), vgimg.UseDPI(pngScale*96))
	l.paint(c)
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, 0, 0, fmt.Errorf("lab: rendering PNG: %w", err)
	}
	return buf.Bytes(), w, h, nil
}

// pdf renders the layout as a one-page PDF with subsetted, searchable fonts.
func (l *layout) pdf() ([]byte, error) {
	w, h := l.size()
	c := newPDFCanvas(w, h)
	l.paint(c)
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("lab: rendering PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// save writes the layout to path: SVG for ".svg", PNG (pngScale× the layout
// size) for ".png", PDF for ".pdf".
func (l *layout) save(path string) error {
	var data []byte
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		data, err = l.svg()
	case ".png":
		data, _, _, err = l.png()
	case ".pdf":
		data, err = l.pdf()
	default:
		err = fmt.Errorf("unknown extension %q (want .svg, .png or .pdf)", filepath.Ext(path))
	}
	if err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	if err != nil {
		return fmt.Errorf("lab: saving %s: %w", path, err)
	}
	return nil
}
