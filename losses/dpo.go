package losses

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

// DPO returns the Direct Preference Optimization loss (Rafailov et al. 2023):
//
//	Δh = chosenLogRatio − rejectedLogRatio
//	L  = mean_batch −log σ(β·Δh) = mean_batch softplus(−β·Δh)
//
// chosenLogRatio and rejectedLogRatio are [..., batch] log-ratios
// h = log π_θ(y|x) − log π_ref(y|x) of the preferred and dispreferred responses;
// beta is a number or a node broadcastable to them (see Param). The result is
// the mean over the batch axis, [...] (a scalar for [batch] inputs), of the
// inputs' dtype, finite for any finite Δh. It is MeanPairLoss(DPOPair, …).
// It panics if beta ≤ 0 or the shapes differ (see the package documentation).
func DPO[B Param](chosenLogRatio, rejectedLogRatio *Node, beta B) *Node {
	return meanPair("DPO", DPOPair, chosenLogRatio, rejectedLogRatio, beta)
}

// IPO returns the Identity Preference Optimization loss (Azar et al. 2023):
//
//	Δh = chosenLogRatio − rejectedLogRatio
//	L  = mean_batch (Δh − 1/(2β))²
//
// Inputs, beta and the result are as for DPO (a mean, not a sum). Its minimum,
// 0, is at Δh = 1/(2β) for every pair. It is MeanPairLoss(IPOPair, …), with
// 1/(2β) computed in float64 when beta is a number. It panics if beta ≤ 0 or
// the shapes differ.
func IPO[B Param](chosenLogRatio, rejectedLogRatio *Node, beta B) *Node {
	const fn = "IPO"
	v, ok := number(beta)
	if !ok {
		return meanPair(fn, IPOPair, chosenLogRatio, rejectedLogRatio, beta)
	}
	checkBatch(fn, arg{"chosenLogRatio", chosenLogRatio}, arg{"rejectedLogRatio", rejectedLogRatio})
	checkBeta(fn, v)
	margin := Sub(chosenLogRatio, rejectedLogRatio) // Δh
	target := Scalar(margin.Graph(), margin.DType(), 1/(2*v))
	return meanOverBatch(fn, ipoTerm(margin, target), margin) // mean (Δh − 1/(2β))²
}

// CDPO returns conservative DPO, DPO with label smoothing ε (Mitchell 2023): each
// label is taken to be flipped with probability ε,
//
//	Δh = chosenLogRatio − rejectedLogRatio
//	L  = mean_batch [ −(1−ε)·log σ(β·Δh) − ε·log σ(−β·Δh) ]
//	   = mean_batch [ (1−ε)·softplus(−β·Δh) + ε·softplus(β·Δh) ]
//
// Inputs, beta and the result are as for DPO; epsilon, like beta, is a number
// or a broadcastable node. With ε = 0 it equals DPO; for ε > 0 its minimum is
// at finite β·Δh = log((1−ε)/ε). It is MeanPairLoss(CDPOPair(epsilon), …).
// It panics if beta ≤ 0, a number epsilon is outside [0, 0.5), or the shapes
// differ.
func CDPO[B, E Param](chosenLogRatio, rejectedLogRatio *Node, beta B, epsilon E) *Node {
	const fn = "CDPO"
	if v, ok := number(epsilon); ok {
		checkEpsilon(fn, v)
	}
	return meanPair(fn, CDPOPair(epsilon), chosenLogRatio, rejectedLogRatio, beta)
}

// BradleyTerry returns the Bradley–Terry negative log-likelihood of a reward model
// (Bradley and Terry 1952; the reward-model loss of RLHF and Fisch et al. 2025):
//
//	L = mean_batch −log σ(r(x, y_w) − r(x, y_l)) = mean_batch softplus(r(x, y_l) − r(x, y_w))
//
// chosenReward and rejectedReward are [..., batch] rewards r_φ of the preferred and
// dispreferred responses; the result is the mean over the batch axis, [...], of
// their dtype. It panics if the shapes differ.
func BradleyTerry(chosenReward, rejectedReward *Node) *Node {
	const fn = "BradleyTerry"
	checkBatch(fn, arg{"chosenReward", chosenReward}, arg{"rejectedReward", rejectedReward})
	return ReduceMean(softplus(Sub(rejectedReward, chosenReward)), -1)
}

// ImplicitReward returns the implicit reward of DPO (Rafailov et al. 2023),
// element-wise:
//
//	r_θ(x, y) = β·h(x, y) = β·(log π_θ(y|x) − log π_ref(y|x))
//
// logRatio may have any shape and beta is a number or a node broadcastable to
// it; the result has logRatio's shape and dtype. It panics if beta ≤ 0 or
// logRatio is nil or not float.
func ImplicitReward[B Param](logRatio *Node, beta B) *Node {
	const fn = "ImplicitReward"
	checkSame(fn, arg{"logRatio", logRatio})
	return Mul(logRatio, betaNode(fn, beta, logRatio))
}

// GradWeight returns DPO's per-example gradient weight (Rafailov et al. 2023, "What
// does the DPO update do?"):
//
//	w = σ(−β·Δh),  Δh = chosenLogRatio − rejectedLogRatio,
//
// so that ∂L_DPO/∂Δh_i = −β·w_i / batch. It is near 1 for pairs the policy ranks
// wrongly and decays to 0 as the margin grows. Inputs are [..., batch] and beta
// as for DPO; the result is per example, of the inputs' shape and dtype (the
// metric "grad_weight" is its mean). It panics if beta ≤ 0 or the shapes differ.
func GradWeight[B Param](chosenLogRatio, rejectedLogRatio *Node, beta B) *Node {
	const fn = "GradWeight"
	checkBatch(fn, arg{"chosenLogRatio", chosenLogRatio}, arg{"rejectedLogRatio", rejectedLogRatio})
	b := betaNode(fn, beta, chosenLogRatio)
	return Sigmoid(Neg(Mul(Sub(chosenLogRatio, rejectedLogRatio), b)))
}
