package lab

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/robustpo/robustpo/losses"
)

// rewardChunk is the number of reward-fit steps unrolled per Exec call.
const rewardChunk = 20

// rewardModels returns the k members' rewards, each [P·R]: copies of the oracle
// r* for OracleReward, or Bradley–Terry fits for LearnedReward. A fit's model is
// tabular (r = w, w ∈ R^{P×R}) or log-linear (r = φ·w, w ∈ R^F) as the policy,
// minimising
//
//	L(w) = mean_{pairs} softplus(−(r(x,y_w) − r(x,y_l))) + λ·‖w‖²     (λ = RewardL2)
//
// with Adam from w ~ N(0, 0.01²) for RewardSteps steps, on the member's pairs:
// a bootstrap resample, a disjoint fold, or all pairs (EnsembleSampling).
func rewardModels(ctx context.Context, backend compute.Backend, pr *problem, cfg Config, rng *rand.Rand) ([][]float64, error) {
	k := cfg.EnsembleSize
	if cfg.RewardSource == OracleReward {
		if !pr.data.HasOracle() {
			return nil, fmt.Errorf("lab: Config.RewardSource = OracleReward but dataset %q has no oracle reward", pr.data.Name)
		}
		r := flatten(pr.data.Oracle)
		out := make([][]float64, k)
		for i := range out {
			out[i] = r
		}
		return out, nil
	}
	n := len(pr.data.Pairs)
	members := make([][]int32, k)
	switch cfg.EnsembleSampling {
	case Bootstrap:
		for i := range members {
			members[i] = make([]int32, n)
			for j := range members[i] {
				members[i][j] = int32(rng.IntN(n))
			}
		}
		if k == 1 { // a single model is fit on the data itself, not a resample
			members[0] = identity(n)
		}
	case DisjointFolds:
		if k > n {
			return nil, fmt.Errorf("lab: Config.EnsembleSize = %d disjoint folds need at least as many pairs, dataset %q has %d", k, pr.data.Name, n)
		}
		perm := rng.Perm(n)
		for j, p := range perm {
			members[j%k] = append(members[j%k], int32(p))
		}
	case DifferentSeeds:
		for i := range members {
			members[i] = identity(n)
		}
	}
	chosen := make([]int32, n)
	rejected := make([]int32, n)
	for j, p := range pr.data.Pairs {
		chosen[j] = int32(p.Prompt*pr.r + p.Chosen)
		rejected[j] = int32(p.Prompt*pr.r + p.Rejected)
	}
	lambda := cfg.RewardL2
	loss := func(w, idx *Node) *Node {
		g := w.Graph()
		r := Reshape(pr.graphLinear(pr.kind, w), pr.p*pr.r)
		c := gatherFlat(Const(g, chosen), idx)
		rj := gatherFlat(Const(g, rejected), idx)
		bt := losses.BradleyTerry(gatherFlat(r, c), gatherFlat(r, rj))
		return Add(bt, MulScalar(ReduceAllSum(Square(w)), lambda))
	}
	exec, err := newStepExec(backend, "reward_fit", loss, Adam, cfg.RewardLearningRate)
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	out := make([][]float64, k)
	for i, idx := range members {
		w0 := make([]float64, pr.numParams())
		for j := range w0 {
			w0[j] = 0.01 * rng.NormFloat64()
		}
		st := newStepper(exec, tensors.FromFlatDataAndDimensions(w0, pr.thetaShape()...))
		for done := 0; done < cfg.RewardSteps; {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("lab: reward model %d interrupted at step %d: %w", i, done, err)
			}
			c := min(rewardChunk, cfg.RewardSteps-done)
			batch := make([][]int32, c)
			for j := range batch {
				batch[j] = idx
			}
			ls, err := st.run(batch)
			if err != nil {
				return nil, fmt.Errorf("lab: reward model %d, step %d: %w", i, done, err)
			}
			for j, l := range ls {
				if math.IsNaN(l) || math.IsInf(l, 0) {
					return nil, fmt.Errorf("lab: reward model %d, step %d: metric reward_loss = %v", i, done+j, l)
				}
			}
			done += c
		}
		out[i] = pr.linear(pr.kind, st.params())
	}
	return out, nil
}

// identity returns [0, 1, …, n−1].
func identity(n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

// rewardDisagreement returns the ensemble's mean over prompt×response of the
// standard deviation across members of the prompt-centred reward
// r_i(x,y) − mean_y r_i(x,y) (rewards are identified only up to a per-prompt
// shift); 0 for a single member.
func rewardDisagreement(rewards [][]float64, r int) float64 {
	k := len(rewards)
	if k < 2 {
		return 0
	}
	centred := make([][]float64, k)
	for i, rw := range rewards {
		centred[i] = make([]float64, len(rw))
		for s := 0; s < len(rw); s += r {
			var m float64
			for _, v := range rw[s : s+r] {
				m += v
			}
			m /= float64(r)
			for j := s; j < s+r; j++ {
				centred[i][j] = rw[j] - m
			}
		}
	}
	var total float64
	n := len(rewards[0])
	for j := range n {
		var mean, sq float64
		for i := range k {
			mean += centred[i][j]
		}
		mean /= float64(k)
		for i := range k {
			d := centred[i][j] - mean
			sq += d * d
		}
		total += math.Sqrt(sq / float64(k))
	}
	return total / float64(n)
}
