package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/janpfeifer/gonb/gonbui"
	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/losses"
)

// maxUnroll is the largest number of optimizer steps unrolled in one graph.
const maxUnroll = 8

// ErrInterrupted is wrapped by the error a trainer returns when its context
// was cancelled or SIGINT arrived; the partial Run (marked Interrupted) is
// returned with it, and the message names the step reached ("lab: training
// interrupted at step 1234 of 5000: context canceled"). In a GoNB cell the
// SIGINT wrappers (Train, TrainSeq, Sweep, SweepSeq) end the cell instead, in
// one line (see Train).
var ErrInterrupted = errors.New("lab: training interrupted")

// Run is the result of Train: its configuration (defaults filled in), where
// and how long it ran, the metrics History and the final policy.
type Run struct {
	Config          Config        `json:"config"`
	Label           string        `json:"label"`
	Backend         string        `json:"backend"`
	Seed            int64         `json:"seed"`
	WallTime        time.Duration `json:"wall_time"`
	Dataset         string        `json:"dataset"`
	DataFingerprint string        `json:"data_fingerprint"`
	History         *History      `json:"history"`
	// Provenance says where the run was made: backend, CPU SIMD width,
	// build and library versions (its String is the "made on" line of
	// summaries).
	Provenance Provenance `json:"provenance"`
	// Policy is the resolved parameterisation (Tabular or LogLinear).
	Policy PolicyKind `json:"policy"`
	// Theta is the final parameter vector, flat ([P·R] or [F]).
	Theta []float64 `json:"theta"`
	// Final, Ref and Optimal are π, π_ref and π*_{r*} (nil without oracle), [P][R].
	Final   [][]float64 `json:"final"`
	Ref     [][]float64 `json:"ref"`
	Optimal [][]float64 `json:"optimal,omitempty"`
	// Support[x][y] marks responses seen in training pairs.
	Support       [][]bool `json:"support"`
	ResponseNames []string `json:"response_names,omitempty"`
	// Rewards holds the reward members used by Distill, EDPO and RLHF, [k][P][R].
	Rewards [][][]float64 `json:"rewards,omitempty"`
	// RewardDisagreement is the members' mean standard deviation of
	// prompt-centred rewards (0 for one member).
	RewardDisagreement float64 `json:"reward_disagreement"`
	// StepsDone counts optimizer steps completed (< Config.Steps when stopped early).
	StepsDone int `json:"steps_done"`
	// Seq holds what a sequence run (TrainSeq) adds: its final evaluation
	// with the win rate's per-prompt scores and CI; nil for finite runs.
	Seq *SeqResult `json:"seq,omitempty"`
	// Interrupted marks a partial run: training stopped (ErrInterrupted)
	// after StepsDone of Config.Steps steps. Such a Run is never stored in,
	// nor served from, the run cache.
	Interrupted bool `json:"interrupted,omitempty"`
	// Cached reports that the Run was loaded from the run cache.
	Cached bool `json:"-"`
}

// Probs returns the final policy π(y|x), [prompt][response].
func (r *Run) Probs() [][]float64 { return r.Final }

// Train runs cfg on data with the backend of Backend(), stopping on SIGINT
// (how GoNB interrupts a cell). See TrainContext.
//
// Interrupted outside a notebook, it returns the partial Run (History up to
// the step reached) with an error wrapping ErrInterrupted that names the step.
// Interrupted inside a GoNB cell (gonbui.IsNotebook), it writes the partial
// Run as JSON beside the run cache, as <cache key>.partial.json in CacheDir
// (LoadRun reads it; the run cache never serves it as a finished run), prints
// one line to stderr, "lab: interrupted at step N of M; partial run kept in
// <path>", and exits the cell's process with status 130 (128 + SIGINT): the
// cell ends as interrupted (GoNB adds "^C exit status 130" and reports an
// error, as for any interrupted program), without the stack trace that
// must.M1 would print for a returned error.
func Train(cfg Config, data *datasets.FiniteData) (*Run, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	run, key, err := trainFinite(ctx, cfg, data, true)
	cellInterrupt().stop(err, func() string { return interruptedLine(run, key, err) })
	return run, err
}

