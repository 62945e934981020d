package losses_test

import (
	"fmt"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/robustpo/robustpo/losses"
)

// DPO on two pairs with β = 0.5: margins Δh = [2, 0] give
// loss = (softplus(−1) + log 2)/2 and per-pair gradient weights σ(−βΔh).
func ExampleDPO() {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		fmt.Println("backend:", err)
		return
	}
	exec, err := graph.NewExec(backend, func(chosen, rejected *graph.Node) (*graph.Node, *graph.Node) {
		return losses.DPO(chosen, rejected, 0.5), losses.GradWeight(chosen, rejected, 0.5)
	})
	if err != nil {
		fmt.Println("exec:", err)
		return
	}
	// Log-ratios h = log π_θ(y|x) − log π_ref(y|x) of the chosen and rejected responses.
	out, err := exec.Call([]float64{1, 0}, []float64{-1, 0})
	if err != nil {
		fmt.Println("call:", err)
		return
	}
	fmt.Printf("loss = %.4f\n", out[0].Value())
	fmt.Printf("grad_weight = %.4f\n", out[1].Value())
	// Output:
	// loss = 0.5032
	// grad_weight = [0.2689 0.5000]
}

// EDPO with a two-member ensemble under each reading of the minimum. With β = 1 the
// policy margins are z = [1, 0]; the members' margins are [0, 3] and [2, −0.5] per
// pair, so the squared errors are [[1, 4], [4, 0.25]]; the forward-KL samples add
// γ·mean(ref − policy) = 0.5·0.75.
func ExampleEDPO() {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		fmt.Println("backend:", err)
		return
	}
	for _, agg := range []losses.Aggregation{losses.MinPerBatch, losses.MinPerExample, losses.Hull} {
		exec, err := graph.NewExec(backend, func(in []*graph.Node) *graph.Node {
			return losses.EDPO(in[0], in[1], in[2], 1.0, agg, 0.5, in[3], in[4])
		})
		if err != nil {
			fmt.Println("exec:", err)
			return
		}
		out, err := exec.Call(
			[]float64{1, 0},                // logRatio1 [batch]
			[]float64{0, 0},                // logRatio2 [batch]
			[][]float64{{0, 3}, {2, -0.5}}, // rewardDiffs [batch, k]
			[]float64{-1, -2},              // refLogProbs of samples from π_ref
			[]float64{-1.5, -3},            // policyLogProbs of the same samples
		)
		if err != nil {
			fmt.Println("call:", err)
			return
		}
		fmt.Printf("%-13s %.4f\n", agg, out[0].Value())
	}
	// Output:
	// MinPerBatch   2.5000
	// MinPerExample 1.0000
	// Hull          0.3750
}

// A pair loss of one's own: SLiC's hinge max(0, 1 − β·Δh), trained as the mean
// over pairs (MeanPairLoss) beside DPO's. With β = 0.5 and margins
// Δh = [4, 1, −2], the hinge is [0, 0.5, 2] (mean 0.8333): the first pair is
// past the margin 1/β = 2 and adds nothing, where DPO still pushes it:
// DPO is (softplus(−2) + softplus(−0.5) + softplus(1))/3 = 0.6381.
func ExampleMeanPairLoss() {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		fmt.Println("backend:", err)
		return
	}
	slic := func(margin, beta *graph.Node) *graph.Node {
		return graph.MaxScalar(graph.OneMinus(graph.Mul(beta, margin)), 0)
	}
	exec, err := graph.NewExec(backend, func(chosen, rejected *graph.Node) (*graph.Node, *graph.Node, *graph.Node) {
		margin := graph.Sub(chosen, rejected)
		beta := graph.Scalar(margin.Graph(), margin.DType(), 0.5)
		return slic(margin, beta), losses.MeanPairLoss(slic, chosen, rejected, 0.5), losses.MeanPairLoss(losses.DPOPair, chosen, rejected, 0.5)
	})
	if err != nil {
		fmt.Println("exec:", err)
		return
	}
	out, err := exec.Call([]float64{2, 0.5, -1}, []float64{-2, -0.5, 1})
	if err != nil {
		fmt.Println("call:", err)
		return
	}
	fmt.Printf("hinge per pair = %.4f\n", out[0].Value())
	fmt.Printf("SLiC loss = %.4f\n", out[1].Value())
	fmt.Printf("DPO loss  = %.4f\n", out[2].Value())
	// Output:
	// hinge per pair = [0.0000 0.5000 2.0000]
	// SLiC loss = 0.8333
	// DPO loss  = 0.6381
}
