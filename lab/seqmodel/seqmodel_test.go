package seqmodel

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX's graph DSL reads best unqualified.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/robustpo/robustpo/losses"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := compute.NewWithConfig("go:ops_sequential")
	if err != nil {
		t.Fatalf("go backend: %v", err)
	}
	return b
}

// tinyConfig is small enough for the float64 reference, with a large init
// so the distributions are far from uniform.
func tinyConfig(untied bool) Config {
	return Config{VocabSize: 13, DModel: 16, Layers: 2, Heads: 4, MaxLen: 16, InitStd: 0.3, UntiedOutput: untied, Seed: 7}
}

func randomRows(rng *rand.Rand, n, minLen, maxLen, vocab int) [][]int {
	rows := make([][]int, n)
	for i := range rows {
		rows[i] = make([]int, minLen+rng.IntN(maxLen-minLen+1))
		for j := range rows[i] {
			rows[i][j] = 1 + rng.IntN(vocab-1)
		}
	}
	return rows
}

func newTestPolicy(t *testing.T, cfg Config) *Policy {
	t.Helper()
	p, err := NewPolicy(testBackend(t), cfg)
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	return p
}

func logProbs(t *testing.T, p *Policy, bt Batch) []float32 {
	t.Helper()
	lp, err := p.LogProbs(bt)
	if err != nil {
		t.Fatalf("LogProbs: %v", err)
	}
	return lp
}

func mustBatch(t *testing.T, prompts, responses [][]int, pad, length int) Batch {
	t.Helper()
	bt, err := NewBatch(prompts, responses, pad, length)
	if err != nil {
		t.Fatalf("NewBatch: %v", err)
	}
	return bt
}

func TestLogProbsMatchReference(t *testing.T) {
	for _, untied := range []bool{false, true} {
		p := newTestPolicy(t, tinyConfig(untied))
		ref := newRefNet(t, &p.net, false)
		rng := rand.New(rand.NewPCG(1, 2))
		prompts := randomRows(rng, 5, 1, 4, 13)
		responses := randomRows(rng, 5, 0, 6, 13)
		bt := mustBatch(t, prompts, responses, 0, 0)
		got := logProbs(t, p, bt)
		for b := range bt.Size {
			want := ref.seqLogProb(bt.Row(b), int(bt.PromptLen[b]))
			if math.Abs(float64(got[b])-want) > 1e-4*(1+math.Abs(want)) {
				t.Errorf("untied=%v row %d: log-prob %.6f, reference %.6f", untied, b, got[b], want)
			}
			if len(responses[b]) == 0 && got[b] != 0 {
				t.Errorf("untied=%v row %d: empty response has log-prob %g, want 0", untied, b, got[b])
			}
		}
		if untied && got[0] == 0 {
			t.Errorf("row 0 log-prob is 0: the check above would not see a broken model")
		}
	}
}

func TestLogProbsPaddingInvariance(t *testing.T) {
	p := newTestPolicy(t, tinyConfig(false))
	rng := rand.New(rand.NewPCG(3, 4))
	prompts := randomRows(rng, 4, 1, 3, 13)
	responses := randomRows(rng, 4, 1, 5, 13)
	var unpadded []float32
	for b := range prompts {
		one := mustBatch(t, prompts[b:b+1], responses[b:b+1], 0, 0)
		unpadded = append(unpadded, logProbs(t, p, one)...)
	}
	for _, pad := range []int{0, 5, 12} {
		for _, length := range []int{0, 12, 16} {
			padded := logProbs(t, p, mustBatch(t, prompts, responses, pad, length))
			for b := range unpadded {
				if math.Abs(float64(padded[b]-unpadded[b])) > 1e-5 {
					t.Errorf("pad=%d T=%d row %d: padded %.7f, unpadded %.7f", pad, length, b, padded[b], unpadded[b])
				}
			}
		}
	}
}

