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

// batchable reports whether cfg (defaulted) can train in a batched graph: every
// finite-set method except RLHF (whose tabular optimum is a closed form).
func batchable(cfg Config) bool { return cfg.Method != RLHF }

// batchKey holds the structural fields that must agree for configs to share a
// batched graph: everything that changes shapes, the step schedule or the
// form of the loss. β, γ, ε, the learning rate, the seed and the reward-fit
// settings may differ within a batch.
type batchKey struct {
	method       Method
	policy       PolicyKind // resolved
	steps        int
	batchSize    int
	logEvery     int
	optimizer    Optimizer
	ensembleSize int
	aggregation  losses.Aggregation
	distillPairs DistillPairs
	refPairs     int
}

// batchKeyOf returns cfg's batchKey (cfg defaulted, policy resolved).
func batchKeyOf(cfg Config, policy PolicyKind) batchKey {
	k := batchKey{method: cfg.Method, policy: policy, steps: cfg.Steps, batchSize: cfg.BatchSize,
		logEvery: cfg.LogEvery, optimizer: cfg.Optimizer}
	if cfg.Method == Distill || cfg.Method == EDPO {
		k.ensembleSize = cfg.EnsembleSize
		k.distillPairs = cfg.DistillPairs
		if cfg.DistillPairs == PlusRefSamples {
			k.refPairs = cfg.RefPairs
		}
	}
	if cfg.Method == EDPO {
		k.aggregation = cfg.Aggregation
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
	c, n    int // configs, examples per config
	k       int // ensemble members in the loss (Distill: 1)
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
	refLP    *Node // [C, P·R] log π_ref
	klLogA   *Node // [C, P, R] log π_ref (LogSoftmax of ref, as losses.ForwardKLExact)
	klA      *Node // [C, P, R] π_ref = exp(klLogA)
	beta     *Node // [C, B] β
	negBeta  *Node // [C, B] −β
	half     *Node // [C, B] 1/(2β)
	eps      *Node // [C, B] ε
	keep     *Node // [C, B] 1 − ε
	gamma    *Node // [C] γ
	batchDim int
}

// graphConsts returns g's constants for batches of B examples.
func (bt *batchTrainer) graphConsts(g *Graph, B int) *batchConsts {
	if k, ok := bt.consts[g]; ok && k.batchDim == B {
		return k
	}
	pr, C := bt.pr, bt.c
	col := func(f func(Config) float64) *Node { return BroadcastToDims(bt.column(g, f), C, B) }
	ref1 := Const(g, tensors.FromFlatDataAndDimensions(pr.ref, 1, pr.p, pr.r))
	logA := LogSoftmax(ref1, -1)
	k := &batchConsts{
		ref:      BroadcastToDims(ref1, C, pr.p, pr.r),
		refLP:    BroadcastToDims(Const(g, tensors.FromFlatDataAndDimensions(pr.refLP, 1, pr.p*pr.r)), C, pr.p*pr.r),
		klLogA:   BroadcastToDims(logA, C, pr.p, pr.r),
		klA:      BroadcastToDims(Exp(logA), C, pr.p, pr.r),
		beta:     col(func(c Config) float64 { return c.Beta }),
		negBeta:  col(func(c Config) float64 { return -c.Beta }),
		half:     col(func(c Config) float64 { return 1 / (2 * c.Beta) }),
		eps:      col(func(c Config) float64 { return c.Epsilon }),
		keep:     col(func(c Config) float64 { return 1 - c.Epsilon }),
		gamma:    Reshape(bt.column(g, func(c Config) float64 { return c.Gamma }), C),
		batchDim: B,
	}
	if bt.consts == nil {
		bt.consts = map[*Graph]*batchConsts{}
	}
	bt.consts[g] = k
	return k
}

// logSoftmaxLast is graph.LogSoftmax over the last axis with explicit
// broadcasts (the same arithmetic: x − max − log Σ exp(x − max)).
func logSoftmaxLast(x *Node) *Node {
	dims := x.Shape().Dimensions
	mx := StopGradient(ReduceAndKeep(x, ReduceMax, -1))
	shifted := Sub(x, BroadcastToDims(mx, dims...))
	lse := Log(ReduceAndKeep(Exp(shifted), ReduceSum, -1))
	return Sub(shifted, BroadcastToDims(lse, dims...))
}

// trainBatch trains cfgs (defaulted, one batchKey, ≥ 1 configs) on pr and
// returns each config's Run and error, as train would. progress is called with
// the number of config-steps done after every chunk. When ctx is cancelled,
// every unfinished config's error wraps ErrInterrupted.
func trainBatch(ctx context.Context, backend compute.Backend, pr *problem, cfgs []Config, progress func(int)) ([]*Run, []error) {
	start := time.Now()
	C := len(cfgs)
	runs := make([]*Run, C)
	errs := make([]error, C)
	rngs := make([]*rand.Rand, C)
	alive := make([]bool, C)
	bt := &batchTrainer{backend: backend, pr: pr, cfgs: cfgs, c: C}
	data := pr.data
	memo := map[rewardKey]rewardFit{}
	var distillSets []distillSet
	if cfgs[0].Method == Distill || cfgs[0].Method == EDPO {
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
		members := fit.rewards
		if cfg.Method == Distill {
			members = [][]float64{meanRewards(fit.rewards)}
		}
		distillSets[c] = pr.buildDistillSet(cfg, members, rng)
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
	bt.run(ctx, runs, errs, rngs, alive, progress)
	return finish()
}

// run performs the optimizer loop of train for every live config at once.
func (bt *batchTrainer) run(ctx context.Context, runs []*Run, errs []error, rngs []*rand.Rand, alive []bool, progress func(int)) {
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
	stepExec, err := bt.newStepExec()
	if err != nil {
		for c := range alive {
			fail(c, err)
		}
		return
	}
	defer stepExec.Finalize()
	evalExec, err := NewExec(bt.backend, func(theta *Node) *Node {
		g := theta.Graph()
		full := BroadcastToDims(ExpandAxes(Iota(g, shapeInt32(n), 0), 0), C, n)
		return bt.losses(theta, full)
	})
	if err != nil {
		for c := range alive {
			fail(c, fmt.Errorf("lab: building batched %s evaluation: %w", method, err))
		}
		return
	}
	defer evalExec.Finalize()

	np := pr.numParams()
	theta := tensors.FromFlatDataAndDimensions(make([]float64, C*np), append([]int{C}, pr.thetaShape()...)...)
	m := tensors.FromShape(theta.Shape())
	v := tensors.FromShape(theta.Shape())
	t := tensors.FromScalar(float64(0))
	host := tensors.MustCopyFlatData[float64](theta)
	last := make([][]float64, C) // θ at each config's last successful log
	names := pr.metricNames()

	plan := newMetricsPlan(pr)
	for _, cfg := range bt.cfgs {
		plan.prepare(cfg.Beta)
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	logAt := func(step int) {
		out, err := evalExec.Exec1(theta)
		if err != nil {
			for c := range alive {
				fail(c, fmt.Errorf("lab: %s step %d: evaluating loss: %w", method, step, err))
			}
			return
		}
		ls := tensors.MustCopyFlatData[float64](out)
		// Host metrics per config, spread over the cores (configs are independent).
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := w; c < C; c += workers {
					if !alive[c] {
						continue
					}
					cfg := bt.cfgs[c]
					lv := ls[c]
					if math.IsNaN(lv) || math.IsInf(lv, 0) {
						errs[c], alive[c] = fmt.Errorf("lab: %s step %d: metric loss = %v", method, step, lv), false
						continue
					}
					th := host[c*np : (c+1)*np]
					mt := plan.metrics(th, lv, cfg.Beta, runs[c].Support)
					if err := checkMetrics(method, step, names, mt); err != nil {
						errs[c], alive[c] = err, false
						continue
					}
					runs[c].History.add(step, names, mt)
					last[c] = append(last[c][:0], th...)
				}
			}()
		}
		wg.Wait()
	}
	logAt(0)
	batch := cfg0.BatchSize
	if batch == 0 || batch > n {
		batch = n
	}
	steps, logEvery := cfg0.Steps, cfg0.LogEvery
	for done := 0; done < steps && anyAlive(); {
		if err := ctx.Err(); err != nil {
			for c := range alive {
				fail(c, fmt.Errorf("%w at step %d of %d: %w", ErrInterrupted, done, steps, err))
			}
			break
		}
		next := min(steps, (done/logEvery+1)*logEvery)
		k := min(maxUnroll, next-done)
		idx := make([]int32, k*C*batch) // [K, C, B]
		for c := range C {
			if !alive[c] {
				continue
			}
			for i := range k {
				row := idx[(i*C+c)*batch : (i*C+c+1)*batch]
				for j := range row {
					if batch == n {
						row[j] = int32(j)
					} else {
						row[j] = int32(rngs[c].IntN(n))
					}
				}
			}
		}
		out, err := stepExec.Exec(theta, m, v, t, tensors.FromFlatDataAndDimensions(idx, k, C, batch))
		if err != nil {
			for c := range alive {
				fail(c, fmt.Errorf("lab: %s steps %d..%d: %w", method, done, done+k-1, err))
			}
			break
		}
		theta, m, v, t = out[0], out[1], out[2], out[3]
		ls := tensors.MustCopyFlatData[float64](out[4]) // [K, C]
		host = tensors.MustCopyFlatData[float64](theta)
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
			progress(live * k)
		}
		if done%logEvery == 0 || done == steps {
			logAt(done)
		}
	}
	for c, th := range last {
		if th != nil {
			runs[c].Theta = th
			runs[c].Final = expRows(logSoftmaxRows(pr.logits(th), pr.r), pr.r)
		}
	}
}

