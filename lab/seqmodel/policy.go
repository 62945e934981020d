package seqmodel

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// net is what Policy and RewardModel share: config, backend and parameters.
type net struct {
	cfg     Config
	backend compute.Backend
	store   *model.Store
	frozen  bool
}

func newNet(backend compute.Backend, cfg Config, reward bool) (net, error) {
	if backend == nil {
		return net{}, errors.New("seqmodel: nil backend")
	}
	if err := cfg.Validate(); err != nil {
		return net{}, err
	}
	cfg = cfg.WithDefaults()
	return net{cfg: cfg, backend: backend, store: initStore(cfg, reward)}, nil
}

// Config returns the model config with defaults filled in.
func (n *net) Config() Config { return n.cfg }

// Store returns the parameter store (model parameters under ModelScope,
// optimizer state elsewhere).
func (n *net) Store() *model.Store { return n.store }

// Backend returns the compute backend the model runs on.
func (n *net) Backend() compute.Backend { return n.backend }

// Freeze marks every parameter non-trainable; training steps on a frozen
// model fail. There is no unfreeze: take a Snapshot to train a copy.
func (n *net) Freeze() {
	n.frozen = true
	for v := range n.store.IterVariables() {
		v.SetTrainable(false)
	}
}

// Frozen reports whether Freeze was called.
func (n *net) Frozen() bool { return n.frozen }

// NumParameters is the number of scalar model parameters (optimizer state excluded).
func (n *net) NumParameters() int {
	total := 0
	for v := range n.store.IterVariables() {
		if strings.HasPrefix(v.Path(), ModelScope+"/") {
			total += v.Shape().Size()
		}
	}
	return total
}

// snapshotStore deep-copies the model parameters (not the optimizer state),
// trainable.
func (n *net) snapshotStore() (*model.Store, error) {
	store := model.NewStore()
	for v := range n.store.IterVariables() {
		if !strings.HasPrefix(v.Path(), ModelScope+"/") {
			continue
		}
		nv, err := v.CloneToStore(store)
		if err != nil {
			return nil, fmt.Errorf("seqmodel: snapshot of %s: %w", v.Path(), err)
		}
		nv.SetTrainable(true)
	}
	return store, nil
}

// Policy is the causal transformer language model π_θ(y|x).
type Policy struct {
	net
	logProbExec *model.Exec // (tokens, promptLen, seqLen) -> [B] log π(y|x)
	nextExec    *model.Exec // (tokens, pos) -> [B,V] logits predicting position pos+1
}

// NewPolicy builds a policy with freshly initialised parameters (see Config).
func NewPolicy(backend compute.Backend, cfg Config) (*Policy, error) {
	n, err := newNet(backend, cfg, false)
	if err != nil {
		return nil, err
	}
	return &Policy{net: n}, nil
}

// Snapshot returns an independent, trainable copy of the policy's parameters
// (optimizer state is not copied). π_ref is sft.Snapshot() followed by Freeze.
func (p *Policy) Snapshot() (*Policy, error) {
	store, err := p.snapshotStore()
	if err != nil {
		return nil, err
	}
	return &Policy{net: net{cfg: p.cfg, backend: p.backend, store: store}}, nil
}

// LogProbs returns log π(y|x) for every row of the batch: the sum over
// response tokens of log softmax(logits)[token]; prompt and padding masked.
// The result has length bt.Size.
func (p *Policy) LogProbs(bt Batch) ([]float32, error) {
	if err := bt.check(p.cfg); err != nil {
		return nil, fmt.Errorf("Policy.LogProbs: %w", err)
	}
	if p.logProbExec == nil {
		e, err := model.NewExec(p.backend, p.store, func(_ *model.Scope, tokens, promptLen, seqLen *Node) *Node {
			return sequenceLogProbs(p.cfg, p.store, tokens, promptLen, seqLen)
		})
		if err != nil {
			return nil, fmt.Errorf("Policy.LogProbs: building executor: %w", err)
		}
		p.logProbExec = e
	}
	out, err := p.logProbExec.Call(bt.inputs()...)
	if err != nil {
		return nil, fmt.Errorf("Policy.LogProbs: executing on batch %dx%d: %w", bt.Size, bt.T, err)
	}
	return flat[float32](out[0])
}

