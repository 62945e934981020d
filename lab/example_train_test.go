package lab_test

import (
	"fmt"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab"
)

// init starts a backend once before the examples run: the first start in a
// process prints the backend's choice on stdout ("lab: backend …"), which
// would otherwise land in the output of whichever example ran first.
func init() {
	if b, err := lab.Backend(); err == nil {
		b.Finalize()
	}
}

// ExampleTrain shows DPO's degeneracy on the SqueezeToy: trained on the one
// pair a ≻ b with β = 0.5, a log-linear DPO policy moves nearly all its mass
// to d, a response never seen in training, and away from the preferred a.
// p-DPO's forward KL to π_ref (γ = 1) keeps π(a) near its reference 0.25.
func ExampleTrain() {
	data := datasets.SqueezeToy()
	for _, cfg := range []lab.Config{
		{Method: lab.DPO, Beta: 0.5, NoCache: true},
		{Method: lab.PDPO, Beta: 0.5, Gamma: 1, NoCache: true},
	} {
		run, err := lab.Train(cfg, data)
		if err != nil {
			fmt.Println(err)
			return
		}
		p := run.Probs()[0] // π(·|x) over the responses a, b, c, d of the one prompt
		fmt.Printf("%v: π(a) = %.2f, π(d) = %.2f\n", cfg.Method, p[0], p[3])
	}
	// Output:
	// DPO: π(a) = 0.00, π(d) = 1.00
	// PDPO: π(a) = 0.30, π(d) = 0.34
}
