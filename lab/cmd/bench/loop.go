package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab"
	"github.com/robustpo/robustpo/lab/seqmodel"
)

// loopTask is the length-bias task sized like s: vocabulary s.Vocab and
// sequences of s.T tokens (documents of s.T−19 tokens, responses of 2 to 16
// tokens, 3 special tokens).
func loopTask(s Size) (*datasets.SeqTask, error) {
	return datasets.LengthBias(datasets.LengthBiasConfig{Seed: 1, VocabSize: s.Vocab, DocLen: s.T - 19,
		MinResponseLen: 2, MaxResponseLen: 16, NumTrain: 64, NumEval: 4})
}

// loopConfig is a DPO run of s's model and batch (s.Pairs pairs per step)
// that logs only at its first and last step.
func loopConfig(s Size, steps int) lab.Config {
	return lab.Config{Method: lab.DPO, Beta: 0.1, Steps: steps, LearningRate: 1e-4, BatchSize: s.Pairs, LogEvery: steps,
		Model:    seqmodel.Config{DModel: s.DModel, Layers: s.Layers, Heads: s.Heads},
		SFTSteps: 5, RefSamples: 1, EvalSamples: 1, EvalPrompts: 2}
}

// benchLoop times the DPO step through the lab's own training loop
// (lab.TrainSeq: batch sampling and feeding, reference log-probs, metrics).
// After a warm-up run that caches π_ref in a fresh run cache, it trains
// twice, for 2 and for 2+steps steps (both reuse π_ref, both compile their
// graphs and evaluate at their first and last step), and returns
// (t₂ − t₁)/steps per step: what one more step costs.
func benchLoop(ctx context.Context, s Size, steps int) (Result, error) {
	task, err := loopTask(s)
	if err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "robustpo-bench-cache-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	prev, had := os.LookupEnv(lab.CacheDirEnv)
	os.Setenv(lab.CacheDirEnv, dir)
	defer func() {
		if had {
			os.Setenv(lab.CacheDirEnv, prev)
		} else {
			os.Unsetenv(lab.CacheDirEnv)
		}
	}()
	// A first run fills the cache with π_ref (SFT, samples), which the two
	// timed runs then share.
	if _, err := lab.TrainSeqContext(ctx, loopConfig(s, 1), task); err != nil {
		return Result{}, fmt.Errorf("TrainSeq warm-up: %w", err)
	}
	var secs [2]float64
	for i, n := range []int{2, 2 + steps} {
		start := time.Now()
		run, err := lab.TrainSeqContext(ctx, loopConfig(s, n), task)
		if err != nil {
			return Result{}, fmt.Errorf("TrainSeq with %d steps: %w", n, err)
		}
		secs[i] = time.Since(start).Seconds()
		if got := len(run.Seq.StepLosses); got != n {
			return Result{}, fmt.Errorf("TrainSeq with %d steps logged %d step losses", n, got)
		}
	}
	per := (secs[1] - secs[0]) / float64(steps)
	if per <= 0 {
		return Result{}, fmt.Errorf("a %d-step run (%.2f s) was not slower than a 2-step run (%.2f s): too few steps to time", 2+steps, secs[1], secs[0])
	}
	return Result{Name: "lab loop dpo-step", Backend: "TrainSeq", Size: s.Name, Steps: steps,
		SecPerStep: per, StepsPerSec: 1 / per, TokensPerS: float64(s.TokensPerStep()) / per}, nil
}
