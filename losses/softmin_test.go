package losses

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

func softEnsembleFn(beta float64, agg Aggregation, tau float64) lossFn {
	return func(in []*Node) *Node { return EnsembleDistillSoft(in[0], in[1], in[2], beta, agg, tau) }
}

func softMinFn(tau float64) lossFn {
	return func(in []*Node) *Node { return SoftMin(in[0], tau) }
}

// The ensemble of the EnsembleDistill examples: β = 1, z = [1, 0],
// Δr = [[0, 3], [2, −0.5]], e = [[1, 4], [4, 0.25]], member means [2.5, 2.125].
var (
	exH1 = vec(1, 0)
	exH2 = vec(0, 0)
	exDr = mat([]float64{0, 3}, []float64{2, -0.5})
)

// TestSoftMinValues checks hand-worked values of SoftMin and
// EnsembleDistillSoft in float64 and float32.
func TestSoftMinValues(t *testing.T) {
	// τ = 0.375/ln 3 makes exp(−(2.5 − 2.125)/τ) = 1/3, so
	// softmin = 2.125 − τ·log(½·(1 + 1/3)) = 2.125 + τ·ln(3/2).
	tauThird := 0.375 / math.Log(3)
	cases := []struct {
		name string
		fn   lossFn
		ins  []input
		want float64
	}{
		// x = [0, ½·ln 3], τ = ½: −½·log(½·(1 + 1/3)) = ½·ln(3/2).
		{"SoftMin/[0, ln3/2] τ=.5", softMinFn(0.5), []input{vec(0, 0.5*math.Log(3))}, 0.5 * math.Log(1.5)},
		{"SoftMin/equal", softMinFn(0.7), []input{vec(2, 2, 2)}, 2},
		{"SoftMin/k=1", softMinFn(3), []input{vec(-1.25)}, -1.25},
		{"SoftMin/τ=0 is min", softMinFn(0), []input{vec(3, -2, 5)}, -2},
		// x = [0, 1e4], τ = 1: the far member's weight underflows to 0: 0 − log(½).
		{"SoftMin/far member", softMinFn(1), []input{vec(0, 1e4)}, ln2},
		{"Soft/MinPerBatch τ=0", softEnsembleFn(1, MinPerBatch, 0), []input{exH1, exH2, exDr}, 2.125},
		{"Soft/MinPerBatch τ=.375/ln3", softEnsembleFn(1, MinPerBatch, tauThird), []input{exH1, exH2, exDr}, 2.125 + tauThird*math.Log(1.5)},
		// τ = 1: mean over pairs of 1 − log(½(1 + e⁻³)) and 0.25 − log(½(1 + e^−3.75)).
		{"Soft/MinPerExample τ=1", softEnsembleFn(1, MinPerExample, 1), []input{exH1, exH2, exDr},
			(1 - math.Log((1+math.Exp(-3))/2) + 0.25 - math.Log((1+math.Exp(-3.75))/2)) / 2},
		{"Soft/MinPerExample τ=0", softEnsembleFn(1, MinPerExample, 0), []input{exH1, exH2, exDr}, 0.625},
		{"Soft/Hull τ=0", softEnsembleFn(1, Hull, 0), []input{vec(4, -1), exH2, exDr}, 0.625},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := evalScalar(t, dtypes.Float64, c.fn, c.ins...); !near(got, c.want, 1e-12) {
				t.Errorf("float64: got %.17g, want %.17g", got, c.want)
			}
			if got := evalScalar(t, dtypes.Float32, c.fn, c.ins...); !near(got, c.want, 1e-5) {
				t.Errorf("float32: got %.9g, want %.9g", got, c.want)
			}
		})
	}
	// Leading axes: one soft minimum per row.
	got, _ := evalOut(t, dtypes.Float64, softMinFn(0.5), mat([]float64{0, 0.5 * math.Log(3)}, []float64{4, 4}))
	if len(got) != 2 || !near(got[0], 0.5*math.Log(1.5), 1e-12) || !near(got[1], 4, 1e-12) {
		t.Errorf("SoftMin over rows: %v, want [%v 4]", got, 0.5*math.Log(1.5))
	}
}

