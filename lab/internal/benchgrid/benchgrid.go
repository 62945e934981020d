// Package benchgrid defines the 256-config finite sweep that the lab's
// benchmarks (lab/sweep_bench_test.go, BenchmarkSweepGrid256*) and the bench
// command (lab/cmd/bench, "go run ./kernel bench") time, so that both time the
// same grid: p-DPO on a 16-prompt × 16-response tabular bandit (64 pairs),
// 2000 full-batch Adam steps with the lab's defaults (learning rate 0.05,
// metrics every Steps/200 = 10 steps), a 16×16 β×γ grid, cache off.
//
// It holds values only (it cannot import lab: lab's own tests import it);
// each user builds lab.Config{Method: lab.PDPO, Steps: Steps, NoCache: true}
// and the grid lab.Grid{lab.Vary("Beta", Betas()...), lab.Vary("Gamma", Gammas()...)}.
package benchgrid

import (
	"math"

	"github.com/robustpo/robustpo/datasets"
)

// Steps is the number of Adam steps of every config.
const Steps = 2000

// Bandit returns the dataset's configuration: 16 prompts × 16 responses, 64
// pairs (RandomBandit's default), seed 1.
func Bandit() datasets.BanditConfig {
	return datasets.BanditConfig{Prompts: 16, Responses: 16, Seed: 1}
}

// Data returns the bandit of Bandit.
func Data() (*datasets.FiniteData, error) { return datasets.RandomBandit(Bandit()) }

// Betas returns the grid's 16 values of β, log-spaced over [0.05, 5].
func Betas() []float64 {
	v := make([]float64, 16)
	for i := range v {
		v[i] = 0.05 * math.Pow(100, float64(i)/15)
	}
	return v
}

// Gammas returns the grid's 16 values of γ: 0, then 15 log-spaced over
// [0.01, 10].
func Gammas() []float64 {
	v := make([]float64, 16)
	for i := 1; i < 16; i++ {
		v[i] = 0.01 * math.Pow(1000, float64(i-1)/14)
	}
	return v
}
