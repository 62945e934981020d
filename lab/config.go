package lab

import (
	"errors"
	"fmt"
	"math"

	"github.com/robustpo/robustpo/lab/seqmodel"
	"github.com/robustpo/robustpo/losses"
)

// DistillPairs selects the pair distribution ρ of Distill and EDPO. The zero
// value is TrainPairs.
type DistillPairs int

const (
	// TrainPairs: ρ = the labelled training pairs only.
	TrainPairs DistillPairs = iota
	// PlusRefSamples: the training pairs plus RefPairs unlabelled pairs
	// (x uniform, y1 ≠ y2 drawn from π_ref(·|x)), scored by the reward model(s).
	PlusRefSamples
	// AllPairs: every pair y1 < y2 of every prompt (full support).
	AllPairs
)

var distillPairsNames = [...]string{TrainPairs: "TrainPairs", PlusRefSamples: "PlusRefSamples", AllPairs: "AllPairs"}

// String returns the constant's Go name.
func (d DistillPairs) String() string {
	return enumString(distillPairsNames[:], int(d), "DistillPairs")
}

// RewardSource selects the reward used by Distill, EDPO and RLHF. The zero value
// is LearnedReward.
type RewardSource int

const (
	// LearnedReward: Bradley–Terry reward model(s) fit on the training pairs.
	LearnedReward RewardSource = iota
	// OracleReward: the dataset's true reward r* (every ensemble member equal).
	OracleReward
)

var rewardSourceNames = [...]string{LearnedReward: "LearnedReward", OracleReward: "OracleReward"}

// String returns the constant's Go name.
func (r RewardSource) String() string {
	return enumString(rewardSourceNames[:], int(r), "RewardSource")
}

// EnsembleSampling selects how the members of a reward ensemble differ. The zero
// value is Bootstrap.
type EnsembleSampling int

const (
	// Bootstrap: member i is fit on N pairs drawn with replacement.
	Bootstrap EnsembleSampling = iota
	// DisjointFolds: the shuffled pairs are cut into EnsembleSize folds and
	// member i is fit on fold i only.
	DisjointFolds
	// DifferentSeeds: every member sees all pairs and differs only by its random
	// initialisation (the L2-regularised Bradley–Terry loss is strictly convex, so
	// members agree up to optimisation error).
	DifferentSeeds
)

var ensembleSamplingNames = [...]string{Bootstrap: "Bootstrap", DisjointFolds: "DisjointFolds", DifferentSeeds: "DifferentSeeds"}

// String returns the constant's Go name.
func (e EnsembleSampling) String() string {
	return enumString(ensembleSamplingNames[:], int(e), "EnsembleSampling")
}

// PolicyKind selects the policy parameterisation. Both start at π_ref.
type PolicyKind int

const (
	// AutoPolicy (zero value): LogLinear when the dataset has features, else Tabular.
	AutoPolicy PolicyKind = iota
	// Tabular: logits(x,y) = refLogits(x,y) + θ[x,y], θ ∈ R^{P×R}.
	Tabular
	// LogLinear: logits(x,y) = refLogits(x,y) + θ·φ(x,y), θ ∈ R^F.
	LogLinear
)

var policyKindNames = [...]string{AutoPolicy: "AutoPolicy", Tabular: "Tabular", LogLinear: "LogLinear"}

// String returns the constant's Go name.
func (p PolicyKind) String() string { return enumString(policyKindNames[:], int(p), "PolicyKind") }

