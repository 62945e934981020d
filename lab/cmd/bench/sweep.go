package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab"
)

// Sweep benchmark: p-DPO on a 16-prompt × 16-response tabular bandit, 2000
// full-batch Adam steps, a 16×16 β×γ grid (β log-spaced over [0.05, 5], γ
// over {0} ∪ log-spaced [0.01, 10]), cache off: lab/sweep_bench_test.go's
// grid.
const sweepSteps, sweepConfigs = 2000, 256

func sweepGrid() (lab.Config, lab.Grid, *datasets.FiniteData, error) {
	data, err := datasets.RandomBandit(datasets.BanditConfig{Prompts: 16, Responses: 16, Seed: 1})
	if err != nil {
		return lab.Config{}, nil, nil, err
	}
	betas := make([]any, 16)
	gammas := make([]any, 16)
	for i := range 16 {
		betas[i] = 0.05 * math.Pow(100, float64(i)/15)
		gammas[i] = 0.0
		if i > 0 {
			gammas[i] = 0.01 * math.Pow(1000, float64(i-1)/14)
		}
	}
	return lab.Config{Method: lab.PDPO, Steps: sweepSteps, NoCache: true}, lab.Grid{lab.Vary("Beta", betas...), lab.Vary("Gamma", gammas...)}, data, nil
}

// benchSweep times one lab.SweepWith of the 256-config grid.
func benchSweep(ctx context.Context) (Result, error) {
	base, grid, data, err := sweepGrid()
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	t, err := lab.SweepWith(ctx, base, grid, data, lab.SweepOptions{Quiet: true})
	if err != nil {
		return Result{}, err
	}
	el := time.Since(start).Seconds()
	if t.Len() != sweepConfigs || len(t.Errors()) != 0 {
		return Result{}, fmt.Errorf("%d rows, %d errors; want %d rows, none failed", t.Len(), len(t.Errors()), sweepConfigs)
	}
	return Result{
		Name: "lab sweep256", Backend: fmt.Sprintf("%d batched graph(s)", t.Batches), Size: "16x16 bandit",
		Steps: sweepSteps, SecPerStep: el / sweepSteps, StepsPerSec: sweepSteps / el,
		ConfigSteps: sweepConfigs * sweepSteps / el,
	}, nil
}