func TestCausalMasking(t *testing.T) {
	p := newTestPolicy(t, tinyConfig(false))
	prompt := [][]int{{3, 4}}
	resp := []int{5, 6, 7, 8, 9, 10}
	// Log-prob of each prefix of the response: changing the last token can
	// only change the last term.
	prefix := func(r []int) []float32 {
		var out []float32
		for k := 1; k <= len(r); k++ {
			out = append(out, logProbs(t, p, mustBatch(t, prompt, [][]int{r[:k]}, 0, 10))...)
		}
		return out
	}
	a := prefix(resp)
	changed := slices.Clone(resp)
	changed[len(changed)-1] = 1
	bLP := prefix(changed)
	for k := 0; k < len(resp)-1; k++ {
		if a[k] != bLP[k] {
			t.Errorf("prefix %d: log-prob changed from %g to %g when only a later token changed", k+1, a[k], bLP[k])
		}
	}
	if a[len(a)-1] == bLP[len(bLP)-1] {
		t.Errorf("changing the last token did not change the full log-prob")
	}
	// Per-position logits: changing token 5 leaves positions 0..4 bit-identical.
	tokens := []int32{3, 4, 5, 6, 7, 8, 9, 10}
	other := slices.Clone(tokens)
	other[5] = 2
	for pos := range int32(8) {
		la, err := p.NextLogits(tokens, 1, 8, []int32{pos})
		if err != nil {
			t.Fatal(err)
		}
		lb, err := p.NextLogits(other, 1, 8, []int32{pos})
		if err != nil {
			t.Fatal(err)
		}
		same := slices.Equal(la, lb)
		if pos < 5 && !same {
			t.Errorf("position %d: logits changed when token 5 changed", pos)
		}
		if pos >= 5 && same {
			t.Errorf("position %d: logits did not change when token 5 changed", pos)
		}
	}
}

func TestSampling(t *testing.T) {
	p := newTestPolicy(t, tinyConfig(false))
	prompts := [][]int{{1, 2}, {3}, {4, 5, 6}}
	sc := SampleConfig{Seed: 42, MaxNewTokens: 8}
	a, err := p.Sample(prompts, sc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Sample(prompts, sc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Errorf("row %d: same seed gave %v and %v", i, a[i], b[i])
		}
		if len(a[i]) != 8 {
			t.Errorf("row %d: no EOS, MaxNewTokens=8, got length %d", i, len(a[i]))
		}
	}
	sc.Seed = 43
	c, err := p.Sample(prompts, sc)
	if err != nil {
		t.Fatal(err)
	}
	if slices.EqualFunc(a, c, slices.Equal[[]int]) {
		t.Errorf("seeds 42 and 43 gave identical samples %v", a)
	}

	// MaxLen caps prompt + response.
	long, err := p.Sample([][]int{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}, SampleConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(long[0]) != 16-10 {
		t.Errorf("prompt of 10, MaxLen 16: response length %d, want 6", len(long[0]))
	}

	// EOS: with EOS = the first sampled token of row 0 under the same seed, row 0 stops right there.
	eos := a[0][0]
	e, err := p.Sample(prompts, SampleConfig{Seed: 42, MaxNewTokens: 8, UseEOS: true, EOS: eos})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e[0], []int{eos}) {
		t.Errorf("row 0 with EOS=%d: got %v, want [%d]", eos, e[0], eos)
	}
	for i, row := range e {
		if k := slices.Index(row, eos); k >= 0 && k != len(row)-1 {
			t.Errorf("row %d: continued after EOS: %v", i, row)
		}
	}

	// TopK = 1 is greedy: each token is the argmax of the logits given the prefix.
	g, err := p.Sample(prompts, SampleConfig{Seed: 5, TopK: 1, MaxNewTokens: 6, Temperature: 3})
	if err != nil {
		t.Fatal(err)
	}
	ref := newRefNet(t, &p.net, false)
	for i, pr := range prompts {
		seq := toInt32(pr)
		for _, tok := range g[i] {
			lg := ref.logits(seq)
			last := lg[(len(seq)-1)*13 : len(seq)*13]
			best := 0
			for k := range last {
				if last[k] > last[best] {
					best = k
				}
			}
			if tok != best {
				t.Errorf("row %d after %v: top-1 sampled %d, argmax is %d", i, seq, tok, best)
				break
			}
			seq = append(seq, int32(tok))
		}
	}
}

