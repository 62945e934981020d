package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/losses"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func mustTrain(t *testing.T, cfg Config, data *datasets.FiniteData) *Run {
	t.Helper()
	cfg.NoCache = true
	run, err := Train(cfg, data)
	if err != nil {
		t.Fatalf("Train(%s): %v", cfg.Label(), err)
	}
	return run
}

func bandit(t *testing.T, cfg datasets.BanditConfig) *datasets.FiniteData {
	t.Helper()
	d, err := datasets.RandomBandit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// First Adam step: m̂/√v̂ = g/|g| per coordinate, so θ moves by ≈ −lr·sign(g). On the
// SqueezeToy DPO's gradient is (0, β·σ(0)) at θ = 0: θ₁ stays 0, θ₂ → −lr.
func TestFirstStepAdamAndSGD(t *testing.T) {
	run := mustTrain(t, Config{Method: DPO, Beta: 0.5, Steps: 1, LearningRate: 0.05}, datasets.SqueezeToy())
	// With ε = 1e-8: Δθ₂ = −lr·|g|/(|g| + ε), |g| = β·σ(0) = 0.25.
	if want := -0.05 * 0.25 / (0.25 + 1e-8); !near(run.Theta[0], 0, 1e-12) || !near(run.Theta[1], want, 1e-12) {
		t.Errorf("Adam step 1: θ = %v, want (0, %v)", run.Theta, want)
	}
	run = mustTrain(t, Config{Method: DPO, Beta: 0.5, Steps: 1, LearningRate: 0.05, Optimizer: SGD}, datasets.SqueezeToy())
	// SGD: θ₂ = −lr·β·σ(0) = −0.05·0.5·0.5.
	if !near(run.Theta[0], 0, 1e-12) || !near(run.Theta[1], -0.0125, 1e-12) {
		t.Errorf("SGD step 1: θ = %v, want (0, −0.0125)", run.Theta)
	}
	// Loss logged at step 0 is softplus(0) = log 2; at step 1, softplus(β·θ₂).
	l := run.History.Series("loss")
	if !near(l[0], math.Log(2), 1e-12) || !near(l[1], math.Log1p(math.Exp(0.5*-0.0125)), 1e-12) {
		t.Errorf("loss series %v", l)
	}
}

// Metrics recomputed independently from the final policy and θ.
func TestMetricsAgainstIndependentComputation(t *testing.T) {
	beta := 0.5
	run := mustTrain(t, Config{Method: DPO, Beta: beta, Steps: 50}, datasets.SqueezeToy())
	pi := run.Probs()[0]
	// log-linear logits: a = θ₁, b = θ₁+θ₂, c = θ₂, d = −θ₂.
	th := run.Theta
	logits := []float64{th[0], th[0] + th[1], th[1], -th[1]}
	z := 0.0
	for _, l := range logits {
		z += math.Exp(l)
	}
	for y, l := range logits {
		if !near(pi[y], math.Exp(l)/z, 1e-12) {
			t.Errorf("π(%d) = %v, want %v", y, pi[y], math.Exp(l)/z)
		}
	}
	h := make([]float64, 4)
	for y := range h {
		h[y] = math.Log(pi[y] / 0.25)
	}
	hist := run.History
	checks := map[string]float64{
		"rewards/chosen":          beta * h[0],
		"rewards/rejected":        beta * h[1],
		"rewards/margins":         beta * (h[0] - h[1]),
		"rewards/accuracies":      1,
		"logps/chosen":            math.Log(pi[0]),
		"logps/rejected":          math.Log(pi[1]),
		"grad_weight":             1 / (1 + math.Exp(beta*(h[0]-h[1]))),
		"loss":                    math.Log1p(math.Exp(-beta * (h[0] - h[1]))),
		"mass/train_support":      pi[0] + pi[1],
		"implicit_reward/max_abs": beta * math.Max(math.Max(math.Abs(h[0]), math.Abs(h[1])), math.Max(math.Abs(h[2]), math.Abs(h[3]))),
		"prob/d":                  pi[3],
	}
	var rev, fwd, reward, tv, win float64
	r := []float64{1, 0.5, 0, -1}
	opt := make([]float64, 4)
	var zo float64
	for y := range opt {
		opt[y] = math.Exp(r[y] / beta)
		zo += opt[y]
	}
	for y := range 4 {
		opt[y] /= zo
		rev += pi[y] * h[y]
		fwd += 0.25 * -h[y]
		reward += pi[y] * r[y]
		tv += 0.5 * math.Abs(pi[y]-opt[y])
		for y2 := range 4 {
			win += pi[y] * 0.25 / (1 + math.Exp(-(r[y] - r[y2])))
		}
	}
	jOpt := beta * math.Log(zo/4)
	checks["kl/reverse"] = rev
	checks["kl/forward"] = fwd
	checks["oracle/reward"] = reward
	checks["oracle/tv_optimal"] = tv
	checks["oracle/regret"] = jOpt - (reward - beta*rev)
	checks["winrate/vs_ref"] = win
	for name, want := range checks {
		if got := hist.Last(name); !near(got, want, 1e-9) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := run.Optimal[0]; !near(got[0], opt[0], 1e-12) {
		t.Errorf("π* = %v, want %v", got, opt)
	}
}

// IPO's minimum is at Δh = 1/(2β); cDPO's at σ(βΔh) = 1 − ε.
func TestIPOAndCDPOFixedPoints(t *testing.T) {
	beta := 0.5
	run := mustTrain(t, Config{Method: IPO, Beta: beta, Steps: 3000}, datasets.SqueezeToy())
	if got := run.History.Last("rewards/margins"); !near(got, beta*(1/(2*beta)), 1e-4) {
		t.Errorf("IPO margin β·Δh = %v, want 0.5", got)
	}
	eps := 0.2
	run = mustTrain(t, Config{Method: CDPO, Beta: beta, Epsilon: eps, Steps: 3000}, datasets.SqueezeToy())
	if got, want := run.History.Last("rewards/margins"), math.Log((1-eps)/eps); !near(got, want, 1e-4) {
		t.Errorf("cDPO margin β·Δh = %v, want log((1−ε)/ε) = %v", got, want)
	}
}

// Tabular RLHF is π*_r in closed form; with the oracle it is π*_{r*}.
func TestRLHFClosedFormTabular(t *testing.T) {
	d := bandit(t, datasets.BanditConfig{Prompts: 3, Responses: 6, Pairs: 30, Seed: 5})
	run := mustTrain(t, Config{Method: RLHF, Beta: 0.3, RewardSource: OracleReward}, d)
	if tv := run.History.Last("oracle/tv_optimal"); tv > 1e-12 {
		t.Errorf("tv to π* = %v, want 0", tv)
	}
	if reg := run.History.Last("oracle/regret"); math.Abs(reg) > 1e-12 {
		t.Errorf("regret = %v, want 0", reg)
	}
}

// Log-linear RLHF maximises J_r exactly: the gradient of J at the final θ,
// by central finite differences of an independent host computation, vanishes.
func TestRLHFLogLinearStationary(t *testing.T) {
	d := datasets.SqueezeToy()
	beta := 0.5
	run := mustTrain(t, Config{Method: RLHF, Beta: beta, RewardSource: OracleReward, Steps: 4000, LearningRate: 0.05}, d)
	r := d.Oracle[0]
	j := func(th []float64) float64 {
		logits := []float64{th[0], th[0] + th[1], th[1], -th[1]}
		var z float64
		for _, l := range logits {
			z += math.Exp(l)
		}
		var v float64
		for y, l := range logits {
			p := math.Exp(l) / z
			v += p * (r[y] - beta*math.Log(p/0.25))
		}
		return v
	}
	for i := range run.Theta {
		const e = 1e-5
		a := append([]float64(nil), run.Theta...)
		b := append([]float64(nil), run.Theta...)
		a[i] += e
		b[i] -= e
		if g := (j(a) - j(b)) / (2 * e); math.Abs(g) > 1e-5 {
			t.Errorf("∂J/∂θ%d = %v at θ = %v, want 0", i+1, g, run.Theta)
		}
	}
}

// A learned tabular Bradley–Terry reward is a stationary point of
// mean softplus(−(r_w − r_l)) + λ‖w‖² (analytic gradient on the host).
func TestLearnedRewardStationary(t *testing.T) {
	d := bandit(t, datasets.BanditConfig{Prompts: 2, Responses: 4, Pairs: 20, Seed: 2})
	lambda := 0.05
	run := mustTrain(t, Config{Method: RLHF, RewardL2: lambda, RewardSteps: 4000}, d)
	w := flatten(run.Rewards[0])
	grad := make([]float64, len(w))
	n := float64(len(d.Pairs))
	for _, p := range d.Pairs {
		a, b := p.Prompt*4+p.Chosen, p.Prompt*4+p.Rejected
		s := sigmoid(-(w[a] - w[b]))
		grad[a] -= s / n
		grad[b] += s / n
	}
	for i := range grad {
		grad[i] += 2 * lambda * w[i]
		if math.Abs(grad[i]) > 1e-6 {
			t.Errorf("∂L/∂w[%d] = %v, want 0 (w = %v)", i, grad[i], w)
		}
	}
	if run.RewardDisagreement != 0 {
		t.Errorf("one member: disagreement %v, want 0", run.RewardDisagreement)
	}
}

// Full-support distillation of the oracle recovers π*_{r*} (the paper's
// theorem); training pairs only do not determine the off-support responses.
func TestDistillationSupport(t *testing.T) {
	d := bandit(t, datasets.BanditConfig{Prompts: 3, Responses: 6, Pairs: 12, Coverage: 0.5, Seed: 4})
	all := mustTrain(t, Config{Method: Distill, RewardSource: OracleReward, DistillPairs: AllPairs, Steps: 4000}, d)
	train := mustTrain(t, Config{Method: Distill, RewardSource: OracleReward, DistillPairs: TrainPairs, Steps: 4000}, d)
	if tv := all.History.Last("oracle/tv_optimal"); tv > 1e-6 {
		t.Errorf("AllPairs: tv = %v, want ≈ 0", tv)
	}
	if tv := train.History.Last("oracle/tv_optimal"); tv < 1e-2 {
		t.Errorf("TrainPairs with coverage 0.5: tv = %v, want clearly > 0", tv)
	}
	// On the pairs it saw, distillation matches the oracle margins: β·Δh = Δr*.
	beta := 0.1
	for _, p := range d.Pairs {
		pi := train.Probs()[p.Prompt]
		ref := train.Ref[p.Prompt]
		dh := math.Log(pi[p.Chosen]/ref[p.Chosen]) - math.Log(pi[p.Rejected]/ref[p.Rejected])
		dr := d.Oracle[p.Prompt][p.Chosen] - d.Oracle[p.Prompt][p.Rejected]
		if !near(beta*dh, dr, 1e-4) {
			t.Errorf("pair %+v: β·Δh = %v, Δr* = %v", p, beta*dh, dr)
		}
	}
}

// With identical members (oracle), every aggregation of e-DPO at γ = 0 is
// distillation, so the runs coincide.
func TestEDPOOracleEqualsDistill(t *testing.T) {
	d := datasets.SqueezeToy()
	base := Config{Beta: 0.5, RewardSource: OracleReward, Steps: 300}
	cfg := base
	cfg.Method = Distill
	ref := mustTrain(t, cfg, d)
	for _, agg := range []losses.Aggregation{losses.MinPerBatch, losses.MinPerExample, losses.Hull} {
		cfg := base
		cfg.Method, cfg.Aggregation, cfg.EnsembleSize = EDPO, agg, 3
		run := mustTrain(t, cfg, d)
		if !near(run.Theta[1], ref.Theta[1], 1e-9) || !near(run.Theta[0], ref.Theta[0], 1e-9) {
			t.Errorf("%v: θ = %v, Distill θ = %v", agg, run.Theta, ref.Theta)
		}
	}
}

// Pessimism on the SqueezeToy: e-DPO (learned bootstrap ensemble) and p-DPO
// keep π(a) bounded away from 0 where DPO collapses it.
func TestPessimismKeepsPreferred(t *testing.T) {
	d := datasets.SqueezeToy()
	for _, cfg := range []Config{
		{Method: EDPO, Beta: 0.5, Gamma: 0.1, Steps: 2000},
		{Method: EDPO, Beta: 0.5, Gamma: 0.1, Steps: 2000, Aggregation: losses.Hull},
		{Method: PDPO, Beta: 0.5, Gamma: 0.1, Steps: 2000},
	} {
		run := mustTrain(t, cfg, d)
		if pa := run.Probs()[0][0]; pa < 0.2 {
			t.Errorf("%s: π(a) = %v, want > 0.2", cfg.Label(), pa)
		}
	}
}

func TestEnsembleSampling(t *testing.T) {
	d := bandit(t, datasets.BanditConfig{Prompts: 2, Responses: 5, Pairs: 40, Seed: 9})
	boot := mustTrain(t, Config{Method: EDPO, EnsembleSize: 4, Steps: 10, RewardSteps: 300}, d)
	if len(boot.Rewards) != 4 || boot.RewardDisagreement <= 0 {
		t.Errorf("bootstrap: %d members, disagreement %v", len(boot.Rewards), boot.RewardDisagreement)
	}
	folds := mustTrain(t, Config{Method: EDPO, EnsembleSize: 4, EnsembleSampling: DisjointFolds, Steps: 10, RewardSteps: 300}, d)
	if folds.RewardDisagreement <= 0 {
		t.Errorf("folds: disagreement %v", folds.RewardDisagreement)
	}
	_, err := Train(Config{Method: EDPO, EnsembleSize: 50, EnsembleSampling: DisjointFolds, NoCache: true}, d)
	if err == nil || !strings.Contains(err.Error(), "EnsembleSize") {
		t.Errorf("50 folds of 40 pairs: err = %v", err)
	}
	_, err = Train(Config{Method: Distill, RewardSource: OracleReward, NoCache: true}, &datasets.FiniteData{
		Name: "no oracle", Prompts: 1, Responses: 2, RefLogits: [][]float64{{0, 0}}, Pairs: []datasets.FinitePair{{Prompt: 0, Chosen: 0, Rejected: 1}}})
	if err == nil || !strings.Contains(err.Error(), "oracle") {
		t.Errorf("oracle without oracle: err = %v", err)
	}
}

func TestDeterminism(t *testing.T) {
	d := bandit(t, datasets.BanditConfig{Prompts: 3, Responses: 5, Features: 3, Pairs: 30, Seed: 1})
	for _, cfg := range []Config{
		{Method: DPO, Steps: 200, BatchSize: 8, Seed: 7},
		{Method: EDPO, Steps: 100, BatchSize: 16, DistillPairs: PlusRefSamples, RefPairs: 40, RewardSteps: 200, Seed: 3},
	} {
		a := mustTrain(t, cfg, d)
		b := mustTrain(t, cfg, d)
		if !reflect.DeepEqual(a.History, b.History) {
			t.Errorf("%s: histories differ", cfg.Label())
		}
		cfg.Seed++
		c := mustTrain(t, cfg, d)
		if reflect.DeepEqual(a.History.Series("loss"), c.History.Series("loss")) {
			t.Errorf("%s: a different seed gave the same losses", cfg.Label())
		}
	}
}

func TestNaNGuard(t *testing.T) {
	// A learning rate of 1e308 overflows the logits to ±Inf within a few steps.
	run, err := Train(Config{Method: DPO, Beta: 0.5, Steps: 50, LearningRate: 1e308, LogEvery: 1, NoCache: true}, datasets.SqueezeToy())
	if err == nil {
		t.Fatal("no error for a diverging run")
	}
	if !strings.Contains(err.Error(), "step ") || !(strings.Contains(err.Error(), "metric loss") || strings.Contains(err.Error(), "metric parameters") || strings.Contains(err.Error(), "metric ")) {
		t.Errorf("error %q does not name the step and metric", err)
	}
	if run == nil || run.History.Len() < 1 {
		t.Fatalf("partial run missing: %+v", run)
	}
	t.Logf("error: %v (history kept %d rows)", err, run.History.Len())
	// IPO's loss (Δh − 1/(2β))² itself overflows: the step loop names the loss.
	run, err = Train(Config{Method: IPO, Beta: 0.5, Steps: 50, LearningRate: 1e308, LogEvery: 10, NoCache: true}, datasets.SqueezeToy())
	if err == nil || !strings.Contains(err.Error(), "step 1: metric loss = +Inf") {
		t.Errorf("IPO overflow: err = %v, want step 1 and metric loss", err)
	}
	if run == nil || run.History.Len() != 1 {
		t.Errorf("IPO overflow: partial run %+v", run)
	}
	for _, v := range run.History.Series("loss") {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("history kept a non-finite loss: %v", run.History.Series("loss"))
		}
	}
}

func TestContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	run, err := TrainContext(ctx, Config{Method: DPO, Steps: 100, NoCache: true}, datasets.SqueezeToy())
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrInterrupted and context.Canceled", err)
	}
	if run == nil || run.History.Len() != 1 || run.StepsDone != 0 {
		t.Fatalf("partial run: %+v", run)
	}
}