// shapeInt32 returns the int32 shape with the given dimensions.
func shapeInt32(dims ...int) shapes.Shape { return shapes.Make(dtypes.Int32, dims...) }

// newStepExec builds the batched K-step optimizer graph.
//
// Inputs:  θ, m, v [C, …θ], t (scalar), idx [K, C, B] int32.
// Outputs: θ', m', v', t + K, losses [K, C] (each config's loss before each step).
func (bt *batchTrainer) newStepExec() (*Exec, error) {
	cfg0 := bt.cfgs[0]
	lrs := make([]float64, bt.c)
	for c, cfg := range bt.cfgs {
		lrs[c] = cfg.LearningRate
	}
	fn := func(inputs []*Node) []*Node {
		theta, m, v, t, idx := inputs[0], inputs[1], inputs[2], inputs[3], inputs[4]
		g := theta.Graph()
		k := idx.Shape().Dimensions[0]
		lr := BroadcastToDims(bt.perConfig(g, lrs, theta.Rank()), theta.Shape().Dimensions...)
		stepLosses := make([]*Node, k)
		for i := range k {
			batch := Squeeze(Slice(idx, AxisElem(i), AxisRange(), AxisRange()), 0) // [C, B]
			ls := bt.losses(theta, batch)                                          // [C]
			stepLosses[i] = ls
			grad := Gradient(ReduceAllSum(ls), theta)[0]
			t = AddScalar(t, 1)
			switch cfg0.Optimizer {
			case SGD:
				theta = Sub(theta, Mul(grad, lr))
			default:
				m = Add(MulScalar(m, adamBeta1), MulScalar(grad, 1-adamBeta1))
				v = Add(MulScalar(v, adamBeta2), MulScalar(Square(grad), 1-adamBeta2))
				c1 := OneMinus(Pow(Scalar(g, t.DType(), adamBeta1), t))
				c2 := OneMinus(Pow(Scalar(g, t.DType(), adamBeta2), t))
				mHat := Div(m, c1)
				vHat := Div(v, c2)
				theta = Sub(theta, Mul(Div(mHat, AddScalar(Sqrt(vHat), adamEpsilon)), lr))
			}
		}
		return []*Node{theta, m, v, t, Stack(stepLosses, 0)}
	}
	exec, err := NewExec(bt.backend, fn)
	if err != nil {
		return nil, fmt.Errorf("lab: building batched %s step: %w", cfg0.Method, err)
	}
	return exec.WithName("sweep_" + cfg0.Method.String()), nil
}

