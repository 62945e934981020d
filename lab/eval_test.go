package lab

import (
	"math"
	"testing"
)

func TestWinRatesHandWorked(t *testing.T) {
	// Prompt 0: policy {1, 2} vs baseline {1, 0}: 1v1 = ½, 1v0 = 1, 2v1 = 1, 2v0 = 1 → 3.5/4.
	// Prompt 1: policy {0} vs baseline {3, 0}: 0v3 = 0, 0v0 = ½ → ¼.
	w, err := WinRates([][]float64{{1, 2}, {0}}, [][]float64{{1, 0}, {3, 0}}, 200, 1)
	if err != nil {
		t.Fatal(err)
	}
	if w.PerPrompt[0] != 0.875 || w.PerPrompt[1] != 0.25 || w.Rate != (0.875+0.25)/2 {
		t.Fatalf("per prompt %v rate %v, want [0.875 0.25] 0.5625", w.PerPrompt, w.Rate)
	}
	// Bootstrap means of two values are 0.25, 0.5625 or 0.875 (probabilities ¼, ½, ¼).
	if w.Lo != 0.25 || w.Hi != 0.875 {
		t.Fatalf("CI [%v, %v], want [0.25, 0.875]", w.Lo, w.Hi)
	}
	if _, err := WinRates([][]float64{{1}}, [][]float64{{}}, 0, 1); err == nil {
		t.Fatal("a prompt without baseline samples must be an error")
	}
	if _, err := WinRates([][]float64{{1}}, nil, 0, 1); err == nil {
		t.Fatal("unequal prompt counts must be an error")
	}
}

func TestBootstrapCI(t *testing.T) {
	lo, hi := BootstrapCI([]float64{0.3, 0.3, 0.3}, 0, 7)
	if lo != 0.3 || hi != 0.3 {
		t.Fatalf("constant data: CI [%v, %v], want [0.3, 0.3]", lo, hi)
	}
	// Mean of n = 400 Bernoulli(½) scores: the CI half-width is ≈ 1.96·½/√400 = 0.049.
	xs := make([]float64, 400)
	for i := range xs {
		xs[i] = float64(i % 2)
	}
	lo, hi = BootstrapCI(xs, 4000, 3)
	if math.Abs((hi-lo)/2-0.049) > 0.006 || math.Abs((hi+lo)/2-0.5) > 0.006 {
		t.Fatalf("Bernoulli(½) n=400: CI [%v, %v], want ≈ 0.5 ± 0.049", lo, hi)
	}
	lo2, hi2 := BootstrapCI(xs, 4000, 3)
	if lo2 != lo || hi2 != hi {
		t.Fatal("BootstrapCI is not deterministic in its seed")
	}
	if lo, hi := BootstrapCI(nil, 0, 0); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Fatal("no data must give NaNs")
	}
}