// TestSoftMinGradientsFiniteDifferences compares autodiff with central
// differences; the soft minimum is smooth, so ties need no avoiding.
func TestSoftMinGradientsFiniteDifferences(t *testing.T) {
	tie := mat([]float64{0.5, 0.5, 2}, []float64{-1, 3, -1})
	cases := []struct {
		name string
		fn   lossFn
		ins  []input
	}{
		{"SoftMin τ=.3", func(in []*Node) *Node { return weightedSum(SoftMin(in[0], 0.3)) }, []input{mat([]float64{0.1, 1.3, -0.4}, []float64{2, 2.2, 1.9})}},
		{"SoftMin ties τ=.3", func(in []*Node) *Node { return weightedSum(SoftMin(in[0], 0.3)) }, []input{tie}},
		{"MinPerBatch τ=.05", softEnsembleFn(0.8, MinPerBatch, 0.05), []input{ensH1, ensH2, ensDr}},
		{"MinPerBatch τ=1", softEnsembleFn(0.8, MinPerBatch, 1), []input{ensH1, ensH2, ensDr}},
		{"MinPerExample τ=.05", softEnsembleFn(0.8, MinPerExample, 0.05), []input{ensH1, ensH2, ensDr}},
		{"MinPerExample τ=1", softEnsembleFn(0.8, MinPerExample, 1), []input{ensH1, ensH2, ensDr}},
		// Two members with equal batch losses (z = [0, 0], Δr = ±1): MinPerBatch has a kink here, the soft minimum none.
		{"MinPerBatch τ=.2 at a tie", softEnsembleFn(1, MinPerBatch, 0.2), []input{vec(0, 0), vec(0, 0), mat([]float64{1, -1}, []float64{-1, 1})}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGradFD(t, c.fn, c.ins...) })
	}
}

// TestSoftMinProperties checks, on random ensembles, τ = 0 against
// EnsembleDistill (bitwise), min ≤ softmin ≤ min(min + τ·log k, mean),
// MinPerExample ≤ MinPerBatch at equal τ, k = 1 against Distill, and the
// mean as τ → ∞.
func TestSoftMinProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for trial := range 6 {
		k := 2 + trial%3
		beta := 0.2 + r.Float64()
		h1, h2, dr := randVec(r, 9, 2), randVec(r, 9, 2), randMat(r, 9, k, 2)
		minMember, meanMember := math.Inf(1), 0.0
		for j := range k {
			d := evalScalar(t, dtypes.Float64, distillFn(beta), h1, h2, column(dr, j))
			minMember = math.Min(minMember, d)
			meanMember += d / float64(k)
		}
		for _, agg := range []Aggregation{MinPerBatch, MinPerExample, Hull} {
			hard := evalScalar(t, dtypes.Float64, ensembleFn(beta, agg), h1, h2, dr)
			if soft0 := evalScalar(t, dtypes.Float64, softEnsembleFn(beta, agg, 0), h1, h2, dr); soft0 != hard {
				t.Errorf("trial %d: %s τ=0: %.17g, EnsembleDistill %.17g", trial, agg, soft0, hard)
			}
		}
		for _, tau := range []float64{0.01, 0.3, 2} {
			pb := evalScalar(t, dtypes.Float64, softEnsembleFn(beta, MinPerBatch, tau), h1, h2, dr)
			pe := evalScalar(t, dtypes.Float64, softEnsembleFn(beta, MinPerExample, tau), h1, h2, dr)
			upper := math.Min(minMember+tau*math.Log(float64(k)), meanMember)
			if !(pb >= minMember-1e-12 && pb <= upper+1e-12) {
				t.Errorf("trial %d τ=%g: MinPerBatch soft %g outside [min %g, min(min+τ·log k, mean) %g]", trial, tau, pb, minMember, upper)
			}
			if !(pe <= pb+1e-12) {
				t.Errorf("trial %d τ=%g: MinPerExample soft %g > MinPerBatch soft %g", trial, tau, pe, pb)
			}
		}
		if big := evalScalar(t, dtypes.Float64, softEnsembleFn(beta, MinPerBatch, 1e7), h1, h2, dr); !near(big, meanMember, 1e-6) {
			t.Errorf("trial %d: τ = 1e7 gives %.12g, want the members' mean %.12g", trial, big, meanMember)
		}
	}
	h1, h2, dr := randVec(r, 8, 2), randVec(r, 8, 2), randMat(r, 8, 1, 3)
	want := evalScalar(t, dtypes.Float64, distillFn(0.6), h1, h2, column(dr, 0))
	for _, agg := range []Aggregation{MinPerBatch, MinPerExample} {
		if got := evalScalar(t, dtypes.Float64, softEnsembleFn(0.6, agg, 0.5), h1, h2, dr); !near(got, want, 1e-14) {
			t.Errorf("%s τ=0.5 with k=1: %.17g, Distill %.17g", agg, got, want)
		}
	}
}

// TestSoftMinExtremeFinite checks value and gradients are finite for
// margins of 1e4 and temperatures from 1e-4 to 1e4, in both dtypes.
func TestSoftMinExtremeFinite(t *testing.T) {
	big, negBig := vec(1e4, -1e4, 0), vec(-1e4, 1e4, 0)
	dr := mat([]float64{0, 1e4}, []float64{-1e4, 5}, []float64{1e4, -1e4})
	for _, tau := range []float64{1e-4, 1, 1e4} {
		for _, agg := range []Aggregation{MinPerBatch, MinPerExample} {
			for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
				v, grads := evalWithGrad(t, dt, softEnsembleFn(0.5, agg, tau), big, negBig, dr)
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%s τ=%g %s: value %g", agg, tau, dt, v)
				}
				for i, g := range grads {
					for j, x := range g {
						if math.IsNaN(x) || math.IsInf(x, 0) {
							t.Errorf("%s τ=%g %s: gradient of input %d element %d = %g", agg, tau, dt, i, j, x)
						}
					}
				}
			}
		}
	}
}

