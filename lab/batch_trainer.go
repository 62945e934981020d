package lab

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/robustpo/robustpo/losses"
)

// maxBatchElems bounds C·|θ| of one batched graph; larger groups are split.
const maxBatchElems = 1 << 21

// sweepUnroll is the largest number of optimizer steps unrolled in one
// batched graph: more steps per call than train's maxUnroll, since a batched
// call's fixed costs (constants, state transfers) are larger.
const sweepUnroll = 16

// batchKey holds the structural fields that must agree for configs to share a
// batched graph: everything that changes shapes, the step schedule or the
// form of the loss. β, γ, ε, the learning rate, the seed and the reward-fit
// settings may differ within a batch.
type batchKey struct {
	method       Method
	pairLoss     string     // the fingerprint of Config.PairLoss ("" for the method's own)
	policy       PolicyKind // resolved
	steps        int
	batchSize    int
	logEvery     int
	optimizer    Optimizer
	ensembleSize int
	aggregation  losses.Aggregation
	softMin      float64 // SoftMinTemperature
	distillPairs DistillPairs
	refPairs     int
}

// batchKeyOf returns cfg's batchKey (cfg defaulted, policy resolved, lossID
// the fingerprint of cfg.PairLoss or ""). Configs whose PairLoss
// fingerprints agree share a graph, which runs the first config's PairLoss.
func batchKeyOf(cfg Config, policy PolicyKind, lossID string) batchKey {
	k := batchKey{method: cfg.Method, pairLoss: lossID, policy: policy, steps: cfg.Steps, batchSize: cfg.BatchSize,
		logEvery: cfg.LogEvery, optimizer: cfg.Optimizer}
	if cfg.Method.distills() {
		k.ensembleSize = cfg.EnsembleSize
		k.distillPairs = cfg.DistillPairs
		if cfg.DistillPairs == PlusRefSamples {
			k.refPairs = cfg.RefPairs
		}
	}
	if cfg.Method.minOverMembers() {
		k.aggregation = cfg.Aggregation
		k.softMin = cfg.SoftMinTemperature
	}
	return k
}

// rewardKey holds the fields that determine the reward fit of a config.
type rewardKey struct {
	seed         int64
	ensembleSize int
	sampling     EnsembleSampling
	source       RewardSource
	l2, lr       float64
	steps        int
}

// rewardFit memoises a reward fit and the random generator's state after it.
type rewardFit struct {
	rewards [][]float64
	state   []byte
}

// batchTrainer trains C configs of one batchKey as one graph: the parameters,
// Adam moments and minibatch indices gain a leading config axis, and β, γ, ε
// and the learning rate become per-config constants. Every config consumes its
// own random generator exactly as train does, so run c equals
// train(cfgs[c]) up to floating-point rounding.
type batchTrainer struct {
	backend compute.Backend
	pr      *problem
	cfgs    []Config
	c, n    int  // configs, examples per config
	k       int  // ensemble members in the loss (Distill: 1)
	kl      bool // the loss adds γ·KL(π_ref‖π_θ): some config has the term (Config.klTerm)
	// Per-config example data: DPO family shares chosen/rejected; Distill and
	// EDPO carry i1, i2 [C·N] and rd [C·N·k].
	chosen, rejected []int32
	i1, i2           []int32
	rd               []float64
	// consts caches the per-graph constants built by graphConsts.
	consts map[*Graph]*batchConsts
}

// batchConsts are the constants of one batched graph, built once and shared
// by its unrolled steps. Broadcasts are explicit so every element-wise op
// sees equal shapes.
type batchConsts struct {
	ref      *Node // [C, P, R] reference logits
	klLogA   *Node // [C, P, R] log π_ref (LogSoftmax of ref, as losses.ForwardKLExact)
	klA      *Node // [C, P, R] π_ref = exp(klLogA)
	beta     *Node // [C, B] β
	eps      *Node // [C, B] ε
	gamma    *Node // [C] γ
	klGrad   *Node // [C, P, R] ∂(γ·KL(π_ref‖π_θ))/∂log π_θ = −γ·π_ref/P
	batchDim int
}