func TestWaldTest(t *testing.T) {
	// d = 1, 2, 3: mean 2, s_d = 1, se = 1/√3, z = 2√3.
	z, p, err := WaldTest([]float64{1, 2, 3}, []float64{0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	wantZ := 2 * math.Sqrt(3)
	wantP := 2 * (1 - 0.5*(1+math.Erf(wantZ/math.Sqrt2)))
	if math.Abs(z-wantZ) > 1e-12 || math.Abs(p-wantP) > 1e-12 || math.Abs(p-0.000532) > 2e-6 {
		t.Fatalf("z = %v, p = %v; want %v, %v", z, p, wantZ, wantP)
	}
	if z, p, _ := WaldTest([]float64{0.5, 0.7}, []float64{0.5, 0.7}); z != 0 || p != 1 {
		t.Fatalf("equal scores: z = %v, p = %v, want 0, 1", z, p)
	}
	if z, p, _ := WaldTest([]float64{1.5, 2.5}, []float64{0.5, 1.5}); !math.IsInf(z, 1) || p != 0 {
		t.Fatalf("constant positive difference: z = %v, p = %v, want +Inf, 0", z, p)
	}
	if _, _, err := WaldTest([]float64{1}, []float64{0}); err == nil {
		t.Fatal("one prompt must be an error")
	}
}

// seqObjective returns a sequence run's logged loss without the KL term
// (seqTrainer.objectiveAt) for cfg at log-ratios h1, h2 and reward margins
// [example][member] (nil for the pair methods).
func seqObjective(t *testing.T, cfg Config, h1, h2 []float64, margins [][]float64) float64 {
	t.Helper()
	backend, err := Backend()
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Finalize()
	st := &seqTrainer{cfg: cfg, backend: backend, margins: margins}
	if err := st.newObjective(); err != nil {
		t.Fatal(err)
	}
	defer st.objective.Finalize()
	v, err := st.objectiveAt(h1, h2)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSeqObjectiveClosedForms(t *testing.T) {
	zero := []float64{0, 0}
	beta := 0.5
	margins := [][]float64{{1, -2, 0.5}, {2, 1, 3}}
	cases := []struct {
		cfg  Config
		want float64
	}{
		{Config{Method: DPO, Beta: beta}, math.Log(2)},
		{Config{Method: PDPO, Beta: beta}, math.Log(2)},
		{Config{Method: CDPO, Beta: beta, Epsilon: 0.2}, math.Log(2)},
		{Config{Method: IPO, Beta: beta}, 1 / (4 * beta * beta)},
		{Config{Method: Distill, Beta: beta}, (1 + 4) / 2.0},
		// A PairLoss: SLiC's hinge max(0, 1 − β·Δh) is 1 at Δh = 0.
		{Config{Name: "SLiC", PairLoss: slicLoss, Beta: beta}, 1},
		// Members' mean squares: (1+4)/2, (4+1)/2, (0.25+9)/2 → min 2.5.
		{Config{Method: EDPO, Beta: beta, Aggregation: 0}, 2.5},
		// Per-pair minima: 0.25 and 1 → mean 0.625.
		{Config{Method: EDPO, Beta: beta, Aggregation: 1}, 0.625},
		// Hull: 0 ∈ [−2, 1] costs 0; pair 2 is 1 below [1, 3] → mean 0.5.
		{Config{Method: EDPO, Beta: beta, Aggregation: 2}, 0.5},
		// Soft minimum at τ = 1 of the members' 2.5, 2.5, 4.625: 2.5 − log((2 + e^−2.125)/3).
		{Config{Method: EDPO, Beta: beta, SoftMinTemperature: 1}, 2.5 - math.Log((2+math.Exp(-2.125))/3)},
		// Per pair at τ = 2: e = (1, 4, 0.25) → 0.25 − 2·log((e^−3/8 + e^−15/8 + 1)/3);
		// e = (4, 1, 9) → 1 − 2·log((e^−3/2 + 1 + e^−4)/3); then the mean.
		{Config{Method: EDPO, Beta: beta, Aggregation: 1, SoftMinTemperature: 2},
			(0.25 - 2*math.Log((math.Exp(-0.375)+math.Exp(-1.875)+1)/3) + 1 - 2*math.Log((math.Exp(-1.5)+1+math.Exp(-4))/3)) / 2},
	}
	for _, c := range cases {
		m := margins
		switch {
		case c.cfg.Method.distillsMean():
			m = [][]float64{{margins[0][0]}, {margins[1][0]}} // one column: the members' mean
		case !c.cfg.Method.distills():
			m = nil
		}
		if got := seqObjective(t, c.cfg, zero, zero, m); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%v at h = 0: %v, want %v", c.cfg.Label(), got, c.want)
		}
	}
	// DPO at Δh = 2, β = 0.5: softplus(−1) = log(1 + e⁻¹).
	if got := seqObjective(t, Config{Method: DPO, Beta: beta}, []float64{1}, []float64{-1}, nil); math.Abs(got-math.Log1p(math.Exp(-1))) > 1e-12 {
		t.Errorf("DPO at Δh = 2: %v", got)
	}
}