// TrainContext trains a policy on a finite dataset with cfg.Method and returns
// the Run. It is deterministic: the same Config, data and backend give an
// identical History. Finished runs are memoised in the run cache (see
// CacheDir) unless cfg.NoCache or ROBUSTPO_NO_CACHE=1.
//
// A run that trains for more than about 2 s shows a progress bar (step, loss,
// ETA) while it runs, erased when it ends: in a GoNB notebook an output block
// updated in place, in a terminal a line on stderr (see ProgressEnv). Cached
// and shorter runs print nothing.
//
// Errors: an invalid config or dataset; a NaN or Inf in a step's loss or in the
// parameters (the error names the step and the metric, and the Run holds the
// History so far); cancellation of ctx (the partial Run, its History logged
// up to the step reached and marked Interrupted, is returned with an error
// wrapping ErrInterrupted and ctx.Err()).
func TrainContext(ctx context.Context, cfg Config, data *datasets.FiniteData) (*Run, error) {
	run, _, err := trainFinite(ctx, cfg, data, true)
	return run, err
}

// trainFinite does the work of TrainContext, with a progress bar when bar,
// and returns the run's cache key too ("" when it failed before one was
// known).
func trainFinite(ctx context.Context, cfg Config, data *datasets.FiniteData, bar bool) (*Run, string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, "", err
	}
	cfg = cfg.WithDefaults()
	pr, err := newProblem(data, cfg.Policy)
	if err != nil {
		return nil, "", err
	}
	backend, err := Backend()
	if err != nil {
		return nil, "", err
	}
	defer backend.Finalize()
	lossID, err := pairLossID(backend, cfg)
	if err != nil {
		return nil, "", err
	}
	spec := finiteRunSpec(cfg, data, backend.Name(), lossID)
	key := spec.key()
	run, err := withRunCache(cfg, spec, func() (*Run, error) {
		var p *progress
		if bar {
			p = newRunProgress(cfg.Label(), cfg.Steps)
		}
		defer p.finish()
		if cfg.Method.batched() {
			// The batched trainer with one config: runs and sweep rows then
			// perform the same arithmetic (see batch_trainer_tabular.go).
			runs, errs := trainBatch(ctx, backend, pr, []Config{cfg}, 1, p.report)
			return runs[0], errs[0]
		}
		return train(ctx, backend, pr, cfg, p)
	})
	markInterrupted(run, err)
	return run, key, err
}

// markInterrupted marks run (when there is one) as partial when err wraps
// ErrInterrupted.
func markInterrupted(run *Run, err error) {
	if run != nil && errors.Is(err, ErrInterrupted) {
		run.Interrupted = true
	}
}

// withRunCache returns the Run cached under spec when cfg allows the run
// cache (useRunCache) and the entry passes its checks (see loadRun: a bad
// entry is one warning line, then retrained); else the Run of train, written
// to the cache when train succeeded. A failure to write the cache is never
// the run's error (see cacheDisk.store). A run marked Interrupted is never
// served nor written.
func withRunCache(cfg Config, spec runSpec, train func() (*Run, error)) (*Run, error) {
	useCache := useRunCache(cfg)
	if useCache {
		if run, ok := loadCachedRun(spec, cfg); ok {
			return run, nil
		}
	}
	run, err := train()
	if err == nil && useCache {
		storeRun(spec, run)
	}
	return run, err
}

// loadCachedRun is loadRun for a run of cfg: the Run served gets back
// cfg.PairLoss, which its JSON cannot hold (the key holds its fingerprint),
// and the Label this lab gives cfg (a label is not a result: an entry
// written before the labels changed still serves, under today's label).
func loadCachedRun(spec runSpec, cfg Config) (*Run, bool) {
	run, ok := loadRun(spec)
	if ok {
		run.Config.PairLoss = cfg.PairLoss
		run.Label = cfg.Label()
	}
	return run, ok
}

// LoadRun reads a Run saved as JSON: a run-cache file (its checksum
// verified), or the partial run an interrupted notebook cell leaves in
// CacheDir (see Train), whose Interrupted is set and whose History ends at
// the step reached.
func LoadRun(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lab: LoadRun: %w", err)
	}
	var probe struct {
		Inputs json.RawMessage `json:"inputs"`
	}
	if json.Unmarshal(b, &probe) == nil && probe.Inputs != nil {
		if b, err = decodeEntry(b, nil, false); err != nil {
			return nil, fmt.Errorf("lab: LoadRun %s: cache entry %w", path, err)
		}
	}
	var run Run
	if err := json.Unmarshal(b, &run); err != nil {
		return nil, fmt.Errorf("lab: LoadRun %s: %w", path, err)
	}
	if run.History == nil {
		return nil, fmt.Errorf("lab: LoadRun %s: no history: not a Run", path)
	}
	return &run, nil
}