// Cancelling mid-run stops between chunks and returns the steps done so far.
func TestContextCancelMidRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	const steps = 10_000_000
	go func() {
		time.Sleep(300 * time.Millisecond)
		cancel()
	}()
	run, err := TrainContext(ctx, Config{Method: DPO, Steps: steps, LogEvery: 50, NoCache: true}, datasets.SqueezeToy())
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if run.StepsDone <= 0 || run.StepsDone >= steps || run.History.Len() < 1 {
		t.Fatalf("partial run: %d steps done, %d rows", run.StepsDone, run.History.Len())
	}
	if last := run.History.Steps[run.History.Len()-1]; last > run.StepsDone {
		t.Errorf("history logged step %d beyond the %d steps done", last, run.StepsDone)
	}
}

func TestRunCache(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	t.Setenv(NoCacheEnv, "")
	cfg := Config{Method: PDPO, Beta: 0.5, Gamma: 0.1, Steps: 100}
	a, err := Train(cfg, datasets.SqueezeToy())
	if err != nil || a.Cached {
		t.Fatalf("first run: cached=%v err=%v", a.Cached, err)
	}
	b, err := Train(cfg, datasets.SqueezeToy())
	if err != nil || !b.Cached {
		t.Fatalf("second run: cached=%v err=%v", b.Cached, err)
	}
	if !reflect.DeepEqual(a.History, b.History) || !reflect.DeepEqual(a.Final, b.Final) || !reflect.DeepEqual(a.Config, b.Config) {
		t.Error("cached run differs from the original")
	}
	cfg.Steps = 101
	if c, _ := Train(cfg, datasets.SqueezeToy()); c.Cached {
		t.Error("a different config hit the cache")
	}
	t.Setenv(NoCacheEnv, "1")
	cfg.Steps = 100
	if c, _ := Train(cfg, datasets.SqueezeToy()); c.Cached {
		t.Errorf("%s=1 still used the cache", NoCacheEnv)
	}
	t.Setenv(NoCacheEnv, "")
	if err := ClearCache(); err != nil {
		t.Fatal(err)
	}
	if c, _ := Train(cfg, datasets.SqueezeToy()); c.Cached {
		t.Error("ClearCache left the run")
	}
}

