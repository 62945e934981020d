package lab

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/gomlx/compute"
	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab/seqmodel"
)

// This file says what a cache entry must hold to be served: the checks that
// follow the key inputs' and the checksum's (see cacheDisk.load). Each
// returns an error that names what is wrong ("final policy is 1×1, want
// 4×6"), which the load's warning quotes.

// configKey is what a run's cache key records of its Config: the defaulted
// Config (NoCache false) and, for a Config.PairLoss (a func, which has no
// JSON), its fingerprint (pairLossFingerprint), recorded in the key inputs as
// config.PairLoss. Without a PairLoss it encodes exactly as the Config, so
// the keys of other runs do not change.
type configKey struct {
	Config
	PairLoss string `json:",omitempty"`
}

// finiteRunSpec returns the run-cache spec of Train(cfg, data) on backend
// (cfg defaulted; lossID the fingerprint of cfg.PairLoss, "" without one).
func finiteRunSpec(cfg Config, data *datasets.FiniteData, backend, lossID string) runSpec {
	cfg.NoCache = false
	fp := data.Fingerprint()
	in, err := newCacheInputs("run", backend, fp, "", configKey{cfg, lossID})
	return runSpec{in: in, err: err, check: func(run *Run) error { return checkFiniteRun(run, cfg, data, fp, backend) }}
}

// cacheKey returns the run-cache key of Train(cfg, data) on backend (cfg
// without a PairLoss).
func cacheKey(cfg Config, data *datasets.FiniteData, backend string) string {
	return finiteRunSpec(cfg, data, backend, "").key()
}

// seqRunSpec returns the run-cache spec of TrainSeq(cfg) on d (cfg
// defaulted for sequence runs; lossID as for finiteRunSpec).
func seqRunSpec(cfg Config, d *seqData, backend, lossID string) runSpec {
	cfg.NoCache = false
	in, err := newCacheInputs("seq run", backend, d.dataFP, d.evalFP, configKey{cfg, lossID})
	return runSpec{in: in, err: err, check: func(run *Run) error { return checkSeqRun(run, cfg, d, backend) }}
}

// seqCacheKey returns the run-cache key of TrainSeq(cfg) on d (cfg without a
// PairLoss).
func seqCacheKey(cfg Config, d *seqData, backend string) string {
	return seqRunSpec(cfg, d, backend, "").key()
}

// checkRunCommon checks what every cached Run must be: finished, of cfg
// (NoCache aside), on the data with fingerprint fp and on backend, with a
// History.
func checkRunCommon(run *Run, cfg Config, fp, backend string) error {
	if run.Interrupted {
		return fmt.Errorf("interrupted run (partial: step %d of %d)", run.StepsDone, run.Config.Steps)
	}
	if run.History == nil {
		return errors.New("no history")
	}
	got, want := run.Config, cfg
	got.NoCache, want.NoCache = false, false
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if d := jsonDiff(gb, wb); d != "" {
		return fmt.Errorf("the run's config differs (%s)", d)
	}
	if run.DataFingerprint != fp {
		return fmt.Errorf("the run's data fingerprint %.12s… is not the data's %.12s…", run.DataFingerprint, fp)
	}
	if run.Backend != backend {
		return fmt.Errorf("the run's backend is %q, want %q", run.Backend, backend)
	}
	return nil
}

