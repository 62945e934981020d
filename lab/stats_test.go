package lab

import (
	"math"
	"strings"
	"testing"
)

// TestPairedTClosedForms checks PairedT's p-values where Student's t has a
// closed-form distribution function: df = 1 (Cauchy, P = 1 − (2/π)·atan|t|)
// and df = 2 (P = 1 − |t|/√(2 + t²)); and at the tabulated t_{0.975,4}, where
// P must be 0.05.
func TestPairedTClosedForms(t *testing.T) {
	cases := []struct {
		name   string
		a, b   []float64
		wantT  float64
		wantP  float64
		wantDF int
	}{
		// d = (1, 3): d̄ = 2, s = √2, se = 1, t = 2.
		{"df=1", []float64{1, 3}, []float64{0, 0}, 2, 1 - 2/math.Pi*math.Atan(2), 1},
		// d = (1, 2, 3): d̄ = 2, s = 1, se = 1/√3, t = 2√3.
		{"df=2", []float64{2, 4, 6}, []float64{1, 2, 3}, 2 * math.Sqrt(3), 1 - 2*math.Sqrt(3)/math.Sqrt(14), 2},
		// d = c·(−2, −1, 0, 1, 2) + m with m chosen so that t = t_{0.975,4} = 2.7764:
		// s = c·√2.5, se = c·√0.5, t = m/se.
		{"t975", []float64{-2 + 2.7764*math.Sqrt(0.5), -1 + 2.7764*math.Sqrt(0.5), 2.7764 * math.Sqrt(0.5), 1 + 2.7764*math.Sqrt(0.5), 2 + 2.7764*math.Sqrt(0.5)},
			[]float64{0, 0, 0, 0, 0}, 2.7764, 0.05, 4},
	}
	for _, c := range cases {
		p, err := PairedT(c.a, c.b)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(p.T-c.wantT) > 1e-9 || math.Abs(p.P-c.wantP) > 2e-5 || p.DF != c.wantDF {
			t.Errorf("%s: t = %.10g (want %.10g), p = %.8g (want %.8g), df = %d (want %d)", c.name, p.T, c.wantT, p.P, c.wantP, p.DF, c.wantDF)
		}
		// The 95% interval of the difference excludes 0 exactly when p < 0.05.
		if (p.P < 0.05) == p.Diff.Contains(0) && math.Abs(p.P-0.05) > 1e-4 {
			t.Errorf("%s: p = %g but the interval %v", c.name, p.P, p.Diff)
		}
	}
	if p, _ := PairedT([]float64{1, 2}, []float64{1, 2}); p.T != 0 || p.P != 1 {
		t.Errorf("no difference: t = %g, p = %g, want 0, 1", p.T, p.P)
	}
	if p, _ := PairedT([]float64{2, 3}, []float64{1, 2}); !math.IsInf(p.T, 1) || p.P != 0 {
		t.Errorf("constant difference 1: t = %g, p = %g, want +Inf, 0", p.T, p.P)
	}
	for _, bad := range [][2][]float64{{{1}, {1}}, {{1, 2}, {1}}, {{1, math.NaN()}, {0, 0}}} {
		if _, err := PairedT(bad[0], bad[1]); err == nil {
			t.Errorf("PairedT(%v, %v): no error", bad[0], bad[1])
		}
	}
}

// TestHolm checks Holm's adjustment against a hand-worked family: sorted
// p = 0.005, 0.01, 0.03, 0.04 are multiplied by 4, 3, 2, 1 (0.02, 0.03, 0.06,
// 0.04) and made monotone (0.04 → 0.06).
func TestHolm(t *testing.T) {
	got := Holm([]float64{0.01, 0.04, 0.03, 0.005})
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Fatalf("Holm = %v, want %v", got, want)
		}
	}
	if got := Holm([]float64{0.5, 0.9}); got[0] != 1 || got[1] != 1 {
		t.Errorf("Holm caps at 1: %v", got)
	}
}

// TestMeanCI checks the interval of (1, 2, 3): mean 2 ± t_{0.975,2}·1/√3.
func TestMeanCI(t *testing.T) {
	iv := MeanCI([]float64{1, math.NaN(), 2, 3, math.Inf(1)})
	h := 4.3027 / math.Sqrt(3)
	if iv.N != 3 || iv.Mean != 2 || math.Abs(iv.Lo-(2-h)) > 1e-12 || math.Abs(iv.Hi-(2+h)) > 1e-12 {
		t.Errorf("MeanCI = %+v, want mean 2, [%g, %g], N 3", iv, 2-h, 2+h)
	}
}

