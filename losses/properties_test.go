package losses

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

// randVec returns n normal draws scaled by scale.
func randVec(r *rand.Rand, n int, scale float64) input {
	x := make([]float64, n)
	for i := range x {
		x[i] = scale * r.NormFloat64()
	}
	return vec(x...)
}

// randMat returns a [rows, cols] matrix of normal draws scaled by scale.
func randMat(r *rand.Rand, rows, cols int, scale float64) input {
	m := make([][]float64, rows)
	for i := range m {
		m[i] = randVec(r, cols, scale).data
	}
	return mat(m...)
}

// column returns column j of a rank-2 input as a [rows] input.
func column(m input, j int) input {
	rows, cols := m.dims[0], m.dims[1]
	c := make([]float64, rows)
	for i := range c {
		c[i] = m.data[i*cols+j]
	}
	return vec(c...)
}

func TestCDPOWithZeroEpsilonEqualsDPO(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for trial := range 5 {
		h1, h2 := randVec(r, 16, 5), randVec(r, 16, 5)
		beta := 0.05 + r.Float64()*3
		cdpo := evalScalar(t, dtypes.Float64, cdpoFn(beta, 0), h1, h2)
		dpo := evalScalar(t, dtypes.Float64, dpoFn(beta), h1, h2)
		if !near(cdpo, dpo, 1e-14) {
			t.Errorf("trial %d β=%g: CDPO(ε=0) = %.17g, DPO = %.17g", trial, beta, cdpo, dpo)
		}
	}
}

// TestIPOMinimum scans Δh on a grid through 1/(2β): the loss is 0 there, its gradient
// vanishes, and it grows on both sides.
func TestIPOMinimum(t *testing.T) {
	for _, beta := range []float64{0.1, 0.5, 2} {
		target := 1 / (2 * beta)
		best, bestLoss := math.NaN(), math.Inf(1)
		for k := -20; k <= 20; k++ {
			dh := target + float64(k)*0.05*target
			loss := evalScalar(t, dtypes.Float64, ipoFn(beta), vec(dh), vec(0))
			if loss < bestLoss {
				best, bestLoss = dh, loss
			}
		}
		if best != target || bestLoss != 0 {
			t.Errorf("β=%g: grid minimum %g at Δh=%g, want 0 at 1/(2β)=%g", beta, bestLoss, best, target)
		}
		_, grads := evalWithGrad(t, dtypes.Float64, ipoFn(beta), vec(target, target+1), vec(0, 1))
		if grads[0][0] != 0 || grads[0][1] != 0 {
			t.Errorf("β=%g: gradient at the minimum %v, want 0", beta, grads[0])
		}
	}
}

// TestDistillZeroExactly checks that Distill is exactly 0 when β·Δh = Δr (dyadic
// values, so the arithmetic is exact) and positive when any one input moves.
func TestDistillZeroExactly(t *testing.T) {
	const beta = 0.5
	h1, h2 := vec(2, -1.5, 0.25, 8), vec(-2, 0.5, 0.25, 4)
	dr := vec(2, -1, 0, 2) // β·(h1 − h2)
	if got := evalScalar(t, dtypes.Float64, distillFn(beta), h1, h2, dr); got != 0 {
		t.Fatalf("Distill at β·Δh = Δr: %g, want 0", got)
	}
	ins := []input{h1, h2, dr}
	for i := range ins {
		for j := range ins[i].data {
			moved := append([]input(nil), ins...)
			moved[i] = vec(append([]float64(nil), ins[i].data...)...)
			moved[i].data[j] += 0.125
			if got := evalScalar(t, dtypes.Float64, distillFn(beta), moved...); !(got > 0) {
				t.Errorf("input %d element %d moved: Distill = %g, want > 0", i, j, got)
			}
		}
	}
}

func TestEnsembleDistillSingleMemberEqualsDistill(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	h1, h2, dr := randVec(r, 12, 2), randVec(r, 12, 2), randMat(r, 12, 1, 3)
	want := evalScalar(t, dtypes.Float64, distillFn(0.7), h1, h2, column(dr, 0))
	for _, agg := range []Aggregation{MinPerBatch, MinPerExample, Hull} {
		got := evalScalar(t, dtypes.Float64, ensembleFn(0.7, agg), h1, h2, dr)
		if !near(got, want, 1e-14) {
			t.Errorf("%s with k=1: %.17g, Distill: %.17g", agg, got, want)
		}
	}
}