// graphConsts returns g's constants for batches of B examples. The
// per-config values are host data at their full shape and the [P, R] ones are
// broadcast with a new leading axis, so that the go backend materialises them
// once per call: a same-rank broadcast feeding an element-wise op is fused
// into it and then runs per step through its slower broadcasting iterator.
func (bt *batchTrainer) graphConsts(g *Graph, B int) *batchConsts {
	if k, ok := bt.consts[g]; ok && k.batchDim == B {
		return k
	}
	pr, C := bt.pr, bt.c
	col := func(f func(Config) float64) *Node { return bt.full(g, f, B) }
	ref := Const(g, tensors.FromFlatDataAndDimensions(pr.ref, pr.p, pr.r))
	logA := LogSoftmax(ref, -1)
	k := &batchConsts{
		ref:      bt.repeat(g, pr.ref, pr.p, pr.r),
		klLogA:   BroadcastPrefix(logA, C),
		klA:      BroadcastPrefix(Exp(logA), C),
		beta:     col(func(c Config) float64 { return c.Beta }),
		eps:      col(func(c Config) float64 { return c.Epsilon }),
		gamma:    bt.full(g, func(c Config) float64 { return c.Gamma }),
		batchDim: B,
	}
	// −(γ·(1/P)): the rounding of autodiff through ReduceMean's MulScalar(1/P).
	k.klGrad = Mul(k.klA, bt.full(g, func(c Config) float64 { return -(c.Gamma * (1 / float64(pr.p))) }, pr.p, pr.r))
	if bt.consts == nil {
		bt.consts = map[*Graph]*batchConsts{}
	}
	bt.consts[g] = k
	return k
}

// full returns the constant [C, dims…] holding f(cfg) at every position of
// config c's slice.
func (bt *batchTrainer) full(g *Graph, f func(Config) float64, dims ...int) *Node {
	per := 1
	for _, d := range dims {
		per *= d
	}
	data := make([]float64, 0, bt.c*per)
	for _, cfg := range bt.cfgs {
		v := f(cfg)
		for range per {
			data = append(data, v)
		}
	}
	return Const(g, tensors.FromFlatDataAndDimensions(data, append([]int{bt.c}, dims...)...))
}

// repeat returns the constant [C, dims…] holding values (of size Π dims) for
// every config.
func (bt *batchTrainer) repeat(g *Graph, values []float64, dims ...int) *Node {
	data := make([]float64, 0, bt.c*len(values))
	for range bt.c {
		data = append(data, values...)
	}
	return Const(g, tensors.FromFlatDataAndDimensions(data, append([]int{bt.c}, dims...)...))
}

// spreadLast returns x [d₀, …, dₙ₋₂, 1] broadcast along its last axis to dims,
// materialised by a rank-changing broadcast (see graphConsts).
func spreadLast(x *Node, dims ...int) *Node {
	return ExpandAndBroadcast(Reshape(x, dims[:len(dims)-1]...), dims, []int{len(dims) - 1})
}

// logSoftmaxLast is graph.LogSoftmax over the last axis with explicit
// broadcasts (the same arithmetic: x − max − log Σ exp(x − max)).
func logSoftmaxLast(x *Node) *Node {
	lp, _, _ := logSoftmaxParts(x)
	return lp
}

// logSoftmaxParts returns logSoftmaxLast(x) with its pieces e = exp(x − max)
// and s = Σ e over the last axis (kept as size 1), from which the softmax is
// e/s.
func logSoftmaxParts(x *Node) (lp, e, s *Node) {
	dims := x.Shape().Dimensions
	mx := StopGradient(ReduceAndKeep(x, ReduceMax, -1))
	shifted := Sub(x, spreadLast(mx, dims...))
	e = Exp(shifted)
	s = ReduceAndKeep(e, ReduceSum, -1)
	return Sub(shifted, spreadLast(Log(s), dims...)), e, s
}