// TestTableCIClipsToTheMetricRange checks that Table.CI keeps a
// probability's interval in [0, 1] and a KL's above 0 (the t-interval of
// 0, 0, 0, 0.3 reaches below 0), leaves an unbounded metric's alone, and
// that Clip moves only the ends that leave the range.
func TestTableCIClipsToTheMetricRange(t *testing.T) {
	vals := []float64{0, 0, 0, 0.3}
	raw := MeanCI(vals)
	if raw.Lo >= 0 {
		t.Fatalf("the raw interval %v should reach below 0, or the test checks nothing", raw)
	}
	for _, c := range []struct {
		metric string
		lo, hi float64
	}{
		{"prob/d", 0, raw.Hi},
		{"kl/forward", 0, raw.Hi},
		{"winrate/vs_ref", 0, raw.Hi},
		{"rewards/margins", raw.Lo, raw.Hi},
	} {
		var tab Table
		for i, v := range vals {
			tab.Rows = append(tab.Rows, Row{Config: Config{Seed: int64(i)}, Metrics: map[string]float64{c.metric: v}})
		}
		if got := tab.CI(c.metric); got.Mean != raw.Mean || got.Lo != c.lo || got.Hi != c.hi || got.N != 4 {
			t.Errorf("CI(%s) = %+v, want mean %g, [%g, %g]", c.metric, got, raw.Mean, c.lo, c.hi)
		}
	}
	iv := Interval{Mean: 0.9, Lo: 0.7, Hi: 1.2, N: 5}.Clip(math.Inf(-1), 1)
	if iv.Lo != 0.7 || iv.Hi != 1 || iv.Mean != 0.9 {
		t.Errorf("Clip(−∞, 1) = %+v, want [0.7, 1] around 0.9", iv)
	}
	if lo, hi := MetricRange("oracle/normalized_regret"); !math.IsInf(lo, -1) || hi != 1 {
		t.Errorf("MetricRange(normalized regret) = [%g, %g], want (−∞, 1]", lo, hi)
	}
}

// TestTestsCompareBySeed checks that Compare pairs rows by Seed whatever
// their order, corrects the family with Holm, and refuses unpaired tables.
func TestTestsCompareBySeed(t *testing.T) {
	row := func(seed int64, v float64) Row {
		return Row{Config: Config{Seed: seed}, Metrics: map[string]float64{"m": v}}
	}
	a := &Table{Rows: []Row{row(1, 1), row(2, 2), row(3, 3)}}
	b := &Table{Rows: []Row{row(3, 1.5), row(1, -1), row(2, 0.5)}} // differences 2, 1.5, 1.5 by seed
	var f Tests
	p, err := f.Compare("a vs b", "m", a, b)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := PairedT([]float64{1, 2, 3}, []float64{-1, 0.5, 1.5})
	if p.T != want.T || p.P != want.P {
		t.Errorf("Compare: t = %g, p = %g; PairedT by hand: t = %g, p = %g", p.T, p.P, want.T, want.P)
	}
	if _, err := f.Add("second", []float64{1, 2, 3}, []float64{1.1, 2, 3.2}); err != nil {
		t.Fatal(err)
	}
	first, _ := f.Get("a vs b")
	second, _ := f.Get("second")
	adj := Holm([]float64{first.P, second.P})
	if first.PHolm != adj[0] || second.PHolm != adj[1] {
		t.Errorf("family PHolm = %g, %g, want %v", first.PHolm, second.PHolm, adj)
	}
	if !strings.Contains(f.Text(), "Holm p") || !strings.Contains(f.Text(), "95% CI (unadjusted)") ||
		!strings.Contains(f.Verdict("a vs b", "A", "B"), "A > B") || !strings.Contains(f.Verdict("a vs b", "A", "B"), "unadjusted 95% CI") {
		t.Errorf("text:\n%s\nverdict: %s", f.Text(), f.Verdict("a vs b", "A", "B"))
	}
	if _, err := f.Add("second", []float64{1, 2}, []float64{1, 2}); err == nil {
		t.Error("a duplicate test name was accepted")
	}
	dup := &Table{Rows: []Row{row(1, 1), row(1, 2), row(2, 0)}}
	other := &Table{Rows: []Row{row(1, 1), row(2, 2), row(4, 0)}}
	for _, c := range []struct {
		a, b *Table
		msg  string
	}{{dup, a, "twice"}, {a, other, "first table only"}, {a, &Table{Rows: a.Rows[:2]}, "3 seeds against 2"}} {
		if _, err := f.Compare("bad "+c.msg, "m", c.a, c.b); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("want an error containing %q, got %v", c.msg, err)
		}
	}
}

// TestDistillGammaAddsForwardKL checks that Distill with Gamma > 0 trains
// Distill's loss plus γ·KL(π_ref‖π): its logged loss minus γ·kl/forward is the
// distillation loss alone, which is ≥ the γ = 0 run's (that run minimises it),
// and its forward KL is smaller.
func TestDistillGammaAddsForwardKL(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	data := testBandit(t, 3, 5, 0, 24)
	base := Config{Method: Distill, Beta: 0.4, RewardSteps: 60, Steps: 400, Optimizer: SGD, LearningRate: 0.2}
	plain, err := Train(base, data)
	if err != nil {
		t.Fatal(err)
	}
	base.Gamma = 1
	kl, err := Train(base, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(kl.Label, "γ=1") {
		t.Errorf("label %q does not show γ", kl.Label)
	}
	d0 := plain.History.Last("loss")
	d1 := kl.History.Last("loss") - kl.History.Last("kl/forward")
	f0, f1 := plain.History.Last("kl/forward"), kl.History.Last("kl/forward")
	if !(f1 < f0) || !(d1 >= d0-1e-9) {
		t.Errorf("γ=0: distill loss %.6g, KL(π_ref‖π) %.6g; γ=1: distill loss %.6g, KL %.6g", d0, f0, d1, f1)
	}
}
