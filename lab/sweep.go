package lab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gomlx/compute"
	"github.com/robustpo/robustpo/datasets"
)

// SweepOptions tunes SweepWith. The zero value is the default of Sweep.
type SweepOptions struct {
	// Progress receives the terminal progress bar (nil: os.Stderr). Inside a
	// GoNB notebook the bar is an updating output block instead.
	Progress io.Writer
	// Quiet turns the progress bar off (so does ROBUSTPO_PROGRESS=0, see
	// ProgressEnv). Runs trained by a sweep show no bar of their own.
	Quiet bool
	// Workers bounds the jobs running at once: batched groups and configs
	// that train alone (0 means GOMAXPROCS); it is also the number of shards,
	// each on its own core, that a batched group's configs are split into.
	Workers int
	// Unbatched trains every config through TrainContext, concurrently, instead
	// of batching finite-set configs into shared graphs (for comparisons).
	Unbatched bool
}

// Sweep trains every configuration of grid applied to base on data and
// returns one Table row per configuration, in grid order. It stops on SIGINT
// (how GoNB interrupts a cell). See SweepWith.
//
// Interrupted outside a notebook, it returns the Table of the configs
// finished so far with an error wrapping ErrInterrupted. Interrupted inside a
// GoNB cell, it keeps the partial runs of the configs it was training (as
// Train does, <cache key>.partial.json in CacheDir), prints one line to
// stderr saying how many configs finished (those are in the run cache:
// running the cell again trains only the others) and where the partial runs
// are, and exits the cell's process with status 130.
func Sweep(base Config, grid Grid, data *datasets.FiniteData) (*Table, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t, s, err := sweep(ctx, base, grid, data, SweepOptions{})
	cellInterrupt().stop(err, func() string { return s.interruptedLine("sweep") })
	return t, err
}

// SweepContext is Sweep under ctx instead of SIGINT. See SweepWith.
func SweepContext(ctx context.Context, base Config, grid Grid, data *datasets.FiniteData) (*Table, error) {
	return SweepWith(ctx, base, grid, data, SweepOptions{})
}

// SweepWith trains the configurations grid.Configs(base) on data:
//
//   - Cached configs are loaded from the run cache, with the key of a single
//     Train run, so widening a grid trains only the new cells.
//   - Finite-set configs of one method with equal structure (method, policy
//     kind, Steps, BatchSize, LogEvery, Optimizer, and for Distill and EDPO
//     EnsembleSize, Aggregation, SoftMinTemperature, DistillPairs, RefPairs) train as one batched
//     graph: parameters [C, …θ], Adam moments and minibatches gain a leading
//     config axis; β, γ, ε and the learning rate are per-config constants. The
//     batch's configs are split into Workers shards (one per core by
//     default), each running that graph over its own configs concurrently. Each config draws its reward fit and minibatches from its own Seed exactly as
//     Train does, so its Run equals Train's (Train runs this graph with one
//     config). Reward fits are
//     shared by configs that differ only in fields the fit ignores.
//   - Every other config (RLHF, groups of one) runs through TrainContext, up to
//     Workers at a time.
//
// A config that is invalid, diverges (NaN/Inf) or fails becomes a row holding
// its error (and its partial Run) while the others go on; the returned error
// is then nil. When ctx is cancelled, the Table holds the rows finished so
// far and the error wraps ErrInterrupted. Other errors (an invalid grid, no
// backend) return a nil Table.
//
// Each batched Run's WallTime is its batch's wall time divided by the number
// of configs in the batch.
func SweepWith(ctx context.Context, base Config, grid Grid, data *datasets.FiniteData, opt SweepOptions) (*Table, error) {
	t, _, err := sweep(ctx, base, grid, data, opt)
	return t, err
}