// trainBatch trains cfgs (defaulted, one batchKey, ≥ 1 configs) on pr, split
// into up to shards concurrent shards (see runShards), and returns each
// config's Run and error, as train would. progress (nil: none) is called
// after every chunk with the number of config-steps done and the loss before
// the chunk's last step of the shard's first config (NaN when it failed): a
// single run's loss. When ctx is cancelled, every unfinished config's error
// wraps ErrInterrupted and its History ends with the step reached.
func trainBatch(ctx context.Context, backend compute.Backend, pr *problem, cfgs []Config, shards int, progress func(n int, loss float64)) ([]*Run, []error) {
	start := time.Now()
	C := len(cfgs)
	runs := make([]*Run, C)
	errs := make([]error, C)
	rngs := make([]*rand.Rand, C)
	alive := make([]bool, C)
	bt := &batchTrainer{backend: backend, pr: pr, cfgs: cfgs, c: C}
	for _, cfg := range cfgs {
		bt.kl = bt.kl || cfg.klTerm()
	}
	data := pr.data
	memo := map[rewardKey]rewardFit{}
	var distillSets []distillSet
	if cfgs[0].Method.distills() {
		distillSets = make([]distillSet, C)
	}
	for c, cfg := range cfgs {
		pcg := rand.NewPCG(uint64(cfg.Seed), 0x1ab5eed)
		rng := rand.New(pcg)
		rngs[c] = rng
		run := newRun(backend.Name(), pr, cfg)
		runs[c] = run
		alive[c] = true
		if distillSets == nil {
			continue
		}
		key := rewardKey{seed: cfg.Seed, ensembleSize: cfg.EnsembleSize, sampling: cfg.EnsembleSampling,
			source: cfg.RewardSource, l2: cfg.RewardL2, lr: cfg.RewardLearningRate, steps: cfg.RewardSteps}
		fit, ok := memo[key]
		if ok {
			if err := pcg.UnmarshalBinary(fit.state); err != nil {
				errs[c], alive[c] = fmt.Errorf("lab: %s: restoring the random state after the reward fit: %w", cfg.Method, err), false
				continue
			}
		} else {
			rewards, err := rewardModels(ctx, backend, pr, cfg, rng)
			if err != nil {
				if ctx.Err() != nil {
					err = fmt.Errorf("%w: %w", ErrInterrupted, err)
				}
				errs[c], alive[c] = err, false
				continue
			}
			state, err := pcg.MarshalBinary()
			if err != nil {
				errs[c], alive[c] = fmt.Errorf("lab: %s: saving the random state after the reward fit: %w", cfg.Method, err), false
				continue
			}
			fit = rewardFit{rewards: rewards, state: state}
			memo[key] = fit
		}
		run.setRewards(fit.rewards, pr.r)
		distillSets[c] = pr.buildDistillSet(cfg, cfg.Method.distillMembers(fit.rewards), rng)
	}
	finish := func() ([]*Run, []error) {
		wall := time.Since(start) / time.Duration(C)
		for _, r := range runs {
			r.WallTime = wall
		}
		return runs, errs
	}
	first := -1
	for c := range alive {
		if alive[c] {
			first = c
			break
		}
	}
	if first < 0 {
		return finish()
	}
	if distillSets != nil {
		ds0 := distillSets[first]
		bt.n, bt.k = len(ds0.i1), ds0.k
		bt.i1 = make([]int32, C*bt.n)
		bt.i2 = make([]int32, C*bt.n)
		bt.rd = make([]float64, C*bt.n*bt.k)
		for c, ds := range distillSets {
			if !alive[c] {
				continue
			}
			if len(ds.i1) != bt.n || ds.k != bt.k {
				errs[c], alive[c] = fmt.Errorf("lab: %s: batched config %d has %d×%d distillation pairs, the batch %d×%d", cfgs[c].Method, c, len(ds.i1), ds.k, bt.n, bt.k), false
				continue
			}
			copy(bt.i1[c*bt.n:], ds.i1)
			copy(bt.i2[c*bt.n:], ds.i2)
			copy(bt.rd[c*bt.n*bt.k:], ds.rd)
		}
	} else {
		bt.n = len(data.Pairs)
		bt.chosen = make([]int32, bt.n)
		bt.rejected = make([]int32, bt.n)
		for j, p := range data.Pairs {
			bt.chosen[j] = int32(p.Prompt*pr.r + p.Chosen)
			bt.rejected[j] = int32(p.Prompt*pr.r + p.Rejected)
		}
	}
	bt.runShards(ctx, shards, runs, errs, rngs, alive, progress)
	return finish()
}

