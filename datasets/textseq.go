package datasets

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// TextSeqConfig says how [TextSeqTask] turns text pairs into a sequence task.
// The zero value of every field means its documented default.
type TextSeqConfig struct {
	// PromptBytes K: a prompt keeps its last K bytes (the end of the
	// dialogue, which the reply continues). Default 64.
	PromptBytes int
	// ReplyBytes L: a reply keeps its first L bytes. Default 64.
	ReplyBytes int
	// HeldOut is the fraction of the (kept) pairs held out, rounded to the
	// nearest count. Default 0.2; it must leave at least one pair on each side.
	HeldOut float64
	// Seed shuffles the pairs before the split: a seed is a split.
	Seed uint64
}

// TextSeqInfo describes a task built from text pairs by [TextSeqTask].
type TextSeqInfo struct {
	// Config is the configuration with its defaults filled in.
	Config TextSeqConfig
	// Pairs is the number of text pairs given; Identical the number dropped
	// because their chosen and rejected replies are equal once cut to
	// ReplyBytes (such a pair carries no preference); Train and HeldOut the
	// sizes of the two sides of the split of the rest.
	Pairs, Identical, Train, HeldOut int
	// TrainIndex and HeldOutIndex are the indices, into the given pairs, of
	// the training and held-out pairs, in task order (ascending).
	TrainIndex, HeldOutIndex []int
}

// TextSeqTask builds a sequence task from text preference pairs (real data:
// there is no oracle reward) with the byte tokenizer ([ByteTokenizer]).
//
// Every prompt is cut to its last PromptBytes bytes and every reply to its
// first ReplyBytes bytes (cuts may split a UTF-8 character: the model reads
// bytes). Pairs whose cut replies are equal are dropped (counted in
// Text.Identical). The rest are shuffled with Seed and split: the last
// round(HeldOut·n) of the shuffled order are held out, the others train; each
// side is then put back in file order.
//
// The task holds, per training pair i (in order): Prompts[i], one labelled
// pair Pairs[i] (PromptIndex i) and one reference (SFT) example, its chosen
// reply (Reference[i]). Per held-out pair j: EvalPrompts[j] and HeldOut[j]
// (PromptIndex j, an index into EvalPrompts). Rewards of every pair are NaN
// and [SeqTask.HasOracle] is false. Config holds the sizes the sequence
// trainer reads: DocLen = PromptBytes, MaxResponseLen = ReplyBytes,
// VocabSize = 260, Seed = Seed.
func TextSeqTask(pairs []TextPair, cfg TextSeqConfig) (*SeqTask, error) {
	c := cfg
	if c.PromptBytes == 0 {
		c.PromptBytes = 64
	}
	if c.ReplyBytes == 0 {
		c.ReplyBytes = 64
	}
	if c.HeldOut == 0 {
		c.HeldOut = 0.2
	}
	switch {
	case c.PromptBytes < 1 || c.ReplyBytes < 1:
		return nil, fmt.Errorf("datasets: TextSeqTask: PromptBytes = %d, ReplyBytes = %d, want ≥ 1", c.PromptBytes, c.ReplyBytes)
	case !(c.HeldOut > 0 && c.HeldOut < 1):
		return nil, fmt.Errorf("datasets: TextSeqTask: HeldOut = %v, want in (0, 1)", c.HeldOut)
	}
	tail := func(s string) string { return s[max(0, len(s)-c.PromptBytes):] }
	head := func(s string) string { return s[:min(len(s), c.ReplyBytes)] }
	enc := func(s string) []int { ids, _ := ByteTokenizer{}.Encode(s); return ids }

	info := &TextSeqInfo{Config: c, Pairs: len(pairs)}
	var keep []int
	for i, p := range pairs {
		if head(p.Chosen) == head(p.Rejected) {
			info.Identical++
			continue
		}
		keep = append(keep, i)
	}
	n := len(keep)
	nh := int(math.Round(c.HeldOut * float64(n)))
	if nh < 1 || nh >= n {
		return nil, fmt.Errorf("datasets: TextSeqTask: %d usable pairs (%d of %d identical once cut), HeldOut = %v holds out %d: want at least one pair on each side",
			n, info.Identical, len(pairs), c.HeldOut, nh)
	}
	order := slices.Clone(keep)
	rand.New(rand.NewPCG(c.Seed, 0x7465787473706c74)).Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] }) // "textsplt"
	info.TrainIndex, info.HeldOutIndex = slices.Clone(order[:n-nh]), slices.Clone(order[n-nh:])
	sort.Ints(info.TrainIndex)
	sort.Ints(info.HeldOutIndex)
	info.Train, info.HeldOut = len(info.TrainIndex), len(info.HeldOutIndex)

	v := ByteTokenizer{}.Vocab()
	t := &SeqTask{
		Config: LengthBiasConfig{Seed: c.Seed, VocabSize: v.Size, DocLen: c.PromptBytes, MaxResponseLen: c.ReplyBytes},
		Vocab:  v,
		Text:   info,
	}
	nan := math.NaN()
	for k, i := range info.TrainIndex {
		p := pairs[i]
		x, yw, yl := enc(tail(p.Prompt)), enc(head(p.Chosen)), enc(head(p.Rejected))
		t.Prompts = append(t.Prompts, x)
		t.Reference = append(t.Reference, SeqExample{PromptIndex: k, Prompt: x, Response: yw})
		t.Pairs = append(t.Pairs, SeqPair{PromptIndex: k, Prompt: x, Chosen: yw, Rejected: yl, ChosenReward: nan, RejectedReward: nan})
	}
	for k, i := range info.HeldOutIndex {
		p := pairs[i]
		x := enc(tail(p.Prompt))
		t.EvalPrompts = append(t.EvalPrompts, x)
		t.HeldOut = append(t.HeldOut, SeqPair{PromptIndex: k, Prompt: x, Chosen: enc(head(p.Chosen)), Rejected: enc(head(p.Rejected)),
			ChosenReward: nan, RejectedReward: nan})
	}
	if len(t.Pairs) == 0 || len(t.HeldOut) == 0 {
		return nil, errors.New("datasets: TextSeqTask: an empty side of the split")
	}
	return t, nil
}
