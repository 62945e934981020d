package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"sync"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab/seqmodel"
	"github.com/robustpo/robustpo/losses"
)

// SeqResult is what a sequence run adds to its Run: the data it saw, its
// final evaluation on the held-out prompts and the training traces.
type SeqResult struct {
	// Task describes the task and split.
	Task string `json:"task"`
	// TrainPairs is the number of labelled pairs trained on; Examples the size
	// of the training set (plus π_ref pairs for Distill and EDPO with
	// PlusRefSamples).
	TrainPairs int `json:"train_pairs"`
	Examples   int `json:"examples"`
	// Rho is the achieved ρ of the split (0 when Config.Rho = 0: no split).
	Rho float64 `json:"rho"`
	// EvalFingerprint identifies the held-out prompts and the π_ref samples
	// the win rate is measured against; runs with equal fingerprints can be
	// compared with CompareWinRates.
	EvalFingerprint string `json:"eval_fingerprint"`
	// WinRate is the final win rate against π_ref under the oracle, with its
	// bootstrap 95% CI and per-prompt scores.
	WinRate WinRate `json:"win_rate"`
	// OracleReward and MeanLength are the means over the final policy's
	// held-out samples of r*(x, y) and of the response length; RefOracleReward
	// and RefMeanLength the same for π_ref's samples.
	OracleReward    float64 `json:"oracle_reward"`
	MeanLength      float64 `json:"mean_length"`
	RefOracleReward float64 `json:"ref_oracle_reward"`
	RefMeanLength   float64 `json:"ref_mean_length"`
	// KLReverse and KLForward are the final Monte-Carlo estimates of
	// KL(π‖π_ref) (policy samples) and KL(π_ref‖π) (π_ref samples), both on
	// the held-out prompts.
	KLReverse float64 `json:"kl_reverse"`
	KLForward float64 `json:"kl_forward"`
	// StepLosses is the minibatch loss before each optimizer step.
	StepLosses []float64 `json:"step_losses"`
	// SFTLoss is π_ref's supervised loss before each SFT step.
	SFTLoss []float64 `json:"sft_loss"`
	// RewardAccuracy[i] is reward member i's agreement with the oracle's order
	// on the training pairs (Distill and EDPO).
	RewardAccuracy []float64 `json:"reward_accuracy,omitempty"`
	// NumParameters is the policy's number of parameters.
	NumParameters int `json:"num_parameters"`
	// HeldOutPairs is the number of the task's held-out pairs (0: none);
	// HeldOutAccuracy the final policy's share of them with β·Δh > 0 (the
	// implicit reward orders the pair as the label does; a tie counts as
	// wrong, as rewards/accuracies).
	HeldOutPairs    int     `json:"heldout_pairs,omitempty"`
	HeldOutAccuracy float64 `json:"heldout_accuracy,omitempty"`
	// RewardHeldOutAccuracy[i] is reward member i's share of the held-out
	// pairs with r_i(x, y_w) > r_i(x, y_l); EnsembleHeldOutAccuracy the same
	// for the members' mean reward (Distill and EDPO, with held-out pairs).
	RewardHeldOutAccuracy   []float64 `json:"reward_heldout_accuracy,omitempty"`
	EnsembleHeldOutAccuracy float64   `json:"ensemble_heldout_accuracy,omitempty"`
}

// seqMetricNames are the metrics of a sequence run, in logging order.
var seqMetricNames = []string{"loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
	"logps/chosen", "logps/rejected", "implicit_reward/max_abs", "grad_weight", "kl/reverse", "kl/forward",
	"oracle/reward", "winrate/vs_ref", "winrate/vs_ref_lo", "winrate/vs_ref_hi", "length/mean"}

// seqMetricNamesNoOracle are the metrics of a run on a task without an
// oracle (before the held-out ones; see seqData.metricNames).
var seqMetricNamesNoOracle = []string{"loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
	"logps/chosen", "logps/rejected", "implicit_reward/max_abs", "grad_weight", "kl/forward"}

// TrainSeq trains a transformer policy on a sequence task with cfg, stopping
// on SIGINT (how GoNB interrupts a cell). See TrainSeqContext. Interrupted,
// it behaves as Train: outside a notebook it returns the partial Run with an
// error wrapping ErrInterrupted; inside a GoNB cell it keeps the partial Run
// as <cache key>.partial.json in CacheDir (LoadRun reads it), prints one line
// to stderr, "lab: interrupted at step N of M; partial run kept in <path>",
// and exits the process with status 130.
func TrainSeq(cfg Config, task *datasets.SeqTask) (*Run, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	run, key, err := trainSeqTask(ctx, cfg, task, true)
	cellInterrupt().stop(err, func() string { return interruptedLine(run, key, err) })
	return run, err
}

