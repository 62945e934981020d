package losses

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

func TestPanicsNameFunctionAndCulprit(t *testing.T) {
	v3, v2 := vec(1, 2, 3), vec(1, 2)
	m32 := mat([]float64{1, 2}, []float64{3, 4}, []float64{5, 6})
	var none input // a nil node
	cases := []struct {
		name string
		fn   lossFn
		ins  []input
		want []string
	}{
		{"DPO shapes", dpoFn(0.5), []input{v3, v2}, []string{"losses.DPO", "chosenLogRatio shape (Float64)[3]", "rejectedLogRatio shape (Float64)[2]"}},
		{"DPO beta 0", dpoFn(0), []input{v3, v3}, []string{"losses.DPO", "beta=0"}},
		{"DPO beta -1", dpoFn(-1), []input{v3, v3}, []string{"losses.DPO", "beta=-1"}},
		{"DPO beta NaN", dpoFn(math.NaN()), []input{v3, v3}, []string{"losses.DPO", "beta=NaN"}},
		{"DPO beta Inf", dpoFn(math.Inf(1)), []input{v3, v3}, []string{"losses.DPO", "beta=+Inf"}},
		{"DPO rank 0", dpoFn(0.5), []input{{data: []float64{1}}, {data: []float64{1}}}, []string{"losses.DPO", "(Float64)", "rank 0"}},
		{"DPO beta node dtype", func(in []*Node) *Node { return DPO(in[0], in[1], ConvertDType(in[2], dtypes.Float32)) }, []input{v3, v3, v3}, []string{"losses.DPO", "beta has dtype Float32"}},
		{"DPO beta node shape", func(in []*Node) *Node { return DPO(in[0], in[1], in[2]) }, []input{m32, m32, vec(1, 2)}, []string{"losses.DPO", "beta shape (Float64)[2]", "(Float64)[3, 2]"}},
		{"DPO beta node rows", func(in []*Node) *Node { return DPO(in[0], in[1], in[2]) }, []input{m32, m32, mat([]float64{1}, []float64{2})}, []string{"losses.DPO", "beta shape (Float64)[2, 1]"}},
		{"MeanPairLoss nil loss", func(in []*Node) *Node { return MeanPairLoss(nil, in[0], in[1], 0.5) }, []input{v3, v3}, []string{"losses.MeanPairLoss", "loss is nil"}},
		{"MeanPairLoss shape", func(in []*Node) *Node {
			return MeanPairLoss(func(m, b *Node) *Node { return ReduceAllSum(m) }, in[0], in[1], 0.5)
		}, []input{v3, v3}, []string{"losses.MeanPairLoss", "returned (Float64) for margins (Float64)[3]"}},
		{"CDPOPair epsilon", func(in []*Node) *Node { return CDPOPair(0.6)(in[0], in[1]) }, []input{v3, v3}, []string{"losses.CDPOPair", "epsilon=0.6"}},
		{"CDPOPair epsilon node", func(in []*Node) *Node { return CDPOPair(in[2])(in[0], in[1]) }, []input{m32, m32, v3}, []string{"losses.CDPOPair", "epsilon shape (Float64)[3]"}},
		{"DPOPair beta", func(in []*Node) *Node { return DPOPair(in[0], in[1]) }, []input{m32, v2}, []string{"losses.DPOPair", "beta shape (Float64)[2]"}},
		{"CategoricalKL shapes", func(in []*Node) *Node { return CategoricalKL(in[0], in[1]) }, []input{m32, v2}, []string{"losses.CategoricalKL", "logP shape (Float64)[3, 2]"}},
		{"EDPO gamma node shape", func(in []*Node) *Node { return EDPO(in[0], in[1], in[2], 0.5, MinPerBatch, in[3], in[3], in[3]) }, []input{v3, v3, m32, v2}, []string{"losses.EDPO", "gamma shape (Float64)[2]"}},
		{"DPO nil", dpoFn(0.5), []input{v3, none}, []string{"losses.DPO", "rejectedLogRatio is nil"}},
		{"DPO int", dpoFn(0.5), []input{v3.as(dtypes.Int32), v3.as(dtypes.Int32)}, []string{"losses.DPO", "chosenLogRatio has dtype Int32"}},
		{"DPO mixed dtypes", dpoFn(0.5), []input{v3, v3.as(dtypes.Float32)}, []string{"losses.DPO", "(Float64)[3]", "(Float32)[3]"}},
		{"DPO empty", dpoFn(0.5), []input{vec(), vec()}, []string{"losses.DPO", "empty batch"}},
		{"IPO shapes", ipoFn(0.5), []input{v2, v3}, []string{"losses.IPO", "(Float64)[2]", "(Float64)[3]"}},
		{"IPO beta", ipoFn(-0.1), []input{v3, v3}, []string{"losses.IPO", "beta=-0.1"}},
		{"CDPO epsilon 0.5", cdpoFn(0.5, 0.5), []input{v3, v3}, []string{"losses.CDPO", "epsilon=0.5", "[0, 0.5)"}},
		{"CDPO epsilon -0.1", cdpoFn(0.5, -0.1), []input{v3, v3}, []string{"losses.CDPO", "epsilon=-0.1"}},
		{"CDPO beta", cdpoFn(0, 0.1), []input{v3, v3}, []string{"losses.CDPO", "beta=0"}},
		{"BradleyTerry shapes", btFn(), []input{v3, v2}, []string{"losses.BradleyTerry", "chosenReward shape (Float64)[3]", "rejectedReward shape (Float64)[2]"}},
		{"Distill shapes", distillFn(0.5), []input{v3, v3, v2}, []string{"losses.Distill", "rewardDiff shape (Float64)[2]"}},
		{"Distill beta", distillFn(0), []input{v3, v3, v3}, []string{"losses.Distill", "beta=0"}},
		{"EnsembleDistill rank", ensembleFn(0.5, MinPerBatch), []input{v3, v3, v3}, []string{"losses.EnsembleDistill", "rewardDiffs shape (Float64)[3]", "[..., batch, k]"}},
		{"EnsembleDistill batch", ensembleFn(0.5, Hull), []input{v2, v2, m32}, []string{"losses.EnsembleDistill", "rewardDiffs shape (Float64)[3, 2]", "logRatio1 shape (Float64)[2]"}},
		{"EnsembleDistill aggregation", ensembleFn(0.5, Aggregation(7)), []input{v3, v3, m32}, []string{"losses.EnsembleDistill", "Aggregation(7)"}},
		{"EnsembleDistill nil", ensembleFn(0.5, MinPerBatch), []input{v3, v3, none}, []string{"losses.EnsembleDistill", "rewardDiffs is nil"}},
		{"ForwardKL shapes", forwardKLFn(), []input{v3, v2}, []string{"losses.ForwardKL", "refLogProbs shape (Float64)[3]", "policyLogProbs shape (Float64)[2]"}},
		{"ForwardKL empty", forwardKLFn(), []input{vec(), vec()}, []string{"losses.ForwardKL", "empty"}},
		{"ForwardKLExact shapes", forwardExactFn(), []input{m32, v2}, []string{"losses.ForwardKLExact", "refLogits shape (Float64)[3, 2]", "policyLogits shape (Float64)[2]"}},
		{"ReverseKLExact scalar", reverseExactFn(), []input{{data: []float64{1}}, {data: []float64{1}}}, []string{"losses.ReverseKLExact", "rank 0"}},
		{"EDPO gamma", edpoFn(0.5, MinPerBatch, -1), []input{v3, v3, m32, v2, v2}, []string{"losses.EDPO", "gamma=-1"}},
		{"EDPO nil KL with gamma", edpoFn(0.5, MinPerBatch, 0.1), []input{v3, v3, m32, none, none}, []string{"losses.EDPO", "refLogProbs is nil"}},
		{"EDPO KL shapes", edpoFn(0.5, MinPerBatch, 0.1), []input{v3, v3, m32, v3, v2}, []string{"losses.EDPO", "policyLogProbs shape (Float64)[2]"}},
		{"EDPO KL dtype", edpoFn(0.5, MinPerBatch, 0.1), []input{v3, v3, m32, v2.as(dtypes.Float32), v2.as(dtypes.Float32)}, []string{"losses.EDPO", "Float32", "Float64"}},
		{"PDPO gamma NaN", pdpoFn(0.5, math.NaN()), []input{v3, v3, v2, v2}, []string{"losses.PDPO", "gamma=NaN"}},
		{"PDPO beta", pdpoFn(0, 1), []input{v3, v3, v2, v2}, []string{"losses.DPO", "beta=0"}},
		{"ImplicitReward beta", func(in []*Node) *Node { return ImplicitReward(in[0], 0) }, []input{v3}, []string{"losses.ImplicitReward", "beta=0"}},
		{"GradWeight shapes", func(in []*Node) *Node { return GradWeight(in[0], in[1], 1) }, []input{v3, v2}, []string{"losses.GradWeight", "(Float64)[3]", "(Float64)[2]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expectPanic(t, c.fn, c.want, c.ins...) })
	}
}

func TestAggregationString(t *testing.T) {
	var zero Aggregation
	for _, c := range []struct {
		agg  Aggregation
		want string
	}{{zero, "MinPerBatch"}, {MinPerBatch, "MinPerBatch"}, {MinPerExample, "MinPerExample"}, {Hull, "Hull"}, {Aggregation(-1), "Aggregation(-1)"}} {
		if got := c.agg.String(); got != c.want {
			t.Errorf("Aggregation(%d).String() = %q, want %q", int(c.agg), got, c.want)
		}
	}
}

// TestExecReturnsPanicAsError checks the documented convention: under graph.Exec a
// bad argument comes back from Call as an error carrying the panic message.
func TestExecReturnsPanicAsError(t *testing.T) {
	e, err := NewExec(testBackend(), func(a, b *Node) *Node { return DPO(a, b, 0.5) })
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	_, err = e.Call([]float64{1, 2}, []float64{1})
	want := "losses.DPO: chosenLogRatio shape (Float64)[2] != rejectedLogRatio shape (Float64)[1]"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Call error %v, want one containing %q", err, want)
	}
}
