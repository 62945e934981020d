package losses

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

// DPO returns the Direct Preference Optimization loss (Rafailov et al. 2023):
//
//	Δh = chosenLogRatio − rejectedLogRatio
//	L  = mean_batch −log σ(β·Δh) = mean_batch softplus(−β·Δh)
//
// chosenLogRatio and rejectedLogRatio are [batch] log-ratios
// h = log π_θ(y|x) − log π_ref(y|x) of the preferred and dispreferred responses.
// The result is a scalar of the inputs' dtype, finite for any finite Δh.
// It panics if beta ≤ 0 or the shapes differ (see the package documentation).
func DPO(chosenLogRatio, rejectedLogRatio *Node, beta float64) *Node {
	const fn = "DPO"
	checkBatch(fn, arg{"chosenLogRatio", chosenLogRatio}, arg{"rejectedLogRatio", rejectedLogRatio})
	checkBeta(fn, beta)
	margin := Sub(chosenLogRatio, rejectedLogRatio)          // Δh
	return ReduceAllMean(softplus(MulScalar(margin, -beta))) // mean softplus(−βΔh)
}

// IPO returns the Identity Preference Optimization loss (Azar et al. 2023):
//
//	Δh = chosenLogRatio − rejectedLogRatio
//	L  = mean_batch (Δh − 1/(2β))²
//
// Inputs are [batch] log-ratios; the result is a scalar mean (not a sum) of the
// inputs' dtype. Its minimum, 0, is at Δh = 1/(2β) for every pair.
// It panics if beta ≤ 0 or the shapes differ.
func IPO(chosenLogRatio, rejectedLogRatio *Node, beta float64) *Node {
	const fn = "IPO"
	checkBatch(fn, arg{"chosenLogRatio", chosenLogRatio}, arg{"rejectedLogRatio", rejectedLogRatio})
	checkBeta(fn, beta)
	margin := Sub(chosenLogRatio, rejectedLogRatio)             // Δh
	return ReduceAllMean(Square(SubScalar(margin, 1/(2*beta)))) // mean (Δh − 1/(2β))²
}

// CDPO returns conservative DPO, DPO with label smoothing ε (Mitchell 2023): each
// label is taken to be flipped with probability ε,
//
//	Δh = chosenLogRatio − rejectedLogRatio
//	L  = mean_batch [ −(1−ε)·log σ(β·Δh) − ε·log σ(−β·Δh) ]
//	   = mean_batch [ (1−ε)·softplus(−β·Δh) + ε·softplus(β·Δh) ]
//
// Inputs are [batch] log-ratios; the result is a scalar of their dtype. With ε = 0 it
// equals DPO; for ε > 0 its minimum is at finite β·Δh = log((1−ε)/ε).
// It panics if beta ≤ 0, epsilon is outside [0, 0.5), or the shapes differ.
func CDPO(chosenLogRatio, rejectedLogRatio *Node, beta, epsilon float64) *Node {
	const fn = "CDPO"
	checkBatch(fn, arg{"chosenLogRatio", chosenLogRatio}, arg{"rejectedLogRatio", rejectedLogRatio})
	checkBeta(fn, beta)
	if !(epsilon >= 0 && epsilon < 0.5) {
		panicf(fn, "epsilon=%g outside [0, 0.5)", epsilon)
	}
	scaled := MulScalar(Sub(chosenLogRatio, rejectedLogRatio), beta) // β·Δh
	keep := MulScalar(softplus(Neg(scaled)), 1-epsilon)              // (1−ε)·softplus(−βΔh)
	flip := MulScalar(softplus(scaled), epsilon)                     // ε·softplus(βΔh)
	return ReduceAllMean(Add(keep, flip))
}

// BradleyTerry returns the Bradley–Terry negative log-likelihood of a reward model
// (Bradley and Terry 1952; the reward-model loss of RLHF and Fisch et al. 2025):
//
//	L = mean_batch −log σ(r(x, y_w) − r(x, y_l)) = mean_batch softplus(r(x, y_l) − r(x, y_w))
//
// chosenReward and rejectedReward are [batch] rewards r_φ of the preferred and
// dispreferred responses; the result is a scalar of their dtype.
// It panics if the shapes differ.
func BradleyTerry(chosenReward, rejectedReward *Node) *Node {
	const fn = "BradleyTerry"
	checkBatch(fn, arg{"chosenReward", chosenReward}, arg{"rejectedReward", rejectedReward})
	return ReduceAllMean(softplus(Sub(rejectedReward, chosenReward)))
}

// ImplicitReward returns the implicit reward of DPO (Rafailov et al. 2023),
// element-wise:
//
//	r_θ(x, y) = β·h(x, y) = β·(log π_θ(y|x) − log π_ref(y|x))
//
// logRatio may have any shape; the result has the same shape and dtype.
// It panics if beta ≤ 0 or logRatio is nil or not float.
func ImplicitReward(logRatio *Node, beta float64) *Node {
	const fn = "ImplicitReward"
	checkSame(fn, arg{"logRatio", logRatio})
	checkBeta(fn, beta)
	return MulScalar(logRatio, beta)
}

// GradWeight returns DPO's per-example gradient weight (Rafailov et al. 2023, "What
// does the DPO update do?"):
//
//	w = σ(−β·Δh),  Δh = chosenLogRatio − rejectedLogRatio,
//
// so that ∂L_DPO/∂Δh_i = −β·w_i / batch. It is near 1 for pairs the policy ranks
// wrongly and decays to 0 as the margin grows. Inputs are [batch]; the result is
// [batch] of the same dtype (the metric "grad_weight" is its mean).
// It panics if beta ≤ 0 or the shapes differ.
func GradWeight(chosenLogRatio, rejectedLogRatio *Node, beta float64) *Node {
	const fn = "GradWeight"
	checkBatch(fn, arg{"chosenLogRatio", chosenLogRatio}, arg{"rejectedLogRatio", rejectedLogRatio})
	checkBeta(fn, beta)
	return Sigmoid(MulScalar(Sub(chosenLogRatio, rejectedLogRatio), -beta))
}
