package losses

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

// Distill returns the reward-model distillation loss (Fisch et al. 2025):
//
//	L = mean_batch (Δr − β·(h1 − h2))²
//
// logRatio1 and logRatio2 are [..., batch] log-ratios h = log π_θ(y|x) − log π_ref(y|x)
// of the two responses y1, y2 of each pair, and rewardDiff is the [..., batch] reward
// margin Δr = r(x, y1) − r(x, y2) of a fixed reward model; beta is a number or a
// node broadcastable to them (see Param). The pairs need no preference label:
// they are drawn from any distribution ρ the reward model can score. The loss is
// 0 exactly when β·(h1 − h2) = Δr for every pair. The result is the mean over
// the batch axis, [...] (a scalar for [batch] inputs), of the inputs' dtype. It
// panics if beta ≤ 0 or the shapes differ.
func Distill[B Param](logRatio1, logRatio2, rewardDiff *Node, beta B) *Node {
	const fn = "Distill"
	checkBatch(fn, arg{"logRatio1", logRatio1}, arg{"logRatio2", logRatio2}, arg{"rewardDiff", rewardDiff})
	b := betaNode(fn, beta, logRatio1)
	implicitDiff := Mul(Sub(logRatio1, logRatio2), b) // β·(h1 − h2)
	return ReduceMean(Square(Sub(rewardDiff, implicitDiff)), -1)
}

// Aggregation selects how EnsembleDistill takes the minimum over the k members of a
// reward-model ensemble. The zero value is MinPerBatch, the default.
type Aggregation int

