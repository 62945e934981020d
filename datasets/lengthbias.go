package datasets

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// LengthBiasConfig sizes the synthetic length-biased summarization task built
// by [LengthBias]. The zero value of every field means its documented
// default, so LengthBiasConfig{} is the CI-sized task: vocabulary 64,
// sequences of at most 1+24+1+16+1 = 43 tokens.
type LengthBiasConfig struct {
	// Seed makes the task deterministic: equal configs give equal tasks.
	Seed uint64
	// VocabSize is the number of token ids, specials included. Default 64.
	VocabSize int
	// NumSalient is the number of salient token ids (4 .. 4+NumSalient−1).
	// Default 16.
	NumSalient int
	// DocLen is the length of every document (prompt). Default 24.
	DocLen int
	// SalientPerDoc is the number of distinct salient tokens in a document.
	// Default 4.
	SalientPerDoc int
	// MinResponseLen and MaxResponseLen bound the candidate response lengths
	// (uniform in between, inclusive). Defaults 2 and 16.
	MinResponseLen, MaxResponseLen int
	// NumTrain is the number of training prompts. Default 256.
	NumTrain int
	// NumEval is the number of held-out evaluation prompts. Default 64.
	NumEval int
	// PairsPerPrompt is the number of labelled pairs per training prompt.
	// Default 4.
	PairsPerPrompt int
	// RefPerPrompt is the number of reference (SFT) responses per training
	// prompt. Default 4.
	RefPerPrompt int
	// LengthWeight is λ in the oracle; it must be > 0. Default 0.1.
	LengthWeight float64
	// MaxHallucination is the largest per-token probability, for a candidate,
	// of writing a token absent from the document; each candidate draws its
	// own rate uniformly in [0, MaxHallucination]. Default 0.3.
	MaxHallucination float64
	// BTScale is the inverse temperature of the Bradley–Terry labels:
	// P(y1 ≻ y2) = σ(BTScale·(r*(x,y1) − r*(x,y2))). Default 1.
	BTScale float64
	// LengthGap is the length difference from which a pair counts as
	// "differing in length" for [SeqTask.Split]. Default 3.
	LengthGap int
}

func (c LengthBiasConfig) withDefaults() (LengthBiasConfig, error) {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.VocabSize, 64)
	def(&c.NumSalient, 16)
	def(&c.DocLen, 24)
	def(&c.SalientPerDoc, 4)
	def(&c.MinResponseLen, 2)
	def(&c.MaxResponseLen, 16)
	def(&c.NumTrain, 256)
	def(&c.NumEval, 64)
	def(&c.PairsPerPrompt, 4)
	def(&c.RefPerPrompt, 4)
	def(&c.LengthGap, 3)
	if c.LengthWeight == 0 {
		c.LengthWeight = 0.1
	}
	if c.MaxHallucination == 0 {
		c.MaxHallucination = 0.3
	}
	if c.BTScale == 0 {
		c.BTScale = 1
	}
	numFiller := c.VocabSize - SynthFirstContent - c.NumSalient
	switch {
	case c.NumSalient < 1:
		return c, fmt.Errorf("NumSalient = %d, want ≥ 1", c.NumSalient)
	case numFiller < 2:
		return c, fmt.Errorf("VocabSize = %d leaves %d filler tokens after 4 specials and %d salient, want ≥ 2", c.VocabSize, numFiller, c.NumSalient)
	case c.SalientPerDoc < 1 || c.SalientPerDoc > c.NumSalient:
		return c, fmt.Errorf("SalientPerDoc = %d, want in [1, NumSalient=%d]", c.SalientPerDoc, c.NumSalient)
	case c.DocLen < c.SalientPerDoc+1:
		return c, fmt.Errorf("DocLen = %d, want ≥ SalientPerDoc+1 = %d", c.DocLen, c.SalientPerDoc+1)
	case c.MinResponseLen < 1 || c.MaxResponseLen < c.MinResponseLen:
		return c, fmt.Errorf("response lengths [%d, %d], want 1 ≤ MinResponseLen ≤ MaxResponseLen", c.MinResponseLen, c.MaxResponseLen)
	case c.NumTrain < 1 || c.NumEval < 0 || c.PairsPerPrompt < 1 || c.RefPerPrompt < 0:
		return c, fmt.Errorf("sizes NumTrain=%d NumEval=%d PairsPerPrompt=%d RefPerPrompt=%d, want NumTrain, PairsPerPrompt ≥ 1 and the others ≥ 0",
			c.NumTrain, c.NumEval, c.PairsPerPrompt, c.RefPerPrompt)
	case !(c.LengthWeight > 0) || math.IsInf(c.LengthWeight, 0):
		return c, fmt.Errorf("LengthWeight = %v, want finite > 0", c.LengthWeight)
	case !(c.MaxHallucination > 0 && c.MaxHallucination <= 1):
		return c, fmt.Errorf("MaxHallucination = %v, want in (0, 1]", c.MaxHallucination)
	case !(c.BTScale > 0) || math.IsInf(c.BTScale, 0):
		return c, fmt.Errorf("BTScale = %v, want finite > 0", c.BTScale)
	case c.LengthGap < 1:
		return c, fmt.Errorf("LengthGap = %d, want ≥ 1", c.LengthGap)
	}
	return c, nil
}