// perConfig returns the per-config values as a [C, 1, …] constant of the given
// rank, broadcastable against [C, …] nodes.
func (bt *batchTrainer) perConfig(g *Graph, values []float64, rank int) *Node {
	dims := make([]int, rank)
	for i := range dims {
		dims[i] = 1
	}
	dims[0] = bt.c
	return Const(g, tensors.FromFlatDataAndDimensions(append([]float64(nil), values...), dims...))
}

// column returns f(cfg) per config as a [C, 1] constant.
func (bt *batchTrainer) column(g *Graph, f func(Config) float64) *Node {
	vs := make([]float64, bt.c)
	for c, cfg := range bt.cfgs {
		vs[c] = f(cfg)
	}
	return bt.perConfig(g, vs, 2)
}

// graphLogits returns the [C, P, R] policy logits and the [C, P·R] log-ratios
// h = log π_θ − log π_ref for the batched θ ([C, P, R] or [C, F]).
func (bt *batchTrainer) graphLogits(theta *Node, k *batchConsts) (logits, logProbs, h *Node) {
	pr, C := bt.pr, bt.c
	g := theta.Graph()
	var scores *Node
	if pr.kind == LogLinear {
		phi := Const(g, tensors.FromFlatDataAndDimensions(pr.features, pr.p*pr.r, pr.f))
		scores = Reshape(MatMul(theta, Transpose(phi, 0, 1)), C, pr.p, pr.r) // Σ_f θ[c,f]·φ[i,f]
	} else {
		scores = theta
	}
	logits = Add(k.ref, scores)
	logProbs = logSoftmaxLast(logits)
	h = Sub(Reshape(logProbs, C, pr.p*pr.r), k.refLP)
	return logits, logProbs, h
}