func TestHistoryExport(t *testing.T) {
	run := mustTrain(t, Config{Method: DPO, Steps: 20, LogEvery: 10}, datasets.SqueezeToy())
	if got := run.History.Steps; !reflect.DeepEqual(got, []int{0, 10, 20}) {
		t.Errorf("logged steps %v, want [0 10 20]", got)
	}
	var csvBuf bytes.Buffer
	if err := run.History.WriteCSV(&csvBuf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csvBuf.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "step,loss,") {
		t.Errorf("CSV:\n%s", csvBuf.String())
	}
	var jsonBuf bytes.Buffer
	if err := run.History.WriteJSON(&jsonBuf); err != nil {
		t.Fatal(err)
	}
	var back History
	if err := json.Unmarshal(jsonBuf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, run.History) {
		t.Error("JSON round trip changed the history")
	}
	h := newHistory()
	h.add(0, []string{"x"}, map[string]float64{"x": math.NaN()})
	b, err := json.Marshal(h)
	if err != nil || !strings.Contains(string(b), `"NaN"`) {
		t.Errorf("NaN encoding: %s %v", b, err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Beta: -1}, "Beta"},
		{Config{Gamma: math.NaN()}, "Gamma"},
		{Config{Epsilon: 0.6}, "Epsilon"},
		{Config{Steps: -1}, "Steps"},
		{Config{Method: Method(42)}, "Method"},
		{Config{LearningRate: math.Inf(1)}, "LearningRate"},
		{Config{BatchSize: -3}, "BatchSize"},
	} {
		if _, err := Train(tc.cfg, datasets.SqueezeToy()); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: err = %v, want one naming %s", tc.cfg, err, tc.field)
		}
	}
	_, err := Train(Config{Policy: LogLinear}, bandit(t, datasets.BanditConfig{Seed: 1}))
	if err == nil || !strings.Contains(err.Error(), "features") {
		t.Errorf("log-linear on tabular data: %v", err)
	}
}