// partialSuffix ends the name of a partial run's file in CacheDir: the run's
// cache key + partialSuffix + ".json", a bare Run (no cache envelope). A cache
// key is hex, so loadRun never reads it as a finished run.
const partialSuffix = ".partial"

// savePartial writes the partial run under key's partial name in CacheDir
// and returns the path.
func savePartial(key string, run *Run) (string, error) {
	b, err := json.Marshal(run)
	if err != nil {
		return "", fmt.Errorf("encoding the partial run: %w", err)
	}
	path := filepath.Join(CacheDir(), key+partialSuffix+".json")
	if err := disk.writeFile(path, b); err != nil {
		return "", err
	}
	return path, nil
}

// interruptExitCode is the status an interrupted notebook cell exits with:
// 128 + SIGINT, as a shell reports a process ended by Ctrl-C.
const interruptExitCode = 130

// interruptHandler is what the SIGINT wrappers (Train, TrainSeq, Sweep,
// SweepSeq) do with an interruption: in a GoNB cell, one line on stderr and
// exit; elsewhere, nothing (the error is returned).
type interruptHandler struct {
	notebook bool
	stderr   io.Writer
	exit     func(code int)
}

// cellInterrupt returns this process's interruptHandler.
func cellInterrupt() interruptHandler {
	return interruptHandler{notebook: gonbui.IsNotebook, stderr: os.Stderr, exit: os.Exit}
}

// stop prints line() and exits with interruptExitCode when h runs a notebook
// cell and err wraps ErrInterrupted; otherwise it returns.
func (h interruptHandler) stop(err error, line func() string) {
	if !h.notebook || !errors.Is(err, ErrInterrupted) {
		return
	}
	fmt.Fprintln(h.stderr, line())
	h.exit(interruptExitCode)
}

// interruptedLine keeps the partial run under key (see savePartial) and
// returns the one line that says so: "lab: interrupted at step N of M;
// partial run kept in <path>", with where it stopped before the first step
// (an SFT or reward fit) in parentheses.
func interruptedLine(run *Run, key string, err error) string {
	if run == nil || key == "" {
		return "lab: interrupted before training started (" + interruptDetail(err) + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "lab: interrupted at step %d of %d", run.StepsDone, run.Config.Steps)
	if d := interruptDetail(err); run.StepsDone == 0 && d != "" && !strings.HasPrefix(d, "at step ") {
		fmt.Fprintf(&b, " (%s)", d)
	}
	if path, serr := savePartial(key, run); serr != nil {
		fmt.Fprintf(&b, "; the partial run could not be kept: %v", serr)
	} else {
		fmt.Fprintf(&b, "; partial run kept in %s", path)
	}
	return b.String()
}

// interruptDetail returns what err adds to ErrInterrupted and the context's
// error: where the run stopped ("SFT step 12 of 300").
func interruptDetail(err error) string {
	d := firstLine(err.Error())
	d = strings.TrimPrefix(d, ErrInterrupted.Error())
	for _, e := range []error{context.Canceled, context.DeadlineExceeded} {
		d = strings.TrimSuffix(d, ": "+e.Error())
	}
	d = strings.TrimPrefix(strings.TrimPrefix(d, ": "), "lab: ")
	return strings.TrimSpace(d)
}

// newRun returns the Run of a finite-set training of cfg on pr's data before
// its first step: what it is, π_ref, the pairs' support and π*_{r*} for β
// when the data has an oracle.
func newRun(backend string, pr *problem, cfg Config) *Run {
	data := pr.data
	run := &Run{
		Config:          cfg,
		Label:           cfg.Label(),
		Backend:         backend,
		Provenance:      newProvenance(backend),
		Seed:            cfg.Seed,
		Dataset:         data.Name,
		DataFingerprint: data.Fingerprint(),
		History:         newHistory(),
		Policy:          pr.kind,
		Ref:             data.RefProbs(),
		Support:         data.Support(),
		ResponseNames:   data.ResponseNames,
	}
	if data.HasOracle() {
		run.Optimal = expRows(pr.optimalLogProbs(flatten(data.Oracle), cfg.Beta), pr.r)
	}
	return run
}

