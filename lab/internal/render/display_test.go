package render

import (
	"bytes"
	"encoding/gob"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// checkFigureBundle checks a figure's display bundle: the four MIME types,
// a PNG of twice the CSS size in the metadata, an SVG that parses as XML, a
// PDF, a text/plain description starting with "Figure: ", and that GoNB's
// gob encoding (what gonbui.SendData does) accepts it. It returns the PDF.
func checkFigureBundle(t *testing.T, d *protocol.DisplayData) []byte {
	t.Helper()
	if len(d.Data) != 4 {
		t.Errorf("bundle has %d MIME types, want 4 (png, svg, pdf, text)", len(d.Data))
	}
	pngData, ok := d.Data[protocol.MIMEImagePNG].([]byte)
	if !ok {
		t.Fatalf("image/png is %T, want []byte (sent base64 in JSON)", d.Data[protocol.MIMEImagePNG])
	}
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatalf("image/png does not decode: %v", err)
	}
	meta, ok := d.Metadata[string(protocol.MIMEImagePNG)].(map[string]int)
	if !ok {
		t.Fatalf("metadata image/png is %T, want map[string]int", d.Metadata[string(protocol.MIMEImagePNG)])
	}
	b := img.Bounds()
	if meta["width"] <= 0 || b.Dx() != 2*meta["width"] || b.Dy() != 2*meta["height"] {
		t.Errorf("PNG is %d×%d pixels, metadata %d×%d CSS px: want exactly twice", b.Dx(), b.Dy(), meta["width"], meta["height"])
	}
	svg, ok := d.Data[protocol.MIMEImageSVG].(string)
	if !ok {
		t.Fatalf("image/svg+xml is %T, want string", d.Data[protocol.MIMEImageSVG])
	}
	dec := xml.NewDecoder(strings.NewReader(svg))
	var root string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("SVG root element %q, want svg", root)
	}
	pdf, ok := d.Data[MIMEPDF].([]byte)
	if !ok || !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf[max(0, len(pdf)-64):], []byte("%%EOF")) {
		t.Errorf("application/pdf is not a PDF document (%T, %d bytes)", d.Data[MIMEPDF], len(pdf))
	}
	if s, _ := d.Data[protocol.MIMETextPlain].(string); !strings.HasPrefix(s, "Figure: ") {
		t.Errorf("text/plain = %q, want a description starting with \"Figure: \"", s)
	}
	if err := gob.NewEncoder(io.Discard).Encode(d); err != nil {
		t.Errorf("the bundle does not gob-encode as gonbui.SendData needs: %v", err)
	}
	t.Logf("bundle: PNG %d×%d px, %d bytes; SVG %d bytes; PDF %d bytes", b.Dx(), b.Dy(), len(pngData), len(svg), len(pdf))
	return pdf
}

// pdfText returns the text of a PDF as poppler's pdftotext extracts it, or
// skips the test where pdftotext is not installed.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext (poppler-utils) not installed: PDF text not checked")
	}
	path := filepath.Join(t.TempDir(), "f.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestFigureBundle(t *testing.T) {
	f := twoRuns()
	f.Panels = append(f.Panels,
		Panel{Title: "forward KL to the reference", XLabel: "training step", YLabel: "KL(π_{ref}‖π)", LogY: true,
			Lines: []Line{{Label: "DPO β=0.5", X: steps(3), Y: []float64{0.01, 0.5, 2}}}},
		Panel{Title: "DPO gradient weight", XLabel: "training step", YLabel: "gradient weight σ(−β·Δh)",
			Lines: []Line{{Label: "DPO β=0.5", X: steps(3), Y: []float64{0.5, 0.3, 0.1}}}})
	d := f.Bundle()
	pdf := checkFigureBundle(t, d)
	if got, want := d.Data[protocol.MIMETextPlain], "Figure: probability of a; training loss; forward KL to the reference; DPO gradient weight (4 panels)"; got != want {
		t.Errorf("text/plain = %q, want %q", got, want)
	}
	// 4 panels: 2 × 2 of the default size, the PNG at twice it.
	if w := d.Metadata[string(protocol.MIMEImagePNG)].(map[string]int)["width"]; w != 2*cssPixels(DefaultPanelWidth) {
		t.Errorf("PNG width %d CSS px, want two default panels (%d)", w, 2*cssPixels(DefaultPanelWidth))
	}
	// The PDF's fonts are UTF-8: its text, Greek and all, can be extracted.
	text := pdfText(t, pdf)
	for _, s := range []string{"DPO β=0.5", "KL(π", "‖π)", "gradient weight σ(−β·Δh)", "training step", "P(a)"} {
		if !strings.Contains(text, s) {
			t.Errorf("PDF text lacks %q:\n%s", s, text)
		}
	}
}

