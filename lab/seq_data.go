package lab

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab/seqmodel"
)

// Sequence-run defaults of shared Config fields (see the Config doc).
const (
	seqDefaultSteps        = 200
	seqDefaultLR           = 1e-3
	seqDefaultBatch        = 32
	seqDefaultRewardSteps  = 200
	seqDefaultRewardLR     = 1e-3
	seqDefaultSFTSteps     = 300
	seqDefaultSFTLR        = 3e-3
	seqDefaultRefSamples   = 2
	seqDefaultEvalSamples  = 4
	seqSFTBatch            = 32  // reference examples per SFT step
	seqChunk               = 256 // rows per forward pass when scoring or sampling many sequences
	seqSamplerSeedSFT      = 0x5f7
	seqSamplerSeedEvalBase = 0xe7a1
)

// withSeqDefaults fills the sequence-run defaults of c, then the shared ones.
func (c Config) withSeqDefaults(task *datasets.SeqTask) Config {
	if c.Steps == 0 {
		c.Steps = seqDefaultSteps
	}
	if c.LearningRate == 0 {
		c.LearningRate = seqDefaultLR
	}
	if c.BatchSize == 0 {
		c.BatchSize = seqDefaultBatch
	}
	if c.RewardSteps == 0 {
		c.RewardSteps = seqDefaultRewardSteps
	}
	if c.RewardLearningRate == 0 {
		c.RewardLearningRate = seqDefaultRewardLR
	}
	if c.LogEvery == 0 {
		c.LogEvery = max(1, c.Steps/10)
	}
	if c.SFTSteps == 0 {
		c.SFTSteps = seqDefaultSFTSteps
	}
	if c.SFTLearningRate == 0 {
		c.SFTLearningRate = seqDefaultSFTLR
	}
	if c.RefSamples == 0 {
		c.RefSamples = seqDefaultRefSamples
	}
	if c.KLBatch == 0 {
		c.KLBatch = c.BatchSize
	}
	c.KLBatch += c.KLBatch % 2
	if c.EvalSamples == 0 {
		c.EvalSamples = seqDefaultEvalSamples
	}
	if task != nil {
		if c.Model.VocabSize == 0 {
			c.Model.VocabSize = task.Vocab.Size
		}
		if c.Model.MaxLen == 0 {
			c.Model.MaxLen = task.MaxLen()
		}
		if c.EvalPrompts == 0 || c.EvalPrompts > len(task.EvalPrompts) {
			c.EvalPrompts = len(task.EvalPrompts)
		}
	}
	c.Model = c.Model.WithDefaults()
	return c.WithDefaults()
}

// validateSeq checks a defaulted sequence config against its task.
func (c Config) validateSeq(task *datasets.SeqTask) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := c.Model.Validate(); err != nil {
		return fmt.Errorf("lab: Config.Model: %w", err)
	}
	switch {
	case c.Method == RLHF:
		return errors.New("lab: Config.Method = RLHF is not available for sequence runs")
	case c.DistillPairs == AllPairs:
		return errors.New("lab: Config.DistillPairs = AllPairs is not available for sequence runs (responses are unbounded)")
	case !(c.Rho >= 0 && c.Rho <= 1):
		return fmt.Errorf("lab: Config.Rho = %v, need 0 ≤ Rho ≤ 1", c.Rho)
	case c.KLPrompts < 0:
		return fmt.Errorf("lab: Config.KLPrompts = %d, need ≥ 0 (0: all training prompts)", c.KLPrompts)
	case c.SFTSteps < 0 || c.RefSamples < 1 || c.KLBatch < 2 || c.EvalSamples < 1:
		return fmt.Errorf("lab: Config SFTSteps=%d RefSamples=%d KLBatch=%d EvalSamples=%d, need SFTSteps ≥ 0 and the others ≥ 1",
			c.SFTSteps, c.RefSamples, c.KLBatch, c.EvalSamples)
	case !(c.SFTLearningRate > 0) || math.IsInf(c.SFTLearningRate, 0):
		return fmt.Errorf("lab: Config.SFTLearningRate = %v, need a finite value > 0", c.SFTLearningRate)
	case c.EvalPrompts < 1:
		return fmt.Errorf("lab: Config.EvalPrompts = %d, but the task has %d held-out prompts: need ≥ 1", c.EvalPrompts, len(task.EvalPrompts))
	case c.Model.VocabSize < task.Vocab.Size:
		return fmt.Errorf("lab: Config.Model.VocabSize = %d is smaller than the task's vocabulary (%d)", c.Model.VocabSize, task.Vocab.Size)
	case !task.HasOracle() && c.RewardSource == OracleReward:
		return errors.New("lab: Config.RewardSource = OracleReward, but the task has no oracle (it was built from text pairs)")
	case c.Model.MaxLen < task.MaxLen():
		return fmt.Errorf("lab: Config.Model.MaxLen = %d is shorter than the task's longest sequence (%d)", c.Model.MaxLen, task.MaxLen())
	}
	return nil
}

