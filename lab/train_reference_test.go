package lab

import (
	"context"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/losses"
)

// TestTrainMatchesAutodiff checks the batched trainer, which Train and Sweep
// run for every finite method but RLHF (and for a Config.PairLoss), against
// train, which differentiates the losses package's functions through the
// log-softmax by autodiff: the reference implementation of the math.
//
// Log-linear policies take autodiff's gradient by hand below the log-ratios
// (newStepExec) and agree to 1e-12. Tabular ones use the closed form of
// batch_trainer_tabular.go (Δh = θ[y₁] − θ[y₂], ∂L_pairs/∂θ = ∂L_pairs/∂log π,
// ∂(γ·KL)/∂θ = (γ/P)·(π_θ − π_ref)): under SGD they agree to rounding (1e-12)
// for every method. Under Adam, m/(√v + ε) turns rounding-level gradients into
// steps of up to lr·½: where the exact gradient of a response is 0 (responses
// outside the data, or a response chosen and rejected with equal weight),
// train's log-softmax backward leaves ~1e-20 and Adam moves it, while the
// closed form keeps it at 0. So tabular Adam runs are compared over 20 steps,
// before that noise grows past 1e-7.
// squaredHinge is max(0, 1 − β·Δh)², a PairLoss.
func squaredHinge(m, b *Node) *Node { return Square(MaxScalar(OneMinus(Mul(b, m)), 0)) }

func TestTrainMatchesAutodiff(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	backend, err := Backend()
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Finalize()
	methods := []Config{
		{Method: DPO, Beta: 0.3},
		{Method: IPO, Beta: 0.5},
		{Method: CDPO, Beta: 0.7, Epsilon: 0.1},
		{Method: PDPO, Beta: 0.2, Gamma: 0.5},
		{Method: Distill, Beta: 0.4, RewardSteps: 40},
		{Method: Distill, Beta: 0.4, Gamma: 0.3, RewardSteps: 40},
		{Method: EDPO, Beta: 0.4, Gamma: 0.3, RewardSteps: 40},
		{Method: EDPO, Beta: 0.4, Aggregation: losses.MinPerExample, RewardSteps: 40, BatchSize: 7},
		{Method: EDPO, Beta: 0.4, Gamma: 0.1, Aggregation: losses.Hull, DistillPairs: AllPairs, RewardSteps: 40},
		{Method: EDPO, Beta: 0.4, Gamma: 0.3, SoftMinTemperature: 0.05, RewardSteps: 40},
		{Method: EDPO, Beta: 0.4, Aggregation: losses.MinPerExample, SoftMinTemperature: 0.5, RewardSteps: 40, BatchSize: 7},
		// A Config.PairLoss, alone and with the forward KL: the squared hinge
		// max(0, 1 − β·Δh)². (SLiC's hinge gives every active pair the same
		// weight β, so a response chosen in one pair and rejected in another
		// gets a gradient of exactly 0 from the closed form and ~1e-17 from
		// autodiff, and a pair of two such responses then has Δh = 0 or
		// ±1e-17: rewards/accuracies, which counts Δh > 0, differs.)
		{Name: "squared hinge", PairLoss: squaredHinge, Beta: 0.5},
		{Name: "squared hinge+KL", PairLoss: squaredHinge, Beta: 0.5, Gamma: 0.3, BatchSize: 7},
	}
	type run struct {
		o     Optimizer
		steps int
		tol   float64
	}
	for _, kind := range []struct {
		name string
		data *datasets.FiniteData
		runs []run
	}{
		{"tabular", testBandit(t, 3, 5, 0, 24), []run{{SGD, 60, 1e-12}, {Adam, 20, 1e-7}}},
		{"log-linear", testBandit(t, 3, 5, 4, 24), []run{{SGD, 60, 1e-12}, {Adam, 60, 1e-12}}},
	} {
		pr, err := newProblem(kind.data, AutoPolicy)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range methods {
			for _, r := range kind.runs {
				cfg := m
				cfg.Optimizer, cfg.Steps, cfg.LogEvery, cfg.LearningRate = r.o, r.steps, 5, 0.1
				cfg = cfg.WithDefaults()
				t.Run(kind.name+" "+cfg.Label()+" "+r.o.String(), func(t *testing.T) {
					got, err := Train(cfg, kind.data)
					if err != nil {
						t.Fatal(err)
					}
					want, err := train(context.Background(), backend, pr, cfg, nil)
					if err != nil {
						t.Fatal(err)
					}
					compareRuns(t, cfg.Label(), got, want, r.tol)
				})
			}
		}
	}
}
