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

// checkBatch panics unless the arguments are non-nil float [..., batch] nodes
// of one shape (rank ≥ 1) with batch ≥ 1.
func checkBatch(fn string, args ...arg) {
	if rank := checkSame(fn, args...); rank < 1 {
		panicf(fn, "%s shape %s has rank 0, want [..., batch]", args[0].name, args[0].node.Shape())
	}
	if s := args[0].node.Shape(); s.Dimensions[s.Rank()-1] < 1 {
		panicf(fn, "%s shape %s is an empty batch", args[0].name, s)
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

// checkEpsilon panics unless ε is in [0, 0.5).
func checkEpsilon(fn string, epsilon float64) {
	if !(epsilon >= 0 && epsilon < 0.5) {
		panicf(fn, "epsilon=%g outside [0, 0.5)", epsilon)
	}
}

// Param is a loss parameter (β, ε, γ): a Go number, checked where the graph is
// built, or a node holding one value per example or per group of examples,
// whose values are not checked. A node parameter must have the dtype of the
// loss's inputs and a shape that broadcasts to the per-example shape
// [..., batch]: a scalar, or a node of that rank whose every dimension is the
// inputs' or 1 (e.g. [configs, 1] for one value per config of [configs, batch]
// inputs).
type Param interface {
	float64 | float32 | int | *Node
}

// number returns p's value and true when p is a Go number, or false for a node.
func number[P Param](p P) (float64, bool) {
	switch v := any(p).(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	}
	return 0, false
}

// paramNode returns p as a node for inputs like like: a scalar constant of
// like's dtype for a number, the node itself otherwise (after checking its
// dtype and that its shape broadcasts to like's; see Param).
func paramNode[P Param](fn, name string, p P, like *Node) *Node {
	if v, ok := number(p); ok {
		return Scalar(like.Graph(), like.DType(), v)
	}
	node := any(p).(*Node)
	checkParamNode(fn, name, node, like)
	return node
}

// checkParamNode panics unless node is a non-nil node of like's dtype whose
// shape broadcasts to like's (see Param).
func checkParamNode(fn, name string, node, like *Node) {
	if node == nil {
		panicf(fn, "%s is nil", name)
	}
	if node.DType() != like.DType() {
		panicf(fn, "%s has dtype %s, want the inputs' %s", name, node.DType(), like.DType())
	}
	if node.Rank() == 0 {
		return
	}
	ps, ls := node.Shape(), like.Shape()
	ok := ps.Rank() == ls.Rank()
	for i := 0; ok && i < ps.Rank(); i++ {
		ok = ps.Dimensions[i] == ls.Dimensions[i] || ps.Dimensions[i] == 1
	}
	if !ok {
		panicf(fn, "%s shape %s does not broadcast to the inputs' shape %s (want a scalar or rank %d with dimensions equal or 1)", name, ps, ls, ls.Rank())
	}
}

// betaNode checks β (a number: finite and > 0; see Param) and returns it as a
// node for inputs like like.
func betaNode[B Param](fn string, beta B, like *Node) *Node {
	if v, ok := number(beta); ok {
		checkBeta(fn, v)
	}
	return paramNode(fn, "beta", beta, like)
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