// TestEnsembleOrdering checks Hull ≤ MinPerExample ≤ MinPerBatch ≤ mean_i Distill(r_i)
// and MinPerBatch = min_i Distill(r_i) on random ensembles.
func TestEnsembleOrdering(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for trial := range 6 {
		k := 2 + trial%4
		beta := 0.1 + r.Float64()
		h1, h2, dr := randVec(r, 10, 2), randVec(r, 10, 2), randMat(r, 10, k, 2)
		minMember, meanMember := math.Inf(1), 0.0
		for j := range k {
			d := evalScalar(t, dtypes.Float64, distillFn(beta), h1, h2, column(dr, j))
			minMember = math.Min(minMember, d)
			meanMember += d / float64(k)
		}
		hull := evalScalar(t, dtypes.Float64, ensembleFn(beta, Hull), h1, h2, dr)
		perEx := evalScalar(t, dtypes.Float64, ensembleFn(beta, MinPerExample), h1, h2, dr)
		perBatch := evalScalar(t, dtypes.Float64, ensembleFn(beta, MinPerBatch), h1, h2, dr)
		if !near(perBatch, minMember, 1e-13) {
			t.Errorf("trial %d: MinPerBatch %.17g != min_i Distill(r_i) %.17g", trial, perBatch, minMember)
		}
		if !(hull <= perEx && perEx <= perBatch && perBatch <= meanMember) {
			t.Errorf("trial %d (k=%d): want Hull %g ≤ MinPerExample %g ≤ MinPerBatch %g ≤ mean %g",
				trial, k, hull, perEx, perBatch, meanMember)
		}
	}
}

// TestHullDistance scans β·Δh across an interval [lo, hi] of member margins: the loss
// is 0 inside and the squared distance to the nearer end outside.
func TestHullDistance(t *testing.T) {
	const lo, hi = -0.75, 1.5
	dr := mat([]float64{hi, 0.25, lo}) // members in any order
	for k := -12; k <= 12; k++ {
		z := 0.25 * float64(k) // β = 1, h2 = 0: z = h1
		want := 0.0
		switch {
		case z < lo:
			want = (lo - z) * (lo - z)
		case z > hi:
			want = (z - hi) * (z - hi)
		}
		if got := evalScalar(t, dtypes.Float64, ensembleFn(1, Hull), vec(z), vec(0), dr); got != want {
			t.Errorf("z=%g in [%g, %g]: Hull = %g, want %g", z, lo, hi, got, want)
		}
	}
}

// TestForwardKLExactProperties: ≥ 0 on random logits, 0 for equal logits, and
// unchanged by adding a per-row constant to either logits.
func TestForwardKLExactProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	shift := func(m input, c []float64) input {
		out := input{data: append([]float64(nil), m.data...), dims: m.dims}
		cols := m.dims[1]
		for i := range out.data {
			out.data[i] += c[i/cols]
		}
		return out
	}
	for trial := range 5 {
		p, q := randMat(r, 4, 6, 2), randMat(r, 4, 6, 2)
		for _, fn := range []struct {
			name string
			f    lossFn
		}{{"ForwardKLExact", forwardExactFn()}, {"ReverseKLExact", reverseExactFn()}} {
			kl := evalScalar(t, dtypes.Float64, fn.f, p, q)
			if !(kl > 0) {
				t.Errorf("trial %d %s: %g, want > 0 for different logits", trial, fn.name, kl)
			}
			if self := evalScalar(t, dtypes.Float64, fn.f, p, p); self != 0 {
				t.Errorf("trial %d %s: equal logits give %g, want 0", trial, fn.name, self)
			}
			shifted := evalScalar(t, dtypes.Float64, fn.f, shift(p, []float64{3, -7, 0.5, 100}), shift(q, []float64{-2, 40, 1, -9}))
			if !near(shifted, kl, 1e-12) {
				t.Errorf("trial %d %s: shifted logits give %.17g, want %.17g", trial, fn.name, shifted, kl)
			}
		}
	}
}

