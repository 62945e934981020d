package losses

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

// Hand-worked constants used below.
const (
	ln2          = 0.6931471805599453  // softplus(0) = log 2
	softplusM1   = 0.31326168751822286 // softplus(−1) = log(1 + 1/e)
	softplusP1   = 1.3132616875182228  // softplus(1) = 1 + softplus(−1)
	softplusM2   = 0.12692801104297263 // softplus(−2) = log(1 + e⁻²)
	softplusP2   = 2.1269280110429727  // softplus(2) = 2 + softplus(−2)
	sigmoidM1    = 0.2689414213699951  // σ(−1) = 1/(1 + e)
	halfLog4on3  = 0.14384103622589042 // ½·log(4/3) = KL((½,½) ‖ (¾,¼))
	reverseUnif3 = 0.13081203594113697 // ¾·log(3/2) − ¼·log 2 = KL((¾,¼) ‖ (½,½))
)

func dpoFn(beta float64) lossFn {
	return func(in []*Node) *Node { return DPO(in[0], in[1], beta) }
}
func ipoFn(beta float64) lossFn {
	return func(in []*Node) *Node { return IPO(in[0], in[1], beta) }
}
func cdpoFn(beta, eps float64) lossFn {
	return func(in []*Node) *Node { return CDPO(in[0], in[1], beta, eps) }
}
func btFn() lossFn {
	return func(in []*Node) *Node { return BradleyTerry(in[0], in[1]) }
}
func distillFn(beta float64) lossFn {
	return func(in []*Node) *Node { return Distill(in[0], in[1], in[2], beta) }
}
func ensembleFn(beta float64, agg Aggregation) lossFn {
	return func(in []*Node) *Node { return EnsembleDistill(in[0], in[1], in[2], beta, agg) }
}
func forwardKLFn() lossFn {
	return func(in []*Node) *Node { return ForwardKL(in[0], in[1]) }
}
func forwardExactFn() lossFn {
	return func(in []*Node) *Node { return ForwardKLExact(in[0], in[1]) }
}
func reverseExactFn() lossFn {
	return func(in []*Node) *Node { return ReverseKLExact(in[0], in[1]) }
}
func edpoFn(beta float64, agg Aggregation, gamma float64) lossFn {
	return func(in []*Node) *Node { return EDPO(in[0], in[1], in[2], beta, agg, gamma, in[3], in[4]) }
}
func pdpoFn(beta, gamma float64) lossFn {
	return func(in []*Node) *Node { return PDPO(in[0], in[1], beta, gamma, in[2], in[3]) }
}

