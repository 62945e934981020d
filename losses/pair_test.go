package losses

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

// slicPair is SLiC's hinge max(0, 1 − β·Δh), a PairLoss written as a user would.
func slicPair(margin, beta *Node) *Node { return MaxScalar(OneMinus(Mul(beta, margin)), 0) }

// TestPairLossValues checks the per-pair losses element-wise against their
// formulas at hand-picked margins, with β a scalar node and a [2, 1] node.
func TestPairLossValues(t *testing.T) {
	margins := mat([]float64{2, 0, -1}, []float64{0.5, 4, -3})
	betas := []float64{0.5, 2}
	cases := []struct {
		name string
		loss PairLoss
		want func(dh, beta float64) float64
	}{
		{"DPOPair", DPOPair, func(dh, b float64) float64 { return math.Log1p(math.Exp(-b * dh)) }},
		{"IPOPair", IPOPair, func(dh, b float64) float64 { return (dh - 1/(2*b)) * (dh - 1/(2*b)) }},
		{"CDPOPair(0.2)", CDPOPair(0.2), func(dh, b float64) float64 {
			return 0.8*math.Log1p(math.Exp(-b*dh)) + 0.2*math.Log1p(math.Exp(b*dh))
		}},
		{"CDPOPair(0)", CDPOPair(0), func(dh, b float64) float64 { return math.Log1p(math.Exp(-b * dh)) }},
		{"SLiC", slicPair, func(dh, b float64) float64 { return math.Max(0, 1-b*dh) }},
	}
	for _, c := range cases {
		for _, dt := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
			// β per row: [[0.5], [2]].
			got, gotDT := evalOut(t, dt, func(in []*Node) *Node { return c.loss(in[0], in[1]) }, margins, mat([]float64{betas[0]}, []float64{betas[1]}))
			if gotDT != dt || len(got) != 6 {
				t.Fatalf("%s %s: %d values of dtype %s, want 6 of %s", c.name, dt, len(got), gotDT, dt)
			}
			tol := 1e-14
			if dt == dtypes.Float32 {
				tol = 1e-6
			}
			for i, dh := range margins.data {
				if w := c.want(dh, betas[i/3]); !near(got[i], w, tol) {
					t.Errorf("%s %s: ℓ(Δh=%g, β=%g) = %.17g, want %.17g", c.name, dt, dh, betas[i/3], got[i], w)
				}
			}
		}
	}
}

// TestNamedLossesArePairMeans checks DPO, IPO and CDPO against MeanPairLoss
// of their PairLoss values, bitwise, and MeanPairLoss against the mean of
// the per-pair losses.
func TestNamedLossesArePairMeans(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	h1, h2 := randVec(r, 9, 3), randVec(r, 9, 3)
	for _, c := range []struct {
		name        string
		named, pair lossFn
	}{
		{"DPO", dpoFn(0.3), func(in []*Node) *Node { return MeanPairLoss(DPOPair, in[0], in[1], 0.3) }},
		{"IPO", ipoFn(0.5), func(in []*Node) *Node { return MeanPairLoss(IPOPair, in[0], in[1], 0.5) }},
		{"CDPO", cdpoFn(0.7, 0.15), func(in []*Node) *Node { return MeanPairLoss(CDPOPair(0.15), in[0], in[1], 0.7) }},
	} {
		for _, dt := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
			a, b := evalScalar(t, dt, c.named, h1, h2), evalScalar(t, dt, c.pair, h1, h2)
			if a != b {
				t.Errorf("%s %s: named %.17g, MeanPairLoss %.17g", c.name, dt, a, b)
			}
		}
	}
	got := evalScalar(t, dtypes.Float64, func(in []*Node) *Node { return MeanPairLoss(slicPair, in[0], in[1], 0.8) }, h1, h2)
	want := 0.0
	for i := range h1.data {
		want += math.Max(0, 1-0.8*(h1.data[i]-h2.data[i])) / 9
	}
	if !near(got, want, 1e-14) {
		t.Errorf("MeanPairLoss(SLiC) = %.17g, want %.17g", got, want)
	}
}

