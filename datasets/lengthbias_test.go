package datasets

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func defaultTask(t *testing.T) *SeqTask {
	t.Helper()
	task, err := LengthBias(LengthBiasConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestLengthBiasDefaultShapes(t *testing.T) {
	task := defaultTask(t)
	c := task.Config
	if task.Vocab != (Vocab{Size: 64, PAD: 0, BOS: 1, EOS: 2, SEP: 3}) {
		t.Errorf("vocab %+v", task.Vocab)
	}
	if task.MaxLen() != 43 || task.MaxLen() > 48 {
		t.Errorf("MaxLen = %d, want 1+24+1+16+1 = 43", task.MaxLen())
	}
	if len(task.Prompts) != 256 || len(task.EvalPrompts) != 64 || len(task.Pairs) != 1024 || len(task.Reference) != 1024 {
		t.Fatalf("sizes: %d prompts, %d eval, %d pairs, %d reference", len(task.Prompts), len(task.EvalPrompts), len(task.Pairs), len(task.Reference))
	}
	for _, docs := range [][][]int{task.Prompts, task.EvalPrompts} {
		for i, x := range docs {
			if len(x) != c.DocLen {
				t.Fatalf("document %d has length %d", i, len(x))
			}
			sal := map[int]int{}
			for _, id := range x {
				if id < SynthFirstContent || id >= c.VocabSize {
					t.Fatalf("document %d holds id %d outside the content ids", i, id)
				}
				if task.IsSalient(id) {
					sal[id]++
				}
			}
			if len(sal) != c.SalientPerDoc {
				t.Fatalf("document %d has %d distinct salient tokens, want %d", i, len(sal), c.SalientPerDoc)
			}
			for id, n := range sal {
				if n != 1 {
					t.Fatalf("document %d: salient %d occurs %d times, want once", i, id, n)
				}
			}
		}
	}
	checkResp := func(y []int) {
		t.Helper()
		if len(y) < c.MinResponseLen || len(y) > c.MaxResponseLen {
			t.Fatalf("response length %d outside [%d, %d]", len(y), c.MinResponseLen, c.MaxResponseLen)
		}
		for _, id := range y {
			if id < SynthFirstContent || id >= c.VocabSize {
				t.Fatalf("response holds id %d outside the content ids", id)
			}
		}
	}
	for i, p := range task.Pairs {
		if !slices.Equal(p.Prompt, task.Prompts[p.PromptIndex]) || p.PromptIndex != i/c.PairsPerPrompt {
			t.Fatalf("pair %d: prompt index %d does not match", i, p.PromptIndex)
		}
		checkResp(p.Chosen)
		checkResp(p.Rejected)
		if slices.Equal(p.Chosen, p.Rejected) {
			t.Fatalf("pair %d: identical responses", i)
		}
		if p.ChosenReward != task.Oracle(p.Prompt, p.Chosen) || p.RejectedReward != task.Oracle(p.Prompt, p.Rejected) {
			t.Fatalf("pair %d: stored rewards differ from the oracle", i)
		}
	}
	for _, e := range task.Reference {
		checkResp(e.Response)
		if !slices.Equal(e.Prompt, task.Prompts[e.PromptIndex]) {
			t.Fatal("reference prompt index does not match")
		}
	}
	if err := task.Vocab.Check(task.Vocab.Join(task.Prompts[0], task.Pairs[0].Chosen)); err != nil {
		t.Error(err)
	}
}

func TestOracleHandWorked(t *testing.T) {
	task := defaultTask(t) // λ = 0.1, salient s0..s15
	tok := task.Tokenizer()
	enc := func(s string) []int {
		ids, err := tok.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	x := enc("s0 w3 s1 w0 w1 s2")
	for _, tc := range []struct {
		y    string
		want float64
	}{
		// covered − hallucinated + 0.1·len
		{"s0 s0 w5 w0", 1 - 1 + 0.4},           // s0 covered once, w5 not in x
		{"s1 <pad> s0 <pad>", 2 + 0.2},         // PAD dropped
		{"s2 w1 <eos> s0 s1 w9", 1 + 0.2},      // cut at EOS
		{"s3 s4", -2 + 0.2},                    // salient but absent from x
		{"<bos> s0 <sep>", 1 - 2 + 0.3},        // BOS/SEP count as hallucinated
		{"", 0},                                // empty response
		{"s0 s1 s2 w0 w1 w3 w3 w3", 3 + 0.1*8}, // best of length 8
	} {
		if got := task.Oracle(x, enc(tc.y)); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Oracle(%q) = %v, want %v", tc.y, got, tc.want)
		}
	}
}

func TestOracleBest(t *testing.T) {
	task := defaultTask(t)
	c := task.Config
	rng := rand.New(rand.NewPCG(7, 7))
	for _, x := range task.Prompts[:20] {
		best := task.OracleBest(x)
		want := float64(c.SalientPerDoc) + c.LengthWeight*float64(c.MaxResponseLen)
		if len(best) != c.MaxResponseLen || math.Abs(task.Oracle(x, best)-want) > 1e-12 {
			t.Fatalf("OracleBest has length %d and reward %v, want %d and %v", len(best), task.Oracle(x, best), c.MaxResponseLen, want)
		}
		for range 500 {
			if y := task.Candidate(x, rng); task.Oracle(x, y) > want+1e-12 {
				t.Fatalf("candidate %v beats OracleBest: %v > %v", y, task.Oracle(x, y), want)
			}
		}
	}
}

func TestOraclePrefersLongerCandidates(t *testing.T) {
	// The oracle mildly prefers length: among generator draws, long
	// responses score higher on average than short ones.
	task := defaultTask(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var sumShort, sumLong float64
	var nShort, nLong int
	for i := range 20000 {
		x := task.Prompts[i%len(task.Prompts)]
		y := task.Candidate(x, rng)
		switch r := task.Oracle(x, y); {
		case len(y) <= 5:
			sumShort += r
			nShort++
		case len(y) >= 12:
			sumLong += r
			nLong++
		}
	}
	short, long := sumShort/float64(nShort), sumLong/float64(nLong)
	if !(long > short+0.5) {
		t.Errorf("mean reward of long responses %.3f, short %.3f: want long > short + 0.5", long, short)
	}
	if rho, n := task.NaturalRho(); !(rho > 0.5) || n < 500 {
		t.Errorf("natural rho %.3f over %d pairs, want > 0.5 over ≥ 500", rho, n)
	}
}

func TestBradleyTerryLabels(t *testing.T) {
	// The fraction of pairs whose chosen response has the higher oracle
	// reward must match its expectation, mean σ(BTScale·|Δr|), within 4
	// standard errors.
	task, err := LengthBias(LengthBiasConfig{NumTrain: 1024, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	agree, expect, variance := 0.0, 0.0, 0.0
	n := 0
	for _, p := range task.Pairs {
		d := p.ChosenReward - p.RejectedReward
		if d == 0 {
			continue
		}
		q := 1 / (1 + math.Exp(-math.Abs(d)))
		expect += q
		variance += q * (1 - q)
		if d > 0 {
			agree++
		}
		n++
	}
	if diff := math.Abs(agree - expect); diff > 4*math.Sqrt(variance) {
		t.Errorf("%v of %d pairs agree with the oracle, expected %.1f ± %.1f", agree, n, expect, math.Sqrt(variance))
	}
}

func TestLengthBiasDeterministic(t *testing.T) {
	a := defaultTask(t)
	b := defaultTask(t)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two tasks from the same config differ")
	}
	c, err := LengthBias(LengthBiasConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Prompts, c.Prompts) {
		t.Fatal("seeds 0 and 1 give the same prompts")
	}
	if !reflect.DeepEqual(a.Candidates(a.Prompts[0], 5, 9), b.Candidates(b.Prompts[0], 5, 9)) {
		t.Fatal("Candidates is not deterministic in its seed")
	}
	s1, err1 := a.Split(0.3)
	s2, err2 := b.Split(0.3)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(s1, s2) {
		t.Fatal("Split(0.3) is not deterministic")
	}
}

func TestSplitHitsRho(t *testing.T) {
	task := defaultTask(t)
	gap := task.Config.LengthGap
	allEven := 0
	var long, short int
	for _, p := range task.Pairs {
		switch d := len(p.Chosen) - len(p.Rejected); {
		case d >= gap:
			long++
		case -d >= gap:
			short++
		default:
			allEven++
		}
	}
	for _, rho := range []float64{0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1} {
		s, err := task.Split(rho)
		if err != nil {
			t.Fatalf("Split(%v): %v", rho, err)
		}
		// Recount independently from the returned pairs.
		var l, sh, ev int
		for _, p := range s.Pairs {
			switch d := len(p.Chosen) - len(p.Rejected); {
			case d >= gap:
				l++
			case -d >= gap:
				sh++
			default:
				ev++
			}
		}
		achieved := float64(l) / float64(l+sh)
		if l != s.Longer || sh != s.Shorter || ev != s.Even || s.Size != len(s.Pairs) || s.Rho != achieved {
			t.Errorf("rho %v: reported %+v disagrees with recount L=%d S=%d E=%d", rho, s, l, sh, ev)
		}
		if math.Abs(achieved-rho) > 0.02 {
			t.Errorf("rho %v: achieved %.4f, off by more than 0.02", rho, achieved)
		}
		if ev != allEven {
			t.Errorf("rho %v: kept %d of %d even pairs, want all", rho, ev, allEven)
		}
		// Largest: one of the two kinds is used up, within rounding.
		if l < long-1 && sh < short-1 {
			t.Errorf("rho %v: kept %d/%d longer and %d/%d shorter pairs: not maximal", rho, l, long, sh, short)
		}
		// A subsequence of the task's pairs, in order.
		j := 0
		for _, p := range s.Pairs {
			for j < len(task.Pairs) && !reflect.DeepEqual(task.Pairs[j], p) {
				j++
			}
			if j == len(task.Pairs) {
				t.Fatalf("rho %v: split pairs are not an ordered subset of the task's pairs", rho)
			}
			j++
		}
		if m := l + sh; rho > 0 && rho < 1 && math.Abs(achieved-rho) > 1/(2*float64(m))+1e-12 {
			t.Errorf("rho %v: achieved %.5f, more than 1/(2m) = %.5f away", rho, achieved, 1/(2*float64(m)))
		}
	}
	for _, bad := range []float64{-0.1, 1.5, math.NaN()} {
		if _, err := task.Split(bad); err == nil {
			t.Errorf("Split(%v) succeeded", bad)
		}
	}
}

func TestLengthBiasConfigErrors(t *testing.T) {
	for _, cfg := range []LengthBiasConfig{
		{VocabSize: 20},                         // 4 specials + 16 salient leave no filler
		{SalientPerDoc: 17},                     // more than NumSalient
		{DocLen: 4},                             // no room beside 4 salient tokens
		{MinResponseLen: 10, MaxResponseLen: 5}, // empty range
		{LengthWeight: -0.1},
		{LengthWeight: math.Inf(1)},
		{MaxHallucination: 1.5},
		{BTScale: -1},
		{NumTrain: -3},
		{LengthGap: -1},
	} {
		if _, err := LengthBias(cfg); err == nil {
			t.Errorf("LengthBias(%+v) succeeded", cfg)
		}
	}
}
