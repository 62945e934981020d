package render

import (
	"math"
	"testing"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

func TestScriptText(t *testing.T) {
	runs := parseScripts("KL(π_{ref}‖π) 10^{−30} a_b ^x_{")
	want := []textRun{{"KL(π", 0}, {"ref", -1}, {"‖π) 10", 0}, {"−30", 1}, {" a_b ^x_{", 0}}
	if len(runs) != len(want) {
		t.Fatalf("parseScripts = %v, want %v", runs, want)
	}
	for i := range want {
		if runs[i] != want[i] {
			t.Errorf("run %d = %v, want %v", i, runs[i], want[i])
		}
	}
	if got := PlainText("π_{ref} and 10^{5}\nx"); got != "π_ref and 10^5\nx" {
		t.Errorf("PlainText = %q", got)
	}
	// Text without markup measures as text.Plain does; a script is narrower
	// than the same text in the base size.
	h := textHandler()
	plain := text.Plain{Fonts: h.Cache()}
	fnt := sans(10)
	if a, b := (text.Style{Font: fnt, Handler: h}).Width("max |β·h|"), (text.Style{Font: fnt, Handler: plain}).Width("max |β·h|"); a != b {
		t.Errorf("plain text width %v, want %v as text.Plain", a, b)
	}
	w1 := (text.Style{Font: fnt, Handler: h}).Width("πref")
	w2 := (text.Style{Font: fnt, Handler: h}).Width("π_{ref}")
	if !(w2 < w1) || math.Abs(float64(w1-w2)) > float64(vg.Points(10)) {
		t.Errorf("width of π_{ref} %v, of πref %v: want the subscript a little narrower", w2, w1)
	}
}

func TestTextScale(t *testing.T) {
	for _, c := range []struct {
		w    vg.Length
		want float64
	}{{10 * vg.Centimeter, 1}, {12 * vg.Centimeter, 1.2}, {5 * vg.Centimeter, 0.75}, {30 * vg.Centimeter, 1.5}} {
		if got := textScale(c.w); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("textScale(%v cm) = %g, want %g", float64(c.w/vg.Centimeter), got, c.want)
		}
	}
}
