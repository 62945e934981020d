package render

import (
	"math"
	"testing"
)

func TestColourRangeFixesTheScale(t *testing.T) {
	h := &Heatmap{XNames: []string{"a", "b"}, YNames: []string{"0"}, Z: [][]float64{{-9}, {0.5}}}
	f := &Figure{Panels: []Panel{{Heatmap: h}}}
	if s, _ := f.heatScale(); s.lo != -9 || s.hi != 0.5 {
		t.Fatalf("scale [%g, %g], want the cells' [-9, 0.5]", s.lo, s.hi)
	}
	f.ColourMin, f.ColourMax, f.ColourFixed = -1, 1, true
	s, _ := f.heatScale()
	if s.lo != -1 || s.hi != 1 {
		t.Fatalf("scale [%g, %g], want the fixed [-1, 1]", s.lo, s.hi)
	}
	// −9 takes the bottom colour, 0.5 three quarters of the way up.
	if p, _ := s.position(-9); p != 0 {
		t.Errorf("position of −9: %g, want 0 (clamped)", p)
	}
	if p, _ := s.position(0.5); math.Abs(p-0.75) > 1e-12 {
		t.Errorf("position of 0.5: %g, want 0.75", p)
	}
	for _, tk := range s.ticks() {
		if tk.Value < -1 || tk.Value > 1 {
			t.Errorf("tick %g outside [-1, 1]", tk.Value)
		}
	}
	// A log scale cannot start at ≤ 0: the fixed range is ignored.
	f.LogColour = true
	h.Z = [][]float64{{2}, {50}}
	if s, _ := f.heatScale(); s.lo != 2 || s.hi != 50 {
		t.Errorf("log scale with a fixed range [-1, 1]: [%g, %g], want the cells' [2, 50]", s.lo, s.hi)
	}
	if _, err := f.SVG(); err != nil {
		t.Fatal(err)
	}
}