// klPrompts is the number of training prompts π_ref is sampled on for the
// forward KL: Config.KLPrompts when in (0, len(d.prompts)), else all.
func (d *seqData) klPrompts(cfg Config) int {
	if cfg.KLPrompts > 0 && cfg.KLPrompts < len(d.prompts) {
		return cfg.KLPrompts
	}
	return len(d.prompts)
}

// klPromptsKey is klPrompts for the cache keys: 0 when all prompts are
// sampled.
func (d *seqData) klPromptsKey(cfg Config) int {
	if n := d.klPrompts(cfg); n < len(d.prompts) {
		return n
	}
	return 0
}

// seqPair is a labelled pair in model form: responses end with EOS.
type seqPair struct {
	prompt             int // index into seqData.prompts
	chosen, rejected   []int
	chosenR, rejectedR float64 // oracle rewards; without an oracle 1 and 0, the label's order
}

// seqData is a task in model form: prompts as BOS x SEP, responses as y EOS,
// every row padded to t tokens.
type seqData struct {
	task      *datasets.SeqTask
	name      string
	taskFP    string // the task's contents
	dataFP    string // the task and the training pairs
	evalFP    string // the task and the evaluation prompts
	t         int
	prompts   [][]int // training prompts, model form
	pairs     []seqPair
	rho       float64 // achieved ρ of the split (NaN without a split)
	evalDocs  [][]int // held-out documents (for the oracle)
	evalModel [][]int // the same, model form
	oracle    bool    // the task has an oracle reward (task.HasOracle)
	// held are the task's held-out pairs (task.HeldOut) in model form, their
	// prompt indices into heldPrompts (every held-out prompt, model form).
	held        []seqPair
	heldPrompts [][]int
}

// metricNames returns the metrics a run of cfg on d logs, in logging order:
// seqMetricNames on a task with an oracle; without one, those that need no
// oracle (no oracle/reward, win rate or length of π's samples, and no
// kl/reverse: π is not sampled); then, with held-out pairs,
// heldout/accuracy and heldout/margins, and reward/heldout_accuracy for
// Distill and EDPO.
func (d *seqData) metricNames(cfg Config) []string {
	names := seqMetricNames
	if !d.oracle {
		names = seqMetricNamesNoOracle
	}
	if len(d.held) > 0 {
		names = append(slices.Clone(names), "heldout/accuracy", "heldout/margins")
		if cfg.Method.distills() {
			names = append(names, "reward/heldout_accuracy")
		}
	}
	return names
}