// runShards runs bt's optimizer loop with its configs split into up to
// shards contiguous shards (at most one per config), each shard a
// copy of the batched graph over its own configs, executed concurrently. The
// go backend executes a graph's element-wise ops on one core, so this is what
// spreads a batch over the machine; every config's arithmetic is the same in
// any shard.
func (bt *batchTrainer) runShards(ctx context.Context, shards int, runs []*Run, errs []error, rngs []*rand.Rand, alive []bool, progress func(int, float64)) {
	shards = min(bt.c, max(1, shards))
	if shards == 1 {
		bt.run(ctx, runs, errs, rngs, alive, progress)
		return
	}
	var wg sync.WaitGroup
	for s := range shards {
		lo, hi := s*bt.c/shards, (s+1)*bt.c/shards
		wg.Add(1)
		go func() {
			defer wg.Done()
			bt.shard(lo, hi).run(ctx, runs[lo:hi], errs[lo:hi], rngs[lo:hi], alive[lo:hi], progress)
		}()
	}
	wg.Wait()
}

// shard returns the trainer of bt's configs [lo, hi), sharing bt's example data.
func (bt *batchTrainer) shard(lo, hi int) *batchTrainer {
	s := &batchTrainer{backend: bt.backend, pr: bt.pr, cfgs: bt.cfgs[lo:hi], c: hi - lo, n: bt.n, k: bt.k, kl: bt.kl,
		chosen: bt.chosen, rejected: bt.rejected}
	if bt.i1 != nil {
		s.i1 = bt.i1[lo*bt.n : hi*bt.n]
		s.i2 = bt.i2[lo*bt.n : hi*bt.n]
		s.rd = bt.rd[lo*bt.n*bt.k : hi*bt.n*bt.k]
	}
	return s
}