// TrainSeqContext trains a causal transformer policy (package seqmodel) on
// task's preference pairs (task.Split(cfg.Rho) when Rho > 0) with cfg.Method
// (DPO, IPO, CDPO, PDPO, Distill or EDPO) and returns the Run.
//
// Pipeline: π_ref is fit by SFT on the task's reference responses and
// frozen; responses sampled from it give the forward KL(π_ref‖π_θ) =
// E_{x, y∼π_ref}[log π_ref − log π_θ] (Monte Carlo over RefSamples per
// training prompt) and, for DistillPairs = PlusRefSamples, RefPairs
// unlabelled pairs scored by the reward model(s). The policy starts at π_ref.
// Each step draws BatchSize examples uniformly with replacement (and KLBatch
// π_ref samples for PDPO and EDPO with Gamma > 0) and takes one Adam step of
// the method's loss from package losses (log π_ref of every response is
// computed once). Distill and EDPO use EnsembleSize reward models (see
// RewardSource; Distill distils their mean).
//
// Every LogEvery steps (and at steps 0 and Steps) it logs, with β·h the
// implicit reward (h = log π − log π_ref of a whole response):
//
//	loss                        the objective on all training examples (+ γ·forward KL
//	                            over the π_ref samples the steps draw from)
//	rewards/*, logps/*          means over the labelled pairs, as in Train
//	implicit_reward/max_abs     max over the pairs' responses of β·|h|
//	grad_weight                 mean σ(−β·Δh)
//	kl/forward                  mean over π_ref's held-out samples of log π_ref − log π
//	kl/reverse                  mean over π's held-out samples of log π − log π_ref
//	oracle/reward, length/mean  means over π's held-out samples of r*(x,y) and |y|
//	winrate/vs_ref(_lo, _hi)    WinRate against π_ref's held-out samples, 95% CI
//
// with EvalSamples responses per held-out prompt (common random numbers:
// the same sampler seed at every step). At step 0 π has π_ref's parameters,
// so π's held-out samples there are π_ref's own (win rate ½ and reverse KL 0
// exactly; no sampling). The Run's Seq holds the final evaluation.
//
// Determinism, faults, progress and caching follow TrainContext: identical
// inputs give identical runs; a NaN or Inf loss or metric stops the run with
// an error naming the step and the metric (the Run keeps the History so far);
// a run past 2 s shows a progress bar of its optimizer steps (the SFT and
// reward fits before them show none); cancellation returns the partial Run
// (History to the last logged step, StepLosses to the step reached) with an
// error wrapping ErrInterrupted. Finished runs, π_ref (its parameters and samples) and
// reward margins are cached under CacheDir unless cfg.NoCache or
// ROBUSTPO_NO_CACHE=1; π_ref depends only on the task, Model (Model.Seed
// included), SFTSteps, SFTLearningRate, RefSamples, EvalSamples and
// EvalPrompts, so every method and Config.Seed of a study starts from the
// same π_ref; a seed that should also redraw π_ref sets Model.Seed (and the
// task's seed, to redraw the data), as notebook 04 does.
func TrainSeqContext(ctx context.Context, cfg Config, task *datasets.SeqTask) (*Run, error) {
	run, _, err := trainSeqTask(ctx, cfg, task, true)
	return run, err
}

// trainSeqTask does the work of TrainSeqContext, with a progress bar when
// bar, and returns the run's cache key too ("" when it failed before one was
// known).
func trainSeqTask(ctx context.Context, cfg Config, task *datasets.SeqTask, bar bool) (*Run, string, error) {
	if task == nil {
		return nil, "", errors.New("lab: TrainSeq: nil task")
	}
	cfg = cfg.withSeqDefaults(task)
	if err := cfg.validateSeq(task); err != nil {
		return nil, "", err
	}
	d, err := newSeqData(task, cfg)
	if err != nil {
		return nil, "", err
	}
	backend, err := SeqBackend()
	if err != nil {
		return nil, "", err
	}
	defer backend.Finalize()
	lossID, err := pairLossID(backend, cfg)
	if err != nil {
		return nil, "", err
	}
	spec := seqRunSpec(cfg, d, backend.Name(), lossID)
	key := spec.key()
	run, err := withRunCache(cfg, spec,
		func() (*Run, error) {
			var p *progress
			if bar {
				p = newRunProgress(cfg.Label(), cfg.Steps)
			}
			defer p.finish()
			return trainSeq(ctx, backend, cfg, d, p)
		})
	markInterrupted(run, err)
	return run, key, err
}

