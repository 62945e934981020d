package seqmodel

import (
	"errors"
	"fmt"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/robustpo/robustpo/losses"
)

// AdamConfig configures the Adam optimizer (Kingma & Ba; the same update as
// torch.optim.Adam):
//
//	m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
//	θ ← θ − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε) − lr·λ·θ
//
// The zero value means lr = 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-8, λ = 0.
type AdamConfig struct {
	LearningRate float64
	Beta1, Beta2 float64
	Epsilon      float64
	WeightDecay  float64
}

func (c AdamConfig) withDefaults() AdamConfig {
	if c.LearningRate == 0 {
		c.LearningRate = 1e-3
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Epsilon == 0 {
		c.Epsilon = 1e-8
	}
	return c
}

func (c AdamConfig) validate() error {
	c = c.withDefaults()
	if c.LearningRate < 0 || c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 || c.Epsilon < 0 || c.WeightDecay < 0 {
		return fmt.Errorf("seqmodel.AdamConfig %+v: need lr ≥ 0, β₁,β₂ ∈ [0,1), ε ≥ 0, weight decay ≥ 0", c)
	}
	return nil
}

// stepper runs one optimizer step of a loss graph on a model's parameters.
// Each stepper keeps its own Adam moments (scope name) in the model's Store.
type stepper struct {
	n        *net
	adam     AdamConfig
	optScope string
	exec     *model.Exec
}

func newStepper(n *net, adam AdamConfig, optScope string) (*stepper, error) {
	if err := adam.validate(); err != nil {
		return nil, err
	}
	if n.frozen {
		return nil, errors.New("seqmodel: cannot train a frozen model (take a Snapshot first)")
	}
	return &stepper{n: n, adam: adam.withDefaults(), optScope: optScope}, nil
}

// build compiles lossFn into an executor whose first output is the scalar
// loss and the others are extra per-example outputs; the graph also applies
// one Adam update to every trainable model parameter.
func (s *stepper) build(numInputs int, lossFn func(inputs []*Node) (loss *Node, extra []*Node)) error {
	opt := optimizer.Adam().
		Scope(s.optScope).
		LearningRate(s.adam.LearningRate).
		Betas(s.adam.Beta1, s.adam.Beta2).
		Epsilon(s.adam.Epsilon).
		WeightDecay(s.adam.WeightDecay).
		Done()
	e, err := model.NewExec(s.n.backend, s.n.store, func(scope *model.Scope, inputs []*Node) []*Node {
		if len(inputs) != numInputs {
			panic(fmt.Sprintf("seqmodel: training step got %d inputs, want %d", len(inputs), numInputs))
		}
		loss, extra := lossFn(inputs)
		// The learning-rate variable is shared by all steppers of a store: pin it to this stepper's value.
		lr := optimizer.LearningRateVarWithValue(scope, loss.DType(), s.adam.LearningRate)
		lr.SetNodeValue(Scalar(loss.Graph(), loss.DType(), s.adam.LearningRate))
		opt.UpdateGraph(scope.Store().RootScope(), loss.Graph(), loss)
		return append([]*Node{loss}, extra...)
	})
	if err != nil {
		return err
	}
	s.exec = e
	return nil
}

func (s *stepper) call(args ...any) ([]*tensors.Tensor, error) {
	if s.n.frozen {
		return nil, errors.New("seqmodel: model was frozen after the trainer was created")
	}
	return s.exec.Call(args...)
}

// SFTTrainer runs supervised fine-tuning steps: mean next-token
// cross-entropy over the response tokens of a batch,
//
//	L = −Σ_b Σ_{j∈resp(b)} log π(t_j | t_<j) / Σ_b |resp(b)|,
//
// followed by one Adam update.
type SFTTrainer struct {
	p *Policy
	s *stepper
}

// NewSFTTrainer prepares SFT steps on p (which must not be frozen).
func NewSFTTrainer(p *Policy, adam AdamConfig) (*SFTTrainer, error) {
	s, err := newStepper(&p.net, adam, "adam_sft")
	if err != nil {
		return nil, fmt.Errorf("NewSFTTrainer: %w", err)
	}
	t := &SFTTrainer{p: p, s: s}
	err = s.build(3, func(in []*Node) (*Node, []*Node) {
		logp, mask := tokenLogProbs(lmLogits(p.cfg, p.store, in[0]), in[0], in[1], in[2])
		count := MaxScalar(ReduceAllSum(mask), 1)
		return Neg(Div(ReduceAllSum(logp), count)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("NewSFTTrainer: building step: %w", err)
	}
	return t, nil
}

// Step takes one SFT step on the batch and returns the loss before the update.
func (t *SFTTrainer) Step(bt Batch) (float64, error) {
	if err := bt.check(t.p.cfg); err != nil {
		return 0, fmt.Errorf("SFTTrainer.Step: %w", err)
	}
	out, err := t.s.call(bt.inputs()...)
	if err != nil {
		return 0, fmt.Errorf("SFTTrainer.Step: batch %dx%d: %w", bt.Size, bt.T, err)
	}
	v, err := flat[float32](out[0])
	if err != nil {
		return 0, fmt.Errorf("SFTTrainer.Step: reading loss: %w", err)
	}
	return float64(v[0]), nil
}

// DPOConfig configures NewDPOTrainer. The zero value means β = 0.1 and the
// AdamConfig defaults.
type DPOConfig struct {
	Beta float64
	Adam AdamConfig
}

// PairLoss maps per-pair log-ratios h_w = log π_θ(y_w|x) − log π_ref(y_w|x)
// and h_l (both [batch]) to a scalar loss, e.g. losses.DPO, losses.IPO or
// losses.CDPO with β (and ε) bound.
type PairLoss func(chosenLogRatio, rejectedLogRatio *Node) *Node

// PairLossWith is a PairLoss that also reads per-step inputs the policy does
// not compute (e.g. reward margins [batch, k] for distillation), passed to
// PairTrainer.StepWith in the same order.
type PairLossWith func(chosenLogRatio, rejectedLogRatio *Node, extra []*Node) *Node

// PairTrainer runs preference steps on pairs: log π_θ of the chosen and
// rejected responses, the PairLoss of their log-ratios against precomputed
// reference log-probs, then one Adam update of π_θ.
type PairTrainer struct {
	p        *Policy
	s        *stepper
	numExtra int // extra inputs of a PairLossWith
}

// DPOTrainer is the PairTrainer of the DPO loss
//
//	L = mean_b softplus(−β·(h(x,y_w) − h(x,y_l)))   (losses.DPO).
type DPOTrainer = PairTrainer

// DPOStep is what one PairTrainer step reports, all measured before the update.
type DPOStep struct {
	Loss float64
	// ChosenLogProbs and RejectedLogProbs are log π_θ(y_w|x), log π_θ(y_l|x), [batch].
	ChosenLogProbs, RejectedLogProbs []float32
}

// NewDPOTrainer prepares DPO steps on p (which must not be frozen).
func NewDPOTrainer(p *Policy, cfg DPOConfig) (*DPOTrainer, error) {
	if cfg.Beta == 0 {
		cfg.Beta = 0.1
	}
	if cfg.Beta < 0 {
		return nil, fmt.Errorf("NewDPOTrainer: DPOConfig.Beta=%g must be positive", cfg.Beta)
	}
	beta := cfg.Beta
	t, err := newPairTrainer(p, cfg.Adam, "adam_dpo", 0, func(hw, hl *Node, _ []*Node) *Node { return losses.DPO(hw, hl, beta) })
	if err != nil {
		return nil, fmt.Errorf("NewDPOTrainer: %w", err)
	}
	return t, nil
}

// NewPairTrainer prepares steps of an arbitrary pair loss on p (which must
// not be frozen). optName names the trainer's own Adam state in the Store
// (letters, digits and underscores), so several trainers can share a policy.
func NewPairTrainer(p *Policy, adam AdamConfig, optName string, loss PairLoss) (*PairTrainer, error) {
	if loss == nil {
		return nil, fmt.Errorf("NewPairTrainer: need a loss")
	}
	return NewPairTrainerWith(p, adam, optName, 0, func(hw, hl *Node, _ []*Node) *Node { return loss(hw, hl) })
}

// NewPairTrainerWith is NewPairTrainer for a loss that also reads numExtra
// per-step input tensors, given to each StepWith call.
func NewPairTrainerWith(p *Policy, adam AdamConfig, optName string, numExtra int, loss PairLossWith) (*PairTrainer, error) {
	if loss == nil || optName == "" || strings.ContainsAny(optName, "/ ") || numExtra < 0 {
		return nil, fmt.Errorf("NewPairTrainer: need a loss, an optimizer name without '/' or spaces and numExtra >= 0, got %q, %d", optName, numExtra)
	}
	t, err := newPairTrainer(p, adam, optName, numExtra, loss)
	if err != nil {
		return nil, fmt.Errorf("NewPairTrainer: %w", err)
	}
	return t, nil
}

func newPairTrainer(p *Policy, adam AdamConfig, optName string, numExtra int, loss PairLossWith) (*PairTrainer, error) {
	s, err := newStepper(&p.net, adam, optName)
	if err != nil {
		return nil, err
	}
	err = s.build(8+numExtra, func(in []*Node) (*Node, []*Node) {
		chosen, rejected := pairLogProbs(p.cfg, p.store, in[0:3], in[3:6])
		return loss(Sub(chosen, in[6]), Sub(rejected, in[7]), in[8:]), []*Node{chosen, rejected}
	})
	if err != nil {
		return nil, fmt.Errorf("building step: %w", err)
	}
	return &PairTrainer{p: p, s: s, numExtra: numExtra}, nil
}

// pairLogProbs returns log π(y|x) of two batches; when they have the same
// padded length they go through the model as one concatenated batch.
func pairLogProbs(c Config, store *model.Store, a, b []*Node) (la, lb *Node) {
	if a[0].Shape().Equal(b[0].Shape()) {
		n := a[0].Shape().Dimensions[0]
		all := sequenceLogProbs(c, store,
			Concatenate([]*Node{a[0], b[0]}, 0), Concatenate([]*Node{a[1], b[1]}, 0), Concatenate([]*Node{a[2], b[2]}, 0))
		return Slice(all, AxisRange(0, n)), Slice(all, AxisRange(n, 2*n))
	}
	return sequenceLogProbs(c, store, a[0], a[1], a[2]), sequenceLogProbs(c, store, b[0], b[1], b[2])
}

// Step takes one DPO step. refChosen and refRejected are log π_ref(y_w|x) and
// log π_ref(y_l|x) for the rows of chosen and rejected (e.g. from a frozen
// reference Policy.LogProbs).
func (t *PairTrainer) Step(chosen, rejected Batch, refChosen, refRejected []float32) (DPOStep, error) {
	return t.StepWith(chosen, rejected, refChosen, refRejected)
}

// StepWith is Step for a trainer made by NewPairTrainerWith: extra holds its
// numExtra per-step input tensors, in order.
func (t *PairTrainer) StepWith(chosen, rejected Batch, refChosen, refRejected []float32, extra ...*tensors.Tensor) (DPOStep, error) {
	if len(extra) != t.numExtra {
		return DPOStep{}, fmt.Errorf("PairTrainer.Step: got %d extra inputs, the loss takes %d", len(extra), t.numExtra)
	}
	if err := chosen.check(t.p.cfg); err != nil {
		return DPOStep{}, fmt.Errorf("PairTrainer.Step: chosen: %w", err)
	}
	if err := rejected.check(t.p.cfg); err != nil {
		return DPOStep{}, fmt.Errorf("PairTrainer.Step: rejected: %w", err)
	}
	n := chosen.Size
	if rejected.Size != n || len(refChosen) != n || len(refRejected) != n {
		return DPOStep{}, fmt.Errorf("PairTrainer.Step: sizes differ: chosen %d, rejected %d, refChosen %d, refRejected %d",
			n, rejected.Size, len(refChosen), len(refRejected))
	}
	args := append(chosen.inputs(), rejected.inputs()...)
	args = append(args, tensors.FromFlatDataAndDimensions(refChosen, n), tensors.FromFlatDataAndDimensions(refRejected, n))
	for _, x := range extra {
		args = append(args, x)
	}
	out, err := t.s.call(args...)
	if err != nil {
		return DPOStep{}, fmt.Errorf("PairTrainer.Step: batch of %d pairs: %w", n, err)
	}
	loss, err := flat[float32](out[0])
	if err != nil {
		return DPOStep{}, fmt.Errorf("PairTrainer.Step: reading loss: %w", err)
	}
	res := DPOStep{Loss: float64(loss[0])}
	if res.ChosenLogProbs, err = flat[float32](out[1]); err != nil {
		return DPOStep{}, fmt.Errorf("PairTrainer.Step: reading chosen log-probs: %w", err)
	}
	if res.RejectedLogProbs, err = flat[float32](out[2]); err != nil {
		return DPOStep{}, fmt.Errorf("PairTrainer.Step: reading rejected log-probs: %w", err)
	}
	return res, nil
}

// BTTrainer trains a RewardModel with the Bradley–Terry loss
//
//	L = mean_b softplus(−(r(x,y_w) − r(x,y_l)))   (losses.BradleyTerry)
type BTTrainer struct {
	r *RewardModel
	s *stepper
}

// NewBTTrainer prepares Bradley–Terry steps on r (which must not be frozen).
func NewBTTrainer(r *RewardModel, adam AdamConfig) (*BTTrainer, error) {
	s, err := newStepper(&r.net, adam, "adam_bt")
	if err != nil {
		return nil, fmt.Errorf("NewBTTrainer: %w", err)
	}
	err = s.build(4, func(in []*Node) (*Node, []*Node) {
		rw := rewards(r.cfg, r.store, in[0], in[1])
		rl := rewards(r.cfg, r.store, in[2], in[3])
		return losses.BradleyTerry(rw, rl), nil
	})
	if err != nil {
		return nil, fmt.Errorf("NewBTTrainer: building step: %w", err)
	}
	return &BTTrainer{r: r, s: s}, nil
}

// Step takes one Bradley–Terry step and returns the loss before the update.
func (t *BTTrainer) Step(chosen, rejected Batch) (float64, error) {
	if err := chosen.check(t.r.cfg); err != nil {
		return 0, fmt.Errorf("BTTrainer.Step: chosen: %w", err)
	}
	if err := rejected.check(t.r.cfg); err != nil {
		return 0, fmt.Errorf("BTTrainer.Step: rejected: %w", err)
	}
	if chosen.Size != rejected.Size {
		return 0, fmt.Errorf("BTTrainer.Step: chosen has %d rows, rejected %d", chosen.Size, rejected.Size)
	}
	ti := func(x []int32, d ...int) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(x, d...) }
	out, err := t.s.call(ti(chosen.Tokens, chosen.Size, chosen.T), ti(chosen.Len, chosen.Size),
		ti(rejected.Tokens, rejected.Size, rejected.T), ti(rejected.Len, rejected.Size))
	if err != nil {
		return 0, fmt.Errorf("BTTrainer.Step: batch of %d pairs: %w", chosen.Size, err)
	}
	v, err := flat[float32](out[0])
	if err != nil {
		return 0, fmt.Errorf("BTTrainer.Step: reading loss: %w", err)
	}
	return float64(v[0]), nil
}