// checkFiniteRun checks a cached finite-set Run of cfg on data (fingerprint
// fp): shapes against the data (P prompts, R responses, F features) and the
// config, a History of the method's metrics at the steps it logs, and every
// optimizer step done (a tabular RLHF run, solved in closed form, does none).
func checkFiniteRun(run *Run, cfg Config, data *datasets.FiniteData, fp, backend string) error {
	if err := checkRunCommon(run, cfg, fp, backend); err != nil {
		return err
	}
	if run.Seq != nil {
		return errors.New("holds a sequence result, want a finite run")
	}
	p, r, f := data.Prompts, data.Responses, data.NumFeatures()
	kind := cfg.Policy
	if kind == AutoPolicy {
		kind = Tabular
		if f > 0 {
			kind = LogLinear
		}
	}
	if run.Policy != kind {
		return fmt.Errorf("policy %v, want %v", run.Policy, kind)
	}
	steps := cfg.Steps
	if cfg.Method.closedForm() && kind == Tabular {
		steps = 0 // closed form
	}
	if run.StepsDone != steps {
		return fmt.Errorf("%d steps done, want %d", run.StepsDone, steps)
	}
	pr := &problem{data: data, p: p, r: r}
	if err := checkHistory(run.History, pr.metricNames(), steps, cfg.LogEvery); err != nil {
		return err
	}
	if err := checkMatrix("final policy", run.Final, p, r, true); err != nil {
		return err
	}
	if err := checkMatrix("reference policy", run.Ref, p, r, true); err != nil {
		return err
	}
	for x, row := range data.RefProbs() {
		for y, v := range row {
			if math.Abs(run.Ref[x][y]-v) > 1e-12 {
				return fmt.Errorf("reference policy π_ref(%d|%d) = %v, the data's is %v", y, x, run.Ref[x][y], v)
			}
		}
	}
	support := data.Support()
	if len(run.Support) != p || slices.ContainsFunc(run.Support, func(row []bool) bool { return len(row) != r }) {
		return fmt.Errorf("support is %s, want %d×%d", dims(run.Support), p, r)
	}
	for x := range support {
		if !slices.Equal(run.Support[x], support[x]) {
			return fmt.Errorf("support of prompt %d is not the data's", x)
		}
	}
	if data.HasOracle() {
		if err := checkMatrix("optimal policy", run.Optimal, p, r, true); err != nil {
			return err
		}
	} else if run.Optimal != nil {
		return fmt.Errorf("optimal policy is %s, want none (the data has no oracle)", dims(run.Optimal))
	}
	np := p * r
	if kind == LogLinear {
		np = f
	}
	if len(run.Theta) != np {
		return fmt.Errorf("θ has %d parameters, want %d (%v)", len(run.Theta), np, kind)
	}
	if i := slices.IndexFunc(run.Theta, notFinite); i >= 0 {
		return fmt.Errorf("θ[%d] = %v", i, run.Theta[i])
	}
	if cfg.Method.usesRewards() {
		if len(run.Rewards) != cfg.EnsembleSize {
			return fmt.Errorf("%d reward members, want %d", len(run.Rewards), cfg.EnsembleSize)
		}
		for i, m := range run.Rewards {
			if err := checkMatrix("reward member "+strconv.Itoa(i), m, p, r, false); err != nil {
				return err
			}
		}
	} else if len(run.Rewards) != 0 {
		return fmt.Errorf("%d reward members, want none (%v uses no reward model)", len(run.Rewards), cfg.Method)
	}
	if notFinite(run.RewardDisagreement) || run.RewardDisagreement < 0 {
		return fmt.Errorf("reward disagreement %v", run.RewardDisagreement)
	}
	return nil
}