// seqTrainer holds the state of one sequence run.
type seqTrainer struct {
	cfg       Config
	backend   compute.Backend
	d         *seqData
	ref       *seqReference
	policy    *seqmodel.Policy
	refPolicy *seqmodel.Policy
	run       *Run
	ex        []distillExample // training examples; the first nTrain are the labelled pairs
	nTrain    int
	margins   [][]float64 // [example][member] for Distill (1 column: the mean) and EDPO
	klTails   bool        // a KL term with γ > 0: each step adds KLBatch π_ref samples
	objective *Exec       // the loss without the KL term on all examples (logAt), in Float64
	evalSeed  uint64
	bar       *progress // the run's progress bar (nil: none)
	// observe, when set (tests), sees every step before its update: the
	// step's result and the first BatchSize rows' π_ref log-probs and
	// [BatchSize·k] reward margins as the graph received them.
	observe func(step int, res seqmodel.DPOStep, refC, refR, margins []float32)

	rewardAccuracy     []float64
	rewardDisagreement float64
	// heldRef1, heldRef2 are log π_ref of the held-out pairs' chosen and
	// rejected responses; rewardHeld the reward ensemble's held-out
	// accuracies (per member, then of the members' mean).
	heldRef1, heldRef2 []float64
	rewardHeld         []float64
	rewardHeldMean     float64
}

// trainSeq does the work of TrainSeqContext without the run cache, telling
// bar (nil: none) every step and its loss.
func trainSeq(ctx context.Context, backend compute.Backend, cfg Config, d *seqData, bar *progress) (*Run, error) {
	start := time.Now()
	run := &Run{
		Config:          cfg,
		Label:           cfg.Label(),
		Backend:         backend.Name(),
		Provenance:      newProvenance(backend.Name()),
		Seed:            cfg.Seed,
		Dataset:         d.name,
		DataFingerprint: d.dataFP,
		History:         newHistory(),
		Seq:             &SeqResult{Task: d.name, TrainPairs: len(d.pairs), EvalFingerprint: "", Rho: 0},
	}
	defer func() { run.WallTime = time.Since(start) }()
	if !math.IsNaN(d.rho) {
		run.Seq.Rho = d.rho
	}
	fail := func(err error) (*Run, error) {
		if ctx.Err() != nil && !errors.Is(err, ErrInterrupted) {
			err = fmt.Errorf("%w: %w", ErrInterrupted, err)
		}
		return run, err
	}
	ref, err := reference(ctx, backend, cfg, d)
	if err != nil {
		return fail(err)
	}
	// The baseline samples are part of what the win rate is measured against.
	run.Seq.EvalFingerprint = evalFingerprint(d, ref)
	run.Seq.SFTLoss = ref.SFTLoss
	st, err := prepareSeq(ctx, backend, cfg, d, ref)
	if err != nil {
		return fail(err)
	}
	run.Seq.NumParameters = st.policy.NumParameters()
	run.Seq.Examples = len(st.ex)
	run.Seq.RewardAccuracy = st.rewardAccuracy
	run.RewardDisagreement = st.rewardDisagreement
	run.Seq.HeldOutPairs = len(d.held)
	if cfg.Method.distills() && len(d.held) > 0 {
		run.Seq.RewardHeldOutAccuracy, run.Seq.EnsembleHeldOutAccuracy = st.rewardHeld, st.rewardHeldMean
	}
	st.run = run
	st.bar = bar
	if err := st.train(ctx); err != nil {
		return fail(err)
	}
	return run, nil
}

// prepareSeq builds the policy and the frozen π_ref from ref's parameters
// and the training examples with their π_ref log-probabilities and reward
// margins (trained or loaded from the cache).
func prepareSeq(ctx context.Context, backend compute.Backend, cfg Config, d *seqData, ref *seqReference) (*seqTrainer, error) {
	st := &seqTrainer{cfg: cfg, backend: backend, d: d, ref: ref, evalSeed: seqSamplerSeedEvalBase + 1}
	var err error
	if st.refPolicy, err = seqmodel.NewPolicy(backend, cfg.Model); err != nil {
		return nil, fmt.Errorf("lab: reference policy: %w", err)
	}
	if err := loadParams(st.refPolicy, ref.Params); err != nil {
		return nil, err
	}
	st.refPolicy.Freeze()
	if st.policy, err = seqmodel.NewPolicy(backend, cfg.Model); err != nil {
		return nil, fmt.Errorf("lab: policy: %w", err)
	}
	if err := loadParams(st.policy, ref.Params); err != nil {
		return nil, err
	}
	if err := st.buildExamples(ctx, backend); err != nil {
		return nil, err
	}
	return st, nil
}

