package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/robustpo/robustpo/datasets"
)

// SweepSeq trains every configuration of grid applied to base on a sequence
// task and returns one Table row per configuration, in grid order. It stops
// on SIGINT (how GoNB interrupts a cell). See SweepSeqWith.
func SweepSeq(base Config, grid Grid, task *datasets.SeqTask) (*Table, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return SweepSeqWith(ctx, base, grid, task, SweepOptions{})
}

// SweepSeqWith trains the configurations grid.Configs(base) on task with
// TrainSeqContext, up to opt.Workers at a time (0 means 1: every op of a
// transformer step already spreads over the cores, and two runs at once on 2
// cores took 1.5× the time of one after the other); there is no batched path
// for sequence runs (opt.Unbatched changes nothing). With the
// run cache on, the SFT references and reward ensembles the configs share are
// built once, one after the other, before the runs start, so concurrent runs
// never train the same π_ref or reward model twice; cached runs load without
// training. Rows, errors and interruption behave as in SweepWith.
func SweepSeqWith(ctx context.Context, base Config, grid Grid, task *datasets.SeqTask, opt SweepOptions) (*Table, error) {
	start := time.Now()
	if task == nil {
		return nil, errors.New("lab: SweepSeq: nil task")
	}
	cfgs, vals, err := grid.Configs(base)
	if err != nil {
		return nil, fmt.Errorf("lab: SweepSeq: %w", err)
	}
	backend, err := seqBackend()
	if err != nil {
		return nil, fmt.Errorf("lab: SweepSeq: %w", err)
	}
	defer backend.Finalize()

	rows := make([]Row, len(cfgs))
	finished := make([]bool, len(cfgs))
	var todo []int
	totalUnits, cachedUnits := 0, 0
	prepared := map[string]bool{}
	for i, cfg := range cfgs {
		rows[i].Values = vals[i]
		cfg = cfg.withSeqDefaults(task)
		rows[i].Config = cfg
		if err := cfg.validateSeq(task); err != nil {
			rows[i].Err, finished[i] = fmt.Errorf("config %d: %w", i, err), true
			continue
		}
		d, err := newSeqData(task, cfg)
		if err != nil {
			rows[i].Err, finished[i] = fmt.Errorf("config %d: %w", i, err), true
			continue
		}
		totalUnits += cfg.Steps
		if !useRunCache(cfg) {
			todo = append(todo, i)
			continue
		}
		if run, ok := loadCached(seqCacheKey(cfg, d, backend.Name())); ok && run.Seq != nil {
			rows[i].Run, finished[i] = run, true
			cachedUnits += cfg.Steps
			continue
		}
		todo = append(todo, i)
		// Shared work first: π_ref, then the reward margins (both cached on disk).
		if err := ctx.Err(); err != nil {
			break
		}
		ref, err := reference(ctx, backend, cfg, d)
		if err != nil {
			rows[i].Err = fmt.Errorf("config %d: %w", i, err)
			continue
		}
		if cfg.Method == Distill || cfg.Method == EDPO {
			rk := fmt.Sprintf("%s %d %d %v %d %d %v", referenceKey(cfg, d, backend.Name()), cfg.EnsembleSize, cfg.Seed,
				cfg.EnsembleSampling, cfg.RewardSteps, cfg.BatchSize, cfg.DistillPairs)
			if !prepared[rk] {
				prepared[rk] = true
				if _, err := prepareSeq(ctx, backend, cfg, d, ref); err != nil {
					rows[i].Err = fmt.Errorf("config %d: %w", i, err)
				}
			}
		}
	}

	var bar *progress
	if !opt.Quiet {
		w := opt.Progress
		if w == nil {
			w = os.Stderr
		}
		bar = newProgress(fmt.Sprintf("sequence sweep %d configs", len(cfgs)), totalUnits, w)
		bar.add(cachedUnits)
		defer bar.finish()
	}
	workers := max(1, opt.Workers)
	var mu sync.Mutex
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, i := range todo {
		if ctx.Err() != nil {
			break
		}
		if rows[i].Err != nil {
			finished[i] = true
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			cfg := rows[i].Config
			run, err := TrainSeqContext(ctx, cfg, task)
			bar.add(cfg.Steps)
			if err != nil && !errors.Is(err, ErrInterrupted) && ctx.Err() != nil {
				err = fmt.Errorf("%w: %w", ErrInterrupted, err)
			}
			if err != nil && !errors.Is(err, ErrInterrupted) {
				err = fmt.Errorf("config %d: %w", i, err)
			}
			mu.Lock()
			rows[i].Run, rows[i].Err = run, err
			if err == nil || !errors.Is(err, ErrInterrupted) {
				finished[i] = true
			}
			mu.Unlock()
		}()
	}
	wg.Wait()

	t := &Table{Fields: grid.Fields(), WallTime: time.Since(start)}
	for i := range rows {
		if !finished[i] {
			continue
		}
		r := rows[i]
		if r.Run != nil && r.Run.Cached {
			t.Cached++
		}
		r.Metrics = map[string]float64{}
		if r.Err == nil && r.Run != nil && r.Run.History != nil {
			for _, name := range r.Run.History.Metrics {
				r.Metrics[name] = r.Run.History.Last(name)
			}
		}
		t.Rows = append(t.Rows, r)
	}
	t.Metrics = metricOrder(t.Rows)
	if err := ctx.Err(); err != nil {
		return t, fmt.Errorf("%w: sequence sweep stopped with %d of %d configs finished: %w", ErrInterrupted, len(t.Rows), len(cfgs), err)
	}
	return t, nil
}
