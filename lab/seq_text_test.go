package lab

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/robustpo/robustpo/datasets"
	"github.com/robustpo/robustpo/lab/seqmodel"
)

// tinyTextTask is a task from invented text pairs: 16 training and 6
// held-out pairs, prompts cut to 8 bytes and replies to 6.
func tinyTextTask(t *testing.T) *datasets.SeqTask {
	t.Helper()
	var pairs []datasets.TextPair
	for i := range 22 {
		pairs = append(pairs, datasets.TextPair{Prompt: fmt.Sprintf("Human: q%02d?\n\nAssistant:", i),
			Chosen: fmt.Sprintf(" ok %d.", i%7), Rejected: fmt.Sprintf(" no, %d!", i%5)})
	}
	task, err := datasets.TextSeqTask(pairs, datasets.TextSeqConfig{PromptBytes: 8, ReplyBytes: 6, HeldOut: 0.27, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// tinyTextConfig is a fast config on the byte vocabulary.
func tinyTextConfig(m Method) Config {
	c := tinySeqConfig(m)
	c.RefSamples, c.EvalSamples, c.LearningRate = 1, 1, 0.05
	return c
}

// byHand returns log p(y | x) of every (prompts[i], ys[i]) scored one row at
// a time by the model (BOS x SEP, y EOS, built here).
func byHand(t *testing.T, score func(seqmodel.Batch) ([]float32, error), v datasets.Vocab, maxLen int, prompts, ys [][]int) []float64 {
	t.Helper()
	var out []float64
	for i := range prompts {
		x := append(append([]int{v.BOS}, prompts[i]...), v.SEP)
		y := append(slices.Clone(ys[i]), v.EOS)
		bt, err := seqmodel.NewBatch([][]int{x}, [][]int{y}, v.PAD, maxLen)
		if err != nil {
			t.Fatal(err)
		}
		s, err := score(bt)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, float64(s[0]))
	}
	return out
}

// The held-out metrics of a run on a task without an oracle, against the
// final policy and π_ref scored row by row in the test: heldout/accuracy is
// the share of held-out pairs with β·Δh > 0, a tie counting ½, and
// heldout/margins the mean β·Δh. At step 0 (π = π_ref) every pair ties:
// the accuracy is ½ and the margins 0, as is kl/forward.
func TestSeqTextHeldOutAccuracy(t *testing.T) {
	task := tinyTextTask(t)
	for _, m := range []Method{DPO, PDPO} {
		cfg := tinyTextConfig(m)
		cfg.Gamma = 0.5
		st, cfg := testSeqTrainer(t, cfg, task)
		ctx := context.Background()
		st.run = &Run{History: newHistory(), Seq: &SeqResult{}}
		if err := st.train(ctx); err != nil {
			t.Fatal(err)
		}
		h := st.run.History
		if want := append(slices.Clone(seqMetricNamesNoOracle), "heldout/accuracy", "heldout/margins"); !slices.Equal(h.Metrics, want) {
			t.Fatalf("%v: metrics %v, want %v", m, h.Metrics, want)
		}
		var prompts, yw, yl [][]int
		for _, p := range task.HeldOut {
			prompts, yw, yl = append(prompts, task.EvalPrompts[p.PromptIndex]), append(yw, p.Chosen), append(yl, p.Rejected)
		}
		pw, pl := byHand(t, st.policy.LogProbs, task.Vocab, task.MaxLen(), prompts, yw), byHand(t, st.policy.LogProbs, task.Vocab, task.MaxLen(), prompts, yl)
		rw, rl := byHand(t, st.refPolicy.LogProbs, task.Vocab, task.MaxLen(), prompts, yw), byHand(t, st.refPolicy.LogProbs, task.Vocab, task.MaxLen(), prompts, yl)
		right, margin := 0.0, 0.0
		for i := range pw {
			bd := cfg.Beta * ((pw[i] - rw[i]) - (pl[i] - rl[i]))
			if bd > 0 {
				right++
			} else if bd == 0 {
				right += 0.5
			}
			margin += bd
		}
		acc, mg := float64(right)/float64(len(pw)), margin/float64(len(pw))
		if got := h.Last("heldout/accuracy"); math.Abs(got-acc) > 1e-9 {
			t.Errorf("%v: heldout/accuracy %v, by hand %v (%g of %d)", m, got, acc, right, len(pw))
		}
		if got := h.Last("heldout/margins"); math.Abs(got-mg) > 1e-4*max(1, math.Abs(mg)) {
			t.Errorf("%v: heldout/margins %v, by hand %v", m, got, mg)
		}
		if st.run.Seq.HeldOutAccuracy != h.Last("heldout/accuracy") {
			t.Errorf("%v: Seq.HeldOutAccuracy %v, history %v", m, st.run.Seq.HeldOutAccuracy, h.Last("heldout/accuracy"))
		}
		if mg == 0 {
			t.Errorf("%v: training left every held-out margin at 0: the test checks nothing", m)
		}
		for _, name := range []string{"heldout/margins", "kl/forward", "rewards/margins"} {
			if v := h.Values[name][0]; v != 0 {
				t.Errorf("%v: %s at step 0 = %v, want 0 (π = π_ref)", m, name, v)
			}
		}
		if v := h.Values["heldout/accuracy"][0]; v != 0.5 {
			t.Errorf("%v: heldout/accuracy at step 0 = %v, want ½ (π = π_ref: every pair ties)", m, v)
		}
		// Step 0 reuses π_ref's log-probs of the training pairs: they are π's.
		var tp, tw [][]int
		for _, p := range task.Pairs {
			tp, tw = append(tp, task.Prompts[p.PromptIndex]), append(tw, p.Chosen)
		}
		if got, want := h.Values["logps/chosen"][0], mean(byHand(t, st.refPolicy.LogProbs, task.Vocab, task.MaxLen(), tp, tw)); math.Abs(got-want) > 1e-4 {
			t.Errorf("%v: logps/chosen at step 0 = %v, π_ref's by hand %v", m, got, want)
		}
	}
}

// The reward ensemble's held-out accuracies, on a task whose held-out pairs
// are its training pairs: member i's must be its share of training margins
// > 0, and the ensemble's the share of pairs whose mean margin is > 0.
func TestSeqTextRewardHeldOutAccuracy(t *testing.T) {
	task := *tinyTextTask(t)
	task.EvalPrompts = task.Prompts
	task.HeldOut = task.Pairs
	for _, m := range []Method{Distill, EDPO} {
		cfg := tinyTextConfig(m)
		cfg.EnsembleSize, cfg.RewardSteps, cfg.RewardLearningRate = 3, 6, 0.05
		run, err := TrainSeqContext(context.Background(), cfg, &task)
		if err != nil {
			t.Fatal(err)
		}
		s := run.Seq
		if len(s.RewardHeldOutAccuracy) != 3 || s.HeldOutPairs != len(task.Pairs) {
			t.Fatalf("%v: %d member accuracies over %d held-out pairs", m, len(s.RewardHeldOutAccuracy), s.HeldOutPairs)
		}
		// Recompute the margins the run distilled, with the members' training accuracy.
		d, _ := newSeqData(&task, cfg.withSeqDefaults(&task))
		backend, _ := SeqBackend()
		c := cfg.withSeqDefaults(&task)
		ref, err := reference(context.Background(), backend, c, d)
		if err != nil {
			t.Fatal(err)
		}
		st, err := prepareSeq(context.Background(), backend, c, d, ref)
		if err != nil {
			t.Fatal(err)
		}
		mg, err := rewardMargins(context.Background(), backend, c, d, ref, st.ex, st.nTrain)
		if err != nil {
			t.Fatal(err)
		}
		backend.Finalize()
		ens := 0.0
		for j := range mg.Margins {
			if mean(mg.Margins[j]) > 0 {
				ens++
			}
		}
		ens /= float64(len(mg.Margins))
		for i := range 3 {
			right := 0.0
			for j := range mg.Margins {
				if mg.Margins[j][i] > 0 {
					right++
				}
			}
			right /= float64(len(mg.Margins))
			if math.Abs(s.RewardHeldOutAccuracy[i]-right) > 1e-12 || math.Abs(s.RewardAccuracy[i]-right) > 1e-12 {
				t.Errorf("%v member %d: held-out accuracy %v, training %v, by hand %v", m, i, s.RewardHeldOutAccuracy[i], s.RewardAccuracy[i], right)
			}
		}
		if math.Abs(s.EnsembleHeldOutAccuracy-ens) > 1e-12 || run.History.Last("reward/heldout_accuracy") != s.EnsembleHeldOutAccuracy {
			t.Errorf("%v: ensemble held-out accuracy %v (history %v), by hand %v", m, s.EnsembleHeldOutAccuracy, run.History.Last("reward/heldout_accuracy"), ens)
		}
	}
}

// A run on a text task caches and reloads; a cached entry is checked with
// the task's metrics; the oracle reward source is refused; KLPrompts limits
// π_ref's samples and leaves the reference key alone when it covers every
// prompt.
func TestSeqTextCacheAndOptions(t *testing.T) {
	t.Setenv(CacheDirEnv, t.TempDir())
	task := tinyTextTask(t)
	cfg := tinyTextConfig(EDPO)
	cfg.NoCache, cfg.Gamma, cfg.KLPrompts = false, 1, 5
	a, b := trainSeqTwice(t, cfg, task)
	if !b.Cached || !slices.Equal(a.History.Values["heldout/accuracy"], b.History.Values["heldout/accuracy"]) ||
		!slices.Equal(a.Seq.RewardHeldOutAccuracy, b.Seq.RewardHeldOutAccuracy) {
		t.Errorf("cached run: Cached %v, held-out accuracy %v vs %v", b.Cached, a.History.Values["heldout/accuracy"], b.History.Values["heldout/accuracy"])
	}
	for _, name := range []string{"oracle/reward", "winrate/vs_ref", "kl/reverse", "length/mean"} {
		if slices.Contains(a.History.Metrics, name) {
			t.Errorf("a run without an oracle logs %s", name)
		}
	}

	c := cfg.withSeqDefaults(task)
	d, _ := newSeqData(task, c)
	backend, _ := SeqBackend()
	defer backend.Finalize()
	ref, err := reference(context.Background(), backend, c, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(ref.KL) != 5*c.RefSamples || slices.ContainsFunc(ref.KL, func(s refSample) bool { return s.Prompt >= 5 }) {
		t.Errorf("KLPrompts = 5: %d π_ref samples", len(ref.KL))
	}
	all, every := c, c
	all.KLPrompts, every.KLPrompts = 0, len(task.Prompts)
	if referenceKey(all, d, "x") != referenceKey(every, d, "x") || referenceKey(all, d, "x") == referenceKey(c, d, "x") {
		t.Error("KLPrompts ≥ the prompts must key as 0, and 5 differently")
	}

	bad := tinyTextConfig(Distill)
	bad.RewardSource = OracleReward
	if _, err := TrainSeqContext(context.Background(), bad, task); err == nil || !strings.Contains(err.Error(), "no oracle") {
		t.Errorf("OracleReward on a text task: %v", err)
	}
	neg := tinyTextConfig(DPO)
	neg.KLPrompts = -1
	if _, err := TrainSeqContext(context.Background(), neg, task); err == nil {
		t.Error("KLPrompts = -1 accepted")
	}
}
