package lab

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab/seqmodel"
)

// tinyTask is a LengthBias task small enough for unit tests.
func tinyTask(t *testing.T, numTrain, pairsPerPrompt int) *datasets.SeqTask {
	t.Helper()
	task, err := datasets.LengthBias(datasets.LengthBiasConfig{Seed: 3, VocabSize: 24, NumSalient: 6, DocLen: 6,
		SalientPerDoc: 2, MaxResponseLen: 5, NumTrain: numTrain, NumEval: 4, PairsPerPrompt: pairsPerPrompt, RefPerPrompt: 2})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// tinySeqConfig is a fast sequence config.
func tinySeqConfig(m Method) Config {
	return Config{Method: m, Beta: 0.5, Steps: 3, LogEvery: 2, BatchSize: 4, SFTSteps: 4, RewardSteps: 3,
		EvalSamples: 2, Model: seqmodel.Config{DModel: 8, Layers: 1, Heads: 2}, NoCache: true}
}

// At π_θ = π_ref every log-ratio is 0, so the first step's minibatch loss
// (computed in the graph, with margins and KL samples fed as the run feeds
// them) has a closed form. One pair makes every minibatch that pair.
func TestSeqFirstStepLossClosedForms(t *testing.T) {
	task := tinyTask(t, 1, 1)
	p := task.Pairs[0]
	dr := p.ChosenReward - p.RejectedReward
	cases := []struct {
		cfg  Config
		want float64
	}{
		{tinySeqConfig(DPO), math.Log(2)},
		{tinySeqConfig(IPO), 1 / (4 * 0.5 * 0.5)},
		{func() Config { c := tinySeqConfig(CDPO); c.Epsilon = 0.3; return c }(), math.Log(2)},
		{func() Config { c := tinySeqConfig(PDPO); c.Gamma = 2; return c }(), math.Log(2)}, // KL(π_ref‖π_ref) = 0
		{func() Config { c := tinySeqConfig(Distill); c.RewardSource = OracleReward; return c }(), dr * dr},
		{func() Config {
			c := tinySeqConfig(EDPO)
			c.RewardSource, c.Gamma, c.Aggregation = OracleReward, 1, 2
			return c
		}(), dr * dr}, // every member equal: the hull is the point Δr*, at distance |Δr*| from 0
	}
	for _, c := range cases {
		// One π_ref sample: the KL terms of a step and of the logged loss see the same sample.
		c.cfg.RefSamples = 1
		run, err := TrainSeqContext(context.Background(), c.cfg, task)
		if err != nil {
			t.Fatalf("%s: %v", c.cfg.Label(), err)
		}
		got := run.Seq.StepLosses[0]
		if math.Abs(got-c.want) > 1e-5*max(1, c.want) {
			t.Errorf("%s: first step loss %v, want %v", c.cfg.Label(), got, c.want)
		}
		if l0 := run.History.Values["loss"][0]; math.Abs(l0-c.want) > 1e-5*max(1, c.want) {
			t.Errorf("%s: logged loss at step 0 = %v, want %v", c.cfg.Label(), l0, c.want)
		}
		// After 2 updates, the graph's minibatch loss of step 2 (before its update) and
		// the logged full-data loss at step 2 are the same function of the same parameters.
		if g, l := run.Seq.StepLosses[2], run.History.Values["loss"][1]; math.Abs(g-l) > 1e-4*max(1, math.Abs(l)) {
			t.Errorf("%s: graph loss %v at step 2, logged loss %v", c.cfg.Label(), g, l)
		}
		h := run.History
		if h.Values["kl/forward"][0] != 0 || h.Values["kl/reverse"][0] != 0 || h.Values["implicit_reward/max_abs"][0] != 0 {
			t.Errorf("%s: at step 0 π = π_ref, but kl/forward %v, kl/reverse %v, max_abs %v", c.cfg.Label(),
				h.Values["kl/forward"][0], h.Values["kl/reverse"][0], h.Values["implicit_reward/max_abs"][0])
		}
		if !reflect.DeepEqual(h.Steps, []int{0, 2, 3}) || run.StepsDone != 3 {
			t.Errorf("%s: logged steps %v, done %d; want [0 2 3], 3", c.cfg.Label(), h.Steps, run.StepsDone)
		}
	}
}

// trainSeqTwice trains cfg on task twice in a row (the second run may come
// from the run cache) and returns both runs.
func trainSeqTwice(t *testing.T, cfg Config, task *datasets.SeqTask) (a, b *Run) {
	t.Helper()
	for _, r := range []**Run{&a, &b} {
		run, err := TrainSeqContext(context.Background(), cfg, task)
		if err != nil {
			t.Fatal(err)
		}
		*r = run
	}
	return a, b
}

func TestSeqMetricsAndDeterminism(t *testing.T) {
	task := tinyTask(t, 6, 3)
	cfg := tinySeqConfig(EDPO)
	cfg.Gamma, cfg.EnsembleSize, cfg.DistillPairs, cfg.RefPairs = 0.1, 2, PlusRefSamples, 4
	a, b := trainSeqTwice(t, cfg, task)
	if !reflect.DeepEqual(a.History, b.History) || !reflect.DeepEqual(a.Seq.StepLosses, b.Seq.StepLosses) {
		t.Fatal("two identical runs differ")
	}
	for _, name := range seqMetricNames {
		if len(a.History.Series(name)) != 3 {
			t.Errorf("metric %s: %d values, want 3", name, len(a.History.Series(name)))
		}
	}
	s := a.Seq
	if s.TrainPairs != 18 || s.Examples <= 18 || s.Examples > 18+4 || len(s.RewardAccuracy) != 2 {
		t.Errorf("pairs %d, examples %d, reward accuracies %v", s.TrainPairs, s.Examples, s.RewardAccuracy)
	}
	w := s.WinRate
	if len(w.PerPrompt) != 4 || w.Samples != 2 || !(w.Lo <= w.Rate && w.Rate <= w.Hi) || w.Rate != a.History.Last("winrate/vs_ref") {
		t.Errorf("win rate %+v", w)
	}
	if s.OracleReward != a.History.Last("oracle/reward") || s.MeanLength != a.History.Last("length/mean") {
		t.Errorf("final evaluation %+v disagrees with the History", s)
	}
	if s.MeanLength < 0 || s.MeanLength > float64(task.Config.MaxResponseLen+1) {
		t.Errorf("mean length %v outside [0, %d]", s.MeanLength, task.Config.MaxResponseLen+1)
	}
	// accuracies + rewards are consistent: margins = chosen − rejected.
	h := a.History
	if d := h.Last("rewards/margins") - (h.Last("rewards/chosen") - h.Last("rewards/rejected")); math.Abs(d) > 1e-12 {
		t.Errorf("rewards/margins off by %v", d)
	}
	if z, p, err := CompareWinRates(a, b); err != nil || z != 0 || p != 1 {
		t.Errorf("a run against its twin: z = %v, p = %v, err = %v; want 0, 1", z, p, err)
	}
}

func TestSeqCacheAndSweep(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	task := tinyTask(t, 4, 2)
	base := tinySeqConfig(DPO)
	base.NoCache = false
	first, err := TrainSeq(base, task)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached {
		t.Fatal("first run reported cached")
	}
	again, err := TrainSeq(base, task)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || !reflect.DeepEqual(first.History, again.History) || again.Seq.WinRate.Rate != first.Seq.WinRate.Rate {
		t.Fatal("second run was not loaded from the cache, or differs")
	}
	tab, err := SweepSeqWith(context.Background(), base, Grid{Vary("Method", "DPO", "IPO", "RLHF")}, task, SweepOptions{Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 3 || tab.Cached != 1 {
		t.Fatalf("%d rows, %d cached; want 3, 1", len(tab.Rows), tab.Cached)
	}
	if tab.Rows[0].Metric("winrate/vs_ref") != first.History.Last("winrate/vs_ref") || tab.Rows[1].Err != nil {
		t.Fatalf("rows: %+v", tab.Rows[:2])
	}
	if tab.Rows[2].Err == nil || !strings.Contains(tab.Rows[2].Err.Error(), "RLHF") {
		t.Fatalf("RLHF row: %v", tab.Rows[2].Err)
	}
	svg, err := tab.WinRateLines("Beta", "Method").SVG()
	if err != nil || !strings.Contains(string(svg), "win rate") || !strings.Contains(string(svg), ">IPO<") {
		t.Fatalf("WinRateLines: %v", err)
	}
	if sum := tab.SeqSummary(); strings.Count(sum, "\n") != 5 || !strings.Contains(sum, "error:") || !strings.Contains(sum, first.Label) ||
		!strings.HasSuffix(sum, "made on: "+first.Provenance.String()+"\n") {
		t.Fatalf("SeqSummary:\n%s", sum)
	}
	ipo, err := TrainSeq(func() Config { c := base; c.Method = IPO; return c }(), task)
	if err != nil || !ipo.Cached || !reflect.DeepEqual(ipo.History, tab.Rows[1].Run.History) {
		t.Fatalf("the sweep's IPO run is not the cached TrainSeq run (err %v)", err)
	}
}

func TestSeqFaults(t *testing.T) {
	task := tinyTask(t, 2, 1)
	for _, c := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Method = RLHF }, "RLHF"},
		{func(c *Config) { c.DistillPairs = AllPairs; c.Method = Distill }, "AllPairs"},
		{func(c *Config) { c.Rho = 1.5 }, "Rho"},
		{func(c *Config) { c.Model.MaxLen = 5 }, "MaxLen"},
	} {
		cfg := tinySeqConfig(DPO)
		c.mut(&cfg)
		if _, err := TrainSeq(cfg, task); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error naming %s, got %v", c.want, err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	run, err := TrainSeqContext(ctx, tinySeqConfig(DPO), task)
	if !errors.Is(err, ErrInterrupted) || run == nil {
		t.Fatalf("cancelled run: %v (run %v), want ErrInterrupted and a partial Run", err, run)
	}

	cfg := tinySeqConfig(DPO)
	cfg.LearningRate, cfg.Steps = 1e30, 6
	run, err = TrainSeqContext(context.Background(), cfg, task)
	if err == nil || !strings.Contains(err.Error(), "step") || !strings.Contains(err.Error(), "metric") {
		t.Fatalf("learning rate 1e30: want an error naming the step and metric, got %v", err)
	}
	if run == nil || run.History.Len() == 0 {
		t.Fatal("a diverged run must keep its History so far")
	}
}

func TestSeqMemberPairs(t *testing.T) {
	const n, k = 10, 3
	seen := map[int]int{}
	for i := range k {
		f := memberPairs(DisjointFolds, n, k, i, 5, nil)
		if len(f) < n/k || len(f) > n/k+1 {
			t.Errorf("fold %d has %d pairs, want %d or %d", i, len(f), n/k, n/k+1)
		}
		for _, j := range f {
			seen[j]++
		}
		if b := memberPairs(Bootstrap, n, k, i, 5, rand.New(rand.NewPCG(1, uint64(i)))); len(b) != n {
			t.Errorf("bootstrap member %d has %d draws, want %d", i, len(b), n)
		}
		if s := memberPairs(DifferentSeeds, n, k, i, 5, nil); len(s) != n || s[0] != 0 || s[n-1] != n-1 {
			t.Errorf("DifferentSeeds member %d: %v, want every pair", i, s)
		}
	}
	for j := range n {
		if seen[j] != 1 {
			t.Errorf("pair %d is in %d folds, want exactly 1", j, seen[j])
		}
	}
	a := memberPairs(Bootstrap, n, k, 0, 5, rand.New(rand.NewPCG(1, 2)))
	b := memberPairs(Bootstrap, n, k, 0, 5, rand.New(rand.NewPCG(1, 2)))
	if !reflect.DeepEqual(a, b) {
		t.Error("bootstrap draws are not deterministic in their stream")
	}
}

// testSeqTrainer returns the sequence trainer of cfg (defaulted and
// validated for task, returned too) on task, with its π_ref fit and its
// training state prepared, ready for st.train; its backend is finalized when
// the test ends.
func testSeqTrainer(t *testing.T, cfg Config, task *datasets.SeqTask) (*seqTrainer, Config) {
	t.Helper()
	ctx := context.Background()
	cfg = cfg.withSeqDefaults(task)
	if err := cfg.validateSeq(task); err != nil {
		t.Fatal(err)
	}
	d, err := newSeqData(task, cfg)
	if err != nil {
		t.Fatal(err)
	}
	backend, err := SeqBackend()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(backend.Finalize)
	ref, err := reference(ctx, backend, cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	st, err := prepareSeq(ctx, backend, cfg, d, ref)
	if err != nil {
		t.Fatal(err)
	}
	return st, cfg
}