// checkSeqRun checks a cached sequence Run of cfg on d: every step done, a
// History of the sequence metrics, and its SeqResult consistent with d and
// cfg.
func checkSeqRun(run *Run, cfg Config, d *seqData, backend string) error {
	if err := checkRunCommon(run, cfg, d.dataFP, backend); err != nil {
		return err
	}
	s := run.Seq
	if s == nil {
		return errors.New("no sequence result")
	}
	if run.StepsDone != cfg.Steps {
		return fmt.Errorf("%d steps done, want %d", run.StepsDone, cfg.Steps)
	}
	if err := checkHistory(run.History, d.metricNames(cfg), cfg.Steps, cfg.LogEvery); err != nil {
		return err
	}
	switch {
	case s.Task != d.name:
		return fmt.Errorf("sequence result of task %q, want %q", s.Task, d.name)
	case s.TrainPairs != len(d.pairs) || s.Examples < s.TrainPairs:
		return fmt.Errorf("sequence result of %d pairs (%d examples), want %d pairs", s.TrainPairs, s.Examples, len(d.pairs))
	case len(s.StepLosses) != cfg.Steps:
		return fmt.Errorf("%d step losses, want %d", len(s.StepLosses), cfg.Steps)
	case len(s.SFTLoss) != cfg.SFTSteps:
		return fmt.Errorf("%d SFT losses, want %d", len(s.SFTLoss), cfg.SFTSteps)
	case !isHexSHA256(s.EvalFingerprint):
		return fmt.Errorf("evaluation fingerprint %q", s.EvalFingerprint)
	case s.HeldOutPairs != len(d.held):
		return fmt.Errorf("sequence result of %d held-out pairs, want %d", s.HeldOutPairs, len(d.held))
	case d.oracle && (len(s.WinRate.PerPrompt) != len(d.evalModel) || s.WinRate.Samples != cfg.EvalSamples):
		return fmt.Errorf("win rate over %d prompts × %d samples, want %d × %d", len(s.WinRate.PerPrompt), s.WinRate.Samples, len(d.evalModel), cfg.EvalSamples)
	case d.oracle && !(0 <= s.WinRate.Lo && s.WinRate.Lo <= s.WinRate.Hi && s.WinRate.Hi <= 1 && 0 <= s.WinRate.Rate && s.WinRate.Rate <= 1):
		return fmt.Errorf("win rate %v with CI [%v, %v]", s.WinRate.Rate, s.WinRate.Lo, s.WinRate.Hi)
	case s.NumParameters <= 0:
		return fmt.Errorf("%d policy parameters", s.NumParameters)
	}
	if i := slices.IndexFunc(s.StepLosses, notFinite); i >= 0 {
		return fmt.Errorf("step loss %d = %v", i, s.StepLosses[i])
	}
	if i := slices.IndexFunc(s.SFTLoss, notFinite); i >= 0 {
		return fmt.Errorf("SFT loss %d = %v", i, s.SFTLoss[i])
	}
	if i := slices.IndexFunc(s.WinRate.PerPrompt, func(w float64) bool { return !(w >= 0 && w <= 1) }); i >= 0 {
		return fmt.Errorf("win rate of prompt %d = %v", i, s.WinRate.PerPrompt[i])
	}
	k := 0
	if cfg.Method.distills() {
		k = cfg.EnsembleSize
	}
	if len(s.RewardAccuracy) != k {
		return fmt.Errorf("%d reward accuracies, want %d", len(s.RewardAccuracy), k)
	}
	if i := slices.IndexFunc(s.RewardAccuracy, func(a float64) bool { return !(a >= 0 && a <= 1) }); i >= 0 {
		return fmt.Errorf("reward member %d accuracy %v", i, s.RewardAccuracy[i])
	}
	for name, v := range map[string]float64{"oracle reward": s.OracleReward, "mean length": s.MeanLength,
		"π_ref's oracle reward": s.RefOracleReward, "π_ref's mean length": s.RefMeanLength,
		"KL(π‖π_ref)": s.KLReverse, "KL(π_ref‖π)": s.KLForward, "reward disagreement": run.RewardDisagreement} {
		if notFinite(v) {
			return fmt.Errorf("%s = %v", name, v)
		}
	}
	return nil
}