// run performs the optimizer loop of train for every live config at once.
func (bt *batchTrainer) run(ctx context.Context, runs []*Run, errs []error, rngs []*rand.Rand, alive []bool, progress func(int, float64)) {
	pr, C, n := bt.pr, bt.c, bt.n
	cfg0 := bt.cfgs[0]
	method := cfg0.Method
	fail := func(c int, err error) {
		if alive[c] {
			errs[c], alive[c] = err, false
		}
	}
	anyAlive := func() bool {
		for _, a := range alive {
			if a {
				return true
			}
		}
		return false
	}
	batch := cfg0.BatchSize
	if batch == 0 || batch > n {
		batch = n
	}
	all := make([][]int32, C) // every config's N examples
	for c := range all {
		all[c] = identity(n)
	}
	examples := bt.examples(all)
	shared := bt.sharedPairs(batch)
	cfgLast := pr.kind == Tabular && bt.configLast(batch) // θ, m, v are [P, R, C]
	var stepExec *Exec
	var err error
	if pr.kind == Tabular {
		stepExec, err = bt.newTabularStepExec(shared, cfgLast, examples)
	} else {
		stepExec, err = bt.newStepExec(examples)
	}
	if err != nil {
		for c := range alive {
			fail(c, err)
		}
		return
	}
	defer stepExec.Finalize()
	evalExec, err := NewExec(bt.backend, func(theta *Node) *Node {
		if cfgLast {
			theta = toConfigFirst(theta)
		}
		return bt.fullLoss(theta, examples)
	})
	if err != nil {
		for c := range alive {
			fail(c, fmt.Errorf("lab: building batched %s evaluation: %w", method, err))
		}
		return
	}
	defer evalExec.Finalize()

	np := pr.numParams()
	dims := append([]int{C}, pr.thetaShape()...)
	if cfgLast {
		dims = []int{pr.p, pr.r, C}
	}
	theta := tensors.FromFlatDataAndDimensions(make([]float64, C*np), dims...)
	m := tensors.FromShape(theta.Shape())
	v := tensors.FromShape(theta.Shape())
	t := tensors.FromScalar(float64(0))
	hostOf := func(theta *tensors.Tensor) []float64 { // [C, np]
		h := tensors.MustCopyFlatData[float64](theta)
		if cfgLast {
			h = configFirstHost(h, C)
		}
		return h
	}
	host := hostOf(theta)
	last := make([][]float64, C) // θ at each config's last successful log
	names := pr.metricNames()

	plan := newMetricsPlan(pr)
	for _, cfg := range bt.cfgs {
		plan.prepare(cfg.Beta)
	}
	// Host metrics are spread over the cores when there are enough configs to
	// pay for waking threads (a few µs of metrics per config; with one
	// config, starting goroutines per log cost Train 9% of its time).
	workers := min(max(1, runtime.GOMAXPROCS(0)), C/8)
	// logAt logs every live config's metrics at θ, with the losses on its full
	// data lossAt [C] (from the step graph, or evalExec at step 0).
	logAt := func(step int, lossAt *tensors.Tensor) {
		ls := tensors.MustCopyFlatData[float64](lossAt)
		logConfig := func(c int) {
			if !alive[c] {
				return
			}
			cfg := bt.cfgs[c]
			lv := ls[c]
			if math.IsNaN(lv) || math.IsInf(lv, 0) {
				errs[c], alive[c] = fmt.Errorf("lab: %s step %d: metric loss = %v", method, step, lv), false
				return
			}
			th := host[c*np : (c+1)*np]
			mt := plan.metrics(th, lv, cfg.Beta, runs[c].Support)
			if err := checkMetrics(method, step, names, mt); err != nil {
				errs[c], alive[c] = err, false
				return
			}
			runs[c].History.add(step, names, mt)
			last[c] = append(last[c][:0], th...)
		}
		if workers <= 1 {
			for c := range C {
				logConfig(c)
			}
			return
		}
		var wg sync.WaitGroup // configs are independent: config c goes to worker c mod workers
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := w; c < C; c += workers {
					logConfig(c)
				}
			}()
		}
		wg.Wait()
	}
	if l0, err := evalExec.Exec1(theta); err != nil {
		for c := range alive {
			fail(c, fmt.Errorf("lab: %s step 0: evaluating loss: %w", method, err))
		}
	} else {
		logAt(0, l0)
	}
	steps, logEvery := cfg0.Steps, cfg0.LogEvery
	for done := 0; done < steps && anyAlive(); {
		if err := ctx.Err(); err != nil {
			if done%logEvery != 0 {
				// The partial runs' History ends at the step reached.
				if l, lerr := evalExec.Exec1(theta); lerr == nil {
					logAt(done, l)
				}
			}
			for c := range alive {
				fail(c, fmt.Errorf("%w at step %d of %d: %w", ErrInterrupted, done, steps, err))
			}
			break
		}
		next := min(steps, (done/logEvery+1)*logEvery)
		k := min(sweepUnroll, next-done)
		// θ, m and v are not used after the call: their buffers are donated to it.
		args := make([]any, 4, 4+k*bt.stepInputs())
		var err error
		for i, x := range []*tensors.Tensor{theta, m, v} {
			if args[i], err = DonateTensorBuffer(x, bt.backend, 0); err != nil {
				break
			}
		}
		if err != nil {
			for c := range alive {
				fail(c, fmt.Errorf("lab: %s step %d: donating the optimizer state: %w", method, done, err))
			}
			break
		}
		args[3] = t
		idx := make([][]int32, C)
		for c := range idx {
			idx[c] = make([]int32, batch)
		}
		for range k {
			if shared {
				break
			}
			for c := range C {
				for j := range idx[c] {
					switch {
					case !alive[c]:
						idx[c][j] = 0
					case batch == n:
						idx[c][j] = int32(j)
					default:
						idx[c][j] = int32(rngs[c].IntN(n))
					}
				}
			}
			for _, x := range bt.examples(idx) {
				args = append(args, x)
			}
		}
		if shared {
			args = append(args, tensors.FromShape(shapes.Make(dtypes.Float64, k)))
		}
		out, err := stepExec.Exec(args...)
		if err != nil {
			for c := range alive {
				fail(c, fmt.Errorf("lab: %s steps %d..%d: %w", method, done, done+k-1, err))
			}
			break
		}
		theta, m, v, t = out[0], out[1], out[2], out[3]
		ls := tensors.MustCopyFlatData[float64](out[4]) // [K, C]
		host = hostOf(theta)
		live := 0
		for c := range C {
			if !alive[c] {
				continue
			}
			for i := range k {
				if l := ls[i*C+c]; math.IsNaN(l) || math.IsInf(l, 0) {
					fail(c, fmt.Errorf("lab: %s step %d: metric loss = %v", method, done+i, l))
					break
				}
			}
			if !alive[c] {
				continue
			}
			for i, x := range host[c*np : (c+1)*np] {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					fail(c, fmt.Errorf("lab: %s step %d: metric parameters: θ[%d] = %v after the update", method, done+k-1, i, x))
					break
				}
			}
			if alive[c] {
				runs[c].StepsDone = done + k
				live++
			}
		}
		done += k
		if progress != nil {
			loss := math.NaN()
			if alive[0] {
				loss = ls[(k-1)*C]
			}
			progress(live*k, loss)
		}
		if done%logEvery == 0 || done == steps {
			logAt(done, out[5])
		}
	}
	for c, th := range last {
		if th != nil {
			runs[c].Theta = th
			runs[c].Final = expRows(logSoftmaxRows(pr.logits(th), pr.r), pr.r)
		}
	}
}