// evalFingerprint hashes the held-out prompts and π_ref's samples on them.
func evalFingerprint(d *seqData, ref *seqReference) string {
	h := sha256.New()
	fmt.Fprintf(h, "eval %s\n", d.evalFP)
	for _, row := range ref.Eval {
		for _, s := range row {
			hashInts(h, s.Response)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// buildExamples assembles the training examples (labelled pairs, then π_ref
// pairs for PlusRefSamples) with their π_ref log-probabilities, and the
// reward margins of Distill and EDPO.
func (st *seqTrainer) buildExamples(ctx context.Context, backend compute.Backend) error {
	d, cfg := st.d, st.cfg
	n := len(d.pairs)
	prompts := make([][]int, n)
	ch, rj := make([][]int, n), make([][]int, n)
	for j, p := range d.pairs {
		prompts[j], ch[j], rj[j] = d.prompts[p.prompt], p.chosen, p.rejected
	}
	pad := d.task.Vocab.PAD
	memoKey := referenceKey(cfg, d, backend.Name()) + " " + d.dataFP
	lp, ok := refLogProbMemo.get(memoKey)
	if !ok {
		var err error
		if lp.chosen, err = logProbsOf(st.refPolicy, prompts, ch, pad, d.t); err != nil {
			return fmt.Errorf("lab: π_ref log-probs of the chosen responses: %w", err)
		}
		if lp.rejected, err = logProbsOf(st.refPolicy, prompts, rj, pad, d.t); err != nil {
			return fmt.Errorf("lab: π_ref log-probs of the rejected responses: %w", err)
		}
		if len(d.held) > 0 {
			hp, hc, hr := heldRows(d)
			if lp.heldChosen, err = logProbsOf(st.refPolicy, hp, hc, pad, d.t); err != nil {
				return fmt.Errorf("lab: π_ref log-probs of the held-out chosen responses: %w", err)
			}
			if lp.heldRejected, err = logProbsOf(st.refPolicy, hp, hr, pad, d.t); err != nil {
				return fmt.Errorf("lab: π_ref log-probs of the held-out rejected responses: %w", err)
			}
		}
		refLogProbMemo.put(memoKey, lp)
	}
	refC, refR := lp.chosen, lp.rejected
	st.heldRef1, st.heldRef2 = lp.heldChosen, lp.heldRejected
	for j, p := range d.pairs {
		st.ex = append(st.ex, distillExample{prompt: p.prompt, y1: p.chosen, y2: p.rejected,
			ref1: refC[j], ref2: refR[j], oracle1: p.chosenR, oracle2: p.rejectedR})
	}
	st.nTrain = n
	st.klTails = cfg.klTerm() && cfg.Gamma > 0
	if !cfg.Method.distills() {
		return nil
	}
	if cfg.DistillPairs == PlusRefSamples {
		st.ex = append(st.ex, st.refPairs()...)
	}
	m, err := rewardMargins(ctx, backend, cfg, d, st.ref, st.ex, n)
	if err != nil {
		return err
	}
	st.rewardAccuracy = m.Accuracy
	st.rewardDisagreement = marginDisagreement(m.Margins)
	st.rewardHeld, st.rewardHeldMean = m.HeldOutAccuracy, m.HeldOutEnsembleAccuracy
	st.margins = m.Margins
	if cfg.Method.distillsMean() {
		st.margins = make([][]float64, len(m.Margins))
		for j, row := range m.Margins {
			st.margins[j] = []float64{mean(row)}
		}
	}
	return nil
}

// refPairs returns up to RefPairs unlabelled pairs (y1, y2) of distinct
// responses sampled from π_ref for the same training prompt (consecutive
// samples of a prompt), in an order shuffled by Seed.
func (st *seqTrainer) refPairs() []distillExample {
	var out []distillExample
	r := st.cfg.RefSamples
	task := st.d.task
	for x := range st.d.prompts[:st.d.klPrompts(st.cfg)] {
		for j := 0; j+1 < r; j += 2 {
			a, b := st.ref.KL[x*r+j], st.ref.KL[x*r+j+1]
			if slices.Equal(a.Response, b.Response) {
				continue
			}
			e := distillExample{prompt: x, y1: a.Response, y2: b.Response, ref1: a.LogProb, ref2: b.LogProb}
			if st.d.oracle {
				e.oracle1, e.oracle2 = task.Oracle(task.Prompts[x], a.Response), task.Oracle(task.Prompts[x], b.Response)
			}
			out = append(out, e)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(st.cfg.Seed), 0x9a125))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(len(out), st.cfg.RefPairs)]
}

// pairLoss returns the method's loss on a step whose chosen and rejected
// rows are b example pairs followed (when klTails) by KLBatch/2 π_ref samples
// each: objective (the losses package's function; Distill and EDPO read the
// step's [b, k] reward margins as extra[0]) plus γ·losses.ForwardKL over the
// π_ref samples.
func (st *seqTrainer) pairLoss(b int) seqmodel.PairLossWith {
	cfg := st.cfg
	return func(hw, hl *Node, extra []*Node) *Node {
		var klRef, klPol *Node // log π_ref − log π_ref = 0 and h = log π − log π_ref of the π_ref samples
		if st.klTails {
			klPol = Concatenate([]*Node{Slice(hw, AxisRange(b)), Slice(hl, AxisRange(b))}, 0)
			klRef = ZerosLike(klPol)
			hw, hl = Slice(hw, AxisRange(0, b)), Slice(hl, AxisRange(0, b))
		}
		var rd *Node
		if len(extra) > 0 {
			rd = extra[0]
		}
		loss := objective(cfg, hw, hl, rd, cfg.Beta, nil)
		if klPol == nil {
			return loss
		}
		return Add(loss, MulScalar(losses.ForwardKL(klRef, klPol), cfg.Gamma))
	}
}

// newObjective compiles st.objective: the run's loss without the KL term on
// all n examples, objective in Float64 from the log-ratios h1, h2 [n] and,
// for Distill and EDPO, the reward margins [n, k].
func (st *seqTrainer) newObjective() error {
	var err error
	if st.margins == nil {
		st.objective, err = NewExec(st.backend, func(h1, h2 *Node) *Node { return objective(st.cfg, h1, h2, nil, st.cfg.Beta, nil) })
	} else {
		st.objective, err = NewExec(st.backend, func(h1, h2, rd *Node) *Node { return objective(st.cfg, h1, h2, rd, st.cfg.Beta, nil) })
	}
	if err != nil {
		return fmt.Errorf("lab: %s: building the logged loss: %w", st.cfg.Method, err)
	}
	st.objective = st.objective.WithName("seq_objective_" + st.cfg.Method.String())
	return nil
}

// objectiveAt returns the loss without the KL term at log-ratios h1, h2 of
// every example (see newObjective).
func (st *seqTrainer) objectiveAt(h1, h2 []float64) (float64, error) {
	args := []any{h1, h2}
	if st.margins != nil {
		k := len(st.margins[0])
		flat := make([]float64, 0, len(st.margins)*k)
		for _, row := range st.margins {
			flat = append(flat, row...)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(flat, len(st.margins), k))
	}
	out, err := st.objective.Exec(args...)
	if err != nil {
		return 0, err
	}
	return tensors.MustCopyFlatData[float64](out[0])[0], nil
}

// train runs the optimizer steps and logs metrics.
func (st *seqTrainer) train(ctx context.Context) error {
	cfg, d, run := st.cfg, st.d, st.run
	b := cfg.BatchSize
	k, numExtra := 0, 0
	if st.margins != nil {
		k, numExtra = len(st.margins[0]), 1
	}
	tr, err := seqmodel.NewPairTrainerWith(st.policy, seqmodel.AdamConfig{LearningRate: cfg.LearningRate}, "adam_"+cfg.Method.String(),
		numExtra, st.pairLoss(b))
	if err != nil {
		return fmt.Errorf("lab: %s: %w", cfg.Method, err)
	}
	if err := st.newObjective(); err != nil {
		return err
	}
	defer st.objective.Finalize()
	if err := st.logAt(0); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x1ab5eed))
	half := 0
	if st.klTails {
		half = cfg.KLBatch / 2
	}
	rows := b + half
	pc, yc, pr, yr := make([][]int, rows), make([][]int, rows), make([][]int, rows), make([][]int, rows)
	refC, refR := make([]float32, rows), make([]float32, rows)
	md := make([]float32, b*k)
	pad := d.task.Vocab.PAD
	for step := 0; step < cfg.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w at step %d of %d: %w", ErrInterrupted, step, cfg.Steps, err)
		}
		for i := range b {
			j := rng.IntN(len(st.ex))
			e := st.ex[j]
			pc[i], yc[i], refC[i] = d.prompts[e.prompt], e.y1, float32(e.ref1)
			pr[i], yr[i], refR[i] = d.prompts[e.prompt], e.y2, float32(e.ref2)
			for c := range k {
				md[i*k+c] = float32(st.margins[j][c])
			}
		}
		for i := range half {
			s1, s2 := st.ref.KL[rng.IntN(len(st.ref.KL))], st.ref.KL[rng.IntN(len(st.ref.KL))]
			pc[b+i], yc[b+i], refC[b+i] = d.prompts[s1.Prompt], s1.Response, float32(s1.LogProb)
			pr[b+i], yr[b+i], refR[b+i] = d.prompts[s2.Prompt], s2.Response, float32(s2.LogProb)
		}
		var extra []*tensors.Tensor
		if numExtra > 0 {
			extra = append(extra, tensors.FromFlatDataAndDimensions(append([]float32(nil), md...), b, k))
		}
		cb, err := seqmodel.NewBatch(pc, yc, pad, d.t)
		if err != nil {
			return fmt.Errorf("lab: %s step %d: %w", cfg.Method, step, err)
		}
		rb, err := seqmodel.NewBatch(pr, yr, pad, d.t)
		if err != nil {
			return fmt.Errorf("lab: %s step %d: %w", cfg.Method, step, err)
		}
		res, err := tr.StepWith(cb, rb, refC, refR, extra...)
		if err != nil {
			return fmt.Errorf("lab: %s step %d: %w", cfg.Method, step, err)
		}
		if st.observe != nil {
			st.observe(step, res, refC[:b], refR[:b], md)
		}
		if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
			return fmt.Errorf("lab: %s step %d: metric loss = %v", cfg.Method, step, res.Loss)
		}
		run.Seq.StepLosses = append(run.Seq.StepLosses, res.Loss)
		run.StepsDone = step + 1
		st.bar.report(1, res.Loss)
		if done := step + 1; done%cfg.LogEvery == 0 || done == cfg.Steps {
			if err := st.logAt(done); err != nil {
				return err
			}
		}
	}
	return nil
}