// TestLeadingAxes checks every loss on [C, B] inputs with per-row β (and ε)
// nodes against C separate [B] calls with number parameters: row c of the
// batched result equals the c-th call.
func TestLeadingAxes(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	const C, B, K = 3, 5, 4
	h1, h2, dr1 := randMat(r, C, B, 2), randMat(r, C, B, 2), randMat(r, C, B, 2)
	drk := input{dims: []int{C, B, K}}
	for range C * B * K {
		drk.data = append(drk.data, 2*r.NormFloat64())
	}
	betas, epss := []float64{0.3, 1, 2.5}, []float64{0, 0.1, 0.4}
	col := func(xs []float64) input { return input{data: xs, dims: []int{C, 1}} }
	row := func(m input, c int) input { // row c of a [C, …] input, as […]
		per := len(m.data) / C
		return input{data: m.data[c*per : (c+1)*per], dims: m.dims[1:]}
	}
	type pair struct {
		batched    lossFn              // on (h1, h2, [rd,] β [C,1], ε [C,1])
		single     func(c int) lossFn  // on row c's (h1, h2[, rd])
		ins        func(c int) []input // row c's inputs
		all        []input             // the batched inputs before β, ε
		perExample bool                // the result is [C, B] rather than [C]
	}
	pairIns := func(c int) []input { return []input{row(h1, c), row(h2, c)} }
	cases := map[string]pair{
		"DPO": {func(in []*Node) *Node { return DPO(in[0], in[1], in[2]) },
			func(c int) lossFn { return dpoFn(betas[c]) }, pairIns, []input{h1, h2}, false},
		"IPO": {func(in []*Node) *Node { return IPO(in[0], in[1], in[2]) },
			func(c int) lossFn { return ipoFn(betas[c]) }, pairIns, []input{h1, h2}, false},
		"CDPO": {func(in []*Node) *Node { return CDPO(in[0], in[1], in[2], in[3]) },
			func(c int) lossFn { return cdpoFn(betas[c], epss[c]) }, pairIns, []input{h1, h2}, false},
		"GradWeight": {func(in []*Node) *Node { return GradWeight(in[0], in[1], in[2]) },
			func(c int) lossFn { return func(in []*Node) *Node { return GradWeight(in[0], in[1], betas[c]) } }, pairIns, []input{h1, h2}, true},
		"BradleyTerry": {func(in []*Node) *Node { return BradleyTerry(in[0], in[1]) },
			func(int) lossFn { return btFn() }, pairIns, []input{h1, h2}, false},
		"Distill": {func(in []*Node) *Node { return Distill(in[0], in[1], in[2], in[3]) },
			func(c int) lossFn { return distillFn(betas[c]) }, func(c int) []input { return []input{row(h1, c), row(h2, c), row(dr1, c)} }, []input{h1, h2, dr1}, false},
	}
	for _, agg := range []Aggregation{MinPerBatch, MinPerExample, Hull} {
		for _, tau := range []float64{0, 0.3} {
			if agg == Hull && tau > 0 {
				continue
			}
			cases[fmt.Sprintf("EnsembleDistillSoft %s τ=%g", agg, tau)] = pair{
				func(in []*Node) *Node { return EnsembleDistillSoft(in[0], in[1], in[2], in[3], agg, tau) },
				func(c int) lossFn {
					return func(in []*Node) *Node { return EnsembleDistillSoft(in[0], in[1], in[2], betas[c], agg, tau) }
				},
				func(c int) []input { return []input{row(h1, c), row(h2, c), row(drk, c)} }, []input{h1, h2, drk}, false}
		}
	}
	for name, c := range cases {
		ins := append(append([]input(nil), c.all...), col(betas), col(epss))
		got, _ := evalOut(t, dtypes.Float64, func(in []*Node) *Node {
			n := len(c.all) // β and ε follow the data inputs
			return c.batched(append(in[:n:n], in[n], in[n+1]))
		}, ins...)
		per := 1
		if c.perExample {
			per = B
		}
		if len(got) != C*per {
			t.Fatalf("%s: %d values, want %d", name, len(got), C*per)
		}
		for k := range C {
			want, _ := evalOut(t, dtypes.Float64, c.single(k), c.ins(k)...)
			for j := range per {
				if !near(got[k*per+j], want[j], 1e-14) {
					t.Errorf("%s: row %d [%d] = %.17g, the [B] call gives %.17g", name, k, j, got[k*per+j], want[j])
				}
			}
		}
	}
}

// TestCategoricalKL checks the per-row KL against ForwardKLExact's mean and a
// hand-worked value.
func TestCategoricalKL(t *testing.T) {
	// p = (½, ½), q = (¾, ¼) in row 0; equal rows in row 1.
	logP := mat([]float64{math.Log(0.5), math.Log(0.5)}, []float64{math.Log(0.2), math.Log(0.8)})
	logQ := mat([]float64{math.Log(0.75), math.Log(0.25)}, []float64{math.Log(0.2), math.Log(0.8)})
	got, _ := evalOut(t, dtypes.Float64, func(in []*Node) *Node { return CategoricalKL(in[0], in[1]) }, logP, logQ)
	if len(got) != 2 || !near(got[0], halfLog4on3, 1e-15) || got[1] != 0 {
		t.Errorf("CategoricalKL = %v, want [%v 0]", got, halfLog4on3)
	}
}