// checkHistory checks that h logs exactly the metrics names, in order, at
// the steps a run of stepsDone steps logging every logEvery logs (0, every
// multiple of logEvery, and the last step), with a finite value each.
func checkHistory(h *History, names []string, stepsDone, logEvery int) error {
	if h == nil || len(h.Steps) == 0 {
		return errors.New("empty history")
	}
	for _, n := range names {
		if !slices.Contains(h.Metrics, n) {
			return fmt.Errorf("history lacks metric %s", n)
		}
	}
	for _, n := range h.Metrics {
		if !slices.Contains(names, n) {
			return fmt.Errorf("history has metric %s, which the run does not log", n)
		}
	}
	if !slices.Equal(h.Metrics, names) {
		return errors.New("history's metrics are out of order")
	}
	want := []int{0}
	for s := logEvery; logEvery > 0 && s <= stepsDone; s += logEvery {
		want = append(want, s)
	}
	if want[len(want)-1] != stepsDone {
		want = append(want, stepsDone)
	}
	if len(h.Steps) != len(want) {
		return fmt.Errorf("history has %d rows, want %d (steps 0 to %d every %d)", len(h.Steps), len(want), stepsDone, logEvery)
	}
	for i, s := range h.Steps {
		if s != want[i] {
			return fmt.Errorf("history row %d is step %d, want %d", i, s, want[i])
		}
	}
	for _, n := range names {
		v := h.Values[n]
		if len(v) != len(h.Steps) {
			return fmt.Errorf("history metric %s has %d values for %d steps", n, len(v), len(h.Steps))
		}
		if i := slices.IndexFunc(v, notFinite); i >= 0 {
			return fmt.Errorf("history metric %s at step %d = %v", n, h.Steps[i], v[i])
		}
	}
	return nil
}

// checkMatrix checks that m (what it is, for the message) is p×r and finite
// and, when probs, that each row is a probability distribution.
func checkMatrix(what string, m [][]float64, p, r int, probs bool) error {
	if len(m) != p || slices.ContainsFunc(m, func(row []float64) bool { return len(row) != r }) {
		return fmt.Errorf("%s is %s, want %d×%d", what, dims(m), p, r)
	}
	for x, row := range m {
		sum := 0.0
		for y, v := range row {
			if notFinite(v) || probs && v < 0 {
				return fmt.Errorf("%s[%d][%d] = %v", what, x, y, v)
			}
			sum += v
		}
		if probs && math.Abs(sum-1) > 1e-9*float64(r) {
			return fmt.Errorf("%s row %d sums to %v, not 1", what, x, sum)
		}
	}
	return nil
}

// dims describes the shape of a [][]T: "4×6", "missing", "ragged (3 rows of 2 to 6)".
func dims[T any](m [][]T) string {
	if len(m) == 0 {
		return "missing"
	}
	lo, hi := len(m[0]), len(m[0])
	for _, row := range m {
		lo, hi = min(lo, len(row)), max(hi, len(row))
	}
	if lo != hi {
		return fmt.Sprintf("ragged (%d rows of %d to %d)", len(m), lo, hi)
	}
	return fmt.Sprintf("%d×%d", len(m), lo)
}

func notFinite(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// isHexSHA256 reports whether s is 64 hex digits.
func isHexSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32
}