// gatherPerConfig returns values[c, pos[c, b]] for values [C, M] and int32 pos [C, B].
func gatherPerConfig(values, pos *Node) *Node {
	C, M := values.Shape().Dimensions[0], values.Shape().Dimensions[1]
	B := pos.Shape().Dimensions[1]
	g := values.Graph()
	off := MulScalar(Iota(g, shapeInt32(C, B), 0), int32(M)) // c·M
	return Reshape(Gather(Reshape(values, C*M), ExpandAxes(Add(pos, off), -1)), C, B)
}

// losses returns each config's loss [C] at θ on the per-config batches idx
// [C, B] (indices into the config's N examples), with the formulas of the
// losses package and β, γ, ε per config:
//
//	DPO   mean_b softplus(−β·Δh)           IPO     mean_b (Δh − 1/(2β))²
//	CDPO  mean_b (1−ε)·softplus(−βΔh) + ε·softplus(βΔh)
//	PDPO  DPO + γ·KL(π_ref‖π_θ)            Distill mean_b (Δr − β·Δh)²
//	EDPO  EnsembleDistill(agg) + γ·KL(π_ref‖π_θ)
func (bt *batchTrainer) losses(theta, idx *Node) *Node {
	C := bt.c
	g := theta.Graph()
	cfg0 := bt.cfgs[0]
	B := idx.Shape().Dimensions[1]
	kc := bt.graphConsts(g, B)
	_, logB, h := bt.graphLogits(theta, kc)
	kl := func() *Node { // [C]: mean_x Σ_y π_ref (log π_ref − log π_θ)
		return ReduceMean(ReduceSum(Mul(kc.klA, Sub(kc.klLogA, logB)), -1), -1)
	}
	gammaVec := func() *Node { return kc.gamma }
	switch cfg0.Method {
	case Distill, EDPO:
		n, k := bt.n, bt.k
		offN := MulScalar(Iota(g, shapeInt32(C, B), 0), int32(n))
		rows := Add(idx, offN) // [C, B] rows of the flat [C·N] example list
		i1 := Reshape(Gather(Const(g, bt.i1), ExpandAxes(rows, -1)), C, B)
		i2 := Reshape(Gather(Const(g, bt.i2), ExpandAxes(rows, -1)), C, B)
		rd := Gather(Const(g, tensors.FromFlatDataAndDimensions(bt.rd, C*n, k)), ExpandAxes(rows, -1)) // [C, B, k]
		h1, h2 := gatherPerConfig(h, i1), gatherPerConfig(h, i2)
		z := Mul(Sub(h1, h2), kc.beta) // β·Δh [C, B]
		if cfg0.Method == Distill {
			return ReduceMean(Square(Sub(Reshape(rd, C, B), z)), -1)
		}
		zCol := BroadcastToDims(InsertAxes(z, -1), C, B, k)
		var l *Node
		switch cfg0.Aggregation {
		case losses.MinPerExample:
			l = ReduceMean(ReduceMin(Square(Sub(rd, zCol)), 2), -1)
		case losses.Hull:
			lo, hi := ReduceMin(rd, 2), ReduceMax(rd, 2)
			below, above := Sub(lo, z), Sub(z, hi)
			zero := ZerosLike(z)
			dist := Add(Where(GreaterThan(below, zero), below, zero), Where(GreaterThan(above, zero), above, zero))
			l = ReduceMean(Square(dist), -1)
		default: // MinPerBatch
			l = ReduceMin(ReduceMean(Square(Sub(rd, zCol)), 1), -1)
		}
		return Add(l, Mul(kl(), gammaVec()))
	}
	cpos := Reshape(Gather(Const(g, bt.chosen), ExpandAxes(idx, -1)), C, B)
	rpos := Reshape(Gather(Const(g, bt.rejected), ExpandAxes(idx, -1)), C, B)
	margin := Sub(gatherPerConfig(h, cpos), gatherPerConfig(h, rpos)) // Δh [C, B]
	switch cfg0.Method {
	case IPO:
		return ReduceMean(Square(Sub(margin, kc.half)), -1)
	case CDPO:
		scaled := Mul(margin, kc.beta)
		return ReduceMean(Add(Mul(softplusStable(Neg(scaled)), kc.keep), Mul(softplusStable(scaled), kc.eps)), -1)
	}
	dpo := ReduceMean(softplusStable(Mul(margin, kc.negBeta)), -1)
	if cfg0.Method == PDPO {
		return Add(dpo, Mul(kl(), gammaVec()))
	}
	return dpo
}

// softplusStable is log(1 + eˣ) = max(x, 0) + log1p(exp(−|x|)), built as in
// the losses package so that its value and gradient (σ(x)) never overflow.
func softplusStable(x *Node) *Node {
	positive := GreaterThan(x, ZerosLike(x))
	relu := Where(positive, x, ZerosLike(x))
	negAbs := Where(positive, Neg(x), x)
	return Add(relu, Log1p(Exp(negAbs)))
}
