package lab

import (
	"testing"

	"github.com/robustpo/robustpo/datasets"
)

// squeezeRun trains cfg on the SqueezeToy with the acceptance settings
// (β = 0.5, Adam lr 0.05, 3000 steps, Seed 1), bypassing the cache.
func squeezeRun(t *testing.T, method Method, gamma float64) *Run {
	t.Helper()
	run, err := Train(Config{Method: method, Beta: 0.5, Gamma: gamma, LearningRate: 0.05, Steps: 3000, Seed: 1, LogEvery: 100, NoCache: true}, datasets.SqueezeToy())
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestAcceptanceSqueezeToyDPO(t *testing.T) {
	run := squeezeRun(t, DPO, 0)
	pi := run.Probs()[0]
	ir := run.History.Series("implicit_reward/max_abs")
	t.Logf("DPO: π = %v, implicit_reward/max_abs last = %v, wall %v", pi, ir[len(ir)-1], run.WallTime)
	if !(pi[0] < 0.01) {
		t.Errorf("π(a) = %v, want < 0.01", pi[0])
	}
	if !(pi[3] > 0.98) {
		t.Errorf("π(d) = %v, want > 0.98", pi[3])
	}
	if last := ir[len(ir)-1]; !(last > 5) {
		t.Errorf("implicit_reward/max_abs = %v, want > 5", last)
	}
	n := len(ir)
	if !(ir[n-1] > ir[n-2] && ir[n-2] > ir[n-3]) {
		t.Errorf("implicit_reward/max_abs not rising at the end: %v", ir[n-3:])
	}
}

func TestAcceptanceSqueezeToyPDPO(t *testing.T) {
	run := squeezeRun(t, PDPO, 0.1)
	pi := run.Probs()[0]
	t.Logf("PDPO γ=0.1: π = %v", pi)
	if !(pi[0] > 0.3) {
		t.Errorf("π(a) = %v, want > 0.3", pi[0])
	}
}

func TestAcceptanceBanditDistill(t *testing.T) {
	data, err := datasets.RandomBandit(datasets.BanditConfig{Prompts: 4, Responses: 8, Pairs: 64, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	run, err := Train(Config{Method: Distill, RewardSource: OracleReward, DistillPairs: AllPairs, Steps: 5000, NoCache: true}, data)
	if err != nil {
		t.Fatal(err)
	}
	tv := run.History.Last("oracle/tv_optimal")
	t.Logf("Distill AllPairs oracle: tv_optimal = %v, wall %v", tv, run.WallTime)
	if !(tv < 1e-3) {
		t.Errorf("oracle/tv_optimal = %v, want < 1e-3", tv)
	}
}
