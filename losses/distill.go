package losses

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

// Distill returns the reward-model distillation loss (Fisch et al. 2025):
//
//	L = mean_batch (Δr − β·(h1 − h2))²
//
// logRatio1 and logRatio2 are [batch] log-ratios h = log π_θ(y|x) − log π_ref(y|x)
// of the two responses y1, y2 of each pair, and rewardDiff is the [batch] reward
// margin Δr = r(x, y1) − r(x, y2) of a fixed reward model. The pairs need no
// preference label: they are drawn from any distribution ρ the reward model can
// score. The loss is 0 exactly when β·(h1 − h2) = Δr for every pair. The result is a
// scalar of the inputs' dtype. It panics if beta ≤ 0 or the shapes differ.
func Distill(logRatio1, logRatio2, rewardDiff *Node, beta float64) *Node {
	const fn = "Distill"
	checkBatch(fn, arg{"logRatio1", logRatio1}, arg{"logRatio2", logRatio2}, arg{"rewardDiff", rewardDiff})
	checkBeta(fn, beta)
	implicitDiff := MulScalar(Sub(logRatio1, logRatio2), beta) // β·(h1 − h2)
	return ReduceAllMean(Square(Sub(rewardDiff, implicitDiff)))
}

// Aggregation selects how EnsembleDistill takes the minimum over the k members of a
// reward-model ensemble. The zero value is MinPerBatch, the default.
type Aggregation int

const (
	// MinPerBatch takes the minimum over members of each member's batch-mean
	// distillation loss: min_i mean_batch (Δr_i − β·Δh)². It is the literal
	// min_i L_distill(r_i, θ; ρ) of the e-DPO objective, estimated on the batch.
	MinPerBatch Aggregation = iota

	// MinPerExample takes the mean over pairs of the per-pair minimum over members:
	// mean_batch min_i (Δr_i − β·Δh)². It is ≤ MinPerBatch.
	MinPerExample

	// Hull takes, per pair, the squared distance from β·Δh to the interval
	// [min_i Δr_i, max_i Δr_i], then the mean over pairs: the reward set S is the
	// convex hull of the members, so any margin inside the members' range costs 0.
	Hull
)

// String returns the constant's Go name ("MinPerBatch", "MinPerExample", "Hull"), or
// "Aggregation(n)" for an unknown value.
func (a Aggregation) String() string {
	switch a {
	case MinPerBatch:
		return "MinPerBatch"
	case MinPerExample:
		return "MinPerExample"
	case Hull:
		return "Hull"
	default:
		return fmt.Sprintf("Aggregation(%d)", int(a))
	}
}

// EnsembleDistill returns the pessimistic ensemble distillation loss of e-DPO
// (Fisch et al. 2025; without the KL term), min_i L_distill(r_i, θ; ρ) over
// the k members of a reward ensemble, with the minimum read as agg says:
//
//	z      = β·(logRatio1 − logRatio2)                       [batch]
//	e[b,i] = (rewardDiffs[b,i] − z[b])²                       [batch, k]
//	MinPerBatch:   L = min_i mean_b e[b,i]
//	MinPerExample: L = mean_b min_i e[b,i]
//	Hull:          L = mean_b ( max(lo[b] − z[b], 0) + max(z[b] − hi[b], 0) )²,
//	               lo[b] = min_i rewardDiffs[b,i], hi[b] = max_i rewardDiffs[b,i]
//
// logRatio1 and logRatio2 are [batch] log-ratios of the pair's two responses;
// rewardDiffs is [batch, k], member i's margin r_i(x, y1) − r_i(x, y2). With k = 1
// all three equal Distill. Always MinPerExample ≤ MinPerBatch ≤ mean_i of the
// members' Distill losses, and Hull ≤ MinPerExample. The result is a scalar of the
// inputs' dtype. It panics if beta ≤ 0, the shapes disagree, k < 1, or agg is
// unknown.
func EnsembleDistill(logRatio1, logRatio2, rewardDiffs *Node, beta float64, agg Aggregation) *Node {
	const fn = "EnsembleDistill"
	checkBatch(fn, arg{"logRatio1", logRatio1}, arg{"logRatio2", logRatio2})
	checkBeta(fn, beta)
	checkEnsemble(fn, logRatio1, rewardDiffs)
	z := MulScalar(Sub(logRatio1, logRatio2), beta) // β·Δh, [batch]
	zCol := InsertAxes(z, -1)                       // [batch, 1]
	switch agg {
	case MinPerBatch:
		perMember := ReduceMean(Square(Sub(rewardDiffs, zCol)), 0) // [k]
		return ReduceAllMin(perMember)
	case MinPerExample:
		perPair := ReduceMin(Square(Sub(rewardDiffs, zCol)), 1) // [batch]
		return ReduceAllMean(perPair)
	case Hull:
		lo := ReduceMin(rewardDiffs, 1) // [batch]
		hi := ReduceMax(rewardDiffs, 1) // [batch]
		below := Sub(lo, z)             // > 0 when z is under the interval
		above := Sub(z, hi)             // > 0 when z is over it
		zero := ZerosLike(z)
		dist := Add(
			Where(GreaterThan(below, zero), below, zero),
			Where(GreaterThan(above, zero), above, zero))
		return ReduceAllMean(Square(dist))
	default:
		panicf(fn, "unknown aggregation %s", agg)
		return nil
	}
}

