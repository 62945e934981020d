package losses

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

// PairLoss is a per-pair preference loss ℓ(Δh, β): given the margins
// Δh = h(y_w) − h(y_l) of any shape [..., batch] and β broadcastable to it (a
// scalar, or e.g. [configs, 1] for [configs, batch] margins), it returns the
// per-pair losses, of margin's shape and dtype. A preference objective is the
// mean of a PairLoss over the pairs (MeanPairLoss); DPOPair, IPOPair and
// CDPOPair are DPO's, IPO's and cDPO's.
//
// A PairLoss is any graph function of its two nodes, e.g. SLiC's hinge
// max(0, 1 − β·Δh) (Zhao et al. 2023):
//
//	slic := func(margin, beta *Node) *Node { return MaxScalar(OneMinus(Mul(beta, margin)), 0) }
//
// Written with dtype-free operations (Mul, OneMinus, MaxScalar, …: no Float64
// constants), it runs in both Float32 and Float64; and since its gradient is
// taken by automatic differentiation, it needs only to be built from
// differentiable operations.
type PairLoss func(margin, beta *Node) *Node

// DPOPair is DPO's per-pair loss (Rafailov et al. 2023):
//
//	ℓ(Δh, β) = −log σ(β·Δh) = softplus(−β·Δh)
//
// finite for any finite Δh, with gradient −β·σ(−β·Δh). margin is [..., batch],
// beta broadcasts to it (see PairLoss); the result has margin's shape. It
// panics if margin is nil or not float or beta does not broadcast to it.
func DPOPair(margin, beta *Node) *Node {
	checkPair("DPOPair", margin, beta)
	// softplus(Δh·(−β)): negating β, not the product, leaves the backward
	// pass one multiplication (the value is the same bit for bit).
	return softplus(Mul(margin, Neg(beta)))
}

// IPOPair is IPO's per-pair loss (Azar et al. 2023):
//
//	ℓ(Δh, β) = (Δh − 1/(2β))²
//
// minimal (0) at Δh = 1/(2β). Shapes and panics as for DPOPair.
func IPOPair(margin, beta *Node) *Node {
	checkPair("IPOPair", margin, beta)
	return ipoTerm(margin, Reciprocal(MulScalar(beta, 2))) // 1/(2β)
}

// ipoTerm returns (Δh − target)², target = 1/(2β).
func ipoTerm(margin, target *Node) *Node {
	return Square(Sub(margin, target))
}

// CDPOPair returns cDPO's per-pair loss with label smoothing ε (Mitchell 2023):
// each label is taken to be flipped with probability ε,
//
//	ℓ(Δh, β) = −(1−ε)·log σ(β·Δh) − ε·log σ(−β·Δh)
//	         = (1−ε)·softplus(−β·Δh) + ε·softplus(β·Δh)
//
// which equals DPOPair for ε = 0 and, for ε > 0, is minimal at the finite
// β·Δh = log((1−ε)/ε). epsilon is a number in [0, 0.5), or a node broadcastable
// to the margins (one ε per config of a batched sweep; its values are not
// checked). Shapes as for DPOPair. It panics if a number epsilon is outside
// [0, 0.5), and the returned PairLoss panics as DPOPair does or if a node
// epsilon does not broadcast to the margins.
func CDPOPair[E Param](epsilon E) PairLoss {
	const fn = "CDPOPair"
	eps, isNumber := number(epsilon)
	if isNumber {
		checkEpsilon(fn, eps)
	}
	return func(margin, beta *Node) *Node {
		checkPair(fn, margin, beta)
		var keep, flip *Node // 1−ε and ε
		if isNumber {
			g, dt := margin.Graph(), margin.DType()
			keep, flip = Scalar(g, dt, 1-eps), Scalar(g, dt, eps)
		} else {
			flip = paramNode(fn, "epsilon", epsilon, margin)
			keep = OneMinus(flip)
		}
		return cdpoTerm(Mul(margin, beta), keep, flip)
	}
}

// cdpoTerm returns (1−ε)·softplus(−β·Δh) + ε·softplus(β·Δh) from scaled = β·Δh,
// keep = 1−ε and flip = ε.
func cdpoTerm(scaled, keep, flip *Node) *Node {
	return Add(
		Mul(softplus(Neg(scaled)), keep), // (1−ε)·softplus(−βΔh)
		Mul(softplus(scaled), flip))      // ε·softplus(βΔh)
}

// MeanPairLoss returns the preference objective of the per-pair loss loss:
//
//	Δh = chosenLogRatio − rejectedLogRatio
//	L  = mean_batch loss(Δh, β)
//
// chosenLogRatio and rejectedLogRatio are [..., batch] log-ratios
// h = log π_θ(y|x) − log π_ref(y|x) of the preferred and dispreferred
// responses, and the mean runs over the last (batch) axis: the result has
// the leading axes [...] (a scalar for [batch] inputs). beta is a number > 0 or
// a node broadcastable to the inputs (see Param). DPO, IPO and CDPO are
// MeanPairLoss of DPOPair, IPOPair and CDPOPair. It panics as DPO does, if
// loss is nil, or if loss returns a node of another shape or dtype than Δh.
func MeanPairLoss[B Param](loss PairLoss, chosenLogRatio, rejectedLogRatio *Node, beta B) *Node {
	return meanPair("MeanPairLoss", loss, chosenLogRatio, rejectedLogRatio, beta)
}

// meanPair is MeanPairLoss, panicking in fn's name.
func meanPair[B Param](fn string, loss PairLoss, chosenLogRatio, rejectedLogRatio *Node, beta B) *Node {
	checkBatch(fn, arg{"chosenLogRatio", chosenLogRatio}, arg{"rejectedLogRatio", rejectedLogRatio})
	if loss == nil {
		panicf(fn, "loss is nil")
	}
	b := betaNode(fn, beta, chosenLogRatio)
	margin := Sub(chosenLogRatio, rejectedLogRatio) // Δh
	return meanOverBatch(fn, loss(margin, b), margin)
}

// meanOverBatch returns the mean of the per-pair losses per over the last axis,
// after checking that per has margin's shape.
func meanOverBatch(fn string, per, margin *Node) *Node {
	if per == nil || !per.Shape().Equal(margin.Shape()) {
		got := "nil"
		if per != nil {
			got = per.Shape().String()
		}
		panicf(fn, "the pair loss returned %s for margins %s, want the margins' shape", got, margin.Shape())
	}
	return ReduceMean(per, -1)
}

// checkPair panics unless margin is a non-nil float node of rank ≥ 1 and beta
// a node broadcastable to it.
func checkPair(fn string, margin, beta *Node) {
	checkSame(fn, arg{"margin", margin})
	checkParamNode(fn, "beta", beta, margin)
}
