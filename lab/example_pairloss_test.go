package lab_test

import (
	"context"
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab"
)

// ExampleConfig_pairLoss adds SLiC's hinge ℓ(Δh, β) = max(0, 1 − β·Δh)
// (Zhao et al. 2023) as a Config.PairLoss, one line of graph code, and
// sweeps it over β beside DPO and IPO on the SqueezeToy (one pair a ≻ b;
// SGD, 2000 steps): each sweep is one batched graph. The hinge stops once the
// margin reaches 1/β (up to the last step, which adds lr·β to Δh), as IPO's
// square stops at 1/(2β), while DPO's margin keeps growing. None of the
// three keeps π(d) at its reference 0.25: on this toy the margin is −θ₂, and
// raising it raises d, never seen in training; the hinge and IPO only stop
// sooner.
func ExampleConfig_pairLoss() {
	slic := func(m, b *graph.Node) *graph.Node { return graph.MaxScalar(graph.OneMinus(graph.Mul(b, m)), 0) }
	data := datasets.SqueezeToy()
	for _, base := range []lab.Config{
		{Method: lab.DPO},
		{Method: lab.IPO},
		{Name: "SLiC", PairLoss: slic},
	} {
		base.Optimizer, base.LearningRate, base.Steps, base.NoCache = lab.SGD, 0.05, 2000, true
		table, err := lab.SweepWith(context.Background(), base, lab.Grid{lab.Vary("Beta", 0.5, 1, 2)}, data, lab.SweepOptions{Quiet: true})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, row := range table.Rows {
			if row.Err != nil {
				fmt.Println(row.Err)
				return
			}
			p := row.Run.Probs()[0] // π over a, b, c, d
			margin := row.Metric("rewards/margins") / row.Config.Beta
			fmt.Printf("%-4s β=%-3g Δh=%5.2f π(a)=%.2f π(d)=%.2f (%d graph)\n", row.Run.Label[:4], row.Config.Beta, margin, p[0], p[3], table.Batches)
		}
	}
	// Output:
	// DPO  β=0.5 Δh= 6.26 π(a)=0.00 π(d)=1.00 (1 graph)
	// DPO  β=1   Δh= 4.57 π(a)=0.01 π(d)=0.99 (1 graph)
	// DPO  β=2   Δh= 2.99 π(a)=0.05 π(d)=0.95 (1 graph)
	// IPO  β=0.5 Δh= 1.00 π(a)=0.22 π(d)=0.61 (1 graph)
	// IPO  β=1   Δh= 0.50 π(a)=0.26 π(d)=0.43 (1 graph)
	// IPO  β=2   Δh= 0.25 π(a)=0.26 π(d)=0.33 (1 graph)
	// SLiC β=0.5 Δh= 2.02 π(a)=0.11 π(d)=0.86 (1 graph)
	// SLiC β=1   Δh= 1.05 π(a)=0.22 π(d)=0.63 (1 graph)
	// SLiC β=2   Δh= 0.60 π(a)=0.26 π(d)=0.46 (1 graph)
}
