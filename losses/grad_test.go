package losses

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

// weightedSum turns a per-example output into a scalar Σ_i (i+1)·out_i, so that its
// gradient checks every element's derivative with a distinct weight.
func weightedSum(out *Node) *Node {
	n := out.Shape().Size()
	w := make([]float64, n)
	for i := range w {
		w[i] = float64(i + 1)
	}
	weights := Reshape(ConstAs(out, w), out.Shape().Dimensions...)
	return ReduceAllSum(Mul(out, weights))
}

// Ensemble inputs away from kinks: no ties among members, z never on an interval end.
// z = β(h1 − h2) with β = 0.8: [0.8, −1.6, 2.4, 0].
var (
	ensH1 = vec(1.5, -1, 2, 0.25)
	ensH2 = vec(0.5, 1, -1, 0.25)
	ensDr = mat(
		[]float64{0.1, 1.3, -0.4}, // z = 0.8 inside [−0.4, 1.3]
		[]float64{-0.2, 0.7, 2.0}, // z = −1.6 below
		[]float64{1.1, -0.3, 0.2}, // z = 2.4 above
		[]float64{0.9, -1.2, 0.3}, // z = 0 inside
	)
)

func TestGradientsFiniteDifferences(t *testing.T) {
	logits1 := mat([]float64{0.3, -1.2, 2.0, 0.1}, []float64{-0.5, 0.4, 0.0, 1.7})
	logits2 := mat([]float64{1.1, 0.2, -0.7, 0.6}, []float64{0.9, -2.0, 0.3, 0.05})
	cases := []struct {
		name string
		fn   lossFn
		ins  []input
	}{
		// Δh = [2, 0, −3, 0]: includes the softplus kink-free point βΔh = 0.
		{"DPO", dpoFn(0.5), []input{vec(1, 0, -2, 0.3), vec(-1, 0, 1, 0.3)}},
		{"DPO/large margins", dpoFn(0.1), []input{vec(30, -25), vec(-30, 25)}},
		{"IPO", ipoFn(0.7), []input{vec(1, 0, -2, 0.3), vec(-1, 0, 1, 0.9)}},
		{"CDPO", cdpoFn(0.5, 0.2), []input{vec(1, 0, -2, 0.3), vec(-1, 0, 1, 0.3)}},
		{"BradleyTerry", btFn(), []input{vec(3, 0, -1.5), vec(1, 0, 2.5)}},
		{"Distill", distillFn(0.5), []input{vec(2, 0, -1), vec(0, 2, 0.5), vec(1, 0.3, -2)}},
		{"EnsembleDistill/MinPerBatch", ensembleFn(0.8, MinPerBatch), []input{ensH1, ensH2, ensDr}},
		{"EnsembleDistill/MinPerExample", ensembleFn(0.8, MinPerExample), []input{ensH1, ensH2, ensDr}},
		{"EnsembleDistill/Hull", ensembleFn(0.8, Hull), []input{ensH1, ensH2, ensDr}},
		{"ForwardKL", forwardKLFn(), []input{vec(-1, -2, -0.5), vec(-1.5, -1, -3)}},
		{"ForwardKLExact", forwardExactFn(), []input{logits1, logits2}},
		{"ReverseKLExact", reverseExactFn(), []input{logits1, logits2}},
		{"EDPO", edpoFn(0.8, MinPerExample, 0.3), []input{ensH1, ensH2, ensDr, vec(-1, -2, -0.5), vec(-1.5, -1, -3)}},
		{"PDPO", pdpoFn(0.5, 0.3), []input{vec(1, 0, -2), vec(-1, 0, 1), vec(-1, -2, -0.5, -4), vec(-1.5, -1, -3, -0.2)}},
		{"ImplicitReward", func(in []*Node) *Node { return weightedSum(ImplicitReward(in[0], 0.3)) }, []input{vec(1, -2, 0.5)}},
		{"GradWeight", func(in []*Node) *Node { return weightedSum(GradWeight(in[0], in[1], 0.5)) }, []input{vec(1, 0, -2), vec(-1, 0, 1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGradFD(t, c.fn, c.ins...) })
	}
}

// TestDPOGradientClosedForm checks ∂L/∂chosen_i = −β·σ(−βΔh_i)/batch, i.e.
// −β·GradWeight_i/batch, and ∂L/∂rejected = −∂L/∂chosen, including |βΔh| = 1e4 in
// both dtypes, where the weight is exactly 0 or 1.
func TestDPOGradientClosedForm(t *testing.T) {
	const beta = 0.5
	chosen := vec(1, 0, 1e4, -1e4, 3)
	rejected := vec(-1, 0, -1e4, 1e4, 3)
	wantWeight := []float64{sigmoidM1, 0.5, 0, 1, 0.5}
	for _, dt := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
		tol := map[dtypes.DType]float64{dtypes.Float64: 1e-12, dtypes.Float32: 1e-6}[dt]
		_, grads := evalWithGrad(t, dt, dpoFn(beta), chosen, rejected)
		for i, w := range wantWeight {
			want := -beta * w / 5
			if !near(grads[0][i], want, tol) || !near(grads[1][i], -want, tol) {
				t.Errorf("%s: pair %d: gradients (%g, %g), want (%g, %g)", dt, i, grads[0][i], grads[1][i], want, -want)
			}
		}
	}
}