// SeqPair is one labelled preference pair of a [SeqTask]: token ids without
// special tokens, and the oracle rewards r*(Prompt, ·) of both responses.
// Slices may be shared with the task: treat them as read-only.
type SeqPair struct {
	// PromptIndex is the index of Prompt in [SeqTask.Prompts].
	PromptIndex int
	// Prompt, Chosen and Rejected are token ids (no BOS/SEP/EOS/PAD).
	Prompt, Chosen, Rejected []int
	// ChosenReward and RejectedReward are r*(Prompt, Chosen) and
	// r*(Prompt, Rejected).
	ChosenReward, RejectedReward float64
}

// SeqExample is one reference (SFT) example: a prompt and a response.
type SeqExample struct {
	// PromptIndex is the index of Prompt in [SeqTask.Prompts].
	PromptIndex int
	// Prompt and Response are token ids (no special tokens).
	Prompt, Response []int
}

// SeqTask is a synthetic sequence preference task over plain int token ids.
// Build it with [LengthBias]. Its slices are read-only after construction.
type SeqTask struct {
	// Config is the configuration with every default filled in.
	Config LengthBiasConfig
	// Vocab is the id space: PAD 0, BOS 1, EOS 2, SEP 3, then salient, then
	// filler tokens.
	Vocab Vocab
	// Prompts are the training documents, each of length DocLen.
	Prompts [][]int
	// Reference holds RefPerPrompt reference (SFT) responses per training
	// prompt, to train π_ref. They come from the candidate generator, so the
	// labelled pairs lie in the support of π_ref.
	Reference []SeqExample
	// Pairs holds PairsPerPrompt labelled pairs per training prompt, the
	// label drawn by Bradley–Terry on the oracle reward.
	Pairs []SeqPair
	// EvalPrompts are held-out documents, disjoint in draw from Prompts.
	EvalPrompts [][]int
	// HeldOut holds labelled pairs on held-out prompts (PromptIndex indexes
	// EvalPrompts), to measure preference accuracy away from the training
	// pairs. [LengthBias] leaves it empty; [TextSeqTask] fills it.
	HeldOut []SeqPair
	// Text is set on a task built from text pairs by [TextSeqTask] (nil for
	// [LengthBias]): such a task has no oracle.
	Text *TextSeqInfo
}

// HasOracle reports whether the task has an oracle reward r* (a synthetic
// task) or not (a task built from text pairs, whose pairs carry NaN rewards
// and whose [SeqTask.Oracle] is NaN).
func (t *SeqTask) HasOracle() bool { return t.Text == nil }

