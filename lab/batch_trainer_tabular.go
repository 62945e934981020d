package lab

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/robustpo/robustpo/losses"
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

// configLast reports whether the tabular step runs in the config-last
// layout (newTabularStepExec): shared pairs of a pair method, whose loss
// depends on the log-ratios only through Δh (losses.MeanPairLoss takes their
// difference first; Distill and EDPO use h1 and h2 with the reward
// differences, and keep the [C, P, R] layout).
func (bt *batchTrainer) configLast(batch int) bool {
	return bt.sharedPairs(batch) && bt.i1 == nil
}

// fullLast returns the constant [P, R, C] holding f(cfgs[c]) at every [p, r, c]
// (the per-config constants of the config-last layout).
func (bt *batchTrainer) fullLast(g *Graph, f func(Config) float64) *Node {
	pr, C := bt.pr, bt.c
	col := make([]float64, C)
	for c, cfg := range bt.cfgs {
		col[c] = f(cfg)
	}
	data := make([]float64, 0, pr.p*pr.r*C)
	for range pr.p * pr.r {
		data = append(data, col...)
	}
	return Const(g, tensors.FromFlatDataAndDimensions(data, pr.p, pr.r, C))
}

// learningRate returns the configs' learning rate as a scalar when they
// share one (the bench grid's case: the optimizer's last multiplication then
// reads one array instead of two, with the same products), else full().
func (bt *batchTrainer) learningRate(g *Graph, full func() *Node) *Node {
	lr := bt.cfgs[0].LearningRate
	for _, c := range bt.cfgs {
		if c.LearningRate != lr {
			return full()
		}
	}
	return Scalar(g, dtypes.Float64, lr)
}

// toConfigFirst returns θ [P, R, C] of the config-last layout as [C, P, R].
func toConfigFirst(theta *Node) *Node { return TransposeAllAxes(theta, 2, 0, 1) }

