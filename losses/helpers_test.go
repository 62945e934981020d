package losses

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
)

// testBackend returns the pure-Go backend shared by the tests, created once.
var testBackend = sync.OnceValue(func() compute.Backend {
	b, err := compute.NewWithConfig("go")
	if err != nil {
		panic(fmt.Sprintf("losses tests: creating the go backend: %v", err))
	}
	return b
})

// input is a dense float input given as flat float64 data and its dimensions.
type input struct {
	data []float64
	dims []int
	// dtype, when set, overrides the dtype the input is converted to (Int32 is
	// supported too, for tests of bad dtypes).
	dtype dtypes.DType
}

// as returns a copy of the input that always converts to dtype dt.
func (in input) as(dt dtypes.DType) input { in.dtype = dt; return in }

// vec returns a rank-1 input.
func vec(xs ...float64) input { return input{data: xs, dims: []int{len(xs)}} }

// mat returns a rank-2 input from its rows.
func mat(rows ...[]float64) input {
	in := input{dims: []int{len(rows), len(rows[0])}}
	for _, r := range rows {
		in.data = append(in.data, r...)
	}
	return in
}

// tensor converts the input to a tensor of dtype dt (Float32 or Float64).
func (in input) tensor(dt dtypes.DType) *tensors.Tensor {
	if in.dtype != dtypes.InvalidDType {
		dt = in.dtype
	}
	if dt == dtypes.Int32 {
		n := make([]int32, len(in.data))
		for i, x := range in.data {
			n[i] = int32(x)
		}
		return tensors.FromFlatDataAndDimensions(n, in.dims...)
	}
	if dt == dtypes.Float32 {
		f := make([]float32, len(in.data))
		for i, x := range in.data {
			f[i] = float32(x)
		}
		return tensors.FromFlatDataAndDimensions(f, in.dims...)
	}
	return tensors.FromFlatDataAndDimensions(append([]float64(nil), in.data...), in.dims...)
}

// lossFn builds a graph output from input nodes.
type lossFn func(in []*Node) *Node

// flat returns the tensor's values as float64, whatever its float dtype.
func flat(t *testing.T, x *tensors.Tensor) []float64 {
	t.Helper()
	switch x.DType() {
	case dtypes.Float64:
		return tensors.MustCopyFlatData[float64](x)
	case dtypes.Float32:
		f := tensors.MustCopyFlatData[float32](x)
		out := make([]float64, len(f))
		for i, v := range f {
			out[i] = float64(v)
		}
		return out
	default:
		t.Fatalf("unexpected output dtype %s", x.DType())
		return nil
	}
}

// args converts inputs to tensors of dtype dt, as Exec arguments.
func args(dt dtypes.DType, ins []input) []any {
	a := make([]any, len(ins))
	for i, in := range ins {
		a[i] = in.tensor(dt)
	}
	return a
}

// evalOut runs fn on the inputs in dtype dt and returns its output's values and
// the output dtype.
func evalOut(t *testing.T, dt dtypes.DType, fn lossFn, ins ...input) ([]float64, dtypes.DType) {
	t.Helper()
	e, err := NewExec(testBackend(), func(nodes []*Node) *Node { return fn(nodes) })
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	out, err := e.Call(args(dt, ins)...)
	if err != nil {
		t.Fatalf("Exec.Call: %v", err)
	}
	return flat(t, out[0]), out[0].DType()
}

// evalScalar runs fn in dtype dt and returns its scalar output; it fails the test if
// the output is not a scalar of dtype dt.
func evalScalar(t *testing.T, dt dtypes.DType, fn lossFn, ins ...input) float64 {
	t.Helper()
	v, gotDT := evalOut(t, dt, fn, ins...)
	if len(v) != 1 || gotDT != dt {
		t.Fatalf("output has %d values of dtype %s, want one scalar of dtype %s", len(v), gotDT, dt)
	}
	return v[0]
}

// evalWithGrad returns fn's scalar value and its gradient with respect to every
// input, by graph.Gradient, in dtype dt.
func evalWithGrad(t *testing.T, dt dtypes.DType, fn lossFn, ins ...input) (float64, [][]float64) {
	t.Helper()
	e, err := NewExec(testBackend(), func(nodes []*Node) []*Node {
		loss := fn(nodes)
		return append([]*Node{loss}, Gradient(loss, nodes...)...)
	})
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	out, err := e.Call(args(dt, ins)...)
	if err != nil {
		t.Fatalf("Exec.Call: %v", err)
	}
	grads := make([][]float64, len(ins))
	for i := range ins {
		grads[i] = flat(t, out[i+1])
	}
	return flat(t, out[0])[0], grads
}

// checkGradFD compares graph.Gradient of fn, in float64, with central finite
// differences (f(x+h) − f(x−h)) / 2h for every element of every input. Agreement
// means |g − fd| ≤ 1e-6·max(|g|, |fd|) + 1e-9: relative error below 1e-6, with an
// absolute floor for exactly-zero gradients.
func checkGradFD(t *testing.T, fn lossFn, ins ...input) {
	t.Helper()
	_, grads := evalWithGrad(t, dtypes.Float64, fn, ins...)
	e, err := NewExec(testBackend(), func(nodes []*Node) *Node { return fn(nodes) })
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	at := func(ins []input) float64 {
		out, err := e.Call(args(dtypes.Float64, ins)...)
		if err != nil {
			t.Fatalf("Exec.Call: %v", err)
		}
		return tensors.MustCopyFlatData[float64](out[0])[0]
	}
	for i, in := range ins {
		for j := range in.data {
			x := in.data[j]
			h := 1e-5 * math.Max(1, math.Abs(x))
			perturbed := func(v float64) []input {
				cp := make([]input, len(ins))
				copy(cp, ins)
				cp[i] = input{data: append([]float64(nil), in.data...), dims: in.dims}
				cp[i].data[j] = v
				return cp
			}
			fd := (at(perturbed(x+h)) - at(perturbed(x-h))) / (2 * h)
			g := grads[i][j]
			if math.Abs(g-fd) > 1e-6*math.Max(math.Abs(g), math.Abs(fd))+1e-9 {
				t.Errorf("input %d element %d: gradient %.12g, central difference %.12g (rel err %.3g)",
					i, j, g, fd, math.Abs(g-fd)/math.Max(math.Abs(g), math.Abs(fd)))
			}
		}
	}
}

// near reports whether got is within tol·max(1, |want|) of want.
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// expectPanic builds fn on constant inputs in a fresh graph and fails the test
// unless graph building panics with a message containing every wanted substring.
func expectPanic(t *testing.T, fn lossFn, want []string, ins ...input) {
	t.Helper()
	g := NewGraph(testBackend(), "panic_test")
	nodes := make([]*Node, len(ins))
	for i, in := range ins {
		if in.data == nil && in.dims == nil {
			continue // nil node
		}
		nodes[i] = ConstTensor(g, in.tensor(dtypes.Float64))
	}
	msg := func() (msg string) {
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
			}
		}()
		fn(nodes)
		return ""
	}()
	if msg == "" {
		t.Fatalf("no panic, want one mentioning %q", want)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("panic message %q does not mention %q", msg, w)
		}
	}
}