func TestDrawToken(t *testing.T) {
	logits := []float32{0, float32(math.Log(3)), 0, float32(math.Log(4))} // softmax: 1/9, 3/9, 1/9, 4/9
	probs, order := make([]float64, 4), make([]int, 4)
	// Sorted by logit: 3, 1, 0, 2 with CDF 4/9 ≈ 0.444, 7/9 ≈ 0.778, 8/9 ≈ 0.889, 1.
	cases := []struct {
		u    float64
		topK int
		tau  float64
		want int
	}{
		{0.44, 0, 1, 3}, {0.45, 0, 1, 1}, {0.77, 0, 1, 1}, {0.78, 0, 1, 0}, {0.88, 0, 1, 0}, {0.89, 0, 1, 2},
		{0.99, 2, 1, 1}, {0.57, 2, 1, 3}, {0.58, 2, 1, 1}, // top-2: 4/7 ≈ 0.5714 for token 3
		{0.99, 1, 1, 3},
	}
	for _, c := range cases {
		if got := drawToken(logits, c.tau, c.topK, c.u, probs, order); got != c.want {
			t.Errorf("u=%g topK=%d τ=%g: got %d, want %d", c.u, c.topK, c.tau, got, c.want)
		}
	}
	// τ = 0.5 squares the odds: weights 1, 9, 1, 16 of 27; token 3 up to 16/27 ≈ 0.593.
	if got := drawToken(logits, 0.5, 0, 0.59, probs, order); got != 3 {
		t.Errorf("τ=0.5 u=0.59: got %d, want 3", got)
	}
	if got := drawToken(logits, 0.5, 0, 0.60, probs, order); got != 1 {
		t.Errorf("τ=0.5 u=0.60: got %d, want 1", got)
	}
}

func TestSFTMemorizes(t *testing.T) {
	cfg := Config{VocabSize: 12, DModel: 32, Layers: 2, Heads: 4, MaxLen: 12, Seed: 3}
	p := newTestPolicy(t, cfg)
	prompts := [][]int{{1}, {2}, {3}, {4}}
	responses := [][]int{{5, 6, 7, 11}, {8, 9, 11}, {10, 5, 5, 6, 11}, {7, 11}}
	bt := mustBatch(t, prompts, responses, 0, 8)
	tr, err := NewSFTTrainer(p, AdamConfig{LearningRate: 3e-3})
	if err != nil {
		t.Fatal(err)
	}
	first, last := 0.0, 0.0
	for step := range 150 {
		loss, err := tr.Step(bt)
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			t.Fatalf("step %d: loss %g", step, loss)
		}
		if step == 0 {
			first = loss
		}
		last = loss
	}
	// At initialisation the model is near uniform: loss ≈ log 12.
	if math.Abs(first-math.Log(12)) > 0.1 {
		t.Errorf("initial SFT loss %.4f, want ≈ log 12 = %.4f", first, math.Log(12))
	}
	if last > 0.05 {
		t.Errorf("SFT loss after 150 steps %.4f (initial %.4f): not memorized", last, first)
	}
	greedy, err := p.Sample(prompts, SampleConfig{TopK: 1, UseEOS: true, EOS: 11})
	if err != nil {
		t.Fatal(err)
	}
	for i := range prompts {
		if !slices.Equal(greedy[i], responses[i]) {
			t.Errorf("prompt %v: greedy %v, trained on %v", prompts[i], greedy[i], responses[i])
		}
	}
}

