package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/robustpo/robustpo/datasets"
)

// SweepSeq trains every configuration of grid applied to base on a sequence
// task and returns one Table row per configuration, in grid order. It stops
// on SIGINT (how GoNB interrupts a cell). See SweepSeqWith.
//
// Interrupted, it behaves as Sweep: outside a notebook it returns the Table
// of the configs finished with an error wrapping ErrInterrupted; inside a
// GoNB cell it keeps the partial runs, prints one line to stderr and exits
// the process with status 130.
func SweepSeq(base Config, grid Grid, task *datasets.SeqTask) (*Table, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t, s, err := sweepSeq(ctx, base, grid, task, SweepOptions{})
	cellInterrupt().stop(err, func() string { return s.interruptedLine("sequence sweep") })
	return t, err
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
	t, _, err := sweepSeq(ctx, base, grid, task, opt)
	return t, err
}

// sweepSeq does the work of SweepSeqWith and returns its rows too (nil when
// it failed before training).
func sweepSeq(ctx context.Context, base Config, grid Grid, task *datasets.SeqTask, opt SweepOptions) (*Table, *sweepRows, error) {
	start := time.Now()
	if task == nil {
		return nil, nil, errors.New("lab: SweepSeq: nil task")
	}
	cfgs, vals, err := grid.Configs(base)
	if err != nil {
		return nil, nil, fmt.Errorf("lab: SweepSeq: %w", err)
	}
	backend, err := SeqBackend()
	if err != nil {
		return nil, nil, fmt.Errorf("lab: SweepSeq: %w", err)
	}
	defer backend.Finalize()

	s := newSweepRows(vals)
	keys := make([]string, len(vals))
	fingerprint := sweepFingerprints(backend, base, grid)
	s.key = func(i int) string { return keys[i] }
	var todo []int
	totalUnits, cachedUnits := 0, 0
	prepared := map[string]bool{}
	for i, cfg := range cfgs {
		cfg = cfg.withSeqDefaults(task)
		s.rows[i].Config = cfg
		if err := cfg.validateSeq(task); err != nil {
			s.fail(i, err)
			continue
		}
		d, err := newSeqData(task, cfg)
		if err != nil {
			s.fail(i, err)
			continue
		}
		lossID, err := fingerprint(cfg)
		if err != nil {
			s.fail(i, err)
			continue
		}
		totalUnits += cfg.Steps
		spec := seqRunSpec(cfg, d, backend.Name(), lossID)
		keys[i] = spec.key()
		if !useRunCache(cfg) {
			todo = append(todo, i)
			continue
		}
		if run, ok := loadCachedRun(spec, cfg); ok {
			s.rows[i].Run, s.finished[i] = run, true
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
			s.rows[i].Err = fmt.Errorf("config %d: %w", i, err)
			continue
		}
		if cfg.Method.distills() {
			rk := fmt.Sprintf("%s %d %d %v %d %d %v", referenceKey(cfg, d, backend.Name()), cfg.EnsembleSize, cfg.Seed,
				cfg.EnsembleSampling, cfg.RewardSteps, cfg.BatchSize, cfg.DistillPairs)
			if !prepared[rk] {
				prepared[rk] = true
				if _, err := prepareSeq(ctx, backend, cfg, d, ref); err != nil {
					s.rows[i].Err = fmt.Errorf("config %d: %w", i, err)
				}
			}
		}
	}
	s.startProgress(opt, "sequence sweep", totalUnits, cachedUnits)
	defer s.bar.finish()

	// A row whose shared work failed is finished with that error when its
	// turn comes; the others train.
	jobs := make([]sweepJob, len(todo))
	for j, i := range todo {
		if s.rows[i].Err != nil {
			jobs[j] = sweepJob{inline: true, run: func() {
				s.mu.Lock()
				s.finished[i] = true
				s.mu.Unlock()
			}}
			continue
		}
		jobs[j] = s.trainAlone(ctx, i, s.rows[i].Config.Steps, func(ctx context.Context, cfg Config) (*Run, error) {
			run, _, err := trainSeqTask(ctx, cfg, task, false) // the sweep's bar is the only one
			return run, err
		})
	}
	runJobs(ctx, max(1, opt.Workers), jobs)
	t, err := s.table(ctx, grid.Fields(), start, 0, "sequence sweep")
	return t, s, err
}