// scalarCases are hand-worked values of every scalar loss; each is checked in float64
// and float32. The comment on each case shows the working.
var scalarCases = []struct {
	name string
	fn   lossFn
	ins  []input
	want float64
}{
	// DPO: mean softplus(−βΔh).
	{"DPO/β=.5,Δh=[2,0]", dpoFn(0.5), []input{vec(1, 0), vec(-1, 0)}, (softplusM1 + ln2) / 2},
	{"DPO/β=2,Δh=-.5", dpoFn(2), []input{vec(0.25), vec(0.75)}, softplusP1},
	{"DPO/βΔh=+1e4", dpoFn(0.5), []input{vec(1e4), vec(-1e4)}, 0},       // softplus(−1e4) = e^−1e4 ≈ 0
	{"DPO/βΔh=-1e4", dpoFn(0.5), []input{vec(-1e4), vec(1e4)}, 1e4},     // softplus(1e4) = 1e4 + e^−1e4
	{"DPO/mixed±1e4", dpoFn(1), []input{vec(1e4, 0), vec(0, 1e4)}, 5e3}, // (0 + 1e4)/2
	// IPO: mean (Δh − 1/(2β))².
	{"IPO/β=.5,Δh=[2,0]", ipoFn(0.5), []input{vec(1, 0), vec(-1, 0)}, 1}, // (2−1)², (0−1)²
	{"IPO/at minimum", ipoFn(0.5), []input{vec(0.5), vec(-0.5)}, 0},
	{"IPO/β=.25,Δh=[-1,5]", ipoFn(0.25), []input{vec(-1, 5), vec(0, 0)}, 9}, // (−1−2)², (5−2)²
	{"IPO/Δh=2e4", ipoFn(0.5), []input{vec(1e4), vec(-1e4)}, 399960001},     // (2e4 − 1)²
	// cDPO: mean (1−ε)·softplus(−βΔh) + ε·softplus(βΔh).
	{"CDPO/ε=.1,Δh=[2,0]", cdpoFn(0.5, 0.1), []input{vec(1, 0), vec(-1, 0)}, (softplusM1 + 0.1 + ln2) / 2}, // .9·sp(−1) + .1·(1 + sp(−1)), log 2
	{"CDPO/ε=.25,Δh=0", cdpoFn(1, 0.25), []input{vec(3), vec(3)}, ln2},
	{"CDPO/ε=.25,βΔh=1e4", cdpoFn(0.5, 0.25), []input{vec(1e4), vec(-1e4)}, 2500}, // .75·0 + .25·1e4
	{"CDPO/ε=0,βΔh=-1", cdpoFn(1, 0), []input{vec(0), vec(1)}, softplusP1},
	// Bradley–Terry: mean softplus(r_l − r_w).
	{"BT/[3,0]vs[1,0]", btFn(), []input{vec(3, 0), vec(1, 0)}, (softplusM2 + ln2) / 2},
	{"BT/[-1,2]vs[1,2]", btFn(), []input{vec(-1, 2), vec(1, 2)}, (softplusP2 + ln2) / 2},
	{"BT/margin -1e4", btFn(), []input{vec(0), vec(1e4)}, 1e4},
	{"BT/margin +2e4", btFn(), []input{vec(1e4), vec(-1e4)}, 0},
	// Distill: mean (Δr − β(h1 − h2))².
	{"Distill/β=.5", distillFn(0.5), []input{vec(2, 0), vec(0, 2), vec(1, 0)}, 0.5}, // (1−1)², (0+1)²
	{"Distill/h=0", distillFn(0.5), []input{vec(0), vec(0), vec(3)}, 9},
	{"Distill/β(h1−h2)=1e4", distillFn(0.5), []input{vec(1e4), vec(-1e4), vec(0)}, 1e8},
	// EnsembleDistill with z = β(h1−h2) = [1, 0], Δr = [[0, 3], [2, −0.5]]:
	// e = [[1, 4], [4, 0.25]]; member means [2.5, 2.125]; per-pair mins [1, 0.25];
	// z inside both intervals [0, 3] and [−0.5, 2].
	{"Ensemble/MinPerBatch", ensembleFn(1, MinPerBatch), []input{vec(1, 0), vec(0, 0), mat([]float64{0, 3}, []float64{2, -0.5})}, 2.125},
	{"Ensemble/MinPerExample", ensembleFn(1, MinPerExample), []input{vec(1, 0), vec(0, 0), mat([]float64{0, 3}, []float64{2, -0.5})}, 0.625},
	{"Ensemble/Hull inside", ensembleFn(1, Hull), []input{vec(1, 0), vec(0, 0), mat([]float64{0, 3}, []float64{2, -0.5})}, 0},
	// z = [4, −1]: 1 above [0, 3], 0.5 below [−0.5, 2]: mean(1, 0.25).
	{"Ensemble/Hull outside", ensembleFn(1, Hull), []input{vec(4, -1), vec(0, 0), mat([]float64{0, 3}, []float64{2, -0.5})}, 0.625},
	// e = [[16, 1], [9, 0.25]]: member means [12.5, 0.625]; mins [1, 0.25].
	{"Ensemble/MinPerBatch outside", ensembleFn(1, MinPerBatch), []input{vec(4, -1), vec(0, 0), mat([]float64{0, 3}, []float64{2, -0.5})}, 0.625},
	{"Ensemble/β=.5,z=1e4", ensembleFn(0.5, MinPerExample), []input{vec(1e4), vec(-1e4), mat([]float64{0, 1e4 - 2})}, 4}, // min(1e8, 2²)
	// z = 1e4: member errors [1e8, 2²]; z is 2 above the interval [0, 1e4 − 2].
	{"Ensemble/MinPerBatch z=1e4", ensembleFn(0.5, MinPerBatch), []input{vec(1e4), vec(-1e4), mat([]float64{0, 1e4 - 2})}, 4},
	{"Ensemble/Hull z=1e4", ensembleFn(0.5, Hull), []input{vec(1e4), vec(-1e4), mat([]float64{0, 1e4 - 2})}, 4},
	// ForwardKL: mean(ref − policy).
	{"ForwardKL/[.5,-1]", forwardKLFn(), []input{vec(-1, -2), vec(-1.5, -1)}, -0.25},
	{"ForwardKL/3", forwardKLFn(), []input{vec(0), vec(-3)}, 3},
	{"ForwardKL/rank2", forwardKLFn(), []input{mat([]float64{-1, -2}, []float64{-3, -4}), mat([]float64{-2, -2}, []float64{-2, -2})}, -0.5}, // (1+0−1−2)/4
	// ForwardKLExact: p = softmax([0, 0]) = (½, ½), q = softmax([log 3, 0]) = (¾, ¼).
	{"ForwardKLExact/½½‖¾¼", forwardExactFn(), []input{vec(0, 0), vec(math.Log(3), 0)}, halfLog4on3},
	{"ForwardKLExact/equal+shifted", forwardExactFn(), []input{vec(1, 2, 3), vec(11, 12, 13)}, 0},
	{"ForwardKLExact/rows", forwardExactFn(), []input{mat([]float64{0, 0}, []float64{5, -5}), mat([]float64{math.Log(3), 0}, []float64{5, -5})}, halfLog4on3 / 2},
	{"ForwardKLExact/logit 1e4", forwardExactFn(), []input{vec(0, 1e4), vec(0, 0)}, ln2}, // p = (0, 1): 1·(0 − log ½)
	{"ReverseKLExact/¾¼‖½½", reverseExactFn(), []input{vec(0, 0), vec(math.Log(3), 0)}, reverseUnif3},
	{"ReverseKLExact/equal", reverseExactFn(), []input{vec(-4, 0.5), vec(-4, 0.5)}, 0},
	{"ReverseKLExact/logit 1e4", reverseExactFn(), []input{vec(0, 1e4), vec(0, 0)}, 5000 - ln2}, // ½(−log 2 + 1e4) + ½(−log 2 − 0)
	// EDPO = EnsembleDistill + γ·ForwardKL: 2.125 + 0.5·(−0.25).
	{"EDPO/MinPerBatch γ=.5", edpoFn(1, MinPerBatch, 0.5), []input{vec(1, 0), vec(0, 0), mat([]float64{0, 3}, []float64{2, -0.5}), vec(-1, -2), vec(-1.5, -1)}, 2},
	{"EDPO/Hull γ=2", edpoFn(1, Hull, 2), []input{vec(4, -1), vec(0, 0), mat([]float64{0, 3}, []float64{2, -0.5}), vec(0), vec(-3)}, 6.625}, // 0.625 + 2·3
	{"EDPO/γ=0", edpoFn(1, MinPerExample, 0), []input{vec(1, 0), vec(0, 0), mat([]float64{0, 3}, []float64{2, -0.5}), vec(0), vec(-3)}, 0.625},
	// PDPO = DPO + γ·ForwardKL.
	{"PDPO/γ=.5", pdpoFn(0.5, 0.5), []input{vec(1, 0), vec(-1, 0), vec(0), vec(-3)}, (softplusM1+ln2)/2 + 1.5},
	{"PDPO/γ=0", pdpoFn(2, 0), []input{vec(0.25), vec(0.75), vec(0, 0), vec(1, 1)}, softplusP1},
	{"PDPO/βΔh=-1e4 γ=1", pdpoFn(0.5, 1), []input{vec(-1e4), vec(1e4), vec(-1, -2), vec(-1.5, -1)}, 1e4 - 0.25},
}

