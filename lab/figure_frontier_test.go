package lab

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/robustpo/robustpo/datasets"
)

// frontierData returns two small bandits with oracles (the "seeds").
func frontierData(t *testing.T) []*datasets.FiniteData {
	t.Helper()
	var out []*datasets.FiniteData
	for s := uint64(1); s <= 2; s++ {
		d, err := datasets.RandomBandit(datasets.BanditConfig{Prompts: 2, Responses: 4, Pairs: 4, Seed: s})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// frontierTable returns fake rows Method × Beta × Gamma × Seed, seed s on
// data[s−1], with kl/reverse = β + γ + s/10 and oracle/reward = 10·γ − β + s.
func frontierTable(t *testing.T, data []*datasets.FiniteData) *Table {
	t.Helper()
	grid := Grid{Vary("Method", PDPO, EDPO), Vary("Beta", 0.1, 1), Vary("Gamma", 0, 0.5), Vary("Seed", 1, 2)}
	cfgs, vals, err := grid.Configs(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tab := &Table{Fields: grid.Fields(), Metrics: []string{"kl/reverse", "oracle/reward"}}
	for i, c := range cfgs {
		s := float64(c.Seed)
		tab.Rows = append(tab.Rows, Row{Values: vals[i], Config: c.WithDefaults(),
			Metrics: map[string]float64{"kl/reverse": c.Beta + c.Gamma + s/10, "oracle/reward": 10*c.Gamma - c.Beta + s},
			Run:     &Run{DataFingerprint: data[c.Seed-1].Fingerprint(), Dataset: data[c.Seed-1].Name}})
	}
	return tab
}

func TestFrontierPanelsAndPoints(t *testing.T) {
	data := frontierData(t)
	f, err := frontierTable(t, data).Frontier("Gamma", data...)
	if err != nil {
		t.Fatal(err)
	}
	if f.Panels() != 2 || f.spec.Panels[0].Title != "p-DPO" || f.spec.Panels[1].Title != "e-DPO" {
		t.Fatalf("%d panels %v, want p-DPO and e-DPO", f.Panels(), f.render().Describe())
	}
	for _, p := range f.spec.Panels {
		// The π* curve, one line per γ, π_ref.
		if len(p.Lines) != 4 || !p.Lines[0].Reference || p.Lines[3].Label != "π_{ref} (no training)" {
			t.Fatalf("panel %q: %d lines, want curve, γ = 0, γ = 0.5, π_ref", p.Title, len(p.Lines))
		}
		for gi, g := range []float64{0, 0.5} {
			l := p.Lines[1+gi]
			if l.Style != gi || l.Label != "γ = "+formatValue(g) || !l.Markers {
				t.Errorf("panel %q: line %q style %d, want %q style %d", p.Title, l.Label, l.Style, "γ = "+formatValue(g), gi)
			}
			// Means over the two seeds, in grid order of β.
			for bi, b := range []float64{0.1, 1} {
				wantX, wantY := b+g+0.15, 10*g-b+1.5
				if math.Abs(l.X[bi]-wantX) > 1e-12 || math.Abs(l.Y[bi]-wantY) > 1e-12 {
					t.Errorf("panel %q γ=%g β=%g: point (%g, %g), want (%g, %g)", p.Title, g, b, l.X[bi], l.Y[bi], wantX, wantY)
				}
				// Two seeds 1 apart in reward: half-width t_{0.975,1}·s/√2 = 12.706·0.5.
				if math.Abs(l.Hi[bi]-12.7062*0.5) > 1e-3 || l.Lo[bi] != l.Hi[bi] {
					t.Errorf("panel %q γ=%g β=%g: error bar %g/%g, want ±6.353", p.Title, g, b, l.Lo[bi], l.Hi[bi])
				}
			}
		}
	}
	svg, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"γ = 0.5", "no training", "RLHF optimum"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("the SVG lacks %q", s)
		}
	}
}

// TestFrontierReference checks π_ref's point and the π*_β curve against
// direct computations, and that the curve is the frontier: no policy has a
// larger reward at its KL.
func TestFrontierReference(t *testing.T) {
	data := frontierData(t)
	f, err := frontierTable(t, data).Frontier("Gamma", data...)
	if err != nil {
		t.Fatal(err)
	}
	p := f.spec.Panels[0]
	curve, ref := p.Lines[0], p.Lines[3]
	// π_ref: mean over the two datasets of Σ_y π_ref(y|x) r*(x,y), mean over x.
	refReward := func(d *datasets.FiniteData) float64 {
		s := 0.0
		for x, logits := range d.RefLogits {
			z := 0.0
			for _, l := range logits {
				z += math.Exp(l)
			}
			for y, l := range logits {
				s += math.Exp(l) / z * d.Oracle[x][y]
			}
		}
		return s / float64(len(d.RefLogits))
	}
	want := (refReward(data[0]) + refReward(data[1])) / 2
	if ref.X[0] != 0 || math.Abs(ref.Y[0]-want) > 1e-12 {
		t.Errorf("π_ref at (%g, %g), want (0, %g)", ref.X[0], ref.Y[0], want)
	}
	n := len(curve.X)
	if n != frontierPoints+1 || curve.X[n-1] != 0 || curve.Y[n-1] != ref.Y[0] {
		t.Fatalf("curve of %d points ending at (%g, %g), want %d ending at π_ref", n, curve.X[n-1], curve.Y[n-1], frontierPoints+1)
	}
	// β grows along the curve: KL and reward fall.
	for i := 1; i < n; i++ {
		if !(curve.X[i] <= curve.X[i-1]+1e-12 && curve.Y[i] <= curve.Y[i-1]+1e-12) {
			t.Fatalf("curve point %d (%g, %g) after (%g, %g): KL and reward must fall as β grows", i, curve.X[i], curve.Y[i], curve.X[i-1], curve.Y[i-1])
		}
	}
	// The frontier on one dataset: random policies lie on or below the curve
	// interpolated at their KL.
	one, err := frontierTable(t, data).Where("Seed", 1).Frontier("", data[0])
	if err != nil {
		t.Fatal(err)
	}
	c := one.spec.Panels[0].Lines[0]
	d := data[0]
	rng := rand.New(rand.NewPCG(7, 7))
	checked := 0
	for range 300 {
		var kl, rw float64
		for x, logits := range d.RefLogits {
			z, zr := 0.0, 0.0
			theta := make([]float64, len(logits))
			for y, l := range logits {
				theta[y] = l + 3*rng.NormFloat64()
				z += math.Exp(theta[y])
				zr += math.Exp(l)
			}
			for y, l := range logits {
				pi := math.Exp(theta[y]) / z
				kl += pi * (math.Log(pi) - (l - math.Log(zr)))
				rw += pi * d.Oracle[x][y]
			}
		}
		kl, rw = kl/float64(len(d.RefLogits)), rw/float64(len(d.RefLogits))
		for i := 1; i < len(c.X); i++ {
			if c.X[i] <= kl && kl <= c.X[i-1] {
				// The frontier is concave, so the chord lies below it: a
				// policy above the chord by more than rounding is above it.
				fr := c.Y[i] + (c.Y[i-1]-c.Y[i])*(kl-c.X[i])/(c.X[i-1]-c.X[i])
				if rw > fr+0.02*math.Abs(c.Y[0]-c.Y[len(c.Y)-1]) {
					t.Errorf("a policy at KL %g has reward %g above the frontier's %g", kl, rw, fr)
				}
				checked++
				break
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d of 300 random policies fell within the curve's KL range", checked)
	}
}

func TestFrontierErrors(t *testing.T) {
	data := frontierData(t)
	tab := frontierTable(t, data)
	noOracle := *data[1]
	noOracle.Oracle = nil
	for name, c := range map[string]struct {
		line string
		data []*datasets.FiniteData
		want string
	}{
		"missing dataset": {"Gamma", data[:1], "not among the 1 datasets"},
		"no field":        {"Gama", data, `"Gama" is not a Config field`},
	} {
		if _, err := tab.Frontier(c.line, c.data...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
	// A dataset without an oracle: its rows are matched by fingerprint.
	for i := range tab.Rows {
		if tab.Rows[i].Config.Seed == 2 {
			tab.Rows[i].Run = &Run{DataFingerprint: noOracle.Fingerprint()}
		}
	}
	if _, err := tab.Frontier("Gamma", data[0], &noOracle); err == nil || !strings.Contains(err.Error(), "no oracle") {
		t.Errorf("no oracle: error %v", err)
	}
	if _, err := (&Table{}).Frontier("Gamma", data...); err == nil {
		t.Error("an empty table drew a frontier")
	}
}

func TestColourRange(t *testing.T) {
	tab := fakeTable(t)
	f := tab.Heatmap("Beta", "Gamma", "loss").ColourRange(-1, 1)
	if s := f.spec; !s.ColourFixed || s.ColourMin != -1 || s.ColourMax != 1 {
		t.Errorf("ColourRange(−1, 1): fixed %v [%g, %g]", s.ColourFixed, s.ColourMin, s.ColourMax)
	}
	if _, err := f.SVG(); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]float64{{1, 1}, {2, 1}, {math.NaN(), 1}, {0, math.Inf(1)}} {
		if g := tab.Heatmap("Beta", "Gamma", "loss").ColourRange(r[0], r[1]); g.spec.ColourFixed {
			t.Errorf("ColourRange(%g, %g) was accepted", r[0], r[1])
		}
	}
}