// configFirstHost returns the host copy of a config-last [P·R, C] tensor as
// [C, P·R], the layout of a config-first one.
func configFirstHost(flat []float64, C int) []float64 {
	out := make([]float64, len(flat))
	np := len(flat) / C
	for i := range np {
		for c, x := range flat[i*C : (i+1)*C] {
			out[c*np+i] = x
		}
	}
	return out
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
//
// In the config-last layout (configLast) θ, m and v are [P, R, C] instead,
// so that the pairs' rows θ[y, ·] of all configs are contiguous: Δh is the
// difference of two gathers of N rows of C values, and ∂L/∂θ two
// scatter-adds of N rows, where the [C, P, R] layout gathers and scatters
// C·N single values (the go backend's gather and scatter cost per slice, so
// this is ~4× cheaper). The arithmetic is the same: Δh = θ[y₁] − θ[y₂] is
// the margin losses.MeanPairLoss computes from h1 − h2 (here Δh − 0), and
// each θ entry's gradient sums its pairs' terms in pair order, as the
// [C·N]-index scatter does.
func (bt *batchTrainer) newTabularStepExec(shared, last bool, full []*tensors.Tensor) (*Exec, error) {
	if last {
		return bt.newTabularLastStepExec(full)
	}
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
		lr := bt.learningRate(g, func() *Node { return bt.full(g, func(c Config) float64 { return c.LearningRate }, pr.p, pr.r) })
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

// newTabularLastStepExec is newTabularStepExec in the config-last layout.
func (bt *batchTrainer) newTabularLastStepExec(full []*tensors.Tensor) (*Exec, error) {
	pr, C, n := bt.pr, bt.c, bt.n
	rows := make([][]int32, 2)
	for i, src := range [][]int32{bt.chosen, bt.rejected} {
		rows[i] = append([]int32(nil), src[:n]...)
	}
	fn := func(inputs []*Node) []*Node {
		theta, m, v, t := inputs[0], inputs[1], inputs[2], inputs[3]
		g := theta.Graph()
		k := inputs[4].Shape().Dimensions[0]
		pos1 := Const(g, tensors.FromFlatDataAndDimensions(rows[0], n, 1))
		pos2 := Const(g, tensors.FromFlatDataAndDimensions(rows[1], n, 1))
		zeros := Const(g, tensors.FromShape(shapes.Make(dtypes.Float64, C, n)))
		flat := shapes.Make(dtypes.Float64, pr.p*pr.r, C)
		kc := bt.graphConsts(g, n)
		lr := bt.learningRate(g, func() *Node { return bt.fullLast(g, func(c Config) float64 { return c.LearningRate }) })
		// The reference logits, log π_ref and π_ref as graphConsts computes
		// them, broadcast along the config axis (materialised once per call,
		// see graphConsts).
		dims := []int{pr.p, pr.r, C}
		refPR := Const(g, tensors.FromFlatDataAndDimensions(pr.ref, pr.p, pr.r))
		ref := ExpandAndBroadcast(refPR, dims, []int{2})
		var gammaP, klLogA, klA *Node
		if bt.hasKL() {
			gammaP = bt.fullLast(g, func(c Config) float64 { return c.Gamma / float64(pr.p) })
			logA := LogSoftmax(refPR, -1)
			klLogA = ExpandAndBroadcast(logA, dims, []int{2})
			klA = ExpandAndBroadcast(Exp(logA), dims, []int{2})
		}
		// The built-in pair losses are element-wise: they run on the [N, C]
		// margins as gathered, and their mean over the pairs (axis 0) sums in
		// the order losses.MeanPairLoss's mean over the last axis does. A
		// Config.PairLoss may use its axes: it gets [C, N] margins, as in
		// the [C, P, R] layout.
		var perPair losses.PairLoss
		var betaT *Node
		if bt.cfgs[0].PairLoss == nil {
			cols := func(f func(Config) float64) *Node {
				data := make([]float64, 0, n*C)
				for range n {
					for _, cfg := range bt.cfgs {
						data = append(data, f(cfg))
					}
				}
				return Const(g, tensors.FromFlatDataAndDimensions(data, n, C))
			}
			perPair = bt.cfgs[0].pairLoss(cols(func(c Config) float64 { return c.Epsilon }))
			betaT = cols(func(c Config) float64 { return c.Beta })
		}
		stepLosses := make([]*Node, k)
		for i := range k {
			thetaRows := Reshape(theta, pr.p*pr.r, C)
			d := Sub(Gather(thetaRows, pos1), Gather(thetaRows, pos2)) // Δh [N, C]
			var gd *Node                                               // ∂L/∂Δh [N, C]
			if perPair != nil {
				ls := ReduceMean(perPair(d, betaT), 0)
				stepLosses[i] = ls
				gd = Gradient(ReduceAllSum(ls), d)[0]
			} else {
				dh := Transpose(d, 0, 1)
				ls := bt.pairLoss(dh, zeros, nil, kc)
				stepLosses[i] = ls
				gd = Transpose(Gradient(ReduceAllSum(ls), dh)[0], 0, 1)
			}
			// ∂L/∂θ: +∂L/∂Δh at y₁, −∂L/∂Δh at y₂. Subtracting the second
			// scatter equals adding the scatter of −∂L/∂Δh (autodiff's
			// Neg through h1 − h2) bit for bit, without the Neg pass.
			grad := Reshape(Sub(Scatter(pos1, gd, flat, false, false), Scatter(pos2, gd, flat, false, false)), pr.p, pr.r, C)
			if gammaP != nil {
				p := Softmax(Add(ref, theta), 1)
				grad = Add(grad, Mul(Sub(p, klA), gammaP))
			}
			theta, m, v, t = optimizerStep(bt.cfgs[0].Optimizer, theta, m, v, t, grad, lr)
		}
		var lossAt *Node
		if perPair != nil {
			// fullLoss in this layout: the same arithmetic in the same order,
			// with row gathers and π_ref computed once.
			spread := func(x *Node) *Node { // [P, 1, C] → [P, R, C], materialised
				return ExpandAndBroadcast(Reshape(x, pr.p, C), dims, []int{1})
			}
			x := Add(ref, theta)
			mx := StopGradient(ReduceAndKeep(x, ReduceMax, 1))
			shifted := Sub(x, spread(mx))
			lp := Sub(shifted, spread(Log(ReduceAndKeep(Exp(shifted), ReduceSum, 1))))
			lpRows := Reshape(lp, pr.p*pr.r, C)
			refRows := func(ys []int32) *Node { // log π_ref at the rows ys, [N, C]
				data := make([]float64, 0, n*C)
				for _, y := range ys {
					for range C {
						data = append(data, pr.refLP[y])
					}
				}
				return Const(g, tensors.FromFlatDataAndDimensions(data, n, C))
			}
			h1 := Sub(Gather(lpRows, pos1), refRows(rows[0]))
			h2 := Sub(Gather(lpRows, pos2), refRows(rows[1]))
			lossAt = ReduceMean(perPair(Sub(h1, h2), betaT), 0)
			if bt.hasKL() { // klExact: losses.CategoricalKL over R, the mean over P
				kl := ReduceMean(ReduceSum(Mul(klA, Sub(klLogA, lp)), 1), 0)
				lossAt = Add(lossAt, Mul(kl, kc.gamma))
			}
		} else {
			lossAt = bt.fullLoss(toConfigFirst(theta), full)
		}
		return []*Node{theta, m, v, t, Stack(stepLosses, 0), lossAt}
	}
	return bt.compileStep("batch_tabular_", fn)
}
