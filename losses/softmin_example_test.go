package losses_test

import (
	"fmt"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/robustpo/robustpo/losses"
)

// The soft minimum over members of EDPO's example ensemble (β = 1, members'
// batch losses 2.5 and 2.125): τ = 0 is MinPerBatch's 2.125, and as τ grows
// the loss rises towards the members' mean 2.3125, by at most τ·log 2.
func ExampleEnsembleDistillSoft() {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		fmt.Println("backend:", err)
		return
	}
	for _, tau := range []float64{0, 0.1, 1, 1000} {
		exec, err := graph.NewExec(backend, func(h1, h2, dr *graph.Node) *graph.Node {
			return losses.EnsembleDistillSoft(h1, h2, dr, 1.0, losses.MinPerBatch, tau)
		})
		if err != nil {
			fmt.Println("exec:", err)
			return
		}
		out, err := exec.Call([]float64{1, 0}, []float64{0, 0}, [][]float64{{0, 3}, {2, -0.5}})
		if err != nil {
			fmt.Println("call:", err)
			return
		}
		fmt.Printf("τ = %-4g %.4f\n", tau, out[0].Value())
	}
	// Output:
	// τ = 0    2.1250
	// τ = 0.1  2.1920
	// τ = 1    2.2950
	// τ = 1000 2.3125
}
