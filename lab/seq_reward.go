package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/gomlx/compute"
	"github.com/robustpo/robustpo/lab/seqmodel"
)

// distillExample is one pair of ρ for Distill and EDPO: two responses to a
// training prompt, with log π_ref of each.
type distillExample struct {
	prompt           int
	y1, y2           []int
	ref1, ref2       float64
	oracle1, oracle2 float64 // oracle rewards r*(x, y1), r*(x, y2)
}

// seqMargins is the cached output of a reward ensemble: member i's margin
// r_i(x, y1) − r_i(x, y2) for every distillation example, and its accuracy.
type seqMargins struct {
	// Margins is [example][member].
	Margins [][]float64 `json:"margins"`
	// Accuracy[i] is the fraction of the labelled training pairs that member
	// i orders as the oracle reward does (ties in r* count ½).
	Accuracy []float64 `json:"accuracy"`
	// Loss[i] is member i's Bradley–Terry loss at its last step.
	Loss []float64 `json:"loss"`
	// HeldOutAccuracy[i] is member i's share of the task's held-out pairs
	// with r_i(x, y_w) > r_i(x, y_l) (empty without held-out pairs);
	// HeldOutEnsembleAccuracy the same for the members' mean reward.
	HeldOutAccuracy         []float64 `json:"heldout_accuracy,omitempty"`
	HeldOutEnsembleAccuracy float64   `json:"heldout_ensemble_accuracy,omitempty"`
}

// rewardMargins returns the k = EnsembleSize reward margins of every example
// of ex (the first nTrain are the labelled training pairs, chosen first):
// the oracle's (every member equal) under OracleReward, else those of
// Bradley–Terry reward models. Member i starts from π_ref's trunk with its own
// head (seed Model.Seed+1+i), is fit on the member's pairs as
// EnsembleSampling says (Bootstrap, DisjointFolds, DifferentSeeds; seeded by
// Seed and i) with RewardSteps Adam steps at RewardLearningRate on
// minibatches of BatchSize pairs drawn with replacement. Margins are cached.
func rewardMargins(ctx context.Context, backend compute.Backend, cfg Config, d *seqData, ref *seqReference, ex []distillExample, nTrain int) (*seqMargins, error) {
	k := cfg.EnsembleSize
	out := &seqMargins{Margins: make([][]float64, len(ex))}
	if cfg.RewardSource == OracleReward {
		for j, e := range ex {
			out.Margins[j] = make([]float64, k)
			for i := range k {
				out.Margins[j][i] = e.oracle1 - e.oracle2
			}
		}
		for range k {
			out.Accuracy = append(out.Accuracy, 1)
			out.Loss = append(out.Loss, math.NaN())
		}
		return out, nil
	}
	in, err := newCacheInputs("seqrm", backend.Name(), d.dataFP, "", struct {
		Model                         seqmodel.Config
		SFTSteps                      int
		SFTLearningRate               float64
		RefSamples, Examples          int
		K, Steps, Batch               int
		LR                            float64
		Sampling                      EnsembleSampling
		Seed                          int64
		DistillPairs                  DistillPairs
		RefPairs, EvalSamples, Prompt int
		KLPrompts                     int `json:",omitzero"` // absent when all: the keys from before the field stay
	}{cfg.Model, cfg.SFTSteps, cfg.SFTLearningRate, cfg.RefSamples, len(ex), k, cfg.RewardSteps, cfg.BatchSize,
		cfg.RewardLearningRate, cfg.EnsembleSampling, cfg.Seed, cfg.DistillPairs, cfg.RefPairs, cfg.EvalSamples, cfg.EvalPrompts,
		d.klPromptsKey(cfg)})
	if err != nil {
		return nil, err
	}
	path := filepath.Join(CacheDir(), "seqrm-"+in.key()+".json")
	if useRunCache(cfg) {
		m, ok := load(disk, path, in, false, func(b []byte) (*seqMargins, error) {
			var m seqMargins
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, err
			}
			return &m, nil
		}, func(m *seqMargins) error { return checkMargins(m, len(ex), k, len(d.held)) })
		if ok {
			return m, nil
		}
	}

	sft, err := seqmodel.NewPolicy(backend, cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("lab: reward models: %w", err)
	}
	if err := loadParams(sft, ref.Params); err != nil {
		return nil, fmt.Errorf("lab: reward models: %w", err)
	}
	prompts1 := make([][]int, len(ex))
	y1, y2 := make([][]int, len(ex)), make([][]int, len(ex))
	for j, e := range ex {
		prompts1[j], y1[j], y2[j] = d.prompts[e.prompt], e.y1, e.y2
	}
	for j := range ex {
		out.Margins[j] = make([]float64, k)
	}
	pad := d.task.Vocab.PAD
	hp, hc, hr := heldRows(d)
	heldMean := make([]float64, len(d.held)) // Σ_i of member i's held-out margin
	for i := range k {
		// Member i's stream: its bootstrap draws, then its minibatches.
		rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7e3d00+uint64(i)))
		member := memberPairs(cfg.EnsembleSampling, nTrain, k, i, cfg.Seed, rng)
		if len(member) == 0 {
			return nil, fmt.Errorf("lab: reward member %d: no training pairs (%d pairs, %d folds)", i, nTrain, k)
		}
		mc := cfg.Model
		mc.Seed = cfg.Model.Seed + 1 + uint64(i)
		rm, err := seqmodel.NewRewardModel(backend, mc)
		if err != nil {
			return nil, fmt.Errorf("lab: reward member %d: %w", i, err)
		}
		if err := rm.InitTrunkFrom(sft); err != nil {
			return nil, fmt.Errorf("lab: reward member %d: %w", i, err)
		}
		tr, err := seqmodel.NewBTTrainer(rm, seqmodel.AdamConfig{LearningRate: cfg.RewardLearningRate})
		if err != nil {
			return nil, fmt.Errorf("lab: reward member %d: %w", i, err)
		}
		bp := make([][]int, cfg.BatchSize)
		bw, bl := make([][]int, cfg.BatchSize), make([][]int, cfg.BatchSize)
		last := math.NaN()
		for step := range cfg.RewardSteps {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("%w: reward member %d step %d: %w", ErrInterrupted, i, step, err)
			}
			for b := range bp {
				p := d.pairs[member[rng.IntN(len(member))]]
				bp[b], bw[b], bl[b] = d.prompts[p.prompt], p.chosen, p.rejected
			}
			cw, err := seqmodel.NewBatch(bp, bw, pad, d.t)
			if err != nil {
				return nil, fmt.Errorf("lab: reward member %d step %d: %w", i, step, err)
			}
			cl, err := seqmodel.NewBatch(bp, bl, pad, d.t)
			if err != nil {
				return nil, fmt.Errorf("lab: reward member %d step %d: %w", i, step, err)
			}
			if last, err = tr.Step(cw, cl); err != nil {
				return nil, fmt.Errorf("lab: reward member %d step %d: %w", i, step, err)
			}
			if math.IsNaN(last) || math.IsInf(last, 0) {
				return nil, fmt.Errorf("lab: reward member %d step %d: metric loss = %v", i, step, last)
			}
		}
		r1, r2, err := pairRewards(rm, prompts1, y1, y2, pad, d.t)
		if err != nil {
			return nil, fmt.Errorf("lab: reward member %d scoring: %w", i, err)
		}
		acc := 0.0
		for j := range ex {
			out.Margins[j][i] = r1[j] - r2[j]
			if j < nTrain {
				acc += orderAgreement(r1[j]-r2[j], ex[j].oracle1-ex[j].oracle2)
			}
		}
		out.Accuracy = append(out.Accuracy, acc/float64(nTrain))
		out.Loss = append(out.Loss, last)
		if len(d.held) > 0 {
			w, l, err := pairRewards(rm, hp, hc, hr, pad, d.t)
			if err != nil {
				return nil, fmt.Errorf("lab: reward member %d scoring the held-out pairs: %w", i, err)
			}
			right := 0.0
			for j := range w {
				if w[j] > l[j] {
					right++
				}
				heldMean[j] += w[j] - l[j]
			}
			out.HeldOutAccuracy = append(out.HeldOutAccuracy, right/float64(len(w)))
		}
	}
	if len(d.held) > 0 {
		right := 0.0
		for _, m := range heldMean {
			if m > 0 {
				right++
			}
		}
		out.HeldOutEnsembleAccuracy = right / float64(len(heldMean))
	}
	if useRunCache(cfg) {
		b, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("lab: encoding reward margins: %w", err)
		}
		disk.store(path, in, b, false)
	}
	return out, nil
}