func TestHeatmapBundle(t *testing.T) {
	f := &Figure{ColourLabel: "KL(π_{ref}‖π)", LogColour: true, Panels: []Panel{
		{Title: "γ = 0", Heatmap: &Heatmap{XNames: []string{"1", "2"}, YNames: []string{"1"}, Z: [][]float64{{0.5}, {math.NaN()}}}},
		{Title: "γ = 1", Heatmap: &Heatmap{XNames: []string{"1", "2"}, YNames: []string{"1"}, Z: [][]float64{{5}, {0}}}}}}
	d := f.Bundle()
	checkFigureBundle(t, d)
	if got := d.Data[protocol.MIMETextPlain]; got != "Figure: γ = 0; γ = 1 (2 panels)" {
		t.Errorf("text/plain = %q", got)
	}
}

func TestErrorBundle(t *testing.T) {
	d := (&Figure{}).Bundle()
	if len(d.Data) != 2 {
		t.Fatalf("error bundle %v, want text/plain and text/html", d.Data)
	}
	if s := d.Data[protocol.MIMETextPlain].(string); !strings.Contains(s, "no panels") {
		t.Errorf("error text %q", s)
	}
	d = ErrorBundle(errors.New("a <b> & c"))
	if h := d.Data[protocol.MIMETextHTML].(string); !strings.Contains(h, "a &lt;b&gt; &amp; c") {
		t.Errorf("error HTML not escaped: %q", h)
	}
	d = TableBundle("<table></table>", "t")
	if err := gob.NewEncoder(io.Discard).Encode(d); err != nil || len(d.Data) != 2 {
		t.Errorf("table bundle %v (gob: %v)", d.Data, err)
	}
	(&Figure{}).Display() // no-op outside a notebook
	Send(d)
}

func TestSaveFormats(t *testing.T) {
	f := twoRuns()
	dir := t.TempDir()
	for ext, magic := range map[string]string{".svg": "<?xml", ".png": "\x89PNG", ".pdf": "%PDF-"} {
		path := filepath.Join(dir, "f"+ext)
		if err := f.Save(path); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte(magic)) {
			t.Errorf("Save(%s) wrote %q…", ext, data[:min(len(data), 8)])
		}
	}
	if err := f.Save(filepath.Join(dir, "f.jpg")); err == nil || !strings.Contains(err.Error(), ".pdf") {
		t.Errorf("Save(.jpg) error %v, want one naming the extensions", err)
	}
	if err := (&Figure{}).Save(filepath.Join(dir, "empty.svg")); err == nil {
		t.Error("Save of a figure without panels: no error")
	}
}

// TestBundleReproducible checks that drawing the same figure twice, more
// than a second apart (the resolution of a PDF date), gives the same bytes
// for every format: a re-executed notebook changes only where its results do.
func TestBundleReproducible(t *testing.T) {
	a := twoRuns().Bundle()
	time.Sleep(1100 * time.Millisecond)
	b := twoRuns().Bundle()
	for mime, v := range a.Data {
		if fmt.Sprint(v) != fmt.Sprint(b.Data[mime]) {
			t.Errorf("%s differs between two drawings of the same figure", mime)
		}
	}
}
