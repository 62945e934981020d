package losses

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/support/exceptions"
)

// panicf panics with an error (carrying a stack trace) whose message starts with
// "losses.<fn>: ", the package's convention for invalid graph-building arguments.
func panicf(fn, format string, args ...any) {
	exceptions.Panicf("losses.%s: %s", fn, fmt.Sprintf(format, args...))
}

// arg is a named input node, so panics can say which argument is at fault.
type arg struct {
	name string
	node *Node
}

// checkSame panics unless every argument is non-nil, of one float dtype, and of one
// shape. It returns that shape's rank.
func checkSame(fn string, args ...arg) int {
	for _, a := range args {
		if a.node == nil {
			panicf(fn, "%s is nil", a.name)
		}
		if !a.node.DType().IsFloat() {
			panicf(fn, "%s has dtype %s, want Float32 or Float64", a.name, a.node.DType())
		}
	}
	first := args[0]
	for _, a := range args[1:] {
		if !a.node.Shape().Equal(first.node.Shape()) {
			panicf(fn, "%s shape %s != %s shape %s", first.name, first.node.Shape(), a.name, a.node.Shape())
		}
	}
	return first.node.Rank()
}

// checkBatch panics unless the arguments are non-nil float [batch] nodes of one
// shape with batch ≥ 1.
func checkBatch(fn string, args ...arg) {
	if rank := checkSame(fn, args...); rank != 1 {
		panicf(fn, "%s shape %s has rank %d, want rank 1 [batch]", args[0].name, args[0].node.Shape(), rank)
	}
	if args[0].node.Shape().Dimensions[0] < 1 {
		panicf(fn, "%s shape %s is an empty batch", args[0].name, args[0].node.Shape())
	}
}

// checkNonEmpty panics if the argument has no elements (its mean would be NaN).
func checkNonEmpty(fn string, a arg) {
	if a.node.Shape().Size() < 1 {
		panicf(fn, "%s shape %s is empty", a.name, a.node.Shape())
	}
}

// checkBeta panics unless β is finite and > 0.
func checkBeta(fn string, beta float64) {
	if !(beta > 0) || math.IsInf(beta, 0) {
		panicf(fn, "beta=%g, want a finite beta > 0", beta)
	}
}

// checkGamma panics unless γ is finite and ≥ 0.
func checkGamma(fn string, gamma float64) {
	if !(gamma >= 0) || math.IsInf(gamma, 0) {
		panicf(fn, "gamma=%g, want a finite gamma >= 0", gamma)
	}
}

// softplus returns log(1 + eˣ) element-wise as
//
//	softplus(x) = max(x, 0) + log1p(exp(−|x|)),
//
// where both max(x, 0) and −|x| are built with Where so that automatic
// differentiation yields exactly σ(x) for every x (0.5 at x = 0), and exp never sees
// a positive argument, so neither value nor gradient overflows.
func softplus(x *Node) *Node {
	positive := GreaterThan(x, ZerosLike(x))
	relu := Where(positive, x, ZerosLike(x)) // max(x, 0)
	negAbs := Where(positive, Neg(x), x)     // −|x|
	return Add(relu, Log1p(Exp(negAbs)))
}