const (
	// MinPerBatch takes the minimum over members of each member's batch-mean
	// distillation loss: min_i mean_batch (Δr_i − β·Δh)². It is the literal
	// min_i L_distill(r_i, θ; ρ) of the e-DPO objective, estimated on the batch.
	//
	// Its gradient is the gradient of the one member at the minimum, so where
	// two members' losses tie to within rounding, a rounding-level change of
	// the inputs (another CPU's summation order) switches the member a step
	// follows, and the runs part. Measured by lab's
	// TestMinPerBatchFollowsRounding (a small sequence run, 40 Adam steps,
	// two members built to tie at π = π_ref): moving every log π_ref(y1|x) by
	// one float32 ulp changes the members followed and the runs end 0.29
	// apart in max|β·h|, where DPO and Distill move by under 2e-6 and
	// EnsembleDistillSoft at τ = 0.1 by 4e-6. Away from ties it is as stable
	// as Distill: in notebook 04's e-DPO runs with γ = 0 the best member led
	// the runner-up by at least 3% at every step, and AVX-512 and AVX2
	// executions followed the same member at all 100 steps and agreed to
	// every printed digit. Its γ = 1 runs differ across those CPUs because
	// the forward KL's π_ref samples differ (p-DPO, with no ensemble, parts as
	// much); the member followed changed only at step 56, after the runs had
	// parted (lab's TestNotebook04AcrossSIMDWidths).
	MinPerBatch Aggregation = iota

	// MinPerExample takes the mean over pairs of the per-pair minimum over members:
	// mean_batch min_i (Δr_i − β·Δh)². It is ≤ MinPerBatch. A tie switches the
	// member of one pair only, a 1/batch share of the gradient.
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
//	z      = β·(logRatio1 − logRatio2)                       [..., batch]
//	e[b,i] = (rewardDiffs[b,i] − z[b])²                       [..., batch, k]
//	MinPerBatch:   L = min_i mean_b e[b,i]
//	MinPerExample: L = mean_b min_i e[b,i]
//	Hull:          L = mean_b ( max(lo[b] − z[b], 0) + max(z[b] − hi[b], 0) )²,
//	               lo[b] = min_i rewardDiffs[b,i], hi[b] = max_i rewardDiffs[b,i]
//
// logRatio1 and logRatio2 are [..., batch] log-ratios of the pair's two responses;
// rewardDiffs is [..., batch, k], member i's margin r_i(x, y1) − r_i(x, y2); beta is
// a number or a node broadcastable to the log-ratios (see Param), and the
// means and minima run over the batch and member axes of each leading index.
// With k = 1 all three equal Distill. Always MinPerExample ≤ MinPerBatch ≤ mean_i
// of the members' Distill losses, and Hull ≤ MinPerExample. The result is [...]
// (a scalar for [batch] inputs) of the inputs' dtype. It panics if beta ≤ 0, the
// shapes disagree, k < 1, or agg is unknown. EnsembleDistill is
// EnsembleDistillSoft with tau = 0.
func EnsembleDistill[B Param](logRatio1, logRatio2, rewardDiffs *Node, beta B, agg Aggregation) *Node {
	return ensembleDistill("EnsembleDistill", logRatio1, logRatio2, rewardDiffs, beta, agg, 0)
}

// EnsembleDistillSoft is EnsembleDistill with the minimum over members of
// MinPerBatch and MinPerExample replaced by SoftMin at temperature tau = τ ≥ 0:
//
//	MinPerBatch:   L = softmin_τ over i of mean_b e[b,i]
//	MinPerExample: L = mean_b softmin_τ over i of e[b,i]
//
// with z and e as in EnsembleDistill. τ = 0 is EnsembleDistill exactly; as τ
// grows, L rises from the minimum towards the mean over members (see SoftMin),
// so MinPerExample ≤ MinPerBatch ≤ mean_i Distill(r_i) still holds at equal τ.
// Unlike the minimum, the soft minimum's gradient is a softmax-weighted blend of
// the members' gradients that moves continuously with the inputs, so a
// rounding-level change of the inputs (another CPU's summation order) changes
// the loss and its gradient only at rounding level (by about |δ|·scale/τ for the
// weights), where MinPerBatch can switch the member it follows. It is an option,
// not the paper's objective: it weights members within about τ of the minimum
// almost equally, where the paper takes the pessimistic member only. The result
// is a scalar of the inputs' dtype. It panics on the conditions of
// EnsembleDistill, if τ is negative, NaN or infinite, or if τ > 0 with Hull
// (which takes no minimum over members).
func EnsembleDistillSoft[B Param](logRatio1, logRatio2, rewardDiffs *Node, beta B, agg Aggregation, tau float64) *Node {
	return ensembleDistill("EnsembleDistillSoft", logRatio1, logRatio2, rewardDiffs, beta, agg, tau)
}

// ensembleDistill is EnsembleDistillSoft, panicking in fn's name.
func ensembleDistill[B Param](fn string, logRatio1, logRatio2, rewardDiffs *Node, beta B, agg Aggregation, tau float64) *Node {
	checkBatch(fn, arg{"logRatio1", logRatio1}, arg{"logRatio2", logRatio2})
	b := betaNode(fn, beta, logRatio1)
	checkEnsemble(fn, logRatio1, rewardDiffs)
	checkTau(fn, tau)
	z := Mul(Sub(logRatio1, logRatio2), b) // β·Δh, [..., batch]
	// [..., batch, k], broadcast explicitly (so that every element-wise op
	// below sees equal shapes).
	zCol := BroadcastToDims(InsertAxes(z, -1), rewardDiffs.Shape().Dimensions...)
	switch agg {
	case MinPerBatch:
		perMember := ReduceMean(Square(Sub(rewardDiffs, zCol)), -2) // [..., k]
		return softMin(perMember, tau)
	case MinPerExample:
		perPair := softMin(Square(Sub(rewardDiffs, zCol)), tau) // [..., batch]
		return ReduceMean(perPair, -1)
	case Hull:
		if tau != 0 {
			panicf(fn, "tau=%g with Hull, which takes no minimum over members: want tau = 0", tau)
		}
		lo := ReduceMin(rewardDiffs, -1) // [..., batch]
		hi := ReduceMax(rewardDiffs, -1) // [..., batch]
		below := Sub(lo, z)              // > 0 when z is under the interval
		above := Sub(z, hi)              // > 0 when z is over it
		zero := ZerosLike(z)
		dist := Add(
			Where(GreaterThan(below, zero), below, zero),
			Where(GreaterThan(above, zero), above, zero))
		return ReduceMean(Square(dist), -1)
	default:
		panicf(fn, "unknown aggregation %s", agg)
		return nil
	}
}

// SoftMin returns the soft minimum over the last axis of x at temperature
// tau = τ ≥ 0:
//
//	softmin_τ(x) = −τ·log( (1/k)·Σ_i exp(−x_i/τ) )      (τ > 0, k = x's last dimension)
//	softmin_0(x) = min_i x_i
//
// computed as m − τ·log( (1/k)·Σ_i exp(−(x_i − m)/τ) ) with m = min_i x_i held
// out of differentiation, so no exp overflows. x is [..., k] with k ≥ 1 and the
// result is [...] of x's dtype. For τ > 0, min_i x_i ≤ softmin_τ(x) ≤
// min(min_i x_i + τ·log k, mean_i x_i); it tends to the minimum as τ → 0 and to
// the mean as τ → ∞, and equals x_1 when k = 1. Its gradient is the softmax
// weights w_i = exp(−x_i/τ)/Σ_j exp(−x_j/τ): a change δ of the inputs moves the
// value by at most max_i |δ_i| and the weights by about max_i |δ_i|/τ, where the
// minimum's gradient (a one-hot at the argmin) jumps at a tie. It panics if x is
// nil, not float or of rank 0, or τ is negative, NaN or infinite.
func SoftMin(x *Node, tau float64) *Node {
	const fn = "SoftMin"
	if x == nil {
		panicf(fn, "x is nil")
	}
	if !x.DType().IsFloat() || x.Rank() < 1 || x.Shape().Dimensions[x.Rank()-1] < 1 {
		panicf(fn, "x shape %s, want a float [..., k] with k >= 1", x.Shape())
	}
	checkTau(fn, tau)
	return softMin(x, tau)
}

func softMin(x *Node, tau float64) *Node {
	if tau == 0 {
		return ReduceMin(x, -1)
	}
	m := StopGradient(ReduceAndKeep(x, ReduceMin, -1)) // min_i x_i, [..., 1]
	w := Exp(DivScalar(Sub(m, x), tau))                // exp(−(x_i − m)/τ) ∈ (0, 1]
	meanW := ReduceMean(w, -1)                         // ∈ [1/k, 1]
	return Sub(Squeeze(m, -1), MulScalar(Log(meanW), tau))
}

// checkTau panics unless τ is finite and ≥ 0.
func checkTau(fn string, tau float64) {
	if !(tau >= 0) || math.IsInf(tau, 0) {
		panicf(fn, "tau=%g, want a finite tau >= 0", tau)
	}
}

// checkEnsemble panics unless rewardDiffs is [..., batch, k] (k ≥ 1) with the
// leading dimensions and dtype of the [..., batch] node ref.
func checkEnsemble(fn string, ref, rewardDiffs *Node) {
	if rewardDiffs == nil {
		panicf(fn, "rewardDiffs is nil")
	}
	s, rs := rewardDiffs.Shape(), ref.Shape()
	ok := s.DType == ref.DType() && s.Rank() == rs.Rank()+1 && s.Dimensions[s.Rank()-1] >= 1
	for i := 0; ok && i < rs.Rank(); i++ {
		ok = s.Dimensions[i] == rs.Dimensions[i]
	}
	if !ok {
		panicf(fn, "rewardDiffs shape %s, want [..., batch, k] with k >= 1 matching logRatio1 shape %s", s, rs)
	}
}

// klTerm returns γ·ForwardKL(refLogProbs, policyLogProbs), or nil when γ is the
// number 0 and both inputs are nil. A node γ must broadcast to loss, the
// objective's other term.
func klTerm[G Param](fn string, gamma G, refLogProbs, policyLogProbs *Node, lossName string, loss *Node) *Node {
	v, isNumber := number(gamma)
	if isNumber {
		checkGamma(fn, v)
		if v == 0 && refLogProbs == nil && policyLogProbs == nil {
			return nil
		}
	}
	checkSame(fn, arg{"refLogProbs", refLogProbs}, arg{"policyLogProbs", policyLogProbs})
	checkNonEmpty(fn, arg{"refLogProbs", refLogProbs})
	if refLogProbs.DType() != loss.DType() {
		panicf(fn, "refLogProbs dtype %s != %s dtype %s", refLogProbs.DType(), lossName, loss.DType())
	}
	kl := forwardKL(refLogProbs, policyLogProbs)
	if isNumber {
		return MulScalar(kl, v)
	}
	g := any(gamma).(*Node)
	checkParamNode(fn, "gamma", g, loss)
	return Mul(kl, g)
}

// EDPO returns the e-DPO objective (Fisch et al. 2025): pessimistic ensemble
// distillation plus a forward-KL penalty toward the reference,
//
//	L = EnsembleDistill(logRatio1, logRatio2, rewardDiffs, β, agg)
//	  + γ·ForwardKL(refLogProbs, policyLogProbs)
//
// logRatio1, logRatio2 are [..., batch] and rewardDiffs is [..., batch, k] as in
// EnsembleDistill. refLogProbs and policyLogProbs are log π_ref(y|x) and
// log π_θ(y|x) of responses sampled from π_ref (any shape, equal to each other,
// independent of the pair batch), so the second term is the Monte-Carlo estimate of
// KL(π_ref‖π_θ). beta and gamma are numbers or nodes (see Param; a node gamma
// broadcasts to the result [...]). With the number γ = 0 both KL inputs may be
// nil, and L = EnsembleDistill. The result is [...] (a scalar for [batch]
// inputs). It panics on the conditions of EnsembleDistill and ForwardKL, or γ < 0.
func EDPO[B, G Param](logRatio1, logRatio2, rewardDiffs *Node, beta B, agg Aggregation, gamma G, refLogProbs, policyLogProbs *Node) *Node {
	const fn = "EDPO"
	if v, ok := number(gamma); ok {
		checkGamma(fn, v)
	}
	loss := EnsembleDistill(logRatio1, logRatio2, rewardDiffs, beta, agg)
	kl := klTerm(fn, gamma, refLogProbs, policyLogProbs, "logRatio1", loss)
	if kl == nil {
		return loss
	}
	return Add(loss, kl)
}

// PDPO returns the p-DPO objective (Fisch et al. 2025): DPO plus a
// forward-KL penalty toward the reference,
//
//	L = DPO(chosenLogRatio, rejectedLogRatio, β) + γ·ForwardKL(refLogProbs, policyLogProbs)
//
// chosenLogRatio and rejectedLogRatio are [..., batch] as in DPO. refLogProbs and
// policyLogProbs are log π_ref(y|x) and log π_θ(y|x) of responses sampled from π_ref
// (any shape, equal to each other), the Monte-Carlo estimate of KL(π_ref‖π_θ).
// beta and gamma are as for EDPO. With the number γ = 0 both may be nil, and
// L = DPO. The result is [...] (a scalar for [batch] inputs). It panics on the
// conditions of DPO and ForwardKL, or γ < 0.
func PDPO[B, G Param](chosenLogRatio, rejectedLogRatio *Node, beta B, gamma G, refLogProbs, policyLogProbs *Node) *Node {
	const fn = "PDPO"
	if v, ok := number(gamma); ok {
		checkGamma(fn, v)
	}
	loss := DPO(chosenLogRatio, rejectedLogRatio, beta)
	kl := klTerm(fn, gamma, refLogProbs, policyLogProbs, "chosenLogRatio", loss)
	if kl == nil {
		return loss
	}
	return Add(loss, kl)
}