// TestCompositeEqualsParts checks EDPO = EnsembleDistill + γ·ForwardKL and
// PDPO = DPO + γ·ForwardKL, each part built independently in the same graph.
func TestCompositeEqualsParts(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	h1, h2, dr := randVec(r, 8, 2), randVec(r, 8, 2), randMat(r, 8, 3, 2)
	ref, pol := randVec(r, 5, 3), randVec(r, 5, 3)
	for _, gamma := range []float64{0, 0.1, 2.5} {
		for _, agg := range []Aggregation{MinPerBatch, MinPerExample, Hull} {
			diff := func(in []*Node) *Node {
				parts := Add(EnsembleDistill(in[0], in[1], in[2], 0.4, agg), MulScalar(ForwardKL(in[3], in[4]), gamma))
				return Sub(EDPO(in[0], in[1], in[2], 0.4, agg, gamma, in[3], in[4]), parts)
			}
			if got := evalScalar(t, dtypes.Float64, diff, h1, h2, dr, ref, pol); math.Abs(got) > 1e-13 {
				t.Errorf("γ=%g %s: EDPO − parts = %g", gamma, agg, got)
			}
		}
		diff := func(in []*Node) *Node {
			parts := Add(DPO(in[0], in[1], 0.4), MulScalar(ForwardKL(in[2], in[3]), gamma))
			return Sub(PDPO(in[0], in[1], 0.4, gamma, in[2], in[3]), parts)
		}
		if got := evalScalar(t, dtypes.Float64, diff, h1, h2, ref, pol); math.Abs(got) > 1e-13 {
			t.Errorf("γ=%g: PDPO − parts = %g", gamma, got)
		}
	}
	// With γ = 0 the KL inputs may be nil.
	nilKL := func(in []*Node) *Node { return Sub(PDPO(in[0], in[1], 0.4, 0, nil, nil), DPO(in[0], in[1], 0.4)) }
	if got := evalScalar(t, dtypes.Float64, nilKL, h1, h2); got != 0 {
		t.Errorf("PDPO(γ=0, nil KL inputs) − DPO = %g", got)
	}
	nilKLE := func(in []*Node) *Node {
		return Sub(EDPO(in[0], in[1], in[2], 0.4, Hull, 0, nil, nil), EnsembleDistill(in[0], in[1], in[2], 0.4, Hull))
	}
	if got := evalScalar(t, dtypes.Float64, nilKLE, h1, h2, dr); got != 0 {
		t.Errorf("EDPO(γ=0, nil KL inputs) − EnsembleDistill = %g", got)
	}
}

// TestFloat32MatchesFloat64 runs every scalar loss on random inputs in both dtypes.
func TestFloat32MatchesFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	h1, h2, dr := randVec(r, 32, 3), randVec(r, 32, 3), randMat(r, 32, 4, 2)
	ref, pol := randVec(r, 7, 3), randVec(r, 7, 3)
	l1, l2 := randMat(r, 3, 5, 2), randMat(r, 3, 5, 2)
	cases := []struct {
		name string
		fn   lossFn
		ins  []input
	}{
		{"DPO", dpoFn(0.3), []input{h1, h2}},
		{"IPO", ipoFn(0.3), []input{h1, h2}},
		{"CDPO", cdpoFn(0.3, 0.1), []input{h1, h2}},
		{"BradleyTerry", btFn(), []input{h1, h2}},
		{"Distill", distillFn(0.3), []input{h1, h2, column(dr, 0)}},
		{"EnsembleDistill", ensembleFn(0.3, MinPerExample), []input{h1, h2, dr}},
		{"ForwardKL", forwardKLFn(), []input{ref, pol}},
		{"ForwardKLExact", forwardExactFn(), []input{l1, l2}},
		{"ReverseKLExact", reverseExactFn(), []input{l1, l2}},
		{"EDPO", edpoFn(0.3, Hull, 0.2), []input{h1, h2, dr, ref, pol}},
		{"PDPO", pdpoFn(0.3, 0.2), []input{h1, h2, ref, pol}},
	}
	for _, c := range cases {
		f64 := evalScalar(t, dtypes.Float64, c.fn, c.ins...)
		f32 := evalScalar(t, dtypes.Float32, c.fn, c.ins...)
		if !near(f32, f64, 1e-5) {
			t.Errorf("%s: float32 %.9g, float64 %.17g", c.name, f32, f64)
		}
	}
}

// TestCDPOMinimum checks that cDPO's gradient vanishes at β·Δh = log((1−ε)/ε) and
// that the loss there is below its value at nearby margins.
func TestCDPOMinimum(t *testing.T) {
	for _, c := range []struct{ beta, eps float64 }{{0.5, 0.1}, {1, 0.25}, {2, 0.4}} {
		dh := math.Log((1-c.eps)/c.eps) / c.beta
		at, grads := evalWithGrad(t, dtypes.Float64, cdpoFn(c.beta, c.eps), vec(dh), vec(0))
		if math.Abs(grads[0][0]) > 1e-15 {
			t.Errorf("β=%g ε=%g: gradient %g at Δh=%g, want 0", c.beta, c.eps, grads[0][0], dh)
		}
		for _, d := range []float64{-0.1, 0.1} {
			if side := evalScalar(t, dtypes.Float64, cdpoFn(c.beta, c.eps), vec(dh+d), vec(0)); !(side > at) {
				t.Errorf("β=%g ε=%g: loss %g at Δh%+g not above %g at the minimum", c.beta, c.eps, side, d, at)
			}
		}
	}
}