// NextLogits returns the logits [B·V] of the next token after position
// pos[b] of each row: logits[b,pos[b],:]. Tokens after pos[b] do not matter.
func (p *Policy) NextLogits(tokens []int32, size, t int, pos []int32) ([]float32, error) {
	bt := Batch{Tokens: tokens, Size: size, T: t, PromptLen: make([]int32, size), Len: make([]int32, size)}
	for b := range size {
		bt.PromptLen[b], bt.Len[b] = 1, int32(t)
		if pos[b] < 0 || int(pos[b]) >= t {
			return nil, fmt.Errorf("Policy.NextLogits: row %d: position %d outside [0, %d)", b, pos[b], t)
		}
	}
	if err := bt.check(p.cfg); err != nil {
		return nil, fmt.Errorf("Policy.NextLogits: %w", err)
	}
	if p.nextExec == nil {
		e, err := model.NewExec(p.backend, p.store, func(_ *model.Scope, tokens, pos *Node) *Node {
			logits := lmLogits(p.cfg, p.store, tokens)                       // [B,T,V]
			sel := OneHot(pos, tokens.Shape().Dimensions[1], logits.DType()) // [B,T]
			return Einsum("btv,bt->bv", logits, sel)
		})
		if err != nil {
			return nil, fmt.Errorf("Policy.NextLogits: building executor: %w", err)
		}
		p.nextExec = e
	}
	out, err := p.nextExec.Call(tensors.FromFlatDataAndDimensions(tokens, size, t),
		tensors.FromFlatDataAndDimensions(pos, size))
	if err != nil {
		return nil, fmt.Errorf("Policy.NextLogits: executing on batch %dx%d: %w", size, t, err)
	}
	return flat[float32](out[0])
}

// RewardModel is the transformer trunk with a scalar head r_φ(x,y).
type RewardModel struct {
	net
	rewardExec *model.Exec
}

// NewRewardModel builds a reward model with freshly initialised parameters.
func NewRewardModel(backend compute.Backend, cfg Config) (*RewardModel, error) {
	n, err := newNet(backend, cfg, true)
	if err != nil {
		return nil, err
	}
	return &RewardModel{net: n}, nil
}

// InitTrunkFrom copies the policy's trunk parameters (embeddings, blocks,
// final norm) into the reward model; the scalar head keeps its values.
// Configs must agree on every size.
func (r *RewardModel) InitTrunkFrom(p *Policy) error {
	a, b := r.cfg, p.cfg
	a.UntiedOutput, b.UntiedOutput = false, false
	a.Seed, b.Seed = 0, 0
	if a != b {
		return fmt.Errorf("RewardModel.InitTrunkFrom: configs differ: reward %+v, policy %+v", r.cfg, p.cfg)
	}
	for _, s := range paramSpecs(r.cfg, true) {
		src := p.store.GetVariable(s.path)
		if src == nil {
			continue // reward head
		}
		val, err := src.Value()
		if err != nil {
			return fmt.Errorf("RewardModel.InitTrunkFrom: reading %s: %w", s.path, err)
		}
		cp, err := val.Clone()
		if err != nil {
			return fmt.Errorf("RewardModel.InitTrunkFrom: copying %s: %w", s.path, err)
		}
		if err := r.store.GetVariable(s.path).SetValue(cp); err != nil {
			return fmt.Errorf("RewardModel.InitTrunkFrom: setting %s: %w", s.path, err)
		}
	}
	return nil
}

// Snapshot returns an independent, trainable copy of the reward model.
func (r *RewardModel) Snapshot() (*RewardModel, error) {
	store, err := r.snapshotStore()
	if err != nil {
		return nil, err
	}
	return &RewardModel{net: net{cfg: r.cfg, backend: r.backend, store: store}}, nil
}

// Rewards returns r_φ(x,y) for each row, read at the last real token.
func (r *RewardModel) Rewards(bt Batch) ([]float32, error) {
	if err := bt.check(r.cfg); err != nil {
		return nil, fmt.Errorf("RewardModel.Rewards: %w", err)
	}
	if r.rewardExec == nil {
		e, err := model.NewExec(r.backend, r.store, func(_ *model.Scope, tokens, seqLen *Node) *Node {
			return rewards(r.cfg, r.store, tokens, seqLen)
		})
		if err != nil {
			return nil, fmt.Errorf("RewardModel.Rewards: building executor: %w", err)
		}
		r.rewardExec = e
	}
	out, err := r.rewardExec.Call(tensors.FromFlatDataAndDimensions(bt.Tokens, bt.Size, bt.T),
		tensors.FromFlatDataAndDimensions(bt.Len, bt.Size))
	if err != nil {
		return nil, fmt.Errorf("RewardModel.Rewards: executing on batch %dx%d: %w", bt.Size, bt.T, err)
	}
	return flat[float32](out[0])
}

// inputs returns the batch as (tokens [B,T], promptLen [B], seqLen [B]) tensors.
func (bt Batch) inputs() []any {
	return []any{
		tensors.FromFlatDataAndDimensions(bt.Tokens, bt.Size, bt.T),
		tensors.FromFlatDataAndDimensions(bt.PromptLen, bt.Size),
		tensors.FromFlatDataAndDimensions(bt.Len, bt.Size),
	}
}

// flat copies a tensor's values out and releases it.
func flat[T float32 | float64 | int32](t *tensors.Tensor) ([]T, error) {
	defer func() { _ = t.FinalizeAll() }()
	return tensors.CopyFlatData[T](t)
}
