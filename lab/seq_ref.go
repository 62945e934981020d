package lab

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/robustpo/robustpo/lab/seqmodel"
)

// seqReference is everything a sequence run needs from the SFT policy π_ref,
// computed once per (task, Model, SFTSteps, SFTLearningRate, RefSamples,
// EvalSamples, EvalPrompts) and cached on disk, so every method and
// Config.Seed starts from the same π_ref (Model.Seed seeds the SFT).
type seqReference struct {
	// Params are the SFT policy's parameters.
	Params []savedParam
	// SFTLoss is the SFT loss before each step.
	SFTLoss []float64
	// KL holds RefSamples responses per training prompt sampled from π_ref,
	// with log π_ref: the samples of the forward KL and of PlusRefSamples pairs.
	KL []refSample
	// Eval holds EvalSamples responses per held-out prompt sampled from π_ref,
	// the baseline of the win rate.
	Eval [][]refSample
	// Cached is true when loaded from disk.
	Cached bool `gob:"-"`
}

// savedParam is one parameter tensor.
type savedParam struct {
	Path string
	Dims []int
	Data []float32
}

// refSample is a response sampled from π_ref for a prompt.
type refSample struct {
	Prompt   int   // index of the training or held-out prompt
	Response []int // model form (ends with EOS unless cut at the length limit)
	LogProb  float64
	Reward   float64 // oracle reward (held-out samples of a task with an oracle only)
	Length   int     // tokens before EOS
}

// referenceInputs are the cache-key inputs of the reference: what it depends
// on (the task, Model, SFTSteps, SFTLearningRate, RefSamples, EvalSamples,
// EvalPrompts) and the backend.
func referenceInputs(cfg Config, d *seqData, backend string) (cacheInputs, error) {
	return newCacheInputs("seqref", backend, d.taskFP, "", struct {
		Model                            seqmodel.Config
		SFTSteps                         int
		SFTLearningRate                  float64
		RefSamples, EvalSamples, Prompts int
		KLPrompts                        int `json:",omitzero"` // absent when all: the keys of runs before the field stay
	}{cfg.Model, cfg.SFTSteps, cfg.SFTLearningRate, cfg.RefSamples, cfg.EvalSamples, cfg.EvalPrompts, d.klPromptsKey(cfg)})
}

// referenceKey returns the reference's cache key.
func referenceKey(cfg Config, d *seqData, backend string) string {
	in, _ := referenceInputs(cfg, d, backend) // plain fields: cannot fail
	return in.key()
}

// reference returns π_ref's artifact for cfg and d: from the cache when
// allowed and its entry (seqref-<key>.gob: key inputs, checksum and the
// reference's gob) passes checkReference, else by SFT, then written to the
// cache when allowed. A bad entry and a cache that cannot be written are
// warnings, as for runs (see cacheDisk).
func reference(ctx context.Context, backend compute.Backend, cfg Config, d *seqData) (*seqReference, error) {
	useCache := useRunCache(cfg)
	in, err := referenceInputs(cfg, d, backend.Name())
	if err != nil {
		return nil, err
	}
	path := filepath.Join(CacheDir(), "seqref-"+in.key()+".gob")
	if useCache {
		ref, ok := load(disk, path, in, true, func(b []byte) (*seqReference, error) {
			var ref seqReference
			if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&ref); err != nil {
				return nil, err
			}
			return &ref, nil
		}, func(ref *seqReference) error { return checkReference(ref, cfg, d, backend) })
		if ok {
			ref.Cached = true
			return ref, nil
		}
	}
	ref, err := trainReference(ctx, backend, cfg, d)
	if err != nil {
		return nil, err
	}
	if useCache {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(ref); err != nil {
			return nil, fmt.Errorf("lab: encoding the SFT reference: %w", err)
		}
		disk.store(path, in, buf.Bytes(), true)
	}
	return ref, nil
}