// newStepExec builds the batched K-step optimizer graph of log-linear
// policies (tabular ones use newTabularStepExec).
//
// Inputs: θ, m, v [C, …θ], t (scalar), then for each of the K steps
// stepInputs() nodes: posC, posR [C, B, 1] int32, refC, refR [C, B] and, for
// Distill and EDPO, rd [C, B, k]: the step's examples b as the flat positions
// c·P·R + x·R + y of their two responses in the [C·P·R] log-probs, log π_ref
// at them, and their reward differences.
// Outputs: θ', m', v', t + K, losses [K, C] (each config's loss before each
// step, computed to detect a non-finite loss: its KL term is klStep), and
// fullLoss at θ' [C] for the metrics logged after the call.
//
// The gradient is taken by hand below the examples' log-ratios: autodiff gives
// ∂L/∂h at the 2B gathered positions (small tensors), a scatter-add places it
// in ∂L/∂log π, the KL term adds −γ·π_ref/P, and the log-softmax backward
// g − softmax·Σ_y g gives ∂L/∂logits, and ∂L/∂θ = (∂L/∂logits)·φ. This is
// the arithmetic autodiff performs through train's whole graph, with fewer
// full-size [C, P, R] tensors per step.
func (bt *batchTrainer) newStepExec(full []*tensors.Tensor) (*Exec, error) {
	pr, C := bt.pr, bt.c
	per := bt.stepInputs()
	fn := func(inputs []*Node) []*Node {
		theta, m, v, t := inputs[0], inputs[1], inputs[2], inputs[3]
		steps := inputs[4:]
		g := theta.Graph()
		k, B := len(steps)/per, steps[0].Shape().Dimensions[1]
		kc := bt.graphConsts(g, B)
		lr := bt.learningRate(g, func() *Node {
			return bt.full(g, func(c Config) float64 { return c.LearningRate }, theta.Shape().Dimensions[1:]...)
		})
		var phi *Node
		if pr.kind == LogLinear {
			phi = Const(g, tensors.FromFlatDataAndDimensions(pr.features, pr.p*pr.r, pr.f))
		}
		stepLosses := make([]*Node, k)
		for i := range k {
			in := steps[i*per : (i+1)*per]
			posC, posR, refC, refR := in[0], in[1], in[2], in[3]
			lp, e, sum := logSoftmaxParts(bt.policyLogits(theta, kc))
			lpFlat := Reshape(lp, C*pr.p*pr.r)
			// Gathers and scatters with flat [C·B, 1] indices: the go backend's
			// iterator is faster over fewer axes.
			posC, posR = Reshape(posC, C*B, 1), Reshape(posR, C*B, 1)
			hc := Sub(Reshape(Gather(lpFlat, posC), C, B), refC) // h at the first responses [C, B]
			hr := Sub(Reshape(Gather(lpFlat, posR), C, B), refR)
			var rdI *Node
			if per > 4 {
				rdI = in[4]
			}
			ls := bt.pairLoss(hc, hr, rdI, kc) // [C]
			gh := Gradient(ReduceAllSum(ls), hc, hr)
			glp := bt.scatterPairs(posC, posR, gh[0], gh[1])
			if bt.hasKL() {
				ls = Add(ls, Mul(bt.klStep(lp, kc), kc.gamma))
				glp = Add(glp, kc.klGrad)
			}
			stepLosses[i] = ls
			// ∂L/∂logits = g − (e/s)·Σ_y g, as g + (−Σ_y g)·(1/s)·e: the
			// rounding of autodiff through log Σ exp.
			dims := glp.Shape().Dimensions
			perRow := Mul(Neg(ReduceAndKeep(glp, ReduceSum, -1)), Reciprocal(sum))
			grad := Add(glp, Mul(spreadLast(perRow, dims...), e))
			if phi != nil {
				grad = MatMul(Reshape(grad, C, pr.p*pr.r), phi) // [C, F]
			}
			theta, m, v, t = optimizerStep(bt.cfgs[0].Optimizer, theta, m, v, t, grad, lr)
		}
		return []*Node{theta, m, v, t, Stack(stepLosses, 0), bt.fullLoss(theta, full)}
	}
	return bt.compileStep("batch_", fn)
}