// TestSoftMinRoundingRobust moves one float32 input by ±1 ulp across a tie
// of two members' batch losses. Inputs: h1 = [1 ± ulp, 0], h2 = [1, 0], β = 1,
// Δr = [[1, −1], [−1, 1]], so z = [±ulp, 0] and the members' losses are
// ((1 ∓ z₀)² + 1)/2: member 0 wins for z₀ > 0, member 1 for z₀ < 0. Every
// loss value moves by a few ulps. MinPerBatch's gradient ∂L/∂h1[0], z₀ − 1
// or z₀ + 1, jumps by 2: the step it takes follows the other member. The soft
// minimum's, z₀ − tanh(z₀/τ) (softmax weights of the two members), moves by
// about 2·ulp·|1 − 1/τ|.
func TestSoftMinRoundingRobust(t *testing.T) {
	one := float32(1)
	up, down := float64(math.Nextafter32(one, 2)), float64(math.Nextafter32(one, 0))
	ulp := up - 1
	dr := mat([]float64{1, -1}, []float64{-1, 1})
	at := func(fn lossFn, h float64) (float64, float64) {
		v, g := evalWithGrad(t, dtypes.Float32, fn, vec(h, 0), vec(1, 0), dr)
		return v, g[0][0]
	}
	for _, c := range []struct {
		name    string
		fn      lossFn
		maxJump float64 // the most the gradient may move
		minJump float64 // the least it must move
	}{
		{"MinPerBatch", ensembleFn(1, MinPerBatch), math.Inf(1), 1.9},
		{"MinPerBatch τ=0.1", softEnsembleFn(1, MinPerBatch, 0.1), 4 * ulp * (1 + 1/0.1), 0},
		{"MinPerBatch τ=1", softEnsembleFn(1, MinPerBatch, 1), 4 * ulp * 2, 0},
		{"MinPerExample τ=0.1", softEnsembleFn(1, MinPerExample, 0.1), 4 * ulp * (1 + 1/0.1), 0},
	} {
		vUp, gUp := at(c.fn, up)
		vDown, gDown := at(c.fn, down)
		if math.Abs(vUp-vDown) > 4*ulp {
			t.Errorf("%s: loss moved %.3g (%.1f ulps of 1) for a 1.5-ulp move of h1", c.name, vUp-vDown, math.Abs(vUp-vDown)/ulp)
		}
		jump := math.Abs(gUp - gDown)
		if jump > c.maxJump || jump < c.minJump {
			t.Errorf("%s: ∂L/∂h1[0] = %.9g at +1 ulp, %.9g at −1 ulp: moved %.3g, want within [%.3g, %.3g]",
				c.name, gUp, gDown, jump, c.minJump, c.maxJump)
		}
		t.Logf("%s: loss %.9g → %.9g, ∂L/∂h1[0] %.9g → %.9g", c.name, vUp, vDown, gUp, gDown)
	}
}

// TestSoftMinPanics checks the argument errors of SoftMin and EnsembleDistillSoft.
func TestSoftMinPanics(t *testing.T) {
	v3 := vec(1, 2, 3)
	m32 := mat([]float64{1, 2}, []float64{3, 4}, []float64{5, 6})
	cases := []struct {
		name string
		fn   lossFn
		ins  []input
		want []string
	}{
		{"negative τ", softEnsembleFn(0.5, MinPerBatch, -1), []input{v3, v3, m32}, []string{"losses.EnsembleDistillSoft", "tau=-1"}},
		{"NaN τ", softEnsembleFn(0.5, MinPerExample, math.NaN()), []input{v3, v3, m32}, []string{"losses.EnsembleDistillSoft", "tau=NaN"}},
		{"infinite τ", softEnsembleFn(0.5, MinPerBatch, math.Inf(1)), []input{v3, v3, m32}, []string{"losses.EnsembleDistillSoft", "tau=+Inf"}},
		{"Hull with τ", softEnsembleFn(0.5, Hull, 0.1), []input{v3, v3, m32}, []string{"losses.EnsembleDistillSoft", "Hull", "tau = 0"}},
		{"SoftMin rank 0", softMinFn(1), []input{{data: []float64{1}, dims: nil}}, []string{"losses.SoftMin", "[..., k]"}},
		{"SoftMin τ", softMinFn(-0.5), []input{v3}, []string{"losses.SoftMin", "tau=-0.5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expectPanic(t, c.fn, c.want, c.ins...) })
	}
	expectPanic(t, func([]*Node) *Node { return SoftMin(nil, 1) }, []string{"losses.SoftMin", "x is nil"})
}
