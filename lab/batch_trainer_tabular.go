package lab

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
)

// Tabular policies take a shorter road through the batched step than
// log-linear ones, from two identities of log π = logits − log Σ exp(logits)
// with logits = ref + θ:
//
//   - both responses of a pair belong to one prompt, so log-normalizers
//     cancel in the difference of their log-ratios: Δh = h(y₁) − h(y₂) =
//     θ[y₁] − θ[y₂]. Every pair loss depends on h only through Δh.
//   - so ∂L_pairs/∂log π is +g at y₁ and −g at y₂ for each pair: it sums to
//     zero over every prompt's responses, and the log-softmax backward
//     g − π·Σ_y g leaves it unchanged: ∂L_pairs/∂θ = ∂L_pairs/∂log π.
//
// So the step takes ∂L/∂h at the pairs' two responses (±∂L/∂Δh) from
// autodiff of the losses function (pairLoss, on [C, B] log-ratios) and
// scatters it into ∂L/∂θ by hand. Autodiff through the log-softmax would give
// the same gradient up to rounding, but leaves ~1e-20 where the exact
// gradient is 0, which Adam scales up to full steps (see
// TestTrainMatchesAutodiff and TestSweepGrid256MatchesTrain).
//
// The only term that needs π itself is the forward KL of PDPO, EDPO and a
// Config.PairLoss with γ > 0: ∂(γ·KL(π_ref‖π_θ))/∂θ = (γ/P)·(π_θ − π_ref),
// one fused softmax per step. This is the gradient that autodiff through the
// losses package (train, the reference) computes, up to rounding.

// sharedPairs reports whether every config of bt trains, at every step, on
// the same response pairs (positions within its own [P·R] table): full
// batches of the DPO family, or of Distill and EDPO when every config drew
// the same ρ (their reward differences may still differ). The step then
// needs no per-step example inputs: the pairs' positions and reward
// differences are constants of the graph (sharedPositions).
func (bt *batchTrainer) sharedPairs(batch int) bool {
	if bt.pr.kind != Tabular || batch != bt.n {
		return false
	}
	if bt.i1 == nil {
		return true
	}
	n := bt.n
	for c := 1; c < bt.c; c++ {
		for j := range n {
			if bt.i1[c*n+j] != bt.i1[j] || bt.i2[c*n+j] != bt.i2[j] {
				return false
			}
		}
	}
	return true
}

// sharedPositions returns the constant gather positions of sharedPairs:
// c·P·R + y₁ and c·P·R + y₂ of every config c and pair n, as [C·N, 1].
func (bt *batchTrainer) sharedPositions() (pos1, pos2 []int32) {
	size := int32(bt.pr.p * bt.pr.r)
	pos1, pos2 = make([]int32, bt.c*bt.n), make([]int32, bt.c*bt.n)
	for c := range bt.c {
		for j := range bt.n {
			a, b := bt.chosen, bt.rejected
			if bt.i1 != nil {
				a, b = bt.i1, bt.i2
			}
			pos1[c*bt.n+j], pos2[c*bt.n+j] = int32(c)*size+a[j], int32(c)*size+b[j]
		}
	}
	return pos1, pos2
}

// newTabularStepExec builds the batched K-step optimizer graph of tabular
// policies (see the identities above).
//
// Inputs: θ, m, v [C, P, R], t (scalar), then either (shared pairs) one
// [K] marker whose length is the number of steps, or for each of the K steps
// the stepInputs() nodes of examples (posC, posR [C, B, 1], refC, refR
// [C, B] unused here, and rd [C, B, k] for Distill and EDPO).
// Outputs: θ', m', v', t + K, the pair-loss terms [K, C] before each step
// (the loss without γ·KL, which is finite wherever θ is: they are there to
// name the step at which a loss turns non-finite), and fullLoss at θ' [C]
// for the metrics logged after the call.
func (bt *batchTrainer) newTabularStepExec(shared bool, full []*tensors.Tensor) (*Exec, error) {
	pr, C, n := bt.pr, bt.c, bt.n
	per := bt.stepInputs()
	var pos1, pos2 []int32
	if shared {
		pos1, pos2 = bt.sharedPositions()
	}
	fn := func(inputs []*Node) []*Node {
		theta, m, v, t := inputs[0], inputs[1], inputs[2], inputs[3]
		g := theta.Graph()
		var k, B int
		var posC, posR, rdConst *Node
		if shared {
			k, B = inputs[4].Shape().Dimensions[0], n
			posC = Const(g, tensors.FromFlatDataAndDimensions(pos1, C*n, 1))
			posR = Const(g, tensors.FromFlatDataAndDimensions(pos2, C*n, 1))
			if bt.rd != nil {
				rdConst = Const(g, tensors.FromFlatDataAndDimensions(bt.rd, C, n, bt.k))
			}
		} else {
			k, B = (len(inputs)-4)/per, inputs[4].Shape().Dimensions[1]
		}
		kc := bt.graphConsts(g, B)
		lr := bt.full(g, func(c Config) float64 { return c.LearningRate }, pr.p, pr.r)
		var gammaP *Node
		if bt.hasKL() {
			gammaP = bt.full(g, func(c Config) float64 { return c.Gamma / float64(pr.p) }, pr.p, pr.r)
		}
		stepLosses := make([]*Node, k)
		for i := range k {
			rd := rdConst
			if !shared {
				in := inputs[4+i*per : 4+(i+1)*per]
				posC, posR = Reshape(in[0], C*B, 1), Reshape(in[1], C*B, 1)
				if per > 4 {
					rd = in[4]
				}
			}
			// θ at the pairs' two responses: their difference is Δh (above).
			thetaFlat := Reshape(theta, C*pr.p*pr.r)
			h1 := Reshape(Gather(thetaFlat, posC), C, B)
			h2 := Reshape(Gather(thetaFlat, posR), C, B)
			ls := bt.pairLoss(h1, h2, rd, kc)
			stepLosses[i] = ls
			gh := Gradient(ReduceAllSum(ls), h1, h2)
			grad := bt.scatterPairs(posC, posR, gh[0], gh[1])
			if gammaP != nil {
				p := Softmax(Add(kc.ref, theta), -1)
				grad = Add(grad, Mul(Sub(p, kc.klA), gammaP))
			}
			theta, m, v, t = optimizerStep(bt.cfgs[0].Optimizer, theta, m, v, t, grad, lr)
		}
		return []*Node{theta, m, v, t, Stack(stepLosses, 0), bt.fullLoss(theta, full)}
	}
	return bt.compileStep("batch_tabular_", fn)
}
