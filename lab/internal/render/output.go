package render

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// pngScale is the PNG's resolution in pixels per CSS pixel: 2, so the image
// stays sharp on high-density screens when shown at its layout size.
const pngScale = 2

// cssPixels returns a length in CSS pixels (1/96 inch), rounded.
func cssPixels(l vg.Length) int { return int(math.Round(l.Dots(96))) }

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