func TestSFTLossValue(t *testing.T) {
	p := newTestPolicy(t, tinyConfig(false))
	ref := newRefNet(t, &p.net, false)
	rng := rand.New(rand.NewPCG(9, 9))
	prompts := randomRows(rng, 4, 1, 3, 13)
	responses := randomRows(rng, 4, 1, 5, 13)
	bt := mustBatch(t, prompts, responses, 0, 10)
	want, count := 0.0, 0
	for b := range bt.Size {
		want -= ref.seqLogProb(bt.Row(b), int(bt.PromptLen[b]))
		count += len(responses[b])
	}
	want /= float64(count)
	tr, err := NewSFTTrainer(p, AdamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.Step(bt)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-4*(1+want) {
		t.Errorf("SFT loss %.6f, reference token-mean cross-entropy %.6f", got, want)
	}
}

func paramValues(t *testing.T, n *net) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range n.store.IterVariables() {
		val, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		if val.Shape().DType.IsFloat() {
			out[v.Path()] = tensors.MustCopyFlatData[float32](val)
		}
	}
	return out
}

func TestDPOStep(t *testing.T) {
	sft := newTestPolicy(t, tinyConfig(false))
	ref, err := sft.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ref.Freeze()
	if _, err := NewDPOTrainer(ref, DPOConfig{}); err == nil {
		t.Errorf("NewDPOTrainer accepted a frozen reference")
	}
	policy, err := sft.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	prompts := randomRows(rng, 6, 1, 3, 13)
	chosen := mustBatch(t, prompts, randomRows(rng, 6, 1, 6, 13), 0, 10)
	rejected := mustBatch(t, prompts, randomRows(rng, 6, 1, 6, 13), 0, 10)
	refC, refR := logProbs(t, ref, chosen), logProbs(t, ref, rejected)
	refBefore := paramValues(t, &ref.net)

	const beta = 0.5
	tr, err := NewDPOTrainer(policy, DPOConfig{Beta: beta, Adam: AdamConfig{LearningRate: 1e-2}})
	if err != nil {
		t.Fatal(err)
	}
	// Policy = reference: every log-ratio is 0 and the loss is exactly log 2.
	st, err := tr.Step(chosen, rejected, refC, refR)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(st.Loss-math.Ln2) > 1e-6 {
		t.Errorf("first DPO loss %.7f, want log 2 = %.7f", st.Loss, math.Ln2)
	}
	if !slices.Equal(st.ChosenLogProbs, refC) {
		t.Errorf("step log-probs %v differ from reference %v before any update", st.ChosenLogProbs, refC)
	}
	// Second step: the reported loss matches softplus(−βΔh) from independent log-probs.
	pc, pr := logProbs(t, policy, chosen), logProbs(t, policy, rejected)
	want := 0.0
	for b := range pc {
		dh := float64(pc[b]-refC[b]) - float64(pr[b]-refR[b])
		want += math.Log1p(math.Exp(-beta*dh)) / float64(len(pc))
	}
	var losses []float64
	for range 20 {
		st, err = tr.Step(chosen, rejected, refC, refR)
		if err != nil {
			t.Fatal(err)
		}
		if len(losses) == 0 && math.Abs(st.Loss-want) > 1e-5 {
			t.Errorf("second DPO loss %.7f, softplus(−βΔh) from LogProbs %.7f", st.Loss, want)
		}
		losses = append(losses, st.Loss)
	}
	if !(losses[len(losses)-1] < 0.5*math.Ln2) {
		t.Errorf("DPO loss did not fall on a fixed batch: %v", losses)
	}
	for path, vals := range paramValues(t, &policy.net) {
		for _, x := range vals {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("parameter %s not finite after DPO steps", path)
			}
		}
	}
	// The frozen reference is untouched and independent of the trained policy.
	if !mapsEqual(refBefore, paramValues(t, &ref.net)) {
		t.Errorf("reference parameters changed during DPO training")
	}
	if mapsEqual(paramValues(t, &sft.net), paramValues(t, &policy.net)) {
		t.Errorf("policy parameters equal the SFT parameters after training: not updated or not independent")
	}
	if slices.Equal(logProbs(t, ref, chosen), logProbs(t, policy, chosen)) {
		t.Errorf("policy and reference give the same log-probs after training")
	}
}