// LengthBias builds the synthetic length-biased summarization task.
//
// Documents: DocLen tokens holding SalientPerDoc distinct salient tokens
// (one occurrence each, at random positions) and filler tokens drawn
// uniformly with repetition.
//
// Candidate generator (see [SeqTask.Candidate]): a length L uniform in
// [MinResponseLen, MaxResponseLen], a hallucination rate h uniform in
// [0, MaxHallucination] and a salience preference p uniform in [0, 1] are
// drawn per response; each token is, with probability h, a content token
// absent from the document, otherwise with probability p a salient token of
// the document, otherwise a token at a uniform position of the document.
//
// Oracle (see [SeqTask.Oracle]): r*(x,y) = covered − hallucinated + λ·len(y).
// Labels: y1 ≻ y2 with probability σ(BTScale·(r*(x,y1) − r*(x,y2))).
func LengthBias(cfg LengthBiasConfig) (*SeqTask, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("datasets: LengthBias config: %w", err)
	}
	t := &SeqTask{
		Config: c,
		Vocab:  Vocab{Size: c.VocabSize, PAD: SynthPAD, BOS: SynthBOS, EOS: SynthEOS, SEP: SynthSEP},
	}
	docRNG := rand.New(rand.NewPCG(c.Seed, 0x646f6373)) // "docs"
	t.Prompts = make([][]int, c.NumTrain)
	for i := range t.Prompts {
		t.Prompts[i] = t.document(docRNG)
	}
	evalRNG := rand.New(rand.NewPCG(c.Seed, 0x6576616c)) // "eval"
	t.EvalPrompts = make([][]int, c.NumEval)
	for i := range t.EvalPrompts {
		t.EvalPrompts[i] = t.document(evalRNG)
	}
	refRNG := rand.New(rand.NewPCG(c.Seed, 0x73667400)) // "sft"
	t.Reference = make([]SeqExample, 0, c.NumTrain*c.RefPerPrompt)
	for i, x := range t.Prompts {
		for range c.RefPerPrompt {
			t.Reference = append(t.Reference, SeqExample{PromptIndex: i, Prompt: x, Response: t.Candidate(x, refRNG)})
		}
	}
	pairRNG := rand.New(rand.NewPCG(c.Seed, 0x70616972)) // "pair"
	t.Pairs = make([]SeqPair, 0, c.NumTrain*c.PairsPerPrompt)
	for i, x := range t.Prompts {
		for range c.PairsPerPrompt {
			a := t.Candidate(x, pairRNG)
			b := t.Candidate(x, pairRNG)
			for slices.Equal(a, b) {
				b = t.Candidate(x, pairRNG)
			}
			ra, rb := t.Oracle(x, a), t.Oracle(x, b)
			if pairRNG.Float64() >= logistic(c.BTScale*(ra-rb)) {
				a, b, ra, rb = b, a, rb, ra
			}
			t.Pairs = append(t.Pairs, SeqPair{PromptIndex: i, Prompt: x, Chosen: a, Rejected: b, ChosenReward: ra, RejectedReward: rb})
		}
	}
	return t, nil
}