// logAt measures every metric of the current policy and appends them to the
// History; the last call's evaluation is the Run's final one.
func (st *seqTrainer) logAt(step int) error {
	cfg, d, run := st.cfg, st.d, st.run
	beta := cfg.Beta
	pad := d.task.Vocab.PAD
	n := len(st.ex)
	prompts := make([][]int, n)
	y1, y2 := make([][]int, n), make([][]int, n)
	for j, e := range st.ex {
		prompts[j], y1[j], y2[j] = d.prompts[e.prompt], e.y1, e.y2
	}
	ref1, ref2 := make([]float64, n), make([]float64, n)
	for j, e := range st.ex {
		ref1[j], ref2[j] = e.ref1, e.ref2
	}
	// lpOf is log π of every row; on a task without an oracle, at step 0
	// (π has π_ref's parameters) it is π_ref's, known already (ref).
	lpOf := func(prompts, ys [][]int, ref []float64) ([]float64, error) {
		if step == 0 && !d.oracle {
			return slices.Clone(ref), nil
		}
		return logProbsOf(st.policy, prompts, ys, pad, d.t)
	}
	lp1, err := lpOf(prompts, y1, ref1)
	if err != nil {
		return fmt.Errorf("lab: %s step %d: log-probs: %w", cfg.Method, step, err)
	}
	lp2, err := lpOf(prompts, y2, ref2)
	if err != nil {
		return fmt.Errorf("lab: %s step %d: log-probs: %w", cfg.Method, step, err)
	}
	h1, h2 := make([]float64, n), make([]float64, n)
	for j, e := range st.ex {
		h1[j], h2[j] = lp1[j]-e.ref1, lp2[j]-e.ref2
	}
	m := map[string]float64{}
	addPairMetrics(m, beta, st.nTrain, func(j int) (hw, hl, lpw, lpl float64) { return h1[j], h2[j], lp1[j], lp2[j] })
	var maxAbs float64
	for j := range st.nTrain {
		maxAbs = max(maxAbs, beta*math.Abs(h1[j]), beta*math.Abs(h2[j]))
	}
	m["implicit_reward/max_abs"] = maxAbs
	if len(d.held) > 0 {
		hp, hc, hr := heldRows(d)
		lc, err := lpOf(hp, hc, st.heldRef1)
		if err != nil {
			return fmt.Errorf("lab: %s step %d: held-out log-probs: %w", cfg.Method, step, err)
		}
		lr, err := lpOf(hp, hr, st.heldRef2)
		if err != nil {
			return fmt.Errorf("lab: %s step %d: held-out log-probs: %w", cfg.Method, step, err)
		}
		m["heldout/accuracy"], m["heldout/margins"] = heldOutAccuracy(beta, lc, lr, st.heldRef1, st.heldRef2)
		if cfg.Method.distills() {
			m["reward/heldout_accuracy"] = st.rewardHeldMean
		}
	}

	// Forward KL: the metric over π_ref's held-out samples (never trained on),
	// the objective's term over the training samples the steps draw from.
	var fp, fy [][]int
	var fref []float64
	for _, row := range st.ref.Eval {
		for _, s := range row {
			fp, fy, fref = append(fp, d.evalModel[s.Prompt]), append(fy, s.Response), append(fref, s.LogProb)
		}
	}
	flp, err := lpOf(fp, fy, fref)
	fwd := 0.0
	for i := range flp {
		fwd += fref[i] - flp[i]
	}
	fwd /= float64(len(flp))
	if err != nil {
		return fmt.Errorf("lab: %s step %d: forward KL: %w", cfg.Method, step, err)
	}
	m["kl/forward"] = fwd
	if m["loss"], err = st.objectiveAt(h1, h2); err != nil {
		return fmt.Errorf("lab: %s step %d: loss: %w", cfg.Method, step, err)
	}
	if st.klTails {
		kp := make([][]int, len(st.ref.KL))
		ky := make([][]int, len(st.ref.KL))
		kref := make([]float64, len(st.ref.KL))
		for i, s := range st.ref.KL {
			kp[i], ky[i], kref[i] = d.prompts[s.Prompt], s.Response, s.LogProb
		}
		klp, err := lpOf(kp, ky, kref)
		trainKL := 0.0
		for i := range klp {
			trainKL += kref[i] - klp[i]
		}
		trainKL /= float64(len(klp))
		if err != nil {
			return fmt.Errorf("lab: %s step %d: forward KL of the training samples: %w", cfg.Method, step, err)
		}
		m["loss"] += cfg.Gamma * trainKL
	}

	names := d.metricNames(cfg)
	if !d.oracle {
		// No oracle: nothing to score π's samples with, so π is not sampled.
		if err := checkMetrics(cfg.Method, step, names, m); err != nil {
			return err
		}
		run.History.add(step, names, m)
		run.Seq.KLForward = m["kl/forward"]
		run.Seq.HeldOutAccuracy = m["heldout/accuracy"]
		return nil
	}

	// Held-out samples of π: oracle reward, length, reverse KL, win rate.
	// Before the first step π has π_ref's parameters, so π_ref's held-out
	// samples are samples of π (win rate ½ and reverse KL 0 exactly): the
	// most expensive part of an evaluation, sampling, is done once per π_ref
	// instead of once per run.
	samples := st.ref.Eval
	var polLP, refLP []float64
	if step == 0 {
		for _, row := range samples {
			for _, s := range row {
				polLP = append(polLP, s.LogProb)
			}
		}
		refLP = polLP
	} else {
		if samples, err = evalSamples(st.policy, d, cfg.EvalSamples, st.evalSeed); err != nil {
			return fmt.Errorf("lab: %s step %d: sampling the policy: %w", cfg.Method, step, err)
		}
		var ep, ey [][]int
		for _, row := range samples {
			for _, s := range row {
				ep, ey = append(ep, d.evalModel[s.Prompt]), append(ey, s.Response)
				polLP = append(polLP, s.LogProb)
			}
		}
		if refLP, err = logProbsOf(st.refPolicy, ep, ey, pad, d.t); err != nil {
			return fmt.Errorf("lab: %s step %d: reverse KL: %w", cfg.Method, step, err)
		}
	}
	rev := 0.0
	for i := range polLP {
		rev += polLP[i] - refLP[i]
	}
	m["kl/reverse"] = rev / float64(len(polLP))
	pol := make([][]float64, len(samples))
	base := make([][]float64, len(samples))
	var reward, length, refReward, refLength float64
	for x, row := range samples {
		for _, s := range row {
			pol[x] = append(pol[x], s.Reward)
			reward += s.Reward
			length += float64(s.Length)
		}
		for _, s := range st.ref.Eval[x] {
			base[x] = append(base[x], s.Reward)
			refReward += s.Reward
			refLength += float64(s.Length)
		}
	}
	ns := float64(len(polLP))
	nr := float64(len(samples) * len(st.ref.Eval[0]))
	m["oracle/reward"], m["length/mean"] = reward/ns, length/ns
	w, err := WinRates(pol, base, 0, uint64(step)+0xc1)
	if err != nil {
		return fmt.Errorf("lab: %s step %d: %w", cfg.Method, step, err)
	}
	m["winrate/vs_ref"], m["winrate/vs_ref_lo"], m["winrate/vs_ref_hi"] = w.Rate, w.Lo, w.Hi
	if err := checkMetrics(cfg.Method, step, names, m); err != nil {
		return err
	}
	run.History.add(step, names, m)
	s := run.Seq
	s.HeldOutAccuracy = m["heldout/accuracy"]
	s.WinRate, s.OracleReward, s.MeanLength = w, m["oracle/reward"], m["length/mean"]
	s.RefOracleReward, s.RefMeanLength = refReward/nr, refLength/nr
	s.KLReverse, s.KLForward = m["kl/reverse"], m["kl/forward"]
	return nil
}