// newSeqData encodes task, split by cfg.Rho when > 0, for a defaulted cfg.
func newSeqData(task *datasets.SeqTask, cfg Config) (*seqData, error) {
	v := task.Vocab
	d := &seqData{task: task, t: task.MaxLen(), rho: math.NaN(), oracle: task.HasOracle()}
	d.taskFP = taskFingerprint(task)
	d.name = fmt.Sprintf("LengthBias(seed=%d, %d prompts)", task.Config.Seed, len(task.Prompts))
	if tx := task.Text; tx != nil {
		d.name = fmt.Sprintf("Text(seed=%d, %d train / %d held-out pairs, prompts' last %d bytes, replies' first %d)",
			tx.Config.Seed, len(task.Pairs), len(task.HeldOut), tx.Config.PromptBytes, tx.Config.ReplyBytes)
	}
	for _, x := range task.Prompts {
		d.prompts = append(d.prompts, modelPrompt(v, x))
	}
	pairs := task.Pairs
	if cfg.Rho > 0 {
		split, err := task.Split(cfg.Rho)
		if err != nil {
			return nil, fmt.Errorf("lab: Config.Rho = %v: %w", cfg.Rho, err)
		}
		pairs, d.rho = split.Pairs, split.Rho
		d.name += fmt.Sprintf(" ρ=%g", cfg.Rho)
	}
	if len(pairs) == 0 {
		return nil, errors.New("lab: the task has no preference pairs")
	}
	h := sha256.New()
	fmt.Fprintf(h, "task %s\n", d.taskFP)
	for i, p := range pairs {
		if p.PromptIndex < 0 || p.PromptIndex >= len(task.Prompts) {
			return nil, fmt.Errorf("lab: task pair %d: PromptIndex %d outside [0, %d)", i, p.PromptIndex, len(task.Prompts))
		}
		sp := seqPair{prompt: p.PromptIndex, chosen: modelResponse(v, p.Chosen), rejected: modelResponse(v, p.Rejected),
			chosenR: p.ChosenReward, rejectedR: p.RejectedReward}
		if !d.oracle {
			sp.chosenR, sp.rejectedR = 1, 0
		}
		if len(d.prompts[sp.prompt])+max(len(sp.chosen), len(sp.rejected)) > d.t {
			return nil, fmt.Errorf("lab: task pair %d: longer than the task's MaxLen %d", i, d.t)
		}
		d.pairs = append(d.pairs, sp)
		hashInts(h, []int{p.PromptIndex})
		hashInts(h, p.Chosen)
		hashInts(h, p.Rejected)
	}
	d.dataFP = hex.EncodeToString(h.Sum(nil))
	h = sha256.New()
	// "step0=ref": the evaluation before the first step reuses π_ref's held-out
	// samples (runs logged before that sampled π there and are not served).
	fmt.Fprintf(h, "task %s\neval %d step0=ref\n", d.taskFP, cfg.EvalPrompts)
	d.evalFP = hex.EncodeToString(h.Sum(nil))
	for _, x := range task.EvalPrompts[:cfg.EvalPrompts] {
		d.evalDocs = append(d.evalDocs, x)
		d.evalModel = append(d.evalModel, modelPrompt(v, x))
	}
	if len(task.HeldOut) > 0 {
		for _, x := range task.EvalPrompts {
			d.heldPrompts = append(d.heldPrompts, modelPrompt(v, x))
		}
		for i, p := range task.HeldOut {
			if p.PromptIndex < 0 || p.PromptIndex >= len(task.EvalPrompts) {
				return nil, fmt.Errorf("lab: task held-out pair %d: PromptIndex %d outside [0, %d)", i, p.PromptIndex, len(task.EvalPrompts))
			}
			sp := seqPair{prompt: p.PromptIndex, chosen: modelResponse(v, p.Chosen), rejected: modelResponse(v, p.Rejected), chosenR: 1}
			if len(d.heldPrompts[sp.prompt])+max(len(sp.chosen), len(sp.rejected)) > d.t {
				return nil, fmt.Errorf("lab: task held-out pair %d: longer than the task's MaxLen %d", i, d.t)
			}
			d.held = append(d.held, sp)
		}
	}
	return d, nil
}

// modelPrompt returns BOS x SEP.
func modelPrompt(v datasets.Vocab, x []int) []int {
	out := append([]int{v.BOS}, x...)
	return append(out, v.SEP)
}

// modelResponse returns y EOS.
func modelResponse(v datasets.Vocab, y []int) []int {
	return append(append([]int{}, y...), v.EOS)
}

// responseLen is the number of tokens of a sampled response before its EOS.
func responseLen(v datasets.Vocab, y []int) int {
	for i, id := range y {
		if id == v.EOS {
			return i
		}
	}
	return len(y)
}

// taskFingerprint hashes every field of a task.
func taskFingerprint(task *datasets.SeqTask) string {
	h := sha256.New()
	b, _ := json.Marshal(task.Config) // plain fields always marshal
	fmt.Fprintf(h, "lengthbias %s\nvocab %+v\n", b, task.Vocab)
	for _, x := range task.Prompts {
		hashInts(h, x)
	}
	for _, e := range task.Reference {
		hashInts(h, []int{e.PromptIndex})
		hashInts(h, e.Response)
	}
	for _, p := range task.Pairs {
		hashInts(h, []int{p.PromptIndex})
		hashInts(h, p.Chosen)
		hashInts(h, p.Rejected)
		_ = binary.Write(h, binary.LittleEndian, [2]float64{p.ChosenReward, p.RejectedReward})
	}
	for _, x := range task.EvalPrompts {
		hashInts(h, x)
	}
	// Held-out pairs and the text origin are hashed only when present, so a
	// LengthBias task keeps the fingerprint (and cache keys) it had before.
	if len(task.HeldOut) > 0 || task.Text != nil {
		tb, _ := json.Marshal(task.Text)
		fmt.Fprintf(h, "heldout %d\ntext %s\n", len(task.HeldOut), tb)
		for _, p := range task.HeldOut {
			hashInts(h, []int{p.PromptIndex})
			hashInts(h, p.Chosen)
			hashInts(h, p.Rejected)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func hashInts(h hash.Hash, xs []int) {
	buf := make([]byte, 0, 4*len(xs)+4)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(xs)))
	for _, x := range xs {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(x))
	}
	h.Write(buf)
}

