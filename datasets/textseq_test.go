package datasets

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// textPairs returns n invented pairs with distinct prompts and replies; pair
// 3's replies differ only after their first 8 bytes.
func textPairs(n int) []TextPair {
	var out []TextPair
	for i := range n {
		p := TextPair{
			Prompt:   fmt.Sprintf("\n\nHuman: question number %03d, about gardening?\n\nAssistant:", i),
			Chosen:   fmt.Sprintf(" Yes %03d, water it in the morning.", i),
			Rejected: fmt.Sprintf(" No %03d.", i),
		}
		if i == 3 {
			p.Chosen, p.Rejected = " Same start, then one way.", " Same start, then another."
		}
		out = append(out, p)
	}
	return out
}

func TestTextSeqTask(t *testing.T) {
	pairs := textPairs(21)
	task, err := TextSeqTask(pairs, TextSeqConfig{PromptBytes: 16, ReplyBytes: 8, HeldOut: 0.25, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	info := task.Text
	// Pair 3's replies are equal in their first 8 bytes: dropped. 20 left, 5 held out.
	if info.Identical != 1 || info.Pairs != 21 || info.Train != 15 || info.HeldOut != 5 {
		t.Fatalf("info %+v, want 1 identical, 15 train, 5 held out of 21", info)
	}
	all := append(slices.Clone(info.TrainIndex), info.HeldOutIndex...)
	slices.Sort(all)
	want := []int{}
	for i := range 21 {
		if i != 3 {
			want = append(want, i)
		}
	}
	if !slices.Equal(all, want) || !slices.IsSorted(info.TrainIndex) || !slices.IsSorted(info.HeldOutIndex) {
		t.Fatalf("train %v and held-out %v are not a sorted partition of %v", info.TrainIndex, info.HeldOutIndex, want)
	}
	if task.HasOracle() || !math.IsNaN(task.Oracle([]int{1}, []int{2})) {
		t.Error("a text task has no oracle")
	}
	v := ByteTokenizer{}.Vocab()
	if task.Vocab != v || task.MaxLen() != 16+8+3 || len(task.Prompts) != 15 || len(task.Reference) != 15 || len(task.Pairs) != 15 ||
		len(task.EvalPrompts) != 5 || len(task.HeldOut) != 5 {
		t.Fatalf("task sizes: vocab %+v, MaxLen %d, %d prompts, %d reference, %d pairs, %d eval prompts, %d held out",
			task.Vocab, task.MaxLen(), len(task.Prompts), len(task.Reference), len(task.Pairs), len(task.EvalPrompts), len(task.HeldOut))
	}
	dec := ByteTokenizer{}.Decode
	check := func(side string, k, i int, p SeqPair) {
		src := pairs[i]
		if dec(p.Prompt) != src.Prompt[len(src.Prompt)-16:] || dec(p.Chosen) != src.Chosen[:8] || dec(p.Rejected) != src.Rejected[:8] {
			t.Errorf("%s pair %d (record %d): %q %q %q", side, k, i, dec(p.Prompt), dec(p.Chosen), dec(p.Rejected))
		}
		if p.PromptIndex != k || !math.IsNaN(p.ChosenReward) || !math.IsNaN(p.RejectedReward) {
			t.Errorf("%s pair %d: PromptIndex %d, rewards %v %v", side, k, p.PromptIndex, p.ChosenReward, p.RejectedReward)
		}
	}
	for k, i := range info.TrainIndex {
		check("train", k, i, task.Pairs[k])
		if !slices.Equal(task.Prompts[k], task.Pairs[k].Prompt) || !slices.Equal(task.Reference[k].Response, task.Pairs[k].Chosen) ||
			task.Reference[k].PromptIndex != k {
			t.Errorf("train pair %d: prompt or reference (the chosen reply) out of place", k)
		}
	}
	for k, i := range info.HeldOutIndex {
		check("held-out", k, i, task.HeldOut[k])
		if !slices.Equal(task.EvalPrompts[k], task.HeldOut[k].Prompt) {
			t.Errorf("held-out pair %d: eval prompt out of place", k)
		}
	}
	// Short texts are kept whole.
	if got := dec(task.Pairs[0].Rejected); !strings.HasPrefix(pairs[info.TrainIndex[0]].Rejected, got) {
		t.Errorf("rejected %q", got)
	}

	// The seed is the split: the same seed gives the same task, another seed another split.
	again, _ := TextSeqTask(pairs, TextSeqConfig{PromptBytes: 16, ReplyBytes: 8, HeldOut: 0.25, Seed: 7})
	if !slices.Equal(again.Text.HeldOutIndex, info.HeldOutIndex) {
		t.Error("same seed, different split")
	}
	other, _ := TextSeqTask(pairs, TextSeqConfig{PromptBytes: 16, ReplyBytes: 8, HeldOut: 0.25, Seed: 8})
	if slices.Equal(other.Text.HeldOutIndex, info.HeldOutIndex) {
		t.Error("seeds 7 and 8 give the same split")
	}

	// Defaults, and a synthetic task has its oracle.
	def, err := TextSeqTask(pairs, TextSeqConfig{})
	if err != nil || def.Text.Config != (TextSeqConfig{PromptBytes: 64, ReplyBytes: 64, HeldOut: 0.2}) || def.Text.HeldOut != 4 {
		t.Errorf("defaults: %+v, %v", def.Text, err)
	}
	syn, _ := LengthBias(LengthBiasConfig{})
	if !syn.HasOracle() || syn.Text != nil || len(syn.HeldOut) != 0 {
		t.Error("LengthBias has an oracle and no held-out pairs")
	}
}

func TestTextSeqTaskErrors(t *testing.T) {
	for _, c := range []struct {
		pairs []TextPair
		cfg   TextSeqConfig
	}{
		{textPairs(10), TextSeqConfig{PromptBytes: -1}},
		{textPairs(10), TextSeqConfig{ReplyBytes: -2}},
		{textPairs(10), TextSeqConfig{HeldOut: 1}},
		{textPairs(10), TextSeqConfig{HeldOut: -0.1}},
		{textPairs(2), TextSeqConfig{HeldOut: 0.1}}, // holds out 0
		{textPairs(1), TextSeqConfig{}},
		{nil, TextSeqConfig{}},
	} {
		if _, err := TextSeqTask(c.pairs, c.cfg); err == nil {
			t.Errorf("%d pairs, %+v: no error", len(c.pairs), c.cfg)
		}
	}
}