func mapsEqual(a, b map[string][]float32) bool {
	for k, v := range a {
		if w, ok := b[k]; ok && !slices.Equal(v, w) {
			return false
		}
	}
	return true
}

func TestRewardModel(t *testing.T) {
	cfg := tinyConfig(false)
	r, err := NewRewardModel(testBackend(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref := newRefNet(t, &r.net, true)
	rng := rand.New(rand.NewPCG(7, 8))
	prompts := randomRows(rng, 4, 1, 3, 13)
	responses := randomRows(rng, 4, 0, 5, 13)
	for _, length := range []int{0, 14} {
		bt := mustBatch(t, prompts, responses, 0, length)
		got, err := r.Rewards(bt)
		if err != nil {
			t.Fatal(err)
		}
		for b := range bt.Size {
			want := ref.reward(bt.Row(b))
			if math.Abs(float64(got[b])-want) > 1e-4*(1+math.Abs(want)) {
				t.Errorf("T=%d row %d: reward %.6f, reference %.6f", length, b, got[b], want)
			}
		}
	}
	// Bradley–Terry: longer responses preferred; the trained model ranks them.
	tr, err := NewBTTrainer(r, AdamConfig{LearningRate: 3e-3})
	if err != nil {
		t.Fatal(err)
	}
	short := randomRows(rng, 8, 1, 2, 13)
	long := randomRows(rng, 8, 5, 6, 13)
	ps := randomRows(rng, 8, 1, 2, 13)
	ch, rj := mustBatch(t, ps, long, 0, 9), mustBatch(t, ps, short, 0, 9)
	first, last := 0.0, 0.0
	for step := range 60 {
		loss, err := tr.Step(ch, rj)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = loss
		}
		last = loss
	}
	if !(last < 0.1 && last < first) {
		t.Errorf("Bradley–Terry loss %.4f → %.4f: did not learn a length preference", first, last)
	}
}

func TestPolicyInitTrunkAndErrors(t *testing.T) {
	p := newTestPolicy(t, tinyConfig(false))
	r, err := NewRewardModel(p.backend, tinyConfig(false))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.InitTrunkFrom(p); err != nil {
		t.Fatal(err)
	}
	pv, rv := paramValues(t, &p.net), paramValues(t, &r.net)
	if !slices.Equal(pv[ModelScope+"/block_1/w2"], rv[ModelScope+"/block_1/w2"]) {
		t.Errorf("trunk not copied")
	}
	if _, err := NewPolicy(p.backend, Config{DModel: 10, Heads: 4}); err == nil {
		t.Errorf("DModel=10 with 4 heads accepted")
	}
	if _, err := p.LogProbs(Batch{Tokens: []int32{1, 99}, PromptLen: []int32{1}, Len: []int32{2}, Size: 1, T: 2}); err == nil {
		t.Errorf("token 99 with vocab 13 accepted")
	}
	if _, err := NewBatch([][]int{{}}, [][]int{{1}}, 0, 0); err == nil {
		t.Errorf("empty prompt accepted")
	}
	if _, err := NewBatch([][]int{{1, 2, 3}}, [][]int{{1}}, 0, 3); err == nil {
		t.Errorf("row longer than T accepted")
	}
}

func TestPairTrainerIPO(t *testing.T) {
	sft := newTestPolicy(t, tinyConfig(false))
	policy, err := sft.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	prompts := randomRows(rng, 4, 1, 3, 13)
	// Different padded lengths: chosen and rejected go through the model separately.
	chosen := mustBatch(t, prompts, randomRows(rng, 4, 1, 4, 13), 0, 8)
	rejected := mustBatch(t, prompts, randomRows(rng, 4, 1, 6, 13), 0, 10)
	refC, refR := logProbs(t, sft, chosen), logProbs(t, sft, rejected)
	const beta = 0.25
	tr, err := NewPairTrainer(policy, AdamConfig{LearningRate: 1e-3}, "adam_ipo",
		func(hw, hl *Node) *Node { return losses.IPO(hw, hl, beta) })
	if err != nil {
		t.Fatal(err)
	}
	// π_θ = π_ref: Δh = 0 and the IPO loss is (0 − 1/(2β))² = 4.
	st, err := tr.Step(chosen, rejected, refC, refR)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(st.Loss-4) > 1e-5 {
		t.Errorf("first IPO loss %.6f, want 1/(4β²) = 4", st.Loss)
	}
	// Next step: (Δh − 1/(2β))² averaged, from independently computed log-probs.
	pc, pr := logProbs(t, policy, chosen), logProbs(t, policy, rejected)
	want := 0.0
	for b := range pc {
		dh := float64(pc[b]-refC[b]) - float64(pr[b]-refR[b])
		want += (dh - 1/(2*beta)) * (dh - 1/(2*beta)) / float64(len(pc))
	}
	st, err = tr.Step(chosen, rejected, refC, refR)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(st.Loss-want) > 1e-4*want {
		t.Errorf("second IPO loss %.6f, (Δh − 1/(2β))² from LogProbs %.6f", st.Loss, want)
	}
	for range 10 {
		if st, err = tr.Step(chosen, rejected, refC, refR); err != nil {
			t.Fatal(err)
		}
	}
	if !(st.Loss < 1) {
		t.Errorf("IPO loss after 12 steps %.6f, started at 4", st.Loss)
	}
	if _, err := NewPairTrainer(policy, AdamConfig{}, "a/b", func(hw, hl *Node) *Node { return hw }); err == nil {
		t.Errorf("optimizer name with '/' accepted")
	}
}

// TestPairTrainerWithDistill feeds per-step reward margins to a distillation
// loss as an extra input: at π_θ = π_ref the loss is mean Δr², and the next
// step's loss is mean (Δr − β·Δh)² from independently computed log-probs.
func TestPairTrainerWithDistill(t *testing.T) {
	sft := newTestPolicy(t, tinyConfig(false))
	policy, err := sft.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(31, 32))
	prompts := randomRows(rng, 4, 1, 3, 13)
	chosen := mustBatch(t, prompts, randomRows(rng, 4, 1, 5, 13), 0, 8)
	rejected := mustBatch(t, prompts, randomRows(rng, 4, 1, 5, 13), 0, 8)
	refC, refR := logProbs(t, sft, chosen), logProbs(t, sft, rejected)
	const beta = 0.5
	margins := []float32{1, -0.5, 2, 0.25}
	tr, err := NewPairTrainerWith(policy, AdamConfig{LearningRate: 1e-3}, "adam_distill", 1,
		func(hw, hl *Node, extra []*Node) *Node { return losses.Distill(hw, hl, extra[0], beta) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(chosen, rejected, refC, refR); err == nil {
		t.Errorf("Step without the loss's extra input accepted")
	}
	in := func() *tensors.Tensor {
		return tensors.FromFlatDataAndDimensions(append([]float32(nil), margins...), 4)
	}
	st, err := tr.StepWith(chosen, rejected, refC, refR, in())
	if err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for _, m := range margins {
		want += float64(m) * float64(m) / 4
	}
	if math.Abs(st.Loss-want) > 1e-5 {
		t.Errorf("first distillation loss %.6f, want mean Δr² = %.6f", st.Loss, want)
	}
	pc, pr := logProbs(t, policy, chosen), logProbs(t, policy, rejected)
	want = 0
	for b := range pc {
		d := float64(margins[b]) - beta*(float64(pc[b]-refC[b])-float64(pr[b]-refR[b]))
		want += d * d / 4
	}
	if st, err = tr.StepWith(chosen, rejected, refC, refR, in()); err != nil {
		t.Fatal(err)
	}
	if math.Abs(st.Loss-want) > 1e-4*want {
		t.Errorf("second distillation loss %.6f, (Δr − β·Δh)² from LogProbs %.6f", st.Loss, want)
	}
}