// Config describes one training run. Every zero value means the documented
// default, so Config{Method: DPO} is a complete configuration.
type Config struct {
	// Name labels the run in plots (default: Label()).
	Name string
	// Method is the objective (zero value DPO).
	Method Method
	// PairLoss, when set, is the per-pair loss ℓ(Δh, β) the run minimises
	// instead of DPO's: L = mean over pairs of PairLoss(Δh, β), plus
	// Gamma·KL(π_ref‖π_θ) when Gamma > 0 (so a hinge with pessimism is one
	// Config). Write it in a cell like losses.DPOPair, e.g. SLiC's hinge
	//
	//	func(m, b *graph.Node) *graph.Node { return graph.MaxScalar(graph.OneMinus(graph.Mul(b, m)), 0) }
	//
	// Its gradient is taken by automatic differentiation, in Train (tabular
	// and log-linear), in Sweep's batched graph (β, γ and the learning rate
	// varying per config) and in TrainSeq (Float32: use no Float64
	// constants). It requires Method DPO (the zero value) and a Name, which
	// labels the run. A func has no JSON: the run cache keys such a run by
	// its Config (Name included) and a fingerprint of PairLoss, the SHA-256
	// of its values and derivatives on a fixed grid of 33 margins × 4 β
	// (see pairLossFingerprint), so two losses that agree there share cache
	// entries and a batched graph. A Run loaded from the cache gets the
	// requested PairLoss back; its JSON has none.
	PairLoss losses.PairLoss `json:"-"`
	// Policy is the parameterisation of finite-set runs (Train, Sweep; zero
	// value AutoPolicy). Sequence runs (TrainSeq, SweepSeq) ignore it: their
	// policy is the transformer that Model sizes.
	Policy PolicyKind
	// Beta is β > 0 (0 means 0.1).
	Beta float64
	// Gamma ≥ 0 weights KL(π_ref‖π_θ) in EDPO, PDPO, Distill and with a
	// PairLoss (0: no penalty).
	Gamma float64
	// Epsilon is CDPO's label smoothing in [0, 0.5) (0 means 0.1).
	Epsilon float64
	// Steps is the number of optimizer steps (0 means 1000).
	Steps int
	// LearningRate of the policy optimizer (0 means 0.05).
	LearningRate float64
	// Optimizer is the policy's update rule in finite-set runs (Train, Sweep;
	// zero value Adam). Sequence runs ignore it and always use Adam (package
	// seqmodel), as do every SFT and reward fit.
	Optimizer Optimizer
	// BatchSize is the number of examples per step (0 means the full batch);
	// minibatches are drawn uniformly with replacement.
	BatchSize int
	// Seed drives every random choice: minibatches, ensemble resampling, member
	// initialisation and reference pair sampling.
	Seed int64
	// EnsembleSize is the number k of reward models (0 means 3 for EDPO, 1 otherwise).
	EnsembleSize int
	// EnsembleSampling selects how members differ (zero value Bootstrap).
	EnsembleSampling EnsembleSampling
	// Aggregation reads EDPO's minimum over members (zero value MinPerBatch).
	Aggregation losses.Aggregation
	// SoftMinTemperature τ ≥ 0, when > 0, replaces EDPO's minimum over members
	// under MinPerBatch or MinPerExample by the soft minimum
	// −τ·log((1/k)·Σ_i exp(−L_i/τ)) of losses.EnsembleDistillSoft: between the
	// minimum and min + τ·log k, with a gradient that blends the members'
	// instead of switching from one member to another where two tie, so a
	// rounding-level change of the inputs changes the run only at rounding
	// level. 0 (the default) is the paper's exact minimum. Hull takes no
	// minimum over members and rejects τ > 0; other methods ignore it.
	SoftMinTemperature float64 `json:",omitzero"`
	// DistillPairs selects ρ for Distill and EDPO (zero value TrainPairs).
	DistillPairs DistillPairs
	// RefPairs is the number of π_ref-sampled pairs PlusRefSamples adds (0 means 256).
	RefPairs int
	// RewardSource selects the reward of Distill, EDPO and RLHF (zero value LearnedReward).
	RewardSource RewardSource
	// RewardL2 is λ > 0 in the finite-set reward fit (Train, Sweep)
	// L = E_D softplus(−(r_w − r_l)) + λ·‖w‖² (0 means 0.01), so a single pair
	// cannot give an infinite reward. Sequence runs ignore it: their reward
	// models minimise the Bradley–Terry loss alone for RewardSteps steps (a
	// finite number of steps bounds the rewards); it is still validated
	// (> 0 after defaults) and still part of a sequence run's cache key.
	RewardL2 float64
	// RewardSteps is the number of Adam steps of each reward fit (0 means 2000).
	RewardSteps int
	// RewardLearningRate is the reward fit's Adam learning rate (0 means 0.05).
	RewardLearningRate float64
	// LogEvery logs metrics every LogEvery steps, plus step 0 and the last step
	// (0 means max(1, Steps/200)).
	LogEvery int
	// NoCache disables the on-disk run cache for this run.
	NoCache bool

	// The fields below configure sequence runs (TrainSeq) and are ignored by
	// Train. On sequence runs some shared fields have other defaults: Steps 0
	// means 200, LearningRate 0 means 1e-3, BatchSize 0 means 32 pairs,
	// RewardSteps 0 means 200, RewardLearningRate 0 means 1e-3, LogEvery 0
	// means max(1, Steps/10); RefPairs keeps its default (256 π_ref pairs for
	// PlusRefSamples), RewardL2, Policy and Optimizer are unused, and
	// DistillPairs = AllPairs and Method = RLHF are not available.

	// Rho ∈ (0, 1] trains on task.Split(Rho), the length-biased subsample in
	// which a fraction Rho of the length-differing pairs prefers the longer
	// response; 0 means all of the task's pairs.
	Rho float64 `json:",omitzero"`
	// Model sizes the transformer of the policy, π_ref and the reward models;
	// zero fields take seqmodel's defaults, except VocabSize and MaxLen, which
	// default to the task's.
	Model seqmodel.Config `json:",omitzero"`
	// SFTSteps is the number of supervised steps that fit π_ref to the task's
	// reference responses (0 means 300).
	SFTSteps int `json:",omitzero"`
	// SFTLearningRate is the Adam learning rate of SFT (0 means 3e-3).
	SFTLearningRate float64 `json:",omitzero"`
	// RefSamples is the number of responses sampled from π_ref per training
	// prompt, for the forward KL and the PlusRefSamples pairs (0 means 2).
	RefSamples int `json:",omitzero"`
	// KLPrompts, when > 0, limits the π_ref samples of the forward KL and of
	// PlusRefSamples to the first KLPrompts training prompts (0 means all;
	// sampling is the costly part of building π_ref on a large task).
	KLPrompts int `json:",omitzero"`
	// KLBatch is the number of π_ref samples in each step's forward-KL term of
	// EDPO and PDPO when Gamma > 0 (0 means BatchSize; rounded up to even).
	KLBatch int `json:",omitzero"`
	// EvalSamples is the number N of responses sampled per held-out prompt, from
	// the policy and from π_ref, for the win rate and the other sampled
	// metrics (0 means 4).
	EvalSamples int `json:",omitzero"`
	// EvalPrompts is the number of the task's held-out prompts used for
	// evaluation (0 means all).
	EvalPrompts int `json:",omitzero"`
}

