package losses

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

// ForwardKL returns the Monte-Carlo estimate of the forward divergence KL(π_ref‖π_θ)
// (Fisch et al. 2025):
//
//	KL(π_ref‖π_θ) = E_{x, y∼π_ref}[log π_ref(y|x) − log π_θ(y|x)]
//	             ≈ mean(refLogProbs − policyLogProbs)
//
// refLogProbs and policyLogProbs hold log π_ref(y|x) and log π_θ(y|x) (sequence
// log-probabilities, summed over tokens) of responses y sampled from π_ref; they may
// have any shape, equal to each other, and the mean runs over all elements. The
// estimate is unbiased only if the samples come from π_ref; a single estimate may be
// negative. The result is a scalar of the inputs' dtype. It panics if the shapes or
// dtypes differ.
func ForwardKL(refLogProbs, policyLogProbs *Node) *Node {
	checkSame("ForwardKL", arg{"refLogProbs", refLogProbs}, arg{"policyLogProbs", policyLogProbs})
	checkNonEmpty("ForwardKL", arg{"refLogProbs", refLogProbs})
	return forwardKL(refLogProbs, policyLogProbs)
}

func forwardKL(refLogProbs, policyLogProbs *Node) *Node {
	return ReduceAllMean(Sub(refLogProbs, policyLogProbs))
}

// ForwardKLExact returns the exact forward divergence KL(π_ref‖π_θ) between the
// categorical distributions given by logits, softmax over the last axis:
//
//	p = softmax(refLogits), q = softmax(policyLogits)     (last axis, n responses)
//	KL = mean over leading axes of Σ_y p(y)·(log p(y) − log q(y))
//
// refLogits and policyLogits have equal shapes [..., n] with n ≥ 1 and finite values;
// log p and log q are computed with a stable log-softmax. The result is a scalar ≥ 0
// of the inputs' dtype, 0 for equal logits, and unchanged by adding a constant to
// either logits along the last axis. It panics if the shapes or dtypes differ or the
// rank is 0.
func ForwardKLExact(refLogits, policyLogits *Node) *Node {
	checkLogits("ForwardKLExact", arg{"refLogits", refLogits}, arg{"policyLogits", policyLogits})
	return categoricalKL(refLogits, policyLogits)
}

// ReverseKLExact returns the exact reverse divergence KL(π_θ‖π_ref), the one in the
// RLHF objective J_r(π) = E_π r − β·KL(π‖π_ref), between the categorical
// distributions given by logits, softmax over the last axis:
//
//	p = softmax(refLogits), q = softmax(policyLogits)     (last axis, n responses)
//	KL = mean over leading axes of Σ_y q(y)·(log q(y) − log p(y))
//
// Shapes, dtypes, properties and panics are as for ForwardKLExact.
func ReverseKLExact(refLogits, policyLogits *Node) *Node {
	checkLogits("ReverseKLExact", arg{"refLogits", refLogits}, arg{"policyLogits", policyLogits})
	return categoricalKL(policyLogits, refLogits)
}

// categoricalKL returns mean over leading axes of Σ_last softmax(a)·(logsoftmax(a) − logsoftmax(b)).
func categoricalKL(aLogits, bLogits *Node) *Node {
	return ReduceAllMean(categoricalKLRows(LogSoftmax(aLogits, -1), LogSoftmax(bLogits, -1)))
}

// CategoricalKL returns, for each row, the exact divergence KL(p‖q) between
// the categorical distributions given by normalized log-probabilities over
// the last axis:
//
//	KL = Σ_y p(y)·(log p(y) − log q(y)),   p(y) = exp(logP(y))
//
// logP and logQ have equal shapes [..., n] with n ≥ 1 and must each be
// normalized over the last axis (e.g. a LogSoftmax); the result is [...], one
// divergence per row (a scalar for [n] inputs), of their dtype. With
// logP = log π_ref and logQ = log π_θ it is the forward KL(π_ref‖π_θ) of every
// prompt; ForwardKLExact and ReverseKLExact are its mean over the rows, from
// logits. It panics if the shapes or dtypes differ or the rank is 0.
func CategoricalKL(logP, logQ *Node) *Node {
	checkLogits("CategoricalKL", arg{"logP", logP}, arg{"logQ", logQ})
	return categoricalKLRows(logP, logQ)
}

func categoricalKLRows(logP, logQ *Node) *Node {
	return ReduceSum(Mul(Exp(logP), Sub(logP, logQ)), -1)
}

// checkLogits panics unless both logits are float, of one shape [..., n], n ≥ 1.
func checkLogits(fn string, a, b arg) {
	if rank := checkSame(fn, a, b); rank < 1 {
		panicf(fn, "%s shape %s has rank 0, want [..., n]", a.name, a.node.Shape())
	}
	if a.node.Shape().Size() < 1 {
		panicf(fn, "%s shape %s is empty", a.name, a.node.Shape())
	}
}
