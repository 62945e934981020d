package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gomlx/compute"

	"github.com/robustpo/robustpo/lab/backend"
	"github.com/robustpo/robustpo/lab/seqmodel"
)

// pairBatches returns P chosen and P rejected rows of T tokens drawn
// uniformly from [1, Vocab), the rejected rows sharing the chosen rows'
// prompts (the first Prompt() tokens).
func pairBatches(s Size, seed uint64) (chosen, rejected seqmodel.Batch, err error) {
	rng := rand.New(rand.NewPCG(seed, seed))
	row := func(n int) []int {
		r := make([]int, n)
		for i := range r {
			r[i] = 1 + rng.IntN(s.Vocab-1)
		}
		return r
	}
	prompts := make([][]int, s.Pairs)
	c := make([][]int, s.Pairs)
	r := make([][]int, s.Pairs)
	for i := range s.Pairs {
		prompts[i] = row(s.Prompt())
		c[i] = row(s.T - s.Prompt())
		r[i] = row(s.T - s.Prompt())
	}
	if chosen, err = seqmodel.NewBatch(prompts, c, 0, s.T); err != nil {
		return chosen, rejected, fmt.Errorf("chosen batch: %w", err)
	}
	if rejected, err = seqmodel.NewBatch(prompts, r, 0, s.T); err != nil {
		return chosen, rejected, fmt.Errorf("rejected batch: %w", err)
	}
	return chosen, rejected, nil
}

// dpoRig is a DPO step ready to run: a fresh policy, its frozen snapshot's
// log-probs on the batches, a compiled trainer.
type dpoRig struct {
	backend  compute.Backend
	config   string // the backend configuration that started
	step     func() error
	finalize func()
}

// newDPORig builds the DPO step of size s on the backend started from
// cands (see backend.Start) and runs one warm-up step, which compiles the
// graph and checks the first loss is log 2 (policy = reference).
func newDPORig(s Size, cands []backend.Candidate) (*dpoRig, error) {
	backend, cand, err := backend.Start(cands)
	if err != nil {
		return nil, err
	}
	rig := &dpoRig{backend: backend, config: cand.Config, finalize: backend.Finalize}
	fail := func(err error) (*dpoRig, error) {
		backend.Finalize()
		return nil, fmt.Errorf("backend %s: %w", cand.Config, err)
	}
	cfg := seqmodel.Config{VocabSize: s.Vocab, DModel: s.DModel, Layers: s.Layers, Heads: s.Heads, MaxLen: s.T}
	policy, err := seqmodel.NewPolicy(backend, cfg)
	if err != nil {
		return fail(err)
	}
	ref, err := policy.Snapshot()
	if err != nil {
		return fail(err)
	}
	ref.Freeze()
	chosen, rejected, err := pairBatches(s, 1)
	if err != nil {
		return fail(err)
	}
	refC, err := ref.LogProbs(chosen)
	if err != nil {
		return fail(fmt.Errorf("reference log-probs (chosen): %w", err))
	}
	refR, err := ref.LogProbs(rejected)
	if err != nil {
		return fail(fmt.Errorf("reference log-probs (rejected): %w", err))
	}
	tr, err := seqmodel.NewDPOTrainer(policy, seqmodel.DPOConfig{Beta: 0.1, Adam: seqmodel.AdamConfig{LearningRate: 1e-4}})
	if err != nil {
		return fail(err)
	}
	n := 0
	rig.step = func() error {
		n++
		st, err := tr.Step(chosen, rejected, refC, refR)
		if err != nil {
			return fmt.Errorf("step %d: %w", n, err)
		}
		if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
			return fmt.Errorf("step %d: loss %g", n, st.Loss)
		}
		// The policy starts equal to the reference: Δh = 0, loss = log 2.
		if n == 1 && math.Abs(st.Loss-math.Ln2) > 1e-4 {
			return fmt.Errorf("step 1: loss %g, want log 2 = %g", st.Loss, math.Ln2)
		}
		return nil
	}
	if err := rig.step(); err != nil {
		return fail(fmt.Errorf("warm-up: %w", err))
	}
	return rig, nil
}

// timeSteps runs step n times and returns each step's wall time in seconds.
func timeSteps(step func() error, n int) ([]float64, error) {
	ts := make([]float64, 0, n)
	for range n {
		start := time.Now()
		if err := step(); err != nil {
			return ts, err
		}
		ts = append(ts, time.Since(start).Seconds())
	}
	return ts, nil
}

// median of xs (xs is sorted in place).
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// stepResult makes a Result from per-step times: s/step is their median
// (robust to other load on a shared machine), steps/s and tokens/s follow.
func stepResult(name, backend string, s Size, ts []float64) Result {
	m := median(ts)
	return Result{Name: name, Backend: backend, Size: s.Name, Steps: len(ts),
		SecPerStep: m, StepsPerSec: 1 / m, TokensPerS: float64(s.TokensPerStep()) / m}
}

// benchDPO times steps DPO steps on lab.SeqBackend()'s choice. It returns
// the result and the backend's description.
func benchDPO(s Size, steps int) (Result, string, error) {
	rig, err := newDPORig(s, backend.Candidates(backend.DefaultSeqGo))
	if err != nil {
		return Result{}, "", err
	}
	defer rig.finalize()
	desc := rig.config + " (" + rig.backend.Description() + ")"
	ts, err := timeSteps(rig.step, steps)
	if err != nil {
		return Result{}, desc, err
	}
	return stepResult("lab dpo-step", rig.config, s, ts), desc, nil
}

// compareGoConfigs times the DPO step on each backend configuration, in
// rounds of roundSteps steps per configuration, alternating, so that other
// load on the machine falls on all of them alike.
func compareGoConfigs(s Size, configs []string, rounds, roundSteps int) ([]Result, error) {
	rigs := make([]*dpoRig, len(configs))
	for i, c := range configs {
		rig, err := newDPORig(s, []backend.Candidate{{Config: c, Reason: "--compare"}})
		if err != nil {
			return nil, err
		}
		defer rig.finalize()
		rigs[i] = rig
	}
	times := make([][]float64, len(configs))
	for range rounds {
		for i, rig := range rigs {
			ts, err := timeSteps(rig.step, roundSteps)
			if err != nil {
				return nil, fmt.Errorf("backend %s: %w", configs[i], err)
			}
			times[i] = append(times[i], ts...)
		}
	}
	rs := make([]Result, len(configs))
	for i, c := range configs {
		rs[i] = stepResult("lab dpo-step", c, s, times[i])
	}
	return rs, nil
}