// setRewards records the reward members [k][P·R] (responses per prompt r) as
// Run.Rewards [k][P][R] and their RewardDisagreement.
func (run *Run) setRewards(rewards [][]float64, r int) {
	for _, m := range rewards {
		run.Rewards = append(run.Rewards, rows(m, r))
	}
	run.RewardDisagreement = rewardDisagreement(rewards, r)
}

// checkMetrics returns an error naming the method, the step and the first
// metric of names whose value in m is NaN or ±Inf; nil when all are finite.
func checkMetrics(method Method, step int, names []string, m map[string]float64) error {
	for _, name := range names {
		if v := m[name]; math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("lab: %s step %d: metric %s = %v", method, step, name, v)
		}
	}
	return nil
}

// train does the work of TrainContext without the cache by autodiff through
// the losses package: the reference implementation. TrainContext uses it for
// RLHF; every other method (and Config.PairLoss) runs the batched trainer
// (trainBatch), which is tested against train (TestTrainMatchesAutodiff).
// bar (nil: none) is told every chunk of steps and its last loss.
func train(ctx context.Context, backend compute.Backend, pr *problem, cfg Config, bar *progress) (*Run, error) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x1ab5eed))
	run := newRun(backend.Name(), pr, cfg)
	defer func() { run.WallTime = time.Since(start) }()

	var rewards [][]float64
	if cfg.Method.usesRewards() {
		var err error
		rewards, err = rewardModels(ctx, backend, pr, cfg, rng)
		if err != nil {
			if ctx.Err() != nil {
				return run, fmt.Errorf("%w: %w", ErrInterrupted, err)
			}
			return run, err
		}
		run.setRewards(rewards, pr.r)
	}
	loss, n := pr.lossFor(cfg, rewards, rng)
	stepExec, err := newStepExec(backend, cfg.Method.String(), loss, cfg.Optimizer, cfg.LearningRate)
	if err != nil {
		return run, err
	}
	defer stepExec.Finalize()
	evalExec, err := newEvalExec(backend, cfg.Method.String(), loss)
	if err != nil {
		return run, err
	}
	defer evalExec.Finalize()

	theta0 := make([]float64, pr.numParams())
	steps := cfg.Steps
	if cfg.Method.closedForm() && pr.kind == Tabular {
		// Closed form: logits = refLogits + r̄/β, r̄ the ensemble mean.
		mean := meanRewards(rewards)
		for i := range theta0 {
			theta0[i] = mean[i] / cfg.Beta
		}
		steps = 0
	}
	st := newStepper(stepExec, tensors.FromFlatDataAndDimensions(theta0, pr.thetaShape()...))
	full := identity(n)
	names := pr.metricNames()
	plan := newMetricsPlan(pr)
	plan.prepare(cfg.Beta)
	logAt := func(step int) error {
		theta := st.params()
		l, err := evalExec.Exec1(st.theta, tensors.FromFlatDataAndDimensions(full, n))
		if err != nil {
			return fmt.Errorf("lab: %s step %d: evaluating loss: %w", cfg.Method, step, err)
		}
		lv := tensors.MustCopyFlatData[float64](l)[0]
		if math.IsNaN(lv) || math.IsInf(lv, 0) {
			return fmt.Errorf("lab: %s step %d: metric loss = %v", cfg.Method, step, lv)
		}
		m := plan.metrics(theta, lv, cfg.Beta, run.Support)
		if err := checkMetrics(cfg.Method, step, names, m); err != nil {
			return err
		}
		run.History.add(step, names, m)
		run.Theta = theta
		run.Final = expRows(logSoftmaxRows(pr.logits(theta), pr.r), pr.r)
		return nil
	}
	if err := logAt(0); err != nil {
		return run, err
	}
	batch := cfg.BatchSize
	if batch == 0 || batch > n {
		batch = n
	}
	for done := 0; done < steps; {
		if err := ctx.Err(); err != nil {
			if done%cfg.LogEvery != 0 {
				_ = logAt(done) // the partial run's History ends at the step reached
			}
			return run, fmt.Errorf("%w at step %d of %d: %w", ErrInterrupted, done, steps, err)
		}
		next := min(steps, (done/cfg.LogEvery+1)*cfg.LogEvery)
		k := min(maxUnroll, next-done)
		idx := make([][]int32, k)
		for i := range idx {
			if batch == n {
				idx[i] = full
				continue
			}
			idx[i] = make([]int32, batch)
			for j := range idx[i] {
				idx[i][j] = int32(rng.IntN(n))
			}
		}
		ls, err := st.run(idx)
		if err != nil {
			return run, fmt.Errorf("lab: %s steps %d..%d: %w", cfg.Method, done, done+k-1, err)
		}
		for i, l := range ls {
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return run, fmt.Errorf("lab: %s step %d: metric loss = %v", cfg.Method, done+i, l)
			}
		}
		for i, v := range st.params() {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return run, fmt.Errorf("lab: %s step %d: metric parameters: θ[%d] = %v after the update", cfg.Method, done+k-1, i, v)
			}
		}
		done += k
		run.StepsDone = done
		bar.report(k, ls[k-1])
		if done%cfg.LogEvery == 0 || done == steps {
			if err := logAt(done); err != nil {
				return run, err
			}
		}
	}
	return run, nil
}

