package lab

import (
	"fmt"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
)

// Optimizer selects the update rule of Train. The zero value is Adam.
type Optimizer int

const (
	// Adam (Kingma & Ba) with β₁ = 0.9, β₂ = 0.999, ε = 1e-8 and bias correction:
	//   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
	//   θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).
	Adam Optimizer = iota
	// SGD is plain gradient descent θ ← θ − lr·g.
	SGD
)

var optimizerNames = [...]string{Adam: "Adam", SGD: "SGD"}

// String returns the optimizer's Go name.
func (o Optimizer) String() string { return enumString(optimizerNames[:], int(o), "Optimizer") }

const (
	adamBeta1   = 0.9
	adamBeta2   = 0.999
	adamEpsilon = 1e-8
)

// lossBuilder builds a scalar loss from the parameters θ and the batch indices
// idx ([B] int32, indices into the method's example list) inside a graph.
type lossBuilder func(theta, idx *Node) *Node

// stepper runs an optimizer on parameters kept as tensors between calls. One
// graph is compiled per chunk length K (the first axis of the index input) and
// performs K unrolled optimizer steps per Exec call.
//
// Graph inputs:  θ, m, v (shape of θ), t (scalar, steps done), idx [K, B] int32.
// Graph outputs: θ', m', v', t + K, losses [K] (loss before each step's update).
type stepper struct {
	exec        *Exec
	theta, m, v *tensors.Tensor
	t           *tensors.Tensor
}

// newStepExec builds the Exec of a K-step update for loss (compiled lazily, once
// per chunk length K and batch size B).
func newStepExec(backend compute.Backend, name string, loss lossBuilder, opt Optimizer, lr float64) (*Exec, error) {
	fn := func(inputs []*Node) []*Node {
		theta, m, v, t, idx := inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]
		k := idx.Shape().Dimensions[0]
		b := idx.Shape().Dimensions[1]
		stepLosses := make([]*Node, k)
		for i := range k {
			batch := Reshape(Slice(idx, AxisElem(i), AxisRange()), b)
			l := loss(theta, batch)
			stepLosses[i] = l
			g := Gradient(l, theta)[0]
			theta, m, v, t = optimizerStep(opt, theta, m, v, t, g, Scalar(theta.Graph(), theta.DType(), lr))
		}
		return []*Node{theta, m, v, t, Stack(stepLosses, 0)}
	}
	exec, err := NewExec(backend, fn)
	if err != nil {
		return nil, fmt.Errorf("lab: building %s step: %w", name, err)
	}
	return exec.WithName(name), nil
}

// optimizerStep applies one step of opt (see Optimizer) to θ with gradient g
// and returns θ', m', v', t + 1. lr is a scalar node, or one of θ's shape
// holding each entry's learning rate (the batched trainer's per-config rates).
func optimizerStep(opt Optimizer, theta, m, v, t, g, lr *Node) (*Node, *Node, *Node, *Node) {
	t = AddScalar(t, 1)
	if opt == SGD {
		return Sub(theta, Mul(g, lr)), m, v, t
	}
	m = Add(MulScalar(m, adamBeta1), MulScalar(g, 1-adamBeta1))
	v = Add(MulScalar(v, adamBeta2), MulScalar(Square(g), 1-adamBeta2))
	c1 := OneMinus(Pow(Scalar(t.Graph(), t.DType(), adamBeta1), t))
	c2 := OneMinus(Pow(Scalar(t.Graph(), t.DType(), adamBeta2), t))
	mHat := Div(m, c1)
	vHat := Div(v, c2)
	return Sub(theta, Mul(Div(mHat, AddScalar(Sqrt(vHat), adamEpsilon)), lr)), m, v, t
}

// newEvalExec builds the Exec that evaluates loss(θ, idx) without updating.
func newEvalExec(backend compute.Backend, name string, loss lossBuilder) (*Exec, error) {
	exec, err := NewExec(backend, func(theta, idx *Node) *Node { return loss(theta, idx) })
	if err != nil {
		return nil, fmt.Errorf("lab: building %s evaluation: %w", name, err)
	}
	return exec.WithName(name + "_eval"), nil
}

// newStepper starts an optimizer at θ₀ with zero moments and t = 0.
func newStepper(exec *Exec, theta0 *tensors.Tensor) *stepper {
	return &stepper{
		exec:  exec,
		theta: theta0,
		m:     tensors.FromShape(theta0.Shape()),
		v:     tensors.FromShape(theta0.Shape()),
		t:     tensors.FromScalar(float64(0)),
	}
}

// run performs len(idx) steps, idx[i] being step i's batch (all rows of equal
// length B), and returns the loss before each step.
func (s *stepper) run(idx [][]int32) ([]float64, error) {
	k, b := len(idx), len(idx[0])
	flat := make([]int32, 0, k*b)
	for _, row := range idx {
		flat = append(flat, row...)
	}
	out, err := s.exec.Exec(s.theta, s.m, s.v, s.t, tensors.FromFlatDataAndDimensions(flat, k, b))
	if err != nil {
		return nil, err
	}
	s.theta, s.m, s.v, s.t = out[0], out[1], out[2], out[3]
	return tensors.MustCopyFlatData[float64](out[4]), nil
}

// params returns a host copy of θ.
func (s *stepper) params() []float64 { return tensors.MustCopyFlatData[float64](s.theta) }