// WithDefaults returns c with every zero field replaced by its default.
func (c Config) WithDefaults() Config {
	if c.Beta == 0 {
		c.Beta = 0.1
	}
	if c.Epsilon == 0 {
		c.Epsilon = 0.1
	}
	if c.Steps == 0 {
		c.Steps = 1000
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.05
	}
	if c.EnsembleSize == 0 {
		c.EnsembleSize = 1
		if c.Method.minOverMembers() {
			c.EnsembleSize = 3
		}
	}
	if c.RefPairs == 0 {
		c.RefPairs = 256
	}
	if c.RewardL2 == 0 {
		c.RewardL2 = 0.01
	}
	if c.RewardSteps == 0 {
		c.RewardSteps = 2000
	}
	if c.RewardLearningRate == 0 {
		c.RewardLearningRate = 0.05
	}
	if c.LogEvery == 0 {
		c.LogEvery = max(1, c.Steps/200)
	}
	return c
}

// Validate checks c after defaults and returns an error naming the bad field.
func (c Config) Validate() error {
	c = c.WithDefaults()
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("lab: Config.%s = %v, need a finite value > 0", name, v)
		}
		return nil
	}
	if !c.Method.valid() {
		return fmt.Errorf("lab: Config.Method = %v is unknown", c.Method)
	}
	if c.PairLoss != nil {
		switch {
		case c.Method != DPO:
			return fmt.Errorf("lab: Config.PairLoss is set with Method %v: a pair loss replaces DPO's, leave Method at DPO (Gamma > 0 adds the KL term)", c.Method)
		case c.Name == "":
			return errors.New("lab: Config.PairLoss is set without a Name: name the loss (it labels the run and keys the run cache)")
		}
	}
	if c.Policy < AutoPolicy || c.Policy > LogLinear {
		return fmt.Errorf("lab: Config.Policy = %v is unknown", c.Policy)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"Beta", c.Beta}, {"LearningRate", c.LearningRate}, {"RewardL2", c.RewardL2}, {"RewardLearningRate", c.RewardLearningRate}} {
		if err := pos(f.name, f.v); err != nil {
			return err
		}
	}
	if !(c.Gamma >= 0) || math.IsInf(c.Gamma, 0) {
		return fmt.Errorf("lab: Config.Gamma = %v, need a finite value ≥ 0", c.Gamma)
	}
	if !(c.Epsilon > 0 && c.Epsilon < 0.5) {
		return fmt.Errorf("lab: Config.Epsilon = %v, need 0 < Epsilon < 0.5 (0 means 0.1)", c.Epsilon)
	}
	switch {
	case c.Steps < 0:
		return fmt.Errorf("lab: Config.Steps = %d, need ≥ 0", c.Steps)
	case c.BatchSize < 0:
		return fmt.Errorf("lab: Config.BatchSize = %d, need ≥ 0", c.BatchSize)
	case c.EnsembleSize < 1:
		return fmt.Errorf("lab: Config.EnsembleSize = %d, need ≥ 1", c.EnsembleSize)
	case c.RefPairs < 1:
		return fmt.Errorf("lab: Config.RefPairs = %d, need ≥ 1", c.RefPairs)
	case c.RewardSteps < 1:
		return fmt.Errorf("lab: Config.RewardSteps = %d, need ≥ 1", c.RewardSteps)
	case c.LogEvery < 1:
		return fmt.Errorf("lab: Config.LogEvery = %d, need ≥ 1", c.LogEvery)
	case c.Optimizer < Adam || c.Optimizer > SGD:
		return fmt.Errorf("lab: Config.Optimizer = %v is unknown", c.Optimizer)
	case c.EnsembleSampling < Bootstrap || c.EnsembleSampling > DifferentSeeds:
		return fmt.Errorf("lab: Config.EnsembleSampling = %v is unknown", c.EnsembleSampling)
	case c.Aggregation < losses.MinPerBatch || c.Aggregation > losses.Hull:
		return fmt.Errorf("lab: Config.Aggregation = %v is unknown", c.Aggregation)
	case !(c.SoftMinTemperature >= 0) || math.IsInf(c.SoftMinTemperature, 0):
		return fmt.Errorf("lab: Config.SoftMinTemperature = %v, need a finite value ≥ 0", c.SoftMinTemperature)
	case c.Method.minOverMembers() && c.Aggregation == losses.Hull && c.SoftMinTemperature > 0:
		return fmt.Errorf("lab: Config.SoftMinTemperature = %v with Aggregation Hull, which takes no minimum over members: need 0", c.SoftMinTemperature)
	case c.DistillPairs < TrainPairs || c.DistillPairs > AllPairs:
		return fmt.Errorf("lab: Config.DistillPairs = %v is unknown", c.DistillPairs)
	case c.RewardSource < LearnedReward || c.RewardSource > OracleReward:
		return fmt.Errorf("lab: Config.RewardSource = %v is unknown", c.RewardSource)
	}
	return nil
}

// Label returns Name (required with a PairLoss), or a short description such
// as "p-DPO β=0.5 γ=0.1" (the method's PaperName).
func (c Config) Label() string {
	if c.Name != "" {
		return c.Name
	}
	d := c.WithDefaults()
	s := fmt.Sprintf("%s β=%g", d.Method.PaperName(), d.Beta)
	if label := d.Method.spec().label; label != nil {
		s += label(d)
	}
	if d.RewardSource == OracleReward && d.Method.usesRewards() {
		s += " oracle"
	}
	if d.Rho > 0 {
		s += fmt.Sprintf(" ρ=%g", d.Rho)
	}
	return s
}