// lossFor returns the method's loss builder and the number N of examples
// (training pairs, or ρ's pairs for Distill and EDPO; 1 for RLHF): the
// losses package's function of the examples' log-ratios, plus γ·KL(π_ref‖π_θ)
// (losses.ForwardKLExact) when cfg has that term.
func (pr *problem) lossFor(cfg Config, rewards [][]float64, rng *rand.Rand) (lossBuilder, int) {
	beta, gamma := cfg.Beta, cfg.Gamma
	withKL := func(logits, l *Node) *Node {
		if !cfg.klTerm() {
			return l
		}
		return Add(l, MulScalar(losses.ForwardKLExact(pr.refConst(logits.Graph()), logits), gamma))
	}
	switch {
	case cfg.Method.distills():
		ds := pr.buildDistillSet(cfg, cfg.Method.distillMembers(rewards), rng)
		n := len(ds.i1)
		return func(theta, idx *Node) *Node {
			g := theta.Graph()
			logits, h := pr.graphLogits(theta)
			h1 := gatherFlat(h, gatherFlat(Const(g, ds.i1), idx))
			h2 := gatherFlat(h, gatherFlat(Const(g, ds.i2), idx))
			rd := Gather(Const(g, tensors.FromFlatDataAndDimensions(ds.rd, n, ds.k)), ExpandAxes(idx, -1)) // [B, k]
			return withKL(logits, objective(cfg, h1, h2, rd, beta, nil))
		}, n
	case cfg.Method == RLHF:
		mean := meanRewards(rewards)
		return func(theta, _ *Node) *Node {
			// −J_r(π) = −mean_x Σ_y π(y|x) r(x,y) + β·KL(π‖π_ref)
			g := theta.Graph()
			logits, _ := pr.graphLogits(theta)
			r := Const(g, tensors.FromFlatDataAndDimensions(mean, pr.p, pr.r))
			expected := ReduceAllMean(ReduceSum(Mul(Softmax(logits, -1), r), -1))
			return Sub(MulScalar(losses.ReverseKLExact(pr.refConst(g), logits), beta), expected)
		}, 1
	}
	n := len(pr.data.Pairs)
	chosen := make([]int32, n)
	rejected := make([]int32, n)
	for j, p := range pr.data.Pairs {
		chosen[j] = int32(p.Prompt*pr.r + p.Chosen)
		rejected[j] = int32(p.Prompt*pr.r + p.Rejected)
	}
	return func(theta, idx *Node) *Node {
		g := theta.Graph()
		logits, h := pr.graphLogits(theta)
		hc := gatherFlat(h, gatherFlat(Const(g, chosen), idx))
		hr := gatherFlat(h, gatherFlat(Const(g, rejected), idx))
		return withKL(logits, objective(cfg, hc, hr, nil, beta, nil))
	}, n
}

// meanRewards returns the member mean of [k][P·R] rewards.
func meanRewards(rewards [][]float64) []float64 {
	out := make([]float64, len(rewards[0]))
	for _, r := range rewards {
		for i, v := range r {
			out[i] += v / float64(len(rewards))
		}
	}
	return out
}

// expRows returns exp of flat log-probabilities as [P][R].
func expRows(lp []float64, r int) [][]float64 {
	out := rows(lp, r)
	for _, row := range out {
		for i := range row {
			row[i] = math.Exp(row[i])
		}
	}
	return out
}