func TestPlots(t *testing.T) {
	a := mustTrain(t, Config{Method: DPO, Beta: 0.5, Steps: 100}, datasets.SqueezeToy())
	b := mustTrain(t, Config{Method: PDPO, Beta: 0.5, Gamma: 0.1, Steps: 100}, datasets.SqueezeToy())
	dir := t.TempDir()
	fig := PlotHistory([]*Run{a, b}, "loss", "prob/a", "implicit_reward/max_abs").LogY()
	if err := fig.Save(filepath.Join(dir, "h.svg")); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "h.svg"))
	if err != nil || !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("largest implicit reward")) || !bytes.Contains(svg, []byte("p-DPO β=0.5 γ=0.1")) {
		t.Errorf("history SVG lacks titles or legend (%d bytes, err %v)", len(svg), err)
	}
	pol := PlotPolicy(a)
	if err := pol.Save(filepath.Join(dir, "p.png")); err != nil {
		t.Fatal(err)
	}
	s, err := pol.SVG()
	if err != nil || !bytes.Contains(s, []byte("a*")) || !bytes.Contains(s, []byte("(reference)")) {
		t.Errorf("policy SVG lacks support marks or legend (err %v)", err)
	}
	if err := pol.Save(filepath.Join(dir, "p.gif")); err == nil {
		t.Error("unknown extension accepted")
	}
	pol.Display() // no-op outside a notebook
}