// checkReference checks a cached SFT reference for cfg on d: π_ref's
// parameters have the shapes of cfg.Model's policy on backend, SFTSteps
// losses, and RefSamples samples per training prompt and EvalSamples per
// held-out prompt, each a well-formed response with a finite log-probability.
func checkReference(ref *seqReference, cfg Config, d *seqData, backend compute.Backend) error {
	p, err := seqmodel.NewPolicy(backend, cfg.Model)
	if err != nil {
		return fmt.Errorf("building the model to check against: %w", err)
	}
	want, err := saveParams(p)
	if err != nil {
		return err
	}
	if len(ref.Params) != len(want) {
		return fmt.Errorf("%d parameter tensors, want %d", len(ref.Params), len(want))
	}
	shapes := map[string][]int{}
	for _, w := range want {
		shapes[w.Path] = w.Dims
	}
	for _, sp := range ref.Params {
		w, ok := shapes[sp.Path]
		if !ok {
			return fmt.Errorf("parameter %s is not in the model", sp.Path)
		}
		n := 1
		for _, d := range w {
			n *= d
		}
		if !slices.Equal(sp.Dims, w) || len(sp.Data) != n {
			return fmt.Errorf("parameter %s is %v with %d values, want %v", sp.Path, sp.Dims, len(sp.Data), w)
		}
		delete(shapes, sp.Path)
		for j, v := range sp.Data {
			if notFinite(float64(v)) {
				return fmt.Errorf("parameter %s[%d] = %v", sp.Path, j, v)
			}
		}
	}
	if len(ref.SFTLoss) != cfg.SFTSteps {
		return fmt.Errorf("%d SFT losses, want %d", len(ref.SFTLoss), cfg.SFTSteps)
	}
	if i := slices.IndexFunc(ref.SFTLoss, notFinite); i >= 0 {
		return fmt.Errorf("SFT loss %d = %v", i, ref.SFTLoss[i])
	}
	if n := d.klPrompts(cfg) * cfg.RefSamples; len(ref.KL) != n {
		return fmt.Errorf("%d π_ref samples of the training prompts, want %d", len(ref.KL), n)
	}
	for i, s := range ref.KL {
		if err := checkSample(s, i/cfg.RefSamples, d.t); err != nil {
			return fmt.Errorf("π_ref sample %d: %w", i, err)
		}
	}
	if len(ref.Eval) != len(d.evalModel) {
		return fmt.Errorf("π_ref samples of %d held-out prompts, want %d", len(ref.Eval), len(d.evalModel))
	}
	for x, row := range ref.Eval {
		if len(row) != cfg.EvalSamples {
			return fmt.Errorf("%d π_ref samples of held-out prompt %d, want %d", len(row), x, cfg.EvalSamples)
		}
		for i, s := range row {
			if err := checkSample(s, x, d.t); err != nil {
				return fmt.Errorf("π_ref sample %d of held-out prompt %d: %w", i, x, err)
			}
		}
	}
	return nil
}

// checkSample checks a sampled response of prompt x no longer than t tokens.
func checkSample(s refSample, x, t int) error {
	switch {
	case s.Prompt != x:
		return fmt.Errorf("prompt %d, want %d", s.Prompt, x)
	case len(s.Response) == 0 || len(s.Response) > t:
		return fmt.Errorf("%d tokens, want 1 to %d", len(s.Response), t)
	case s.Length < 0 || s.Length > len(s.Response):
		return fmt.Errorf("length %d of a %d-token response", s.Length, len(s.Response))
	case notFinite(s.LogProb) || s.LogProb > 1e-6:
		return fmt.Errorf("log-probability %v", s.LogProb)
	case notFinite(s.Reward):
		return fmt.Errorf("reward %v", s.Reward)
	}
	return nil
}

// checkMargins checks cached reward margins of n examples and k members
// (and, with held > 0 held-out pairs, their k held-out accuracies).
func checkMargins(m *seqMargins, n, k, held int) error {
	if held > 0 && (len(m.HeldOutAccuracy) != k || slices.ContainsFunc(append(slices.Clone(m.HeldOutAccuracy), m.HeldOutEnsembleAccuracy),
		func(a float64) bool { return !(a >= 0 && a <= 1) })) {
		return fmt.Errorf("held-out accuracies %v (ensemble %v), want %d in [0, 1]", m.HeldOutAccuracy, m.HeldOutEnsembleAccuracy, k)
	}
	if len(m.Margins) != n || slices.ContainsFunc(m.Margins, func(row []float64) bool { return len(row) != k }) {
		return fmt.Errorf("margins are %s, want %d×%d", dims(m.Margins), n, k)
	}
	for j, row := range m.Margins {
		if i := slices.IndexFunc(row, notFinite); i >= 0 {
			return fmt.Errorf("margin of example %d, member %d = %v", j, i, row[i])
		}
	}
	if len(m.Accuracy) != k || len(m.Loss) != k {
		return fmt.Errorf("%d accuracies and %d losses, want %d", len(m.Accuracy), len(m.Loss), k)
	}
	for i := range k {
		if !(m.Accuracy[i] >= 0 && m.Accuracy[i] <= 1) || notFinite(m.Loss[i]) {
			return fmt.Errorf("member %d: accuracy %v, loss %v", i, m.Accuracy[i], m.Loss[i])
		}
	}
	return nil
}