func TestScalarValues(t *testing.T) {
	for _, c := range scalarCases {
		t.Run(c.name, func(t *testing.T) {
			if got := evalScalar(t, dtypes.Float64, c.fn, c.ins...); !near(got, c.want, 1e-12) {
				t.Errorf("float64: got %.17g, want %.17g", got, c.want)
			}
			if got := evalScalar(t, dtypes.Float32, c.fn, c.ins...); !near(got, c.want, 1e-5) {
				t.Errorf("float32: got %.9g, want %.9g", got, c.want)
			}
		})
	}
}

// vectorCases are hand-worked values of the per-example functions.
var vectorCases = []struct {
	name string
	fn   lossFn
	ins  []input
	want []float64
}{
	{"ImplicitReward/β=.5", func(in []*Node) *Node { return ImplicitReward(in[0], 0.5) }, []input{vec(1, -2, 0)}, []float64{0.5, -1, 0}},
	{"ImplicitReward/β=.1 rank2", func(in []*Node) *Node { return ImplicitReward(in[0], 0.1) }, []input{mat([]float64{10, -20}, []float64{1e4, 0})}, []float64{1, -2, 1e3, 0}},
	{"ImplicitReward/β=2", func(in []*Node) *Node { return ImplicitReward(in[0], 2) }, []input{vec(-1e4)}, []float64{-2e4}},
	{"GradWeight/β=.5", func(in []*Node) *Node { return GradWeight(in[0], in[1], 0.5) }, []input{vec(1, 0), vec(-1, 0)}, []float64{sigmoidM1, 0.5}},
	{"GradWeight/β=1,Δh=-1", func(in []*Node) *Node { return GradWeight(in[0], in[1], 1) }, []input{vec(0), vec(1)}, []float64{1 - sigmoidM1}},
	{"GradWeight/±1e4", func(in []*Node) *Node { return GradWeight(in[0], in[1], 0.5) }, []input{vec(1e4, -1e4), vec(-1e4, 1e4)}, []float64{0, 1}},
}

func TestVectorValues(t *testing.T) {
	for _, c := range vectorCases {
		t.Run(c.name, func(t *testing.T) {
			for _, dt := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
				tol := map[dtypes.DType]float64{dtypes.Float64: 1e-12, dtypes.Float32: 1e-6}[dt]
				got, gotDT := evalOut(t, dt, c.fn, c.ins...)
				if gotDT != dt || len(got) != len(c.want) {
					t.Fatalf("%s: got %d values of dtype %s, want %d of %s", dt, len(got), gotDT, len(c.want), dt)
				}
				for i := range got {
					if !near(got[i], c.want[i], tol) {
						t.Errorf("%s: element %d = %.17g, want %.17g", dt, i, got[i], c.want[i])
					}
				}
			}
		})
	}
}