// compileStep returns the Exec of the batched step fn, named prefix+method.
func (bt *batchTrainer) compileStep(prefix string, fn func([]*Node) []*Node) (*Exec, error) {
	method := bt.cfgs[0].Method
	exec, err := NewExec(bt.backend, fn)
	if err != nil {
		return nil, fmt.Errorf("lab: building batched %s step: %w", method, err)
	}
	return exec.WithName(prefix + method.String()), nil
}

// scatterPairs returns the [C, P, R] sum of g1 and g2 ([C, B]) scattered to
// the flat positions pos1 and pos2 ([C·B, 1]) of a [C·P·R] tensor: two
// scatter-adds summed, as autodiff through two gathers sums them.
func (bt *batchTrainer) scatterPairs(pos1, pos2, g1, g2 *Node) *Node {
	pr, C := bt.pr, bt.c
	n := g1.Shape().Size()
	flat := shapes.Make(dtypes.Float64, C*pr.p*pr.r)
	return Reshape(Add(Scatter(pos1, Reshape(g1, n), flat, false, false), Scatter(pos2, Reshape(g2, n), flat, false, false)), C, pr.p, pr.r)
}

// hasKL reports whether the batch's loss adds γ·KL(π_ref‖π_θ): PDPO, EDPO,
// and a PairLoss when some config has γ > 0 (a config with γ = 0 then adds
// 0·KL, leaving its loss and gradient unchanged).
func (bt *batchTrainer) hasKL() bool { return bt.kl }

// klExact returns KL(π_ref‖π_θ) per config [C]: losses.CategoricalKL of
// log π_ref and the [C, P, R] log-probs lp, averaged over prompts (as
// losses.ForwardKLExact).
func (bt *batchTrainer) klExact(lp *Node, kc *batchConsts) *Node {
	return ReduceMean(losses.CategoricalKL(kc.klLogA, lp), -1)
}

// stepInputs returns the number of step-graph inputs per step: posC, posR,
// refC, refR and, for Distill and EDPO, rd.
func (bt *batchTrainer) stepInputs() int {
	if bt.i1 != nil {
		return 5
	}
	return 4
}

// klStep returns KL(π_ref‖π_θ) per config [C] as (Σ π_ref·log π_ref −
// Σ π_ref·log π_θ)/P, the second sum a matrix product: it equals klExact up to
// rounding and is ±Inf or NaN exactly when klExact is (π_ref > 0 is finite),
// which is all the step losses are for.
func (bt *batchTrainer) klStep(lp *Node, kc *batchConsts) *Node {
	pr, C := bt.pr, bt.c
	g := lp.Graph()
	a := make([]float64, len(pr.refLP))
	var aLogA float64
	for i, l := range pr.refLP {
		a[i] = math.Exp(l)
		aLogA += a[i] * l
	}
	cross := MatMul(Reshape(lp, C, pr.p*pr.r), Const(g, tensors.FromFlatDataAndDimensions(a, pr.p*pr.r, 1))) // [C, 1]
	return MulScalar(Sub(Scalar(g, dtypes.Float64, aLogA), Reshape(cross, C)), 1/float64(pr.p))
}