// sweep does the work of SweepWith and returns its rows too (nil when it
// failed before training).
func sweep(ctx context.Context, base Config, grid Grid, data *datasets.FiniteData, opt SweepOptions) (*Table, *sweepRows, error) {
	start := time.Now()
	if data == nil {
		return nil, nil, errors.New("lab: Sweep: nil dataset")
	}
	cfgs, vals, err := grid.Configs(base)
	if err != nil {
		return nil, nil, fmt.Errorf("lab: Sweep: %w", err)
	}
	backend, err := Backend()
	if err != nil {
		return nil, nil, fmt.Errorf("lab: Sweep: %w", err)
	}
	defer backend.Finalize()

	s := newSweepRows(vals)
	backendName := backend.Name()
	lossIDs := make([]string, len(cfgs)) // fingerprints of the configs' PairLoss
	spec := func(i int) runSpec { return finiteRunSpec(s.rows[i].Config, data, backendName, lossIDs[i]) }
	s.key = func(i int) string { return spec(i).key() }
	fingerprint := sweepFingerprints(backend, base, grid)
	problems := map[PolicyKind]*problem{}
	groups := map[batchKey][]int{}
	var groupOrder []batchKey
	var singles []int
	totalUnits := 0
	cachedUnits := 0
	for i, cfg := range cfgs {
		s.rows[i].Config = cfg.WithDefaults()
		if err := cfg.Validate(); err != nil {
			s.fail(i, err)
			continue
		}
		cfg = cfg.WithDefaults()
		if lossIDs[i], err = fingerprint(cfg); err != nil {
			s.fail(i, err)
			continue
		}
		units := max(1, cfg.Steps)
		totalUnits += units
		if useRunCache(cfg) {
			if run, ok := loadCachedRun(spec(i), cfg); ok {
				s.rows[i].Run, s.finished[i] = run, true
				cachedUnits += units
				continue
			}
		}
		pr, ok := problems[cfg.Policy]
		if !ok {
			pr, err = newProblem(data, cfg.Policy)
			if err != nil {
				s.fail(i, err)
				totalUnits -= units
				continue
			}
			problems[cfg.Policy] = pr
		}
		if opt.Unbatched || !cfg.Method.batched() {
			singles = append(singles, i)
			continue
		}
		k := batchKeyOf(cfg, pr.kind, lossIDs[i])
		if _, ok := groups[k]; !ok {
			groupOrder = append(groupOrder, k)
		}
		groups[k] = append(groups[k], i)
	}
	s.startProgress(opt, "sweep", totalUnits, cachedUnits)
	defer s.bar.finish()

	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Jobs: batched groups (split to bound memory), then single configs.
	var jobs []sweepJob
	batches := 0
	record := func(i int, run *Run, err error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.rows[i].Run, s.rows[i].Err = run, err
		if err != nil && errors.Is(err, ErrInterrupted) {
			markInterrupted(run, err)
			return // unfinished
		}
		s.finished[i] = true
		if err == nil && useRunCache(s.rows[i].Config) {
			storeRun(spec(i), run) // a cache that cannot be written warns once; the row stands
		}
	}
	for _, k := range groupOrder {
		idx := groups[k]
		if len(idx) == 1 {
			singles = append(singles, idx[0])
			continue
		}
		pr := problems[cfgs[idx[0]].WithDefaults().Policy]
		per := max(1, maxBatchElems/max(1, pr.numParams()))
		for from := 0; from < len(idx); from += per {
			part := idx[from:min(len(idx), from+per)]
			batches++
			jobs = append(jobs, sweepJob{run: func() {
				batch := make([]Config, len(part))
				for j, i := range part {
					batch[j] = s.rows[i].Config
				}
				runs, errs := trainBatch(ctx, backend, pr, batch, workers, func(n int, _ float64) { s.bar.add(n) })
				for j, i := range part {
					record(i, runs[j], errs[j])
				}
			}})
		}
	}
	for _, i := range singles {
		// trainFinite caches a successful run itself; the sweep's bar is the only one.
		jobs = append(jobs, s.trainAlone(ctx, i, max(1, s.rows[i].Config.Steps), func(ctx context.Context, cfg Config) (*Run, error) {
			run, _, err := trainFinite(ctx, cfg, data, false)
			return run, err
		}))
	}
	runJobs(ctx, workers, jobs)
	t, err := s.table(ctx, grid.Fields(), start, batches, "sweep")
	return t, s, err
}

// sweepFingerprints returns the function that gives the fingerprint of a
// config's PairLoss (pairLossID) in a sweep of grid over base: computed once
// when no axis varies PairLoss (every config has base's), else per config.
func sweepFingerprints(backend compute.Backend, base Config, grid Grid) func(Config) (string, error) {
	if slices.Contains(grid.Fields(), "PairLoss") {
		return func(cfg Config) (string, error) { return pairLossID(backend, cfg) }
	}
	var id string
	var err error
	done := false
	return func(cfg Config) (string, error) {
		if !done {
			id, err = pairLossID(backend, cfg)
			done = true
		}
		return id, err
	}
}

// sweepRows is the bookkeeping Sweep and SweepSeq share: one Row per config
// in grid order, which rows are finished (a row whose run was interrupted is
// not, and stays out of the Table), the progress bar (nil when quiet) and the
// lock that guards them while jobs run.
type sweepRows struct {
	mu       sync.Mutex
	rows     []Row
	finished []bool
	bar      *progress
	key      func(i int) string // row i's run-cache key
}

// newSweepRows returns the rows of a grid with the given values, none finished.
func newSweepRows(vals [][]any) *sweepRows {
	s := &sweepRows{rows: make([]Row, len(vals)), finished: make([]bool, len(vals))}
	for i, v := range vals {
		s.rows[i].Values = v
	}
	return s
}

// fail finishes row i with err (before any job runs: no lock).
func (s *sweepRows) fail(i int, err error) {
	s.rows[i].Err, s.finished[i] = fmt.Errorf("config %d: %w", i, err), true
}

