package render

import (
	"html"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// MIMEPDF is the MIME type of a figure's PDF, which gonbui/protocol does not
// name.
const MIMEPDF protocol.MIMEType = "application/pdf"

// Display shows the figure inline when running inside a GoNB notebook
// (gonbui.IsNotebook) and does nothing elsewhere, not even render: it sends
// Bundle.
func (f *Figure) Display() {
	if !gonbui.IsNotebook {
		return
	}
	Send(f.Bundle())
}

// Bundle renders the figure as the one display_data bundle a notebook keeps:
// image/png at pngScale× its size (metadata width and height in CSS pixels,
// so Jupyter shows it at its layout size), image/svg+xml, application/pdf
// (used by nbconvert's LaTeX/PDF export instead of converting the SVG with
// inkscape) and text/plain (Describe). Untrusted notebooks, which drop
// text/html, show the PNG or the SVG. A figure that cannot be drawn (no
// panels, a rendering error) gives ErrorBundle.
func (f *Figure) Bundle() *protocol.DisplayData {
	l, err := f.layout()
	if err != nil {
		return ErrorBundle(err)
	}
	svg, err := l.svg()
	if err != nil {
		return ErrorBundle(err)
	}
	png, w, h, err := l.png()
	if err != nil {
		return ErrorBundle(err)
	}
	pdf, err := l.pdf()
	if err != nil {
		return ErrorBundle(err)
	}
	return &protocol.DisplayData{
		Data: map[protocol.MIMEType]any{
			protocol.MIMEImagePNG:  png,
			protocol.MIMEImageSVG:  string(svg),
			MIMEPDF:                pdf,
			protocol.MIMETextPlain: f.Describe(),
		},
		// map[string]int is one of the types gonbui/protocol registers with
		// gob: the bundle travels to GoNB gob-encoded.
		Metadata: map[string]any{string(protocol.MIMEImagePNG): map[string]int{"width": w, "height": h}},
	}
}

// ErrorBundle shows err as text: text/plain and an escaped text/html <pre>.
func ErrorBundle(err error) *protocol.DisplayData {
	msg := err.Error()
	return &protocol.DisplayData{Data: map[protocol.MIMEType]any{
		protocol.MIMETextPlain: msg,
		protocol.MIMETextHTML:  `<pre style="color:#b00">` + html.EscapeString(msg) + "</pre>",
	}}
}

// TableBundle shows a table as text/html and, for front ends and exports
// that keep only text, as aligned text/plain.
func TableBundle(htmlTable, text string) *protocol.DisplayData {
	return &protocol.DisplayData{Data: map[protocol.MIMEType]any{
		protocol.MIMETextHTML:  htmlTable,
		protocol.MIMETextPlain: text,
	}}
}

// Send shows d in a GoNB notebook and waits until GoNB has it (the cell's
// process may exit right after); outside a notebook it does nothing.
func Send(d *protocol.DisplayData) {
	if !gonbui.IsNotebook {
		return
	}
	gonbui.SendData(d)
	gonbui.Sync()
}