// examples returns one step's inputs (see newStepExec) for the configs'
// examples idx [C][B] (indices into each config's N examples): the flat
// positions of their two responses, log π_ref at them and, for Distill and
// EDPO, their reward differences.
func (bt *batchTrainer) examples(idx [][]int32) []*tensors.Tensor {
	pr, C, B := bt.pr, bt.c, len(idx[0])
	posC, posR := make([]int32, C*B), make([]int32, C*B)
	refC, refR := make([]float64, C*B), make([]float64, C*B)
	var rd []float64
	if bt.i1 != nil {
		rd = make([]float64, C*B*bt.k)
	}
	for c, row := range idx {
		off := int32(c * pr.p * pr.r)
		for b, j := range row {
			var a1, a2 int32
			q := c*B + b
			if bt.i1 != nil {
				e := c*bt.n + int(j)
				a1, a2 = bt.i1[e], bt.i2[e]
				copy(rd[q*bt.k:(q+1)*bt.k], bt.rd[e*bt.k:(e+1)*bt.k])
			} else {
				a1, a2 = bt.chosen[j], bt.rejected[j]
			}
			posC[q], posR[q] = off+a1, off+a2
			refC[q], refR[q] = pr.refLP[a1], pr.refLP[a2]
		}
	}
	in := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(posC, C, B, 1), tensors.FromFlatDataAndDimensions(posR, C, B, 1),
		tensors.FromFlatDataAndDimensions(refC, C, B), tensors.FromFlatDataAndDimensions(refR, C, B)}
	if rd != nil {
		in = append(in, tensors.FromFlatDataAndDimensions(rd, C, B, bt.k))
	}
	return in
}

// policyLogits returns the [C, P, R] policy logits of the batched θ ([C, P, R]
// or [C, F]): ref + θ, or ref + Σ_f θ[c,f]·φ[·,f].
func (bt *batchTrainer) policyLogits(theta *Node, k *batchConsts) *Node {
	pr, C := bt.pr, bt.c
	if pr.kind != LogLinear {
		return Add(k.ref, theta)
	}
	phi := Const(theta.Graph(), tensors.FromFlatDataAndDimensions(pr.features, pr.p*pr.r, pr.f))
	return Add(k.ref, Reshape(MatMul(theta, Transpose(phi, 0, 1)), C, pr.p, pr.r))
}

// fullLoss returns each config's loss [C] at θ on its full data, full (the
// examples of every config's N examples, see examples): what Run.History logs
// as "loss".
func (bt *batchTrainer) fullLoss(theta *Node, full []*tensors.Tensor) *Node {
	g := theta.Graph()
	in := make([]*Node, len(full))
	for i, x := range full {
		in[i] = Const(g, x)
	}
	return bt.losses(theta, in)
}

// losses returns each config's loss [C] at θ on the examples in (one step's
// inputs of newStepExec, see examples): pairLoss of the examples' log-ratios
// h = log π_θ − log π_ref, plus γ·KL(π_ref‖π_θ) for PDPO and EDPO.
func (bt *batchTrainer) losses(theta *Node, in []*Node) *Node {
	C, pr := bt.c, bt.pr
	kc := bt.graphConsts(theta.Graph(), in[0].Shape().Dimensions[1])
	lp := logSoftmaxLast(bt.policyLogits(theta, kc))
	lpFlat := Reshape(lp, C*pr.p*pr.r)
	h1 := Sub(Gather(lpFlat, in[0]), in[2])
	h2 := Sub(Gather(lpFlat, in[1]), in[3])
	var rd *Node
	if len(in) > 4 {
		rd = in[4]
	}
	l := bt.pairLoss(h1, h2, rd, kc)
	if bt.hasKL() {
		l = Add(l, Mul(bt.klExact(lp, kc), kc.gamma))
	}
	return l
}

// pairLoss returns each config's loss [C] without the KL term from h1, h2
// [C, B], the log-ratios h of each example's two responses (chosen and
// rejected, or ρ's pair), and for Distill and EDPO the reward differences rd
// [C, B, k]: the losses package's function, with β (and CDPO's ε) one value
// per config ([C, B] constants, so that every element-wise op sees equal
// shapes):
//
//	pair methods, Config.PairLoss   losses.MeanPairLoss(pair loss, h1, h2, β)
//	Distill, EDPO                   losses.Distill, losses.EnsembleDistillSoft
func (bt *batchTrainer) pairLoss(h1, h2, rd *Node, kc *batchConsts) *Node {
	return objective(bt.cfgs[0], h1, h2, rd, kc.beta, kc.eps)
}