// checkEnsemble panics unless rewardDiffs is [batch, k] (k ≥ 1) with the batch and
// dtype of the [batch] node ref.
func checkEnsemble(fn string, ref, rewardDiffs *Node) {
	if rewardDiffs == nil {
		panicf(fn, "rewardDiffs is nil")
	}
	s := rewardDiffs.Shape()
	if s.DType != ref.DType() || s.Rank() != 2 || s.Dimensions[0] != ref.Shape().Dimensions[0] || s.Dimensions[1] < 1 {
		panicf(fn, "rewardDiffs shape %s, want [batch, k] with k >= 1 matching logRatio1 shape %s", s, ref.Shape())
	}
}

// klTerm returns γ·ForwardKL(refLogProbs, policyLogProbs), or nil when γ = 0 and
// both inputs are nil.
func klTerm(fn string, gamma float64, refLogProbs, policyLogProbs *Node) *Node {
	checkGamma(fn, gamma)
	if gamma == 0 && refLogProbs == nil && policyLogProbs == nil {
		return nil
	}
	checkSame(fn, arg{"refLogProbs", refLogProbs}, arg{"policyLogProbs", policyLogProbs})
	checkNonEmpty(fn, arg{"refLogProbs", refLogProbs})
	return MulScalar(forwardKL(refLogProbs, policyLogProbs), gamma)
}

// EDPO returns the e-DPO objective (Fisch et al. 2025): pessimistic ensemble
// distillation plus a forward-KL penalty toward the reference,
//
//	L = EnsembleDistill(logRatio1, logRatio2, rewardDiffs, β, agg)
//	  + γ·ForwardKL(refLogProbs, policyLogProbs)
//
// logRatio1, logRatio2 are [batch] and rewardDiffs is [batch, k] as in
// EnsembleDistill. refLogProbs and policyLogProbs are log π_ref(y|x) and
// log π_θ(y|x) of responses sampled from π_ref (any shape, equal to each other,
// independent of the pair batch), so the second term is the Monte-Carlo estimate of
// KL(π_ref‖π_θ). With γ = 0 both may be nil, and L = EnsembleDistill. The result is a
// scalar. It panics on the conditions of EnsembleDistill and ForwardKL, or γ < 0.
func EDPO(logRatio1, logRatio2, rewardDiffs *Node, beta float64, agg Aggregation, gamma float64, refLogProbs, policyLogProbs *Node) *Node {
	const fn = "EDPO"
	kl := klTerm(fn, gamma, refLogProbs, policyLogProbs)
	loss := EnsembleDistill(logRatio1, logRatio2, rewardDiffs, beta, agg)
	if kl == nil {
		return loss
	}
	if kl.DType() != loss.DType() {
		panicf(fn, "refLogProbs dtype %s != logRatio1 dtype %s", kl.DType(), loss.DType())
	}
	return Add(loss, kl)
}

// PDPO returns the p-DPO objective (Fisch et al. 2025): DPO plus a
// forward-KL penalty toward the reference,
//
//	L = DPO(chosenLogRatio, rejectedLogRatio, β) + γ·ForwardKL(refLogProbs, policyLogProbs)
//
// chosenLogRatio and rejectedLogRatio are [batch] as in DPO. refLogProbs and
// policyLogProbs are log π_ref(y|x) and log π_θ(y|x) of responses sampled from π_ref
// (any shape, equal to each other), the Monte-Carlo estimate of KL(π_ref‖π_θ). With
// γ = 0 both may be nil, and L = DPO. The result is a scalar. It panics on the
// conditions of DPO and ForwardKL, or γ < 0.
func PDPO(chosenLogRatio, rejectedLogRatio *Node, beta, gamma float64, refLogProbs, policyLogProbs *Node) *Node {
	const fn = "PDPO"
	kl := klTerm(fn, gamma, refLogProbs, policyLogProbs)
	loss := DPO(chosenLogRatio, rejectedLogRatio, beta)
	if kl == nil {
		return loss
	}
	if kl.DType() != loss.DType() {
		panicf(fn, "refLogProbs dtype %s != chosenLogRatio dtype %s", kl.DType(), loss.DType())
	}
	return Add(loss, kl)
}
