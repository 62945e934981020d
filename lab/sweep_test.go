package lab

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/losses"
)

// quiet are the options of the tests: no progress bar.
var quiet = SweepOptions{Quiet: true}

func testBandit(t testing.TB, prompts, responses, features, pairs int) *datasets.FiniteData {
	t.Helper()
	d, err := datasets.RandomBandit(datasets.BanditConfig{Prompts: prompts, Responses: responses, Features: features, Pairs: pairs, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// compareRuns fails unless every logged metric and θ of got equal want within tol.
func compareRuns(t *testing.T, label string, got, want *Run, tol float64) {
	t.Helper()
	if got.History.Len() != want.History.Len() {
		t.Fatalf("%s: %d logged steps, Train logged %d", label, got.History.Len(), want.History.Len())
	}
	for i, s := range want.History.Steps {
		if got.History.Steps[i] != s {
			t.Fatalf("%s: logged step %d is %d, Train %d", label, i, got.History.Steps[i], s)
		}
	}
	worst := 0.0
	for _, m := range want.History.Metrics {
		g, w := got.History.Values[m], want.History.Values[m]
		for i := range w {
			d := math.Abs(g[i] - w[i])
			worst = max(worst, d)
			if !(d <= tol) {
				t.Fatalf("%s: %s at step %d = %.12g, Train %.12g (|Δ| = %g)", label, m, want.History.Steps[i], g[i], w[i], d)
			}
		}
	}
	for i := range want.Theta {
		if d := math.Abs(got.Theta[i] - want.Theta[i]); !(d <= tol) {
			t.Fatalf("%s: θ[%d] = %.12g, Train %.12g", label, i, got.Theta[i], want.Theta[i])
		}
	}
	if got.StepsDone != want.StepsDone {
		t.Fatalf("%s: StepsDone %d, Train %d", label, got.StepsDone, want.StepsDone)
	}
	t.Logf("%s: max |Δ| over all metrics and steps = %.3g", label, worst)
}

// TestSweepEqualsTrain checks that batched sweeps reproduce single Train runs
// (same seeds ⇒ same reward models and minibatches) for every batched method,
// tabular and log-linear, full batch and minibatches. Train runs the batched
// trainer with one config, so this checks that batching leaves each config's
// arithmetic alone; TestTrainMatchesAutodiff checks that arithmetic against
// autodiff through the losses package.
func TestSweepEqualsTrain(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	tab := testBandit(t, 3, 5, 0, 24)
	lin := testBandit(t, 3, 5, 4, 24)
	cases := []struct {
		name string
		data *datasets.FiniteData
		base Config
		grid Grid
	}{
		{"DPO tabular minibatch", tab, Config{Method: DPO, Steps: 60, BatchSize: 8, LogEvery: 20},
			Grid{Vary("Beta", 0.1, 0.5), Vary("Seed", 1, 2)}},
		{"PDPO tabular", tab, Config{Method: PDPO, Steps: 50, LogEvery: 10},
			Grid{Vary("Beta", 0.1, 1), Vary("Gamma", 0, 0.3)}},
		{"IPO log-linear", lin, Config{Method: IPO, Steps: 40, LogEvery: 8, BatchSize: 5},
			Grid{Vary("Beta", 0.2, 2), Vary("Seed", 3, 4), Vary("LearningRate", 0.01, 0.1)}},
		{"CDPO SGD", tab, Config{Method: CDPO, Steps: 30, Optimizer: SGD, LogEvery: 10},
			Grid{Vary("Epsilon", 0.05, 0.2), Vary("Beta", 0.5, 1)}},
		{"Distill PlusRefSamples", tab, Config{Method: Distill, Steps: 30, DistillPairs: PlusRefSamples, RefPairs: 16, RewardSteps: 40, LogEvery: 10, BatchSize: 7},
			Grid{Vary("Seed", 1, 2), Vary("Beta", 0.3, 0.6)}},
		{"Distill with and without KL", tab, Config{Method: Distill, Steps: 30, RewardSteps: 40, LogEvery: 10},
			Grid{Vary("Gamma", 0, 0.3, 3), Vary("Beta", 0.3, 0.6)}},
		{"EDPO MinPerBatch", lin, Config{Method: EDPO, Steps: 30, RewardSteps: 40, LogEvery: 10},
			Grid{Vary("Gamma", 0, 0.2), Vary("Seed", 5, 6)}},
		{"EDPO MinPerExample", tab, Config{Method: EDPO, Aggregation: losses.MinPerExample, EnsembleSize: 2, Steps: 30, RewardSteps: 40, LogEvery: 15},
			Grid{Vary("Beta", 0.2, 0.8)}},
		{"EDPO Hull AllPairs", tab, Config{Method: EDPO, Aggregation: losses.Hull, DistillPairs: AllPairs, Steps: 30, RewardSteps: 40, LogEvery: 15},
			Grid{Vary("Beta", 0.2, 0.8), Vary("Gamma", 0.1, 0)}},
		{"EDPO MinPerBatch AllPairs (shared pairs)", tab, Config{Method: EDPO, DistillPairs: AllPairs, Steps: 30, RewardSteps: 40, LogEvery: 15},
			Grid{Vary("Beta", 0.2, 0.8), Vary("Gamma", 0.1, 0)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			table, err := SweepWith(context.Background(), tc.base, tc.grid, tc.data, quiet)
			if err != nil {
				t.Fatal(err)
			}
			cfgs, _, err := tc.grid.Configs(tc.base)
			if err != nil {
				t.Fatal(err)
			}
			if table.Len() != len(cfgs) {
				t.Fatalf("%d rows, want %d", table.Len(), len(cfgs))
			}
			for i, cfg := range cfgs {
				row := table.Rows[i]
				if row.Err != nil {
					t.Fatalf("row %d: %v", i, row.Err)
				}
				want, err := Train(cfg, tc.data)
				if err != nil {
					t.Fatal(err)
				}
				compareRuns(t, row.Run.Label, row.Run, want, 1e-9)
				if got, w := row.Metric("loss"), want.History.Last("loss"); got != row.Run.History.Last("loss") || math.Abs(got-w) > 1e-9 {
					t.Fatalf("row %d: Metric(loss) = %v, Train %v", i, got, w)
				}
			}
		})
	}
}

// TestSweepRowsOnError checks that invalid and diverging configs become rows
// holding their errors while the rest of the sweep finishes.
func TestSweepRowsOnError(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	data := testBandit(t, 2, 4, 0, 8)
	// A learning rate of 1.5e308 overflows θ on the first Adam step of that config only.
	table, err := SweepWith(context.Background(), Config{Method: PDPO, Gamma: 0.1, Steps: 20, LogEvery: 10},
		Grid{Vary("LearningRate", 0.05, 1.5e308, -1)}, data, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if table.Len() != 3 {
		t.Fatalf("%d rows, want 3", table.Len())
	}
	if table.Rows[0].Err != nil || table.Rows[0].Run.StepsDone != 20 {
		t.Fatalf("row 0: err %v, steps %d", table.Rows[0].Err, table.Rows[0].Run.StepsDone)
	}
	if e := table.Rows[1].Err; e == nil || !contains(e.Error(), "step") {
		t.Fatalf("row 1 (lr 1.5e308): err = %v, want a divergence error naming the step", e)
	}
	if !math.IsNaN(table.Rows[1].Metric("loss")) {
		t.Fatalf("failed row has metric loss = %v, want NaN", table.Rows[1].Metric("loss"))
	}
	if e := table.Rows[2].Err; e == nil || !contains(e.Error(), "LearningRate") {
		t.Fatalf("row 2 (lr −1): err = %v, want an error naming LearningRate", e)
	}
	if n := len(table.Errors()); n != 2 {
		t.Fatalf("Errors() has %d rows, want 2", n)
	}
}

// countdownCtx is a context whose Err turns to context.Canceled after n calls,
// so a test can stop a sweep at a chosen point without timing.
type countdownCtx struct {
	context.Context
	mu sync.Mutex
	n  int
}

func (c *countdownCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// TestSweepInterrupt checks that a cancelled sweep returns the finished rows
// (here: the cached one) and an error wrapping ErrInterrupted, while the
// configs of an interrupted batch are left out.
func TestSweepInterrupt(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	data := testBandit(t, 2, 4, 0, 8)
	base := Config{Method: DPO, Steps: 100, LogEvery: 10}
	if _, err := Train(Config{Method: DPO, Steps: 100, LogEvery: 10, Beta: 0.3}, data); err != nil {
		t.Fatal(err)
	}
	grid := Grid{Vary("Beta", 0.1, 0.3, 0.5)}
	// Err calls: one by the job loop, then one per chunk of the batch.
	ctx := &countdownCtx{Context: context.Background(), n: 4}
	table, err := SweepWith(ctx, base, grid, data, quiet)
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrInterrupted and context.Canceled", err)
	}
	if table == nil || table.Len() != 1 {
		t.Fatalf("table = %v, want the one cached row", table)
	}
	if r := table.Rows[0]; r.Config.Beta != 0.3 || !r.Run.Cached || r.Err != nil {
		t.Fatalf("row: β = %v cached %v err %v, want the cached β = 0.3 run", r.Config.Beta, r.Run.Cached, r.Err)
	}
	// Resumed, it trains the two missing configs in one batch.
	table, err = SweepWith(context.Background(), base, grid, data, quiet)
	if err != nil || table.Len() != 3 || table.Cached != 1 || table.Batches != 1 {
		t.Fatalf("resumed sweep: %d rows, %d cached, %d batches, err %v; want 3, 1, 1, nil", table.Len(), table.Cached, table.Batches, err)
	}
}

// TestSweepCache checks that sweeps share the run cache with Train: widening a
// grid trains only the new configs, and Train finds the sweep's runs.
func TestSweepCache(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	data := testBandit(t, 2, 4, 0, 8)
	base := Config{Method: PDPO, Steps: 20, LogEvery: 5}
	first, err := SweepWith(context.Background(), base, Grid{Vary("Beta", 0.1, 0.2), Vary("Gamma", 0, 1)}, data, quiet)
	if err != nil || first.Cached != 0 || first.Batches != 1 {
		t.Fatalf("first sweep: cached %d, batches %d, err %v", first.Cached, first.Batches, err)
	}
	wide, err := SweepWith(context.Background(), base, Grid{Vary("Beta", 0.1, 0.2, 0.4), Vary("Gamma", 0, 1)}, data, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if wide.Cached != 4 || wide.Batches != 1 || wide.Len() != 6 {
		t.Fatalf("widened sweep: %d rows, %d cached, %d batches; want 6, 4, 1", wide.Len(), wide.Cached, wide.Batches)
	}
	for i, r := range wide.Rows {
		if r.Run.Cached != (i < 4) {
			t.Errorf("row %d (β=%v γ=%v): Cached = %v", i, r.Config.Beta, r.Config.Gamma, r.Run.Cached)
		}
	}
	run, err := Train(Config{Method: PDPO, Steps: 20, LogEvery: 5, Beta: 0.4, Gamma: 1}, data)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Cached {
		t.Fatal("Train did not find the sweep's run in the cache")
	}
	compareRuns(t, "cached", run, wide.Rows[5].Run, 0)
}

// TestSweepSingles checks the unbatched path: RLHF configs and Unbatched
// sweeps train through TrainContext, concurrently, with Train's results.
func TestSweepSingles(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	data := testBandit(t, 2, 4, 0, 8)
	table, err := SweepWith(context.Background(), Config{Method: RLHF, RewardSource: OracleReward}, Grid{Vary("Beta", 0.1, 1)}, data, quiet)
	if err != nil || table.Batches != 0 || table.Len() != 2 {
		t.Fatalf("RLHF sweep: %d rows, %d batches, err %v", table.Len(), table.Batches, err)
	}
	for _, r := range table.Rows {
		// The tabular RLHF optimum is π*_{r*} itself.
		if tv := r.Metric("oracle/tv_optimal"); !(tv < 1e-12) {
			t.Errorf("RLHF β=%v: oracle/tv_optimal = %v, want 0", r.Config.Beta, tv)
		}
	}
	base := Config{Method: DPO, Steps: 20, BatchSize: 3, LogEvery: 5}
	grid := Grid{Vary("Seed", 1, 2, 3)}
	un, err := SweepWith(context.Background(), base, grid, data, SweepOptions{Quiet: true, Unbatched: true, Workers: 2})
	if err != nil || un.Batches != 0 {
		t.Fatalf("unbatched: batches %d, err %v", un.Batches, err)
	}
	ba, err := SweepWith(context.Background(), base, grid, data, quiet)
	if err != nil || ba.Batches != 1 {
		t.Fatalf("batched: batches %d, err %v", ba.Batches, err)
	}
	for i := range un.Rows {
		compareRuns(t, un.Rows[i].Run.Label, ba.Rows[i].Run, un.Rows[i].Run, 1e-9)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestSweepShardsAgree checks that splitting a batch into shards (Workers)
// leaves every config's arithmetic unchanged: one shard, two and three
// (uneven) shards give identical tabular Runs, for a KL-regularised method and
// a distillation method with per-config example sets; log-linear Runs agree to
// rounding (the go backend may block the θ·φᵀ product differently for a
// different number of configs).
func TestSweepShardsAgree(t *testing.T) {
	t.Setenv(NoCacheEnv, "1")
	tab := testBandit(t, 3, 5, 0, 24)
	lin := testBandit(t, 3, 5, 4, 24)
	cases := []struct {
		name string
		data *datasets.FiniteData
		base Config
		grid Grid
		tol  float64
	}{
		{"PDPO tabular", tab, Config{Method: PDPO, Steps: 40, BatchSize: 6, LogEvery: 10},
			Grid{Vary("Beta", 0.1, 0.5, 2), Vary("Gamma", 0, 0.3)}, 0},
		{"PDPO log-linear", lin, Config{Method: PDPO, Steps: 30, LogEvery: 10},
			Grid{Vary("Beta", 0.2, 1, 3), Vary("Seed", 1, 2)}, 1e-12},
		{"EDPO Hull PlusRefSamples", tab, Config{Method: EDPO, Aggregation: losses.Hull, DistillPairs: PlusRefSamples, RefPairs: 8, Steps: 20, RewardSteps: 30, LogEvery: 10, BatchSize: 5},
			Grid{Vary("Seed", 1, 2, 3), Vary("Gamma", 0, 0.1)}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want *Table
			for _, workers := range []int{1, 2, 3} {
				opt := quiet
				opt.Workers = workers
				table, err := SweepWith(context.Background(), tc.base, tc.grid, tc.data, opt)
				if err != nil {
					t.Fatal(err)
				}
				if table.Batches != 1 || len(table.Errors()) != 0 {
					t.Fatalf("workers %d: %d batches, errors %v", workers, table.Batches, table.Errors())
				}
				if want == nil {
					want = table
					continue
				}
				for i, row := range table.Rows {
					compareRuns(t, fmt.Sprintf("workers %d: %s", workers, row.Run.Label), row.Run, want.Rows[i].Run, tc.tol)
				}
			}
		})
	}
}