// forwardKL returns mean_i (refLP[i] − log π(ys[i] | prompts[i])), the Monte
// Carlo estimate of KL(π_ref‖π) when the ys are samples of π_ref.
func forwardKL(p *seqmodel.Policy, prompts, ys [][]int, refLP []float64, pad, t int) (float64, error) {
	lp, err := logProbsOf(p, prompts, ys, pad, t)
	if err != nil {
		return 0, err
	}
	s := 0.0
	for i := range lp {
		s += refLP[i] - lp[i]
	}
	return s / float64(len(lp)), nil
}

// heldRows returns the held-out pairs' prompts (model form), chosen and
// rejected responses, row by row.
func heldRows(d *seqData) (prompts, chosen, rejected [][]int) {
	for _, p := range d.held {
		prompts, chosen, rejected = append(prompts, d.heldPrompts[p.prompt]), append(chosen, p.chosen), append(rejected, p.rejected)
	}
	return prompts, chosen, rejected
}

// heldOutAccuracy returns the share of pairs j with β·Δh_j > 0, a tie
// β·Δh_j = 0 counting ½ (so π_ref, all ties, scores the coin's ½), and the mean of β·Δh_j, where Δh_j = (lc_j − rc_j) − (lr_j − rr_j)
// from the policy's (lc, lr) and π_ref's (rc, rr) log-probabilities of the
// chosen and rejected responses.
func heldOutAccuracy(beta float64, lc, lr, rc, rr []float64) (acc, margin float64) {
	for j := range lc {
		d := beta * ((lc[j] - rc[j]) - (lr[j] - rr[j]))
		switch {
		case d > 0:
			acc++
		case d == 0: // a tie (π_ref itself) is a coin flip
			acc += 0.5
		}
		margin += d
	}
	n := float64(len(lc))
	return acc / n, margin / n
}

// pairRefLogProbs are log π_ref of a task's labelled pairs (and held-out
// pairs): the same for every method and Config.Seed sharing a π_ref.
type pairRefLogProbs struct {
	chosen, rejected, heldChosen, heldRejected []float64
}

// refLogProbMemo keeps the pairRefLogProbs of the π_refs this process has
// used, keyed by the reference's cache key and the pairs' fingerprint, so
// the runs of a sweep that share a π_ref score its pairs once (the values
// are those a fresh computation gives: the same graph on the same inputs).
// It holds at most refLogProbMemoSize entries, dropping the oldest.
var refLogProbMemo = &lpMemo{m: map[string]pairRefLogProbs{}}

const refLogProbMemoSize = 16

type lpMemo struct {
	mu    sync.Mutex
	m     map[string]pairRefLogProbs
	order []string
}

func (c *lpMemo) get(key string) (pairRefLogProbs, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

func (c *lpMemo) put(key string, v pairRefLogProbs) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		return
	}
	if len(c.order) == refLogProbMemoSize {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[key] = v
	c.order = append(c.order, key)
}