// startProgress starts the bar "<what> <n> configs" of total units with cached
// of them done, on opt.Progress (nil: os.Stderr), unless opt.Quiet.
func (s *sweepRows) startProgress(opt SweepOptions, what string, total, cached int) {
	if opt.Quiet {
		return
	}
	w := opt.Progress
	if w == nil {
		w = os.Stderr
	}
	s.bar = newProgress(fmt.Sprintf("%s %d configs", what, len(s.rows)), total, w)
	s.bar.add(cached)
}

// sweepJob is one unit of a sweep's work. An inline job only does
// bookkeeping and runs in the dispatching goroutine without taking a worker.
type sweepJob struct {
	run    func()
	inline bool
}

// runJobs runs jobs in order, up to workers at a time, and waits for them;
// once ctx is cancelled no further job starts.
func runJobs(ctx context.Context, workers int, jobs []sweepJob) {
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, job := range jobs {
		if ctx.Err() != nil {
			break
		}
		if job.inline {
			job.run()
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			job.run()
		}()
	}
	wg.Wait()
}

// trainAlone returns the job that trains row i's config by itself with train
// and records the result: an error that is not an interruption names the
// config and finishes the row; an error that arrives after ctx was cancelled
// counts as an interruption, which leaves the row unfinished. units is what
// the run adds to the progress bar.
func (s *sweepRows) trainAlone(ctx context.Context, i, units int, train func(context.Context, Config) (*Run, error)) sweepJob {
	return sweepJob{run: func() {
		run, err := train(ctx, s.rows[i].Config)
		s.bar.add(units)
		if err != nil && !errors.Is(err, ErrInterrupted) && ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", ErrInterrupted, err)
		}
		if err != nil && !errors.Is(err, ErrInterrupted) {
			err = fmt.Errorf("config %d: %w", i, err)
		}
		markInterrupted(run, err)
		s.mu.Lock()
		s.rows[i].Run, s.rows[i].Err = run, err
		if err == nil || !errors.Is(err, ErrInterrupted) {
			s.finished[i] = true
		}
		s.mu.Unlock()
	}}
}

// interruptedLine keeps the partial runs of the unfinished rows (see
// savePartial) and returns the one line an interrupted notebook cell ends
// with: "lab: interrupted: <what> of N configs stopped with F finished (in the
// run cache: running the cell again trains only the others); partial runs of
// P configs at step S of M kept in <dir> as <cache key>.partial.json" (the
// step when they all stopped at the same one). s is nil
// when the sweep stopped before training.
func (s *sweepRows) interruptedLine(what string) string {
	if s == nil {
		return "lab: interrupted: " + what + " stopped before training"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	finished, cached := 0, true
	for i, f := range s.finished {
		if f {
			finished++
			cached = cached && (s.rows[i].Err != nil || s.rows[i].Run == nil || s.rows[i].Run.Cached || useRunCache(s.rows[i].Config))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "lab: interrupted: %s of %d configs stopped with %d finished", what, len(s.rows), finished)
	if cached && finished > 0 {
		b.WriteString(" (in the run cache: running the cell again trains only the others)")
	}
	var kept, failed int
	var firstErr error
	steps := map[[2]int]bool{}
	for i, r := range s.rows {
		if s.finished[i] || r.Run == nil || s.key == nil {
			continue
		}
		if _, err := savePartial(s.key(i), r.Run); err != nil {
			failed++
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		kept++
		steps[[2]int{r.Run.StepsDone, r.Run.Config.Steps}] = true
	}
	if kept > 0 {
		fmt.Fprintf(&b, "; partial runs of %d configs", kept)
		if len(steps) == 1 {
			for st := range steps {
				fmt.Fprintf(&b, " at step %d of %d", st[0], st[1])
			}
		}
		fmt.Fprintf(&b, " kept in %s as <cache key>%s.json", CacheDir(), partialSuffix)
	}
	if failed > 0 {
		fmt.Fprintf(&b, "; %d partial runs could not be kept: %v", failed, firstErr)
	}
	return b.String()
}

// table returns the finished rows, in grid order, with each row's Metrics the
// last logged value of every metric of its run; when ctx was cancelled it
// returns them with an error wrapping ErrInterrupted that says how many of
// the configs finished ("<what> stopped with …").
func (s *sweepRows) table(ctx context.Context, fields []string, start time.Time, batches int, what string) (*Table, error) {
	t := &Table{Fields: fields, WallTime: time.Since(start), Batches: batches}
	for i := range s.rows {
		if !s.finished[i] {
			continue
		}
		r := s.rows[i]
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
		return t, fmt.Errorf("%w: %s stopped with %d of %d configs finished: %w", ErrInterrupted, what, len(t.Rows), len(s.rows), err)
	}
	return t, nil
}

// useRunCache reports whether cfg's run may be read from and written to the
// run cache (the rule of TrainContext).
func useRunCache(cfg Config) bool { return !cfg.NoCache && os.Getenv(NoCacheEnv) != "1" }

// metricOrder returns the metric names of rows' runs, in first-seen order.
func metricOrder(rows []Row) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		if r.Run == nil || r.Run.History == nil {
			continue
		}
		for _, m := range r.Run.History.Metrics {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}