// trainReference fits π_ref by SFT on the task's reference responses
// (SFTSteps Adam steps on minibatches of seqSFTBatch examples drawn with
// replacement, seeded by Model.Seed), then samples from it.
func trainReference(ctx context.Context, backend compute.Backend, cfg Config, d *seqData) (*seqReference, error) {
	task := d.task
	if len(task.Reference) == 0 && cfg.SFTSteps > 0 {
		return nil, fmt.Errorf("lab: SFT: the task has no reference responses (RefPerPrompt = 0)")
	}
	sft, err := seqmodel.NewPolicy(backend, cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("lab: SFT policy: %w", err)
	}
	ref := &seqReference{}
	if cfg.SFTSteps > 0 {
		tr, err := seqmodel.NewSFTTrainer(sft, seqmodel.AdamConfig{LearningRate: cfg.SFTLearningRate})
		if err != nil {
			return nil, fmt.Errorf("lab: SFT: %w", err)
		}
		rng := rand.New(rand.NewPCG(cfg.Model.Seed, 0x5f75f7))
		prompts := make([][]int, seqSFTBatch)
		responses := make([][]int, seqSFTBatch)
		for step := range cfg.SFTSteps {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("%w: SFT step %d of %d: %w", ErrInterrupted, step, cfg.SFTSteps, err)
			}
			for i := range prompts {
				e := task.Reference[rng.IntN(len(task.Reference))]
				prompts[i] = d.prompts[e.PromptIndex]
				responses[i] = modelResponse(task.Vocab, e.Response)
			}
			bt, err := seqmodel.NewBatch(prompts, responses, task.Vocab.PAD, d.t)
			if err != nil {
				return nil, fmt.Errorf("lab: SFT step %d: %w", step, err)
			}
			l, err := tr.Step(bt)
			if err != nil {
				return nil, fmt.Errorf("lab: SFT step %d: %w", step, err)
			}
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return nil, fmt.Errorf("lab: SFT step %d: metric loss = %v", step, l)
			}
			ref.SFTLoss = append(ref.SFTLoss, l)
		}
	}
	if ref.Params, err = saveParams(sft); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: after SFT: %w", ErrInterrupted, err)
	}

	// Samples of π_ref on the training prompts, with their log-probabilities.
	var prompts [][]int
	var idx []int
	for x := range d.prompts[:d.klPrompts(cfg)] {
		for range cfg.RefSamples {
			prompts = append(prompts, d.prompts[x])
			idx = append(idx, x)
		}
	}
	ys, err := sampleFrom(sft, task, prompts, seqSamplerSeedSFT)
	if err != nil {
		return nil, fmt.Errorf("lab: π_ref samples: %w", err)
	}
	lps, err := logProbsOf(sft, prompts, ys, task.Vocab.PAD, d.t)
	if err != nil {
		return nil, fmt.Errorf("lab: π_ref samples' log-probs: %w", err)
	}
	for i, y := range ys {
		ref.KL = append(ref.KL, refSample{Prompt: idx[i], Response: y, LogProb: lps[i], Length: responseLen(task.Vocab, y)})
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: sampling π_ref: %w", ErrInterrupted, err)
	}

	// Baseline samples on the held-out prompts.
	ref.Eval, err = evalSamples(sft, d, cfg.EvalSamples, seqSamplerSeedEvalBase)
	if err != nil {
		return nil, fmt.Errorf("lab: π_ref held-out samples: %w", err)
	}
	return ref, nil
}

// evalSamples draws n responses per held-out prompt from p, with their
// oracle rewards, lengths and log p.
func evalSamples(p *seqmodel.Policy, d *seqData, n int, seed uint64) ([][]refSample, error) {
	var prompts [][]int
	for _, x := range d.evalModel {
		for range n {
			prompts = append(prompts, x)
		}
	}
	ys, err := sampleFrom(p, d.task, prompts, seed)
	if err != nil {
		return nil, err
	}
	lps, err := logProbsOf(p, prompts, ys, d.task.Vocab.PAD, d.t)
	if err != nil {
		return nil, err
	}
	out := make([][]refSample, len(d.evalModel))
	for i, y := range ys {
		x := i / n
		s := refSample{Prompt: x, Response: y, LogProb: lps[i], Length: responseLen(d.task.Vocab, y)}
		if d.oracle {
			s.Reward = d.task.Oracle(d.evalDocs[x], y)
		}
		out[x] = append(out[x], s)
	}
	return out, nil
}

// saveParams copies the model parameters of p.
func saveParams(p *seqmodel.Policy) ([]savedParam, error) {
	var out []savedParam
	for v := range p.Store().IterVariables() {
		if !strings.HasPrefix(v.Path(), seqmodel.ModelScope+"/") {
			continue
		}
		t, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("lab: reading parameter %s: %w", v.Path(), err)
		}
		data, err := tensors.CopyFlatData[float32](t)
		if err != nil {
			return nil, fmt.Errorf("lab: reading parameter %s: %w", v.Path(), err)
		}
		out = append(out, savedParam{Path: v.Path(), Dims: t.Shape().Dimensions, Data: data})
	}
	return out, nil
}

// loadParams sets the parameters of p (built with the same Config) to params.
func loadParams(p *seqmodel.Policy, params []savedParam) error {
	for _, sp := range params {
		v := p.Store().GetVariable(sp.Path)
		if v == nil {
			return fmt.Errorf("lab: cached parameter %s is not in the model", sp.Path)
		}
		var t *tensors.Tensor
		if len(sp.Dims) == 0 {
			t = tensors.FromScalar(sp.Data[0])
		} else {
			t = tensors.FromFlatDataAndDimensions(append([]float32(nil), sp.Data...), sp.Dims...)
		}
		if !t.Shape().Equal(v.Shape()) {
			return fmt.Errorf("lab: cached parameter %s has shape %s, the model %s", sp.Path, t.Shape(), v.Shape())
		}
		if err := v.SetValue(t); err != nil {
			return fmt.Errorf("lab: setting parameter %s: %w", sp.Path, err)
		}
	}
	return nil
}