// logProbsOf returns log π(responses[i] | prompts[i]) for every row, in
// forward passes of seqChunk rows padded to t tokens (the last chunk padded
// with copies of its last row, so every pass has the same shape).
func logProbsOf(p *seqmodel.Policy, prompts, responses [][]int, padID, t int) ([]float64, error) {
	return scoreRows(p.LogProbs, prompts, responses, padID, t)
}

// rewardsOf is logProbsOf for a reward model's r(x, y).
func rewardsOf(r *seqmodel.RewardModel, prompts, responses [][]int, padID, t int) ([]float64, error) {
	return scoreRows(r.Rewards, prompts, responses, padID, t)
}

// pairRewards returns r's rewards of both responses of pairs (prompts[j],
// ya[j], yb[j]), the first error of either side.
func pairRewards(r *seqmodel.RewardModel, prompts, ya, yb [][]int, padID, t int) (ra, rb []float64, err error) {
	if ra, err = rewardsOf(r, prompts, ya, padID, t); err != nil {
		return nil, nil, err
	}
	if rb, err = rewardsOf(r, prompts, yb, padID, t); err != nil {
		return nil, nil, err
	}
	return ra, rb, nil
}

// scoreRows applies score to the rows in chunks and returns one float64 per row.
func scoreRows(score func(seqmodel.Batch) ([]float32, error), prompts, responses [][]int, padID, t int) ([]float64, error) {
	out := make([]float64, 0, len(prompts))
	err := chunked(prompts, responses, padID, t, func(bt seqmodel.Batch, n int) error {
		vs, err := score(bt)
		if err != nil {
			return err
		}
		for _, v := range vs[:n] {
			out = append(out, float64(v))
		}
		return nil
	})
	return out, err
}

// chunked calls f on batches of seqChunk rows (fewer when there are fewer
// rows in all), n being the number of real rows of the batch.
func chunked(prompts, responses [][]int, padID, t int, f func(bt seqmodel.Batch, n int) error) error {
	size := min(seqChunk, len(prompts))
	for s := 0; s < len(prompts); s += size {
		e := min(len(prompts), s+size)
		ps, rs := prompts[s:e], responses[s:e]
		if n := e - s; n < size {
			ps = append(append([][]int{}, ps...), make([][]int, size-n)...)
			rs = append(append([][]int{}, rs...), make([][]int, size-n)...)
			for i := n; i < size; i++ {
				ps[i], rs[i] = ps[n-1], rs[n-1]
			}
		}
		bt, err := seqmodel.NewBatch(ps, rs, padID, t)
		if err != nil {
			return fmt.Errorf("rows %d..%d: %w", s, e-1, err)
		}
		if err := f(bt, e-s); err != nil {
			return fmt.Errorf("rows %d..%d: %w", s, e-1, err)
		}
	}
	return nil
}

// sampleFrom draws one response per prompt from p (temperature 1, full
// softmax, stopping at EOS or after MaxResponseLen+1 tokens), in passes of
// seqChunk rows seeded seed, seed+1, ….
func sampleFrom(p *seqmodel.Policy, task *datasets.SeqTask, prompts [][]int, seed uint64) ([][]int, error) {
	out := make([][]int, 0, len(prompts))
	size := min(seqChunk, len(prompts))
	for s, c := 0, uint64(0); s < len(prompts); s, c = s+size, c+1 {
		e := min(len(prompts), s+size)
		ps := prompts[s:e]
		if n := e - s; n < size {
			ps = append(append([][]int{}, ps...), make([][]int, size-n)...)
			for i := n; i < size; i++ {
				ps[i] = ps[n-1]
			}
		}
		ys, err := p.Sample(ps, seqmodel.SampleConfig{
			MaxNewTokens: task.Config.MaxResponseLen + 1, UseEOS: true, EOS: task.Vocab.EOS,
			PadID: task.Vocab.PAD, Seed: seed + c,
		})
		if err != nil {
			return nil, fmt.Errorf("sampling rows %d..%d: %w", s, e-1, err)
		}
		out = append(out, ys[:e-s]...)
	}
	return out, nil
}
