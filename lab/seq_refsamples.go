package lab

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/robustpo/robustpo/datasets"
)

// SeqSample is one response sampled from a policy for a held-out prompt,
// scored by the task's oracle.
type SeqSample struct {
	// Prompt indexes the task's EvalPrompts.
	Prompt int `json:"prompt"`
	// Response holds the tokens before EOS.
	Response []int `json:"response"`
	// Reward is r*(x, y); Length is len(Response).
	Reward float64 `json:"reward"`
	Length int     `json:"length"`
}

// ReferenceSamples returns π_ref's held-out samples for cfg on task: the
// EvalSamples responses per held-out prompt (of the first EvalPrompts) that
// every run of cfg's π_ref measures its win rate against, in prompt order.
// π_ref is the one TrainSeq(cfg, task) starts from (same cache entry: SFT runs
// only when it is not cached), so it depends on the task, Model (its Seed
// included), SFTSteps, SFTLearningRate, RefSamples, EvalSamples and
// EvalPrompts. Use it to see what π_ref's own samples say, e.g. how r*
// varies with length.
func ReferenceSamples(cfg Config, task *datasets.SeqTask) ([]SeqSample, error) {
	if task == nil {
		return nil, errors.New("lab: ReferenceSamples: nil task")
	}
	cfg = cfg.withSeqDefaults(task)
	if err := cfg.validateSeq(task); err != nil {
		return nil, err
	}
	d, err := newSeqData(task, cfg)
	if err != nil {
		return nil, err
	}
	backend, err := SeqBackend()
	if err != nil {
		return nil, err
	}
	defer backend.Finalize()
	ref, err := reference(context.Background(), backend, cfg, d)
	if err != nil {
		return nil, fmt.Errorf("lab: ReferenceSamples: %w", err)
	}
	var out []SeqSample
	for _, row := range ref.Eval {
		for _, s := range row {
			n := responseLen(task.Vocab, s.Response)
			out = append(out, SeqSample{Prompt: s.Prompt, Response: append([]int(nil), s.Response[:n]...), Reward: s.Reward, Length: s.Length})
		}
	}
	return out, nil
}

// LengthSlope is the least-squares line r* ≈ a + Slope·length through
// samples, with Pearson's correlation of r* and length: how much a longer
// response is worth on these samples (NaN where every length, or for Corr
// every reward, is equal).
type LengthSlope struct {
	Slope, Corr float64
	N           int
}

// RewardLengthSlope fits LengthSlope to samples.
func RewardLengthSlope(samples []SeqSample) LengthSlope {
	n := float64(len(samples))
	var mx, my float64
	for _, s := range samples {
		mx += float64(s.Length)
		my += s.Reward
	}
	mx, my = mx/n, my/n
	var sxx, syy, sxy float64
	for _, s := range samples {
		dx, dy := float64(s.Length)-mx, s.Reward-my
		sxx, syy, sxy = sxx+dx*dx, syy+dy*dy, sxy+dx*dy
	}
	return LengthSlope{Slope: sxy / sxx, Corr: sxy / math.Sqrt(sxx*syy), N: len(samples)}
}