func logistic(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// MaxLen is the longest joined sequence, BOS prompt SEP response EOS:
// DocLen + MaxResponseLen + 3.
func (t *SeqTask) MaxLen() int { return t.Config.DocLen + t.Config.MaxResponseLen + 3 }

// Tokenizer returns the tokenizer that names the task's ids (s0…, w0…).
func (t *SeqTask) Tokenizer() SynthTokenizer {
	return SynthTokenizer{NumSalient: t.Config.NumSalient, Size: t.Config.VocabSize}
}

// IsSalient reports whether id is a salient token.
func (t *SeqTask) IsSalient(id int) bool {
	return id >= SynthFirstContent && id < SynthFirstContent+t.Config.NumSalient
}

func (t *SeqTask) document(rng *rand.Rand) []int {
	c := t.Config
	firstFiller := SynthFirstContent + c.NumSalient
	doc := make([]int, c.DocLen)
	for i := range doc {
		doc[i] = firstFiller + rng.IntN(c.VocabSize-firstFiller)
	}
	salient := rng.Perm(c.NumSalient)[:c.SalientPerDoc]
	positions := rng.Perm(c.DocLen)[:c.SalientPerDoc]
	for j, p := range positions {
		doc[p] = SynthFirstContent + salient[j]
	}
	return doc
}

// Candidate draws one response for prompt from the candidate generator
// described at [LengthBias], using rng. The response has no special tokens.
func (t *SeqTask) Candidate(prompt []int, rng *rand.Rand) []int {
	c := t.Config
	inDoc := make(map[int]bool, len(prompt))
	var salient []int
	for _, id := range prompt {
		if !inDoc[id] && t.IsSalient(id) {
			salient = append(salient, id)
		}
		inDoc[id] = true
	}
	var absent []int
	for id := SynthFirstContent; id < c.VocabSize; id++ {
		if !inDoc[id] {
			absent = append(absent, id)
		}
	}
	n := c.MinResponseLen + rng.IntN(c.MaxResponseLen-c.MinResponseLen+1)
	h := rng.Float64() * c.MaxHallucination
	p := rng.Float64()
	y := make([]int, n)
	for i := range y {
		switch u := rng.Float64(); {
		case u < h && len(absent) > 0:
			y[i] = absent[rng.IntN(len(absent))]
		case rng.Float64() < p && len(salient) > 0:
			y[i] = salient[rng.IntN(len(salient))]
		default:
			y[i] = prompt[rng.IntN(len(prompt))]
		}
	}
	return y
}

// Candidates draws n responses for prompt, deterministic in seed.
func (t *SeqTask) Candidates(prompt []int, n int, seed uint64) [][]int {
	rng := rand.New(rand.NewPCG(seed, 0x63616e64)) // "cand"
	out := make([][]int, n)
	for i := range out {
		out[i] = t.Candidate(prompt, rng)
	}
	return out
}

// Oracle returns the true reward of response for prompt:
//
//	r*(x, y) = covered(x, y) − hallucinated(x, y) + λ·len(y)
//
// where y is response cut at its first EOS with PAD tokens dropped,
// covered = |{s salient : s ∈ x and s ∈ y}| (distinct salient tokens of the
// document that the response mentions), hallucinated = #{i : y_i ∉ x} (every
// occurrence of a token that does not occur in the document, special tokens
// included), and λ = Config.LengthWeight.
//
// A task without an oracle ([SeqTask.HasOracle] false) returns NaN.
func (t *SeqTask) Oracle(prompt, response []int) float64 {
	if !t.HasOracle() {
		return math.NaN()
	}
	inDoc := make(map[int]bool, len(prompt))
	for _, id := range prompt {
		inDoc[id] = true
	}
	seen := make(map[int]bool)
	covered, halluc, n := 0, 0, 0
	for _, id := range response {
		if id == t.Vocab.EOS {
			break
		}
		if id == t.Vocab.PAD {
			continue
		}
		n++
		switch {
		case !inDoc[id]:
			halluc++
		case t.IsSalient(id) && !seen[id]:
			seen[id] = true
			covered++
		}
	}
	return float64(covered) - float64(halluc) + t.Config.LengthWeight*float64(n)
}

// OracleBest returns a response of maximal oracle reward among responses of
// length at most MaxResponseLen: the document's distinct salient tokens in
// order of appearance, then the document's other tokens in order, cycling,
// up to MaxResponseLen tokens. Its reward is SalientPerDoc + λ·MaxResponseLen
// when MaxResponseLen ≥ SalientPerDoc.
func (t *SeqTask) OracleBest(prompt []int) []int {
	n := t.Config.MaxResponseLen
	var sal, rest []int
	seen := map[int]bool{}
	for _, id := range prompt {
		if t.IsSalient(id) && !seen[id] {
			seen[id] = true
			sal = append(sal, id)
		} else if !t.Vocab.IsSpecial(id) {
			rest = append(rest, id)
		}
	}
	y := append([]int{}, sal...)
	if len(y) > n {
		return y[:n]
	}
	pool := rest
	if len(pool) == 0 {
		pool = sal
	}
	for i := 0; len(y) < n && len(pool) > 0; i++ {
		y = append(y, pool[i%len(pool)])
	}
	return y
}

// SeqSplit is a biased subsample D_ρ of a task's pairs, from [SeqTask.Split].
type SeqSplit struct {
	// Pairs is the subsample, in the order of [SeqTask.Pairs].
	Pairs []SeqPair
	// Rho is the achieved fraction of the length-differing pairs of the
	// subsample whose chosen response is the longer one.
	Rho float64
	// Size is len(Pairs).
	Size int
	// Longer and Shorter count the kept pairs, with |len(chosen) −
	// len(rejected)| ≥ LengthGap, that prefer the longer and the shorter
	// response; Even counts the kept pairs with a smaller length difference
	// (all of them are kept).
	Longer, Shorter, Even int
}

// NaturalRho returns the fraction of the task's pairs differing in length by
// at least LengthGap whose chosen response is the longer one, and the number
// of such pairs.
func (t *SeqTask) NaturalRho() (rho float64, n int) {
	long, short := 0, 0
	for _, p := range t.Pairs {
		switch t.lengthClass(p) {
		case 1:
			long++
		case -1:
			short++
		}
	}
	if long+short == 0 {
		return math.NaN(), 0
	}
	return float64(long) / float64(long+short), long + short
}

// lengthClass is +1 when the chosen response is longer by ≥ LengthGap, −1
// when shorter by ≥ LengthGap, 0 otherwise.
func (t *SeqTask) lengthClass(p SeqPair) int {
	d := len(p.Chosen) - len(p.Rejected)
	switch {
	case d >= t.Config.LengthGap:
		return 1
	case -d >= t.Config.LengthGap:
		return -1
	}
	return 0
}

// Split returns the largest subsample D_ρ of the task's pairs in which a
// fraction rho ∈ [0, 1] of the pairs differing in length by at least
// LengthGap prefers the longer response. All pairs with a smaller length
// difference are kept; among the differing ones, with L longer-preferred and
// S shorter-preferred pairs available, it keeps m = ⌊min(L/ρ, S/(1−ρ))⌋ pairs,
// k = round(ρ·m) of them longer-preferred, chosen uniformly at random
// (deterministic in Config.Seed and rho). The achieved ratio k/m is within
// 1/(2m) of rho.
func (t *SeqTask) Split(rho float64) (SeqSplit, error) {
	if !(rho >= 0 && rho <= 1) {
		return SeqSplit{}, fmt.Errorf("datasets: SeqTask.Split: rho = %v, want in [0, 1]", rho)
	}
	var long, short []int
	for i, p := range t.Pairs {
		switch t.lengthClass(p) {
		case 1:
			long = append(long, i)
		case -1:
			short = append(short, i)
		}
	}
	var m, k int
	switch {
	case rho == 0:
		m, k = len(short), 0
	case rho == 1:
		m, k = len(long), len(long)
	default:
		m = int(math.Floor(min(float64(len(long))/rho, float64(len(short))/(1-rho))))
		k = int(math.Round(rho * float64(m)))
		k = min(k, len(long))
		if m-k > len(short) {
			m = k + len(short)
		}
	}
	if m == 0 {
		return SeqSplit{}, errors.New("datasets: SeqTask.Split: no length-differing pairs of the needed kind")
	}
	rng := rand.New(rand.NewPCG(t.Config.Seed, math.Float64bits(rho)))
	rng.Shuffle(len(long), func(i, j int) { long[i], long[j] = long[j], long[i] })
	rng.Shuffle(len(short), func(i, j int) { short[i], short[j] = short[j], short[i] })
	keep := make([]bool, len(t.Pairs))
	for _, i := range long[:k] {
		keep[i] = true
	}
	for _, i := range short[:m-k] {
		keep[i] = true
	}
	s := SeqSplit{Longer: k, Shorter: m - k, Rho: float64(k) / float64(m)}
	for i, p := range t.Pairs {
		if t.lengthClass(p) == 0 {
			s.Even++
			keep[i] = true
		}
		if keep[i] {
			s.Pairs = append(s.Pairs, p)
		}
	}
	s.Size = len(s.Pairs)
	return s, nil
}
