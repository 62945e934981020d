package losses

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
)

const benchBatch = 4096

// benchLossAndGrad times one Exec call computing fn and its gradient with respect to
// every input, on the go backend in float32, after a warm-up call that compiles it.
func benchLossAndGrad(b *testing.B, fn lossFn, ins ...input) {
	e, err := NewExec(testBackend(), func(nodes []*Node) []*Node {
		loss := fn(nodes)
		return append([]*Node{loss}, Gradient(loss, nodes...)...)
	})
	if err != nil {
		b.Fatalf("NewExec: %v", err)
	}
	a := args(dtypes.Float32, ins)
	if _, err := e.Call(a...); err != nil {
		b.Fatalf("Exec.Call: %v", err)
	}
	b.ResetTimer()
	for b.Loop() {
		out, err := e.Call(a...)
		if err != nil {
			b.Fatalf("Exec.Call: %v", err)
		}
		for _, t := range out {
			if err := t.FinalizeAll(); err != nil {
				b.Fatalf("FinalizeAll: %v", err)
			}
		}
	}
}

func benchInputs() (h1, h2, dr, ref, pol, l1, l2 input) {
	r := rand.New(rand.NewPCG(7, 7))
	return randVec(r, benchBatch, 2), randVec(r, benchBatch, 2), randMat(r, benchBatch, 4, 2),
		randVec(r, benchBatch, 3), randVec(r, benchBatch, 3), randMat(r, benchBatch, 8, 2), randMat(r, benchBatch, 8, 2)
}

func BenchmarkDPO(b *testing.B) {
	h1, h2, _, _, _, _, _ := benchInputs()
	benchLossAndGrad(b, dpoFn(0.1), h1, h2)
}

func BenchmarkIPO(b *testing.B) {
	h1, h2, _, _, _, _, _ := benchInputs()
	benchLossAndGrad(b, ipoFn(0.1), h1, h2)
}

func BenchmarkCDPO(b *testing.B) {
	h1, h2, _, _, _, _, _ := benchInputs()
	benchLossAndGrad(b, cdpoFn(0.1, 0.1), h1, h2)
}

func BenchmarkBradleyTerry(b *testing.B) {
	h1, h2, _, _, _, _, _ := benchInputs()
	benchLossAndGrad(b, btFn(), h1, h2)
}

func BenchmarkDistill(b *testing.B) {
	h1, h2, dr, _, _, _, _ := benchInputs()
	benchLossAndGrad(b, distillFn(0.1), h1, h2, column(dr, 0))
}

func BenchmarkEnsembleDistill(b *testing.B) {
	h1, h2, dr, _, _, _, _ := benchInputs()
	for _, agg := range []Aggregation{MinPerBatch, MinPerExample, Hull} {
		b.Run(agg.String(), func(b *testing.B) { benchLossAndGrad(b, ensembleFn(0.1, agg), h1, h2, dr) })
	}
}

func BenchmarkForwardKL(b *testing.B) {
	_, _, _, ref, pol, _, _ := benchInputs()
	benchLossAndGrad(b, forwardKLFn(), ref, pol)
}

// BenchmarkForwardKLExact uses [4096, 8] logits.
func BenchmarkForwardKLExact(b *testing.B) {
	_, _, _, _, _, l1, l2 := benchInputs()
	benchLossAndGrad(b, forwardExactFn(), l1, l2)
}

// BenchmarkReverseKLExact uses [4096, 8] logits.
func BenchmarkReverseKLExact(b *testing.B) {
	_, _, _, _, _, l1, l2 := benchInputs()
	benchLossAndGrad(b, reverseExactFn(), l1, l2)
}

func BenchmarkEDPO(b *testing.B) {
	h1, h2, dr, ref, pol, _, _ := benchInputs()
	benchLossAndGrad(b, edpoFn(0.1, MinPerBatch, 0.1), h1, h2, dr, ref, pol)
}

func BenchmarkPDPO(b *testing.B) {
	h1, h2, _, ref, pol, _, _ := benchInputs()
	benchLossAndGrad(b, pdpoFn(0.1, 0.1), h1, h2, ref, pol)
}

func BenchmarkGradWeight(b *testing.B) {
	h1, h2, _, _, _, _, _ := benchInputs()
	benchLossAndGrad(b, func(in []*Node) *Node { return ReduceAllSum(GradWeight(in[0], in[1], 0.1)) }, h1, h2)
}