// orderAgreement is 1 when a and b have the same sign, ½ when b = 0, else 0.
func orderAgreement(a, b float64) float64 {
	switch {
	case b == 0:
		return 0.5
	case (a > 0) == (b > 0) && a != 0:
		return 1
	}
	return 0
}

// marginDisagreement is the mean over examples of the members' standard
// deviation of the margin (0 for one member).
func marginDisagreement(m [][]float64) float64 {
	if len(m) == 0 || len(m[0]) < 2 {
		return 0
	}
	s := 0.0
	for _, row := range m {
		mu := mean(row)
		v := 0.0
		for _, x := range row {
			v += (x - mu) * (x - mu)
		}
		s += math.Sqrt(v / float64(len(row)))
	}
	return s / float64(len(m))
}

// memberPairs returns the indices of the n labelled pairs that ensemble
// member i of k is fit on: n draws with replacement from rng (Bootstrap),
// fold i of a k-fold partition shuffled by seed (DisjointFolds), or all of
// them (DifferentSeeds).
func memberPairs(sampling EnsembleSampling, n, k, i int, seed int64, rng *rand.Rand) []int {
	var member []int
	switch sampling {
	case Bootstrap:
		for range n {
			member = append(member, rng.IntN(n))
		}
	case DisjointFolds:
		for f, j := range rand.New(rand.NewPCG(uint64(seed), 0xf01d5)).Perm(n) {
			if f%k == i {
				member = append(member, j)
			}
		}
	default: // DifferentSeeds
		for j := range n {
			member = append(member, j)
		}
	}
	return member
}