// TestExtremeMarginsFinite checks that value and every gradient are finite when
// |β·Δh| (or a logit, or a reward margin) is 1e4, in float32 and float64.
func TestExtremeMarginsFinite(t *testing.T) {
	big := vec(1e4, -1e4, 0)
	negBig := vec(-1e4, 1e4, 0)
	cases := []struct {
		name string
		fn   lossFn
		ins  []input
	}{
		{"DPO", dpoFn(0.5), []input{big, negBig}},
		{"IPO", ipoFn(0.5), []input{big, negBig}},
		{"CDPO", cdpoFn(0.5, 0.3), []input{big, negBig}},
		{"BradleyTerry", btFn(), []input{big, negBig}},
		{"Distill", distillFn(0.5), []input{big, negBig, vec(-1e4, 1e4, 1e4)}},
		{"EnsembleDistill/MinPerBatch", ensembleFn(0.5, MinPerBatch), []input{big, negBig, mat([]float64{0, 1e4}, []float64{-1e4, 5}, []float64{1e4, -1e4})}},
		{"EnsembleDistill/MinPerExample", ensembleFn(0.5, MinPerExample), []input{big, negBig, mat([]float64{0, 1e4}, []float64{-1e4, 5}, []float64{1e4, -1e4})}},
		{"EnsembleDistill/Hull", ensembleFn(0.5, Hull), []input{big, negBig, mat([]float64{0, 1}, []float64{-1e4, 5}, []float64{1e4, 2e4})}},
		{"ForwardKLExact", forwardExactFn(), []input{mat([]float64{1e4, 0, -1e4}), mat([]float64{-1e4, 0, 1e4})}},
		{"ReverseKLExact", reverseExactFn(), []input{mat([]float64{1e4, 0, -1e4}), mat([]float64{-1e4, 0, 1e4})}},
		{"EDPO", edpoFn(0.5, Hull, 1), []input{big, negBig, mat([]float64{0, 1}, []float64{-1e4, 5}, []float64{1e4, 2e4}), big, negBig}},
		{"PDPO", pdpoFn(0.5, 1), []input{big, negBig, big, negBig}},
		{"GradWeight", func(in []*Node) *Node { return weightedSum(GradWeight(in[0], in[1], 0.5)) }, []input{big, negBig}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
				v, grads := evalWithGrad(t, dt, c.fn, c.ins...)
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%s: value %g", dt, v)
				}
				for i, g := range grads {
					for j, x := range g {
						if math.IsNaN(x) || math.IsInf(x, 0) {
							t.Errorf("%s: gradient of input %d element %d = %g", dt, i, j, x)
						}
					}
				}
			}
		})
	}
}
