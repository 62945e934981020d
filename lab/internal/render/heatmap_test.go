package render

import (
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
)

func TestHeatmapCellText(t *testing.T) {
	f := &Figure{ColourLabel: "loss", Panels: []Panel{{Title: "loss", XLabel: "β", YLabel: "γ",
		Heatmap: &Heatmap{XNames: []string{"1", "2"}, YNames: []string{"0", "1"}, Z: [][]float64{{1.02, 11.02}, {2.02, 12.02}}}}}}
	svg, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	// 2×2 cells of about 4 cm × 2.5 cm: the labels get the 13 pt maximum.
	re := regexp.MustCompile(`font-size:([0-9.]+)px[^>]*>(1|2|11|12)<`)
	ms := re.FindAllSubmatch(svg, -1)
	// The cells 1, 2, 11, 12 at 13 pt; the ticks 1, 2 (β) and 1 (γ), and
	// any of the colour bar's, at 8 pt.
	sizes := map[float64]int{}
	for _, m := range ms {
		size, _ := strconv.ParseFloat(string(m[1]), 64)
		sizes[size]++
	}
	if sizes[13] != 4 || sizes[tickSize] < 3 || len(sizes) != 2 {
		t.Errorf("font sizes of texts 1, 2, 11, 12: %v, want 4 cells at 13 and the rest ticks at %d", sizes, tickSize)
	}
	// A 40×40 grid in a small panel: cells of about 2 mm get the 5 pt minimum.
	h := &Heatmap{Z: make([][]float64, 40)}
	for i := range 40 {
		h.XNames = append(h.XNames, strconv.Itoa(i))
		h.YNames = append(h.YNames, strconv.Itoa(i))
		h.Z[i] = make([]float64, 40)
		for j := range 40 {
			h.Z[i][j] = float64(i*j) + 0.123
		}
	}
	small := &Figure{Panels: []Panel{{Heatmap: h}}, PanelWidth: 8 * vg.Centimeter, PanelHeight: 8 * vg.Centimeter}
	svg, err = small.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`font-size:([0-9.]+)px[^>]*>0\.12<`).FindSubmatch(svg); m == nil || string(m[1]) != "5" {
		t.Errorf("40×40 heatmap: cell label 0.12 font %q, want 5", m)
	}
}

func TestCellTexts(t *testing.T) {
	got := cellTexts([][]float64{{0.123, math.NaN()}, {12345, 1e-30}})
	want := [][]string{{"0.12", "×"}, {"1.2×10^{4}", "10^{−30}"}}
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Errorf("cell (%d, %d) = %q, want %q", i, j, got[i][j], want[i][j])
			}
		}
	}
}

func TestIsDark(t *testing.T) {
	// Viridis: dark purple at 0 and teal-blue at 0.4 take white text, green
	// at 0.7 and yellow at 1 black; so does the grey of a missing cell.
	for _, c := range []struct {
		t    float64
		want bool
	}{{0, true}, {0.4, true}, {0.7, false}, {1, false}} {
		if got := isDark(viridisAt(c.t)); got != c.want {
			t.Errorf("isDark(viridis(%g) = %v) = %v, want %v", c.t, viridisAt(c.t), got, c.want)
		}
	}
	if isDark(missingColour) {
		t.Error("the missing-cell grey takes white text")
	}
}

func TestHeatmapSharedColourScale(t *testing.T) {
	// Two panels holding the same value 5 in different cells and different
	// ranges otherwise: 5 gets one colour in both.
	names := []string{"1", "2"}
	panels := []Panel{
		{Title: "γ = 0", Heatmap: &Heatmap{XNames: names, YNames: names[:1], Z: [][]float64{{5}, {1}}}},
		{Title: "γ = 1", Heatmap: &Heatmap{XNames: names, YNames: names[:1], Z: [][]float64{{9}, {5}}}},
	}
	for _, logc := range []bool{false, true} {
		f := &Figure{Panels: panels, ColourLabel: "KL(π_{ref}‖π)", LogColour: logc}
		l, err := f.layout()
		if err != nil {
			t.Fatal(err)
		}
		// The cells as layout draws them: every panel on the figure's scale.
		scale, ok := f.heatScale()
		if !ok {
			t.Fatal("no heatmap scale")
		}
		var cells []heatCells
		for _, p := range f.Panels {
			cells = append(cells, heatCells{heat: p.Heatmap, texts: cellTexts(p.Heatmap.Z), scale: scale})
		}
		colourOf := func(p int, v float64) color.Color {
			for i, col := range cells[p].heat.Z {
				for j, z := range col {
					if z == v {
						return cells[p].cellColour(i, j)
					}
				}
			}
			t.Fatalf("panel %d has no cell %g", p, v)
			return nil
		}
		if c0, c1 := colourOf(0, 5), colourOf(1, 5); c0 != c1 {
			t.Errorf("log %v: value 5 coloured %v in panel 0 and %v in panel 1", logc, c0, c1)
		}
		if colourOf(0, 1) == colourOf(1, 9) {
			t.Errorf("log %v: 1 and 9 share a colour", logc)
		}
		if b := l.bar; b == nil || b.scale.lo != 1 || b.scale.hi != 9 || b.scale.log != logc || b.label != "KL(π_{ref}‖π)" {
			t.Errorf("log %v: colour bar %+v, want [1, 9] labelled KL(π_{ref}‖π)", logc, b)
		}
	}
	// The colour bar is drawn: the SVG holds its label; a figure without
	// heatmaps has none.
	svg, err := (&Figure{Panels: panels, ColourLabel: "KL(π_{ref}‖π)"}).SVG()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), ">KL(π<") {
		t.Error("heatmap SVG lacks the colour bar's label")
	}
	if l, _ := twoRuns().layout(); l.bar != nil {
		t.Error("a figure of lines has a colour bar")
	}
}

func TestCompactNumber(t *testing.T) {
	for v, want := range map[float64]string{0.123: "0.12", 12: "12", 1.02: "1", 12345: "1.2×10^{4}", 1e-30: "10^{−30}",
		-2.5e-7: "−2.5×10^{−7}", 0: "0", -1e9: "−10^{9}"} {
		if got := compactNumber(v); got != want {
			t.Errorf("compactNumber(%g) = %q, want %q", v, got, want)
		}
	}
}
